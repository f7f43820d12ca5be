//! `ferry cutover`: a scripted blue-green switch with gates, a measured
//! freeze window and a way back.
//!
//! One persisted state machine per plan (see
//! [`ferry_state::CutoverPhase`]): PREFLIGHT → READY → FENCING → FENCED →
//! DRAINED → VERIFIED → SEQUENCED → REVERSE_ARMED → SWITCHING → SWITCHED →
//! GREEN_OPEN → DONE, with ABORTING → ABORTED and SWITCH_UNKNOWN.
//!
//! The invariants, and where they are kept:
//! - Before SWITCHING every failure is undone (blue writable again): the
//!   fence's undo is rendered and stored before the fence's first
//!   statement, so the runner, a resumed runner and the guardian (a second
//!   process, [`guardian`]) can all lift it; the budget's deadline is stored
//!   with it.
//! - From SWITCHING on ferry never lifts the fence by itself: a switch
//!   whose outcome is unknown waits for `confirm`. The move to SWITCHING is
//!   a compare-and-set that the guardian's abort also races for: exactly one
//!   wins.
//! - Drain is to a marker row ferry commits on blue after the fence, found
//!   on green (not a position guess: an idle source drains too).
//! - Generators only ever move up.
//! - The way back's change stream on green is taken after ferry's last
//!   write to green and before the switch, so it holds exactly the
//!   application's writes.
//! - Every step is idempotent, so `resume` repeats the step it was in.
//!
//! The runner runs the forward sync itself (from the plan's slot), so a
//! separately running `ferry sync` must be stopped first.

mod checks;
mod dryrun;
mod entry;
mod freeze;
pub mod guardian;
mod hooks;
pub mod plan;
pub mod report;
mod runner;
pub mod state;
mod switch;

use std::sync::Arc;

use serde::Serialize;

use ferry_core::cutover::MARKER_TABLE;
use ferry_core::{DbUrl, Error, Result, TablePlan, TableRef};
use ferry_state::CutoverPhase;

use crate::adapter::{qualify, Adapter};
use crate::job::TableOptions;
use crate::run::target_mappings;
use crate::{plan_tables, Job, Selection};

pub use entry::{confirm, dry_run, execute, go, resume, rollback, status, DryRun};
pub use plan::Plan;
pub use report::CutoverReport;
pub use state::{CheckValue, Direction};

/// What the binary renders as the cutover runs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CutoverEvent {
    /// The state machine moved.
    CutoverPhase {
        phase: CutoverPhase,
        attempt: u32,
        at_ms: i64,
    },
    /// A check or gate was measured.
    CutoverCheck { check: CheckValue },
    /// A step finished (its time counts in the breakdown).
    CutoverStep {
        step: String,
        ms: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Something a person should read.
    CutoverNote { text: String },
}

/// Where the runner's events go.
pub type Events = Arc<dyn Fn(&CutoverEvent) + Send + Sync>;

/// How a cutover command ended; the binary maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Dry run: every check passed.
    Go,
    /// A check or gate refused (nothing was fenced).
    NoGo,
    /// The cutover (or rollback) is done.
    Done,
    /// Done, but a post-cutover check failed.
    DoneWithFailedChecks,
    /// An attempt was undone before the switch: blue is writable again.
    Aborted,
    /// The switch's outcome is unknown: blue stays fenced until `confirm`.
    SwitchUnknown,
    /// `status`, `go`: nothing ran.
    Reported,
}

/// One database of the cutover.
#[derive(Clone)]
pub struct Side {
    /// `blue` or `green`.
    pub label: &'static str,
    pub url: DbUrl,
    pub adapter: Arc<Adapter>,
    pub roles: Vec<String>,
}

/// Everything a cutover command works with: the plan, the job, both sides
/// and the job's plans (blue → green).
pub struct Ctx {
    pub plan: Plan,
    pub job: Job,
    pub blue: Side,
    pub green: Side,
    pub plans: Vec<TablePlan>,
    pub events: Events,
    /// The command line that starts this plan's guardian (`--attempt N` is
    /// added); `None`: no guardian.
    pub guardian: Option<Vec<String>>,
}

impl Ctx {
    /// Plans the job's tables (blue → green).
    pub async fn new(plan: Plan, blue: DbUrl, green: DbUrl, events: Events) -> Result<Ctx> {
        let job = plan.job()?;
        let blue_adapter = Arc::new(Adapter::new(blue.clone()));
        let green_adapter = Arc::new(Adapter::new(green.clone()));
        for (side, a) in [("blue", &blue_adapter), ("green", &green_adapter)] {
            if !a.capabilities().cutover {
                return Err(Error::Invalid(format!(
                    "{side} is {}, which ferry cutover cannot drive (no write fence or change stream)",
                    a.engine().product()
                )));
            }
        }
        let mappings = target_mappings(&job, &green_adapter).await?;
        let plans = plan_tables(
            &blue_adapter,
            green_adapter.engine(),
            &mappings,
            &Selection::of_job(&job),
        )
        .await?;
        Ok(Ctx {
            blue: Side {
                label: "blue",
                url: blue,
                adapter: blue_adapter,
                roles: plan.blue.app_roles.clone(),
            },
            green: Side {
                label: "green",
                url: green,
                adapter: green_adapter,
                roles: plan.green_roles(),
            },
            job,
            plans,
            plan,
            events,
            guardian: None,
        })
    }

    pub fn emit(&self, e: CutoverEvent) {
        (self.events)(&e)
    }

    pub fn note(&self, text: impl Into<String>) {
        self.emit(CutoverEvent::CutoverNote { text: text.into() })
    }

    /// The two directions' roles: the side being fenced, the side being
    /// opened, the stream between them and the tables on each.
    pub async fn legs(&self, direction: Direction) -> Result<Legs> {
        let marker_blue = TableRef {
            schema: qualify(self.blue.adapter.engine(), self.job.schema.as_deref()),
            name: MARKER_TABLE.into(),
        };
        let marker_green = TableRef {
            schema: qualify(
                self.green.adapter.engine(),
                self.job.target_schema.as_deref(),
            ),
            name: MARKER_TABLE.into(),
        };
        Ok(match direction {
            Direction::Forward => Legs {
                old: self.blue.clone(),
                new: self.green.clone(),
                sync_job: with_tables(&self.job, &self.plans, &marker_blue),
                plans: self.plans.clone(),
                stream_slot: self.plan.slot.clone(),
                arm_slot: self.plan.slot_name("rev"),
                marker_old: marker_blue,
                marker_new: marker_green,
            },
            Direction::Rollback => {
                let job = reverse_job(&self.job, &self.plans, &self.green.url, &self.blue.url);
                let mappings = target_mappings(&job, &self.blue.adapter).await?;
                let plans = plan_tables(
                    &self.green.adapter,
                    self.blue.adapter.engine(),
                    &mappings,
                    &Selection::of_job(&job),
                )
                .await?;
                Legs {
                    old: self.green.clone(),
                    new: self.blue.clone(),
                    sync_job: with_tables(&job, &plans, &marker_green),
                    plans,
                    stream_slot: self.plan.slot_name("rev"),
                    arm_slot: self.plan.slot_name("back"),
                    marker_old: marker_green,
                    marker_new: marker_blue,
                }
            }
        })
    }
}

/// One direction of a cutover.
pub struct Legs {
    /// The side the application leaves (fenced).
    pub old: Side,
    /// The side the application moves to.
    pub new: Side,
    /// The sync that carries old → new, the marker table included.
    pub sync_job: Job,
    /// The job's plans old → new (without the marker).
    pub plans: Vec<TablePlan>,
    /// The change stream old → new.
    pub stream_slot: String,
    /// The change stream taken on `new` before it opens.
    pub arm_slot: String,
    pub marker_old: TableRef,
    pub marker_new: TableRef,
}

impl Legs {
    /// The job's tables on the new side.
    pub fn new_tables(&self) -> Vec<TableRef> {
        self.plans.iter().map(|p| p.target.clone()).collect()
    }

    /// The job's tables on the old side.
    pub fn old_tables(&self) -> Vec<TableRef> {
        self.plans.iter().map(|p| p.source.clone()).collect()
    }
}

/// `job` taking exactly the planned tables and the marker table.
fn with_tables(job: &Job, plans: &[TablePlan], marker: &TableRef) -> Job {
    let mut j = job.clone();
    j.tables = plans.iter().map(|p| p.source.to_string()).collect();
    j.tables.push(marker.to_string());
    j.exclude.clear();
    j
}

/// The job green → blue: green's tables named as the copy named them,
/// each landing in its blue table. Mapping overrides are blue → green's
/// and do not apply backwards.
fn reverse_job(job: &Job, plans: &[TablePlan], green: &DbUrl, blue: &DbUrl) -> Job {
    Job {
        source: Some(green.to_string()),
        target: Some(blue.to_string()),
        schema: job.target_schema.clone(),
        target_schema: job.schema.clone(),
        tables: plans.iter().map(|p| p.target.to_string()).collect(),
        table_options: plans
            .iter()
            .filter(|p| p.target.name != p.source.name)
            .map(|p| TableOptions {
                name: p.target.to_string(),
                target: Some(p.source.name.clone()),
                ..TableOptions::default()
            })
            .collect(),
        state: job.state.clone(),
        ..Job::default()
    }
}

/// A duration as the cutover's messages show it: seconds to the millisecond.
fn secs(d: std::time::Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}
