//! `ferry copy --follow`: one command copies and then follows from the
//! copy's own snapshot, while the workload writes throughout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, pg_database};

use super::workload::{seed, seed_tables, start_workload, TOTAL};
use super::{slots, sync, verify_equal, Db};
use crate::util::ferry;

async fn copy_then_follow(src: Db, dst: DbUrl, slot: &str) {
    let seed = seed();
    seed_tables(&src).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_workload(&src, seed, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, d, sl) = (src.url().expose(), dst.expose(), slot.to_string());
    let run = tokio::task::spawn_blocking(move || {
        ferry(&[
            "copy",
            "--source",
            &s,
            "--target",
            &d,
            "--quiet",
            "--tables",
            "acct,items",
            "--min-range-rows",
            "1000",
            "--cdc-slot",
            &sl,
            "--follow",
            "--until",
            "now",
            "--keep-slot",
        ])
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "copy --follow:\n{}", run.all_output());
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("sync until: "))
        .unwrap_or_else(|| panic!("no sync summary:\n{}", run.stdout));
    let applied: u64 = line["sync until: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        applied > 0,
        "changes made during the copy were followed: {line}"
    );
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    // What the workload wrote after the follow ended: `ferry sync` with the
    // copy's flags picks the stream up again (--keep-slot kept a
    // PostgreSQL slot for it; this sync drops it).
    let run = sync(
        src.url(),
        &dst,
        &["--tables", "acct,items", "--slot", slot, "--until", "now"],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    assert_eq!(
        Db::of(&dst).total().await.as_deref(),
        Some(TOTAL),
        "seed {seed}"
    );
    verify_equal(src.url(), &dst, "acct,items");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_follow_pg_to_mariadb_follows_the_copys_own_snapshot() {
    let slot = format!("ferry_follow_pm_{}", std::process::id());
    let src = pg_database().await;
    copy_then_follow(Db::Pg(src.clone()), mysql_database().await, &slot).await;
    assert_eq!(slots(&src, &slot).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_follow_mariadb_to_pg_follows_the_copys_own_snapshot() {
    copy_then_follow(
        Db::My(mysql_database().await),
        pg_database().await,
        "follow_mp",
    )
    .await;
}
