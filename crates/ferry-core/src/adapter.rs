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
