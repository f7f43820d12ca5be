//! Faults against the real servers: a source or target session killed while
//! a range is copying is retried (after deleting the range in the target),
//! and gives up with a clear error once `--retries` is spent.

use std::time::{Duration, Instant};

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_rows};
use serde_json::Value;

use crate::resume::{assert_exact_parity, big_source};
use crate::util::{ferry, Run};

/// Runs `ferry copy` (1M throttled rows) in a thread while `kill` is
/// tried every 50 ms until it reports a kill; returns the run and the kills.
async fn copy_while<F, Fut>(pg: &DbUrl, my: &DbUrl, extra: &[&str], kill: F) -> (Run, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut slow = pg.clone();
    slow.set_param("max_rows_per_second", "100000").unwrap();
    let (s, t) = (slow.expose(), my.expose());
    let mut args: Vec<String> = [
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--workers",
        "3",
        "--batch-rows",
        "2000",
        "--retry-delay-ms",
        "100",
        "--format",
        "json",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    let handle = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ferry(&args)
    });
    let started = Instant::now();
    let mut killed = 0;
    while killed == 0 && !handle.is_finished() && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        killed += kill().await;
    }
    (handle.join().unwrap(), killed)
}

/// Terminates one backend of `pg`'s database that is streaming a range out.
async fn kill_pg_copy(pg: &DbUrl) -> usize {
    let rows = pg_rows(
        pg,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'ferry' \
           AND state = 'active' AND query LIKE 'COPY%' AND pid <> pg_backend_pid() \
         LIMIT 1",
    )
    .await;
    rows.len()
}

/// Kills one MariaDB connection that is loading a range into `my`'s database.
async fn kill_mysql_load(my: &DbUrl) -> usize {
    let rows = mysql_rows(
        my,
        &format!(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE DB = '{}' AND INFO LIKE 'LOAD DATA%' LIMIT 1",
            my.database
        ),
    )
    .await;
    let Some(id) = rows.first().and_then(|r| r[0].clone()) else {
        return 0;
    };
    mysql_exec(my, &format!("KILL CONNECTION {id}")).await;
    1
}

fn retries(run: &Run) -> Vec<Value> {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("json report ({e}):\n{}", run.all_output()));
    report["retries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_source_session_is_retried_and_the_copy_is_exact() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    big_source(&pg).await;
    let (run, killed) = copy_while(&pg, &my, &[], || kill_pg_copy(&pg)).await;
    assert!(
        killed > 0,
        "no source session was killed:\n{}",
        run.all_output()
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        !retries(&run).is_empty(),
        "no retry recorded:\n{}",
        run.stdout
    );
    assert_exact_parity(&pg, &my).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_target_session_is_retried_and_the_copy_is_exact() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    big_source(&pg).await;
    let (run, killed) = copy_while(&pg, &my, &[], || kill_mysql_load(&my)).await;
    assert!(
        killed > 0,
        "no target session was killed:\n{}",
        run.all_output()
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        !retries(&run).is_empty(),
        "no retry recorded:\n{}",
        run.stdout
    );
    assert_exact_parity(&pg, &my).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_run_out_with_a_clear_error() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    big_source(&pg).await;
    let (run, killed) = copy_while(&pg, &my, &["--retries", "0"], || kill_pg_copy(&pg)).await;
    assert!(
        killed > 0,
        "no source session was killed:\n{}",
        run.all_output()
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("still failing after 0 retries"),
        "{}",
        run.stderr
    );
}
