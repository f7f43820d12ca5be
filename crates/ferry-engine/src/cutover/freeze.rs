//! Inside the freeze, after the fence: DRAINED (the sync carried to the
//! marker), VERIFIED (the final comparison), SEQUENCED (counters raised past
//! blue's), REVERSE_ARMED (the way back armed before green's first write).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::{Error, Result};
use ferry_state::CutoverPhase;

use super::plan::{StepPoint, VerifyMode};
use super::runner::Runner;
use super::secs;
use super::state::{now_ms, Direction, GeneratorMove};
use crate::verify::scope::{verify_scoped, CopyRun};
use crate::verify::{verify, VerifyOptions, VerifyScope};

impl Runner<'_> {
    pub(super) async fn drain(&mut self) -> Result<()> {
        self.user_steps(StepPoint::Fenced, true).await?;
        let started = now_ms();
        self.start_sync().await?;
        let (key, attempt) = (self.marker_key(), self.m.attempt);
        self.legs
            .old
            .adapter
            .write_marker(&self.legs.marker_old, &key, attempt)
            .await?;
        let limit = self.ctx.plan.drain.timeout.0.min(self.remaining());
        let until = Instant::now() + limit;
        loop {
            if let Some(e) = self.sync_failed().await {
                return Err(e);
            }
            // One session polls for a while; between, the sync's health.
            let left = until.saturating_duration_since(Instant::now());
            if self
                .legs
                .new
                .adapter
                .wait_for_marker(
                    &self.legs.marker_new,
                    &key,
                    attempt,
                    left.min(Duration::from_millis(500)),
                )
                .await?
            {
                break;
            }
            if Instant::now() > until {
                return Err(Error::Invalid(format!(
                    "the drain did not reach the marker within {}",
                    secs(limit)
                )));
            }
        }
        if let Some(s) = self.sync.take() {
            s.stop().await?;
        }
        self.m.data.drained_ms = Some(now_ms());
        self.step_done("drain", started, None);
        self.advance(CutoverPhase::Drained).await
    }

    // DRAINED → VERIFIED --------------------------------------------------

    pub(super) async fn final_verify(&mut self) -> Result<()> {
        self.user_steps(StepPoint::Drained, true).await?;
        let started = now_ms();
        let detail = match self.ctx.plan.verify.mode {
            VerifyMode::None => "skipped (verify.mode = none)".to_string(),
            VerifyMode::Full => self.verify_tables(None).await?,
            VerifyMode::Dirty => match self.copy_run().await? {
                Some(run) => self.verify_tables(Some(run)).await?,
                None if self.m.data.direction == Direction::Rollback => format!(
                    "{} (the way back's stream has no copy ranges: whole tables)",
                    self.verify_tables(None).await?
                ),
                None => {
                    return Err(Error::Invalid(
                        "verify.mode = dirty, but the state store holds no copy run with this \
                         plan's slot"
                            .into(),
                    ))
                }
            },
        };
        self.m.data.verified_ms = Some(now_ms());
        self.step_done("verify", started, Some(detail));
        self.advance(CutoverPhase::Verified).await
    }

    /// Compares old and new: whole tables, or with `run` only the copy's
    /// ranges the sync marked dirty (clearing the marks of those found
    /// equal). Any difference is an error naming the first keys.
    pub(super) async fn verify_tables(&mut self, run: Option<Arc<CopyRun>>) -> Result<String> {
        let options = VerifyOptions::default();
        let (old, new) = (self.legs.old.adapter.clone(), self.legs.new.adapter.clone());
        let plans = self.legs.plans.clone();
        let dirty = run.is_some();
        let run = async move {
            match run {
                Some(run) => {
                    let scope = VerifyScope {
                        dirty: true,
                        repair: false,
                    };
                    verify_scoped(old, new, plans, &options, scope, Some(run)).await
                }
                None => verify(old, new, plans, &options).await,
            }
        };
        let report = tokio::time::timeout(self.remaining(), run)
            .await
            .map_err(|_| Error::Invalid("the freeze budget ran out while verifying".into()))??;
        if let Some(f) = report.failed.first() {
            return Err(Error::Invalid(format!(
                "verify could not compare table {}: {}",
                f.table, f.error
            )));
        }
        let n = report.differences();
        if n > 0 {
            self.m.data.differences = report
                .tables
                .iter()
                .flat_map(|t| {
                    t.outcome.diffs.iter().map(move |d| {
                        let key: Vec<String> =
                            d.key.iter().map(|(c, v)| format!("{c}={v}")).collect();
                        format!("{} {:?} {}", t.table, d.kind, key.join(", "))
                    })
                })
                .take(20)
                .collect();
            return Err(Error::Invalid(format!(
                "the final verify found {n} differences between {} and {} ({})",
                self.legs.old.label,
                self.legs.new.label,
                self.m.data.differences.join("; ")
            )));
        }
        let rows: u64 = report.tables.iter().map(|t| t.outcome.rows_source).sum();
        let tables = report.tables.len();
        Ok(if dirty {
            let (d, of) = report
                .tables
                .iter()
                .filter_map(|t| t.dirty)
                .fold((0, 0), |(d, o), s| (d + s.dirty, o + s.of));
            format!("{d} dirty of {of} ranges in {tables} tables, {rows} rows equal")
        } else {
            format!("{tables} tables, {rows} rows equal")
        })
    }

    // VERIFIED → SEQUENCED ------------------------------------------------

    pub(super) async fn sequences(&mut self) -> Result<()> {
        self.user_steps(StepPoint::Verified, true).await?;
        let started = now_ms();
        let old = self
            .legs
            .old
            .adapter
            .generators(&self.legs.old_tables())
            .await?;
        let new = self
            .legs
            .new
            .adapter
            .generators(&self.legs.new_tables())
            .await?;
        let gap = self.ctx.plan.sequences.gap;
        let mut moves = Vec::new();
        for og in &old {
            let Some(p) = self.legs.plans.iter().find(|p| p.source == og.table) else {
                continue;
            };
            let Some(ng) = new
                .iter()
                .find(|g| g.table == p.target && g.column == og.column)
            else {
                self.m.data.notes.push(format!(
                    "{} has no generator behind {}.{} (blue's {} is at {})",
                    self.legs.new.label, p.target, og.column, og.name, og.next
                ));
                continue;
            };
            let want = og.next.saturating_add(gap);
            let sql = self.legs.new.adapter.raise_generator_sql(ng, want);
            if sql.is_empty() {
                continue;
            }
            self.legs
                .new
                .adapter
                .execute_idempotent(&sql, "raising a generator")
                .await?;
            moves.push((
                ng.table.clone(),
                ng.column.clone(),
                ng.name.clone(),
                ng.next,
                want,
            ));
        }
        let after = self
            .legs
            .new
            .adapter
            .generators(&self.legs.new_tables())
            .await?;
        for (table, column, name, from, want) in moves {
            let now = after
                .iter()
                .find(|g| g.table == table && g.column == column)
                .map_or(i64::MIN, |g| g.next);
            if now < want {
                return Err(Error::Invalid(format!(
                    "generator {name} is at {now} after raising it to {want}"
                )));
            }
            self.m.data.generators.push(GeneratorMove {
                name,
                from,
                to: now,
            });
        }
        self.m.data.sequenced_ms = Some(now_ms());
        let detail = format!("{} raised", self.m.data.generators.len());
        self.step_done("sequences", started, Some(detail));
        self.advance(CutoverPhase::Sequenced).await
    }

    // SEQUENCED → REVERSE_ARMED -------------------------------------------

    pub(super) async fn arm(&mut self) -> Result<()> {
        let started = now_ms();
        let forward = self.m.data.direction == Direction::Forward;
        let detail = if forward && !self.ctx.plan.after.reverse_sync {
            "no way back (after.reverse_sync = false)".to_string()
        } else {
            let mut tables = self.legs.new_tables();
            if forward {
                tables.push(self.legs.marker_new.clone());
            }
            let slot = self.legs.arm_slot.clone();
            let position = self
                .legs
                .new
                .adapter
                .arm_change_stream(&slot, &tables)
                .await?;
            self.m.data.armed_slot = Some(slot.clone());
            self.m.data.armed_position = Some(position.clone());
            format!("{slot} at {position}")
        };
        self.m.data.armed_ms = Some(now_ms());
        self.step_done("reverse_arm", started, Some(detail));
        self.advance(CutoverPhase::ReverseArmed).await
    }

    // User steps ------------------------------------------------------------
}
