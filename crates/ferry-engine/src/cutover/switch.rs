//! The switch and after: SWITCHING (the hook or PgBouncer, then the probe
//! decides), SWITCHED, GREEN_OPEN (the new primary opened, its first commit
//! awaited), post-cutover checks, DONE. Nothing here lifts the old side's
//! fence except a switch known not to have happened.

use std::time::{Duration, Instant};

use ferry_core::{Error, Result};
use ferry_state::{CutoverPhase, StepStatus};

use super::checks;
use super::hooks::{self, Outcome};
use super::plan::{FenceMethod, StepPoint, SwitchKind};
use super::runner::Runner;
use super::state::{now_ms, CheckValue, Direction, ForwardResult};
use super::{secs, CutoverEvent, Ending};

impl Runner<'_> {
    // REVERSE_ARMED → SWITCHING → SWITCHED --------------------------------

    pub(super) async fn switch(&mut self) -> Result<Option<Ending>> {
        self.user_steps(StepPoint::BeforeSwitch, true).await?;
        for v in &self.ctx.plan.versions {
            let c = checks::versions_equal(v, &self.legs, true).await?;
            self.ctx
                .emit(CutoverEvent::CutoverCheck { check: c.clone() });
            if !c.ok {
                return Err(Error::Invalid(format!(
                    "the {} differ: {}",
                    c.name, c.value
                )));
            }
        }
        if self.remaining().is_zero() {
            return Err(Error::Invalid(format!(
                "the freeze budget of {} ran out before the switch",
                secs(self.ctx.plan.freeze.budget.0)
            )));
        }
        let started = now_ms();
        self.m.data.switch_started_ms = Some(started);
        self.m
            .log_step(
                "switch",
                StepStatus::Running,
                &serde_json::json!({ "to": self.legs.new.label }),
            )
            .await?;
        self.advance(CutoverPhase::Switching).await?;
        let verdict = self.do_switch().await;
        self.decide_switch(verdict, started).await
    }

    pub(super) async fn decide_switch(
        &mut self,
        verdict: Verdict,
        started: i64,
    ) -> Result<Option<Ending>> {
        match verdict {
            Verdict::Switched(detail) => {
                self.m.data.switched_ms = Some(now_ms());
                self.m
                    .log_step(
                        "switch",
                        StepStatus::Done,
                        &serde_json::json!({ "detail": detail }),
                    )
                    .await?;
                self.step_done("switch", started, Some(detail));
                self.advance(CutoverPhase::Switched).await?;
                Ok(None)
            }
            Verdict::NotSwitched(detail) => {
                self.m
                    .log_step(
                        "switch",
                        StepStatus::Failed,
                        &serde_json::json!({ "detail": detail }),
                    )
                    .await?;
                self.abort(&format!("the switch did not happen: {detail}"))
                    .await
                    .map(Some)
            }
            Verdict::Unknown(detail) => {
                self.m.data.notes.push(format!(
                    "switch outcome unknown ({detail}): {} stays fenced; run `ferry cutover \
                     confirm green` or `confirm blue` once you know where the application writes",
                    self.legs.old.label
                ));
                self.m
                    .log_step(
                        "switch",
                        StepStatus::Failed,
                        &serde_json::json!({ "unknown": detail }),
                    )
                    .await?;
                self.advance(CutoverPhase::SwitchUnknown).await?;
                Ok(Some(Ending::SwitchUnknown))
            }
        }
    }

    /// A runner died in SWITCHING: ask the probe, if there is one.
    pub(super) async fn switch_interrupted(&mut self) -> Result<Option<Ending>> {
        let started = self.m.data.switch_started_ms.unwrap_or_else(now_ms);
        let verdict = match self.probe().await? {
            Some(true) => Verdict::Switched("the probe says the switch happened".into()),
            _ => Verdict::Unknown("ferry stopped during the switch".into()),
        };
        self.decide_switch(verdict, started).await
    }

    /// The switch probe: `Some(true)` traffic goes to the new side,
    /// `Some(false)` to the old one, `None` no probe or no clear answer.
    async fn probe(&self) -> Result<Option<bool>> {
        let s = &self.ctx.plan.switch;
        match s.kind {
            SwitchKind::Command => {
                let Some(verify) = &s.verify else {
                    return Ok(None);
                };
                Ok(
                    match hooks::run(verify, &self.env("switch"), s.timeout.0).await? {
                        Outcome::Exited { code: 0, .. } => Some(true),
                        Outcome::Exited { code: 1, .. } => Some(false),
                        _ => None,
                    },
                )
            }
            SwitchKind::Pgbouncer => {
                let Some(pb) = &s.pgbouncer else {
                    return Ok(None);
                };
                let admin = ferry_core::DbUrl::parse(&super::plan::expand(&pb.admin_url)?)?;
                Ok(
                    match crate::adapter::pgbouncer_points_at(&admin, &pb.database).await {
                        Ok((host, port)) => {
                            let (n, o) = (&self.legs.new.url, &self.legs.old.url);
                            if host == n.host && port == n.port {
                                Some(true)
                            } else if host == o.host && port == o.port {
                                Some(false)
                            } else {
                                None
                            }
                        }
                        Err(_) => None,
                    },
                )
            }
        }
    }

    async fn do_switch(&self) -> Verdict {
        let s = &self.ctx.plan.switch;
        let done = match s.kind {
            SwitchKind::Command => hooks::run(&s.command, &self.env("switch"), s.timeout.0)
                .await
                .map(|o| (o.ok(), o.describe())),
            SwitchKind::Pgbouncer => match &s.pgbouncer {
                None => Err(Error::Bug("pgbouncer switch without settings".into())),
                Some(pb) => {
                    let run = async {
                        let admin = ferry_core::DbUrl::parse(&super::plan::expand(&pb.admin_url)?)?;
                        crate::adapter::pgbouncer_switch(
                            &admin,
                            &pb.database,
                            &pb.ini,
                            &self.legs.new.url,
                        )
                        .await
                    };
                    match tokio::time::timeout(s.timeout.0, run).await {
                        Ok(Ok(())) => Ok((true, "pgbouncer repointed".to_string())),
                        Ok(Err(e)) => Ok((false, ferry_core::error::chain_line(&e))),
                        Err(_) => Ok((false, "timed out".to_string())),
                    }
                }
            },
        };
        let (ran_ok, detail) = match done {
            Ok(d) => d,
            Err(e) => return Verdict::Unknown(ferry_core::error::chain_line(&e)),
        };
        let probe = self.probe().await.unwrap_or(None);
        match (ran_ok, probe) {
            (true, None) if s.verify.is_none() && s.kind == SwitchKind::Command => {
                Verdict::Switched(detail)
            }
            (_, Some(true)) => Verdict::Switched(detail),
            (false, Some(false)) => Verdict::NotSwitched(detail),
            (true, Some(false)) => {
                Verdict::Unknown(format!("{detail}, but the probe says it did not switch"))
            }
            (_, None) => Verdict::Unknown(detail),
        }
    }

    /// The variables every hook and step gets.
    pub(super) fn env(&self, step: &str) -> Vec<(String, String)> {
        let d = &self.m.data;
        let elapsed = d.fence_started_ms.map_or(0, |t| now_ms() - t);
        vec![
            ("FERRY_RUN_ID".into(), self.m.run_id.clone()),
            ("FERRY_ATTEMPT".into(), self.m.attempt.to_string()),
            ("FERRY_STEP".into(), step.into()),
            ("FERRY_SWITCH_TO".into(), self.legs.new.label.into()),
            ("FERRY_SWITCH_FROM".into(), self.legs.old.label.into()),
            // Which side a fence or undo command acts on: the side being
            // left, except when a rollback opens blue again.
            (
                "FERRY_FENCE_SIDE".into(),
                if step == "open" {
                    self.legs.new.label.into()
                } else {
                    self.legs.old.label.into()
                },
            ),
            (
                "FERRY_DIRECTION".into(),
                match d.direction {
                    Direction::Forward => "forward".into(),
                    Direction::Rollback => "rollback".into(),
                },
            ),
            ("FERRY_FREEZE_ELAPSED_MS".into(), elapsed.to_string()),
            (
                "FERRY_FREEZE_BUDGET_MS".into(),
                self.ctx.plan.freeze.budget.0.as_millis().to_string(),
            ),
            (
                "FERRY_PLAN".into(),
                self.ctx.plan.origin.display().to_string(),
            ),
        ]
    }

    // SWITCHED → GREEN_OPEN → DONE ----------------------------------------

    pub(super) async fn open(&mut self) -> Result<()> {
        self.user_steps(StepPoint::AfterSwitch, false).await.ok();
        let started = now_ms();
        let detail = match (&self.m.data.direction, &self.m.data.forward) {
            (Direction::Rollback, Some(f)) => {
                match self.ctx.plan.freeze.method {
                    FenceMethod::Engine => self.legs.new.adapter.lift_fence(&f.fence).await?,
                    FenceMethod::Command => {
                        let undo = &self.ctx.plan.freeze.undo;
                        let out =
                            hooks::run(undo, &self.env("open"), Duration::from_secs(60)).await?;
                        if !out.ok() {
                            return Err(Error::Invalid(format!(
                                "the fence's undo command failed: {}",
                                out.describe()
                            )));
                        }
                    }
                }
                "blue's fence lifted".to_string()
            }
            _ => format!("{} takes writes", self.legs.new.label),
        };
        self.m.data.open_ms = Some(now_ms());
        self.step_done("open", started, Some(detail));
        self.advance(CutoverPhase::GreenOpen).await
    }

    pub(super) async fn finish(&mut self) -> Result<Option<Ending>> {
        self.user_steps(StepPoint::GreenOpen, false).await.ok();
        if let (Some(slot), Some(pos)) = (
            self.m.data.armed_slot.clone(),
            self.m.data.armed_position.clone(),
        ) {
            if self.m.data.first_commit_us.is_none() {
                let until = Instant::now() + self.ctx.plan.after.first_write_timeout.0;
                let tables = self.legs.new_tables();
                while Instant::now() < until {
                    if let Some(t) = self
                        .legs
                        .new
                        .adapter
                        .first_commit_after(&slot, &pos, &tables)
                        .await?
                    {
                        self.m.data.first_commit_us = Some(t);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if self.m.data.first_commit_us.is_none() {
                    self.m.data.notes.push(format!(
                        "no application commit on {} within {:?}: the window is open-ended",
                        self.legs.new.label, self.ctx.plan.after.first_write_timeout.0
                    ));
                }
            }
        }
        let failed = self.post_checks().await?;
        self.finalize().await?;
        self.m.data.done_ms = Some(now_ms());
        self.advance(CutoverPhase::Done).await?;
        Ok(Some(if failed {
            Ending::DoneWithFailedChecks
        } else {
            Ending::Done
        }))
    }

    /// Post-cutover checks; whether one failed (never a rollback by itself).
    async fn post_checks(&mut self) -> Result<bool> {
        let mut failed = false;
        for c in &self.ctx.plan.post_checks {
            let until = Instant::now() + c.duration.map_or(Duration::ZERO, |d| d.0);
            let mut worst = f64::MIN;
            let mut problem = None;
            loop {
                match hooks::run(&c.run, &self.env("post_check"), Duration::from_secs(30)).await? {
                    Outcome::Exited { code: 0, tail } => match hooks::number_in(&tail) {
                        Some(v) => worst = worst.max(v),
                        None => problem = Some(format!("printed no number ({tail})")),
                    },
                    other => problem = Some(other.describe()),
                }
                if problem.is_some() || Instant::now() >= until {
                    break;
                }
                tokio::time::sleep(c.every.0).await;
            }
            let ok = problem.is_none() && worst <= c.max;
            failed |= !ok;
            let check = CheckValue {
                name: c.name.clone(),
                ok,
                value: problem.unwrap_or_else(|| format!("{worst}")),
                limit: format!("≤ {}", c.max),
            };
            self.ctx.emit(CutoverEvent::CutoverCheck {
                check: check.clone(),
            });
            self.m.data.gates.push(check);
        }
        Ok(failed)
    }

    async fn finalize(&mut self) -> Result<()> {
        match self.m.data.direction {
            Direction::Forward => {
                // The forward stream is finished: blue's slot would only
                // keep WAL from now on.
                self.legs
                    .old
                    .adapter
                    .drop_change_stream(&self.legs.stream_slot)
                    .await?;
                self.m.data.forward = Some(ForwardResult {
                    fence: self.m.data.fence.clone().unwrap_or_default(),
                    reverse_slot: self.m.data.armed_slot.clone(),
                    reverse_position: self.m.data.armed_position.clone(),
                });
            }
            Direction::Rollback => {
                self.legs
                    .old
                    .adapter
                    .drop_change_stream(&self.legs.stream_slot)
                    .await?;
                if let Some(slot) = &self.m.data.armed_slot {
                    self.legs.new.adapter.drop_change_stream(slot).await?;
                }
            }
        }
        Ok(())
    }
}

/// What a switch came to.
pub(super) enum Verdict {
    Switched(String),
    NotSwitched(String),
    Unknown(String),
}
