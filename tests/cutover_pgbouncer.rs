//! PostgreSQL → PostgreSQL through a local PgBouncer (issue 12): the
//! application connects to PgBouncer only; ferry's switch repoints its
//! database entry (PAUSE, rewrite pgbouncer.ini, RELOAD, RESUME). Blue and
//! green are separate servers, so the application role has one name on
//! both, as in production.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferry_core::{DbUrl, Engine};
use ferry_testkit::appsim::{schema_sql, AppSim, SimConfig};
use ferry_testkit::{app_account, pg_database, pg_exec, start_postgres};

use crate::cutover::Outcome;
use crate::util::copy_ok;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// PgBouncer on `ini`, as `postgres` when the tests run as root (it
/// refuses root). Killed when dropped.
struct Bouncer(Child);

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_to_pg_through_pgbouncer_loses_nothing() {
    let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("pgbouncer is installed (scripts/ensure-servers.sh)");
    let blue = pg_database().await;
    let green_server = tokio::task::spawn_blocking(|| start_postgres(None))
        .await
        .unwrap()
        .expect("a second PostgreSQL");
    let green_admin = green_server.url.clone();
    pg_exec(
        &green_admin,
        "CREATE DATABASE app TEMPLATE template0 ENCODING 'UTF8'",
    )
    .await;
    let green = green_admin.with_database("app");
    pg_exec(&blue, &schema_sql(Engine::Postgres)).await;
    let role = format!("app_{}", blue.database.to_ascii_lowercase());
    app_account(&blue, &role).await;
    let slot = format!("s_{}", blue.database.to_ascii_lowercase());
    copy_ok(
        &blue,
        &green,
        &["--tables", "items,accounts", "--cdc-slot", &slot],
    );
    app_account(&green, &role).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let ini = dir.path().join("pgbouncer.ini");
    std::fs::write(
        dir.path().join("users.txt"),
        format!("\"{role}\" \"app-pw\"\n\"pgbadmin\" \"\"\n"),
    )
    .unwrap();
    std::fs::write(
        &ini,
        format!(
            "[databases]\nappdb = host=127.0.0.1 port={} dbname={}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {d}/users.txt\nadmin_users = pgbadmin\n\
             pool_mode = transaction\nmax_client_conn = 100\ndefault_pool_size = 20\n\
             ignore_startup_parameters = extra_float_digits\n\
             logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
            blue.port,
            blue.database,
            d = dir.path().display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(bin);
    if is_root() {
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        cmd.args(["-u", "postgres"]);
    }
    let bouncer = Bouncer(
        cmd.arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer"),
    );
    let app = DbUrl::parse(&format!("postgres://{role}:app-pw@127.0.0.1:{port}/appdb")).unwrap();
    let mut ready = false;
    for _ in 0..50 {
        if tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user={role} dbname=appdb"),
            tokio_postgres::NoTls,
        )
        .await
        .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "pgbouncer did not come up");

    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            r#"name = "pgb_{name}"
slot = "{slot}"
state = "{d}/state.db"
[job]
tables = ["items", "accounts"]
[blue]
url = "${{BLUE_URL}}"
app_roles = ["{role}"]
[green]
url = "${{GREEN_URL}}"
[gates]
lag_window = "300ms"
[freeze]
budget = "30s"
grace = "500ms"
[after]
first_write_timeout = "20s"
[switch]
kind = "pgbouncer"
timeout = "10s"
[switch.pgbouncer]
admin_url = "postgres://pgbadmin@127.0.0.1:{port}/pgbouncer"
database = "appdb"
ini = "{ini}"
"#,
            name = blue.database.to_ascii_lowercase(),
            d = dir.path().display(),
            ini = ini.display(),
        ),
    )
    .unwrap();
    // The route file is not read through PgBouncer: every attempt goes to
    // PgBouncer, whichever server is behind it.
    let route = dir.path().join("route");
    ferry_testkit::appsim::route_to(&route, "blue");
    let sim = AppSim::start(SimConfig {
        blue: app.clone(),
        green: app,
        route,
        writers: 4,
        rate: 150.0,
        seed: std::process::id() as u64,
    });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let out: Outcome = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["cutover", "--execute", "--format", "json"])
        .arg(&plan)
        .env("BLUE_URL", blue.expose())
        .env("GREEN_URL", green.expose())
        .env("FERRY_STATE_DIR", dir.path())
        .output()
        .unwrap()
        .into();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let log = sim.stop().await;
    drop(bouncer);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.phase(), "done");
    assert!(out.report["window_ms"].as_f64().is_some(), "{}", out.all());
    // Writes acknowledged after the switch went to green through PgBouncer.
    let switched = out.report["first_commit_at_ms"].as_f64().unwrap();
    assert!(log
        .ops
        .iter()
        .any(|o| o.outcome == ferry_testkit::appsim::Outcome::Ok && o.started_ms > switched));
    let bad = log.check(&green, None).await;
    assert!(bad.is_empty(), "{}\n{}", bad.join("\n"), out.all());
    assert!(
        !log.ops.iter().any(|o| o.code.as_deref() == Some("23505")),
        "a duplicate key after the switch"
    );
    drop(green_server);
}
