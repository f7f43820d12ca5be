//! Dirty ranges and repair: a sync marks the copy's ranges it changes;
//! `ferry verify --dirty` compares only those (and marks them clean when
//! equal); `ferry verify --repair` makes the target equal through the
//! sync's apply path and says what it changed.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, pg_database};

use super::workload::seed_tables;
use super::{sync, Db};
use crate::util::{copy_ok, ferry, Run};

fn verify(src: &DbUrl, dst: &DbUrl, tables: &str, extra: &[&str]) -> Run {
    let (s, d) = (src.expose(), dst.expose());
    let mut args = vec!["verify", "--source", &s, "--target", &d, "--tables", tables];
    args.extend_from_slice(extra);
    ferry(&args)
}

/// `(dirty, of)` from the `dirty ranges compared: K of N` line.
fn dirty_counts(run: &Run) -> (usize, usize) {
    let line = run
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("dirty ranges compared: "))
        .unwrap_or_else(|| panic!("no dirty line:\n{}", run.stdout));
    let mut parts = line.split(" of ");
    let k = parts.next().unwrap().parse().unwrap();
    let n = parts.next().unwrap().parse().unwrap();
    (k, n)
}

async fn dirty_then_repair(src: Db, dst: DbUrl, slot: &str) {
    seed_tables(&src).await;
    copy_ok(
        src.url(),
        &dst,
        &[
            "--tables",
            "items",
            "--cdc-slot",
            slot,
            "--min-range-rows",
            "1000",
        ],
    );
    // Changes at the start and at the end of the key space only.
    src.exec(
        "UPDATE items SET v = v + 1 WHERE id BETWEEN 10 AND 20; \
         INSERT INTO items (id, v, note) VALUES (6005, 1, 'new'); DELETE FROM items WHERE id = 5999",
    )
    .await;
    let run = sync(
        src.url(),
        &dst,
        &["--tables", "items", "--slot", slot, "--until", "now"],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    let target = Db::of(&dst);
    // One row wrong in a dirty range, one in a clean range.
    target
        .exec("UPDATE items SET note = 'wrong' WHERE id IN (15, 3000)")
        .await;

    let run = verify(src.url(), &dst, "items", &["--dirty"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let (k, n) = dirty_counts(&run);
    assert!(k == 2 && n > 3, "two dirty ranges of {n}: {}", run.stdout);
    assert!(
        run.stdout.contains("differs: id=15 in note"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("id=3000"), "clean ranges are not read");

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("repair.html");
    let run = verify(
        src.url(),
        &dst,
        "items",
        &["--dirty", "--repair", "--report", page.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    // The report says what was compared and what the repair changed.
    let html = std::fs::read_to_string(&page).expect("the report");
    assert!(
        html.contains("Dirty ranges only: 1 of the copy")
            && html.contains("Repaired 1 ranges: 0 inserted, 1 updated, 0 deleted")
            && html.contains("equal after repair")
            && html.contains(">id=15<"),
        "{html}"
    );
    assert!(
        run.stdout
            .contains("repaired 1 ranges: 0 inserted, 1 updated, 0 deleted; compared again: equal")
            && run.stdout.contains("update id=15"),
        "{}",
        run.stdout
    );
    let run = verify(src.url(), &dst, "items", &["--dirty"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        dirty_counts(&run).0,
        0,
        "ranges found equal are clean: {}",
        run.stdout
    );

    // The clean range's wrong row is there for a full verify to find.
    let run = verify(src.url(), &dst, "items", &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("differs: id=3000 in note"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sync_marks_dirty_ranges_and_verify_dirty_reads_only_those() {
    let slot = format!("ferry_dirty_p_{}", std::process::id());
    dirty_then_repair(Db::Pg(pg_database().await), mysql_database().await, &slot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_sync_marks_dirty_ranges_and_verify_dirty_reads_only_those() {
    dirty_then_repair(
        Db::My(mysql_database().await),
        pg_database().await,
        "dirty_m",
    )
    .await;
}

/// A target with a row missing, one different and one extra (also under an
/// unsigned 64-bit key, which PostgreSQL holds as numeric): `--repair`
/// makes it equal, says which rows it changed, and a verify agrees.
async fn repair_makes_equal(src: Db, dst: DbUrl) {
    seed_tables(&src).await;
    src.exec(match &src {
        Db::Pg(_) => "CREATE TABLE big (id bigint PRIMARY KEY, v int); INSERT INTO big VALUES (1, 1), (9223372036854775807, 2)",
        Db::My(_) => "CREATE TABLE big (id bigint unsigned PRIMARY KEY, v int); INSERT INTO big VALUES (1, 1), (18446744073709551615, 2)",
    })
    .await;
    copy_ok(
        src.url(),
        &dst,
        &["--tables", "items,big", "--min-range-rows", "1000"],
    );
    let target = Db::of(&dst);
    target
        .exec(
            "DELETE FROM items WHERE id = 100; UPDATE items SET v = -1 WHERE id = 2000; \
             INSERT INTO items (id, v, note) VALUES (9999, 0, 'extra'); \
             DELETE FROM big WHERE id = 1; INSERT INTO big VALUES (5, 5)",
        )
        .await;
    let run = verify(src.url(), &dst, "items,big", &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let run = verify(
        src.url(),
        &dst,
        "items,big",
        &["--repair", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["repaired"], 5, "{doc}");
    let items = doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"]["name"] == "items")
        .unwrap();
    let r = &items["repair"];
    assert_eq!(
        (&r["inserted"], &r["updated"], &r["deleted"]),
        (&1.into(), &1.into(), &1.into()),
        "{r}"
    );
    let keys: Vec<String> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{} {}",
                x["action"].as_str().unwrap(),
                x["key"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(keys, ["insert id=100", "update id=2000", "delete id=9999"]);
    assert_eq!(r["remaining"], 0);
    let run = verify(src.url(), &dst, "items,big", &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_repair_makes_a_mariadb_target_equal_to_pg() {
    repair_makes_equal(Db::Pg(pg_database().await), mysql_database().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_repair_makes_a_pg_target_equal_to_mariadb() {
    repair_makes_equal(Db::My(mysql_database().await), pg_database().await).await;
}
