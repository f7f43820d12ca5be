//! Changes committed on a source after a copy's snapshot, in the shape every
//! change source produces and every change sink applies (`ferry sync`).
//!
//! A source decodes its own stream (PostgreSQL pgoutput, MySQL binlog) into
//! [`SourceTxn`]s: one per source transaction, in commit order. Inside a
//! transaction the changes are [`ChangeBatch`]es, in source order, each a run
//! of one kind on one table whose rows touch distinct keys, so a sink may
//! apply a batch as one set-based statement without reordering anything.
//! Row values are Arrow arrays in the plan's schema
//! ([`plan_schema`](crate::arrow::plan_schema)), the same hub form the copy
//! moves, so a change goes through the same target encoders as a copied row.

use arrow_array::RecordBatch;

/// What a batch does to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// Insert each row, or overwrite the row with its key. Columns listed in
    /// [`ChangeBatch::unchanged`] are left as the target has them (their
    /// cells in `rows` are NULL placeholders and must not be written); such
    /// a batch only ever holds updates of existing rows.
    Upsert,
    /// Delete the rows with these keys; only the key columns of `rows` hold
    /// values.
    Delete,
}

/// A run of one kind of change on one table, keys distinct within the run.
#[derive(Debug, Clone)]
pub struct ChangeBatch {
    /// Index of the table in the plans the source was opened with.
    pub table: usize,
    pub op: ChangeOp,
    pub rows: RecordBatch,
    /// Column indexes (into the plan's columns) an update left untouched.
    pub unchanged: Vec<usize>,
}

/// One committed source transaction.
#[derive(Debug, Clone)]
pub struct SourceTxn {
    /// Where the transaction ends in the source's stream, in the source's
    /// own notation (a PostgreSQL LSN `X/Y`). A sink stores it with the
    /// changes; the source resumes after it.
    pub position: String,
    /// The same position as a number that grows along the stream, for
    /// comparisons and lag in bytes.
    pub position_num: u64,
    /// Source commit time, µs since the Unix epoch.
    pub commit_time_us: i64,
    pub batches: Vec<ChangeBatch>,
}

impl SourceTxn {
    /// Number of row changes.
    pub fn changes(&self) -> u64 {
        self.batches.iter().map(|b| b.rows.num_rows() as u64).sum()
    }
}

/// What a change source yields.
#[derive(Debug)]
pub enum SourceEvent {
    /// The next committed transaction.
    Txn(SourceTxn),
    /// Nothing committed lately; the source's log ends at `wal_end` (same
    /// numbering as [`SourceTxn::position_num`]).
    Idle {
        wal_end: u64,
        /// A position the source vouches for: every change before it was
        /// yielded already (the rest of the log up to it touched no synced
        /// table). A sink may store it with no changes, so a restart does
        /// not read that stretch again. `None` when the source cannot say
        /// (a PostgreSQL keepalive's end of WAL may be ahead of decoding).
        resume: Option<String>,
    },
}
