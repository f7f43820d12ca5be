//! PostgreSQL as the change source: every kind of change, unchanged TOAST,
//! replica identity.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_rows, pg_database, pg_exec, pg_rows};

use super::{slots, sync, verify_equal};
use crate::util::{copy_ok, ferry};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sync_applies_every_kind_of_change_then_verifies_equal() {
    let (src, dst) = (pg_database().await, pg_database().await);
    every_kind_of_change(&src, &dst, "p").await;
    let big = pg_rows(&dst, "SELECT length(big), v FROM t WHERE id = 1").await;
    assert_eq!(big[0][0].as_deref(), Some("5000"), "unchanged TOAST kept");
    assert_eq!(big[0][1].as_deref(), Some("6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sync_to_mariadb_applies_every_kind_of_change_then_verifies_equal() {
    let (src, dst) = (pg_database().await, mysql_database().await);
    every_kind_of_change(&src, &dst, "m").await;
    let big = mysql_rows(&dst, "SELECT LENGTH(big), v FROM t WHERE id = 1").await;
    assert_eq!(big[0][0].as_deref(), Some("5000"), "unchanged TOAST kept");
    assert_eq!(big[0][1].as_deref(), Some("6"));
}

/// Inserts, an update that leaves a TOASTed column alone, a multi-row
/// transaction, a key change, a key touched several times in one
/// transaction, deletes; then `sync --until now` and `verify`.
async fn every_kind_of_change(src: &DbUrl, dst: &DbUrl, tag: &str) {
    let (src, dst) = (src.clone(), dst.clone());
    pg_exec(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY, v bigint NOT NULL, note text, big text,
                         ts timestamptz, js jsonb, u uuid, n numeric(12,3));
         ALTER TABLE t ALTER big SET STORAGE EXTERNAL;
         INSERT INTO t SELECT g, g, 'n' || g, CASE WHEN g < 10 THEN repeat('y', 5000) END,
                              now(), '{\"a\": 1}', gen_random_uuid(), g / 7.0
           FROM generate_series(1, 200) g;",
    )
    .await;
    let slot = format!("ferry_sync_a{tag}_{}", std::process::id());
    copy_ok(&src, &dst, &["--tables", "t", "--cdc-slot", &slot]);
    pg_exec(
        &src,
        "INSERT INTO t (id, v) VALUES (201, 1);
         UPDATE t SET v = v + 5 WHERE id = 1;  -- leaves the TOASTed `big` unchanged
         BEGIN;
           UPDATE t SET v = v - 10 WHERE id = 20; UPDATE t SET v = v + 10 WHERE id = 30;
           INSERT INTO t (id, v, big, js) VALUES (202, 2, repeat('z', 6000), '[1, 2]');
           DELETE FROM t WHERE id = 40;
         COMMIT;
         UPDATE t SET id = 260 WHERE id = 50;  -- a key change
         BEGIN;
           INSERT INTO t (id, v) VALUES (270, 1); UPDATE t SET v = 2 WHERE id = 270;
           DELETE FROM t WHERE id = 270; INSERT INTO t (id, v) VALUES (270, 3);
         COMMIT;
         DELETE FROM t WHERE id = 2;",
    )
    .await;
    let run = sync(
        &src,
        &dst,
        &["--tables", "t", "--slot", &slot, "--until", "now"],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    assert!(
        run.stdout.contains("slot") && run.stdout.contains("dropped"),
        "{}",
        run.stdout
    );
    verify_equal(&src, &dst, "t");
    assert_eq!(
        slots(&src, &slot).await,
        0,
        "the slot is dropped at the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_table_without_replica_identity_is_refused_in_one_line() {
    let (src, dst) = (pg_database().await, pg_database().await);
    pg_exec(
        &src,
        "CREATE TABLE nokey (a int, b text); INSERT INTO nokey VALUES (1, 'x');",
    )
    .await;
    let slot = format!("ferry_sync_n_{}", std::process::id());
    let (s, t) = (src.expose(), dst.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--cdc-slot",
        &slot,
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("table public.nokey has no primary key")
            && lines[0].contains("ADD PRIMARY KEY"),
        "{}",
        lines[0]
    );
    assert_eq!(slots(&src, &slot).await, 0, "no slot left behind");
}
