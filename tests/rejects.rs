//! `--on-error reject`: rows the target refuses go to the reject file (key,
//! column, reason; never the value), the copy goes on, and the counts
//! reconcile: source rows = written + rejected.

use std::collections::BTreeSet;

use ferry_testkit::{mysql_database, mysql_rows, pg_database, pg_exec};
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
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report: Value = serde_json::from_str(&run.stdout).expect("json report");
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
