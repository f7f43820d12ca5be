//! What a copy reports: per table, per range, retries, verification and the
//! run, as the binary renders it in text and JSON.

use serde::Serialize;

use ferry_core::event::TableSummary;
use ferry_core::range::{KeyRange, SnapshotInfo, SplitMethod};
use ferry_core::TableRef;

use crate::verify::{CompareMode, RowDiff};

pub use crate::failure::TableFailure;

/// How one table was split, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct TableRanges {
    pub table: TableRef,
    pub method: SplitMethod,
    pub ranges: usize,
    pub note: Option<String>,
    /// Ranges an earlier run had finished (skipped by this one).
    pub resumed: usize,
}

/// A range retried after a transient error.
#[derive(Debug, Clone, Serialize)]
pub struct RangeRetry {
    pub table: TableRef,
    pub index: usize,
    pub attempt: u32,
    pub error: String,
}

/// How a process found its run in the state store; set by the run's setup
/// under the run's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOpening {
    /// No such run: this process registered it and planned its ranges.
    New,
    /// The run was unfinished: ranges done before are skipped.
    Resumed,
    /// The run had finished and is copied again from the start.
    Restarted,
    /// `--resume` of a finished run: nothing to do, nothing is touched.
    Finished,
}

impl std::fmt::Display for RunOpening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunOpening::New => "new",
            RunOpening::Resumed => "resumed",
            RunOpening::Restarted => "restarted",
            RunOpening::Finished => "finished",
        })
    }
}

/// The run as the state store saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    /// How this process found the run.
    pub start: RunOpening,
    /// Whether this process takes the run's last step (every range is done):
    /// exactly one live process of a run sees this; it builds the post-data
    /// schema, then marks the run finished (`ferry_state::StateStore::mark_finished`).
    pub finished: bool,
}

/// One committed range: the receipt issue 6 checkpoints.
#[derive(Debug, Clone, Serialize)]
pub struct RangeReceipt {
    pub table: TableRef,
    pub index: usize,
    pub range: KeyRange,
    pub rows: u64,
    pub rejected: u64,
    /// Rows the job's `where` left out.
    pub filtered: u64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CopyReport {
    pub tables: Vec<TableSummary>,
    pub failed: Vec<TableFailure>,
    /// The snapshot every range was read from.
    pub snapshot: Option<SnapshotInfo>,
    pub splits: Vec<TableRanges>,
    /// Every committed range, sorted by table and index.
    pub ranges: Vec<RangeReceipt>,
    /// With `--verify`: what the comparison after each range found, per table.
    pub verified: Vec<TableVerified>,
    /// Transient failures that were retried.
    pub retries: Vec<RangeRetry>,
    /// With a state store.
    pub run: Option<RunSummary>,
    /// Target tables that existed before the run started (for a resumed
    /// run: before its first process started).
    pub preexisting: Vec<TableRef>,
}

/// What `ferry copy --verify` found for one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableVerified {
    pub table: TableRef,
    pub rows_compared: u64,
    pub differences: u64,
    /// The first differences, in key order.
    pub diffs: Vec<RowDiff>,
    /// How rows were matched (by key per range, or as a multiset of the whole table).
    pub mode: CompareMode,
    /// One character per chunk in key order, as `ferry verify`'s
    /// [`RangeOutcome::chunk_map`](crate::verify::RangeOutcome).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub chunk_map: String,
    /// Each compared range's chunk map by range index (`usize::MAX` for a
    /// whole-table comparison), joined in key order when the run ends:
    /// ranges finish in any order.
    #[serde(skip)]
    pub range_maps: Vec<(usize, String)>,
}

impl TableVerified {
    /// Joins the ranges' chunk maps in range (key) order.
    pub fn join_chunk_maps(&mut self) {
        self.range_maps.sort_by_key(|(i, _)| *i);
        self.chunk_map = self.range_maps.iter().map(|(_, m)| m.as_str()).collect();
    }
}

impl CopyReport {
    pub fn rows_read(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_read).sum()
    }
    pub fn rows_written(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_written).sum()
    }
    pub fn rows_rejected(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_rejected).sum()
    }
    pub fn rows_filtered(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_filtered).sum()
    }
}
