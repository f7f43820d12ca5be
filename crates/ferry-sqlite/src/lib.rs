//! The SQLite adapter: a database file as a source or a target, through
//! rusqlite and the SQLite it bundles (no system library needed).
//!
//! rusqlite is synchronous, so every call runs its connection on a
//! blocking thread (`spawn_blocking`) and hands RecordBatches to the async
//! side through the same bounded tokio channels the other engines use:
//! memory stays bounded, and a slow consumer holds the reader back.
//!
//! What the engine can do (see [`CAPABILITIES`]):
//! - **Readers:** ranges of a table are read in parallel, each on its own
//!   connection inside a read transaction opened for the run. SQLite cannot
//!   hand one snapshot to another connection, so the snapshot step opens
//!   its connections while proving that no write committed in between
//!   (see [`snapshot`]); when it cannot prove it, one connection reads
//!   every range, one after another, and the run says so.
//! - **One writer:** SQLite takes one write transaction at a time, so
//!   ranges are written one after another (`concurrent_writers: false`),
//!   each in one transaction of prepared `INSERT`s, in WAL mode.
//! - **No schemas:** the file is the namespace (`main`).
//! - **Transactional DDL:** `ferry plan` proves the DDL in a transaction
//!   it rolls back.
//!
//! URLs: `sqlite:///abs/path.db`, `sqlite://relative/path.db`, `?mode=ro`
//! to open a source read-only. A missing source file is an error (ferry
//! never creates a database to read from); a target file is created by
//! `ferry copy` when missing (its directory must exist).
//!
//! Files, one per concern: [`catalog`] (the pragmas and `sqlite_schema` →
//! `RawTable`), [`desc`] (declared types and affinity), [`ddl`] (what only
//! the `CREATE` text says), [`dialect`], [`decode`] (values → Arrow, and
//! the checks the pre-flight runs through [`fits`]), [`encode`] (Arrow →
//! bound parameters), [`partition`], [`snapshot`], [`source`], [`sink`],
//! [`prove`], [`error`].

pub mod catalog;
pub mod ddl;
pub mod decode;
pub mod desc;
pub mod dialect;
pub mod encode;
pub mod error;
pub mod fits;
pub mod partition;
mod prove;
pub mod sink;
pub mod snapshot;
pub mod source;
pub mod time;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::throttle::RowThrottle;
use ferry_core::{DbUrl, Error, ErrorKind, Result, TablePlan, TableRef};
use rusqlite::{Connection, OpenFlags};

pub use dialect::SqliteDialect;
pub use sink::SqliteTableWriter;
pub use snapshot::SqliteSnapshot;

/// What SQLite can do: no snapshot another connection can join (readers
/// prove they opened at one instant, or one reads alone), no block ranges
/// (a keyless table is one stream), no schemas, no change stream yet,
/// transactional DDL, and one writer at a time.
pub const CAPABILITIES: ferry_core::Capabilities = ferry_core::Capabilities {
    shared_snapshot: false,
    lock_for_snapshot: false,
    snapshot_slot: false,
    block_ranges: false,
    change_stream: None,
    schemas: false,
    transactional_ddl: true,
    concurrent_writers: false,
    // One file, no roles or sessions to fence, no change stream.
    cutover: false,
};

/// How long a writer waits for another connection's write lock: another
/// process may be checkpointing or writing the target.
const WRITE_BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a reader waits when the source is locked, unless the URL's
/// `lock_timeout` says otherwise.
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite side of a copy, built from a `sqlite://` URL.
#[derive(Debug, Clone)]
pub struct SqliteAdapter {
    url: DbUrl,
    path: PathBuf,
    throttle: Option<Arc<RowThrottle>>,
}

impl SqliteAdapter {
    pub fn new(url: DbUrl) -> Self {
        let path = url
            .file_path()
            .unwrap_or_else(|| PathBuf::from(&url.database));
        let throttle = url
            .max_rows_per_second()
            .map(|n| Arc::new(RowThrottle::new(n)));
        SqliteAdapter {
            url,
            path,
            throttle,
        }
    }

    /// The read-side row limit (`max_rows_per_second`).
    pub fn throttle(&self) -> Option<&Arc<RowThrottle>> {
        self.throttle.as_ref()
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the URL asks for a read-only open (`?mode=ro`).
    fn read_only(&self) -> bool {
        self.url.param("mode") == Some("ro")
    }

    /// Whether the database file exists (a target's may not, yet).
    pub fn exists(&self) -> bool {
        self.path.is_file()
    }

    fn connect_error(
        &self,
        kind: ErrorKind,
        source: impl Into<ferry_core::error::BoxError>,
    ) -> Error {
        Error::Connect {
            url: self.url.to_string(),
            kind,
            source: source.into(),
        }
    }

    /// Opens the file for reading: it must exist; read-only with
    /// `mode=ro`, and `query_only` either way, so a reader cannot write.
    /// The pre-flight's value checks are registered on it ([`fits`]).
    pub fn open_read(&self) -> Result<Connection> {
        if !self.exists() {
            return Err(self.connect_error(
                ErrorKind::Definite,
                format!(
                    "no SQLite database file at {} (ferry creates a database file only as a copy's target)",
                    self.path.display()
                ),
            ));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX;
        flags |= if self.read_only() {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| self.connect_error(error::classify(&e), e))?;
        let timeout = self
            .url
            .duration_param("lock_timeout")
            .filter(|d| !d.is_zero())
            .unwrap_or(READ_BUSY_TIMEOUT);
        conn.busy_timeout(timeout)
            .and_then(|()| conn.execute_batch("PRAGMA query_only = 1"))
            .and_then(|()| fits::register(&conn))
            .map_err(|e| self.connect_error(error::classify(&e), e))?;
        // A file that is not a database fails its first read, here.
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|e| self.connect_error(error::classify(&e), e))?;
        Ok(conn)
    }

    /// Opens the file for writing, creating it when missing. Foreign keys
    /// are not enforced on ferry's connections (ranges load in any order;
    /// the rows are checked after the data).
    pub fn open_write(&self) -> Result<Connection> {
        if self.read_only() {
            return Err(self.connect_error(
                ErrorKind::Definite,
                "the URL opens the database read-only (mode=ro); a target must be writable",
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| self.connect_error(error::classify(&e), e))?;
        conn.busy_timeout(WRITE_BUSY_TIMEOUT)
            .and_then(|()| conn.execute_batch("PRAGMA foreign_keys = OFF"))
            .and_then(|()| fits::register(&conn))
            .map_err(|e| self.connect_error(error::classify(&e), e))?;
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|e| self.connect_error(error::classify(&e), e))?;
        Ok(conn)
    }

    /// Runs `f` with a connection on a blocking thread.
    pub(crate) async fn with_read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let me = self.clone();
        blocking(move || f(&me.open_read()?)).await
    }

    /// Like [`with_read`](Self::with_read), on a writing connection.
    pub(crate) async fn with_write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let me = self.clone();
        blocking(move || f(&me.open_write()?)).await
    }

    /// Rows of a query as text (NULL is `None`; BLOBs as `0x…` hex).
    pub async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        let (sql, what) = (sql.to_string(), what.to_string());
        self.with_read(move |conn| {
            let mut stmt = conn.prepare(&sql).map_err(error::ctx(what.clone()))?;
            let n = stmt.column_count();
            let mut rows = stmt.query([]).map_err(error::ctx(what.clone()))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(error::ctx(what.clone()))? {
                let mut cells = Vec::with_capacity(n);
                for i in 0..n {
                    let v = row.get_ref(i).map_err(error::ctx(what.clone()))?;
                    cells.push(value_text(v));
                }
                out.push(cells);
            }
            Ok(out)
        })
        .await
    }

    /// Runs statements in order, each committed on its own. Every
    /// statement ferry writes for SQLite is idempotent by itself (`IF NOT
    /// EXISTS`, counters moved with `max`); a `PRAGMA foreign_key_check`
    /// fails when it finds a row without its parent.
    pub async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        let (statements, what) = (statements.to_vec(), what.to_string());
        self.with_write(move |conn| {
            for s in &statements {
                let head: String = s.chars().take(120).collect();
                if s.starts_with("PRAGMA foreign_key_check") {
                    check_foreign_keys(conn, s, &what)?;
                } else {
                    conn.execute_batch(s)
                        .map_err(error::ctx(format!("{what}: {head}")))?;
                }
            }
            Ok(())
        })
        .await
    }
}

/// Runs a `PRAGMA foreign_key_check(t)` and fails, naming the table and
/// the parent, when it returns rows (never a value: rowids only).
fn check_foreign_keys(conn: &Connection, sql: &str, what: &str) -> Result<()> {
    let mut stmt = conn.prepare(sql).map_err(error::ctx(what.to_string()))?;
    let mut rows = stmt.query([]).map_err(error::ctx(what.to_string()))?;
    let mut found: Option<(String, String, Option<i64>)> = None;
    let mut count = 0u64;
    while let Some(r) = rows.next().map_err(error::ctx(what.to_string()))? {
        count += 1;
        if found.is_none() {
            found = Some((
                r.get(0).unwrap_or_default(),
                r.get(2).unwrap_or_default(),
                r.get(1).ok().flatten(),
            ));
        }
    }
    match found {
        None => Ok(()),
        Some((table, parent, rowid)) => {
            Err(Error::Table {
                table: table.clone(),
                problem: format!(
                "{count} rows have no parent row in {parent} (foreign key check after the data{})",
                rowid.map(|r| format!(", first at rowid {r}")).unwrap_or_default()
            ),
            })
        }
    }
}

/// A value as the text probes read: integers and reals as numbers, BLOBs
/// as `0x` hex.
pub(crate) fn value_text(v: rusqlite::types::ValueRef<'_>) -> Option<String> {
    use rusqlite::types::ValueRef;
    Some(match v {
        ValueRef::Null => return None,
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("0x{}", ferry_core::hex::hex(b)),
    })
}

/// Runs `f` on a blocking thread; a panic there is a bug.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Bug(format!("SQLite task: {e}")))?
}

impl ferry_core::adapter::Database for SqliteAdapter {
    fn capabilities(&self) -> ferry_core::Capabilities {
        CAPABILITIES
    }

    fn schema_of<'a>(&'a self, table: &'a TableRef) -> &'a str {
        table.schema.as_deref().unwrap_or("main")
    }

    async fn ping(&self) -> Result<()> {
        self.with_read(|_| Ok(())).await
    }

    /// SQLite has no extensions a mapping rule may require of a target
    /// (a loadable extension is the connection's, not the file's).
    async fn features(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        SqliteAdapter::text_rows(self, sql, what).await
    }

    async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        SqliteAdapter::execute_idempotent(self, statements, what).await
    }

    async fn column_collations(&self, plan: &TablePlan) -> Result<Vec<(String, Option<String>)>> {
        let table = plan.source.name.clone();
        self.with_read(move |conn| {
            let text = catalog::table_sql(conn, &table)?.unwrap_or_default();
            let parsed = ddl::parse_table(&text);
            Ok(parsed
                .columns
                .into_iter()
                .map(|c| (c.name, c.collation))
                .collect())
        })
        .await
    }
}

/// Quotes an identifier with double quotes, doubling any inside.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal (`it's` → `'it''s'`). SQLite has no escapes in
/// literals; a NUL is spelled as `char(0)` joined in, so the text is whole.
pub fn quote_literal(s: &str) -> String {
    if s.contains('\0') {
        let parts: Vec<String> = s
            .split('\0')
            .map(|p| format!("'{}'", p.replace('\'', "''")))
            .collect();
        return format!("({})", parts.join(" || char(0) || "));
    }
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\0b"), "('a' || char(0) || 'b')");
    }

    #[tokio::test]
    async fn a_missing_source_is_refused_and_never_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing.db");
        let url = DbUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
        let a = SqliteAdapter::new(url);
        let e = ferry_core::adapter::Database::ping(&a).await.unwrap_err();
        let line = ferry_core::error::chain_line(&e);
        assert!(
            line.contains("no SQLite database file") && line.contains("nothing.db"),
            "{line}"
        );
        assert!(!path.exists(), "a read must not create the file");
        let ro = SqliteAdapter::new(
            DbUrl::parse(&format!("sqlite://{}?mode=ro", path.display())).unwrap(),
        );
        assert!(ro.open_write().is_err());
        assert!(!path.exists());
        a.open_write().unwrap();
        assert!(path.exists(), "a target is created");
    }
}
