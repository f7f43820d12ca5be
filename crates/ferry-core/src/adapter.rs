//! The capabilities an engine adapter provides, as traits.
//!
//! The engine holds adapters in an enum (the engines are a closed set) and
//! calls these methods through it; the traits exist to state each contract in
//! one place and to keep the PostgreSQL and MySQL adapters shaped alike.
//!
//! Adapters own no long-lived connection: every call opens what it needs from
//! the [`DbUrl`](crate::DbUrl) it was built with, so tables can run
//! concurrently without sharing a session.

use std::future::Future;

use arrow_array::RecordBatch;
use tokio::sync::mpsc;

use crate::error::Result;
use crate::plan::{IfExists, RawTable, TablePlan, TableRef};
use crate::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};

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
}

/// Reads rows.
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
/// session, all seeing the snapshot's instant. Issue-5 `verify` reads the same
/// ranges from a target with `snapshot: None`.
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

    /// Splits `plan.source` into disjoint half-open ranges whose union is the
    /// table (see [`crate::range`] for the order they use). Boundaries are
    /// sampled from the key so ranges hold about equal row counts; a table
    /// smaller than `options.min_range_rows` × 2 is one range. Reads only the
    /// key (and the catalog); it does not need the snapshot: rows written
    /// after planning still fall in exactly one range.
    fn plan_ranges(
        &self,
        plan: &TablePlan,
        options: &RangeOptions,
    ) -> impl Future<Output = Result<RangePlan>> + Send;

    /// Streams the rows of `range` into `tx`, with the batch and schema
    /// contract of [`TableReader::read_table`] (ordered by key when there is
    /// one; bounded memory; stops quietly when the receiver is dropped).
    /// With `snapshot`, reads inside it; without, in a read-only
    /// repeatable-read transaction of its own. Safe to call concurrently
    /// for different ranges of one table; each call uses its own session.
    fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&Self::Snapshot>,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// What a sink reports when a table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteReceipt {
    pub rows_written: u64,
}

/// Creates target tables and bulk-loads them.
pub trait TableWriter: Send + Sync {
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

    /// Bulk-loads every batch from `rx` (schema as the reader's) into
    /// `plan.target` inside one transaction, committed when `rx` is closed
    /// and drained. A value the target cannot hold fails the call with
    /// [`Error::Value`](crate::Error::Value) naming table, column and key, and
    /// nothing of the call is committed.
    fn write_table(
        &self,
        plan: &TablePlan,
        rx: mpsc::Receiver<RecordBatch>,
    ) -> impl Future<Output = Result<WriteReceipt>> + Send;
}
