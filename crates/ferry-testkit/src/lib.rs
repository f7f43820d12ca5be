//! Throwaway PostgreSQL and MariaDB servers for tests, started from the
//! installed binaries on free loopback ports in temporary directories.
//!
//! One server per engine per test process, started on first use; every test
//! then gets its own freshly created database ([`pg_database`],
//! [`mysql_database`]). Set `FERRY_TEST_PG_URL` / `FERRY_TEST_MYSQL_URL` to an
//! account that may create databases to use existing servers instead.
//!
//! Servers are owned by a watchdog shell that stops them and removes their
//! directory when the test process exits, however it exits: statics are never
//! dropped in Rust, so a `Drop` guard would leak servers.
//!
//! The servers require a password over TCP (PostgreSQL scram, MariaDB
//! mysql_native_password), so tests exercise real authentication.

pub mod appsim;
mod server;
pub mod tls;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use ferry_core::DbUrl;

pub use server::{
    start_mariadb, start_mariadb_tls, start_mariadb_without_binlog, start_postgres,
    start_postgres_tls, Server,
};
pub use tls::TlsCerts;

/// The password of the test kit's administrative accounts.
pub const PASSWORD: &str = "ferry-test-pw";

static PG: OnceLock<Result<DbUrl, String>> = OnceLock::new();
static MYSQL: OnceLock<Result<DbUrl, String>> = OnceLock::new();
static TLS_CERTS: OnceLock<Result<TlsCerts, String>> = OnceLock::new();
static PG_TLS: OnceLock<Result<DbUrl, String>> = OnceLock::new();
static MYSQL_TLS: OnceLock<Result<DbUrl, String>> = OnceLock::new();

/// The test CA and server certificate, generated once per test process.
pub fn tls_certs() -> TlsCerts {
    TLS_CERTS
        .get_or_init(tls::generate)
        .clone()
        .unwrap_or_else(|e| panic!("test certificates: {e}"))
}

/// A second PostgreSQL server with TLS on, serving a certificate signed by
/// [`tls_certs`]' CA (always started here: an external server's
/// certificates are unknown). Administrative URL, database `postgres`.
pub fn pg_tls_admin_url() -> DbUrl {
    PG_TLS
        .get_or_init(|| start_postgres_tls(&tls_certs()).map(|s| s.leak_url()))
        .clone()
        .unwrap_or_else(|e| panic!("test PostgreSQL TLS server: {e}"))
}

/// A second MariaDB server with TLS, like [`pg_tls_admin_url`].
pub fn mysql_tls_admin_url() -> DbUrl {
    MYSQL_TLS
        .get_or_init(|| start_mariadb_tls(&tls_certs()).map(|s| s.leak_url()))
        .clone()
        .unwrap_or_else(|e| panic!("test MariaDB TLS server: {e}"))
}

/// The administrative URL of the test PostgreSQL server (database `postgres`).
pub fn pg_admin_url() -> DbUrl {
    PG.get_or_init(|| match std::env::var("FERRY_TEST_PG_URL") {
        Ok(u) => DbUrl::parse(&u).map_err(|e| e.to_string()),
        Err(_) => start_postgres(None).map(|s| s.leak_url()),
    })
    .clone()
    .unwrap_or_else(|e| panic!("test PostgreSQL server: {e}"))
}

/// The administrative URL of the test MariaDB/MySQL server (database `mysql`).
pub fn mysql_admin_url() -> DbUrl {
    MYSQL
        .get_or_init(|| match std::env::var("FERRY_TEST_MYSQL_URL") {
            Ok(u) => DbUrl::parse(&u).map_err(|e| e.to_string()),
            Err(_) => start_mariadb(None).map(|s| s.leak_url()),
        })
        .clone()
        .unwrap_or_else(|e| panic!("test MariaDB server: {e}"))
}

fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// A fresh, empty PostgreSQL database for one test.
pub async fn pg_database() -> DbUrl {
    let admin = tokio::task::spawn_blocking(pg_admin_url)
        .await
        .expect("pg server");
    let name = unique_name("ferry_t");
    pg_exec(
        &admin,
        &format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"),
    )
    .await;
    admin.with_database(&name)
}

/// A fresh, empty MariaDB/MySQL database for one test.
pub async fn mysql_database() -> DbUrl {
    let admin = tokio::task::spawn_blocking(mysql_admin_url)
        .await
        .expect("mysql server");
    let name = unique_name("ferry_t");
    mysql_exec(
        &admin,
        &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
    )
    .await;
    admin.with_database(&name)
}

/// Connects to PostgreSQL; panics with the (redacted) URL on failure.
pub async fn pg_client(url: &DbUrl) -> tokio_postgres::Client {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&url.host)
        .port(url.port)
        .user(&url.user)
        .dbname(&url.database);
    if let Some(p) = url.password() {
        cfg.password(p);
    }
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Runs one or more statements on PostgreSQL; panics on error.
pub async fn pg_exec(url: &DbUrl, sql: &str) {
    let client = pg_client(url).await;
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
}

/// Rows of a query as PostgreSQL itself renders them in text (`NULL` → `None`).
/// This is the server's own output, independent of ferry's decoders.
pub async fn pg_rows(url: &DbUrl, sql: &str) -> Vec<Vec<Option<String>>> {
    let client = pg_client(url).await;
    client
        .batch_execute(
            "SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET IntervalStyle = 'postgres'",
        )
        .await
        .expect("session settings");
    let msgs = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    msgs.into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// Connects to MariaDB/MySQL; panics with the (redacted) URL on failure.
pub async fn mysql_conn(url: &DbUrl) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(url.host.clone())
        .tcp_port(url.port)
        .user(Some(url.user.clone()))
        .pass(url.password().map(str::to_string))
        .db_name(Some(url.database.clone()))
        .init(vec![
            "SET NAMES utf8mb4".to_string(),
            "SET time_zone = '+00:00'".to_string(),
        ]);
    mysql_async::Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// Runs statements on MariaDB/MySQL (one per `;`-free call, or several
/// separated by `;` — the client allows multi-statements); panics on error.
pub async fn mysql_exec(url: &DbUrl, sql: &str) {
    use mysql_async::prelude::Queryable;
    let mut conn = mysql_conn(url).await;
    conn.query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let _ = conn.disconnect().await;
}

/// Rows of a query as the server renders them in its text protocol
/// (`NULL` → `None`): the server's own output, independent of ferry's decoders.
/// Bytes that are not UTF-8 are shown as `\xNN`; select `HEX(col)` for binary.
pub async fn mysql_rows(url: &DbUrl, sql: &str) -> Vec<Vec<Option<String>>> {
    use mysql_async::prelude::Queryable;
    let mut conn = mysql_conn(url).await;
    let rows: Vec<mysql_async::Row> = conn
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let _ = conn.disconnect().await;
    rows.into_iter()
        .map(|r| {
            r.unwrap()
                .into_iter()
                .map(|v| match v {
                    mysql_async::Value::NULL => None,
                    mysql_async::Value::Bytes(b) => Some(match String::from_utf8(b) {
                        Ok(s) => s,
                        Err(e) => e
                            .into_bytes()
                            .iter()
                            .map(|b| format!("\\x{b:02x}"))
                            .collect(),
                    }),
                    other => Some(other.as_sql(true)),
                })
                .collect()
        })
        .collect()
}

/// Rows of a query on either engine, as the server renders them.
pub async fn rows(url: &DbUrl, sql: &str) -> Vec<Vec<Option<String>>> {
    match url.engine {
        ferry_core::Engine::Postgres => pg_rows(url, sql).await,
        ferry_core::Engine::MySql => mysql_rows(url, sql).await,
    }
}

/// Runs statements on either engine; panics on error.
pub async fn exec(url: &DbUrl, sql: &str) {
    match url.engine {
        ferry_core::Engine::Postgres => pg_exec(url, sql).await,
        ferry_core::Engine::MySql => mysql_exec(url, sql).await,
    }
}

/// An application account on the database of `admin` (an administrator's
/// URL): may read and write every table there (PostgreSQL: of `public`,
/// and use its sequences), nothing else. Returns the account's URL.
/// Roles and users are server-wide: give each test its own name.
pub async fn app_account(admin: &DbUrl, name: &str) -> DbUrl {
    let pw = "app-pw";
    match admin.engine {
        ferry_core::Engine::Postgres => {
            pg_exec(
                admin,
                &format!(
                    "DO $$ BEGIN CREATE ROLE \"{name}\"; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
                     ALTER ROLE \"{name}\" LOGIN PASSWORD '{pw}';
                     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{name}\";
                     GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"{name}\";"
                ),
            )
            .await
        }
        ferry_core::Engine::MySql => {
            mysql_exec(
                admin,
                &format!(
                    "CREATE USER IF NOT EXISTS '{name}'@'%' IDENTIFIED BY '{pw}';
                     GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.* TO '{name}'@'%'",
                    db = admin.database
                ),
            )
            .await
        }
    }
    let scheme = match admin.engine {
        ferry_core::Engine::Postgres => "postgres",
        ferry_core::Engine::MySql => "mysql",
    };
    DbUrl::parse(&format!(
        "{scheme}://{name}:{pw}@{}:{}/{}",
        admin.host, admin.port, admin.database
    ))
    .expect("app url")
}
