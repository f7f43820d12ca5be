//! What a running sync says about itself: `--format json` progress events
//! with lag, bytes behind and changes per second; a heartbeat, so an idle
//! source still reports lag 0; `ferry sync status` reading the same from the
//! state store while it runs and after it stopped.

use std::process::{Command, Stdio};
use std::time::Duration;

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, pg_database};

use super::Db;
use crate::util::{copy_ok, ferry};

fn status(src: &DbUrl, dst: &DbUrl, slot: &str, json: bool) -> crate::util::Run {
    let (s, d) = (src.expose(), dst.expose());
    let mut args = vec![
        "sync", "status", "--source", &s, "--target", &d, "--tables", "t", "--slot", slot,
    ];
    if json {
        args.extend(["--format", "json"]);
    }
    ferry(&args)
}

async fn reports_progress_lag_and_status(src: Db, dst: DbUrl, slot: &str) {
    src.exec("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
        .await;
    src.exec("INSERT INTO t VALUES (1, 1), (2, 2)").await;
    copy_ok(src.url(), &dst, &["--tables", "t", "--cdc-slot", slot]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "sync",
            "--source",
            &src.url().expose(),
            "--target",
            &dst.expose(),
        ])
        .args(["--tables", "t", "--slot", slot, "--format", "json"])
        .env(
            "FERRY_STATE_DIR",
            std::env::temp_dir().join("ferry-e2e-state"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferry sync");
    for i in 3..23 {
        src.exec(&format!("INSERT INTO t VALUES ({i}, {i})")).await;
    }
    src.exec("UPDATE t SET v = v + 1").await;
    // Idle for a while: heartbeats keep the progress coming, at lag 0.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let run = status(src.url(), &dst, slot, false);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout.contains(&format!("sync {slot} (")) && run.stdout.contains("running"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("42 changes"), "{}", run.stdout);
    let json = status(src.url(), &dst, slot, true);
    let doc: serde_json::Value = serde_json::from_str(json.stdout.trim()).expect("one JSON line");
    assert_eq!(doc["status"]["state"], "running");
    assert_eq!(doc["status"]["progress"]["lag_seconds"], 0.0, "{doc}");
    assert_eq!(doc["stale"], false);

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = super::mysql::wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let progress: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "sync_progress")
        .map(|e| &e["progress"])
        .collect();
    assert!(progress.len() >= 4, "heartbeats keep reporting: {events:?}");
    let applied = progress
        .iter()
        .find(|p| p["changes"].as_u64().unwrap_or(0) > 0)
        .expect("a progress event after applying");
    assert!(applied["lag_seconds"].as_f64().is_some());
    assert!(applied["changes_per_second"].as_f64().unwrap() > 0.0);
    let last = progress.last().unwrap();
    assert_eq!(last["changes"], 42, "{last}");
    assert_eq!(last["lag_seconds"], 0.0, "idle: lag 0 ({last})");
    assert_eq!(last["behind_bytes"], 0, "idle: nothing behind ({last})");
    let finished = events.last().unwrap();
    assert_eq!(finished["event"], "sync_finished");
    assert_eq!(finished["report"]["ended"], "stopped");

    let run = status(src.url(), &dst, slot, false);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stdout.contains("stopped"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sync_reports_progress_heartbeat_lag_and_status() {
    let slot = format!("ferry_status_p_{}", std::process::id());
    reports_progress_lag_and_status(Db::Pg(pg_database().await), pg_database().await, &slot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_sync_reports_progress_heartbeat_lag_and_status() {
    reports_progress_lag_and_status(
        Db::My(mysql_database().await),
        pg_database().await,
        "status_m",
    )
    .await;
}
