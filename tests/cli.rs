//! The command line: the mapping table (pinned by a snapshot so docs cannot
//! drift), summaries for people and machines, and a multi-batch copy.

use ferry_testkit::{mysql_database, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{copy_ok, ferry};

/// Compares with `tests/snapshots/NAME`; `FERRY_BLESS=1` rewrites it.
pub(crate) fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("FERRY_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {} (run with FERRY_BLESS=1)",
            path.display()
        )
    });
    assert_eq!(
        expected, actual,
        "snapshot {name} differs (FERRY_BLESS=1 to accept)"
    );
}

#[test]
fn mappings_tables_are_pinned() {
    for (s, t) in [
        ("postgres", "mysql"),
        ("mysql", "postgres"),
        ("postgres", "postgres"),
        ("mysql", "mysql"),
        ("sqlite", "postgres"),
        ("sqlite", "mysql"),
        ("sqlite", "sqlite"),
        ("postgres", "sqlite"),
        ("mysql", "sqlite"),
        ("mssql", "postgres"),
        ("mssql", "mysql"),
        ("mssql", "mssql"),
        ("postgres", "mssql"),
        ("mysql", "mssql"),
        ("sqlite", "mssql"),
        ("mssql", "sqlite"),
    ] {
        let run = ferry(&["mappings", "--source", s, "--target", t]);
        assert_eq!(run.code, 0, "{}", run.all_output());
        snapshot(&format!("mappings-{s}-{t}.txt"), &run.stdout);
    }
}

#[test]
fn mappings_rejects_a_bad_override_file_with_its_line() {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        f.path(),
        "[[column]]\ntable = \"t\"\ncolumn = \"c\"\nconversion = \"round_half_up\"\n",
    )
    .unwrap();
    let run = ferry(&[
        "mappings",
        "--source",
        "mysql",
        "--target",
        "postgres",
        "--mapping",
        f.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("line 4") && run.stderr.contains("round_half_up"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn json_summary_and_plain_progress_lines() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    // Enough rows for many batches through the bounded channel.
    pg_exec(
        &pg,
        "CREATE TABLE big (id bigint PRIMARY KEY, v text, n numeric(12,2)); \
         INSERT INTO big SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 60000) g; \
         CREATE TABLE small (k text PRIMARY KEY); INSERT INTO small VALUES ('a'), ('b'); ANALYZE",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--format",
        "json",
        "--batch-rows",
        "1000",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json summary");
    let tables = doc["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 2);
    let big = tables.iter().find(|t| t["table"]["name"] == "big").unwrap();
    assert_eq!(big["rows_read"], 60000);
    assert_eq!(big["rows_written"], 60000);
    assert_eq!(big["rows_rejected"], 0);
    assert_eq!(doc["rows_written"], 60002);
    assert!(doc["source"].as_str().unwrap().contains(":***@"));
    // stderr is a pipe here, so progress comes as plain lines, not bars.
    assert!(
        run.stderr.contains("ferry: copied public.big"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\u{1b}'),
        "escape codes in non-terminal output"
    );
    assert_eq!(
        mysql_rows(&my, "SELECT count(*), sum(id), min(v), max(n) FROM big").await,
        pg_rows(&pg, "SELECT count(*), sum(id), min(v), max(n) FROM big").await
    );
}

#[tokio::test]
async fn quiet_prints_only_the_summary_and_tables_flag_selects() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); INSERT INTO a VALUES (1)").await;
    let run = copy_ok(&pg, &my, &["--tables", "a"]);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(run.stdout.contains("public.a"));
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        )
        .await,
        vec![vec![Some("a".into())]]
    );
}
