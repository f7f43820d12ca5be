//! How a copy runs: the options the job resolves into, and the run state
//! handed to it when ranges are checkpointed.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use ferry_core::batch::BatchLimit;
use ferry_core::range::{RangeOptions, SnapshotOptions};
use ferry_core::{IfExists, TableRef};
use ferry_state::{RunInfo, StateStore};

use crate::reject::RejectWriter;
use crate::verify::VerifyOptions;

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub if_exists: IfExists,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Bytes per Arrow batch: a batch closes at `batch_rows` rows or this
    /// many bytes, whichever comes first (a larger row travels alone).
    pub batch_bytes: usize,
    /// Batches queued between a range's reader and its writer, on top of
    /// the one each end holds (bounds memory; see the module docs).
    pub channel_batches: usize,
    /// Ranges copied at once, each with its own source and target session.
    pub workers: usize,
    /// How tables are split (`max_ranges` defaults to 4 × workers).
    pub ranges: Option<RangeOptions>,
    /// Slot and lock choices for the source snapshot (`sessions` is set
    /// from `workers`).
    pub snapshot: SnapshotOptions,
    /// `ferry copy --verify`: compare each range right after it commits,
    /// reading the source from the same snapshot.
    pub verify: Option<VerifyOptions>,
    /// Checkpoint every range here, and resume what an earlier run left.
    pub state: Option<RunState>,
    /// Times a range is retried after a transient error.
    pub retries: u32,
    /// The first retry's delay; each next one doubles it (at most 30 s).
    pub retry_delay: Duration,
    /// What a row the target refuses does to the copy.
    pub on_error: OnError,
    /// Target tables that existed before the run (their indexes and
    /// constraints are the user's). A resumed run reports the list its
    /// first process recorded instead ([`CopyReport::preexisting`]).
    pub preexisting: Vec<TableRef>,
    /// Where refused rows go with [`OnError::Reject`].
    pub rejects: Option<Arc<RejectWriter>>,
    /// Refused rows per range before the range fails anyway (each costs a
    /// re-read of the range).
    pub max_rejects_per_range: usize,
}

/// What a row the target refuses does to the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The range, then the table, fails (the default).
    #[default]
    Fail,
    /// The row goes to the reject file and the copy goes on.
    Reject,
}

/// A run checkpointed in a state store.
#[derive(Clone)]
pub struct RunState {
    pub store: Arc<StateStore>,
    pub run: RunInfo,
    /// `--resume`: a finished run stays finished (nothing is copied) instead
    /// of starting over.
    pub resume_only: bool,
}

impl std::fmt::Debug for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunState")
            .field("run_id", &self.run.run_id)
            .field("resume_only", &self.resume_only)
            .finish()
    }
}

impl std::fmt::Debug for RejectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RejectWriter")
    }
}

/// What the machine can use, at least 2.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            if_exists: IfExists::Fail,
            batch_rows: ferry_core::batch::DEFAULT_BATCH_ROWS,
            batch_bytes: ferry_core::batch::DEFAULT_BATCH_BYTES,
            channel_batches: 2,
            workers: default_workers(),
            ranges: None,
            snapshot: SnapshotOptions::default(),
            verify: None,
            state: None,
            retries: 5,
            retry_delay: Duration::from_millis(500),
            on_error: OnError::Fail,
            rejects: None,
            max_rejects_per_range: 1000,
            preexisting: Vec::new(),
        }
    }
}

impl CopyOptions {
    /// Where readers close their batches.
    pub fn batch_limit(&self) -> BatchLimit {
        BatchLimit {
            rows: self.batch_rows,
            bytes: self.batch_bytes,
        }
    }

    pub(super) fn range_options(&self) -> RangeOptions {
        self.ranges.unwrap_or(RangeOptions {
            max_ranges: self.workers.max(1) * 4,
            ..RangeOptions::default()
        })
    }
}
