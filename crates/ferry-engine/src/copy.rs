//! Copying planned tables, range by range, from one source snapshot.
//!
//! A run: prepare every target table (a DDL problem stops the run before any
//! row moves), open one snapshot of the source, plan each table's ranges,
//! then let `workers` tasks take (table, range) units from one queue. Many
//! tables therefore run at once, and a big table keeps every worker busy.
//!
//! A range is the unit of work: one source session reading inside the
//! snapshot, one target transaction, committed when the range is read
//! completely ([`Event::RangeFinished`] then says it is durable). Per range:
//! reader → bounded channel → forwarder (counts, reports) → bounded
//! channel → writer. The forwarder sits in the worker so that a failed read
//! can *abort* the writer before its input channel closes: a writer commits
//! when its channel closes cleanly, and a half-read range must never be
//! committed. Memory is bounded by `workers × 2 × channel_batches` batches.
//!
//! A table with a failed range stops taking new ranges; ranges already
//! committed are removed again (the table is truncated) unless the run
//! appends to an existing table, where ferry cannot tell its rows from the
//! user's; the failure then says how many ranges stayed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use ferry_core::error::chain_line;
use ferry_core::event::{Event, EventSink, TableSummary};
use ferry_core::range::{
    KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions, SplitMethod,
};
use ferry_core::{Error, IfExists, Result, TablePlan, TableRef};

use crate::adapter::SourceSnapshot;
use crate::verify::{self, CompareMode, RowDiff, TableComparison, VerifyOptions};
use crate::Adapter;

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub if_exists: IfExists,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Batches in flight between reader and writer (bounds memory).
    pub channel_batches: usize,
    /// Kept for compatibility; `workers` decides how much runs at once.
    pub parallel_tables: usize,
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
            batch_rows: 8192,
            channel_batches: 4,
            parallel_tables: 2,
            workers: default_workers(),
            ranges: None,
            snapshot: SnapshotOptions::default(),
            verify: None,
        }
    }
}

impl CopyOptions {
    fn range_options(&self) -> RangeOptions {
        self.ranges.unwrap_or(RangeOptions {
            max_ranges: self.workers.max(1) * 4,
            ..RangeOptions::default()
        })
    }
}

/// A table that did not copy, and why (one line, no values, no passwords).
#[derive(Debug, Clone, Serialize)]
pub struct TableFailure {
    pub table: TableRef,
    pub error: String,
}

/// How one table was split, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct TableRanges {
    pub table: TableRef,
    pub method: SplitMethod,
    pub ranges: usize,
    pub note: Option<String>,
}

/// One committed range: the receipt issue 6 checkpoints.
#[derive(Debug, Clone, Serialize)]
pub struct RangeReceipt {
    pub table: TableRef,
    pub index: usize,
    pub range: KeyRange,
    pub rows: u64,
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
}

impl CopyReport {
    pub fn rows_read(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_read).sum()
    }
    pub fn rows_written(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_written).sum()
    }
}

/// Progress of one table across its ranges.
struct TableState {
    plan: Arc<TablePlan>,
    ranges: Vec<KeyRange>,
    left: usize,
    rows_read: u64,
    rows_written: u64,
    started: Option<Instant>,
    error: Option<Error>,
    committed: usize,
    /// Set with `--verify`.
    cmp: Option<Arc<TableComparison>>,
    verified: Option<TableVerified>,
}

/// Shared by the workers.
struct Run {
    source: Arc<Adapter>,
    target: Arc<Adapter>,
    snapshot: SourceSnapshot,
    options: CopyOptions,
    events: EventSink,
    queue: Mutex<VecDeque<(usize, usize)>>,
    tables: Vec<Mutex<TableState>>,
    receipts: Mutex<Vec<RangeReceipt>>,
}

/// Prepares every target table, opens the source snapshot, plans ranges,
/// then copies them with `options.workers` workers.
///
/// Tables fail independently: the report lists each failure, and the caller
/// turns any into a non-zero exit. A failure to open the snapshot or plan a
/// table fails the run before any row moves.
pub async fn copy(
    source: Arc<Adapter>,
    target: Arc<Adapter>,
    plans: Vec<TablePlan>,
    options: &CopyOptions,
    events: EventSink,
) -> Result<CopyReport> {
    for plan in &plans {
        target.prepare(plan, options.if_exists).await?;
    }
    let workers = options.workers.max(1);
    let mut snapshot_options = options.snapshot.clone();
    snapshot_options.sessions = workers;
    let (snapshot, snapshot_info) = source.open_snapshot(&snapshot_options).await?;
    tracing::debug!(method = %snapshot_info.method, "source snapshot open");

    let range_options = options.range_options();
    let mut splits = Vec::with_capacity(plans.len());
    let mut tables = Vec::with_capacity(plans.len());
    let mut queue = VecDeque::new();
    for (t, plan) in plans.into_iter().enumerate() {
        let split: RangePlan = source.plan_ranges(&plan, &range_options).await?;
        for r in 0..split.ranges.len() {
            queue.push_back((t, r));
        }
        splits.push(TableRanges {
            table: plan.source.clone(),
            method: split.method,
            ranges: split.ranges.len(),
            note: split.note.clone(),
        });
        tables.push(Mutex::new(TableState {
            plan: Arc::new(plan),
            left: split.ranges.len(),
            ranges: split.ranges,
            rows_read: 0,
            rows_written: 0,
            started: None,
            error: None,
            committed: 0,
            cmp: None,
            verified: None,
        }));
    }

    if let Some(vopts) = &options.verify {
        for state in &tables {
            let plan = lock(state)?.plan.clone();
            let cmp = verify::prepare_table(&source, &target, &plan, vopts.float_ulps).await?;
            let mut st = lock(state)?;
            st.verified = Some(TableVerified {
                table: plan.source.clone(),
                rows_compared: 0,
                differences: 0,
                diffs: Vec::new(),
                mode: cmp.mode.clone(),
            });
            st.cmp = Some(Arc::new(cmp));
        }
    }

    let run = Arc::new(Run {
        source,
        target,
        snapshot,
        options: options.clone(),
        events: events.clone(),
        queue: Mutex::new(queue),
        tables,
        receipts: Mutex::new(Vec::new()),
    });
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let run = run.clone();
        set.spawn(async move { worker(&run).await });
    }
    let mut report = CopyReport {
        snapshot: Some(snapshot_info),
        splits,
        ..CopyReport::default()
    };
    let mut outcomes = Vec::new();
    while let Some(joined) = set.join_next().await {
        outcomes.extend(joined.map_err(|e| Error::Bug(format!("copy worker: {e}")))?);
    }
    for (t, outcome) in outcomes {
        let plan = lock(&run.tables[t])?.plan.clone();
        match outcome {
            Ok(summary) => {
                events.send(Event::TableFinished {
                    summary: summary.clone(),
                });
                report.tables.push(summary);
            }
            Err((e, committed)) => {
                let mut error = chain_line(&e);
                if committed > 0 {
                    error.push_str(&undo_committed(&run, &plan, committed).await);
                }
                events.send(Event::TableFailed {
                    table: plan.source.clone(),
                    error: error.clone(),
                });
                report.failed.push(TableFailure {
                    table: plan.source.clone(),
                    error,
                });
            }
        }
    }
    for state in &run.tables {
        if let Some(v) = lock(state)?.verified.take() {
            report.verified.push(v);
        }
    }
    report.verified.sort_by_key(|v| v.table.to_string());
    let mut receipts = std::mem::take(&mut *lock(&run.receipts)?);
    receipts.sort_by_key(|r| (r.table.to_string(), r.index));
    report.ranges = receipts;
    report.tables.sort_by_key(|t| t.table.to_string());
    report.failed.sort_by_key(|t| t.table.to_string());
    Ok(report)
}

/// Removes what the committed ranges of a failed table wrote, where that is
/// safe; returns a note for the failure line.
async fn undo_committed(run: &Run, plan: &TablePlan, committed: usize) -> String {
    if run.options.if_exists == IfExists::Append {
        return format!(" ({committed} ranges were committed and stay in the target)");
    }
    match run.target.prepare(plan, IfExists::Truncate).await {
        Ok(()) => String::new(),
        Err(e) => format!(
            " ({committed} ranges were committed and could not be removed: {})",
            chain_line(&e)
        ),
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Bug("copy state poisoned".into()))
}

type TableOutcome = std::result::Result<TableSummary, (Error, usize)>;

/// Takes units until the queue is empty; returns the outcome of each table
/// whose last range this worker finished.
async fn worker(run: &Run) -> Vec<(usize, TableOutcome)> {
    let mut done = Vec::new();
    loop {
        let next = match lock(&run.queue) {
            Ok(mut q) => q.pop_front(),
            Err(_) => None,
        };
        let Some((t, r)) = next else { break };
        let claimed = lock(&run.tables[t]).map(|mut state| {
            if state.started.is_none() {
                state.started = Some(Instant::now());
                run.events.send(Event::TableStarted {
                    table: state.plan.source.clone(),
                    estimated_rows: state.plan.estimated_rows,
                });
            }
            (
                state.error.is_some(),
                state.plan.clone(),
                state.ranges[r].clone(),
                state.ranges.len(),
                state.cmp.clone(),
            )
        });
        let Ok((skip, plan, range, total, cmp)) = claimed else {
            break;
        };

        let mut result = if skip {
            None
        } else {
            Some(copy_range(run, &plan, &range).await)
        };
        // --verify: compare the committed range now, from the same snapshot.
        let mut verdict = None;
        if let (Some(Ok(_)), Some(cmp), Some(vopts)) = (&result, &cmp, &run.options.verify) {
            if per_range(cmp, &range) {
                match verify::verify_range(
                    &run.source,
                    &run.target,
                    cmp,
                    Some(&range),
                    Some(&run.snapshot),
                    vopts,
                )
                .await
                {
                    Ok(outcome) => verdict = Some(outcome),
                    Err(e) => result = Some(Err(e)),
                }
            }
        }

        // First lock: record the range; learn whether the table is finished
        // and needs a whole-table comparison (never awaited under the lock).
        let whole = {
            let Ok(mut state) = lock(&run.tables[t]) else {
                break;
            };
            match result {
                Some(Ok(rows)) => {
                    if let (Some(v), Some(outcome)) = (state.verified.as_mut(), verdict) {
                        tally(v, outcome, run.options.verify.as_ref());
                    }
                    state.rows_read += rows;
                    state.rows_written += rows;
                    state.committed += 1;
                    run.events.send(Event::RangeFinished {
                        table: plan.source.clone(),
                        range: r,
                        ranges: total,
                        rows,
                    });
                    if let Ok(mut receipts) = lock(&run.receipts) {
                        receipts.push(RangeReceipt {
                            table: plan.source.clone(),
                            index: r,
                            range,
                            rows,
                        });
                    }
                }
                Some(Err(e)) => {
                    state.error.get_or_insert(e);
                }
                None => {}
            }
            state.left -= 1;
            if state.left > 0 {
                continue;
            }
            // Keyless tables (multiset) and heap-block ranges are compared
            // whole once every range is in, still from the copy's snapshot.
            match (&state.cmp, &state.error) {
                (Some(cmp), None) if state.ranges.iter().any(|r| !per_range(cmp, r)) => {
                    Some(cmp.clone())
                }
                _ => None,
            }
        };
        let whole_outcome = match (whole, &run.options.verify) {
            (Some(cmp), Some(vopts)) => Some(
                verify::verify_range(
                    &run.source,
                    &run.target,
                    &cmp,
                    None,
                    Some(&run.snapshot),
                    vopts,
                )
                .await,
            ),
            _ => None,
        };
        // Second lock: the table's outcome.
        let Ok(mut state) = lock(&run.tables[t]) else {
            break;
        };
        match whole_outcome {
            Some(Ok(o)) => {
                if let Some(v) = state.verified.as_mut() {
                    tally(v, o, run.options.verify.as_ref());
                }
            }
            Some(Err(e)) => {
                state.error.get_or_insert(e);
            }
            None => {}
        }
        let outcome = match state.error.take() {
            Some(e) => Err((e, state.committed)),
            None => {
                let seconds = state
                    .started
                    .map(|s| s.elapsed().as_secs_f64())
                    .unwrap_or(0.0);
                Ok(TableSummary {
                    table: plan.source.clone(),
                    target: plan.target.clone(),
                    rows_read: state.rows_read,
                    rows_written: state.rows_written,
                    rows_rejected: 0,
                    seconds,
                    rows_per_second: if seconds > 0.0 {
                        state.rows_read as f64 / seconds
                    } else {
                        0.0
                    },
                })
            }
        };
        done.push((t, outcome));
    }
    done
}

/// Whether `range` of a table can be compared on its own right after it
/// commits: key ranges of a table matched by key. Heap-block ranges select
/// pages that mean nothing on the target, and multiset tables need every row.
fn per_range(cmp: &TableComparison, range: &KeyRange) -> bool {
    matches!(cmp.mode, CompareMode::KeyOrder { .. }) && !matches!(range, KeyRange::Blocks { .. })
}

fn tally(v: &mut TableVerified, outcome: verify::RangeOutcome, opts: Option<&VerifyOptions>) {
    v.rows_compared += outcome.rows_source;
    v.differences += outcome.differences();
    let cap = opts.map(|o| o.max_diffs).unwrap_or(100);
    for d in outcome.diffs {
        if v.diffs.len() < cap {
            v.diffs.push(d);
        }
    }
}

/// Copies one range: read inside the snapshot, write in one target
/// transaction. Returns the rows committed.
async fn copy_range(run: &Run, plan: &Arc<TablePlan>, range: &KeyRange) -> Result<u64> {
    let cap = run.options.channel_batches.max(1);
    let (read_tx, mut read_rx) = mpsc::channel(cap);
    let (write_tx, write_rx) = mpsc::channel(cap);
    let writer = {
        let (target, plan) = (run.target.clone(), plan.clone());
        tokio::spawn(async move { target.write_table(&plan, write_rx).await })
    };
    let batch_rows = run.options.batch_rows;
    // The reader runs in this task (it borrows the snapshot); the forwarder
    // runs beside it, so batches flow while the reader waits on the network.
    let reader = run
        .source
        .read_range(plan, range, Some(&run.snapshot), batch_rows, read_tx);
    let forward = async {
        let mut forwarded: u64 = 0;
        let mut writer_gone = false;
        while let Some(batch) = read_rx.recv().await {
            let rows = batch.num_rows() as u64;
            if write_tx.send(batch).await.is_err() {
                writer_gone = true;
                break;
            }
            forwarded += rows;
            run.events.send(Event::RowsWritten {
                table: plan.source.clone(),
                rows,
            });
        }
        // Unblocks a reader waiting on a full channel when the writer failed.
        drop(read_rx);
        (forwarded, writer_gone, write_tx)
    };
    let (read, (forwarded, writer_gone, write_tx)) = tokio::join!(reader, forward);
    let rows_read = match read {
        Ok(n) if !writer_gone => n,
        Ok(_) => {
            // The writer stopped early: its error is the story.
            drop(write_tx);
            return match writer.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(_)) => Err(Error::Bug("writer finished before its input".into())),
                Err(e) => Err(Error::Bug(format!("writer task: {e}"))),
            };
        }
        Err(e) => {
            // Abort before closing the writer's channel, so nothing commits.
            writer.abort();
            let _ = writer.await;
            drop(write_tx);
            return Err(e);
        }
    };
    drop(write_tx);
    let receipt = writer
        .await
        .map_err(|e| Error::Bug(format!("writer task: {e}")))??;
    if rows_read != forwarded || receipt.rows_written != rows_read {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "row counts of range {range} do not reconcile: read {rows_read}, \
                 forwarded {forwarded}, written {}",
                receipt.rows_written
            ),
        });
    }
    Ok(rows_read)
}
