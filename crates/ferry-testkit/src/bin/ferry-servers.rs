//! Starts a throwaway PostgreSQL and MariaDB (as the tests do) for scripts
//! such as `bench/run.sh`: prints `FERRY_PG_URL=…` and `FERRY_MYSQL_URL=…`
//! lines (passwords included: these are local test servers), then keeps the
//! servers up until its standard input closes. The watchdog stops them and
//! removes their directories when this process exits. `--no-binlog` starts
//! MariaDB without its binary log (benchmarks on a small disk).

use std::io::{Read, Write};
use std::process::ExitCode;

use ferry_testkit::{start_mariadb, start_mariadb_without_binlog, start_postgres};

fn main() -> ExitCode {
    let pg = match start_postgres(None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferry-servers: PostgreSQL: {e}");
            return ExitCode::FAILURE;
        }
    };
    let binlog = !std::env::args().any(|a| a == "--no-binlog");
    let started = if binlog {
        start_mariadb(None)
    } else {
        start_mariadb_without_binlog()
    };
    let my = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferry-servers: MariaDB: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "FERRY_PG_URL={}", pg.url.expose());
    let _ = writeln!(out, "FERRY_MYSQL_URL={}", my.url.expose());
    let _ = writeln!(out, "FERRY_PG_PORT={}", pg.url.port);
    let _ = writeln!(out, "FERRY_MYSQL_PORT={}", my.url.port);
    let _ = writeln!(out, "READY");
    let _ = out.flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    ExitCode::SUCCESS
}
