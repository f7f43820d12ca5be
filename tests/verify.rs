//! `ferry verify` against real servers: identical copies are equal, every
//! kind of planted difference is found with the right key and column, and
//! intended conversions (every type of the copy issue, both directions) are
//! never reported.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec};
use serde_json::Value;

use crate::fidelity::{MY_SCHEMA, PG_ONLY_ROW, PG_SCHEMA};
use crate::util::{copy_ok, ferry, Run};

/// `ferry verify … --format json`, parsed; panics unless the exit code is `code`.
fn verify_json(source: &DbUrl, target: &DbUrl, extra: &[&str], code: i32) -> Value {
    let run = verify(source, target, &["--format", "json"], extra);
    assert_eq!(run.code, code, "ferry verify:\n{}", run.all_output());
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn verify(source: &DbUrl, target: &DbUrl, format: &[&str], extra: &[&str]) -> Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["verify", "--source", &s, "--target", &t];
    args.extend_from_slice(format);
    args.extend_from_slice(extra);
    ferry(&args)
}

fn table<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"]["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {doc:#}"))
}

/// Every listed difference of a table as `kind key [columns]` lines, sorted.
fn diffs(t: &Value) -> Vec<String> {
    let mut out: Vec<String> = t["diffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let key: Vec<String> = d["key"]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| format!("{}={}", kv[0].as_str().unwrap(), kv[1].as_str().unwrap()))
                .collect();
            let cols: Vec<&str> = d
                .get("columns")
                .and_then(Value::as_array)
                .map(|c| c.iter().map(|x| x.as_str().unwrap()).collect())
                .unwrap_or_default();
            let mut line = format!("{} {}", d["kind"].as_str().unwrap(), key.join(","));
            if !cols.is_empty() {
                line.push_str(&format!(" [{}]", cols.join(",")));
            }
            if let (Some(s), Some(t)) = (d.get("source_count"), d.get("target_count")) {
                line.push_str(&format!(" {s}:{t}"));
            }
            line
        })
        .collect();
    out.sort();
    out
}

const ROWS: i64 = 1000;

/// A PostgreSQL table of `ROWS` rows with the columns the mutations touch,
/// and a keyless table.
async fn seed_pg(pg: &DbUrl) {
    pg_exec(
        pg,
        &format!(
            "CREATE TABLE t (id bigint PRIMARY KEY, v_int integer, v_text varchar(40), \
               v_ts timestamp(6), v_float double precision, v_json jsonb, v_null text, v_ch char(6));
             INSERT INTO t SELECT g, g * 7, 'row ' || g, \
               timestamp '2024-01-01 00:00:00' + g * interval '1 second 1 microsecond', \
               g / 3.0, jsonb_build_object('a', g, 'b', 'x'), '', 'c' || (g % 10) \
             FROM generate_series(1, {ROWS}) g;
             CREATE TABLE bag (a integer, b text);
             INSERT INTO bag VALUES (1, 'x'), (1, 'x'), (2, 'y'), (3, NULL), (3, '');"
        ),
    )
    .await;
}

#[tokio::test]
async fn identical_copy_is_equal_and_exits_0() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    seed_pg(&pg).await;
    copy_ok(&pg, &my, &[]);
    let doc = verify_json(&pg, &my, &["--chunk-rows", "100"], 0);
    assert_eq!(doc["equal"], true);
    let t = table(&doc, "t");
    assert_eq!(t["rows_source"], ROWS);
    assert_eq!(t["rows_target"], ROWS);
    assert_eq!(t["chunks"], 10);
    assert_eq!(t["mode"]["kind"], "key_order");
    let bag = table(&doc, "bag");
    assert_eq!(bag["mode"]["kind"], "multiset");
    assert_eq!(bag["rows_target"], 5);
    // The rules are declared per column.
    let rules: Vec<String> = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c["column"].as_str().unwrap(),
                c["rule"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        rules.contains(&"v_float: float64: exact IEEE bits".to_string()),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r.starts_with("v_json: canonical JSON")),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r.starts_with("v_ch: text, CHAR trailing spaces ignored")),
        "{rules:?}"
    );
    // The text report too, and the reverse direction.
    let run = verify(&my, &pg, &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout.contains("compared by key (id)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("compared as a multiset of rows (no primary key)"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn every_planted_difference_is_found_with_its_key_and_column() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    seed_pg(&pg).await;
    copy_ok(&pg, &my, &[]);
    // The float one ULP above row 40's value, written as the exact decimal MySQL parses.
    let x: f64 = 40.0 / 3.0;
    let next = f64::from_bits(x.to_bits() + 1);
    mysql_exec(
        &my,
        &format!(
            "DELETE FROM t WHERE id = 10;
             INSERT INTO t (id, v_int, v_text, v_null) VALUES (100000, 1, 'new', '');
             UPDATE t SET v_int = v_int + 1 WHERE id = 20;
             UPDATE t SET v_ts = v_ts + INTERVAL 1 MICROSECOND WHERE id = 30;
             UPDATE t SET v_float = {next:e} WHERE id = 40;
             UPDATE t SET v_text = CONCAT(v_text, ' ') WHERE id = 50;
             UPDATE t SET v_json = '{{\"b\": \"x\", \"a\": 60}}' WHERE id = 60;
             UPDATE t SET v_null = NULL WHERE id = 70;
             UPDATE t SET v_int = 0 WHERE id = 1;
             UPDATE t SET v_text = 'last' WHERE id = {ROWS};
             UPDATE t SET v_int = -1 WHERE id IN (100, 101);
             INSERT INTO bag VALUES (2, 'y');"
        ),
    )
    .await;
    // The JSON really is stored reordered (MariaDB keeps JSON text as written).
    assert_eq!(
        mysql_rows(&my, "SELECT v_json FROM t WHERE id = 60").await[0][0].as_deref(),
        Some("{\"b\": \"x\", \"a\": 60}")
    );
    for (extra, ranges) in [
        (&["--chunk-rows", "100"][..], 1),
        // Split into key ranges compared concurrently: the same findings.
        (&["--chunk-rows", "64", "--min-range-rows", "100"][..], 10),
    ] {
        let doc = verify_json(&pg, &my, extra, 1);
        let t = table(&doc, "t");
        assert_eq!(t["ranges"], ranges, "{extra:?}");
        assert_eq!(
            diffs(t),
            vec![
                "differs id=1 [v_int]",
                "differs id=100 [v_int]",
                "differs id=1000 [v_text]",
                "differs id=101 [v_int]",
                "differs id=20 [v_int]",
                "differs id=30 [v_ts]",
                "differs id=40 [v_float]",
                "differs id=50 [v_text]",
                "differs id=70 [v_null]",
                "extra_in_target id=100000",
                "missing_in_target id=10",
            ],
            "{extra:?}"
        );
        assert_eq!(t["missing_in_target"], 1);
        assert_eq!(t["extra_in_target"], 1);
        assert_eq!(t["differing_rows"], 9);
        let bag = table(&doc, "bag");
        assert_eq!(bag["extra_in_target"], 1);
        assert_eq!(diffs(bag), vec!["extra_in_target  1:2"]);
    }
    // --max-diffs caps the listing, not the counts.
    let doc = verify_json(&pg, &my, &["--max-diffs", "2", "--tables", "t"], 1);
    let t = table(&doc, "t");
    assert_eq!(t["diffs"].as_array().unwrap().len(), 2);
    assert_eq!(doc["differences"], 11);
    // A float tolerance on request makes the 1-ULP change equal.
    let doc = verify_json(&pg, &my, &["--float-ulps", "1", "--tables", "t"], 1);
    assert!(!diffs(table(&doc, "t")).contains(&"differs id=40 [v_float]".to_string()));
    assert_eq!(doc["differences"], 10);
}

#[tokio::test]
async fn uuid_text_and_composite_keys_line_up_across_engines() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE u (id uuid PRIMARY KEY, n int);
         INSERT INTO u SELECT md5(g::text)::uuid, g FROM generate_series(1, 300) g;
         CREATE TABLE s (k text PRIMARY KEY, n int);
         INSERT INTO s VALUES ('a', 1), ('a ', 2), ('a-b', 3), ('a_b', 4), ('aB', 5), ('A', 6), \
           ('é', 7), (E'e\\u0301', 8), ('😀', 9), (E'a\\t', 10), ('', 11);
         CREATE TABLE c (tenant int, name varchar(20), v int, PRIMARY KEY (tenant, name));
         INSERT INTO c SELECT g % 3, 'n' || g, g FROM generate_series(1, 300) g;",
    )
    .await;
    copy_ok(&pg, &my, &[]);
    let doc = verify_json(&pg, &my, &["--chunk-rows", "7"], 0);
    assert_eq!(table(&doc, "s")["rows_target"], 11);
    mysql_exec(
        &my,
        "DELETE FROM u WHERE n = 150; UPDATE s SET n = 0 WHERE k = 'a '; \
         DELETE FROM s WHERE k = 'aB'; UPDATE c SET v = 0 WHERE tenant = 2 AND name = 'n2';",
    )
    .await;
    let uuid = ferry_testkit::pg_rows(&pg, "SELECT id::text FROM u WHERE n = 150").await[0][0]
        .clone()
        .unwrap();
    let doc = verify_json(&pg, &my, &["--chunk-rows", "7"], 1);
    assert_eq!(
        diffs(table(&doc, "u")),
        vec![format!("missing_in_target id={uuid}")]
    );
    assert_eq!(
        diffs(table(&doc, "s")),
        vec!["differs k=a  [n]", "missing_in_target k=aB"]
    );
    assert_eq!(
        diffs(table(&doc, "c")),
        vec!["differs tenant=2,name=n2 [v]"]
    );
}

#[tokio::test]
async fn every_type_postgres_to_mysql_has_no_false_positives() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, PG_SCHEMA).await;
    pg_exec(&pg, "UPDATE everything SET c_double = 0 WHERE id = 4").await;
    copy_ok(&pg, &my, &[]);
    let doc = verify_json(&pg, &my, &[], 0);
    let t = table(&doc, "everything");
    assert_eq!(t["rows_target"], 4);
    // Every column is compared, each under a declared rule.
    assert_eq!(t["columns"].as_array().unwrap().len(), 37);
    // And a real change in a converted column is still seen.
    mysql_exec(
        &my,
        "UPDATE everything SET c_uuid = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12' WHERE id = 4",
    )
    .await;
    let doc = verify_json(&pg, &my, &[], 1);
    assert_eq!(
        diffs(table(&doc, "everything")),
        vec!["differs id=4 [c_uuid]"]
    );
}

#[tokio::test]
async fn every_type_postgres_to_postgres_has_no_false_positives() {
    let (src, dst) = (pg_database().await, pg_database().await);
    pg_exec(&src, PG_SCHEMA).await;
    pg_exec(&src, PG_ONLY_ROW).await;
    copy_ok(&src, &dst, &[]);
    verify_json(&src, &dst, &[], 0);
}

#[tokio::test]
async fn every_type_mysql_to_postgres_and_mysql_has_no_false_positives() {
    let (my, pg, my2) = (
        mysql_database().await,
        pg_database().await,
        mysql_database().await,
    );
    mysql_exec(&my, MY_SCHEMA).await;
    copy_ok(&my, &pg, &[]);
    copy_ok(&my, &my2, &[]);
    assert_eq!(
        table(&verify_json(&my, &pg, &[], 0), "everything")["rows_target"],
        7
    );
    verify_json(&my, &my2, &[], 0);
    // Back from PostgreSQL to a fresh MySQL: the round trip verifies against the original.
    let my3 = mysql_database().await;
    copy_ok(&pg, &my3, &[]);
    verify_json(&pg, &my3, &[], 0);
}

#[tokio::test]
async fn a_missing_target_table_is_an_error() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    seed_pg(&pg).await;
    let run = verify(&pg, &my, &[], &["--tables", "t"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("t"), "{}", run.stderr);
}

/// The unit `ferry copy --verify` runs after each range: `verify_range`
/// reads the source inside the copy's snapshot, so rows written to the
/// source after the snapshot are not differences, while a change in the
/// target is.
#[tokio::test]
async fn verify_range_reads_the_source_from_the_snapshot() {
    use std::sync::Arc;

    use ferry_core::range::{RangeOptions, SnapshotOptions};
    use ferry_engine::verify::{prepare_table, verify_range, VerifyOptions};
    use ferry_engine::{plan_tables, Adapter, Selection};

    let (pg, my) = (pg_database().await, mysql_database().await);
    seed_pg(&pg).await;
    copy_ok(&pg, &my, &["--tables", "t"]);
    let source = Arc::new(Adapter::new(pg.clone()));
    let target = Arc::new(Adapter::new(my.clone()));
    let mappings = ferry_mapping::Mappings::builtin().unwrap();
    let selection = Selection {
        tables: vec!["t".to_string()],
        ..Selection::default()
    };
    let plans = plan_tables(&source, target.engine(), &mappings, &selection)
        .await
        .unwrap();
    let (snapshot, _) = source
        .open_snapshot(&SnapshotOptions {
            sessions: 2,
            ..SnapshotOptions::default()
        })
        .await
        .unwrap();
    // After the snapshot: invisible to the verification.
    pg_exec(
        &pg,
        "DELETE FROM t WHERE id = 7; UPDATE t SET v_int = 0 WHERE id = 8",
    )
    .await;
    mysql_exec(&my, "UPDATE t SET v_text = 'changed' WHERE id = 900").await;
    let cmp = prepare_table(&source, &target, &plans[0], 0).await.unwrap();
    let ranges = source
        .plan_ranges(
            &cmp.source_plan,
            &RangeOptions {
                max_ranges: 4,
                min_range_rows: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(ranges.ranges.len(), 4);
    let options = VerifyOptions::default();
    let mut found = Vec::new();
    let mut rows = 0;
    for r in &ranges.ranges {
        let o = verify_range(&source, &target, &cmp, Some(r), Some(&snapshot), &options)
            .await
            .unwrap();
        rows += o.rows_source;
        found.extend(
            o.diffs
                .iter()
                .map(|d| format!("{:?} {:?}", d.key, d.columns)),
        );
    }
    assert_eq!(rows, ROWS as u64);
    assert_eq!(found, vec![r#"[("id", "900")] ["v_text"]"#]);
}
