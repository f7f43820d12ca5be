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
//!
//! With a state store ([`RunState`], issue 6) every range is checkpointed:
//! setup (prepare targets, plan ranges, store them) runs under the run's
//! lock, so several processes share one plan; each range is claimed before
//! it is copied and marked done after its target commit. A range left
//! `copying` by a dead process may have committed, so its key range is
//! deleted in the target before it is redone (keyless tables split by heap
//! blocks cannot be deleted by range: such a table starts over). A resumed
//! run reads from a *new* snapshot: ranges copied before and after the stop
//! come from different instants (a later CDC sync from the recorded
//! position reconciles them).
//!
//! A transient error (by server code, see `ErrorKind`) retries the range
//! with exponential backoff, up to `retries` times, after deleting the
//! range in the target in case the lost connection had already committed.
//! With [`OnError::Reject`], a value the target refuses ([`Error::Value`],
//! which names the key) is written to the reject file and the range is
//! read again without that row (see `retry::copy_range_rejecting`); a
//! refusal the server reports for a whole statement ([`Error::Refused`]: a
//! duplicate key, a CHECK) is narrowed to its rows by bisection (`bisect`).

mod bisect;
mod resume;
mod retry;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use ferry_core::error::chain_line;
use ferry_core::event::{Event, EventSink, TableSummary};
use ferry_core::range::{KeyRange, RangeOptions, SnapshotInfo, SnapshotOptions, SplitMethod};
use ferry_core::{Error, ErrorKind, IfExists, Result, TablePlan, TableRef};
use ferry_state::{RunInfo, StateStore};

use crate::adapter::{SourceSnapshot, TargetWriter};
use crate::reject::RejectWriter;
use crate::verify::{self, CompareMode, RowDiff, TableComparison, VerifyOptions};
use crate::Adapter;
use resume::{forget_undone, setup_run};
use retry::{run_range, without_keys, RangeDone};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
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
            batch_rows: 8192,
            channel_batches: 4,
            parallel_tables: 2,
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

/// The run as the state store saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    /// `new`, `resumed`, `restarted` (a finished run copied again) or
    /// `finished` (`--resume` of a finished run: nothing to do).
    pub start: &'static str,
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
}

/// Progress of one table across its ranges.
struct TableState {
    plan: Arc<TablePlan>,
    ranges: Vec<KeyRange>,
    left: usize,
    rows_read: u64,
    rows_written: u64,
    rows_rejected: u64,
    started: Option<Instant>,
    /// The target as its own catalog describes it, for deleting ranges.
    target_plan: Option<Arc<TablePlan>>,
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
    retries: Mutex<Vec<RangeRetry>>,
    /// Each target table's writer by name, opened by its first range so its
    /// encoders are chosen once per table.
    writers: Mutex<HashMap<String, Arc<TargetWriter>>>,
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
    let workers = options.workers.max(1);
    let range_options = options.range_options();
    // With a state store: prepare, plan and store under the run's lock.
    let (stored, run_summary, preexisting) = match &options.state {
        Some(state) => {
            let (stored, summary, preexisting) =
                setup_run(state, &source, &target, &plans, options, &range_options).await?;
            (Some(stored), Some(summary), preexisting)
        }
        None => {
            for plan in &plans {
                target.prepare(plan, options.if_exists).await?;
            }
            (None, None, options.preexisting.clone())
        }
    };
    if run_summary.as_ref().is_some_and(|r| r.start == "finished") {
        return Ok(CopyReport {
            run: run_summary,
            preexisting,
            ..CopyReport::default()
        });
    }
    let mut snapshot_options = options.snapshot.clone();
    snapshot_options.sessions = workers;
    let (snapshot, snapshot_info) = source.open_snapshot(&snapshot_options).await?;
    tracing::debug!(method = %snapshot_info.method, "source snapshot open");

    let mut splits = Vec::with_capacity(plans.len());
    let mut tables = Vec::with_capacity(plans.len());
    let mut queue = VecDeque::new();
    let mut stored = stored.map(Vec::into_iter);
    for (t, plan) in plans.into_iter().enumerate() {
        let (split, done) = match stored.as_mut().and_then(Iterator::next) {
            Some(table) => table,
            None => (source.plan_ranges(&plan, &range_options).await?, Vec::new()),
        };
        let (mut rows_done, mut rejected_done) = (0, 0);
        for (r, d) in done.iter().enumerate() {
            match d {
                Some((rows, rejected)) => {
                    rows_done += rows;
                    rejected_done += rejected;
                }
                None => queue.push_back((t, r)),
            }
        }
        if done.is_empty() {
            queue.extend((0..split.ranges.len()).map(|r| (t, r)));
        }
        let resumed = done.iter().filter(|d| d.is_some()).count();
        splits.push(TableRanges {
            table: plan.source.clone(),
            method: split.method,
            ranges: split.ranges.len(),
            note: split.note.clone(),
            resumed,
        });
        tables.push(Mutex::new(TableState {
            plan: Arc::new(plan),
            left: split.ranges.len() - resumed,
            ranges: split.ranges,
            rows_read: rows_done + rejected_done,
            rows_written: rows_done,
            rows_rejected: rejected_done,
            started: None,
            target_plan: None,
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
        retries: Mutex::new(Vec::new()),
        writers: Mutex::new(HashMap::new()),
    });
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let run = run.clone();
        set.spawn(async move { worker(&run).await });
    }
    let mut report = CopyReport {
        snapshot: Some(snapshot_info),
        splits,
        preexisting,
        ..CopyReport::default()
    };
    let mut outcomes = Vec::new();
    while let Some(joined) = set.join_next().await {
        outcomes.extend(joined.map_err(|e| Error::Bug(format!("copy worker: {e}")))?);
    }
    // Tables an earlier run had finished entirely: no worker saw them.
    for (t, state) in run.tables.iter().enumerate() {
        let st = lock(state)?;
        if st.left == 0 && st.started.is_none() && !st.ranges.is_empty() {
            outcomes.push((t, Ok(summary_of(&st))));
        }
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
                // Ranges an earlier run committed are in the target too.
                let committed = committed + report.splits.get(t).map_or(0, |s| s.resumed);
                let mut removed = true;
                if run.options.state.is_some() && resumable(&e) {
                    // A server or network problem, not the data: what
                    // committed is good, and a re-run resumes after it.
                    removed = false;
                    error.push_str(&format!(
                        " ({committed} committed ranges stay in the target; \
                         re-run the same command to resume the table)"
                    ));
                } else if committed > 0 {
                    let (note, gone) = undo_committed(&run, &plan, committed).await;
                    error.push_str(&note);
                    removed = gone;
                }
                if let (Some(state), true) = (&run.options.state, removed) {
                    error.push_str(&forget_undone(&run, state, &plan).await);
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
    report.retries = std::mem::take(&mut *lock(&run.retries)?);
    if let (Some(state), Some(mut summary)) = (&run.options.state, run_summary) {
        summary.finished =
            report.failed.is_empty() && state.store.finish_run(&state.run.run_id).await?;
        report.run = Some(summary);
    }
    report.tables.sort_by_key(|t| t.table.to_string());
    report.failed.sort_by_key(|t| t.table.to_string());
    Ok(report)
}

/// Whether a table that failed with `e` keeps its committed ranges for a
/// resume: the failure was the servers' or the network's (retries ran out,
/// the source snapshot is gone), not the data's. A data failure (a refused
/// value, a bad mapping) starts the table over, so a corrected re-run does
/// not mix rows converted two ways.
fn resumable(e: &Error) -> bool {
    e.kind() == ErrorKind::Transient || matches!(e, Error::SnapshotLost { .. })
}

/// Removes what the committed ranges of a failed table wrote, where that is
/// safe; returns a note for the failure line.
async fn undo_committed(run: &Run, plan: &TablePlan, committed: usize) -> (String, bool) {
    if run.options.if_exists == IfExists::Append {
        return (
            format!(" ({committed} ranges were committed and stay in the target)"),
            false,
        );
    }
    match run.target.prepare(plan, IfExists::Truncate).await {
        Ok(()) => (String::new(), true),
        Err(e) => (
            format!(
                " ({committed} ranges were committed and could not be removed: {})",
                chain_line(&e)
            ),
            false,
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
            run_range(run, t, r, &plan, &range).await
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
                Some(Ok(RangeDone { rows, rejected })) => {
                    if let (Some(v), Some(outcome)) = (state.verified.as_mut(), verdict) {
                        tally(v, outcome, run.options.verify.as_ref());
                    }
                    state.rows_read += rows + rejected;
                    state.rows_written += rows;
                    state.rows_rejected += rejected;
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
                            rejected,
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
            None => Ok(summary_of(&state)),
        };
        done.push((t, outcome));
    }
    done
}

/// A table's summary from its state.
fn summary_of(state: &TableState) -> TableSummary {
    let seconds = state
        .started
        .map(|s| s.elapsed().as_secs_f64())
        .unwrap_or(0.0);
    TableSummary {
        table: state.plan.source.clone(),
        target: state.plan.target.clone(),
        rows_read: state.rows_read,
        rows_written: state.rows_written,
        rows_rejected: state.rows_rejected,
        seconds,
        rows_per_second: if seconds > 0.0 {
            state.rows_read as f64 / seconds
        } else {
            0.0
        },
    }
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

/// The writer of `plan.target`, opened by the first range that needs it
/// (two ranges racing may both open one; the first stored is kept).
async fn writer_for(run: &Run, plan: &TablePlan) -> Result<Arc<TargetWriter>> {
    let name = plan.target.to_string();
    if let Some(w) = lock(&run.writers)?.get(&name) {
        return Ok(w.clone());
    }
    let opened = Arc::new(run.target.open_writer(plan).await?);
    Ok(lock(&run.writers)?.entry(name).or_insert(opened).clone())
}

/// Copies one range: read inside the snapshot, write in one target
/// transaction, leaving out the rows whose rendered key is in `skip`
/// (rejected earlier). Returns the rows committed.
async fn copy_range(
    run: &Run,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    skip: &HashSet<String>,
) -> Result<u64> {
    let cap = run.options.channel_batches.max(1);
    let (read_tx, mut read_rx) = mpsc::channel(cap);
    let (write_tx, write_rx) = mpsc::channel(cap);
    let writer = {
        let target = writer_for(run, plan).await?;
        tokio::spawn(async move { target.write(write_rx).await })
    };
    let batch_rows = run.options.batch_rows;
    // The reader runs in this task (it borrows the snapshot); the forwarder
    // runs beside it, so batches flow while the reader waits on the network.
    let reader = run
        .source
        .read_range(plan, range, Some(&run.snapshot), batch_rows, read_tx);
    let forward = async {
        let mut forwarded: u64 = 0;
        let mut skipped: u64 = 0;
        let mut writer_gone = false;
        'batches: while let Some(batch) = read_rx.recv().await {
            let pieces = if skip.is_empty() {
                vec![batch]
            } else {
                let (kept, left_out) = without_keys(plan, batch, skip);
                skipped += left_out;
                kept
            };
            for piece in pieces {
                let rows = piece.num_rows() as u64;
                if write_tx.send(piece).await.is_err() {
                    writer_gone = true;
                    break 'batches;
                }
                forwarded += rows;
                run.events.send(Event::RowsWritten {
                    table: plan.source.clone(),
                    rows,
                });
            }
        }
        // Unblocks a reader waiting on a full channel when the writer failed.
        drop(read_rx);
        (forwarded, skipped, writer_gone, write_tx)
    };
    let (read, (forwarded, skipped, writer_gone, write_tx)) = tokio::join!(reader, forward);
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
    if rows_read != forwarded + skipped || receipt.rows_written != forwarded {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "row counts of range {range} do not reconcile: read {rows_read}, \
                 forwarded {forwarded}, rejected {skipped}, written {}",
                receipt.rows_written
            ),
        });
    }
    Ok(forwarded)
}
