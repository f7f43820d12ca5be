//! Typed progress events. The library never draws; the binary renders these
//! (indicatif bars on a terminal, periodic lines otherwise, nothing with --quiet).

use serde::{Deserialize, Serialize};

use crate::plan::TableRef;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Every table is described and planned; nothing was written yet.
    Planned { tables: Vec<PlannedTable> },
    /// Something the user should know that does not stop the run (a schema
    /// object that does not translate, a lossy rule in effect, copying an
    /// unclean plan on purpose). `line` is the whole sentence.
    Warning { line: String },
    /// A count or fact for the user (a lossy rule's values, a step taken).
    Note { line: String },
    /// A table's copy is about to start reading.
    TableStarted {
        table: TableRef,
        estimated_rows: Option<u64>,
    },
    /// `rows` more rows were sent to the target's writer for `table`
    /// (counted again when a failed range is retried); `bytes` is their
    /// size as Arrow data (values, offsets and validity), for MB/s.
    RowsWritten {
        table: TableRef,
        rows: u64,
        #[serde(default)]
        bytes: u64,
    },
    /// One range of `table` was committed to the target (in its own
    /// transaction): durable from now on. `range` indexes the table's
    /// [`RangePlan`](crate::range::RangePlan); issue 6 checkpoints these.
    RangeFinished {
        table: TableRef,
        range: usize,
        ranges: usize,
        rows: u64,
        /// The worker that copied it (0..workers).
        #[serde(default)]
        worker: usize,
        /// How long the range took, retries and its `--verify` included.
        #[serde(default)]
        seconds: f64,
    },
    /// The table is done; `summary` is final.
    TableFinished { summary: TableSummary },
    /// A table failed; its error is also returned from the run.
    TableFailed { table: TableRef, error: String },
}

/// One table of [`Event::Planned`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedTable {
    pub table: TableRef,
    pub target: TableRef,
    pub estimated_rows: Option<u64>,
}

/// Per-table result of a copy, as printed at the end and in `--format json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableSummary {
    pub table: TableRef,
    pub target: TableRef,
    /// Rows of the table the copy looked at: written + rejected + filtered.
    pub rows_read: u64,
    pub rows_written: u64,
    /// Rows the target refused or a check failed, each a line of the reject file.
    pub rows_rejected: u64,
    /// Rows the job's `where` left out (counted in the source, in the
    /// copy's snapshot).
    #[serde(default)]
    pub rows_filtered: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

/// Where engine code sends events: any callback, so ferry-core needs no
/// runtime. Cheap to clone.
#[derive(Clone)]
pub struct EventSink(Option<std::sync::Arc<dyn Fn(Event) + Send + Sync>>);

impl EventSink {
    pub fn none() -> Self {
        EventSink(None)
    }

    pub fn new(f: impl Fn(Event) + Send + Sync + 'static) -> Self {
        EventSink(Some(std::sync::Arc::new(f)))
    }

    pub fn send(&self, event: Event) {
        if let Some(f) = &self.0 {
            f(event)
        }
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}
