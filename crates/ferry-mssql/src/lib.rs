//! The SQL Server adapter: `sys.*` catalog introspection, a streamed TDS
//! reader and a TDS bulk-load (`INSERT BULK`) writer, on tiberius.
//!
//! Every call opens its own session from the [`DbUrl`] (see
//! [`ferry_core::adapter`]); the URL string never reaches the driver, whose
//! parse errors may echo it. Each session first runs [`SESSION_INIT`]: the
//! ANSI options indexes on computed columns and filtered indexes need,
//! `XACT_ABORT` so any error ends the transaction, and `TEXTSIZE` at its
//! maximum (a TDS client that does not set it gets 4 KB of each `text`,
//! `ntext` and `image` value).
//!
//! Connection parameters, as SQL Server users write them:
//! - `host%5CINSTANCE` (a URL's `host\INSTANCE`) or `instance=NAME`
//!   (`instanceName=`): a named instance, whose port the SQL Browser
//!   (UDP 1434) gives when the URL has none;
//! - `encrypt=true|false|strict` (also `yes`, `no`, `mandatory`,
//!   `optional`): TLS for the whole session, only for the login (`false`,
//!   SQL Server's own meaning), or TDS 8.0 strict; `trustServerCertificate=
//!   true` accepts any certificate. With `encrypt` given and no
//!   `trustServerCertificate`, the certificate is verified (the system's
//!   roots, or `sslrootcert=` / `ssl-ca=`), as SQL Server's drivers do.
//! - without `encrypt`, ferry's `sslmode` applies as on the other engines:
//!   `prefer` (the default) encrypts when the server can, without verifying;
//!   `require`, `verify-ca`, `verify-full` as libpq means them; `disable`
//!   sends nothing encrypted.
//!
//! Files, one per concern: [`catalog`] (`sys.*` → `RawTable`), [`desc`]
//! (catalog types → column decisions), [`decode`] (tiberius values →
//! Arrow), [`encode`] (Arrow → tiberius values for the bulk load),
//! [`partition`], [`snapshot`], [`source`], [`sink`], [`dialect`],
//! [`error`].

pub mod catalog;
pub mod decode;
pub mod desc;
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
pub mod value;

use std::sync::Arc;

use ferry_core::throttle::RowThrottle;
use ferry_core::{DbUrl, Error, ErrorKind, Result, TablePlan, TableRef, TlsMode};
use tiberius::{AuthMethod, Config, EncryptionLevel, SqlBrowser};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

pub use dialect::MssqlDialect;
pub use sink::MssqlTableWriter;
pub use snapshot::MssqlSnapshot;

/// A session.
pub type Client = tiberius::Client<Compat<TcpStream>>;

/// The schema a table without one lives in.
pub const DEFAULT_SCHEMA: &str = "dbo";

/// Statements every session runs first (see the module docs).
pub const SESSION_INIT: &str = "SET NOCOUNT ON; SET XACT_ABORT ON; \
SET ANSI_NULLS, ANSI_PADDING, ANSI_WARNINGS, ARITHABORT, CONCAT_NULL_YIELDS_NULL, \
QUOTED_IDENTIFIER ON; SET NUMERIC_ROUNDABORT OFF; SET TEXTSIZE 2147483647; \
SET DATEFORMAT ymd; SET DATEFIRST 7";

/// What SQL Server can do.
///
/// - No snapshot is shared across sessions: each range reader opens its own
///   SNAPSHOT transaction (when the database allows snapshot isolation,
///   else READ COMMITTED), and the run says so ([`snapshot`]).
/// - No physical ranges for keyless tables (one stream).
/// - Schemas inside a database (`dbo` by default).
/// - DDL is transactional: `ferry plan` proves it in a rolled-back
///   transaction.
/// - No change stream yet. `cdc.fn_cdc_get_all_changes_<capture_instance>`
///   polling (between two LSNs, `__$operation` 1–4) fits the change model
///   as a polled stream; it needs its own [`ferry_core::ChangeStreamKind`]
///   variant and a snapshot that records `sys.fn_cdc_get_max_lsn()`.
pub const CAPABILITIES: ferry_core::Capabilities = ferry_core::Capabilities {
    shared_snapshot: false,
    lock_for_snapshot: false,
    snapshot_slot: false,
    block_ranges: false,
    change_stream: None,
    schemas: true,
    transactional_ddl: true,
    concurrent_writers: true,
    // No fence or change stream is built for SQL Server yet: a fence would
    // be `ALTER DATABASE … SET READ_ONLY WITH ROLLBACK AFTER n` (or denying
    // the application logins), and the way back needs the CDC stream above.
    cutover: false,
};

/// The SQL Server adapter: the URL (each call opens what it needs) and the
/// read-side row limit.
#[derive(Debug, Clone)]
pub struct MssqlAdapter {
    url: DbUrl,
    throttle: Option<Arc<RowThrottle>>,
}

impl ferry_core::adapter::Database for MssqlAdapter {
    fn capabilities(&self) -> ferry_core::Capabilities {
        CAPABILITIES
    }

    fn schema_of<'a>(&'a self, table: &'a TableRef) -> &'a str {
        schema_of(table)
    }

    async fn ping(&self) -> Result<()> {
        close(self.connect().await?).await;
        Ok(())
    }

    async fn features(&self) -> Result<Vec<String>> {
        // No mapping rule requires anything of a SQL Server target yet.
        Ok(Vec::new())
    }

    async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        MssqlAdapter::text_rows(self, sql, what).await
    }

    async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        MssqlAdapter::execute_idempotent(self, statements, what).await
    }

    async fn column_collations(&self, plan: &TablePlan) -> Result<Vec<(String, Option<String>)>> {
        let mut client = self.connect().await?;
        let out = partition::column_collations(&mut client, &plan.source).await;
        close(client).await;
        out
    }
}

/// Where a session goes: host, instance and port, parsed from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub instance: Option<String>,
    /// `None`: ask the SQL Browser for the instance's port.
    pub port: Option<u16>,
}

/// The endpoint of a URL: `host\INSTANCE` or `instance=`; a named instance
/// with the default port is found through the SQL Browser.
pub fn endpoint(url: &DbUrl) -> Endpoint {
    let (host, from_host) = match url.host.split_once('\\') {
        Some((h, i)) if !i.is_empty() => (h.to_string(), Some(i.to_string())),
        _ => (url.host.clone(), None),
    };
    let instance = from_host.or_else(|| {
        url.param("instance")
            .or_else(|| url.param("instanceName"))
            .map(str::to_string)
    });
    let port = match &instance {
        Some(_) if url.port == ferry_core::Engine::Mssql.default_port() => None,
        _ => Some(url.port),
    };
    Endpoint {
        host,
        instance,
        port,
    }
}

/// How a session encrypts, from the URL (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub level: EncryptionLevel,
    /// Accept any certificate.
    pub trust: bool,
    /// A CA file (PEM) to verify the certificate with.
    pub ca: Option<std::path::PathBuf>,
}

fn flag(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "yes" | "mandatory"
    )
}

/// The encryption a URL asks for; `Err` for a mode that needs a CA file
/// it does not name.
pub fn encryption(url: &DbUrl) -> std::result::Result<Encryption, String> {
    let ca = url.tls_root_cert();
    let trust_param = url
        .param("trustServerCertificate")
        .or_else(|| url.param("TrustServerCertificate"))
        .map(flag);
    if let Some(e) = url.param("encrypt").or_else(|| url.param("Encrypt")) {
        let level = match e.to_ascii_lowercase().as_str() {
            "strict" => EncryptionLevel::Strict,
            v if flag(v) => EncryptionLevel::Required,
            // SQL Server's `Encrypt=false`: the login is still encrypted.
            _ => EncryptionLevel::Off,
        };
        return Ok(Encryption {
            level,
            trust: trust_param.unwrap_or(false) && ca.is_none(),
            ca,
        });
    }
    let mode = match url.tls_mode() {
        TlsMode::Require if ca.is_some() => TlsMode::VerifyCa,
        m => m,
    };
    Ok(match mode {
        TlsMode::Disable => Encryption {
            level: EncryptionLevel::NotSupported,
            trust: true,
            ca: None,
        },
        TlsMode::Prefer => Encryption {
            level: EncryptionLevel::On,
            trust: trust_param.unwrap_or(true),
            ca: None,
        },
        TlsMode::Require => Encryption {
            level: EncryptionLevel::Required,
            trust: trust_param.unwrap_or(true),
            ca: None,
        },
        TlsMode::VerifyCa | TlsMode::VerifyFull => Encryption {
            level: EncryptionLevel::Required,
            trust: false,
            ca: Some(ca.ok_or(
                "sslmode=verify-ca and verify-full need the CA certificate: \
                 add sslrootcert=/path/to/ca.pem",
            )?),
        },
    })
}

impl MssqlAdapter {
    pub fn new(url: DbUrl) -> Self {
        let throttle = url
            .max_rows_per_second()
            .map(|n| Arc::new(RowThrottle::new(n)));
        MssqlAdapter { url, throttle }
    }

    /// The read-side row limit (`max_rows_per_second`), shared by every
    /// reader of this adapter and its clones.
    pub fn throttle(&self) -> Option<&Arc<RowThrottle>> {
        self.throttle.as_ref()
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// `[schema].[name]`, quoted; a table without a schema lives in `dbo`.
    pub fn qualified(&self, table: &TableRef) -> String {
        qualified(table)
    }

    fn connect_error(&self, kind: ErrorKind, source: ferry_core::error::BoxError) -> Error {
        Error::Connect {
            url: self.url.to_string(),
            kind,
            source,
        }
    }

    /// The driver's configuration, field by field from the URL.
    pub fn config(&self) -> Result<Config> {
        let url = &self.url;
        let ep = endpoint(url);
        let mut config = Config::new();
        config.host(&ep.host);
        if let Some(port) = ep.port {
            config.port(port);
        }
        if let Some(i) = &ep.instance {
            config.instance_name(i);
        }
        config.database(&url.database);
        config.application_name("ferry");
        config.authentication(AuthMethod::sql_server(
            &url.user,
            url.password().unwrap_or(""),
        ));
        let enc = encryption(url).map_err(|e| self.connect_error(ErrorKind::Definite, e.into()))?;
        config.encryption(enc.level);
        if let Some(ca) = &enc.ca {
            if let Err(e) = std::fs::metadata(ca) {
                return Err(self.connect_error(
                    ErrorKind::Definite,
                    format!("cannot read CA file {}: {e}", ca.display()).into(),
                ));
            }
            config.trust_cert_ca(ca.display());
        } else if enc.trust {
            config.trust_cert();
        }
        config.handshake_timeout(Some(url.connect_timeout()));
        // A read of a big table may legitimately wait long for its first
        // row: no limit unless the URL sets one.
        config.command_timeout(
            url.duration_param("statement_timeout")
                .filter(|d| !d.is_zero()),
        );
        Ok(config)
    }

    /// Opens a session on the URL's database and runs [`SESSION_INIT`]
    /// (plus `SET LOCK_TIMEOUT` from the URL's `lock_timeout`).
    pub async fn connect(&self) -> Result<Client> {
        // The same process-wide provider as the other engines' TLS (ring);
        // without one, tiberius would fall back to aws-lc-rs.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = self.config()?;
        let mut client = self.open(config).await?;
        let mut init = SESSION_INIT.to_string();
        if let Some(d) = self
            .url
            .duration_param("lock_timeout")
            .filter(|d| !d.is_zero())
        {
            init.push_str(&format!("; SET LOCK_TIMEOUT {}", d.as_millis().max(1)));
        }
        simple(&mut client, &init)
            .await
            .map_err(error::ctx("setting up the session"))?;
        Ok(client)
    }

    /// One connection, following a routing redirect (Azure SQL's gateway)
    /// once, bounded by the URL's `connect_timeout` for the TCP part.
    async fn open(&self, config: Config) -> Result<Client> {
        let limit = self.url.connect_timeout();
        let mut config = config;
        for _ in 0..2 {
            let tcp = tokio::time::timeout(limit, async {
                match endpoint(&self.url) {
                    Endpoint {
                        instance: Some(_),
                        port: None,
                        ..
                    } => TcpStream::connect_named(&config).await,
                    _ => TcpStream::connect(config.get_addr())
                        .await
                        .map_err(tiberius::error::Error::from),
                }
            })
            .await
            .map_err(|_| {
                self.connect_error(
                    ErrorKind::Transient,
                    format!("no answer within {limit:?} (connect_timeout)").into(),
                )
            })?
            .map_err(|e| self.connect_error(error::classify(&e), Box::new(e)))?;
            let _ = tcp.set_nodelay(true);
            match tiberius::Client::connect(config.clone(), tcp.compat_write()).await {
                Ok(client) => return Ok(client),
                Err(tiberius::error::Error::Routing { host, port }) => {
                    config.host(&host);
                    config.port(port);
                }
                Err(e) => {
                    let kind = match &e {
                        tiberius::error::Error::Tls(_) => ErrorKind::Definite,
                        e => error::classify(e),
                    };
                    return Err(self.connect_error(kind, Box::new(e)));
                }
            }
        }
        Err(self.connect_error(
            ErrorKind::Definite,
            "the server redirected the connection more than once".into(),
        ))
    }
}

/// Runs a batch and reads every result to the end.
pub(crate) async fn simple(client: &mut Client, sql: &str) -> tiberius::Result<()> {
    client.simple_query(sql).await?.into_results().await?;
    Ok(())
}

/// Closes a session politely; a failure to say goodbye is not worth reporting.
pub(crate) async fn close(client: Client) {
    if let Err(e) = client.close().await {
        tracing::debug!(error = %e, "mssql close failed");
    }
}

/// Quotes an identifier in brackets, doubling any `]` inside.
pub fn quote_ident(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// A Unicode string literal, `N'…'` with quotes doubled (only for DDL
/// labels and catalog names; data travels as parameters or bulk rows).
pub fn quote_literal(s: &str) -> String {
    format!("N'{}'", s.replace('\'', "''"))
}

/// The schema a table lives in (its own, or `dbo`).
pub fn schema_of(table: &TableRef) -> &str {
    table.schema.as_deref().unwrap_or(DEFAULT_SCHEMA)
}

/// `[schema].[name]`, quoted.
pub fn qualified(table: &TableRef) -> String {
    format!(
        "{}.{}",
        quote_ident(schema_of(table)),
        quote_ident(&table.name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a]b"), "[a]]b]");
        assert_eq!(quote_literal("it's"), "N'it''s'");
        assert_eq!(qualified(&TableRef::new(None, "t")), "[dbo].[t]");
        assert_eq!(
            qualified(&TableRef::new(Some("sales"), "t x")),
            "[sales].[t x]"
        );
    }

    #[test]
    fn instances_from_the_host_or_a_parameter() {
        let u = DbUrl::parse("mssql://sa:pw@db%5CSQLEXPRESS/app").unwrap();
        assert_eq!(
            endpoint(&u),
            Endpoint {
                host: "db".into(),
                instance: Some("SQLEXPRESS".into()),
                port: None
            }
        );
        let u = DbUrl::parse("sqlserver://sa:pw@db:14330/app?instanceName=X").unwrap();
        assert_eq!(endpoint(&u).port, Some(14330));
        assert_eq!(endpoint(&u).instance.as_deref(), Some("X"));
        let u = DbUrl::parse("mssql://sa:pw@db/app").unwrap();
        assert_eq!(endpoint(&u).port, Some(1433));
        assert_eq!(endpoint(&u).instance, None);
    }

    #[test]
    fn encryption_as_sql_server_users_write_it() {
        let enc = |s: &str| encryption(&DbUrl::parse(s).unwrap()).unwrap();
        // ferry's default, as on the other engines: TLS when offered, unverified.
        let e = enc("mssql://sa@h/db");
        assert_eq!((e.level, e.trust), (EncryptionLevel::On, true));
        let e = enc("mssql://sa@h/db?encrypt=true");
        assert_eq!((e.level, e.trust), (EncryptionLevel::Required, false));
        let e = enc("mssql://sa@h/db?encrypt=yes&trustServerCertificate=true");
        assert_eq!((e.level, e.trust), (EncryptionLevel::Required, true));
        let e = enc("mssql://sa@h/db?encrypt=false");
        assert_eq!(e.level, EncryptionLevel::Off);
        let e = enc("mssql://sa@h/db?encrypt=strict");
        assert_eq!(e.level, EncryptionLevel::Strict);
        let e = enc("mssql://sa@h/db?sslmode=disable");
        assert_eq!(e.level, EncryptionLevel::NotSupported);
        let e = enc("mssql://sa@h/db?sslmode=require&sslrootcert=/ca.pem");
        assert_eq!((e.level, e.trust), (EncryptionLevel::Required, false));
        assert!(e.ca.is_some());
        let err = encryption(&DbUrl::parse("mssql://sa@h/db?sslmode=verify-full").unwrap());
        assert!(err.unwrap_err().contains("sslrootcert"));
    }

    #[tokio::test]
    async fn a_missing_ca_file_is_refused_before_connecting() {
        let a = MssqlAdapter::new(
            DbUrl::parse("mssql://sa:pw@127.0.0.1:1/db?sslmode=verify-ca&sslrootcert=/nope.pem")
                .unwrap(),
        );
        let e = a.connect().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Definite);
        let line = ferry_core::error::chain_line(&e);
        assert!(line.contains("/nope.pem"), "{line}");
        assert!(!line.contains("pw@"), "{line}");
    }
}
