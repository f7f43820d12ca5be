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
//! committed.
//!
//! **Memory** is bounded by bytes, not rows: a batch closes at `batch_rows`
//! rows or `batch_bytes` bytes, whichever comes first (a single larger row
//! travels alone). Per range in flight there are at most the batch the
//! reader is filling, `channel_batches` queued for the forwarder, the one it
//! holds, one queued for the writer and the one the writer encodes: with
//! the defaults (2 queued) six batches, so peak memory is about
//! `workers × 6 × batch_bytes` plus what each engine's encoder holds beside
//! the batch it encodes (PostgreSQL: a 1 MB COPY buffer; MySQL: the LOAD
//! DATA text of 1 MB of rows) and, for a value larger than the budget, the
//! driver's copy of its row.
//!
//! A table with a failed range stops taking new ranges. When the data
//! failed it (a value refused by key, found by the reader or the writer as
//! the rows stream, since the pre-flight reads only a sample), what its
//! committed ranges wrote is removed again: a table this run created is
//! dropped (the target is as it was before the run, so a corrected re-run
//! starts clean, even with `--if-exists fail`), a table that existed before
//! is truncated, and a table the run appends to keeps them, because ferry
//! cannot tell its rows from the user's; the failure then says how many
//! ranges stayed. When the servers failed it (retries ran out, the snapshot
//! is gone), committed ranges stay for a resume.
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
mod options;
mod pipe;
mod report;
mod resume;
mod retry;
mod worker;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::task::JoinSet;

use ferry_core::error::chain_line;
use ferry_core::event::{Event, EventSink};
use ferry_core::range::KeyRange;
use ferry_core::{Error, ErrorKind, IfExists, Result, TablePlan};

use crate::adapter::{SourceSnapshot, TargetWriter};
use crate::verify::{self, TableComparison};
use crate::Adapter;
pub use options::{default_workers, CopyOptions, OnError, RunState};
use pipe::copy_range;
pub use report::{
    CopyReport, RangeReceipt, RangeRetry, RunOpening, RunSummary, TableFailure, TableRanges,
    TableVerified,
};
use resume::{forget_undone, setup_run};
use worker::{summary_of, worker};

/// Progress of one table across its ranges.
struct TableState {
    plan: Arc<TablePlan>,
    ranges: Vec<KeyRange>,
    left: usize,
    rows_read: u64,
    rows_written: u64,
    rows_rejected: u64,
    rows_filtered: u64,
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
    /// One permit when the target takes one writer at a time
    /// ([`Capabilities::concurrent_writers`](ferry_core::Capabilities)):
    /// ranges are still read in parallel, up to their channels, and written
    /// one after another.
    write_gate: Option<Arc<tokio::sync::Semaphore>>,
}

/// A copy meant to be followed (`--cdc-slot`) records where its snapshot
/// sits in the source's log, under the stream's name: where a sync whose
/// source does not keep its place (a MySQL binary log) starts. A resumed
/// copy keeps the first run's position: its snapshot is older, so a sync
/// from there replays changes that ranges copied later already hold (each
/// replayed change writes a whole row or deletes one by key, so they
/// converge) rather than miss changes the earlier ranges lack.
async fn record_stream_start(
    state: Option<&RunState>,
    stream: &str,
    info: &ferry_core::range::SnapshotInfo,
) -> Result<()> {
    use ferry_core::range::SnapshotConsistency;
    let position = match (&info.position, info.consistency) {
        (Some(p), SnapshotConsistency::Exact) => p,
        _ => {
            return Err(Error::Invalid(format!(
                "--cdc-slot {stream}: the copy's snapshot has no exact position in the source's \
                 log ({}), so a sync could not start where the copy ends; on MySQL give \
                 --lock-source",
                info.method
            )))
        }
    };
    let Some(state) = state else {
        return Ok(());
    };
    let run = &state.run.run_id;
    if state
        .store
        .load_stream_position(run, stream)
        .await?
        .is_none()
    {
        let json = serde_json::to_string(position).map_err(|e| Error::Bug(e.to_string()))?;
        state.store.save_stream_position(run, stream, &json).await?;
    }
    Ok(())
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
            resume::prepare_all(
                &target,
                &plans,
                options.if_exists,
                RunOpening::New,
                &options.preexisting,
            )
            .await?;
            (None, None, options.preexisting.clone())
        }
    };
    if run_summary
        .as_ref()
        .is_some_and(|r| r.start == RunOpening::Finished)
    {
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
    if let Some(stream) = &options.snapshot.cdc_slot {
        record_stream_start(options.state.as_ref(), stream, &snapshot_info).await?;
    }

    let mut splits = Vec::with_capacity(plans.len());
    let mut tables = Vec::with_capacity(plans.len());
    let mut queue = VecDeque::new();
    let mut stored = stored.map(Vec::into_iter);
    for (t, plan) in plans.into_iter().enumerate() {
        let (split, done) = match stored.as_mut().and_then(Iterator::next) {
            Some(table) => table,
            None => (source.plan_ranges(&plan, &range_options).await?, Vec::new()),
        };
        let (mut rows_done, mut rejected_done, mut filtered_done) = (0, 0, 0);
        for (r, d) in done.iter().enumerate() {
            match d {
                Some((rows, rejected, filtered)) => {
                    rows_done += rows;
                    rejected_done += rejected;
                    filtered_done += filtered;
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
            rows_read: rows_done + rejected_done + filtered_done,
            rows_written: rows_done,
            rows_rejected: rejected_done,
            rows_filtered: filtered_done,
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
                chunk_map: String::new(),
                range_maps: Vec::new(),
            });
            st.cmp = Some(Arc::new(cmp));
        }
    }

    let target_one_writer_ok = target.capabilities().concurrent_writers;
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
        write_gate: (!target_one_writer_ok).then(|| Arc::new(tokio::sync::Semaphore::new(1))),
    });
    let mut set = JoinSet::new();
    for w in 0..workers {
        let run = run.clone();
        set.spawn(async move { worker(&run, w).await });
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
                let removed = if run.options.state.is_some() && resumable(&e) {
                    // A server or network problem, not the data: what
                    // committed is good, and a re-run resumes after it.
                    error.push_str(&format!(
                        " ({committed} committed ranges stay in the target; \
                         re-run the same command to resume the table)"
                    ));
                    false
                } else {
                    let created = !report.preexisting.iter().any(|t| {
                        t.name == plan.target.name
                            && (t.schema.is_none() || t.schema == plan.target.schema)
                    });
                    let (note, gone) = undo_committed(&run, &plan, committed, created).await;
                    error.push_str(&note);
                    gone
                };
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
        if let Some(mut v) = lock(state)?.verified.take() {
            v.join_chunk_maps();
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

/// Removes what the committed ranges of a table that failed on its data
/// wrote, where that is safe: drops the table when this run `created` it,
/// else truncates it (not when appending). Returns a note for the failure
/// line and whether the table's rows are gone.
async fn undo_committed(
    run: &Run,
    plan: &TablePlan,
    committed: usize,
    created: bool,
) -> (String, bool) {
    if created {
        return match run
            .target
            .drop_tables(std::slice::from_ref(&plan.target))
            .await
        {
            Ok(()) => (
                format!(
                    " (table {} was created by this run and is dropped again)",
                    plan.target
                ),
                true,
            ),
            Err(e) => (
                format!(
                    " (table {} was created by this run; dropping it failed: {})",
                    plan.target,
                    chain_line(&e)
                ),
                false,
            ),
        };
    }
    if committed == 0 {
        return (String::new(), true);
    }
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

/// Writes `rx` through `writer`, holding the run's write permit for the
/// whole transaction when the target takes one writer at a time.
async fn write_gated(
    gate: Option<Arc<tokio::sync::Semaphore>>,
    writer: Arc<TargetWriter>,
    rx: tokio::sync::mpsc::Receiver<arrow_array::RecordBatch>,
) -> Result<ferry_core::adapter::WriteReceipt> {
    let _permit = match gate {
        Some(g) => Some(
            g.acquire_owned()
                .await
                .map_err(|_| Error::Bug("the write gate closed".into()))?,
        ),
        None => None,
    };
    writer.write(rx).await
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Bug("copy state poisoned".into()))
}
