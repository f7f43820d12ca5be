//! Throwaway PostgreSQL and MariaDB servers for tests, started from the
//! installed binaries on free loopback ports in temporary directories, and
//! fresh SQLite files (no server: a path in a directory kept for the test
//! process, read and written by the system `sqlite3` CLI so that a check
//! never goes through ferry's own SQLite reader).
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
    start_mariadb, start_mariadb_args, start_mariadb_tls, start_mariadb_without_binlog,
    start_postgres, start_postgres_tls, Server,
};
pub use tls::TlsCerts;

/// The password of the test kit's administrative accounts.
pub const PASSWORD: &str = "ferry-test-pw";

static PG: OnceLock<Result<DbUrl, String>> = OnceLock::new();
static MYSQL: OnceLock<Result<DbUrl, String>> = OnceLock::new();
static TLS_CERTS: OnceLock<Result<TlsCerts, String>> = OnceLock::new();
static PG_TLS: OnceLock<Result<DbUrl, String>> = OnceLock::new();
static MYSQL_TLS: OnceLock<Result<DbUrl, String>> = OnceLock::new();
static MYSQL_NO_INFILE: OnceLock<Result<DbUrl, String>> = OnceLock::new();

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

/// A MariaDB server of its own with `local_infile` OFF (MySQL 8's default
/// and many managed services'): `local_infile` is global, so a test that
/// needs it off must not share the server other tests load into.
/// Administrative URL, database `mysql`.
pub fn mysql_no_local_infile_admin_url() -> DbUrl {
    MYSQL_NO_INFILE
        .get_or_init(|| start_mariadb_args(&["--local-infile=0"]).map(|s| s.leak_url()))
        .clone()
        .unwrap_or_else(|e| panic!("test MariaDB server without local_infile: {e}"))
}

/// A fresh database on [`mysql_no_local_infile_admin_url`]'s server.
pub async fn mysql_no_local_infile_database() -> DbUrl {
    let admin = tokio::task::spawn_blocking(mysql_no_local_infile_admin_url)
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

static SQLITE_DIR: OnceLock<std::path::PathBuf> = OnceLock::new();

/// A fresh SQLite database for one test: the URL of a file that does not
/// exist yet, in a directory removed when the test process exits.
pub async fn sqlite_database() -> DbUrl {
    let dir = SQLITE_DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("ferry-sqlite-")
            .tempdir()
            .map(tempfile::TempDir::keep)
            .map(remove_when_this_process_exits)
            .unwrap_or_else(|e| panic!("SQLite test directory: {e}"))
    });
    let path = dir.join(format!("{}.db", unique_name("t")));
    DbUrl::parse(&format!("sqlite://{}", path.display()))
        .unwrap_or_else(|e| panic!("SQLite test URL: {e}"))
}

/// A static is never dropped, so a `TempDir` in one would outlive every test
/// run; a small shell (as the servers' watchdog does) removes the directory
/// once this process is gone, however it ended.
fn remove_when_this_process_exits(dir: std::path::PathBuf) -> std::path::PathBuf {
    use std::process::{Command, Stdio};
    Command::new("sh")
        .arg("-c")
        .arg(r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; rm -rf "$2""#)
        .arg("sh")
        .arg(std::process::id().to_string())
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        // It outlives this process by design, so nothing here waits for it.
        .map(drop)
        .unwrap_or_else(|e| panic!("SQLite test directory watcher: {e}"));
    dir
}

/// The file of a `sqlite://` URL.
pub fn sqlite_path(url: &DbUrl) -> std::path::PathBuf {
    url.file_path()
        .unwrap_or_else(|| panic!("{url} is not a SQLite URL"))
}

fn sqlite3(url: &DbUrl, args: &[&str], sql: &str) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("sqlite3")
        .arg("-batch")
        .arg("-bail")
        .args(args)
        .arg(sqlite_path(url))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("sqlite3 CLI (install it with apt-get install sqlite3): {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("write to sqlite3");
    let out = child.wait_with_output().expect("sqlite3 output");
    if !out.status.success() {
        panic!(
            "sqlite3 {}: {}\n{sql}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs statements on a SQLite file (created when missing) with the
/// system `sqlite3` CLI; panics on error.
pub fn sqlite3_exec(url: &DbUrl, sql: &str) {
    sqlite3(url, &[], sql);
}

/// Rows of a query as the `sqlite3` CLI renders them (`NULL` → `None`):
/// the CLI's own output, independent of ferry's reader. Select `quote(c)`
/// or `hex(c)` for storage classes and bytes.
pub fn sqlite3_rows(url: &DbUrl, sql: &str) -> Vec<Vec<Option<String>>> {
    const COL: char = '\u{1f}';
    const ROW: char = '\u{1e}';
    const NULL: &str = "\u{18}NULL";
    let out = sqlite3(
        url,
        &[
            "-noheader",
            "-list",
            "-separator",
            &COL.to_string(),
            "-newline",
            &ROW.to_string(),
            "-nullvalue",
            NULL,
        ],
        sql,
    );
    out.split(ROW)
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split(COL)
                .map(|v| (v != NULL).then(|| v.to_string()))
                .collect()
        })
        .collect()
}

/// Rows of a query read with SQLite's own library (rusqlite's bundled
/// SQLite, not ferry's reader), for values the CLI cannot print exactly:
/// REALs as their shortest text that reads back as the same double, BLOBs
/// as lower-case hex, NULL as `None`.
pub fn sqlite_rows(url: &DbUrl, sql: &str) -> Vec<Vec<Option<String>>> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open_with_flags(
        sqlite_path(url),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap_or_else(|e| panic!("open {url}: {e}"));
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    let mut rows = stmt.query([]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap_or_else(|e| panic!("{sql}: {e}")) {
        out.push(
            (0..n)
                .map(|i| match row.get_ref(i).expect("column") {
                    ValueRef::Null => None,
                    ValueRef::Integer(v) => Some(v.to_string()),
                    ValueRef::Real(v) => Some(format!("{v:?}")),
                    ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Some(b.iter().map(|x| format!("{x:02x}")).collect()),
                })
                .collect(),
        );
    }
    out
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

/// The administrative URL of a SQL Server for tests, from
/// `FERRY_TEST_MSSQL_URL` (an account that may create databases). No SQL
/// Server can be started from installed binaries here, so without the
/// variable the live SQL Server tests do not run: they are compiled as
/// ignored (see `mssql_live` in the build scripts) and the run counts them.
pub fn mssql_admin_url() -> Option<DbUrl> {
    let raw = std::env::var("FERRY_TEST_MSSQL_URL").ok()?;
    Some(DbUrl::parse(&raw).unwrap_or_else(|e| panic!("FERRY_TEST_MSSQL_URL: {e}")))
}

/// A fresh, empty SQL Server database for one test, with snapshot
/// isolation allowed. Panics when `FERRY_TEST_MSSQL_URL` is not set: live
/// tests are compiled as ignored then.
pub async fn mssql_database() -> DbUrl {
    let admin = mssql_admin_url()
        .expect("FERRY_TEST_MSSQL_URL is not set (live SQL Server tests should be ignored)");
    let name = unique_name("ferry_t");
    mssql_exec(
        &admin,
        &format!(
            "CREATE DATABASE [{name}]; ALTER DATABASE [{name}] SET ALLOW_SNAPSHOT_ISOLATION ON"
        ),
    )
    .await;
    admin.with_database(&name)
}

/// Connects to SQL Server (TLS when offered, certificate not verified, as
/// ferry's default); panics with the (redacted) URL on failure.
pub async fn mssql_client(
    url: &DbUrl,
) -> tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>> {
    use tokio_util::compat::TokioAsyncWriteCompatExt;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cfg = tiberius::Config::new();
    cfg.host(&url.host);
    cfg.port(url.port);
    cfg.database(&url.database);
    cfg.authentication(tiberius::AuthMethod::sql_server(
        &url.user,
        url.password().unwrap_or(""),
    ));
    cfg.encryption(tiberius::EncryptionLevel::On);
    cfg.trust_cert();
    cfg.command_timeout(None);
    let tcp = tokio::net::TcpStream::connect(cfg.get_addr())
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    tiberius::Client::connect(cfg, tcp.compat_write())
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// Runs a batch on SQL Server; panics on error.
pub async fn mssql_exec(url: &DbUrl, sql: &str) {
    let mut c = mssql_client(url).await;
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_results()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let _ = c.close().await;
}

/// Rows of a query, each value as text: select `CONVERT(nvarchar(…), c,
/// style)` to compare what the server itself renders. Strings come as
/// they are, integers as digits, NULL as `None`.
pub async fn mssql_rows(url: &DbUrl, sql: &str) -> Vec<Vec<Option<String>>> {
    use tiberius::ColumnData as C;
    let mut c = mssql_client(url).await;
    let rows = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let _ = c.close().await;
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| match v {
                    C::String(s) => s.map(|s| s.into_owned()),
                    C::U8(x) => x.map(|x| x.to_string()),
                    C::I16(x) => x.map(|x| x.to_string()),
                    C::I32(x) => x.map(|x| x.to_string()),
                    C::I64(x) => x.map(|x| x.to_string()),
                    C::Bit(x) => x.map(|x| u8::from(x).to_string()),
                    other => Some(format!("{other:?} (select it as nvarchar)")),
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
        ferry_core::Engine::Mssql => mssql_rows(url, sql).await,
        ferry_core::Engine::Sqlite => sqlite_rows(url, sql),
    }
}

/// Runs statements on either engine; panics on error.
pub async fn exec(url: &DbUrl, sql: &str) {
    match url.engine {
        ferry_core::Engine::Postgres => pg_exec(url, sql).await,
        ferry_core::Engine::MySql => mysql_exec(url, sql).await,
        ferry_core::Engine::Mssql => mssql_exec(url, sql).await,
        ferry_core::Engine::Sqlite => sqlite3_exec(url, sql),
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
        ferry_core::Engine::Mssql => {
            mssql_exec(
                admin,
                &format!(
                    "IF SUSER_ID(N'{name}') IS NULL CREATE LOGIN [{name}] WITH PASSWORD = N'{pw}', \
                     CHECK_POLICY = OFF; \
                     IF USER_ID(N'{name}') IS NULL CREATE USER [{name}] FOR LOGIN [{name}]; \
                     GRANT SELECT, INSERT, UPDATE, DELETE ON SCHEMA::dbo TO [{name}];"
                ),
            )
            .await
        }
        ferry_core::Engine::Sqlite => panic!("a SQLite file has no accounts"),
    }
    let scheme = match admin.engine {
        ferry_core::Engine::Postgres => "postgres",
        ferry_core::Engine::MySql => "mysql",
        ferry_core::Engine::Mssql => "mssql",
        ferry_core::Engine::Sqlite => unreachable!("refused above"),
    };
    DbUrl::parse(&format!(
        "{scheme}://{name}:{pw}@{}:{}/{}",
        admin.host, admin.port, admin.database
    ))
    .expect("app url")
}
