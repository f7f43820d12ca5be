//! PostgreSQL adapter: catalog introspection, a binary `COPY … TO STDOUT`
//! reader that decodes straight into Arrow, and a binary `COPY … FROM STDIN`
//! writer that encodes straight from Arrow.
//!
//! Every call opens its own connection from the [`DbUrl`] (see
//! [`ferry_core::adapter`]); nothing is shared between tables. TLS follows
//! the URL's `sslmode` (see [`tls`]); `lock_timeout` and `statement_timeout`
//! URL parameters become session settings, sent in the startup packet so
//! they hold from the first statement.

pub mod apply;
mod catalog;
pub mod cdc;
pub mod cutover;
pub mod decode;
pub mod dialect;
pub mod encode;
mod error;
pub mod numeric;
mod objects;
pub mod partition;
pub mod pgbouncer;
mod prove;
pub mod range;
pub mod replication;
mod schema;
mod sink;
mod snapshot;
mod source;
pub mod textform;

use std::sync::Arc;

use ferry_core::throttle::RowThrottle;
use ferry_core::{DbUrl, Result, TablePlan, TableRef};

pub use dialect::PgDialect;
pub use error::classify;
pub use sink::PgTableWriter;
pub use snapshot::PgSnapshot;
pub use source::read_sql;

/// The PostgreSQL side of a copy, built from a `postgres://` URL.
#[derive(Debug, Clone)]
pub struct PgAdapter {
    url: DbUrl,
    throttle: Option<Arc<RowThrottle>>,
}

/// What PostgreSQL can do: exported snapshots shared by every session, a
/// logical slot taken at the copy's snapshot, ctid block ranges for keyless
/// tables, schemas, and any number of concurrent writers.
pub const CAPABILITIES: ferry_core::Capabilities = ferry_core::Capabilities {
    shared_snapshot: true,
    lock_for_snapshot: false,
    snapshot_slot: true,
    block_ranges: true,
    change_stream: Some(ferry_core::ChangeStreamKind::LogicalSlot),
    schemas: true,
    transactional_ddl: true,
    concurrent_writers: true,
};

impl ferry_core::adapter::Database for PgAdapter {
    fn capabilities(&self) -> ferry_core::Capabilities {
        CAPABILITIES
    }

    fn schema_of<'a>(&'a self, table: &'a TableRef) -> &'a str {
        schema_of(table)
    }

    async fn ping(&self) -> Result<()> {
        // The connection task ends when the client is dropped.
        self.connect().await.map(drop)
    }

    async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        PgAdapter::text_rows(self, sql, what).await
    }

    async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        PgAdapter::execute_idempotent(self, statements, what).await
    }

    async fn features(&self) -> Result<Vec<String>> {
        let rows = PgAdapter::text_rows(
            self,
            "SELECT extname::text FROM pg_catalog.pg_extension ORDER BY 1",
            "listing the installed extensions",
        )
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| r.pop().flatten())
            .collect())
    }

    async fn column_collations(&self, plan: &TablePlan) -> Result<Vec<(String, Option<String>)>> {
        let client = self.connect().await?;
        partition::column_collations(&client, plan).await
    }
}

impl PgAdapter {
    pub fn new(url: DbUrl) -> Self {
        let throttle = url
            .max_rows_per_second()
            .map(|n| Arc::new(RowThrottle::new(n)));
        PgAdapter { url, throttle }
    }

    /// The read-side row limit (`max_rows_per_second`), shared by every
    /// reader of this adapter and its clones.
    pub fn throttle(&self) -> Option<&Arc<RowThrottle>> {
        self.throttle.as_ref()
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// Opens a new session. The connection task runs on the tokio runtime
    /// and ends when the returned client is dropped.
    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        ferry_pgconn::connect(&self.url).await
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
    use ferry_core::ErrorKind;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified(&TableRef::new(None, "T")), "\"public\".\"T\"");
        assert_eq!(qualified(&TableRef::new(Some("s"), "t")), "\"s\".\"t\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[tokio::test]
    async fn verify_full_without_a_ca_is_refused_clearly() {
        let url = DbUrl::parse(
            "postgres://u:secret@localhost/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        )
        .unwrap();
        let err = PgAdapter::new(url).connect().await.unwrap_err();
        let line = ferry_core::error::chain_line(&err);
        assert!(line.contains("CA file"), "{line}");
        assert!(!line.contains("secret"), "{line}");
        assert_eq!(err.kind(), ErrorKind::Definite);
    }
}
