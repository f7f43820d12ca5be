//! The commands: where each enters the state machine.

use ferry_core::{Error, Result};
use ferry_state::CutoverPhase;

use super::report::CutoverReport;
use super::runner::Runner;
use super::state::{now_ms, CutoverData, Direction, Machine};
use super::{Ctx, CutoverEvent, Ending};

pub use super::dryrun::{dry_run, DryRun};

async fn machine(ctx: &Ctx) -> Result<Machine> {
    let store = crate::run::open_store(&ctx.job, &ctx.plan.run_id()).await?;
    Machine::load(store, &ctx.plan.run_id()).await
}

fn fresh(direction: Direction, ctx: &Ctx, prev: &CutoverData) -> CutoverData {
    CutoverData {
        direction,
        plan_hash: ctx.plan.hash(),
        started_ms: now_ms(),
        forward: prev.forward.clone(),
        ..CutoverData::default()
    }
}

async fn finish_run(runner: &mut Runner<'_>) -> Result<(Ending, CutoverReport)> {
    let ending = runner.run().await?;
    Ok((ending, CutoverReport::of(&runner.m, ending)))
}

/// `ferry cutover plan.toml --execute`: a new attempt from PREFLIGHT.
pub async fn execute(ctx: &Ctx) -> Result<(Ending, CutoverReport)> {
    let mut m = machine(ctx).await?;
    if m.exists() {
        use CutoverPhase::*;
        match (m.phase, m.data.direction) {
            (Preflight | Ready | Aborted, Direction::Forward) => {}
            (Done, Direction::Forward) => {
                return Err(Error::Invalid(
                    "this cutover is done; `ferry cutover rollback` goes back".into(),
                ))
            }
            (Done | Aborted | Preflight | Ready, Direction::Rollback) => {
                return Err(Error::Invalid(
                    "this cutover was rolled back; cutting over again needs a new copy and sync \
                     (and a new plan name)"
                        .into(),
                ))
            }
            (phase, _) => {
                return Err(Error::Invalid(format!(
                    "an attempt is in progress ({phase}): run `ferry cutover resume`"
                )))
            }
        }
    }
    let data = fresh(Direction::Forward, ctx, &m.data);
    let attempt = m.attempt + 1;
    m.start_attempt(attempt, data).await?;
    ctx.emit(CutoverEvent::CutoverPhase {
        phase: CutoverPhase::Preflight,
        attempt,
        at_ms: now_ms(),
    });
    let mut runner = Runner::new(ctx, m).await?;
    finish_run(&mut runner).await
}

/// `ferry cutover rollback plan.toml --execute`: the mirror plan.
pub async fn rollback(ctx: &Ctx) -> Result<(Ending, CutoverReport)> {
    let mut m = machine(ctx).await?;
    use CutoverPhase::*;
    match (m.phase, m.data.direction) {
        (Done, Direction::Forward) => {}
        (Preflight | Ready | Aborted, Direction::Rollback) => {}
        (phase, direction) => {
            return Err(Error::Invalid(format!(
                "nothing to roll back: the cutover is {phase} ({direction:?}); a rollback \
                 follows a done cutover"
            )))
        }
    }
    if m.data
        .forward
        .as_ref()
        .and_then(|f| f.reverse_slot.as_ref())
        .is_none()
    {
        return Err(Error::Invalid(
            "the cutover armed no way back (after.reverse_sync = false)".into(),
        ));
    }
    if !ctx.green.adapter.reads_change_stream() {
        return Err(Error::Invalid(format!(
            "the way back reads green's change stream, and ferry does not read {}'s yet",
            ctx.green.adapter.engine()
        )));
    }
    let data = fresh(Direction::Rollback, ctx, &m.data);
    let attempt = m.attempt + 1;
    m.start_attempt(attempt, data).await?;
    let mut runner = Runner::new(ctx, m).await?;
    finish_run(&mut runner).await
}

/// `ferry cutover resume plan.toml`: carries on after a crash. Inside the
/// freeze it re-applies the step it was in (all are idempotent) while the
/// budget lasts, else undoes the attempt.
pub async fn resume(ctx: &Ctx) -> Result<(Ending, CutoverReport)> {
    let m = machine(ctx).await?;
    if !m.exists() {
        return Err(Error::Invalid("no cutover to resume".into()));
    }
    let phase = m.phase;
    let mut runner = Runner::new(ctx, m).await?;
    if phase.fenced_before_switch() {
        if runner.remaining().is_zero() {
            let ending = runner
                .abort("the freeze budget passed while ferry was not running")
                .await?;
            let report = CutoverReport::of(&runner.m, ending);
            return Ok((ending, report));
        }
        runner.spawn_guardian();
    }
    finish_run(&mut runner).await
}

/// `ferry cutover confirm green|blue`: a human says where the application
/// writes after an unknown switch.
pub async fn confirm(ctx: &Ctx, new_side: bool) -> Result<(Ending, CutoverReport)> {
    let m = machine(ctx).await?;
    if !matches!(
        m.phase,
        CutoverPhase::SwitchUnknown | CutoverPhase::Switching
    ) {
        return Err(Error::Invalid(format!(
            "nothing to confirm: the cutover is {}",
            m.phase
        )));
    }
    let mut runner = Runner::new(ctx, m).await?;
    let who = if new_side {
        runner.legs.new.label
    } else {
        runner.legs.old.label
    };
    runner.m.data.notes.push(format!(
        "the operator confirmed the application writes to {who}"
    ));
    if new_side {
        runner.m.data.switched_ms = Some(now_ms());
        runner.advance(CutoverPhase::Switched).await?;
        finish_run(&mut runner).await
    } else {
        let ending = runner
            .abort("the operator confirmed the switch did not happen")
            .await?;
        let report = CutoverReport::of(&runner.m, ending);
        Ok((ending, report))
    }
}

/// `ferry cutover go plan.toml`: the human's moment (over a postpone file).
pub async fn go(ctx: &Ctx) -> Result<CutoverReport> {
    let mut m = machine(ctx).await?;
    for _ in 0..20 {
        m.reload().await?;
        if !matches!(m.phase, CutoverPhase::Preflight | CutoverPhase::Ready) {
            return Err(Error::Invalid(format!(
                "`go` is for a cutover waiting in READY; it is {}",
                m.phase
            )));
        }
        m.data.go_requested_ms = Some(now_ms());
        if m.save().await.is_ok() {
            return Ok(CutoverReport::of(&m, Ending::Reported));
        }
    }
    Err(Error::Invalid("the cutover state kept changing".into()))
}

/// `ferry cutover status plan.toml`.
pub async fn status(ctx: &Ctx) -> Result<Option<CutoverReport>> {
    let m = machine(ctx).await?;
    Ok(m.exists().then(|| CutoverReport::of(&m, Ending::Reported)))
}
