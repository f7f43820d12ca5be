//! Starting servers from installed binaries, and stopping and starting them
//! again for restart tests.
//!
//! A server is one process launched from a recorded command line
//! ([`Launch`]): its data directory, port and socket are arguments, so
//! launching the same command again brings back the same server, with its
//! data, on the same port, as a restart does in production.
//!
//! A watchdog shell stops the server when the test process exits. It reads
//! the pid to stop from a file in the server's directory (`watchdog.pid`)
//! only then, not from its own arguments: every start rewrites the file, so
//! a restarted server is stopped too, and a stop removes it, so the pid of a
//! stopped server, which the system may give to another process, is never
//! signalled.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_core::DbUrl;

use crate::tls::TlsCerts;
use crate::PASSWORD;

/// A throwaway server. Its watchdog stops it when the process that started
/// it exits.
///
/// [`Server::stop`] and [`Server::start`] restart it on the same data
/// directory and port. Only restart a server the test started for itself:
/// the shared per-process servers ([`crate::pg_admin_url`],
/// [`crate::mysql_admin_url`]) serve every test running at the same time.
pub struct Server {
    pub url: DbUrl,
    pub dir: PathBuf,
    launch: Launch,
    /// The running process; `None` while stopped.
    process: Option<Child>,
}

impl Server {
    /// Gives up the handle; the watchdog still stops the server at exit.
    pub fn leak_url(self) -> DbUrl {
        self.url
    }

    /// The server process's id, `None` while stopped. A restart changes it.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Child::id)
    }

    /// Shuts the server down the way an administrator's restart does, and
    /// waits until its process has exited (so its port is free). Sessions
    /// are ended at once, with the engine's own shutdown error: PostgreSQL
    /// gets SIGINT, a *fast* shutdown (SIGTERM, a *smart* one, would wait
    /// for every client to disconnect); MariaDB gets SIGTERM. Stopping a
    /// stopped server does nothing.
    pub fn stop(&mut self) -> Result<(), String> {
        let Some(mut child) = self.process.take() else {
            return Ok(());
        };
        let pid = child.id();
        let signal = self.launch.engine.stop_signal();
        // A server that died on its own is stopped already.
        if !matches!(child.try_wait(), Ok(Some(_))) {
            let signalled = run(
                Command::new("kill")
                    .args(["-s", signal])
                    .arg(pid.to_string()),
                "kill",
            );
            if let Err(e) = signalled {
                self.process = Some(child);
                return Err(e);
            }
        }
        // Signalled: from here on the pid may be recycled once it exits.
        let _ = std::fs::remove_file(self.launch.pidfile());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Ok(None) => {
                    // A last resort: a PostgreSQL killed this way may leave
                    // backends behind, which a start then reports.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} (pid {pid}) did not stop within 60 s of SIG{signal}; killed",
                        self.launch.engine.name()
                    ));
                }
                Err(e) => return Err(format!("waiting for pid {pid}: {e}")),
            }
        }
    }

    /// Launches the stopped server again with the same command line (same
    /// data directory, port and settings) and waits until it accepts
    /// connections. What was committed before the stop is there again.
    pub fn start(&mut self) -> Result<(), String> {
        if let Some(pid) = self.pid() {
            return Err(format!(
                "{} is already running (pid {pid})",
                self.launch.engine.name()
            ));
        }
        let mut child = self.launch.spawn()?;
        let ready = self.launch.wait_ready(self.url.port, &mut child);
        // Kept even when not ready, so `stop` and the watchdog still end it.
        self.process = Some(child);
        ready
    }

    /// [`Server::stop`], `down` with no server on the port (clients get
    /// "connection refused"), then [`Server::start`].
    pub fn restart(&mut self, down: Duration) -> Result<(), String> {
        self.stop()?;
        std::thread::sleep(down);
        self.start()
    }
}

/// Which engine a [`Launch`] runs, with what telling whether it is ready.
enum Engine {
    Postgres { isready: PathBuf },
    MariaDb { socket: PathBuf },
}

impl Engine {
    fn name(&self) -> &'static str {
        match self {
            Engine::Postgres { .. } => "postgres",
            Engine::MariaDb { .. } => "mariadbd",
        }
    }

    /// The signal for a shutdown that ends client sessions at once.
    fn stop_signal(&self) -> &'static str {
        match self {
            Engine::Postgres { .. } => "INT",
            Engine::MariaDb { .. } => "TERM",
        }
    }
}

/// How a server process is launched, recorded so that a restart runs
/// exactly the same command.
struct Launch {
    engine: Engine,
    program: PathBuf,
    args: Vec<OsString>,
    /// The server's directory: working directory, pid file for the watchdog.
    dir: PathBuf,
    /// The server's log, quoted when it fails to start.
    log: PathBuf,
    /// Whether the process's stdout and stderr go to `log` (PostgreSQL);
    /// MariaDB writes its log itself (`--log-error`).
    output_to_log: bool,
}

impl Launch {
    fn pidfile(&self) -> PathBuf {
        self.dir.join("watchdog.pid")
    }

    /// Starts the process and records its pid for the watchdog.
    fn spawn(&self) -> Result<Child, String> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        if self.output_to_log {
            // Appended: a restarted server's log follows the first one's.
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .map_err(|e| format!("{}: {e}", self.log.display()))?;
            cmd.stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log);
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", self.engine.name()))?;
        // Written whole, then renamed: the watchdog never reads half a pid.
        let tmp = self.dir.join("watchdog.pid.tmp");
        let recorded = std::fs::write(&tmp, child.id().to_string())
            .and_then(|()| std::fs::rename(&tmp, self.pidfile()));
        if let Err(e) = recorded {
            // No watchdog would ever find this process: end it now.
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{}: {e}", self.pidfile().display()));
        }
        Ok(child)
    }

    /// Waits until the server accepts connections; fails at once, quoting
    /// its log, if the process exits first (a port taken, a bad setting).
    fn wait_ready(&self, port: u16, child: &mut Child) -> Result<(), String> {
        let name = self.engine.name();
        let timeout = match self.engine {
            Engine::Postgres { .. } => Duration::from_secs(60),
            Engine::MariaDb { .. } => Duration::from_secs(90),
        };
        let mut exited = None;
        let ready = wait_until(name, timeout, || {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some(status);
                return true;
            }
            let mut probe = match &self.engine {
                Engine::Postgres { isready } => {
                    let mut c = Command::new(isready);
                    c.args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]);
                    c
                }
                Engine::MariaDb { socket } => mariadb_client(socket, None),
            };
            probe
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        });
        let problem = match (ready, exited) {
            (Ok(()), None) => return Ok(()),
            (_, Some(status)) => format!("{name} exited with {status} before it was ready"),
            (Err(e), None) => e,
        };
        let tail = std::fs::read_to_string(&self.log).unwrap_or_default();
        Err(format!(
            "{problem}; server log: {}",
            tail.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        ))
    }
}

/// `mariadb -e sql` (or `mariadb-admin ping` without `sql`) as root over
/// the server's unix socket.
fn mariadb_client(socket: &Path, sql: Option<&str>) -> Command {
    let mut c = Command::new(if sql.is_some() {
        "mariadb"
    } else {
        "mariadb-admin"
    });
    c.arg("--no-defaults")
        .arg(format!("--socket={}", socket.display()))
        .arg("-uroot");
    match sql {
        Some(s) => c.arg("-e").arg(s),
        None => c.arg("ping"),
    };
    c
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Makes a fresh directory for a server: under `dir` when given (kept after
/// exit), else a temp dir the watchdog removes.
fn server_dir(dir: Option<&Path>, prefix: &str) -> Result<(PathBuf, bool), String> {
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            Ok((d.to_path_buf(), false))
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .map_err(|e| e.to_string())?;
            Ok((t.keep(), true))
        }
    }
}

/// Starts a shell that waits for this process to exit, then stops the
/// server whose pid `launch`'s pid file holds at that moment (with its
/// shutdown signal, then SIGKILL after 10 s) and, when `remove`, deletes
/// its directory.
fn watchdog(launch: &Launch, remove: bool) -> Result<(), String> {
    let script = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        pid=$(cat "$2" 2>/dev/null)
        if [ -n "$pid" ]; then
            kill -s "$3" "$pid" 2>/dev/null
            i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i+1)); done
            kill -s KILL "$pid" 2>/dev/null
        fi
        [ "$5" = rm ] && rm -rf "$4"
    "#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(std::process::id().to_string())
        .arg(launch.pidfile())
        .arg(launch.engine.stop_signal())
        .arg(&launch.dir)
        .arg(if remove { "rm" } else { "keep" })
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    Ok(())
}

fn wait_until(
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("{what} did not become ready within {timeout:?}"))
}

/// The newest `/usr/lib/postgresql/*/bin`, or `pg_config --bindir`.
fn pg_bindir() -> Result<PathBuf, String> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    dirs.sort();
    if let Some((_, d)) = dirs.pop() {
        return Ok(d);
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .map_err(|_| "no PostgreSQL server found (install postgresql)".to_string())?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Starts PostgreSQL from the installed binaries. As root, runs it as the
/// `postgres` user (PostgreSQL refuses to run as root).
pub fn start_postgres(dir: Option<&Path>) -> Result<Server, String> {
    start_postgres_with(dir, None)
}

/// Starts PostgreSQL with TLS on (`ssl=on`), serving `certs`' server
/// certificate; clients may still connect without TLS.
pub fn start_postgres_tls(certs: &TlsCerts) -> Result<Server, String> {
    start_postgres_with(None, Some(certs))
}

fn start_postgres_with(dir: Option<&Path>, tls: Option<&TlsCerts>) -> Result<Server, String> {
    let bin = pg_bindir()?;
    let (dir, remove) = server_dir(dir, "ferry-pg-")?;
    let data = dir.join("data");
    let root = is_root();
    // As root, every PostgreSQL program runs through setpriv as `postgres`.
    let as_pg = |prog: &str| -> (PathBuf, Vec<OsString>) {
        if root {
            let mut args: Vec<OsString> = [
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ]
            .map(OsString::from)
            .to_vec();
            args.push(bin.join(prog).into());
            (PathBuf::from("setpriv"), args)
        } else {
            (bin.join(prog), Vec::new())
        }
    };
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, PASSWORD).map_err(|e| e.to_string())?;
    let mut tls_args = Vec::new();
    if let Some(certs) = tls {
        // The key must belong to the server's user and be private (0600).
        let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
        std::fs::copy(&certs.server_cert, &cert).map_err(|e| e.to_string())?;
        std::fs::copy(&certs.server_key, &key).map_err(|e| e.to_string())?;
        run(Command::new("chmod").arg("600").arg(&key), "chmod")?;
        tls_args = vec![
            "-c".to_string(),
            "ssl=on".to_string(),
            "-c".to_string(),
            format!("ssl_cert_file={}", cert.display()),
            "-c".to_string(),
            format!("ssl_key_file={}", key.display()),
        ];
    }
    if root {
        run(
            Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&dir),
            "chown",
        )?;
    }
    let (initdb, prefix) = as_pg("initdb");
    run(
        Command::new(initdb)
            .args(prefix)
            .current_dir(&dir)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display())),
        "initdb",
    )?;
    let port = free_port()?;
    let (program, mut args) = as_pg("postgres");
    args.extend(
        [
            "-D".into(),
            data.into_os_string(),
            "-p".into(),
            port.to_string().into(),
            "-k".into(),
            dir.clone().into_os_string(),
        ]
        .into_iter()
        .chain(
            [
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "wal_level=logical",
                // Sync and cutover tests each keep a slot or two while
                // many run at once.
                "-c",
                "max_replication_slots=100",
                "-c",
                "max_wal_senders=100",
                "-c",
                "max_wal_size=4GB",
                "-c",
                "shared_buffers=256MB",
            ]
            .map(OsString::from),
        )
        .chain(tls_args.into_iter().map(OsString::from)),
    );
    let launch = Launch {
        engine: Engine::Postgres {
            isready: bin.join("pg_isready"),
        },
        program,
        args,
        log: dir.join("server.log"),
        output_to_log: true,
        dir: dir.clone(),
    };
    let mut child = launch.spawn()?;
    watchdog(&launch, remove)?;
    launch.wait_ready(port, &mut child)?;
    let url = DbUrl::parse(&format!(
        "postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    ))
    .map_err(|e| e.to_string())?;
    Ok(Server {
        url,
        dir,
        launch,
        process: Some(child),
    })
}

/// Starts MariaDB (or MySQL's `mysqld` when that is what is installed) from
/// the installed binaries, with LOCAL INFILE and the binary log enabled, and
/// an account `ferry` that authenticates with [`PASSWORD`].
pub fn start_mariadb(dir: Option<&Path>) -> Result<Server, String> {
    start_mariadb_with(dir, None, true, &[])
}

/// Starts MariaDB without its binary log, for benchmarks on machines whose
/// disk cannot hold a log of every load (a 10M-row table writes 3.7 GB of
/// row events, and as much again in a temporary cache while it commits).
/// Tests use [`start_mariadb`].
pub fn start_mariadb_without_binlog() -> Result<Server, String> {
    start_mariadb_with(None, None, false, &[])
}

/// Starts MariaDB with TLS available, serving `certs`' server certificate.
pub fn start_mariadb_tls(certs: &TlsCerts) -> Result<Server, String> {
    start_mariadb_with(None, Some(certs), true, &[])
}

/// Starts MariaDB with server options of its own (`--local-infile=0`),
/// given after the test kit's, so they win.
pub fn start_mariadb_args(args: &[&str]) -> Result<Server, String> {
    start_mariadb_with(None, None, true, args)
}

fn start_mariadb_with(
    dir: Option<&Path>,
    tls: Option<&TlsCerts>,
    binlog: bool,
    extra: &[&str],
) -> Result<Server, String> {
    let server_bin = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("no MariaDB server found (install mariadb-server)")?;
    let (dir, remove) = server_dir(dir, "ferry-my-")?;
    let data = dir.join("data");
    let socket = dir.join("mysql.sock");
    let root = is_root();
    let mut install = Command::new("mariadb-install-db");
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    if root {
        install.arg("--user=root");
    }
    // The bootstrap server it runs can fail when the machine is loaded with
    // many other servers (InnoDB's I/O setup); a fresh data directory and a
    // second try have always been enough. The error of the last try is kept.
    let mut tries = 0;
    loop {
        tries += 1;
        match run(&mut install, "mariadb-install-db") {
            Ok(()) => break,
            Err(e) if tries >= 3 => {
                let log = std::fs::read_dir(&data)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .find(|f| f.path().extension().is_some_and(|x| x == "err"))
                    .and_then(|f| std::fs::read_to_string(f.path()).ok())
                    .unwrap_or_default();
                return Err(format!("{e}\n{log}"));
            }
            Err(_) => {
                let _ = std::fs::remove_dir_all(&data);
                std::thread::sleep(std::time::Duration::from_millis(500 * tries));
            }
        }
    }
    let port = free_port()?;
    let log = dir.join("server.log");
    let mut args = vec![
        "--no-defaults".to_string(),
        format!("--datadir={}", data.display()),
        format!("--socket={}", socket.display()),
        format!("--pid-file={}", dir.join("mysqld.pid").display()),
        format!("--log-error={}", log.display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_string(),
    ];
    args.extend(
        [
            "--skip-name-resolve",
            "--local-infile=1",
            "--max-allowed-packet=1G",
            "--innodb-buffer-pool-size=512M",
            "--innodb-flush-log-at-trx-commit=2",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_bin",
            "--server-id=1",
            "--binlog-format=ROW",
            "--max-connections=300",
        ]
        .map(String::from),
    );
    if binlog {
        args.push(format!("--log-bin={}", dir.join("binlog").display()));
    }
    // Temporary tables in the server's own directory, not the shared /tmp:
    // a full run once lost a server whose `#sql-temptable-*` files under
    // /tmp disappeared mid-query ("Error on delete of …"), and every
    // MariaDB test after it failed to connect.
    args.push(format!("--tmpdir={}", dir.display()));
    if let Some(certs) = tls {
        args.push(format!("--ssl-ca={}", certs.ca_cert.display()));
        args.push(format!("--ssl-cert={}", certs.server_cert.display()));
        args.push(format!("--ssl-key={}", certs.server_key.display()));
    }
    if root {
        args.push("--user=root".to_string());
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let launch = Launch {
        engine: Engine::MariaDb {
            socket: socket.clone(),
        },
        program: PathBuf::from(server_bin),
        args: args.into_iter().map(OsString::from).collect(),
        log,
        output_to_log: false,
        dir: dir.clone(),
    };
    let mut child = launch.spawn()?;
    watchdog(&launch, remove)?;
    launch.wait_ready(port, &mut child)?;
    run(
        &mut mariadb_client(
            &socket,
            Some(&format!(
                "CREATE USER 'ferry'@'%' IDENTIFIED BY '{PASSWORD}'; \
                 GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'%' WITH GRANT OPTION;"
            )),
        ),
        "create test account",
    )?;
    let url = DbUrl::parse(&format!("mysql://ferry:{PASSWORD}@127.0.0.1:{port}/mysql"))
        .map_err(|e| e.to_string())?;
    Ok(Server {
        url,
        dir,
        launch,
        process: Some(child),
    })
}
