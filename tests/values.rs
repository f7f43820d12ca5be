//! Issue 19, "real values": values real servers hold that ferry used to
//! lose, refuse without a key, or could not write at all. Each copy is
//! checked by `ferry verify` and by reading the servers' own bytes
//! (`HEX()`, `encode(…, 'hex')`), never ferry's decoders.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{copy_ok, ferry, Run};

fn run(cmd: &str, source: &DbUrl, target: &DbUrl, extra: &[&str]) -> Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec![cmd, "--source", &s, "--target", &t];
    if cmd == "copy" {
        args.push("--quiet");
    }
    args.extend_from_slice(extra);
    ferry(&args)
}

fn verify_ok(source: &DbUrl, target: &DbUrl, extra: &[&str]) {
    let r = run("verify", source, target, extra);
    assert_eq!(r.code, 0, "ferry verify failed:\n{}", r.all_output());
}

fn mapping_file(toml: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), toml).unwrap();
    f
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_string())).collect()
}

// --- MySQL zero and partial dates ---------------------------------------

const ZERO_DATES: &str = "SET SESSION sql_mode = ''; \
    CREATE TABLE z (id int PRIMARY KEY, d date, dt datetime, dt6 datetime(6), ts timestamp NULL DEFAULT NULL); \
    INSERT INTO z VALUES \
    (1, '2024-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00.5', '2024-01-01 00:00:00'), \
    (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00'), \
    (3, '2016-07-00', '2016-07-00 12:34:56', '2016-00-00 01:02:03.456789', NULL), \
    (4, '2025-00-15', '0000-01-01 00:00:00', '0000-03-04 23:59:59.999999', NULL), \
    (5, NULL, NULL, NULL, NULL)";

const ZERO_DATES_BYTES: &str = "SELECT id, CAST(d AS CHAR), HEX(d), CAST(dt AS CHAR), HEX(dt), \
    CAST(dt6 AS CHAR), HEX(dt6), CAST(ts AS CHAR) FROM z ORDER BY id";

/// Before: MySQL → MySQL refused `0000-00-00` and `2016-07-00` unless
/// `zero_date_to_null` turned them into NULL: the hub had no form for them.
#[tokio::test]
async fn mysql_zero_and_partial_dates_copy_verbatim_to_mysql() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    mysql_exec(&src, ZERO_DATES).await;
    copy_ok(&src, &dst, &[]);
    let (a, b) = (
        mysql_rows(&src, ZERO_DATES_BYTES).await,
        mysql_rows(&dst, ZERO_DATES_BYTES).await,
    );
    assert_eq!(a, b);
    assert_eq!(a[1][1].as_deref(), Some("0000-00-00"));
    assert_eq!(a[2][5].as_deref(), Some("2016-00-00 01:02:03.456789"));
    verify_ok(&src, &dst, &[]);
    // A zero date changed in the target is a difference, not "equal".
    mysql_exec(
        &dst,
        "SET SESSION sql_mode = ''; UPDATE z SET d = '2016-07-01' WHERE id = 3",
    )
    .await;
    let r = run("verify", &src, &dst, &[]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(r.stdout.contains("id=3"), "{}", r.stdout);
}

/// Across to PostgreSQL the rule stays: refused by key unless mapped to NULL.
#[tokio::test]
async fn mysql_zero_dates_still_refused_into_postgres_with_the_key() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, ZERO_DATES).await;
    let r = run("copy", &my, &pg, &["--allow-unclean", "--tables", "z"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column d") && r.stderr.contains("id=2"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("zero_date_to_null"), "{}", r.stderr);
}

// --- MySQL's enum error value '' ----------------------------------------

/// `e` has no '' label; `f` declares one, so only the index tells its
/// error value (index 0) from its label '' (index 1).
const ENUM_ERRORS: &str = "SET SESSION sql_mode = ''; \
    CREATE TABLE en (id int PRIMARY KEY, e enum('a','b'), f enum('','x')); \
    INSERT INTO en VALUES (1, 'a', 'x'), (2, 'bogus', 'bogus'), (3, NULL, ''), (4, 'b', NULL)";

/// Before: PostgreSQL refused the value with only "value refused (22P02)",
/// no column, no key, and the pre-flight did not count it.
#[tokio::test]
async fn mysql_enum_error_value_is_counted_and_refused_with_column_and_key() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, ENUM_ERRORS).await;
    let plan = run("plan", &my, &pg, &[]);
    assert_eq!(plan.code, 1, "{}", plan.all_output());
    assert!(
        plan.stdout.contains("column e: 1 enum error values")
            && plan.stdout.contains("column f: 1 enum error values"),
        "{}",
        plan.stdout
    );
    let r = run("copy", &my, &pg, &[]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(r.stderr.contains("enum error value"), "{}", r.stderr);
    let r = run("copy", &my, &pg, &["--allow-unclean"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column e") && r.stderr.contains("id=2"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("22P02"), "{}", r.stderr);
    // Into MySQL the same.
    let dst = mysql_database().await;
    let r = run("copy", &my, &dst, &["--allow-unclean"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column e") && r.stderr.contains("id=2"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn mysql_enum_error_value_to_null_when_chosen() {
    let (my, pg, dst) = (
        mysql_database().await,
        pg_database().await,
        mysql_database().await,
    );
    mysql_exec(&my, ENUM_ERRORS).await;
    let m = mapping_file("[[type]]\nsource_type = \"enum\"\nconversion = \"enum_error_to_null\"\n");
    let m = m.path().to_str().unwrap();
    copy_ok(&my, &pg, &["--mapping", m]);
    assert_eq!(
        pg_rows(&pg, "SELECT id::text, e::text, f::text, encode(convert_to(f::text, 'UTF8'), 'hex') FROM en ORDER BY id").await,
        vec![
            some(&["1", "a", "x", "78"]),
            vec![Some("2".into()), None, None, None],
            vec![Some("3".into()), None, Some(String::new()), Some(String::new())],
            vec![Some("4".into()), Some("b".into()), None, None],
        ]
    );
    verify_ok(&my, &pg, &["--mapping", m]);
    copy_ok(&my, &dst, &["--mapping", m]);
    assert_eq!(
        mysql_rows(&dst, "SELECT id, e, f, HEX(f), f + 0 FROM en ORDER BY id").await,
        vec![
            some(&["1", "a", "x", "78", "2"]),
            vec![Some("2".into()), None, None, None, None],
            vec![
                Some("3".into()),
                None,
                Some(String::new()),
                Some(String::new()),
                Some("1".into())
            ],
            vec![Some("4".into()), Some("b".into()), None, None, None],
        ]
    );
    verify_ok(&my, &dst, &["--mapping", m]);
}

#[tokio::test]
async fn mysql_enum_error_value_gets_an_empty_label_when_chosen() {
    let (my, pg, dst) = (
        mysql_database().await,
        pg_database().await,
        mysql_database().await,
    );
    mysql_exec(&my, ENUM_ERRORS).await;
    let m = mapping_file(
        "[[column]]\ntable = \"en\"\ncolumn = \"e\"\nconversion = \"enum_error_to_empty_label\"\n\
         [[column]]\ntable = \"en\"\ncolumn = \"f\"\nconversion = \"enum_error_to_null\"\n",
    );
    let m = m.path().to_str().unwrap();
    copy_ok(&my, &pg, &["--mapping", m]);
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT string_agg(quote_literal(enumlabel), ',' ORDER BY enumsortorder) FROM pg_enum \
             WHERE enumtypid = 'en_e'::regtype"
        )
        .await,
        vec![some(&["'','a','b'"])]
    );
    assert_eq!(
        pg_rows(&pg, "SELECT id::text, e::text FROM en ORDER BY id").await,
        vec![
            some(&["1", "a"]),
            some(&["2", ""]),
            vec![Some("3".into()), None],
            some(&["4", "b"]),
        ]
    );
    verify_ok(&my, &pg, &["--mapping", m]);
    copy_ok(&my, &dst, &["--mapping", m]);
    assert_eq!(
        mysql_rows(
            &dst,
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'en' AND COLUMN_NAME = 'e'"
        )
        .await,
        vec![some(&["enum('','a','b')"])]
    );
    assert_eq!(
        mysql_rows(&dst, "SELECT id, e, e + 0 FROM en ORDER BY id").await,
        vec![
            some(&["1", "a", "2"]),
            some(&["2", "", "1"]),
            vec![Some("3".into()), None, None],
            some(&["4", "b", "3"]),
        ]
    );
    verify_ok(&my, &dst, &["--mapping", m]);
    let _ = pg_exec;
}
