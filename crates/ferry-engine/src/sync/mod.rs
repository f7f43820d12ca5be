//! `ferry sync`: applies the changes a source committed after a copy's
//! snapshot to the target, until stopped or until a position.
//!
//! The loop: read committed source transactions in commit order, group
//! small ones (never splitting one), apply each group as one target
//! transaction that also stores the position of its last transaction, then
//! tell the source that position is durable (so it may free its log up to
//! there). A crash anywhere loses nothing and doubles nothing: on restart the
//! source is read again after the position the target holds, and
//! transactions ending at or before it are skipped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_core::change::{SourceEvent, SourceTxn};
use ferry_core::{DbUrl, Error, Result};

use crate::adapter::Adapter;
use crate::job::Job;
use crate::run::{check_job, target_mappings};
use crate::{plan_tables, Selection};

/// Where the sync stops by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Until {
    /// Only when stopped (signal).
    Stopped,
    /// The source's position when the sync started (for a cutover).
    Now,
    /// A position in the source's notation.
    Position(String),
}

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The slot (or stream name) `ferry copy --cdc-slot` created; also the
    /// sync's name in the target's position table.
    pub slot: String,
    pub until: Until,
    /// Leave the slot on the source when the sync ends (to resume later).
    /// Without, the slot and its publication are dropped on every exit path
    /// ferry controls, so the source does not keep WAL for nobody.
    pub keep_slot: bool,
    /// Group source transactions into one target transaction up to this
    /// many changes.
    pub group_changes: usize,
    /// Set to stop at the next transaction boundary.
    pub stop: Arc<AtomicBool>,
    /// How long the loop waits for the source when nothing is pending
    /// before it reports (lag 0) and looks at `stop` again: the stop's
    /// latency. `ferry sync` waits 500 ms; a cutover's drain, 20 ms.
    pub idle_wait: Duration,
}

/// A progress report, after each applied group and when idle.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncProgress {
    pub transactions: u64,
    pub changes: u64,
    /// The last applied position, in the source's notation.
    pub position: Option<String>,
    /// Seconds between the source commit of the last applied transaction
    /// and its apply; 0 when the source is idle and everything is applied.
    pub lag_seconds: f64,
    /// Source log bytes not yet applied (known when the source said where its log ends).
    pub behind_bytes: Option<u64>,
    pub changes_per_second: f64,
}

/// What a finished sync did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    pub transactions: u64,
    pub changes: u64,
    pub position: Option<String>,
    pub seconds: f64,
    /// Why it ended: `until` or `stopped`.
    pub ended: &'static str,
    pub slot_dropped: bool,
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Runs a sync for `job`; `progress` is called after each applied group.
pub async fn sync_job(
    job: &Job,
    source_url: DbUrl,
    target_url: DbUrl,
    options: &SyncOptions,
    mut progress: impl FnMut(&SyncProgress),
) -> Result<SyncReport> {
    let source = Adapter::new(source_url);
    let target = Adapter::new(target_url);
    check_job(job, &source)?;
    if source.capabilities().change_stream.is_none() {
        return Err(Error::Invalid(format!(
            "ferry sync needs a source with a change stream (the source is {})",
            source.engine()
        )));
    }
    let result = run(job, &source, &target, options, &mut progress).await;
    let drop = !options.keep_slot;
    let dropped = if drop {
        source.drop_change_stream(&options.slot).await
    } else {
        Ok(())
    };
    let mut report = result?;
    dropped?;
    report.slot_dropped = drop;
    Ok(report)
}

async fn run(
    job: &Job,
    source: &Adapter,
    target: &Adapter,
    options: &SyncOptions,
    progress: &mut impl FnMut(&SyncProgress),
) -> Result<SyncReport> {
    let mappings = target_mappings(job, target).await?;
    let plans = plan_tables(source, target.engine(), &mappings, &Selection::of_job(job)).await?;
    let until = match &options.until {
        Until::Stopped => None,
        Until::Now => Some(source.current_position().await?.1),
        Until::Position(p) => Some(source.parse_position(p)?),
    };
    let mut sink = target.open_change_sink(&plans, &options.slot).await?;
    let stored = sink.stored_position().await?;
    let mut applied = match &stored {
        Some(p) => Some(source.parse_position(p)?),
        None => None,
    };
    let mut stream = source
        .open_change_source(&options.slot, plans, stored.as_deref())
        .await?;
    let started = Instant::now();
    let mut state = SyncProgress {
        transactions: 0,
        changes: 0,
        position: stored,
        lag_seconds: 0.0,
        behind_bytes: None,
        changes_per_second: 0.0,
    };
    let reached = |applied: Option<u64>| matches!((until, applied), (Some(u), Some(a)) if a >= u);
    let mut group: Vec<SourceTxn> = Vec::new();
    let ended = loop {
        if group.is_empty() {
            if options.stop.load(Ordering::SeqCst) {
                break "stopped";
            }
            if reached(applied) {
                break "until";
            }
        }
        let idle = if group.is_empty() {
            options.idle_wait
        } else {
            Duration::from_millis(2)
        };
        let event = stream.next(idle).await?;
        let flush = match event {
            SourceEvent::Txn(txn) => {
                let last_of_run = until.is_some_and(|u| txn.position_num >= u);
                group.push(txn);
                last_of_run
                    || group.iter().map(SourceTxn::changes).sum::<u64>()
                        >= options.group_changes as u64
            }
            SourceEvent::Idle { wal_end } => {
                if group.is_empty() {
                    // Nothing in flight: everything the source sent is applied.
                    if until.is_some_and(|u| wal_end >= u) {
                        break "until";
                    }
                    state.lag_seconds = 0.0;
                    state.behind_bytes = applied.map(|a| wal_end.saturating_sub(a));
                    progress(&state);
                }
                true
            }
        };
        if flush && !group.is_empty() {
            sink.apply(&group).await?;
            let last = group.last().expect("a non-empty group");
            applied = Some(last.position_num);
            stream.confirm(last.position_num);
            state.transactions += group.len() as u64;
            state.changes += group.iter().map(SourceTxn::changes).sum::<u64>();
            state.position = Some(last.position.clone());
            state.lag_seconds = (now_us() - last.commit_time_us).max(0) as f64 / 1e6;
            state.changes_per_second =
                state.changes as f64 / started.elapsed().as_secs_f64().max(1e-3);
            group.clear();
            progress(&state);
        }
    };
    stream.close().await?;
    Ok(SyncReport {
        transactions: state.transactions,
        changes: state.changes,
        position: state.position,
        seconds: started.elapsed().as_secs_f64(),
        ended,
        slot_dropped: false,
    })
}
