//! Bad input: each mistake gets one `error:` line and exit code 2 before
//! anything is written to the target; hostile identifiers copy as data, never
//! as SQL; the live-source settings (timeouts, row rate) take effect.

use std::time::{Duration, Instant};

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{ferry, Run};

/// One `error:` line on stderr (clap adds its `--help` hint), exit 2,
/// every needle present.
fn refused(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")
        })
        .collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("error: "),
        "expected one line: {}",
        run.stderr
    );
    for n in needles {
        assert!(run.stderr.contains(n), "missing {n:?} in: {}", run.stderr);
    }
}

async fn assert_target_empty(my: &DbUrl) {
    assert!(
        mysql_rows(my, "SHOW TABLES").await.is_empty(),
        "something was written to the target"
    );
}

#[tokio::test]
async fn conflicting_and_out_of_range_flags_are_refused_before_any_write() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    pg_exec(&pg, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let (s, t) = (pg.expose(), my.expose());
    let base = ["copy", "--source", s.as_str(), "--target", t.as_str()];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        ferry(&a)
    };
    refused(&with(&["--workers", "0"]), &["--workers"]);
    refused(&with(&["--batch-rows", "0"]), &["--batch-rows"]);
    refused(
        &with(&["--max-rows-per-second", "0"]),
        &["--max-rows-per-second"],
    );
    refused(
        &with(&["--connect-timeout", "soon"]),
        &["--connect-timeout"],
    );
    refused(
        &with(&["--cdc-slot", "s1", "--lock-source"]),
        &["--lock-source needs a MySQL"],
    );
    refused(&with(&["--lock-source"]), &["--lock-source needs a MySQL"]);
    refused(
        &with(&["--tables", "other.t", "--schema", "public"]),
        &["--tables names other.t", "--schema is public"],
    );
    refused(
        &with(&["--source-password-file", "/nonexistent/pw"]),
        &["the source URL has a password and a password file is given too"],
    );
    let no_pw = format!(
        "postgres://postgres@{}:{}/{}",
        pg.host, pg.port, pg.database
    );
    let run = ferry(&[
        "copy",
        "--source",
        &no_pw,
        "--target",
        &t,
        "--source-password-file",
        "/nonexistent/pw",
    ]);
    refused(&run, &["cannot read password file /nonexistent/pw"]);
    // Bad URL parameters.
    for (param, needle) in [
        ("sslmode=sometimes", "sslmode=sometimes"),
        ("connect_timeout=later", "not a duration"),
        ("ssl-mode=VERIFY_IDENTITY", "ssl-ca"),
    ] {
        let run = ferry(&["copy", "--source", &s, "--target", &format!("{t}?{param}")]);
        refused(&run, &[needle]);
    }
    assert_target_empty(&my).await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections (the kernel completes the handshake) but never
    // says a word: loopback only.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let my = mysql_database().await;
    for (url, engine) in [
        (format!("postgres://u:pw@127.0.0.1:{port}/db"), "postgres"),
        (format!("mysql://u:pw@127.0.0.1:{port}/db"), "mysql"),
    ] {
        let start = Instant::now();
        let run = ferry(&[
            "copy",
            "--source",
            &url,
            "--target",
            &my.expose(),
            "--connect-timeout",
            "1s",
        ]);
        refused(
            &run,
            &[
                &format!("cannot connect to {engine}://u:***@127.0.0.1"),
                "connect_timeout",
            ],
        );
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{:?}",
            start.elapsed()
        );
    }
    // The URL's own parameter works too.
    let run = ferry(&[
        "copy",
        "--source",
        &format!("postgres://u:pw@127.0.0.1:{port}/db?connect_timeout=500ms"),
        "--target",
        &my.expose(),
    ]);
    refused(&run, &["connect_timeout"]);
    drop(silent);
    assert_target_empty(&my).await;
}

#[tokio::test]
async fn a_column_override_for_a_missing_column_is_refused() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    pg_exec(&pg, "CREATE TABLE t (id int PRIMARY KEY, d date)").await;
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("m.toml");
    std::fs::write(
        &mapping,
        "[[column]]\ntable = \"t\"\ncolumn = \"no_such_column\"\nconversion = \"infinity_to_null\"\n",
    )
    .unwrap();
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--mapping",
        mapping.to_str().unwrap(),
    ]);
    refused(&run, &["no_such_column"]);
    // A syntax error names the file, line and column.
    std::fs::write(&mapping, "[[column]]\ntable = \"t\"\ncolumn = d\n").unwrap();
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--mapping",
        mapping.to_str().unwrap(),
    ]);
    refused(&run, &["m.toml", "line 3"]);
    assert_target_empty(&my).await;
}

/// Names that break naive SQL: quotes, backticks, semicolons with a payload,
/// keywords, spaces, mixed case and non-ASCII.
const HOSTILE_TABLES: [&str; 3] = ["a\"b", "drop table canary;--", "Mixed Case `x`"];

#[tokio::test]
async fn hostile_identifiers_round_trip_and_nothing_else_runs() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    let back = pg_database().await;
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let cols = [
        "select",
        "a\"b",
        "`x`",
        "drop table canary;--",
        "Mixed Case",
        "ключ",
    ];
    for t in HOSTILE_TABLES {
        let defs: Vec<String> = cols.iter().map(|c| format!("{} text", q(c))).collect();
        pg_exec(
            &pg,
            &format!(
                "CREATE TABLE {} (\"id; delete\" int PRIMARY KEY, {}); \
                 INSERT INTO {} SELECT g, 'v''' || g, '`' || g, 'x', ';--' || g, NULL, 'ü' || g \
                 FROM generate_series(1, 50) g",
                q(t),
                defs.join(", "),
                q(t)
            ),
        )
        .await;
    }
    mysql_exec(
        &my,
        "CREATE TABLE canary (id int PRIMARY KEY); INSERT INTO canary VALUES (1)",
    )
    .await;
    pg_exec(
        &back,
        "CREATE TABLE canary (id int PRIMARY KEY); INSERT INTO canary VALUES (1)",
    )
    .await;

    let tables = HOSTILE_TABLES.join(",");
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--tables",
        &tables,
        "--quiet",
        "--workers",
        "2",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let run = ferry(&[
        "verify",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--tables",
        &tables,
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let run = ferry(&[
        "copy",
        "--source",
        &my.expose(),
        "--target",
        &back.expose(),
        "--tables",
        &tables,
        "--quiet",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let run = ferry(&[
        "verify",
        "--source",
        &pg.expose(),
        "--target",
        &back.expose(),
        "--tables",
        &tables,
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());

    for t in HOSTILE_TABLES {
        let got = pg_rows(
            &back,
            &format!(
                "SELECT COUNT(*), MAX(\"select\"), MAX({}) FROM {}",
                q("drop table canary;--"),
                q(t)
            ),
        )
        .await;
        assert_eq!(
            got[0],
            vec![Some("50".into()), Some("v'9".into()), Some(";--9".into())],
            "{t}"
        );
    }
    assert_eq!(
        mysql_rows(&my, "SELECT id FROM canary").await,
        vec![vec![Some("1".into())]]
    );
    assert_eq!(
        pg_rows(&back, "SELECT id FROM canary").await,
        vec![vec![Some("1".into())]]
    );
}

#[tokio::test]
async fn max_rows_per_second_paces_the_read() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    pg_exec(
        &pg,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 3000)",
    )
    .await;
    let start = Instant::now();
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--quiet",
        "--batch-rows",
        "250",
        "--workers",
        "3",
        "--max-rows-per-second",
        "1000",
    ]);
    let took = start.elapsed();
    assert_eq!(run.code, 0, "{}", run.all_output());
    // 3000 rows, a 1000-row burst, then 1000 rows/s: at least 2 s.
    assert!(took >= Duration::from_millis(1800), "took only {took:?}");
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*) FROM t").await[0][0].as_deref(),
        Some("3000")
    );
}

#[tokio::test]
async fn source_lock_timeout_stops_a_copy_stuck_behind_a_lock() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    pg_exec(
        &pg,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)",
    )
    .await;
    // Hold an ACCESS EXCLUSIVE lock in an open transaction.
    let holder = ferry_testkit::pg_client(&pg).await;
    holder
        .batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let start = Instant::now();
    let run = tokio::task::spawn_blocking({
        let (s, t) = (pg.expose(), my.expose());
        move || {
            ferry(&[
                "copy",
                "--source",
                &s,
                "--target",
                &t,
                "--quiet",
                "--source-lock-timeout",
                "1s",
            ])
        }
    })
    .await
    .unwrap();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("lock timeout"), "{}", run.stderr);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
}

/// `ferry copy` from `source` to `target` with `extra` flags.
fn copy_split(source: &DbUrl, target: &DbUrl, extra: &[&str]) -> Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["copy", "--source", &s, "--target", &t];
    args.extend_from_slice(extra);
    ferry(&args)
}

async fn assert_pg_target_empty(pg: &DbUrl) {
    assert!(
        pg_rows(
            pg,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        .await
        .is_empty(),
        "something was written to the target"
    );
}

#[tokio::test]
async fn split_of_a_postgres_table_without_a_key_is_refused_before_any_write() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    pg_exec(
        &pg,
        "CREATE TABLE events (a int, b text); INSERT INTO events SELECT g, 'x' FROM generate_series(1, 10) g; \
         CREATE TABLE prices (id numeric(12, 2) PRIMARY KEY); INSERT INTO prices VALUES (1.50)",
    )
    .await;
    let run = copy_split(&pg, &my, &["--split", "events"]);
    refused(
        &run,
        &[
            "table public.events: --split asks for key ranges",
            "no primary key",
            "ctid",
        ],
    );
    let run = copy_split(
        &pg,
        &my,
        &["--tables", "prices", "--split", "public.prices"],
    );
    refused(
        &run,
        &["table public.prices", "key column id has type numeric"],
    );
    let run = copy_split(&pg, &my, &["--tables", "prices", "--split", "nosuch"]);
    refused(
        &run,
        &["table nosuch: --split names a table this copy does not take"],
    );
    // Named and copied, but not in this copy's list.
    let run = copy_split(&pg, &my, &["--tables", "prices", "--split", "events"]);
    refused(&run, &["table events: --split names a table"]);
    assert_target_empty(&my).await;
    // Nothing was registered either: the same copy without --split starts new.
    let run = copy_split(&pg, &my, &["--quiet", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["run"]["start"], "new", "{}", run.stdout);
}

#[tokio::test]
async fn split_of_a_mysql_table_without_a_usable_key_is_refused_before_any_write() {
    let my = mysql_database().await;
    let pg = pg_database().await;
    mysql_exec(
        &my,
        "CREATE TABLE events (a int, b text); INSERT INTO events VALUES (1, 'x'), (2, 'y'); \
         CREATE TABLE days (d date PRIMARY KEY); INSERT INTO days VALUES ('2024-01-01')",
    )
    .await;
    let run = copy_split(&my, &pg, &["--split", "events,days"]);
    refused(
        &run,
        &[
            "table events: --split asks for key ranges",
            "no primary key",
            "one stream",
        ],
    );
    let run = copy_split(&my, &pg, &["--split", "days"]);
    refused(&run, &["table days", "key column d has type date"]);
    let run = copy_split(&my, &pg, &["--split", "other_db.days"]);
    refused(&run, &["table other_db.days: --split names a table"]);
    assert_pg_target_empty(&pg).await;
}

#[tokio::test]
async fn split_of_a_small_table_with_an_integer_key_copies() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    // Too small to need ranges, but its key splits: --split is about the key.
    // The keyless table beside it is not named, so it copies as before.
    pg_exec(
        &pg,
        "CREATE TABLE small (id int PRIMARY KEY, v text); \
         INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 20) g; \
         CREATE TABLE loose (a int); INSERT INTO loose VALUES (1)",
    )
    .await;
    let run = copy_split(&pg, &my, &["--quiet", "--split", "public.small"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*) FROM small").await[0][0].as_deref(),
        Some("20")
    );
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*) FROM loose").await[0][0].as_deref(),
        Some("1")
    );
    // And from MySQL, with an unsigned key.
    let back = pg_database().await;
    mysql_exec(
        &my,
        "CREATE TABLE u (id int unsigned PRIMARY KEY); INSERT INTO u VALUES (1), (2)",
    )
    .await;
    let run = copy_split(&my, &back, &["--quiet", "--tables", "u", "--split", "u"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        pg_rows(&back, "SELECT COUNT(*) FROM u").await[0][0].as_deref(),
        Some("2")
    );
}
