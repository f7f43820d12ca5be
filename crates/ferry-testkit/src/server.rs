//! Starting servers from installed binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_core::DbUrl;

use crate::tls::TlsCerts;
use crate::PASSWORD;

/// A running throwaway server. Its watchdog stops it when the process that
/// started it exits.
pub struct Server {
    pub url: DbUrl,
    pub dir: PathBuf,
    pub pid: u32,
}

impl Server {
    /// Gives up the handle; the watchdog still stops the server at exit.
    pub fn leak_url(self) -> DbUrl {
        self.url
    }
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

/// Starts a shell that waits for this process to exit, then stops `pid` and
/// (when `remove`) deletes `dir`.
fn watchdog(pid: u32, dir: &Path, remove: bool) -> Result<(), String> {
    let script = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        kill -TERM "$2" 2>/dev/null
        i=0; while kill -0 "$2" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i+1)); done
        kill -KILL "$2" 2>/dev/null
        [ "$4" = rm ] && rm -rf "$3"
    "#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(std::process::id().to_string())
        .arg(pid.to_string())
        .arg(dir)
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
    let as_pg = |prog: &str| {
        let mut c = if root {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ]);
            c.arg(bin.join(prog));
            c
        } else {
            Command::new(bin.join(prog))
        };
        c.current_dir(&dir);
        c
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
    run(
        as_pg("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display())),
        "initdb",
    )?;
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let child = as_pg("postgres")
        .arg("-D")
        .arg(&data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&dir)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
        .args(["-c", "max_connections=300", "-c", "wal_level=logical"])
        .args(["-c", "max_wal_size=4GB", "-c", "shared_buffers=256MB"])
        .args(&tls_args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("postgres: {e}"))?;
    watchdog(child.id(), &dir, remove)?;
    let isready = bin.join("pg_isready");
    wait_until("postgres", Duration::from_secs(60), || {
        Command::new(&isready)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })?;
    let url = DbUrl::parse(&format!(
        "postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    ))
    .map_err(|e| e.to_string())?;
    Ok(Server {
        url,
        dir,
        pid: child.id(),
    })
}

/// Starts MariaDB (or MySQL's `mysqld` when that is what is installed) from
/// the installed binaries, with LOCAL INFILE and the binary log enabled, and
/// an account `ferry` that authenticates with [`PASSWORD`].
pub fn start_mariadb(dir: Option<&Path>) -> Result<Server, String> {
    start_mariadb_with(dir, None)
}

/// Starts MariaDB with TLS available, serving `certs`' server certificate.
pub fn start_mariadb_tls(certs: &TlsCerts) -> Result<Server, String> {
    start_mariadb_with(None, Some(certs))
}

fn start_mariadb_with(dir: Option<&Path>, tls: Option<&TlsCerts>) -> Result<Server, String> {
    let server_bin = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("no MariaDB server found (install mariadb-server)")?;
    let (dir, remove) = server_dir(dir, "ferry-my-")?;
    let data = dir.join("data");
    let sock = dir.join("mysql.sock");
    let root = is_root();
    let mut install = Command::new("mariadb-install-db");
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    if root {
        install.arg("--user=root");
    }
    run(&mut install, "mariadb-install-db")?;
    let port = free_port()?;
    let log = dir.join("server.log");
    let mut cmd = Command::new(server_bin);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", sock.display()))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .args([
            "--skip-name-resolve",
            "--local-infile=1",
            "--max-allowed-packet=1G",
        ])
        .args([
            "--innodb-buffer-pool-size=512M",
            "--innodb-flush-log-at-trx-commit=2",
        ])
        .args([
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_bin",
        ])
        .args([
            "--server-id=1",
            "--binlog-format=ROW",
            "--max-connections=300",
        ])
        .arg(format!("--log-bin={}", dir.join("binlog").display()));
    if let Some(certs) = tls {
        cmd.arg(format!("--ssl-ca={}", certs.ca_cert.display()))
            .arg(format!("--ssl-cert={}", certs.server_cert.display()))
            .arg(format!("--ssl-key={}", certs.server_key.display()));
    }
    if root {
        cmd.arg("--user=root");
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{server_bin}: {e}"))?;
    watchdog(child.id(), &dir, remove)?;
    let client = |sql: Option<&str>| {
        let mut c = if sql.is_some() {
            Command::new("mariadb")
        } else {
            Command::new("mariadb-admin")
        };
        c.arg("--no-defaults")
            .arg(format!("--socket={}", sock.display()))
            .arg("-uroot");
        match sql {
            Some(s) => c.arg("-e").arg(s),
            None => c.arg("ping"),
        };
        c
    };
    wait_until("mariadbd", Duration::from_secs(90), || {
        client(None)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
    .map_err(|e| {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        format!(
            "{e}; server log: {}",
            tail.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        )
    })?;
    run(
        &mut client(Some(&format!(
            "CREATE USER 'ferry'@'%' IDENTIFIED BY '{PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO 'ferry'@'%' WITH GRANT OPTION;"
        ))),
        "create test account",
    )?;
    let url = DbUrl::parse(&format!("mysql://ferry:{PASSWORD}@127.0.0.1:{port}/mysql"))
        .map_err(|e| e.to_string())?;
    Ok(Server {
        url,
        dir,
        pid: child.id(),
    })
}
