//! PostgreSQL adapter: catalog introspection, a binary `COPY … TO STDOUT`
//! reader that decodes straight into Arrow, and a binary `COPY … FROM STDIN`
//! writer that encodes straight from Arrow.
//!
//! Every call opens its own connection from the [`DbUrl`] (see
//! [`ferry_core::adapter`]); nothing is shared between tables. Connections are
//! plain TCP: TLS is refused with a clear error rather than silently ignored.

mod catalog;
pub mod decode;
pub mod encode;
mod error;
pub mod numeric;
pub mod partition;
pub mod replication;
mod schema;
mod sink;
mod snapshot;
mod source;
pub mod textform;
mod verify_read;

use std::time::Duration;

use ferry_core::{DbUrl, Error, ErrorKind, Result, TableRef};
use tokio_postgres::NoTls;

pub use error::classify;
pub use snapshot::PgSnapshot;
pub use source::{copy_out_sql, copy_range_sql};

/// The PostgreSQL side of a copy, built from a `postgres://` URL.
#[derive(Debug, Clone)]
pub struct PgAdapter {
    url: DbUrl,
}

impl PgAdapter {
    pub fn new(url: DbUrl) -> Self {
        PgAdapter { url }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// Opens a new session. The connection task runs on the tokio runtime
    /// and ends when the returned client is dropped.
    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        let url = &self.url;
        if let Some(mode) = url.param("sslmode") {
            match mode {
                "disable" | "allow" | "prefer" => {}
                other => {
                    return Err(Error::Connect {
                        url: url.to_string(),
                        kind: ErrorKind::Definite,
                        source: format!(
                            "sslmode={other} asks for TLS, which ferry does not support yet \
                             (use sslmode=disable or prefer)"
                        )
                        .into(),
                    })
                }
            }
        }
        let mut config = tokio_postgres::Config::new();
        config
            .host(&url.host)
            .port(url.port)
            .user(&url.user)
            .dbname(&url.database)
            .connect_timeout(Duration::from_secs(10))
            .application_name("ferry");
        if let Some(p) = url.password() {
            config.password(p);
        }
        let (client, connection) = config.connect(NoTls).await.map_err(|e| Error::Connect {
            url: url.to_string(),
            kind: classify(&e),
            source: Box::new(e),
        })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "postgres connection ended");
            }
        });
        Ok(client)
    }
}

/// Quotes an identifier for PostgreSQL (`a"b` → `"a""b"`).
pub fn quote_ident(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Quotes a string literal (`it's` → `'it''s'`).
pub(crate) fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The schema a table lives in; `None` means `public`.
pub(crate) fn schema_of(table: &TableRef) -> &str {
    table.schema.as_deref().unwrap_or("public")
}

/// `"schema"."name"`, with `public` when the ref has no schema.
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
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified(&TableRef::new(None, "T")), "\"public\".\"T\"");
        assert_eq!(qualified(&TableRef::new(Some("s"), "t")), "\"s\".\"t\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[tokio::test]
    async fn tls_is_refused_clearly() {
        let url = DbUrl::parse("postgres://u:secret@localhost/db?sslmode=require").unwrap();
        let err = PgAdapter::new(url).connect().await.unwrap_err();
        let line = ferry_core::error::chain_line(&err);
        assert!(line.contains("TLS"), "{line}");
        assert!(!line.contains("secret"), "{line}");
    }
}
