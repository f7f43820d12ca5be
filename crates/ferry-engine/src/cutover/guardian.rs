//! The guardian: a second process, started when the fence goes up, that
//! lifts it at the budget's deadline if the runner has not moved on by
//! then (it died, or hangs). It holds no state of its own: it reads the
//! stored state machine every 100 ms, and its abort is a compare-and-set
//! racing the runner's move to SWITCHING, so at most one of the two wins.
//! It stands down as soon as the attempt reaches SWITCHING, ends, or a
//! newer attempt starts.
//!
//! A host crash kills the guardian too: `ferry cutover resume` then finds
//! the deadline passed and lifts the fence.

use std::process::Stdio;
use std::time::Duration;

use ferry_core::{Error, Result};
use ferry_state::CutoverPhase;

use super::runner::Runner;
use super::state::{now_ms, Machine};
use super::Ctx;

/// How long after the deadline the guardian acts: the runner, if alive,
/// aborts at the deadline itself, and the report should say it did.
const GRACE_MS: i64 = 500;

/// Starts the guardian process for `attempt` (the binary's command line
/// in `ctx.guardian`), detached in its own process group, its output in
/// ferry's state directory.
pub fn spawn(ctx: &Ctx, attempt: u32) -> Result<()> {
    let Some(argv) = &ctx.guardian else {
        return Err(Error::Invalid("no guardian command".into()));
    };
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Invalid("an empty guardian command".into()));
    };
    let dir = crate::run::state_dir();
    let _ = std::fs::create_dir_all(&dir);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{}.guardian.log", ctx.plan.run_id())))
        .map_err(|e| Error::Invalid(format!("the guardian's log: {e}")))?;
    let err = log
        .try_clone()
        .map_err(|e| Error::Invalid(format!("the guardian's log: {e}")))?;
    use std::os::unix::process::CommandExt;
    std::process::Command::new(program)
        .args(args)
        .args(["--attempt", &attempt.to_string()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Invalid(format!("starting the guardian: {e}")))?;
    Ok(())
}

/// The guardian's loop; returns what it did, in words.
pub async fn watch(ctx: &Ctx, attempt: u32) -> Result<String> {
    let store = crate::run::open_store(&ctx.job, &ctx.plan.run_id()).await?;
    let mut m = Machine::load(store, &ctx.plan.run_id()).await?;
    loop {
        m.reload().await?;
        if m.attempt != attempt {
            return Ok(format!("attempt {} started; standing down", m.attempt));
        }
        let deadline = m.data.deadline_ms.unwrap_or(i64::MAX);
        match m.phase {
            p if p.fenced_before_switch() => {
                if now_ms() < deadline.saturating_add(GRACE_MS) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                m.data.abort_reason = Some(
                    "the freeze budget ran out and the runner did not lift the fence (it died?)"
                        .into(),
                );
                m.data.aborted_by = Some("guardian".into());
                if m.advance(CutoverPhase::Aborting).await.is_err() {
                    continue; // the runner moved first: look again
                }
                return undo(ctx, m).await;
            }
            CutoverPhase::Aborting => {
                // The runner is undoing; finish it if it does not.
                if now_ms() < deadline.saturating_add(5_000) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                return undo(ctx, m).await;
            }
            other => return Ok(format!("nothing to guard: the cutover is {other}")),
        }
    }
}

async fn undo(ctx: &Ctx, m: Machine) -> Result<String> {
    let mut runner = Runner::new(ctx, m).await?;
    runner.undo("the guardian lifted the fence").await?;
    Ok("fence lifted at the deadline".into())
}
