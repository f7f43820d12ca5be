//! `--job job.toml`: one file a DBA keeps in git drives `copy`, `plan` and
//! `verify` alike, with include/exclude globs and per-table options, and
//! flags override it.

use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::ferry;

fn write_job(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("job.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn mysql_tables(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    let mut names: Vec<String> = rows.into_iter().filter_map(|r| r[0].clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_job_file_selects_by_glob_excludes_renames_filters_and_verifies() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE sales_2023 (id int PRIMARY KEY, amount numeric(10,2)); \
         CREATE TABLE sales_2024 (id int PRIMARY KEY, amount numeric(10,2), region text); \
         CREATE TABLE audit_log (id int PRIMARY KEY); \
         CREATE TABLE tmp_scratch (id int PRIMARY KEY); \
         CREATE TABLE customers (id int PRIMARY KEY, name text); \
         INSERT INTO sales_2023 SELECT g, g * 1.5 FROM generate_series(1, 300) g; \
         INSERT INTO sales_2024 SELECT g, g * 2.5, CASE WHEN g % 3 = 0 THEN 'eu' ELSE 'us' END \
           FROM generate_series(1, 900) g; \
         INSERT INTO audit_log VALUES (1); INSERT INTO customers VALUES (1, 'a'), (2, 'b')",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let job = write_job(
        &dir,
        &format!(
            r#"
source = "{}"
target = "{}"
tables = ["sales_*", "customers", "audit_*", "tmp_*"]
exclude = ["audit_*", "tmp_*"]

[copy]
if_exists = "fail"
workers = 2

[[table]]
name = "sales_2024"
where = "region = 'eu'"
split = true

[[table]]
name = "customers"
target = "clients"

[[table.column]]
name = "name"
target_type = "varchar(200)"
"#,
            pg.expose(),
            my.expose()
        ),
    );

    let plan = ferry(&["plan", "--job", &job]);
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    assert!(
        plan.stdout.contains("table public.customers → clients"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("audit_log"), "{}", plan.stdout);

    let run = ferry(&["copy", "--job", &job, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        mysql_tables(
            mysql_rows(
                &my,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
            )
            .await
        ),
        ["clients", "sales_2023", "sales_2024"]
    );
    // The filter: only the EU rows of 2024 travelled.
    assert_eq!(
        mysql_rows(&my, "SELECT count(*), sum(id) FROM sales_2024").await,
        pg_rows(
            &pg,
            "SELECT count(*), sum(id) FROM sales_2024 WHERE region = 'eu'"
        )
        .await
    );
    assert_eq!(
        mysql_rows(&my, "SELECT count(*) FROM sales_2023").await,
        vec![vec![Some("300".into())]]
    );
    // The per-table column override decided the target type.
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT column_type FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'clients' AND column_name = 'name'"
        )
        .await,
        vec![vec![Some("varchar(200)".into())]]
    );

    // verify takes the same file: filtered rows are not expected, renamed tables are found.
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
    assert!(
        verify.stdout.contains("3 tables equal"),
        "{}",
        verify.stdout
    );

    // A planted difference in a filtered table is still found.
    mysql_exec(&my, "UPDATE sales_2024 SET amount = 0 WHERE id = 3").await;
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 1, "{}", verify.all_output());
    assert!(verify.stdout.contains("id=3"), "{}", verify.stdout);

    // Flags override the file: --tables narrows it to one table.
    let verify = ferry(&["verify", "--job", &job, "--tables", "sales_2023"]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
    assert!(
        verify.stdout.contains("1 tables equal"),
        "{}",
        verify.stdout
    );
}

#[tokio::test]
async fn a_bad_job_file_names_its_line_and_writes_nothing() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let dir = tempfile::tempdir().unwrap();
    let job = write_job(
        &dir,
        &format!(
            "source = \"{}\"\ntarget = \"{}\"\n\n[copy]\nworkerz = 2\n",
            pg.expose(),
            my.expose()
        ),
    );
    let run = ferry(&["copy", "--job", &job]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("job.toml") && line.contains("line 5"),
        "{line}"
    );
    assert!(mysql_rows(
        &my,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
    )
    .await
    .is_empty());
}

#[tokio::test]
async fn globs_that_match_nothing_and_options_for_untaken_tables_are_refused() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--tables",
        "nothing_*",
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("no source table matches nothing_*"),
        "{}",
        run.stderr
    );

    let run = ferry(&["copy", "--source", &s, "--target", &t, "--exclude", "*"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("every selected table is excluded"),
        "{}",
        run.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let job = write_job(&dir, "[[table]]\nname = \"other\"\nwhere = \"true\"\n");
    // `other` does not exist in the source: a typo, refused.
    let run = ferry(&["copy", "--job", &job, "--source", &s, "--target", &t]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("table other"), "{}", run.stderr);
    assert!(mysql_rows(
        &my,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
    )
    .await
    .is_empty());
}
