//! The MySQL / MariaDB adapter: catalog introspection, a streamed
//! binary-protocol reader and a `LOAD DATA LOCAL INFILE` writer.
//!
//! Every call opens its own connection from the [`DbUrl`] (see
//! [`ferry_core::adapter`]). Connections are configured field by field: the
//! URL string itself never reaches the driver, whose parse errors may echo it
//! (password included). Each session is pinned to `utf8mb4` and UTC so text
//! and `TIMESTAMP` values cross the wire unchanged.
//!
//! TLS follows the URL's `ssl-mode` (MySQL's names; libpq's `sslmode` names
//! work too) with rustls: PREFERRED (the default, as in the `mysql` client)
//! tries TLS without verifying and falls back to plain when the server has
//! none; REQUIRED insists (and verifies when `ssl-ca` is given); VERIFY_CA
//! and VERIFY_IDENTITY check the certificate against `ssl-ca`. The URL's
//! `lock_timeout` and `statement_timeout` become session settings.
//!
//! Files, one per concern: [`catalog`] (information_schema → `RawTable`),
//! [`decode`] (driver values → Arrow), [`source`] (the reader), [`encode`]
//! (Arrow → LOAD DATA text), [`sink`] (DDL, prepare, the loader), [`error`]
//! (driver error classification).

pub mod apply;
pub mod catalog;
pub mod cutover;
pub mod decode;
pub mod dialect;
pub mod encode;
pub mod error;
mod objects;
pub mod partition;
mod prove;
mod schema;
pub mod sink;
pub mod snapshot;
pub mod source;

use std::sync::{Arc, OnceLock};

use ferry_core::throttle::RowThrottle;
use ferry_core::{DbUrl, Error, ErrorKind, Result, TablePlan, TableRef, TlsMode};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};

pub use dialect::MySqlDialect;
pub use sink::MySqlTableWriter;
pub use snapshot::MySqlSnapshot;

/// Which server family a connection reached. They differ in JSON (MariaDB:
/// `LONGTEXT` + `json_valid` check), binary collations and catalog columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MariaDb,
    MySql,
}

impl Flavor {
    /// Decides from the server's `VERSION()` string (`10.11.6-MariaDB-…`).
    pub fn from_version(version: &str) -> Flavor {
        if version.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }

    /// A binary, NO PAD utf8mb4 collation. Binary so that values distinct in
    /// PostgreSQL (`'abc'`/`'ABC'`, `'resume'`/`'résumé'`) stay distinct under
    /// a unique key; NO PAD so that `'a'` and `'a '` do too (PAD SPACE
    /// collations such as `utf8mb4_bin` compare them equal).
    pub fn binary_collation(self) -> &'static str {
        match self {
            Flavor::MariaDb => "utf8mb4_nopad_bin",
            Flavor::MySql => "utf8mb4_0900_bin",
        }
    }
}

/// Whether a connection error came from the TLS layer (a certificate the CA
/// does not vouch for, a name mismatch): retrying cannot help.
fn is_tls_failure(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(mysql_async::IoError::Tls(_)) => true,
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>()),
        _ => false,
    }
}

/// Session statements every connection runs first.
const SESSION_INIT: [&str; 2] = ["SET NAMES utf8mb4", "SET time_zone = '+00:00'"];

/// [`SESSION_INIT`] plus the URL's `lock_timeout` (metadata and row locks,
/// whole seconds, at least 1).
fn session_init(url: &DbUrl) -> Vec<String> {
    let mut init: Vec<String> = SESSION_INIT.iter().map(|s| s.to_string()).collect();
    if let Some(d) = url.duration_param("lock_timeout") {
        let secs = d.as_secs().max(1);
        init.push(format!("SET SESSION lock_wait_timeout = {secs}"));
        init.push(format!("SET SESSION innodb_lock_wait_timeout = {secs}"));
    }
    init
}

/// The driver's TLS options for a mode; `None` for plain TCP.
fn ssl_opts(url: &DbUrl, mode: TlsMode) -> Result<Option<SslOpts>> {
    let ca = url.tls_root_cert();
    let mode = if mode == TlsMode::Require && ca.is_some() {
        TlsMode::VerifyCa
    } else {
        mode
    };
    Ok(match mode {
        TlsMode::Disable => None,
        TlsMode::Prefer | TlsMode::Require => {
            Some(SslOpts::default().with_danger_accept_invalid_certs(true))
        }
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            let ca = ca.ok_or_else(|| Error::Connect {
                url: url.to_string(),
                kind: ErrorKind::Definite,
                source: "ssl-mode=VERIFY_CA and VERIFY_IDENTITY need the CA certificate: \
                         add ssl-ca=/path/to/ca.pem"
                    .into(),
            })?;
            if let Err(e) = std::fs::metadata(&ca) {
                return Err(Error::Connect {
                    url: url.to_string(),
                    kind: ErrorKind::Definite,
                    source: format!("cannot read CA file {}: {e}", ca.display()).into(),
                });
            }
            Some(
                SslOpts::default()
                    .with_root_certs(vec![ca.into()])
                    .with_disable_built_in_roots(true)
                    .with_danger_skip_domain_validation(mode == TlsMode::VerifyCa),
            )
        }
    })
}

/// The MySQL/MariaDB adapter. Holds the URL (each call opens what it
/// needs) and remembers the server family once a connection has seen it.
#[derive(Debug, Clone)]
pub struct MySqlAdapter {
    url: DbUrl,
    flavor: Arc<OnceLock<Flavor>>,
    throttle: Option<Arc<RowThrottle>>,
}

/// What MySQL/MariaDB can do: no snapshot shared across sessions without a
/// brief global read lock (`--lock-source`), no block ranges, the database as
/// the only namespace, ROW binlog for changes, concurrent writers.
pub const CAPABILITIES: ferry_core::Capabilities = ferry_core::Capabilities {
    shared_snapshot: false,
    lock_for_snapshot: true,
    snapshot_slot: false,
    block_ranges: false,
    change_stream: Some(ferry_core::ChangeStreamKind::RowBinlog),
    schemas: false,
    transactional_ddl: false,
    concurrent_writers: true,
};

impl ferry_core::adapter::Database for MySqlAdapter {
    fn capabilities(&self) -> ferry_core::Capabilities {
        CAPABILITIES
    }

    fn schema_of<'a>(&'a self, table: &'a TableRef) -> &'a str {
        MySqlAdapter::schema_of(self, table)
    }

    async fn ping(&self) -> Result<()> {
        disconnect(self.connect().await?).await;
        Ok(())
    }

    /// Spatial types are built in: nothing a mapping rule needs to ask for.
    async fn features(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        MySqlAdapter::text_rows(self, sql, what).await
    }

    async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        MySqlAdapter::execute_idempotent(self, statements, what).await
    }

    async fn column_collations(&self, plan: &TablePlan) -> Result<Vec<(String, Option<String>)>> {
        let mut conn = self.connect().await?;
        let out = partition::column_collations(self, &mut conn, plan).await;
        disconnect(conn).await;
        out
    }
}

impl MySqlAdapter {
    pub fn new(url: DbUrl) -> Self {
        let throttle = url
            .max_rows_per_second()
            .map(|n| Arc::new(RowThrottle::new(n)));
        MySqlAdapter {
            url,
            flavor: Arc::new(OnceLock::new()),
            throttle,
        }
    }

    /// The read-side row limit (`max_rows_per_second`), shared by every
    /// reader of this adapter and its clones.
    pub fn throttle(&self) -> Option<&Arc<RowThrottle>> {
        self.throttle.as_ref()
    }

    /// The server family if known without connecting: seen by an earlier
    /// connection, or given as the URL parameter `flavor=mysql|mariadb`.
    pub fn known_flavor(&self) -> Option<Flavor> {
        if let Some(f) = self.flavor.get() {
            return Some(*f);
        }
        match self
            .url
            .param("flavor")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("mysql") => Some(Flavor::MySql),
            Some("mariadb") => Some(Flavor::MariaDb),
            _ => None,
        }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// Opens a session on the URL's database, with `utf8mb4` and UTC.
    /// A `socket=/path` URL parameter selects a unix socket.
    pub async fn connect(&self) -> Result<Conn> {
        let url = &self.url;
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(url.host.clone())
            .tcp_port(url.port)
            .user(Some(url.user.clone()))
            .pass(url.password().map(str::to_string))
            .db_name(Some(url.database.clone()))
            .init(session_init(url))
            .prefer_socket(false)
            .stmt_cache_size(16);
        if let Some(socket) = url.param("socket") {
            opts = opts.socket(Some(socket.to_string()));
        }
        let mode = url.tls_mode();
        let ssl = ssl_opts(url, mode)?;
        let mut conn = match self.open(opts.clone().ssl_opts(ssl)).await {
            // PREFERRED: the server has no TLS, so go on in plain text.
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) if mode == TlsMode::Prefer => self.open(opts).await,
            other => other,
        }
        .map_err(|e| Error::Connect {
            url: url.to_string(),
            kind: match &e {
                mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
                    ErrorKind::Definite
                }
                e if is_tls_failure(e) => ErrorKind::Definite,
                e => error::classify(e),
            },
            source: Box::new(e),
        })?;
        if let Some(limit) = url.duration_param("statement_timeout") {
            // The two families name and scale this limit differently.
            let flavor = match self.flavor.get() {
                Some(f) => *f,
                None => {
                    let f = flavor(&mut conn).await?;
                    let _ = self.flavor.set(f);
                    f
                }
            };
            let sql = match flavor {
                Flavor::MariaDb => {
                    format!("SET SESSION max_statement_time = {}", limit.as_secs_f64())
                }
                // MySQL limits only read-only SELECTs, which is all a source runs.
                Flavor::MySql => format!("SET SESSION max_execution_time = {}", limit.as_millis()),
            };
            conn.query_drop(sql)
                .await
                .map_err(|e| error::query_error("setting the statement timeout", e))?;
        }
        Ok(conn)
    }

    /// One connection attempt, bounded by the URL's `connect_timeout`.
    async fn open(&self, opts: OptsBuilder) -> std::result::Result<Conn, mysql_async::Error> {
        let limit = self.url.connect_timeout();
        match tokio::time::timeout(limit, Conn::new(opts)).await {
            Ok(r) => r,
            Err(_) => Err(mysql_async::Error::Io(mysql_async::IoError::Io(
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {limit:?} (connect_timeout)"),
                ),
            ))),
        }
    }

    /// Opens a session and tells which server family it reached.
    pub async fn connect_with_flavor(&self) -> Result<(Conn, Flavor)> {
        let mut conn = self.connect().await?;
        let flavor = match self.flavor.get() {
            Some(f) => *f,
            None => {
                let f = flavor(&mut conn).await?;
                let _ = self.flavor.set(f);
                f
            }
        };
        Ok((conn, flavor))
    }

    /// Detects the server family of this URL's server.
    pub async fn flavor(&self) -> Result<Flavor> {
        let (conn, flavor) = self.connect_with_flavor().await?;
        disconnect(conn).await;
        Ok(flavor)
    }

    /// `db`.`table`, quoted; a table without a schema lives in the URL's database.
    pub fn qualified(&self, table: &TableRef) -> String {
        qualified(&self.url, table)
    }

    /// The database a table lives in (its schema, or the URL's database).
    pub fn schema_of<'a>(&'a self, table: &'a TableRef) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.url.database)
    }
}

/// Asks a session which server family it is on.
pub async fn flavor(conn: &mut Conn) -> Result<Flavor> {
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| error::query_error("reading the server version", e))?;
    Ok(Flavor::from_version(version.as_deref().unwrap_or("")))
}

/// Closes a session politely; a failure to say goodbye is not worth reporting.
pub(crate) async fn disconnect(conn: Conn) {
    if let Err(e) = conn.disconnect().await {
        tracing::debug!(error = %e, "mysql disconnect failed");
    }
}

/// Quotes an identifier with backticks, doubling any backtick inside.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// `schema`.`name`, quoted; schema `None` means the URL's database.
pub fn qualified(url: &DbUrl, table: &TableRef) -> String {
    let schema = table.schema.as_deref().unwrap_or(&url.database);
    format!("{}.{}", quote_ident(schema), quote_ident(&table.name))
}

/// Quotes a string literal for SQL text (only used for DDL labels and
/// catalog names; data always travels as parameters or LOAD DATA).
pub fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_literal("it's a\\b"), "'it''s a\\\\b'");
        let url = DbUrl::parse("mysql://u:pw@h/db1").unwrap();
        assert_eq!(qualified(&url, &TableRef::new(None, "t")), "`db1`.`t`");
        assert_eq!(
            qualified(&url, &TableRef::new(Some("x"), "t`1")),
            "`x`.`t``1`"
        );
    }

    #[test]
    fn flavor_from_version() {
        assert_eq!(
            Flavor::from_version("10.11.19-MariaDB-0+deb12u1"),
            Flavor::MariaDb
        );
        assert_eq!(Flavor::from_version("8.0.36"), Flavor::MySql);
    }
}
