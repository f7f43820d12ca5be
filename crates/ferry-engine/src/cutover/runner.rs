//! The state machine's runner: one method per phase, each idempotent, each
//! ending in a compare-and-set to the next phase. A failure between FENCING
//! and SWITCHING is undone ([`Runner::abort`]); from SWITCHING on nothing is
//! undone without a human.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use ferry_core::cutover::FencePlan;
use ferry_core::{Error, Result};
use ferry_state::{CutoverPhase, StepStatus};

use super::checks::{self, fence_spec};
use super::hooks;
use super::plan::{FenceMethod, SideName, StepPoint};
use super::state::{now_ms, CheckValue, Direction, Machine, StepTime};
use super::{Ctx, CutoverEvent, Ending, Legs};
use crate::sync::{sync_job, RunLocation, SyncOptions, SyncReport, Until};
use crate::verify::scope::CopyRun;

/// What the forward sync last said, for the lag gate.
#[derive(Debug, Clone, Copy)]
struct LagState {
    lag: Duration,
    at: Instant,
}

/// The sync the runner runs (old → new), until told to stop.
pub(super) struct SyncTask {
    stop: Arc<AtomicBool>,
    lag: watch::Receiver<LagState>,
    handle: JoinHandle<Result<SyncReport>>,
}

impl SyncTask {
    /// The lag now: what the sync last reported, plus the time since, less
    /// the pause between idle reports (a sync stuck applying falls behind
    /// by the clock).
    fn lag_now(&self) -> Duration {
        let s = *self.lag.borrow();
        s.lag + s.at.elapsed().saturating_sub(Duration::from_millis(100))
    }

    /// Stops without waiting: an apply blocked on the target (a lock) is
    /// rolled back when its session goes with the process.
    fn cancel(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.abort();
    }

    pub(super) async fn stop(self) -> Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        match tokio::time::timeout(Duration::from_secs(10), self.handle).await {
            Ok(Ok(r)) => r.map(drop),
            Ok(Err(e)) => Err(Error::Bug(format!("sync task: {e}"))),
            Err(_) => Err(Error::Invalid(
                "the sync did not stop within 10 s of being asked".into(),
            )),
        }
    }
}

/// The runner of one direction.
pub(super) struct Runner<'a> {
    pub(super) ctx: &'a Ctx,
    pub(super) legs: Legs,
    pub(super) m: Machine,
    pub(super) sync: Option<SyncTask>,
    /// Set while a freeze is being undone, so the undo is not undone twice.
    aborting: bool,
    /// The copy's run (found once; `Some(None)`: there is none, or this is
    /// the way back, whose stream has no copy ranges).
    copy: Option<Option<RunLocation>>,
}

impl<'a> Runner<'a> {
    pub(super) async fn new(ctx: &'a Ctx, m: Machine) -> Result<Runner<'a>> {
        let legs = ctx.legs(m.data.direction).await?;
        Ok(Runner {
            ctx,
            legs,
            m,
            sync: None,
            aborting: false,
            copy: None,
        })
    }

    pub(super) fn marker_key(&self) -> String {
        let dir = match self.m.data.direction {
            Direction::Forward => "forward",
            Direction::Rollback => "rollback",
        };
        format!("{}/{dir}", self.m.run_id)
    }

    pub(super) fn remaining(&self) -> Duration {
        let left = self.m.data.deadline_ms.unwrap_or(i64::MAX) - now_ms();
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    }

    pub(super) async fn advance(&mut self, phase: CutoverPhase) -> Result<()> {
        self.m.advance(phase).await?;
        self.ctx.emit(CutoverEvent::CutoverPhase {
            phase,
            attempt: self.m.attempt,
            at_ms: now_ms(),
        });
        Ok(())
    }

    pub(super) fn step_done(&mut self, step: &str, started_ms: i64, detail: Option<String>) {
        let ended_ms = now_ms();
        self.ctx.emit(CutoverEvent::CutoverStep {
            step: step.into(),
            ms: ended_ms - started_ms,
            detail: detail.clone(),
        });
        self.m.data.steps.push(StepTime {
            step: step.into(),
            started_ms,
            ended_ms,
            detail,
        });
    }

    /// Runs from the current phase until the machine rests (done, aborted,
    /// no-go, unknown switch). Failures before the switch are undone.
    pub(super) async fn run(&mut self) -> Result<Ending> {
        loop {
            let phase = self.m.phase;
            let step = self.step(phase).await;
            match step {
                Ok(Some(ending)) => return Ok(ending),
                Ok(None) => continue,
                // Judged by where the machine is now, not where the step
                // began: a step that moved to SWITCHING is past undoing.
                Err(e) if self.m.phase.fenced_before_switch() && !self.aborting => {
                    let reason = ferry_core::error::chain_line(&e);
                    return self.abort(&reason).await;
                }
                Err(e) => {
                    if let Some(s) = self.sync.take() {
                        s.cancel();
                    }
                    return Err(e);
                }
            }
        }
    }

    async fn step(&mut self, phase: CutoverPhase) -> Result<Option<Ending>> {
        use CutoverPhase::*;
        match phase {
            Preflight => self.preflight().await,
            Ready => self.hold_then_fence().await,
            Fencing => self.refence().await.map(|()| None),
            Fenced => self.drain().await.map(|()| None),
            Drained => self.final_verify().await.map(|()| None),
            Verified => self.sequences().await.map(|()| None),
            Sequenced => self.arm().await.map(|()| None),
            ReverseArmed => self.switch().await,
            Switching => self.switch_interrupted().await,
            SwitchUnknown => Ok(Some(Ending::SwitchUnknown)),
            Switched => self.open().await.map(|()| None),
            GreenOpen => self.finish().await,
            Done => Ok(Some(Ending::Done)),
            Aborting => self.undo("an abort left unfinished").await.map(Some),
            Aborted => Ok(Some(Ending::Aborted)),
        }
    }

    // PREFLIGHT -----------------------------------------------------------

    async fn preflight(&mut self) -> Result<Option<Ending>> {
        let checks = checks::preflight(self.ctx, &self.legs, self.m.data.direction).await?;
        for c in &checks {
            self.ctx
                .emit(CutoverEvent::CutoverCheck { check: c.clone() });
        }
        self.m.data.gates = checks.clone();
        if checks.iter().any(|c| !c.ok) {
            self.m.data.notes.push("pre-flight: NO-GO".into());
            self.m.save().await?;
            return Ok(Some(Ending::NoGo));
        }
        self.user_steps(StepPoint::Preflight, false).await?;
        let legs = &self.legs;
        legs.old
            .adapter
            .create_marker_table(&legs.marker_old)
            .await?;
        legs.new
            .adapter
            .create_marker_table(&legs.marker_new)
            .await?;
        legs.old
            .adapter
            .stream_table(&legs.stream_slot, &legs.marker_old)
            .await?;
        self.start_sync().await?;
        self.advance(CutoverPhase::Ready).await?;
        Ok(None)
    }

    /// The copy run of a forward cutover, found once in the plan's state
    /// store by the job's own tables and the plan's slot.
    async fn copy_location(&mut self) -> Result<Option<RunLocation>> {
        if let Some(c) = &self.copy {
            return Ok(c.clone());
        }
        let found = match self.m.data.direction {
            Direction::Forward => {
                let c = self.ctx;
                RunLocation::find(&c.job, &c.blue.url, &c.green.url, &c.plans, &c.plan.slot).await?
            }
            Direction::Rollback => None,
        };
        self.copy = Some(found.clone());
        Ok(found)
    }

    /// The copy run's store, for its ranges and dirty marks.
    pub(super) async fn copy_run(&mut self) -> Result<Option<Arc<CopyRun>>> {
        let Some(loc) = self.copy_location().await? else {
            return Ok(None);
        };
        let store = crate::run::open_store(&loc.job, &loc.run_id).await?;
        Ok(Some(Arc::new(CopyRun {
            store,
            run_id: loc.run_id,
        })))
    }

    pub(super) async fn start_sync(&mut self) -> Result<()> {
        if self.sync.is_some() {
            return Ok(());
        }
        // Forward: the copy's run, for its recorded position (a source
        // that keeps no slot, the binary log, starts there) and for the
        // ranges the drain marks dirty. The way back: the position armed on
        // the new primary before its first application write.
        let copy_run = self.copy_location().await?;
        let start = match self.m.data.direction {
            Direction::Forward => None,
            Direction::Rollback => self
                .m
                .data
                .forward
                .as_ref()
                .and_then(|f| f.reverse_position.clone()),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = watch::channel(LagState {
            lag: Duration::from_secs(3600),
            at: Instant::now(),
        });
        // Short waits: during the freeze every millisecond the drain waits
        // for a group to fill or for an idle source is window.
        let options = SyncOptions {
            until: Until::Stopped,
            keep_slot: true,
            group_wait: Duration::from_millis(10),
            idle_wait: Duration::from_millis(20),
            copy_run,
            start,
            ..SyncOptions::new(&self.legs.stream_slot, stop.clone())
        };
        let job = self.legs.sync_job.clone();
        let (source, target) = (self.legs.old.url.clone(), self.legs.new.url.clone());
        let handle = tokio::spawn(async move {
            sync_job(&job, source, target, &options, |p| {
                let _ = tx.send(LagState {
                    lag: Duration::from_secs_f64(p.lag_seconds.max(0.0)),
                    at: Instant::now(),
                });
            })
            .await
        });
        self.sync = Some(SyncTask {
            stop,
            lag: rx,
            handle,
        });
        Ok(())
    }

    /// The sync ended on its own: that is an error (it runs until stopped).
    pub(super) async fn sync_failed(&mut self) -> Option<Error> {
        let finished = self.sync.as_ref().is_some_and(|s| s.handle.is_finished());
        if !finished {
            return None;
        }
        let s = self.sync.take()?;
        Some(match s.handle.await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => Error::Invalid("the sync stopped unexpectedly".into()),
            Err(e) => Error::Bug(format!("sync task: {e}")),
        })
    }

    // READY ---------------------------------------------------------------

    async fn hold_then_fence(&mut self) -> Result<Option<Ending>> {
        self.start_sync().await?;
        let gates = &self.ctx.plan.gates;
        let mut gate_started: Option<Instant> = None;
        let mut lag_ok_since: Option<Instant> = None;
        let mut last_reload = Instant::now();
        let mut long: Option<(Instant, CheckValue)> = None;
        let mut dirty: Option<CheckValue> = None;
        let mut said_postponed = false;
        loop {
            if let Some(e) = self.sync_failed().await {
                return Err(e);
            }
            if last_reload.elapsed() > Duration::from_millis(300) {
                let go = self.m.data.go_requested_ms;
                self.m.reload().await?;
                self.m.data.go_requested_ms = self.m.data.go_requested_ms.or(go);
                last_reload = Instant::now();
            }
            let postponed = self
                .ctx
                .plan
                .control
                .postpone_file
                .as_ref()
                .is_some_and(|f| f.exists())
                && self.m.data.go_requested_ms.is_none();
            if postponed {
                if !said_postponed {
                    self.ctx
                        .note("holding in READY: the postpone file exists (remove it or run `ferry cutover go`)");
                    said_postponed = true;
                }
                gate_started = None;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let started = *gate_started.get_or_insert_with(Instant::now);
            let lag = self.sync.as_ref().map_or(Duration::MAX, SyncTask::lag_now);
            if lag <= gates.max_lag.0 {
                lag_ok_since.get_or_insert_with(Instant::now);
            } else {
                lag_ok_since = None;
            }
            let held = lag_ok_since.map_or(Duration::ZERO, |t| t.elapsed());
            if long
                .as_ref()
                .is_none_or(|(t, _)| t.elapsed() > Duration::from_secs(1))
            {
                long = Some((
                    Instant::now(),
                    checks::long_transactions(self.ctx, &self.legs).await?,
                ));
                let run = self.copy_run().await?;
                dirty = Some(checks::dirty_chunks(self.ctx, &self.legs, run.as_deref()).await?);
            }
            let lag_check = checks::lag_check(self.ctx, lag.min(Duration::from_secs(86400)), held);
            let drain_check = checks::drain_check(self.ctx, lag.min(Duration::from_secs(86400)));
            let long_check = long
                .as_ref()
                .map(|(_, c)| c.clone())
                .expect("just measured");
            // Measured again when the others open: the count grows with
            // every change the sync applies, and the freeze follows now.
            if lag_check.ok && drain_check.ok && long_check.ok {
                let run = self.copy_run().await?;
                dirty = Some(checks::dirty_chunks(self.ctx, &self.legs, run.as_deref()).await?);
            }
            let dirty_check = dirty.clone().expect("measured with the long transactions");
            let all = [lag_check, drain_check, long_check, dirty_check];
            if all.iter().all(|c| c.ok) {
                for c in &all {
                    self.ctx
                        .emit(CutoverEvent::CutoverCheck { check: c.clone() });
                }
                self.m.data.gates.extend(all);
                break;
            }
            if started.elapsed() > gates.timeout.0 {
                for c in &all {
                    self.ctx
                        .emit(CutoverEvent::CutoverCheck { check: c.clone() });
                }
                self.m.data.gates.extend(all);
                self.m.data.notes.push(format!(
                    "gates did not open within {:?}: NO-GO",
                    gates.timeout.0
                ));
                self.m.save().await?;
                if let Some(s) = self.sync.take() {
                    s.cancel();
                }
                return Ok(Some(Ending::NoGo));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.user_steps(StepPoint::BeforeFence, false).await?;
        self.fence().await?;
        Ok(None)
    }

    // FENCING → FENCED ----------------------------------------------------

    fn fence_spec(&self) -> ferry_core::cutover::FenceSpec {
        fence_spec(self.ctx, &self.legs.old, &self.legs)
    }

    async fn render_fence(&self) -> Result<FencePlan> {
        let freeze = &self.ctx.plan.freeze;
        Ok(match freeze.method {
            FenceMethod::Engine => self.legs.old.adapter.plan_fence(&self.fence_spec()).await?,
            FenceMethod::Command => FencePlan {
                apply: vec![freeze.command.join(" ")],
                undo: vec![freeze.undo.join(" ")],
                sessions: "the command ends the application's writes".into(),
                probe: "the command exits 0".into(),
            },
        })
    }

    async fn fence(&mut self) -> Result<()> {
        let plan = self.render_fence().await?;
        let started = now_ms();
        self.m.data.fence = Some(plan.clone());
        self.m.data.fence_started_ms = Some(started);
        self.m.data.deadline_ms = Some(
            started + i64::try_from(self.ctx.plan.freeze.budget.0.as_millis()).unwrap_or(i64::MAX),
        );
        self.m
            .log_step(
                "fence",
                StepStatus::Running,
                &serde_json::json!({ "apply": plan.apply, "undo": plan.undo }),
            )
            .await?;
        self.advance(CutoverPhase::Fencing).await?;
        self.spawn_guardian();
        self.refence().await
    }

    pub(super) fn spawn_guardian(&mut self) {
        if !self.ctx.plan.freeze.guardian {
            return;
        }
        match super::guardian::spawn(self.ctx, self.m.attempt) {
            Ok(()) => {}
            Err(e) => self.m.data.notes.push(format!(
                "the guardian did not start: {}",
                ferry_core::error::chain_line(&e)
            )),
        }
    }

    /// Applies the stored fence (again, after a crash: every statement is
    /// idempotent) and proves it holds.
    async fn refence(&mut self) -> Result<()> {
        let plan = self
            .m
            .data
            .fence
            .clone()
            .ok_or_else(|| Error::Bug("FENCING without a stored fence".into()))?;
        let started = self.m.data.fence_started_ms.unwrap_or_else(now_ms);
        let freeze = &self.ctx.plan.freeze;
        let detail = match freeze.method {
            FenceMethod::Engine => {
                let spec = self.fence_spec();
                let outcome = self.legs.old.adapter.apply_fence(&spec, &plan).await?;
                if !self.legs.old.adapter.fence_holds(&spec).await? {
                    return Err(Error::Invalid(
                        "the fence does not hold: an application role can still write".into(),
                    ));
                }
                format!(
                    "{} sessions ended, {} ms waiting for writers",
                    outcome.sessions_ended, outcome.waited_ms
                )
            }
            FenceMethod::Command => {
                let out = hooks::run(
                    &freeze.command,
                    &self.env("fence"),
                    freeze.lock_timeout.0 * 5,
                )
                .await?;
                if !out.ok() {
                    return Err(Error::Invalid(format!(
                        "the fence command failed: {}",
                        out.describe()
                    )));
                }
                out.describe()
            }
        };
        self.m.data.fence_effective_ms = Some(now_ms());
        self.m
            .log_step(
                "fence",
                StepStatus::Done,
                &serde_json::json!({ "detail": detail }),
            )
            .await?;
        self.step_done("fence", started, Some(detail));
        self.advance(CutoverPhase::Fenced).await
    }

    // FENCED → DRAINED ----------------------------------------------------

    /// Runs the plan's steps at `at`; inside the freeze each gets at most
    /// what is left of the budget.
    pub(super) async fn user_steps(&mut self, at: StepPoint, in_freeze: bool) -> Result<()> {
        let steps: Vec<_> = self.ctx.plan.steps_at(at).cloned().collect();
        for s in steps {
            let started = now_ms();
            let limit = if in_freeze {
                s.timeout.0.min(self.remaining())
            } else {
                s.timeout.0
            };
            let detail = if let Some(run) = &s.run {
                let out = hooks::run(run, &self.env(&s.name), limit).await?;
                if !out.ok() {
                    return Err(Error::Invalid(format!(
                        "step {} failed: {}",
                        s.name,
                        out.describe()
                    )));
                }
                out.describe()
            } else {
                let side = match s.side {
                    Some(SideName::Green) => &self.ctx.green,
                    _ => &self.ctx.blue,
                };
                let sql = [s.sql.clone().unwrap_or_default()];
                let what = format!("step {}", s.name);
                let run = side.adapter.execute_idempotent(&sql, &what);
                tokio::time::timeout(limit, run)
                    .await
                    .map_err(|_| Error::Invalid(format!("step {} timed out", s.name)))??;
                format!("sql on {}", side.label)
            };
            self.step_done(&format!("step:{}", s.name), started, Some(detail));
        }
        Ok(())
    }

    // ABORTING → ABORTED ----------------------------------------------------

    /// Undoes the attempt: the fence lifted (the old side writable again),
    /// the armed stream dropped, `on_abort` steps run.
    pub(super) async fn abort(&mut self, reason: &str) -> Result<Ending> {
        self.aborting = true;
        if let Some(s) = self.sync.take() {
            s.cancel();
        }
        self.m.data.abort_reason = Some(reason.to_string());
        self.m.data.aborted_by = Some("runner".into());
        self.ctx.note(format!("aborting: {reason}"));
        if let Err(e) = self.m.advance(CutoverPhase::Aborting).await {
            // Someone else moved the machine: the guardian (aborting too,
            // so the undo below repeats its own, harmlessly) or a switch
            // that started, which nothing may undo.
            self.m.reload().await?;
            match self.m.phase {
                CutoverPhase::Aborted => return Ok(Ending::Aborted),
                CutoverPhase::Aborting => {}
                _ => return Err(e),
            }
        }
        self.undo(reason).await
    }

    pub(super) async fn undo(&mut self, reason: &str) -> Result<Ending> {
        self.aborting = true;
        if let Some(fence) = self.m.data.fence.clone() {
            match self.ctx.plan.freeze.method {
                FenceMethod::Engine => self.legs.old.adapter.lift_fence(&fence).await?,
                FenceMethod::Command => {
                    let out = hooks::run(
                        &self.ctx.plan.freeze.undo,
                        &self.env("undo"),
                        Duration::from_secs(60),
                    )
                    .await?;
                    if !out.ok() {
                        return Err(Error::Invalid(format!(
                            "the fence's undo command failed ({}): {} is still fenced",
                            out.describe(),
                            self.legs.old.label
                        )));
                    }
                }
            }
            self.m
                .data
                .undone
                .push(format!("{} fence lifted", self.legs.old.label));
        }
        if let Some(slot) = self.m.data.armed_slot.take() {
            self.legs.new.adapter.drop_change_stream(&slot).await?;
            self.m
                .data
                .undone
                .push(format!("change stream {slot} dropped"));
            self.m.data.armed_position = None;
        }
        if self.m.data.abort_reason.is_none() {
            self.m.data.abort_reason = Some(reason.to_string());
        }
        let _ = self.user_steps(StepPoint::OnAbort, false).await;
        self.advance(CutoverPhase::Aborted).await?;
        Ok(Ending::Aborted)
    }
}
