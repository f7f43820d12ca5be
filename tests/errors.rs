//! Bad input gets one line that says what failed, a non-zero exit code, and
//! never the password.

use ferry_testkit::{
    mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows, PASSWORD,
};

use crate::util::{ferry, ferry_env};

fn assert_one_line_error(run: &crate::util::Run, must_contain: &[&str]) {
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert!(!lines.is_empty(), "no error line: {}", run.all_output());
    for needle in must_contain {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?} in: {}",
            run.stderr
        );
    }
    assert!(
        !run.all_output().contains(PASSWORD),
        "password leaked: {}",
        run.all_output()
    );
}

#[tokio::test]
async fn malformed_and_unknown_urls() {
    let pg = pg_database().await.expose();
    let run = ferry(&[
        "copy",
        "--source",
        "postgres://u:hunter2@/db",
        "--target",
        &pg,
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid connection URL") && !run.stderr.contains("hunter2"),
        "{}",
        run.stderr
    );
    let run = ferry(&[
        "copy",
        "--source",
        "oracle://u:hunter2@h/db",
        "--target",
        &pg,
    ]);
    assert!(
        run.code == 2 && run.stderr.contains("unknown scheme") && !run.stderr.contains("hunter2"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn refused_connection_and_wrong_password() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let src = format!("postgres://u:{PASSWORD}@127.0.0.1:{closed}/db");
    let run = ferry(&["copy", "--source", &src, "--target", &my.expose()]);
    assert_one_line_error(&run, &["cannot connect to postgres://u:***@127.0.0.1"]);

    let bad_pg = pg.expose().replace(PASSWORD, "wrong-pw");
    let run = ferry(&["copy", "--source", &bad_pg, "--target", &my.expose()]);
    assert_one_line_error(&run, &["cannot connect", "password"]);
    assert!(!run.all_output().contains("wrong-pw"));

    let bad_my = my.expose().replace(PASSWORD, "wrong-pw");
    let run = ferry(&["copy", "--source", &pg.expose(), "--target", &bad_my]);
    assert!(!run.all_output().contains("wrong-pw"));
    // The source is fine but empty: either error is acceptable, the password never shows.
    assert_eq!(run.code, 2, "{}", run.all_output());
}

#[tokio::test]
async fn password_from_environment() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let src = pg.expose().replace(&format!(":{PASSWORD}@"), "@");
    let dst = my.expose().replace(&format!(":{PASSWORD}@"), "@");
    let run = ferry_env(
        &["copy", "--source", &src, "--target", &dst, "--quiet"],
        &[
            ("PGPASSWORD", PASSWORD),
            ("FERRY_TARGET_PASSWORD", PASSWORD),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(!run.all_output().contains(PASSWORD));
}

#[tokio::test]
async fn missing_table_and_unsupported_type() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--tables",
        "nope",
    ]);
    assert_one_line_error(&run, &["nope", "not found"]);

    // A type without a rule (spatial types have rules since issue 19).
    pg_exec(&pg, "CREATE TABLE lsn (id int PRIMARY KEY, l pg_lsn)").await;
    let run = ferry(&["copy", "--source", &pg.expose(), "--target", &my.expose()]);
    assert_one_line_error(&run, &["lsn", "column l", "pg_lsn"]);
    // Nothing was created in the target: plans are checked before any DDL.
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
        .await,
        vec![vec![Some("0".into())]]
    );
}

#[tokio::test]
async fn values_mysql_cannot_hold_name_table_column_and_key() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE f (id int PRIMARY KEY, x double precision); \
         INSERT INTO f VALUES (1, 1.5), (2, 'NaN'); \
         CREATE TABLE d (id int PRIMARY KEY, x date); \
         INSERT INTO d VALUES (10, '2024-01-01'), (11, 'infinity'); \
         CREATE TABLE n (id int PRIMARY KEY, x numeric); \
         INSERT INTO n VALUES (20, '1e-31'); \
         CREATE TABLE z (id int PRIMARY KEY, x double precision); \
         INSERT INTO z VALUES (30, '-0'); \
         CREATE TABLE bc (id int PRIMARY KEY, x date); \
         INSERT INTO bc VALUES (40, '2000-01-01'), (41, '0044-03-15 BC'); \
         CREATE TABLE nn (id int PRIMARY KEY, x numeric(10,2)); \
         INSERT INTO nn VALUES (50, 'NaN')",
    )
    .await;
    for (table, key, col) in [
        ("f", "id=2", "column x"),
        ("d", "id=11", "column x"),
        ("n", "id=20", "column x"),
    ] {
        let run = ferry(&[
            "copy",
            "--source",
            &pg.expose(),
            "--target",
            &my.expose(),
            "--tables",
            table,
            "--quiet",
        ]);
        assert_one_line_error(&run, &[table, col, key]);
    }
    // The lossy rule, when chosen, makes the NaN a NULL.
    let mapping = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        mapping.path(),
        "[[column]]\ntable = \"f\"\ncolumn = \"x\"\nconversion = \"nan_to_null\"\n",
    )
    .unwrap();
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--tables",
        "f",
        "--quiet",
        "--if-exists",
        "truncate",
        "--mapping",
        mapping.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        ferry_testkit::mysql_rows(&my, "SELECT id, x FROM f ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some("1.5".into())],
            vec![Some("2".into()), None]
        ]
    );
}

#[tokio::test]
async fn existing_target_table_fails_unless_told() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)",
    )
    .await;
    mysql_exec(
        &my,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)",
    )
    .await;
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--quiet",
    ]);
    assert_one_line_error(&run, &["already exists"]);
    // append into a table holding key 1: the duplicate is refused, nothing committed.
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--quiet",
        "--if-exists",
        "append",
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert_eq!(
        ferry_testkit::mysql_rows(&my, "SELECT count(*) FROM t").await,
        vec![vec![Some("1".into())]]
    );
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--quiet",
        "--if-exists",
        "truncate",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        ferry_testkit::mysql_rows(&my, "SELECT count(*) FROM t").await,
        vec![vec![Some("2".into())]]
    );
}

#[tokio::test]
async fn nul_bytes_into_postgres_are_refused_or_stripped_by_choice() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, "CREATE TABLE s (id int PRIMARY KEY, t varchar(10)); INSERT INTO s VALUES (1, 'ok'), (2, CONCAT('a', CHAR(0), 'b'))").await;
    let run = ferry(&[
        "copy",
        "--source",
        &my.expose(),
        "--target",
        &pg.expose(),
        "--quiet",
    ]);
    assert_one_line_error(&run, &["s", "column t", "id=2", "NUL"]);
    let mapping = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        mapping.path(),
        "[[column]]\ntable = \"s\"\ncolumn = \"t\"\nconversion = \"strip_nul\"\n",
    )
    .unwrap();
    let run = ferry(&[
        "copy",
        "--source",
        &my.expose(),
        "--target",
        &pg.expose(),
        "--quiet",
        "--if-exists",
        "truncate",
        "--mapping",
        mapping.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        pg_rows(&pg, "SELECT id, t FROM s ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some("ok".into())],
            vec![Some("2".into()), Some("ab".into())]
        ]
    );
}
