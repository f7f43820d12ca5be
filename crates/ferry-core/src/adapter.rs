//! Everything the engine asks of a database, as traits.
//!
//! The engine holds adapters in an enum (the engines are a closed set) and
//! calls these methods through it; the traits state each contract in one
//! place and keep every engine's adapter shaped alike, so a new engine is a
//! new crate implementing them plus one arm in the engine's adapter enum.
//!
//! Adapters own no long-lived connection: every call opens what it needs from
//! the [`DbUrl`](crate::DbUrl) it was built with, so tables can run
//! concurrently without sharing a session. Every method is therefore safe to
//! call concurrently unless its doc says otherwise.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use arrow_array::RecordBatch;
use tokio::sync::mpsc;

use crate::batch::{BatchLimit, DEFAULT_BATCH_BYTES};
use crate::capabilities::Capabilities;
use crate::error::Result;
use crate::plan::{IfExists, RawTable, RawType, TablePlan, TableRef};
use crate::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};

/// The database as a whole: what it can do, its namespaces, and the
/// statements the engine runs on it outside a copy (probes, post-data DDL).
pub trait Database: Send + Sync {
    /// What this engine can do. Constant for an adapter: the engine and the
    /// binary decide flags and engine-only paths from it, never from the
    /// engine's name.
    fn capabilities(&self) -> Capabilities;

    /// The schema (namespace) `table` lives in, with the URL's default
    /// filled in when the ref has none (PostgreSQL `public`, MySQL the URL's
    /// database). Pure: no connection.
    fn schema_of<'a>(&'a self, table: &'a TableRef) -> &'a str;

    /// Opens a session and closes it: proves the URL, the credentials and
    /// TLS work. Errors are [`Error::Connect`](crate::Error::Connect) with a
    /// transient or definite kind.
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;

    /// Runs one query in a session of its own and returns every row as the
    /// server renders it in text; NULL is `None`. For small catalog probes
    /// whose SQL the caller wrote for this engine: the whole result is held
    /// in memory. `what` names the probe in errors.
    fn text_rows(
        &self,
        sql: &str,
        what: &str,
    ) -> impl Future<Output = Result<Vec<Vec<Option<String>>>>> + Send;

    /// Runs `statements` in order, in one session, each committed on its own
    /// (DDL), stopping at the first failure. A statement that fails because
    /// its object already exists counts as done, judged by server error code,
    /// so a step killed part-way can simply be run again. Durable when it
    /// returns `Ok`; after an error, the statements before it are durable.
    fn execute_idempotent(
        &self,
        statements: &[String],
        what: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// What this database has that a type mapping may require of a target
    /// (`requires` in `mappings/`): PostgreSQL its installed extensions
    /// (`postgis`, `hstore`…). One short catalog query.
    fn features(&self) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The collation of every column of `plan.source` by name, in ordinal
    /// order (verify notes case- or accent-insensitive ones); `None` for
    /// columns without one (non-text columns).
    fn column_collations(
        &self,
        plan: &TablePlan,
    ) -> impl Future<Output = Result<Vec<(String, Option<String>)>>> + Send;
}

/// How a table's primary key splits into key ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySplit {
    /// Every key column has a type ranges are planned on (names in key order).
    Key(Vec<String>),
    /// The table has no primary key.
    NoKey,
    /// A key column has a type ferry does not split on; the reason names it.
    Unsplittable(String),
}

/// Reads the catalog.
pub trait Catalog: Send + Sync {
    /// Base tables (no views) of `schema`, sorted by name. `None` means the
    /// URL's default: PostgreSQL `public`, MySQL the URL's database.
    fn list_tables(
        &self,
        schema: Option<&str>,
    ) -> impl Future<Output = Result<Vec<TableRef>>> + Send;

    /// Describes one table. A table that does not exist is
    /// [`Error::MissingTable`](crate::Error::MissingTable). Column order is the
    /// catalog's ordinal order. Unknown types are still described (the mapping
    /// layer, not the catalog, refuses them).
    fn describe(&self, table: &TableRef) -> impl Future<Output = Result<RawTable>> + Send;

    /// The type of each SQL expression of `exprs` (this engine's SQL over
    /// the columns of `table`), described as this catalog describes a
    /// column of that type, so the mapping's read rules decide it as they
    /// decide a column. The engine prepares or describes a
    /// `SELECT expr FROM table`; no row is read, nothing is written to the
    /// source. Per expression, `Err` holds why the engine cannot evaluate
    /// it (its own words, which name no value). The outer error is the
    /// session's or the table's.
    fn describe_exprs(
        &self,
        table: &TableRef,
        exprs: &[String],
    ) -> impl Future<Output = Result<Vec<std::result::Result<RawType, String>>>> + Send;
}

/// The order a reader delivers rows in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RowOrder {
    /// Copy's order: by primary key when there is one, the cheapest way the
    /// engine has (the whole table in its index's collation; a key range in
    /// the binary order of its predicate). Unordered without a key.
    #[default]
    Key,
    /// Verify's order: by primary key in binary order, the same on every
    /// engine, so two sides can be merged by key. `text_order[i]` says key
    /// column `i` orders as its UTF-8 text bytes (text keys, or keys that the
    /// other side holds as text); other key columns order by value
    /// (integers, decimals, dates, UUID bytes). A key range is always read
    /// in the binary order of its predicate, which is this order.
    BinaryKey { text_order: Vec<bool> },
}

/// How one read runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Rows per batch sent (at most; the last batch may be shorter). Zero is
    /// read as one.
    pub batch_rows: usize,
    /// Bytes per batch (see [`crate::batch`]): a batch also closes when its
    /// rows' bytes reach this, and a row larger than it travels alone.
    pub batch_bytes: usize,
    pub order: RowOrder,
    /// Rendered keys ([`render_key`](crate::arrow::render_key)) of rows
    /// rejected earlier in this run: a row whose value the reader refuses
    /// ([`Error::Value`](crate::Error::Value)) is left out, not sent and not
    /// counted, when its key is here, instead of failing the read. Other
    /// rows with these keys are sent as usual (the caller leaves them out).
    pub skip_keys: Arc<HashSet<String>>,
}

impl ReadOptions {
    /// Copy's read: key order as the engine serves it cheapest.
    pub fn copy(batch_rows: usize) -> Self {
        ReadOptions {
            batch_rows,
            batch_bytes: DEFAULT_BATCH_BYTES,
            order: RowOrder::Key,
            skip_keys: Arc::default(),
        }
    }

    /// Verify's read: binary key order (see [`RowOrder::BinaryKey`]).
    pub fn binary_key_order(batch_rows: usize, text_order: Vec<bool>) -> Self {
        ReadOptions {
            batch_rows,
            batch_bytes: DEFAULT_BATCH_BYTES,
            order: RowOrder::BinaryKey { text_order },
            skip_keys: Arc::default(),
        }
    }

    /// The same read with batches of at most `limit` rows and bytes.
    pub fn with_limit(self, limit: BatchLimit) -> Self {
        ReadOptions {
            batch_rows: limit.rows,
            batch_bytes: limit.bytes,
            ..self
        }
    }

    /// Where this read closes its batches.
    pub fn limit(&self) -> BatchLimit {
        BatchLimit {
            rows: self.batch_rows,
            bytes: self.batch_bytes,
        }
    }
}

/// [`TablePlan::row_filter`] as a condition to AND with others,
/// parenthesised so that its own `OR`s stay inside it.
pub fn filter_condition(plan: &TablePlan) -> Option<String> {
    plan.row_filter.as_ref().map(|f| format!("({f})"))
}

/// ` WHERE a AND b` (with a leading space), or empty for no conditions:
/// how readers join a range's predicate with the row filter.
pub fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// A key column as a reader's SQL sorts and compares it (`"id"`,
/// `CAST(\`name\` AS BINARY)`, `"t" COLLATE "C"`).
pub trait KeyExpr {
    fn expr(&self) -> String;
}

/// The conditions selecting a key range, to be ANDed (empty: every row, or
/// a range that is not by key): its lower bound with `>=` and its upper
/// with `<`, each rendered by the engine's `bound(values, op)` (row
/// constructors, expanded comparisons, literals are the engine's).
pub fn key_conditions(
    range: &KeyRange,
    mut bound: impl FnMut(&crate::range::KeyBound, &str) -> String,
) -> Vec<String> {
    let KeyRange::Key { lower, upper } = range else {
        return Vec::new();
    };
    let mut parts = Vec::with_capacity(2);
    if let Some(l) = lower {
        parts.push(bound(l, ">="));
    }
    if let Some(u) = upper {
        parts.push(bound(u, "<"));
    }
    parts
}

/// The `WHERE` clause selecting the rows a range's `conditions` (each
/// engine renders its own bounds) and the plan's row filter keep.
pub fn read_predicate(plan: &TablePlan, mut conditions: Vec<String>) -> String {
    conditions.extend(filter_condition(plan));
    where_clause(&conditions)
}

/// ` ORDER BY` over the key in binary order (with a leading space), or
/// empty for a keyless read.
pub fn order_by<K: KeyExpr>(keys: &[K]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let exprs: Vec<String> = keys.iter().map(KeyExpr::expr).collect();
    format!(" ORDER BY {}", exprs.join(", "))
}

/// Reads rows.
///
/// Every read honours [`TablePlan::row_filter`] (a predicate in this
/// engine's SQL, ANDed into the `WHERE`): rows it rejects are never sent.
pub trait TableReader: Send + Sync {
    /// Streams every row of `plan.source` into `tx` as batches of at most
    /// `batch_rows` rows whose schema is [`plan_schema(plan)`](crate::arrow::plan_schema),
    /// ordered by primary key when there is one. Reads inside one read-only
    /// repeatable-read transaction. Memory stays bounded: the reader waits on
    /// `tx` and never buffers the table. Returns the number of rows sent. If
    /// the receiver is dropped, stops and returns what was sent so far.
    fn read_table(
        &self,
        plan: &TablePlan,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Reads a table in ranges, from one snapshot shared by many sessions.
///
/// The engine opens one snapshot per run ([`open_snapshot`](Self::open_snapshot)),
/// plans each table's ranges, then reads ranges concurrently, each in its own
/// session, all seeing the snapshot's instant. `verify` reads the same
/// ranges, with the same reader, in [`RowOrder::BinaryKey`].
pub trait RangeReader: Send + Sync {
    /// What the sessions of one run share: held open (a coordinator
    /// transaction, a replication connection, or the MySQL sessions
    /// themselves) until dropped. Dropping it ends the snapshot; ranges must
    /// not be read after that.
    type Snapshot: Send + Sync;

    /// Takes the snapshot every range read of this run imports. Returns when
    /// the snapshot exists and its position is known. See
    /// [`SnapshotOptions`] for the slot and lock choices; the returned
    /// [`SnapshotInfo`] says how strong the guarantee is.
    fn open_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> impl Future<Output = Result<(Self::Snapshot, SnapshotInfo)>> + Send;

    /// Whether `plan.primary_key` (of `plan.source`, as this database's
    /// catalog describes it) splits into key ranges. The same answer
    /// [`plan_ranges`](Self::plan_ranges), [`read_range`](Self::read_range)
    /// and [`TableWriter::delete_range`] act on, so a check made before a
    /// run cannot disagree with the run.
    fn key_columns(&self, plan: &TablePlan) -> impl Future<Output = Result<KeySplit>> + Send;

    /// Splits `plan.source` into disjoint half-open ranges whose union is the
    /// table (see [`crate::range`] for the order they use). Boundaries are
    /// sampled from the key, among the rows `plan.row_filter` keeps, so
    /// ranges hold about equal row counts; a table smaller than
    /// `options.min_range_rows` × 2 is one range. Reads only the key (and
    /// the catalog); it does not need the snapshot: rows written after
    /// planning still fall in exactly one range.
    fn plan_ranges(
        &self,
        plan: &TablePlan,
        options: &RangeOptions,
    ) -> impl Future<Output = Result<RangePlan>> + Send;

    /// Streams the rows of `range` that `plan.row_filter` keeps into `tx`,
    /// in `options.order`, with the batch and schema contract of
    /// [`TableReader::read_table`] (bounded memory; stops quietly when the
    /// receiver is dropped). With `snapshot`, reads inside it; without, in a
    /// read-only repeatable-read transaction of its own. Safe to call
    /// concurrently for different ranges of one table; each call uses its
    /// own session. A key range of a table whose key does not split
    /// ([`KeySplit::Unsplittable`]) is an error; [`KeyRange::Whole`] always reads.
    fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&Self::Snapshot>,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Counts the rows of `range` that `plan.row_filter` keeps, as
    /// [`read_range`](Self::read_range) would select them (inside
    /// `snapshot` when given), without sending any: one `count(*)` in the
    /// source. The copy counts the rows a job's `where` leaves out with it,
    /// by giving the filter's complement, in the snapshot the range was
    /// read from, so the count is exact.
    fn count_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&Self::Snapshot>,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// What a sink reports when a table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteReceipt {
    pub rows_written: u64,
}

/// Creates target tables and bulk-loads them.
pub trait TableWriter: Send + Sync {
    /// One table's loader; see [`RangeWriter`].
    type Writer: RangeWriter;

    /// The statements [`prepare`](Self::prepare) runs to create `plan.target`
    /// from scratch (types it needs, then the table with NOT NULL and the
    /// primary key), for `ferry plan --ddl` and for the user to review.
    fn create_ddl(&self, plan: &TablePlan) -> Vec<String>;

    /// Makes the target ready to load: creates the table when absent; when it
    /// exists, fails with [`Error::TargetExists`](crate::Error::TargetExists),
    /// truncates it, or leaves it, per `if_exists`. Durable when it returns.
    fn prepare(
        &self,
        plan: &TablePlan,
        if_exists: IfExists,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Checks, before anything is created or emptied, that every column of
    /// `plan` can be loaded: into the target table as it exists, or else
    /// into the table [`create_ddl`](Self::create_ddl) would create. Fails
    /// as [`open_writer`](Self::open_writer) would (naming table, column
    /// and type), so a column without a writer stops the run before any
    /// DDL. DDL the target refuses is not this check's to report (the plan's
    /// DDL proof and `prepare` do). Leaves the target as it was.
    fn check_writable(&self, plan: &TablePlan) -> impl Future<Output = Result<()>> + Send;

    /// Opens the loader of `plan.target`, which must exist (after
    /// [`prepare`](Self::prepare)): reads the target's real column types
    /// and chooses each column's encoder once, for every range the writer
    /// will load. A column the target lacks, or cannot hold, fails here,
    /// before any row is read. Writes nothing.
    fn open_writer(&self, plan: &TablePlan) -> impl Future<Output = Result<Self::Writer>> + Send;

    /// [`open_writer`](Self::open_writer) and one [`RangeWriter::write`]:
    /// a table loaded in one call.
    fn write_table(
        &self,
        plan: &TablePlan,
        rx: mpsc::Receiver<RecordBatch>,
    ) -> impl Future<Output = Result<WriteReceipt>> + Send {
        async move { self.open_writer(plan).await?.write(rx).await }
    }

    /// Deletes the rows of `range` from `plan.source`, where `plan` describes
    /// a table of this database as its own catalog sees it (resume's clean-up
    /// of a range that may have committed before its checkpoint; the
    /// `verify` target plan). Returns the rows deleted; durable when it
    /// returns. Heap-block ranges mean nothing on a table ferry loaded and
    /// are refused as a bug; so is a key range on a table without a key.
    fn delete_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Loads one target table, range by range, with the encoders chosen when it
/// was opened ([`TableWriter::open_writer`]).
pub trait RangeWriter: Send + Sync {
    /// Bulk-loads every batch from `rx` (schema as the reader's) inside one
    /// transaction of a session of its own, committed when `rx` is closed
    /// and drained; durable when it returns `Ok`. A value the target cannot
    /// hold fails the call with [`Error::Value`](crate::Error::Value) naming
    /// table, column and key, and nothing of the call is committed. Safe to
    /// call concurrently (one session each) when the engine's
    /// [`Capabilities::concurrent_writers`] says so.
    fn write(
        &self,
        rx: mpsc::Receiver<RecordBatch>,
    ) -> impl Future<Output = Result<WriteReceipt>> + Send;

    /// [`write`](Self::write), rolled back instead of committed: nothing of
    /// the call is ever durable. The copy uses it to find which row a
    /// target refuses when the server does not say ([`Error::Refused`]
    /// without a key), without touching the target.
    fn write_uncommitted(
        &self,
        rx: mpsc::Receiver<RecordBatch>,
    ) -> impl Future<Output = Result<WriteReceipt>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_filter_joins_other_conditions_whole() {
        let plan = TablePlan {
            row_filter: Some("a = 1 OR b = 2".into()),
            ..TablePlan::default()
        };
        let mut conditions = vec!["k >= 10".to_string()];
        conditions.extend(filter_condition(&plan));
        assert_eq!(
            where_clause(&conditions),
            " WHERE k >= 10 AND (a = 1 OR b = 2)"
        );
        assert_eq!(where_clause(&[]), "");
        assert_eq!(filter_condition(&TablePlan::default()), None);
    }
}
