//! Issue 17: a copy reads each source row once; a value the pre-flight's
//! sample did not see still stops its table by key, leaving no half-loaded
//! table; memory is bounded by bytes, not rows.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{ferry, ferry_peak_rss, Run};

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

/// Rows the PostgreSQL server has read from `table` (sequential and index
/// fetches), once the statistics of every finished session are in.
async fn pg_rows_read(url: &DbUrl, table: &str) -> u64 {
    let sql = format!(
        "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) \
         FROM pg_stat_user_tables WHERE relid = '{table}'::regclass"
    );
    // Sessions flush their counters as they end; wait until two reads agree.
    let mut last = u64::MAX;
    for _ in 0..50 {
        let now: u64 = pg_rows(url, &sql).await[0][0]
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if now == last {
            return now;
        }
        last = now;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    last
}

/// Rows MariaDB's handler has read from `table` (`userstat`).
async fn my_rows_read(url: &DbUrl, table: &str) -> u64 {
    mysql_rows(
        url,
        &format!(
            "SELECT CAST(COALESCE(SUM(ROWS_READ), 0) AS CHAR) FROM information_schema.TABLE_STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'"
        ),
    )
    .await[0][0]
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const ROWS: u64 = 200_000;

/// The source table: a timestamp column gives the pre-flight probes to run
/// (±infinity and years outside 1–9999 into MariaDB), a double NaN checks.
const SEED: &str =
    "CREATE TABLE t (id bigint PRIMARY KEY, x double precision, at timestamp, note text);
     INSERT INTO t SELECT g, g / 7.0, timestamp '2020-01-01' + g * interval '1 second', 'note ' || g
     FROM generate_series(1, 200000) g;
     ANALYZE t;";

/// Issue 17: ferry copy read its source two or three times (the pre-flight
/// scan, a sampling pass for range boundaries, then the copy). Now each row
/// once, plus the pre-flight's bounded sample and, on PostgreSQL, the range
/// planner's page sample; counted by the servers themselves.
#[tokio::test]
async fn a_copy_reads_each_source_row_once() {
    let (pg, my, back) = (
        pg_database().await,
        mysql_database().await,
        pg_database().await,
    );
    pg_exec(&pg, SEED).await;
    let pages: u64 = pg_rows(&pg, "SELECT relpages FROM pg_class WHERE relname = 't'").await[0][0]
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap();
    let before = pg_rows_read(&pg, "t").await;
    let run = copy(&pg, &my, &["--preflight-rows", "1000", "--workers", "2"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let read = pg_rows_read(&pg, "t").await - before;
    // 200k rows once; 1000 of the pre-flight; the planner's TABLESAMPLE of
    // 256 pages (a fixed number of pages, however large the table).
    let sampled = 256 * ROWS / pages;
    assert!(
        (ROWS..=ROWS + 1000 + sampled + ROWS / 100).contains(&read),
        "PostgreSQL read {read} rows for a copy of {ROWS} ({pages} pages)"
    );

    // The MariaDB copy as the source: InnoDB's key is the table, so a key
    // sample would read every row again; the planner dives the index instead.
    mysql_exec(&my, "SET GLOBAL userstat = 1").await;
    let before = my_rows_read(&my, "t").await;
    let run = copy(&my, &back, &["--preflight-rows", "1000", "--workers", "2"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let read = my_rows_read(&my, "t").await - before;
    assert!(
        (ROWS..ROWS + ROWS / 20).contains(&read),
        "MariaDB read {read} rows for a copy of {ROWS}"
    );
    assert!(
        run.stdout.contains("ranges (KeySample)"),
        "split into key ranges: {}",
        run.stdout
    );
    assert_eq!(
        pg_rows(&back, "SELECT count(*), sum(id) FROM t").await,
        vec![some(&["200000", "20000100000"])]
    );
}

fn copy(source: &DbUrl, target: &DbUrl, extra: &[&str]) -> Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["copy", "--source", &s, "--target", &t, "--quiet"];
    args.extend_from_slice(extra);
    ferry(&args)
}

fn error_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect()
}

/// Issue 17: the copy's pre-flight reads a sample, so a bad value beyond it
/// is found as the rows stream. It still gives one line naming table,
/// column and key, exit 2, and no half-loaded table: a table the run
/// created is dropped again (so the corrected re-run starts clean), while
/// the other tables of the run are copied.
#[tokio::test]
async fn a_bad_value_past_the_sample_drops_the_table_the_run_created() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE big (id int PRIMARY KEY, x double precision);
         INSERT INTO big SELECT g, g FROM generate_series(1, 20000) g;
         UPDATE big SET x = 'NaN' WHERE id = 15000;
         CREATE TABLE fine (id int PRIMARY KEY, v text);
         INSERT INTO fine SELECT g, 'v' || g FROM generate_series(1, 100) g;",
    )
    .await;
    // Small ranges, so some commit before the bad one fails.
    let split = ["--min-range-rows", "1000", "--workers", "2"];
    let mut args = vec!["--preflight-rows", "100"];
    args.extend_from_slice(&split);
    let run = copy(&pg, &my, &args);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines = error_lines(&run);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    for needle in ["big", "column x", "id=15000", "NaN", "dropped again"] {
        assert!(lines[0].contains(needle), "{needle:?} in {}", lines[0]);
    }
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'big'"
        )
        .await,
        vec![some(&["0"])],
        "the table the run created is gone"
    );
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*) FROM fine").await,
        vec![some(&["100"])]
    );

    // The whole-table pre-flight finds it before anything is created.
    let (pg2, my2) = (pg, mysql_database().await);
    let run = copy(
        &pg2,
        &my2,
        &["--preflight-rows", "100000", "--tables", "big"],
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("first at id=15000"),
        "the sample covers the table: {}",
        run.stderr
    );
    assert_eq!(
        mysql_rows(
            &my2,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
        .await,
        vec![some(&["0"])],
        "nothing created"
    );

    // A table that existed (emptied by --if-exists truncate) stays, empty.
    mysql_exec(&my2, "CREATE TABLE big (id int PRIMARY KEY, x double)").await;
    mysql_exec(&my2, "INSERT INTO big VALUES (1, 1)").await;
    let mut args = vec![
        "--preflight-rows",
        "0",
        "--tables",
        "big",
        "--if-exists",
        "truncate",
    ];
    args.extend_from_slice(&split);
    let run = copy(&pg2, &my2, &args);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert_eq!(
        mysql_rows(&my2, "SELECT COUNT(*) FROM big").await,
        vec![some(&["0"])],
        "no half-loaded table"
    );

    // With --on-error reject the row goes to the reject file, the rest in.
    let rejects = tempfile::NamedTempFile::new().unwrap();
    let path = rejects.path().to_str().unwrap();
    let mut args = vec![
        "--preflight-rows",
        "100",
        "--tables",
        "big",
        "--if-exists",
        "truncate",
        "--on-error",
        "reject",
        "--reject-file",
        path,
    ];
    args.extend_from_slice(&split);
    let run = copy(&pg2, &my2, &args);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let lines = std::fs::read_to_string(path).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(
        lines.contains("\"id=15000\"") && lines.contains("\"x\""),
        "{lines}"
    );
    assert_eq!(
        mysql_rows(&my2, "SELECT COUNT(*) FROM big").await,
        vec![some(&["19999"])]
    );
}

/// Every value the pre-flight counts has a check in the stream that names
/// table, column and key, so reading only a sample first loses nothing:
/// with no pre-flight at all, each is still refused.
#[tokio::test]
async fn every_value_the_preflight_counts_is_refused_by_key_in_the_stream() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE nan (id int PRIMARY KEY, x double precision);
         INSERT INTO nan VALUES (1, 1), (2, 'Infinity');
         CREATE TABLE negz (id int PRIMARY KEY, x double precision);
         INSERT INTO negz VALUES (3, '-0');
         CREATE TABLE inf (id int PRIMARY KEY, x date);
         INSERT INTO inf VALUES (4, 'infinity');
         CREATE TABLE bc (id int PRIMARY KEY, x timestamp);
         INSERT INTO bc VALUES (5, '0044-03-15 00:00:00 BC');
         CREATE TABLE wide (id int PRIMARY KEY, x numeric);
         INSERT INTO wide VALUES (6, '1e-31');
         CREATE TABLE long (id int PRIMARY KEY, x text);
         INSERT INTO long VALUES (7, 'abcd');",
    )
    .await;
    // An existing target narrower than the source.
    mysql_exec(
        &my,
        "CREATE TABLE `long` (id int PRIMARY KEY, x varchar(3)) CHARACTER SET utf8mb4",
    )
    .await;
    for (table, key) in [
        ("nan", "id=2"),
        ("negz", "id=3"),
        ("inf", "id=4"),
        ("bc", "id=5"),
        ("wide", "id=6"),
        ("long", "id=7"),
    ] {
        let run = copy(
            &pg,
            &my,
            &[
                "--preflight-rows",
                "0",
                "--tables",
                table,
                "--if-exists",
                "append",
            ],
        );
        assert_eq!(run.code, 2, "{table}: {}", run.all_output());
        let lines = error_lines(&run);
        assert_eq!(lines.len(), 1, "{table}: {}", run.stderr);
        for needle in [table, "column x", key] {
            assert!(
                lines[0].contains(needle),
                "{table}: {needle:?} in {}",
                lines[0]
            );
        }
    }

    // MariaDB → PostgreSQL: NUL in text, a tinyint(1) that is not 0/1, a zero date.
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &src,
        "SET SESSION sql_mode = '';
         CREATE TABLE nul (id int PRIMARY KEY, x varchar(10));
         INSERT INTO nul VALUES (1, CONCAT('a', CHAR(0), 'b'));
         CREATE TABLE flag (id int PRIMARY KEY, x tinyint(1));
         INSERT INTO flag VALUES (2, 7);
         CREATE TABLE zero (id int PRIMARY KEY, x date);
         INSERT INTO zero VALUES (3, '0000-00-00');",
    )
    .await;
    for (table, key) in [("nul", "id=1"), ("flag", "id=2"), ("zero", "id=3")] {
        let run = copy(&src, &dst, &["--preflight-rows", "0", "--tables", table]);
        assert_eq!(run.code, 2, "{table}: {}", run.all_output());
        let lines = error_lines(&run);
        assert_eq!(lines.len(), 1, "{table}: {}", run.stderr);
        for needle in [table, "column x", key] {
            assert!(
                lines[0].contains(needle),
                "{table}: {needle:?} in {}",
                lines[0]
            );
        }
    }
}

/// Issue 17: batches closed at a row count only, so 100 rows of 5 MB made
/// a copy peak at 1.56 GB and a verify at 2.19 GB. Batches now close at
/// `--batch-bytes` (16 MB) too, a larger row travels alone, and the writers
/// and verify's chunks are bounded by bytes: peak memory is a function of
/// workers and batch bytes, not of row width.
#[tokio::test]
async fn memory_is_bounded_by_bytes_on_a_table_of_large_values() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    // 100 rows of 5 MB (md5 hex repeated, decoded to bytes).
    pg_exec(
        &pg,
        "CREATE TABLE blobs (id int PRIMARY KEY, b bytea);
         INSERT INTO blobs SELECT g, decode(repeat(md5(g::text), 327680), 'hex')
         FROM generate_series(1, 100) g;",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let (run, copy_kb) = ferry_peak_rss(&["copy", "--source", &s, "--target", &t, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let (run, verify_kb) = ferry_peak_rss(&["verify", "--source", &s, "--target", &t]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    println!(
        "100 × 5 MB: copy peak {} MB, verify peak {} MB",
        copy_kb / 1024,
        verify_kb / 1024
    );
    for (what, kb) in [("copy", copy_kb), ("verify", verify_kb)] {
        assert!(kb < 320 * 1024, "{what} peaked at {} MB", kb / 1024);
    }
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*), SUM(LENGTH(b)) FROM blobs").await,
        vec![some(&["100", "524288000"])]
    );

    // Three rows of 40 MB, larger than a batch's budget: each travels alone.
    pg_exec(
        &pg,
        "INSERT INTO blobs SELECT g, decode(repeat(md5(g::text), 2621440), 'hex')
         FROM generate_series(101, 103) g;",
    )
    .await;
    let (run, copy_kb) = ferry_peak_rss(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--if-exists",
        "truncate",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let (run, verify_kb) = ferry_peak_rss(&["verify", "--source", &s, "--target", &t]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    println!(
        "with 3 × 40 MB: copy peak {} MB, verify peak {} MB",
        copy_kb / 1024,
        verify_kb / 1024
    );
    for (what, kb) in [("copy", copy_kb), ("verify", verify_kb)] {
        assert!(kb < 640 * 1024, "{what} peaked at {} MB", kb / 1024);
    }
}
