//! `ferry copy --verify`: each range is compared right after it commits,
//! from the copy's own snapshot.

use ferry_testkit::{mysql_database, mysql_exec, pg_database, pg_exec};

use crate::util::ferry;

#[tokio::test]
async fn copy_verify_signs_off_every_type_and_keyless_tables() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, crate::fidelity::PG_SCHEMA).await;
    pg_exec(&pg, "UPDATE everything SET c_double = 0 WHERE id = 4").await;
    pg_exec(
        &pg,
        "CREATE TABLE bag (v text, n int); \
         INSERT INTO bag SELECT 'x' || (g % 50), g % 7 FROM generate_series(1, 5000) g",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--verify",
        "--workers",
        "3",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .contains("verified public.everything: 4 rows compared, 0 differences"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("verified public.bag: 5000 rows compared, 0 differences"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn copy_verify_catches_a_target_that_changes_rows_on_the_way_in() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE t (id int PRIMARY KEY, v varchar(20)); \
         INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20000) g",
    )
    .await;
    // A target whose trigger rewrites one row: the copy succeeds, the check must not.
    mysql_exec(
        &my,
        "CREATE TABLE t (id int PRIMARY KEY, v varchar(20)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin; \
         CREATE TRIGGER bump BEFORE INSERT ON t FOR EACH ROW SET NEW.v = IF(NEW.id = 12345, 'changed', NEW.v)",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--if-exists",
        "append",
        "--verify",
        "--format",
        "json",
        "--workers",
        "2",
    ]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let v = &doc["verified"][0];
    assert_eq!(v["rows_compared"], 20000);
    assert_eq!(v["differences"], 1);
    assert_eq!(v["diffs"][0]["key"][0][1], "12345");
    assert_eq!(v["diffs"][0]["columns"][0], "v");
}

/// Regression: `copy --verify` of a table keyed by a type ranges are not
/// planned on (numeric, date…) read the source as an unbounded key range,
/// which such keys refuse ("cannot read range"). The whole table is now
/// read in binary key order by the same reader, inside the snapshot.
#[tokio::test]
async fn copy_verify_of_a_table_keyed_by_a_type_ranges_do_not_split() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE priced (price numeric(10,2) PRIMARY KEY, day date NOT NULL); \
         INSERT INTO priced SELECT g / 4.0, DATE '2024-01-01' + g FROM generate_series(1, 300) g",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&[
        "copy", "--source", &s, "--target", &t, "--quiet", "--verify",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .contains("verified public.priced: 300 rows compared, 0 differences"),
        "{}",
        run.stdout
    );
}
