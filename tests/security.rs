//! Security: TLS on both engines against servers with a CA made at test
//! time, passwords that never reach any output, and a read-only source.

use ferry_core::DbUrl;
use ferry_testkit::{
    mysql_database, mysql_exec, mysql_rows, mysql_tls_admin_url, pg_database, pg_exec, pg_rows,
    pg_tls_admin_url, tls_certs,
};

use crate::util::{ferry, ferry_env, Run};

/// A fresh database on the TLS-enabled servers.
async fn tls_databases() -> (DbUrl, DbUrl) {
    let pg_admin = tokio::task::spawn_blocking(pg_tls_admin_url).await.unwrap();
    let my_admin = tokio::task::spawn_blocking(mysql_tls_admin_url)
        .await
        .unwrap();
    let name = format!("ferry_tls_{}_{}", std::process::id(), rand_suffix());
    pg_exec(&pg_admin, &format!("CREATE DATABASE \"{name}\"")).await;
    mysql_exec(&my_admin, &format!("CREATE DATABASE `{name}`")).await;
    (pg_admin.with_database(&name), my_admin.with_database(&name))
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed) * 1000
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_micros()
            % 1000
}

fn with_params(url: &DbUrl, params: &[(&str, &str)]) -> String {
    let mut u = url.clone();
    for (k, v) in params {
        u.set_param(k, v).unwrap();
    }
    u.expose()
}

fn one_error_line(run: &Run) -> String {
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line: {}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", run.stderr);
    lines[0].to_string()
}

#[tokio::test]
async fn tls_copy_and_verify_with_require_and_full_verification() {
    let (pg, my) = tls_databases().await;
    let certs = tls_certs();
    let ca = certs.ca_cert.to_str().unwrap();
    pg_exec(
        &pg,
        "CREATE TABLE t (id int PRIMARY KEY, note text); \
         INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 500) g",
    )
    .await;
    // PG → MySQL: source verify-full, target VERIFY_IDENTITY.
    let src = with_params(&pg, &[("sslmode", "verify-full"), ("sslrootcert", ca)]);
    let dst = with_params(&my, &[("ssl-mode", "VERIFY_IDENTITY"), ("ssl-ca", ca)]);
    let run = ferry(&["copy", "--source", &src, "--target", &dst, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*) FROM t").await[0][0].as_deref(),
        Some("500")
    );
    // Verify over TLS without certificate checks (require / REQUIRED).
    let src = with_params(&pg, &[("sslmode", "require")]);
    let dst = with_params(&my, &[("ssl-mode", "REQUIRED")]);
    let run = ferry(&["verify", "--source", &src, "--target", &dst]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    // And back MySQL → PG with verify-ca / VERIFY_CA into a second table name.
    let pg2 = pg.clone();
    pg_exec(&pg2, "CREATE SCHEMA back").await;
    let src = with_params(&my, &[("ssl-mode", "VERIFY_CA"), ("ssl-ca", ca)]);
    let dst = with_params(&pg2, &[("sslmode", "verify-ca"), ("sslrootcert", ca)]);
    let run = ferry(&[
        "copy",
        "--source",
        &src,
        "--target",
        &dst,
        "--target-schema",
        "back",
        "--quiet",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        pg_rows(&pg2, "SELECT COUNT(*), MAX(note) FROM back.t").await[0],
        vec![Some("500".into()), Some("row 99".into())]
    );
}

#[tokio::test]
async fn tls_verification_against_the_wrong_ca_fails_in_one_line() {
    let (pg, my) = tls_databases().await;
    let certs = tls_certs();
    let other = certs.other_ca_cert.to_str().unwrap();
    pg_exec(&pg, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let plain_pg = pg_database().await.expose();

    let src = with_params(&pg, &[("sslmode", "verify-full"), ("sslrootcert", other)]);
    let run = ferry(&["copy", "--source", &src, "--target", &plain_pg]);
    let line = one_error_line(&run);
    assert!(line.contains("cannot connect to postgres://"), "{line}");
    assert!(line.to_lowercase().contains("certificate"), "{line}");

    let dst = with_params(&my, &[("ssl-mode", "VERIFY_IDENTITY"), ("ssl-ca", other)]);
    let run = ferry(&["copy", "--source", &pg.expose(), "--target", &dst]);
    let line = one_error_line(&run);
    assert!(line.contains("cannot connect to mysql://"), "{line}");
    assert!(line.to_lowercase().contains("certificate"), "{line}");
    // Nothing reached the target.
    assert!(mysql_rows(&my, "SHOW TABLES").await.is_empty());

    // A certificate failure is definite: retrying cannot fix it.
    for url in [src, dst] {
        let url = DbUrl::parse(&url).unwrap();
        let err = ferry_engine::Adapter::new(url)
            .list_tables(None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ferry_core::ErrorKind::Definite, "{err}");
    }
}

#[tokio::test]
async fn tls_required_against_a_server_without_tls_fails() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    pg_exec(&pg, "CREATE TABLE t (id int PRIMARY KEY)").await;
    let src = with_params(&pg, &[("sslmode", "require")]);
    let run = ferry(&["copy", "--source", &src, "--target", &my.expose()]);
    let line = one_error_line(&run);
    assert!(line.contains("cannot connect to postgres://"), "{line}");
    let dst = with_params(&my, &[("ssl-mode", "REQUIRED")]);
    let run = ferry(&["copy", "--source", &pg.expose(), "--target", &dst]);
    let line = one_error_line(&run);
    assert!(line.contains("cannot connect to mysql://"), "{line}");
    // The default (prefer) falls back to plain text on these servers.
    let run = ferry(&[
        "copy",
        "--source",
        &pg.expose(),
        "--target",
        &my.expose(),
        "--quiet",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

/// A password with URL-special characters that appears nowhere else.
const DISTINCT_PW: &str = "Qz7:p@ss/w0rd#ferry%leak";
const DISTINCT_PW_URL: &str = "Qz7%3Ap%40ss%2Fw0rd%23ferry%25leak";

fn assert_no_password(run: &Run, what: &str) {
    for needle in [DISTINCT_PW, DISTINCT_PW_URL, "Qz7", "w0rd#ferry"] {
        assert!(
            !run.stdout.contains(needle) && !run.stderr.contains(needle),
            "{what}: password fragment {needle:?} in output:\n{}",
            run.all_output()
        );
    }
}

#[tokio::test]
async fn passwords_never_appear_in_any_output() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    let role = format!("leak_{}", pg.database.to_ascii_lowercase());
    pg_exec(
        &pg,
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{DISTINCT_PW}'; \
             GRANT ALL ON SCHEMA public TO {role}; \
             CREATE TABLE t (id int PRIMARY KEY, v numeric(10,2)); \
             INSERT INTO t SELECT g, g / 7.0 FROM generate_series(1, 3000) g; \
             GRANT SELECT ON t TO {role}"
        ),
    )
    .await;
    let my_user = format!("leak{}", rand_suffix());
    mysql_exec(
        &my,
        &format!(
            "CREATE USER '{my_user}'@'%' IDENTIFIED BY '{DISTINCT_PW}'; \
             GRANT ALL ON `{}`.* TO '{my_user}'@'%'",
            my.database
        ),
    )
    .await;
    let pg_in_url = format!(
        "postgres://{role}:{DISTINCT_PW_URL}@{}:{}/{}",
        pg.host, pg.port, pg.database
    );
    let pg_no_pw = format!("postgres://{role}@{}:{}/{}", pg.host, pg.port, pg.database);
    let my_in_url = format!(
        "mysql://{my_user}:{DISTINCT_PW_URL}@{}:{}/{}",
        my.host, my.port, my.database
    );
    let my_no_pw = format!("mysql://{my_user}@{}:{}/{}", my.host, my.port, my.database);
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("target.pw");
    std::fs::write(&pw_file, format!("{DISTINCT_PW}\n")).unwrap();
    let pw_file = pw_file.to_str().unwrap();

    // Password in the URL, JSON summary, progress on (not quiet).
    let run = ferry(&[
        "copy", "--source", &pg_in_url, "--target", &my_in_url, "--format", "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_no_password(&run, "copy json");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(doc["source"].as_str().unwrap().contains(":***@"), "{doc}");

    // Source from the environment, target from a password file; text output.
    let run = ferry_env(
        &[
            "verify",
            "--source",
            &pg_no_pw,
            "--target",
            &my_no_pw,
            "--target-password-file",
            pw_file,
        ],
        &[("FERRY_SOURCE_PASSWORD", DISTINCT_PW)],
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_no_password(&run, "verify text");
    let run = ferry_env(
        &[
            "verify", "--source", &pg_no_pw, "--target", &my_in_url, "--format", "json",
        ],
        &[("PGPASSWORD", DISTINCT_PW)],
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_no_password(&run, "verify json");
    let run = ferry(&["plan", "--source", &pg_in_url, "--target", &my_in_url]);
    assert_no_password(&run, "plan");

    // Failing runs: the table exists now; a wrong password; a bad parameter.
    let run = ferry_env(
        &["copy", "--source", &pg_in_url, "--target", &my_no_pw],
        &[("MYSQL_PWD", DISTINCT_PW)],
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert_no_password(&run, "copy into an existing table");
    let wrong = format!("{}x", DISTINCT_PW_URL);
    let run = ferry(&[
        "copy",
        "--source",
        &pg_in_url.replace(DISTINCT_PW_URL, &wrong),
        "--target",
        &my_in_url,
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert_no_password(&run, "wrong password");
    let run = ferry(&[
        "copy",
        "--source",
        &format!("{pg_in_url}?sslmode=bogus"),
        "--target",
        &my_in_url,
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert_no_password(&run, "bad sslmode");
    let run = ferry(&[
        "copy",
        "--source",
        &pg_in_url,
        "--target",
        &my_in_url,
        "--target-password-file",
        pw_file,
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("password file"), "{}", run.stderr);
    assert_no_password(&run, "password twice");
}

#[tokio::test]
async fn read_only_source_users_can_copy_and_verify() {
    let pg = pg_database().await;
    let my = mysql_database().await;
    let role = format!("ro_{}", pg.database.to_ascii_lowercase());
    pg_exec(
        &pg,
        &format!(
            "CREATE TABLE t (id int PRIMARY KEY, v text); \
             INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g; \
             CREATE ROLE {role} LOGIN PASSWORD 'ro-pw'; \
             GRANT CONNECT ON DATABASE \"{}\" TO {role}; \
             GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}; \
             ALTER ROLE {role} SET default_transaction_read_only = on",
            pg.database
        ),
    )
    .await;
    let pg_ro = format!(
        "postgres://{role}:ro-pw@{}:{}/{}",
        pg.host, pg.port, pg.database
    );
    let run = ferry(&[
        "copy",
        "--source",
        &pg_ro,
        "--target",
        &my.expose(),
        "--quiet",
        "--workers",
        "3",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let run = ferry(&["verify", "--source", &pg_ro, "--target", &my.expose()]);
    assert_eq!(run.code, 0, "{}", run.all_output());

    // MariaDB: SELECT only, on this database only.
    let user = format!("ro{}", rand_suffix());
    mysql_exec(
        &my,
        &format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY 'ro-pw'; \
             GRANT SELECT ON `{}`.* TO '{user}'@'%'",
            my.database
        ),
    )
    .await;
    let my_ro = format!(
        "mysql://{user}:ro-pw@{}:{}/{}",
        my.host, my.port, my.database
    );
    let back = pg_database().await;
    let run = ferry(&[
        "copy",
        "--source",
        &my_ro,
        "--target",
        &back.expose(),
        "--quiet",
        "--workers",
        "3",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let run = ferry(&["verify", "--source", &my_ro, "--target", &back.expose()]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        pg_rows(&back, "SELECT COUNT(*) FROM t").await[0][0].as_deref(),
        Some("20000")
    );
}
