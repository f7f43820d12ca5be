//! Server restarts mid-copy, against real servers the tests stop and start
//! again (the issue: "A server restart mid-copy is survived by resume").
//!
//! Each test restarts a server of its own (`ferry_testkit::Server`), never
//! the shared per-process ones, which every other test is using. The copy
//! is `resume.rs`'s 1M-row table with its source throttled, so it takes
//! seconds; the restart waits until the run's PostgreSQL state store shows
//! committed ranges, so it lands while the copy is under way however loaded
//! the machine is, and each test proves that it did (retries recorded,
//! ranges done before the stop) before it trusts the parity check.
//!
//! - A short restart of the target is covered by retries: exit 0.
//! - A target down for longer than the retries fails the table with one
//!   error line; the ranges committed before the outage stay done, and
//!   re-running the command resumes and copies only the rest.
//! - A PostgreSQL source restart ends the session that exported the run's
//!   snapshot, so no range can be read from it any more: the table fails
//!   whatever the retries, and the re-run reads from a new snapshot.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ferry_core::DbUrl;
use ferry_testkit::{
    mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows, start_mariadb,
    start_postgres, Server, PASSWORD,
};
use serde_json::Value;

use crate::resume::{assert_exact_parity, big_source, ROWS};
use crate::util::{ferry, Run};

/// Starts a server of this test's own, with a fresh database `restart`;
/// returns the server and the database's URL.
async fn private_server(engine: &str) -> (Server, DbUrl) {
    let start: fn() -> Result<Server, String> = match engine {
        "postgres" => || start_postgres(None),
        _ => || start_mariadb(None),
    };
    let server = tokio::task::spawn_blocking(start)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("private {engine} server: {e}"));
    if engine == "postgres" {
        pg_exec(&server.url, "CREATE DATABASE restart TEMPLATE template0").await;
    } else {
        mysql_exec(
            &server.url,
            "CREATE DATABASE restart CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        )
        .await;
    }
    let db = server.url.with_database("restart");
    (server, db)
}

/// `ferry copy` arguments for a run named `run_id` in the PostgreSQL state
/// store `state`, reading `source` at most 100k rows/s in ranges of about
/// 40k rows, so the copy takes seconds and has ranges on both sides of a
/// restart; then `retries`.
fn copy_args(
    source: &DbUrl,
    target: &DbUrl,
    state: &DbUrl,
    run_id: &str,
    retries: &[&str],
) -> Vec<String> {
    let mut slow = source.clone();
    slow.set_param("max_rows_per_second", "100000").unwrap();
    [
        "copy",
        "--source",
        &slow.expose(),
        "--target",
        &target.expose(),
        "--state",
        &state.expose(),
        "--run-id",
        run_id,
        "--quiet",
        "--format",
        "json",
        "--workers",
        "3",
        "--batch-rows",
        "2000",
        "--min-range-rows",
        "20000",
        "--max-ranges",
        "24",
    ]
    .iter()
    .chain(retries)
    .map(|a| a.to_string())
    .collect()
}

fn run_copy(args: &[String]) -> Run {
    ferry(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// [`run_copy`] in a thread, so the test can restart a server meanwhile.
fn spawn_copy(args: &[String]) -> JoinHandle<Run> {
    let args = args.to_vec();
    std::thread::spawn(move || run_copy(&args))
}

/// The run's ranges in the state store: (done, all, rows of the done ones).
/// Zeros until ferry has created its tables and planned the run.
async fn stored_ranges(state: &DbUrl, run_id: &str) -> (u64, u64, u64) {
    let created = pg_rows(state, "SELECT to_regclass('ferry_ranges') IS NOT NULL").await;
    if created[0][0].as_deref() != Some("t") {
        return (0, 0, 0);
    }
    let rows = pg_rows(
        state,
        &format!(
            "SELECT COUNT(*) FILTER (WHERE status = 'done'), COUNT(*), \
               COALESCE(SUM(rows) FILTER (WHERE status = 'done'), 0) \
             FROM ferry_ranges WHERE run_id = '{run_id}'"
        ),
    )
    .await;
    let n = |i: usize| rows[0][i].as_deref().unwrap_or("0").parse::<u64>().unwrap();
    (n(0), n(1), n(2))
}

/// Waits until `copy` has committed `ranges` ranges of the run, so a restart
/// now lands mid-copy; panics if the copy ends first. Returns the ranges
/// done and planned at that moment.
async fn wait_for_done_ranges(
    state: &DbUrl,
    run_id: &str,
    ranges: u64,
    copy: &JoinHandle<Run>,
) -> (u64, u64) {
    let started = Instant::now();
    loop {
        let (done, all, _) = stored_ranges(state, run_id).await;
        if done >= ranges {
            assert!(
                done < all,
                "no range left to interrupt: {done} of {all} ranges done"
            );
            return (done, all);
        }
        assert!(
            !copy.is_finished(),
            "ferry exited before {ranges} ranges were done ({done} of {all})"
        );
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{done} of {all} ranges done after 3 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the copy in `copy` to exit (ferry's own timeouts bound it).
async fn finished(copy: JoinHandle<Run>) -> Run {
    tokio::task::spawn_blocking(move || copy.join().expect("ferry thread"))
        .await
        .unwrap()
}

fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("json report ({e}):\n{}", run.all_output()))
}

/// The `error:` lines of a failed run: exactly one, naming no password.
fn one_error_line(run: &Run) -> String {
    assert!(
        !run.all_output().contains(PASSWORD),
        "password printed:\n{}",
        run.all_output()
    );
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    errors[0].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_server_comes_back_on_its_port_with_its_data() {
    for engine in ["postgres", "mariadb"] {
        let (mut server, db) = private_server(engine).await;
        let create = "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (42)";
        let count = "SELECT COUNT(*) FROM kept WHERE id = 42";
        let (first, port) = (server.pid().unwrap(), server.url.port);
        if engine == "postgres" {
            pg_exec(&db, create).await;
        } else {
            mysql_exec(&db, create).await;
        }
        server.restart(Duration::from_millis(200)).unwrap();
        let second = server.pid().unwrap();
        assert_ne!(first, second, "{engine}: the same process after a restart");
        assert_eq!(server.url.port, port);
        // The old process is gone (reaped), not a zombie on the port.
        assert!(
            !std::path::Path::new(&format!("/proc/{first}")).exists(),
            "{engine}: pid {first} still exists"
        );
        let rows = if engine == "postgres" {
            pg_rows(&db, count).await
        } else {
            mysql_rows(&db, count).await
        };
        assert_eq!(rows[0][0].as_deref(), Some("1"), "{engine}: data lost");
        server.stop().unwrap();
        assert_eq!(server.pid(), None);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "{engine}: port {port} still answers after stop"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_restart_mid_copy_is_survived_by_retries() {
    let (pg, state) = (pg_database().await, pg_database().await);
    let (mut target, my) = private_server("mariadb").await;
    big_source(&pg).await;
    // Backoff 300 ms doubling, 8 times: over a minute, far longer than a
    // MariaDB restart takes even on a loaded machine.
    let retries = ["--retries", "8", "--retry-delay-ms", "300"];
    let copy = spawn_copy(&copy_args(&pg, &my, &state, "short-restart", &retries));
    let (done, all) = wait_for_done_ranges(&state, "short-restart", 1, &copy).await;
    let restarted = Instant::now();
    target.restart(Duration::from_millis(1500)).unwrap();
    println!(
        "target restarted after {done} of {all} ranges, in {:?}",
        restarted.elapsed()
    );
    let run = finished(copy).await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report = report(&run);
    let retries = report["retries"].as_array().cloned().unwrap_or_default();
    assert!(
        !retries.is_empty(),
        "the restart cost no retry:\n{}",
        run.stdout
    );
    println!("{} retries, e.g. {}", retries.len(), retries[0]["error"]);
    assert_eq!(report["run"]["start"], "new", "{}", run.stdout);
    assert_eq!(report["run"]["finished"], true, "{}", run.stdout);
    assert_eq!(
        stored_ranges(&state, "short-restart").await,
        (all, all, ROWS as u64)
    );
    assert_exact_parity(&pg, &my).await;
    target.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_outage_longer_than_the_retries_is_survived_by_resume() {
    let (pg, state) = (pg_database().await, pg_database().await);
    let (mut target, my) = private_server("mariadb").await;
    big_source(&pg).await;
    let retries = ["--retries", "2", "--retry-delay-ms", "200"];
    let args = copy_args(&pg, &my, &state, "long-outage", &retries);
    let copy = spawn_copy(&args);
    wait_for_done_ranges(&state, "long-outage", 2, &copy).await;
    // Down until ferry has given up.
    target.stop().unwrap();
    let run = finished(copy).await;
    assert_eq!(run.code, 2, "{}", run.all_output());
    let error = one_error_line(&run);
    assert!(
        error.contains("still failing after 2 retries"),
        "{}",
        run.stderr
    );
    println!("{error}");
    // The target was unreachable, so what it had committed stays, and so
    // do the checkpoints of those ranges.
    let (done, all, rows_done) = stored_ranges(&state, "long-outage").await;
    assert!(done >= 2 && done < all, "{done} of {all} ranges done");

    target.start().unwrap();
    let run = run_copy(&args);
    assert_eq!(run.code, 0, "resumed copy:\n{}", run.all_output());
    let report = report(&run);
    assert_eq!(report["run"]["start"], "resumed", "{}", run.stdout);
    assert_eq!(report["run"]["finished"], true, "{}", run.stdout);
    assert_eq!(report["splits"][0]["resumed"], done, "{}", run.stdout);
    // The resumed run copied exactly the rows of the ranges not yet done.
    let copied: u64 = report["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(copied + rows_done, ROWS as u64, "{}", run.stdout);
    assert_exact_parity(&pg, &my).await;
    target.stop().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_restart_mid_copy_fails_the_table_and_resume_takes_a_new_snapshot() {
    let (my, state) = (mysql_database().await, pg_database().await);
    let (mut source, pg) = private_server("postgres").await;
    big_source(&pg).await;
    // Retries enough to outlast the restart: what fails is the snapshot.
    let retries = ["--retries", "8", "--retry-delay-ms", "300"];
    let args = copy_args(&pg, &my, &state, "source-restart", &retries);
    let copy = spawn_copy(&args);
    let (done_before, _) = wait_for_done_ranges(&state, "source-restart", 1, &copy).await;
    source.restart(Duration::from_millis(1000)).unwrap();
    let run = finished(copy).await;
    assert_eq!(run.code, 2, "{}", run.all_output());
    let error = one_error_line(&run);
    assert!(error.contains("snapshot is gone"), "{}", run.stderr);
    assert!(error.contains("re-run the same command"), "{}", run.stderr);
    println!("{error}");
    let first = report(&run);
    let first_lsn = first["snapshot"]["position"]["wal_lsn"].clone();
    assert!(first_lsn.is_string(), "{}", run.stdout);

    let run = run_copy(&args);
    assert_eq!(run.code, 0, "resumed copy:\n{}", run.all_output());
    let report = report(&run);
    assert_eq!(report["run"]["start"], "resumed", "{}", run.stdout);
    assert_eq!(report["run"]["finished"], true, "{}", run.stdout);
    // A new snapshot, taken after the restart (whose checkpoint moved the
    // WAL on). Snapshot names may repeat across a restart; positions do not.
    assert_ne!(
        report["snapshot"]["position"]["wal_lsn"], first_lsn,
        "{}",
        run.stdout
    );
    println!(
        "resumed with {} of {} ranges done before",
        report["splits"][0]["resumed"], report["splits"][0]["ranges"]
    );
    // The ranges committed from the lost snapshot are kept, not redone.
    let resumed = report["splits"][0]["resumed"].as_u64().unwrap_or(0);
    assert!(
        resumed >= done_before,
        "{resumed} < {done_before}: {}",
        run.stdout
    );
    assert_exact_parity(&pg, &my).await;
    source.stop().unwrap();
}
