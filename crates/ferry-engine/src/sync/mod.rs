//! `ferry sync`: applies the changes a source committed after a copy's
//! snapshot to the target, until stopped or until a position.
//!
//! The loop: read committed source transactions in commit order, group
//! small ones (never splitting one, never holding one longer than
//! `group_wait`), mark the copy ranges they touch dirty in the state store,
//! apply each group as one target transaction that also stores the
//! position of its last transaction, then tell the source that position is
//! durable (so it may free its log up to there). A crash anywhere loses
//! nothing and doubles nothing: on restart the source is read again after
//! the position the target holds, and transactions ending at or before it
//! are skipped.
//!
//! Where a first sync starts: a source that keeps the stream's place (a
//! PostgreSQL slot, created with the copy's snapshot) starts there; one
//! that does not (a MySQL binary log) starts at the position the copy
//! recorded in the state store. Either way the target's stored position,
//! once there is one, wins.
//!
//! Heartbeat: when the source has nothing to send it says where its log
//! ends (PostgreSQL keepalives, MySQL heartbeat events); with nothing in
//! flight that means everything is applied, so the lag is 0.

pub mod record;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_core::change::{SourceEvent, SourceTxn};
use ferry_core::{DbUrl, Error, Result, TablePlan};

use crate::adapter::{Adapter, ChangeSource};
use crate::job::Job;
use crate::run::{check_job, target_mappings};
use crate::{plan_tables, Selection};
pub use record::{RunLocation, SyncRecord, SyncStatus};

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
    /// The stream `ferry copy --cdc-slot` created or recorded (a PostgreSQL
    /// slot); also the sync's name in the target's position table.
    pub slot: String,
    pub until: Until,
    /// Leave the slot on the source when the sync ends (to resume later).
    /// Without, the slot and its publication are dropped on every exit path
    /// ferry controls, so the source does not keep WAL for nobody. (Sources
    /// that hold nothing for the stream ignore it.)
    pub keep_slot: bool,
    /// Group source transactions into one target transaction up to this
    /// many changes.
    pub group_changes: usize,
    /// The longest a transaction waits for later ones to join its group.
    pub group_wait: Duration,
    /// Set to stop at the next transaction boundary.
    pub stop: Arc<AtomicBool>,
    /// How long the loop waits for the source when nothing is pending
    /// before it reports (lag 0) and looks at `stop` again: the stop's
    /// latency. `ferry sync` waits 500 ms; a cutover's drain, 20 ms.
    pub idle_wait: Duration,
    /// Where to start when the target holds no position for this stream
    /// and no copy recorded one, in the source's notation: the cutover's
    /// way back starts at the position it armed on the new primary before
    /// the application's first write there.
    pub start: Option<String>,
    /// The copy run whose ranges this sync marks dirty and whose recorded
    /// position it starts from, when the caller knows it (a cutover's sync
    /// also carries the marker table, so its tables name no copy run);
    /// `None`: found from the job.
    pub copy_run: Option<RunLocation>,
}

impl SyncOptions {
    /// Options for `slot` with the defaults of the command line.
    pub fn new(slot: &str, stop: Arc<AtomicBool>) -> Self {
        SyncOptions {
            slot: slot.to_string(),
            until: Until::Stopped,
            keep_slot: false,
            group_changes: 5000,
            group_wait: Duration::from_millis(200),
            stop,
            idle_wait: Duration::from_millis(500),
            start: None,
            copy_run: None,
        }
    }
}

/// A progress report, after each applied group and when idle.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SyncProgress {
    pub transactions: u64,
    pub changes: u64,
    /// The last applied position, in the source's notation.
    pub position: Option<String>,
    /// Seconds between the source commit of the last applied transaction
    /// and its apply; 0 when the source is idle and everything is applied.
    pub lag_seconds: f64,
    /// Source log bytes not yet applied (when the source said where its log
    /// ends and the engine can count the distance).
    pub behind_bytes: Option<u64>,
    /// Changes applied per second over the last ten seconds.
    pub changes_per_second: f64,
    /// Unix time (seconds) of this report.
    pub at: f64,
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
    /// Whether the slot was dropped; `None` for a source that holds nothing
    /// for the stream.
    pub slot_dropped: Option<bool>,
    /// The copy run whose ranges this sync marked dirty and whose store
    /// holds its status; `None` when no copy recorded the stream.
    pub run_id: Option<String>,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Refuses tables whose changes a sync could not apply, one line each
/// naming the table and the way out: a table without a primary key (a
/// change is applied by key) and a table with a row filter (changes are
/// not filtered), nor a table the job reshapes (changes carry the source's
/// row; the built-ins and built-in checks could run on them through the
/// same [`crate::reshape::Reshaper`], but derived columns and SQL checks
/// need the source to evaluate them, which a change stream cannot).
pub fn check_followable(plans: &[TablePlan]) -> Result<()> {
    for p in plans {
        let t = &p.source;
        if p.primary_key.is_empty() {
            return Err(Error::Invalid(format!(
                "table {t} has no primary key: ferry sync applies changes by key; add one \
                 (ALTER TABLE {t} ADD PRIMARY KEY (…)) or leave the table out of the job \
                 (--exclude {t})"
            )));
        }
        if p.row_filter.is_some() {
            return Err(Error::Invalid(format!(
                "table {t} has a row filter (`where`): ferry sync does not filter changes; \
                 leave the filter or the table out of the job"
            )));
        }
        if p.reshape.is_some() {
            return Err(Error::Invalid(format!(
                "table {t} has the job's column transforms or checks: ferry sync does not                  apply them to changes yet; leave them or the table out of the job"
            )));
        }
    }
    Ok(())
}

/// Refuses a sync whose source table has a column its target lacks: the
/// source changed since the copy (DDL while no sync ran), and ferry sync
/// does not apply DDL. (DDL while a sync runs stops it in the stream.)
async fn check_target_shape(target: &Adapter, plans: &[TablePlan]) -> Result<()> {
    for p in plans {
        let raw = target.describe(&p.target).await?;
        if let Some(c) = p
            .columns
            .iter()
            .find(|c| !raw.columns.iter().any(|t| t.name == c.name))
        {
            return Err(Error::Table {
                table: p.source.to_string(),
                problem: format!(
                    "column {} is in the source but not in target {}: the source table changed \
                     since the copy, and ferry sync does not apply DDL; copy the table again",
                    c.name, p.target
                ),
            });
        }
    }
    Ok(())
}

/// Runs a sync for `job`; `progress` is called after each applied group
/// and when idle.
pub async fn sync_job(
    job: &Job,
    source_url: DbUrl,
    target_url: DbUrl,
    options: &SyncOptions,
    mut progress: impl FnMut(&SyncProgress),
) -> Result<SyncReport> {
    let source = Adapter::new(source_url.clone());
    let target = Adapter::new(target_url.clone());
    check_job(job, &source)?;
    let Some(kind) = source.capabilities().change_stream else {
        return Err(Error::Invalid(format!(
            "ferry sync needs a source with a change stream (the source is {})",
            source.engine()
        )));
    };
    let mut record = None;
    let result = run(
        job,
        (&source, &source_url),
        (&target, &target_url),
        options,
        &mut record,
        &mut progress,
    )
    .await;
    if let (Some(rec), Err(e)) = (record.as_mut(), &result) {
        // Best effort: the error itself is what the caller must see.
        let status = SyncStatus {
            state: "failed".into(),
            progress: SyncProgress::default(),
            error: Some(ferry_core::error::chain_line(e)),
            pid: std::process::id(),
        };
        let _ = rec.save(&status, true).await;
    }
    let drop = kind.held_by_source() && !options.keep_slot;
    let dropped = if drop {
        source.drop_change_stream(&options.slot).await
    } else {
        Ok(())
    };
    let mut report = result?;
    dropped?;
    report.slot_dropped = kind.held_by_source().then_some(drop);
    Ok(report)
}

/// Changes per second over a sliding window.
struct Rate {
    window: Duration,
    samples: VecDeque<(Instant, u64)>,
}

impl Rate {
    fn new() -> Self {
        Rate {
            window: Duration::from_secs(10),
            samples: VecDeque::new(),
        }
    }

    fn add(&mut self, changes: u64) -> f64 {
        let now = Instant::now();
        self.samples.push_back((now, changes));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > self.window)
        {
            self.samples.pop_front();
        }
        let total: u64 = self.samples.iter().map(|(_, n)| n).sum();
        let span = self
            .samples
            .front()
            .map_or(0.0, |(t, _)| now.duration_since(*t).as_secs_f64());
        total as f64 / span.max(1.0)
    }
}

async fn run(
    job: &Job,
    (source, source_url): (&Adapter, &DbUrl),
    (target, target_url): (&Adapter, &DbUrl),
    options: &SyncOptions,
    record: &mut Option<SyncRecord>,
    progress: &mut impl FnMut(&SyncProgress),
) -> Result<SyncReport> {
    let kind = source
        .capabilities()
        .change_stream
        .ok_or_else(|| Error::Bug("sync without a change stream".into()))?;
    let mappings = target_mappings(job, target).await?;
    let plans = plan_tables(source, target.engine(), &mappings, &Selection::of_job(job)).await?;
    check_followable(&plans)?;
    *record = match &options.copy_run {
        Some(run) => Some(SyncRecord::open(run, &plans, &options.slot).await?),
        None => SyncRecord::find(job, source_url, target_url, &plans, &options.slot).await?,
    };
    if record.is_none() {
        tracing::warn!(
            stream = %options.slot,
            "no copy in the state store recorded this stream: no status or dirty ranges are kept"
        );
    }
    let until = match &options.until {
        Until::Stopped => None,
        Until::Now => Some(source.current_position().await?.1),
        Until::Position(p) => Some(source.until_position(p).await?),
    };
    check_target_shape(target, &plans).await?;
    let mut sink = target.open_change_sink(&plans, Some(&options.slot)).await?;
    let stored = sink.stored_position().await?;
    let start = match (&stored, record.as_ref()) {
        (Some(p), _) => Some(p.clone()),
        (None, _) if kind.held_by_source() => None,
        (None, Some(rec)) => match rec.copy_position().await? {
            Some(p) => Some(source.snapshot_start(&p)?),
            None => options.start.clone(),
        },
        (None, None) => options.start.clone(),
    };
    let mut applied = match &start {
        Some(p) => Some(source.parse_position(p)?),
        None => None,
    };
    let mut stream = source
        .open_change_source(&options.slot, plans.clone(), start.as_deref())
        .await?;
    let looped = follow(
        &mut Follow {
            source,
            plans: &plans,
            sink: &mut sink,
            stream: &mut stream,
            record,
            options,
            until,
            applied: &mut applied,
        },
        start,
        progress,
    )
    .await;
    let closed = stream.close().await;
    let report = looped?;
    closed?;
    Ok(report)
}

/// What the loop works with.
struct Follow<'a> {
    source: &'a Adapter,
    plans: &'a [TablePlan],
    sink: &'a mut crate::adapter::ChangeSink,
    stream: &'a mut ChangeSource,
    record: &'a mut Option<SyncRecord>,
    options: &'a SyncOptions,
    until: Option<u64>,
    applied: &'a mut Option<u64>,
}

/// How long an idle source's vouched position may go unstored: a restart
/// then reads at most this much of other tables' changes again (and, on
/// MySQL, the stored file is not one purged while the tables were quiet).
const STORE_IDLE_POSITION_EVERY: Duration = Duration::from_secs(10);

async fn follow(
    f: &mut Follow<'_>,
    start: Option<String>,
    progress: &mut impl FnMut(&SyncProgress),
) -> Result<SyncReport> {
    let started = Instant::now();
    let mut rate = Rate::new();
    let mut state = SyncProgress {
        position: start,
        at: unix_now(),
        ..SyncProgress::default()
    };
    let reached = |applied: Option<u64>, until: Option<u64>| matches!((until, applied), (Some(u), Some(a)) if a >= u);
    let mut group: Vec<SourceTxn> = Vec::new();
    let mut group_started = Instant::now();
    let mut idle_stored = Instant::now();
    let mut log_end: Option<u64> = None;
    let ended = loop {
        if group.is_empty() {
            if f.options.stop.load(Ordering::SeqCst) {
                break "stopped";
            }
            if reached(*f.applied, f.until) {
                break "until";
            }
        }
        let idle = if group.is_empty() {
            f.options.idle_wait
        } else {
            Duration::from_millis(2)
        };
        let event = match f.stream.next(idle).await {
            Ok(event) => event,
            Err(e) => {
                // What came before the problem (a DDL, a value the target
                // cannot hold) is whole and in order: apply it, then stop.
                if !group.is_empty() {
                    apply_group(f, &group).await?;
                }
                return Err(e);
            }
        };
        let flush = match event {
            SourceEvent::Txn(txn) => {
                let last_of_run = f.until.is_some_and(|u| txn.position_num >= u);
                if group.is_empty() {
                    group_started = Instant::now();
                }
                group.push(txn);
                last_of_run
                    || group.iter().map(SourceTxn::changes).sum::<u64>()
                        >= f.options.group_changes as u64
                    || group_started.elapsed() >= f.options.group_wait
            }
            SourceEvent::Idle { wal_end, resume } => {
                log_end = Some(log_end.map_or(wal_end, |e| e.max(wal_end)));
                if group.is_empty() {
                    // Nothing in flight: everything the source sent is applied.
                    let vouched = match &resume {
                        Some(r) => Some(f.source.parse_position(r)?),
                        None => None,
                    };
                    let through = vouched.unwrap_or(wal_end);
                    let done = f.until.is_some_and(|u| through >= u);
                    if let (Some(r), Some(v)) = (resume, vouched) {
                        let newer = f.applied.is_none_or(|a| v > a);
                        if newer && (done || idle_stored.elapsed() >= STORE_IDLE_POSITION_EVERY) {
                            store_position(f, r.clone(), v).await?;
                            state.position = Some(r);
                            idle_stored = Instant::now();
                        }
                    }
                    if done {
                        break "until";
                    }
                    state.lag_seconds = 0.0;
                    // Everything up to `through` is handled (applied, or
                    // other tables'): what is behind is the rest of the log.
                    state.behind_bytes = f.source.bytes_between(through, wal_end);
                    state.changes_per_second = rate.add(0);
                    state.at = unix_now();
                    report(f, &state, progress).await?;
                }
                true
            }
        };
        if flush && !group.is_empty() {
            apply_group(f, &group).await?;
            let last = group.last().expect("a non-empty group");
            let changes: u64 = group.iter().map(SourceTxn::changes).sum();
            state.transactions += group.len() as u64;
            state.changes += changes;
            state.position = Some(last.position.clone());
            state.lag_seconds = (now_us() - last.commit_time_us).max(0) as f64 / 1e6;
            state.behind_bytes = log_end.and_then(|e| f.source.bytes_between(last.position_num, e));
            state.changes_per_second = rate.add(changes);
            state.at = unix_now();
            idle_stored = Instant::now();
            group.clear();
            report(f, &state, progress).await?;
        }
    };
    if let Some(rec) = f.record.as_mut() {
        let status = SyncStatus {
            state: ended.into(),
            progress: state.clone(),
            error: None,
            pid: std::process::id(),
        };
        rec.save(&status, true).await?;
    }
    Ok(SyncReport {
        transactions: state.transactions,
        changes: state.changes,
        position: state.position,
        seconds: started.elapsed().as_secs_f64(),
        ended,
        slot_dropped: None,
        run_id: f.record.as_ref().map(|r| r.run_id().to_string()),
    })
}

/// Marks the ranges `group` touches dirty, then applies it as one target
/// transaction and tells the source its position is durable.
async fn apply_group(f: &mut Follow<'_>, group: &[SourceTxn]) -> Result<()> {
    if let Some(rec) = f.record.as_ref() {
        rec.mark(f.plans, group).await?;
    }
    f.sink.apply(group).await?;
    if let Some(last) = group.last() {
        *f.applied = Some(last.position_num);
        f.stream.confirm(last.position_num);
    }
    Ok(())
}

/// Stores a position the source vouched for with no changes (see
/// [`SourceEvent::Idle`]).
async fn store_position(f: &mut Follow<'_>, position: String, num: u64) -> Result<()> {
    let marker = SourceTxn {
        position,
        position_num: num,
        commit_time_us: now_us(),
        batches: Vec::new(),
    };
    f.sink.apply(std::slice::from_ref(&marker)).await?;
    *f.applied = Some(num);
    f.stream.confirm(num);
    Ok(())
}

async fn report(
    f: &mut Follow<'_>,
    state: &SyncProgress,
    progress: &mut impl FnMut(&SyncProgress),
) -> Result<()> {
    progress(state);
    if let Some(rec) = f.record.as_mut() {
        let status = SyncStatus {
            state: "running".into(),
            progress: state.clone(),
            error: None,
            pid: std::process::id(),
        };
        rec.save(&status, false).await?;
    }
    Ok(())
}

/// What `ferry sync status` shows: the last status a sync of the job saved.
pub struct FoundStatus {
    pub run_id: String,
    pub status: SyncStatus,
    /// When it was saved (by the state store's clock).
    pub saved: SystemTime,
}

/// Reads the last saved status of stream `slot` from the state store of
/// the job's copy run; `None` when there is no such run or no status yet.
pub async fn sync_status(
    job: &Job,
    source_url: DbUrl,
    target_url: DbUrl,
    slot: &str,
) -> Result<Option<FoundStatus>> {
    let source = Adapter::new(source_url.clone());
    let target = Adapter::new(target_url.clone());
    let mappings = target_mappings(job, &target).await?;
    let plans = plan_tables(&source, target.engine(), &mappings, &Selection::of_job(job)).await?;
    let Some(record) = SyncRecord::find(job, &source_url, &target_url, &plans, slot).await? else {
        return Ok(None);
    };
    Ok(record.status().await?.map(|(status, saved)| FoundStatus {
        run_id: record.run_id().to_string(),
        status,
        saved,
    }))
}
