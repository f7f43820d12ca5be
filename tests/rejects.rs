//! `--on-error reject`: rows the target refuses go to the reject file (key,
//! column, reason; never the value), the copy goes on, and the counts
//! reconcile: source rows = written + rejected.

use std::collections::BTreeSet;

use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec};
use serde_json::Value;

use crate::util::ferry;

#[tokio::test]
async fn refused_rows_go_to_the_reject_file_and_the_counts_reconcile() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE r (id int PRIMARY KEY, x double precision, d date, note text); \
         INSERT INTO r SELECT g, g / 3.0, date '2020-01-01' + g, 'secret-' || g \
           FROM generate_series(1, 20000) g; \
         UPDATE r SET x = 'NaN' WHERE id IN (7, 12000, 19999); \
         UPDATE r SET d = 'infinity' WHERE id IN (15000, 19999);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let (s, t) = (pg.expose(), my.expose());
    let base = ["copy", "--source", &s, "--target", &t, "--quiet"];

    // A reject file without reject mode is a conflicting flag.
    let mut args = base.to_vec();
    args.extend(["--reject-file", rejects.to_str().unwrap()]);
    let run = ferry(&args);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("--on-error reject"), "{}", run.stderr);

    args.extend([
        "--on-error",
        "reject",
        "--workers",
        "3",
        "--batch-rows",
        "1000",
        "--format",
        "json",
    ]);
    let page = dir.path().join("report.html");
    args.extend(["--report", page.to_str().unwrap()]);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report: Value = serde_json::from_str(&run.stdout).expect("json report");
    // The HTML report counts the same rejects by column and reason.
    let html = std::fs::read_to_string(&page).expect("html report");
    assert!(html.contains("Rejected rows"), "no rejects section");
    assert!(!html.contains("secret-"), "a cell value reached the report");
    let table = &report["tables"][0];
    assert_eq!(table["rows_read"], 20000, "{}", run.stdout);
    assert_eq!(table["rows_written"], 19996, "{}", run.stdout);
    assert_eq!(table["rows_rejected"], 4, "{}", run.stdout);
    assert_eq!(report["rows_rejected"], 4);

    let text = std::fs::read_to_string(&rejects).expect("reject file");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let got: BTreeSet<(String, String)> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["table"], "public.r");
            assert!(l["reason"].as_str().is_some_and(|r| !r.is_empty()), "{l}");
            (
                l["key"].as_str().unwrap().to_string(),
                l["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("id=7", "x"),
        ("id=12000", "x"),
        ("id=15000", "d"),
        ("id=19999", "x"),
    ]
    .iter()
    .map(|(k, c)| (k.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want, "{text}");
    assert!(!text.contains("secret-"), "a cell value leaked: {text}");

    let rows = mysql_rows(
        &my,
        "SELECT COUNT(*), SUM(id IN (7, 12000, 15000, 19999)) FROM r",
    )
    .await;
    assert_eq!(rows[0], vec![Some("19996".into()), Some("0".into())]);
}

/// The reject file's (key, reason) pairs, checking every line names `table`.
fn reject_lines(path: &std::path::Path, table: &str) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(path).expect("reject file");
    assert!(!text.contains("secret-"), "a cell value leaked: {text}");
    text.lines()
        .map(|l| {
            let l: Value = serde_json::from_str(l).expect("json line");
            let name = l["table"].as_str().unwrap();
            assert!(name == table || name.ends_with(&format!(".{table}")), "{l}");
            (
                l["key"].as_str().unwrap().to_string(),
                l["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A duplicate key or a CHECK is refused by the server for a whole LOAD
/// DATA statement, without naming the row: ferry bisects the range down to
/// the refused rows, and only those are rejected.
#[tokio::test]
async fn rows_the_server_refuses_are_isolated_by_bisection_into_mariadb() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE r (id int PRIMARY KEY, v int NOT NULL, note text); \
         INSERT INTO r SELECT g, g, 'secret-' || g FROM generate_series(1, 120000) g; \
         UPDATE r SET v = -1 WHERE id IN (77, 60001, 119999);",
    )
    .await;
    // The target exists already, with its own rows and a CHECK.
    mysql_exec(
        &my,
        "CREATE TABLE r (id int PRIMARY KEY, v int NOT NULL, note text, \
           CONSTRAINT v_positive CHECK (v >= 0)); \
         INSERT INTO r VALUES (1, 100, 'mine'), (50000, 100, 'mine'), (120000, 100, 'mine');",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let (s, t) = (pg.expose(), my.expose());
    let base = [
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--if-exists",
        "append",
        "--workers",
        "3",
        "--batch-rows",
        "1000",
        "--format",
        "json",
    ];

    // Fail-fast by default: one line naming the table and the refusal.
    let run = ferry(&base);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("r") && run.stderr.contains("refused"),
        "{}",
        run.stderr
    );
    assert!(
        !run.all_output().contains("secret-"),
        "{}",
        run.all_output()
    );

    // The refused ranges are pending again (nothing of them committed): the
    // same command with reject mode resumes them.
    let mut args = base.to_vec();
    args.extend([
        "--on-error",
        "reject",
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report: Value = serde_json::from_str(&run.stdout).expect("json report");
    let table = &report["tables"][0];
    assert_eq!(table["rows_read"], 120000, "{}", run.stdout);
    assert_eq!(table["rows_written"], 119994, "{}", run.stdout);
    assert_eq!(table["rows_rejected"], 6, "{}", run.stdout);

    let got = reject_lines(&rejects, "r");
    let dup = "duplicate key (1062)".to_string();
    let check = "CHECK constraint violation (4025)".to_string();
    let want: BTreeSet<(String, String)> = [
        ("id=1", &dup),
        ("id=50000", &dup),
        ("id=120000", &dup),
        ("id=77", &check),
        ("id=60001", &check),
        ("id=119999", &check),
    ]
    .iter()
    .map(|(k, r)| (k.to_string(), r.to_string()))
    .collect();
    assert_eq!(got, want);

    // The target's own rows are untouched; every other row arrived once.
    let rows = mysql_rows(
        &my,
        "SELECT COUNT(*), SUM(note = 'mine'), SUM(v = 100 AND note = 'mine'), \
         COUNT(DISTINCT id), SUM(id IN (77, 60001, 119999)) FROM r",
    )
    .await;
    let want = ["119997", "3", "3", "119997", "0"].map(|s| Some(s.to_string()));
    assert_eq!(rows[0], want.to_vec());
}

/// The same into PostgreSQL, whose COPY stops at the first refused row:
/// a duplicate key, a CHECK and a trigger that raises.
#[tokio::test]
async fn rows_the_server_refuses_are_isolated_by_bisection_into_postgres() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        "CREATE TABLE r (id int PRIMARY KEY, v int NOT NULL, note text); \
         INSERT INTO r SELECT seq, seq, CONCAT('secret-', seq) FROM seq_1_to_30000; \
         UPDATE r SET v = -1 WHERE id IN (3, 29999); \
         UPDATE r SET note = 'forbidden' WHERE id = 15001;",
    )
    .await;
    pg_exec(
        &pg,
        "CREATE TABLE r (id int PRIMARY KEY, v int NOT NULL CHECK (v >= 0), note text); \
         INSERT INTO r VALUES (2, 100, 'mine'), (30000, 100, 'mine'); \
         CREATE FUNCTION no_forbidden() RETURNS trigger LANGUAGE plpgsql AS $$ \
           BEGIN IF NEW.note = 'forbidden' THEN RAISE EXCEPTION 'nope: %', NEW.note; END IF; \
           RETURN NEW; END $$; \
         CREATE TRIGGER no_forbidden BEFORE INSERT ON r \
           FOR EACH ROW EXECUTE FUNCTION no_forbidden();",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let (s, t) = (my.expose(), pg.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--if-exists",
        "append",
        "--batch-rows",
        "500",
        "--format",
        "json",
        "--on-error",
        "reject",
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report: Value = serde_json::from_str(&run.stdout).expect("json report");
    assert_eq!(report["tables"][0]["rows_written"], 29995, "{}", run.stdout);
    assert_eq!(report["tables"][0]["rows_rejected"], 5, "{}", run.stdout);
    let got = reject_lines(&rejects, "r");
    let keys: BTreeSet<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id=2", "id=3", "id=15001", "id=29999", "id=30000"])
    );
    for (key, reason) in &got {
        let want = match key.as_str() {
            "id=2" | "id=30000" => "duplicate key (23505) on constraint r_pkey",
            "id=3" | "id=29999" => "CHECK constraint violation (23514) on constraint r_v_check",
            _ => "refused by a trigger (P0001)",
        };
        assert_eq!(reason, want, "{key}");
    }
    let rows = ferry_testkit::pg_rows(
        &pg,
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE note = 'mine'), COUNT(DISTINCT id) FROM r",
    )
    .await;
    let want = ["29997", "2", "29997"].map(|s| Some(s.to_string()));
    assert_eq!(rows[0], want.to_vec());
}
