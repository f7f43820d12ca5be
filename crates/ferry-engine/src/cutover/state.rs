//! The cutover's persisted state: the phase (a [`CutoverPhase`] the store
//! keeps typed) and [`CutoverData`], everything the runner, a resumed
//! runner and the guardian need to carry on or undo without asking a
//! database what it was (the fence's undo statements, the deadline, the
//! armed position, the times of each step).
//!
//! Every write is a compare-and-set on the record's version
//! ([`Machine::advance`]): two writers never both win, and a writer that
//! lost reads again. A lost race where only a `go` request landed is merged
//! and retried; one where the phase moved (the guardian aborted) is an
//! error the runner stops on.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use ferry_core::cutover::FencePlan;
use ferry_core::{Error, Result};
use ferry_state::{CutoverPhase, StateStore, StepStatus};

/// Which way the cutover goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// blue → green.
    #[default]
    Forward,
    /// green → blue again (`ferry cutover rollback`), after a forward one.
    Rollback,
}

/// A gate or check as measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckValue {
    pub name: String,
    pub ok: bool,
    /// The measured value, in words (`0.12 s`, `none`, `2 sessions`).
    pub value: String,
    /// The bound or expectation, in words.
    pub limit: String,
}

/// A step that took time, with when it began and ended (ms since the Unix epoch).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepTime {
    pub step: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A generator moved on the new primary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeneratorMove {
    pub name: String,
    pub from: i64,
    pub to: i64,
}

/// What a forward cutover leaves for its rollback.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ForwardResult {
    /// Blue's fence, lifted when a rollback opens blue again.
    pub fence: FencePlan,
    /// The way back's slot and start position on green.
    pub reverse_slot: Option<String>,
    pub reverse_position: Option<String>,
}

/// Everything the state machine carries besides its phase.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct CutoverData {
    pub direction: Direction,
    pub plan_hash: String,
    /// When this attempt began.
    pub started_ms: i64,
    pub go_requested_ms: Option<i64>,
    /// The fence as rendered at FENCING (its undo is what lifts it).
    pub fence: Option<FencePlan>,
    /// Past this, before the switch, the attempt is undone.
    pub deadline_ms: Option<i64>,
    pub fence_started_ms: Option<i64>,
    /// The window's start.
    pub fence_effective_ms: Option<i64>,
    pub drained_ms: Option<i64>,
    pub verified_ms: Option<i64>,
    pub sequenced_ms: Option<i64>,
    pub armed_ms: Option<i64>,
    pub switch_started_ms: Option<i64>,
    pub switched_ms: Option<i64>,
    pub open_ms: Option<i64>,
    /// The application's first commit on the new primary, µs (the window's end).
    pub first_commit_us: Option<i64>,
    pub done_ms: Option<i64>,
    /// The change stream armed on the new primary.
    pub armed_slot: Option<String>,
    pub armed_position: Option<String>,
    pub gates: Vec<CheckValue>,
    pub steps: Vec<StepTime>,
    pub generators: Vec<GeneratorMove>,
    /// Rows verify found different (table and key), when it did.
    pub differences: Vec<String>,
    pub abort_reason: Option<String>,
    /// `runner` or `guardian`.
    pub aborted_by: Option<String>,
    /// What an abort undid, in order.
    pub undone: Vec<String>,
    pub notes: Vec<String>,
    /// Set on a forward cutover's record once it is done; kept through its rollback.
    pub forward: Option<ForwardResult>,
}

/// Now, ms since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The state machine of one cutover as this process last read or wrote it.
pub struct Machine {
    pub store: StateStore,
    pub run_id: String,
    pub phase: CutoverPhase,
    pub attempt: u32,
    version: Option<u64>,
    pub data: CutoverData,
}

impl Machine {
    /// Reads the record (or none yet).
    pub async fn load(store: StateStore, run_id: &str) -> Result<Machine> {
        let mut m = Machine {
            store,
            run_id: run_id.to_string(),
            phase: CutoverPhase::Preflight,
            attempt: 0,
            version: None,
            data: CutoverData::default(),
        };
        m.reload().await?;
        Ok(m)
    }

    /// Whether a record exists.
    pub fn exists(&self) -> bool {
        self.version.is_some()
    }

    pub async fn reload(&mut self) -> Result<()> {
        if let Some(r) = self.store.cutover(&self.run_id).await? {
            self.phase = r.phase;
            self.attempt = r.attempt;
            self.version = Some(r.version);
            self.data = serde_json::from_str(&r.data).map_err(|e| {
                Error::Invalid(format!(
                    "the state store holds cutover data ferry cannot read: {e}"
                ))
            })?;
        }
        Ok(())
    }

    /// Starts attempt `attempt` in PREFLIGHT with fresh data (what a
    /// forward cutover left for its rollback is kept).
    pub async fn start_attempt(&mut self, attempt: u32, data: CutoverData) -> Result<()> {
        self.attempt = attempt;
        self.data = data;
        self.write(CutoverPhase::Preflight, false).await
    }

    /// Moves to `phase` with the current data. If another writer changed
    /// the record meanwhile: a `go` alone is merged and the write retried;
    /// anything else is an error naming the phase found.
    pub async fn advance(&mut self, phase: CutoverPhase) -> Result<()> {
        self.write(phase, true).await
    }

    /// Writes the current data without moving.
    pub async fn save(&mut self) -> Result<()> {
        self.write(self.phase, true).await
    }

    async fn write(&mut self, phase: CutoverPhase, merge: bool) -> Result<()> {
        for _ in 0..20 {
            let json = serde_json::to_string(&self.data).map_err(|e| Error::Bug(e.to_string()))?;
            let written = self
                .store
                .set_cutover(&self.run_id, self.version, phase, self.attempt, &json)
                .await?;
            if let Some(v) = written {
                self.version = Some(v);
                self.phase = phase;
                return Ok(());
            }
            let mine = (self.phase, self.attempt);
            let go = self.data.clone();
            self.reload().await?;
            if !merge || (self.phase, self.attempt) != mine {
                return Err(Error::Invalid(format!(
                    "the cutover moved on without this process: it is now {} (attempt {}){}",
                    self.phase,
                    self.attempt,
                    self.data
                        .abort_reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )));
            }
            // Only data changed (a go request): keep ours, take theirs.
            let go_requested = self.data.go_requested_ms;
            self.data = go;
            self.data.go_requested_ms = self.data.go_requested_ms.or(go_requested);
        }
        Err(Error::Invalid(
            "the cutover state keeps changing under this process".into(),
        ))
    }

    /// Records a step's intent (its statements) or result in the store's
    /// step log, named by attempt: the write-ahead record a resume reads.
    pub async fn log_step(
        &self,
        step: &str,
        status: StepStatus,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let name = format!("{}:{step}", self.attempt);
        self.store
            .record_cutover_step(&self.run_id, &name, status, &detail.to_string())
            .await
    }
}
