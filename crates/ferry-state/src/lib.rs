//! Run state: every planned range of a copy and its status, checkpointed so
//! a run that stops (a crash, `kill -9`, a lost server) resumes where it was.
//!
//! A *run* is one copy job, named by a run id derived from what it copies
//! ([`run_id`]) or given by the user. For each table the run stores the
//! ranges planned by its first process, so every later process and every
//! resume reuses the same boundaries. Each range moves
//! `pending → copying → done` ([`RangeStatus`]), each run
//! `setup → ready → finishing → finished` ([`RunStatus`]); a table's state
//! is its ranges' ([`TableStatus`]). For the change stream and cutover that
//! follow a copy, a run also keeps its stream positions and cutover steps
//! ([`StepStatus`]).
//!
//! What a store does is written once, in the [`CheckpointStore`] trait.
//! Two stores, one schema:
//! - **SQLite** (embedded, the default): a local file. One ferry process
//!   per run: a range left `copying` is taken to belong to a dead process.
//! - **PostgreSQL**: shared by many processes on many machines. A range is
//!   claimed with `SELECT … FOR UPDATE SKIP LOCKED`; the claim records the
//!   claiming process's state-store session (backend pid and start time),
//!   and a `copying` range whose session is gone is free to take again. A
//!   process whose state connection drops stops. The store talks to
//!   PostgreSQL itself (through `ferry-pgconn`, the same connect and
//!   SQLSTATE classification the engine adapter uses), not through an
//!   engine crate.
//!
//! Passwords never reach the store: callers pass URLs through `DbUrl`'s
//! redacted `Display`.

mod checkpoint;
mod pg;
mod sqlite;
mod status;

use ferry_core::range::KeyRange;
use ferry_core::Result;

pub use checkpoint::{
    CheckpointStore, Claim, CutoverRecord, CutoverStep, RunInfo, RunStart, StoredRange,
};
pub use pg::PgStore;
pub use sqlite::SqliteStore;
pub use status::{CutoverPhase, RangeStatus, RunStatus, StepStatus, TableStatus};

/// A run id from what the job copies: the same source, target, tables and
/// options always give the same id, so re-running a command resumes it.
pub fn run_id(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let hex = h.finalize().to_hex();
    hex.as_str()[..16].to_string()
}

/// The state store: an embedded SQLite file or a shared PostgreSQL database.
pub enum StateStore {
    Sqlite(SqliteStore),
    /// Boxed: a PostgreSQL session is much bigger than a SQLite handle.
    Pg(Box<PgStore>),
}

macro_rules! dispatch {
    ($self:expr, $s:ident => $body:expr) => {
        match $self {
            StateStore::Sqlite($s) => $body,
            StateStore::Pg($s) => $body,
        }
    };
}

impl StateStore {
    /// Opens (creating when needed) the store at `spec`: a `postgres://` or
    /// `postgresql://` URL, or a file path for SQLite.
    pub async fn open(spec: &str) -> Result<StateStore> {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            let url = ferry_core::DbUrl::parse(spec)?;
            Ok(StateStore::Pg(Box::new(PgStore::open(url).await?)))
        } else {
            Ok(StateStore::Sqlite(SqliteStore::open(
                std::path::Path::new(spec),
            )?))
        }
    }

    /// See [`CheckpointStore::begin_setup`].
    pub async fn begin_setup(&self, run: &RunInfo, restart_finished: bool) -> Result<RunStart> {
        dispatch!(self, s => s.begin_setup(run, restart_finished).await)
    }

    /// See [`CheckpointStore::set_preexisting`].
    pub async fn set_preexisting(&self, run_id: &str, json: &str) -> Result<()> {
        dispatch!(self, s => s.set_preexisting(run_id, json).await)
    }

    /// See [`CheckpointStore::commit_registration`]. SQLite (one process
    /// per run) commits and re-takes its lock; PostgreSQL commits while a
    /// session-level advisory lock keeps other processes out of setup until
    /// it ends.
    pub async fn commit_registration(&self) -> Result<()> {
        dispatch!(self, s => s.commit_registration().await)
    }

    /// See [`CheckpointStore::preexisting`].
    pub async fn preexisting(&self, run_id: &str) -> Result<Option<String>> {
        dispatch!(self, s => s.preexisting(run_id).await)
    }

    /// See [`CheckpointStore::ranges`].
    pub async fn ranges(&self, run_id: &str, table: &str) -> Result<Vec<StoredRange>> {
        dispatch!(self, s => s.ranges(run_id, table).await)
    }

    /// See [`CheckpointStore::insert_ranges`].
    pub async fn insert_ranges(
        &self,
        run_id: &str,
        table: &str,
        ranges: &[KeyRange],
    ) -> Result<()> {
        dispatch!(self, s => s.insert_ranges(run_id, table, ranges).await)
    }

    /// See [`CheckpointStore::reset_table`].
    pub async fn reset_table(&self, run_id: &str, table: &str) -> Result<()> {
        dispatch!(self, s => s.reset_table(run_id, table).await)
    }

    /// See [`CheckpointStore::end_setup`].
    pub async fn end_setup(&self, run_id: &str) -> Result<()> {
        dispatch!(self, s => s.end_setup(run_id).await)
    }

    /// See [`CheckpointStore::claim`].
    pub async fn claim(&self, run_id: &str, table: &str, index: usize) -> Result<Claim> {
        dispatch!(self, s => s.claim(run_id, table, index).await)
    }

    /// See [`CheckpointStore::finish_range`].
    pub async fn finish_range(
        &self,
        run_id: &str,
        table: &str,
        index: usize,
        rows: u64,
        rejected: u64,
    ) -> Result<()> {
        dispatch!(self, s => s.finish_range(run_id, table, index, rows, rejected).await)
    }

    /// See [`CheckpointStore::release_range`].
    pub async fn release_range(&self, run_id: &str, table: &str, index: usize) -> Result<()> {
        dispatch!(self, s => s.release_range(run_id, table, index).await)
    }

    /// See [`CheckpointStore::finish_run`].
    pub async fn finish_run(&self, run_id: &str) -> Result<bool> {
        dispatch!(self, s => s.finish_run(run_id).await)
    }

    /// See [`CheckpointStore::mark_finished`].
    pub async fn mark_finished(&self, run_id: &str) -> Result<()> {
        dispatch!(self, s => s.mark_finished(run_id).await)
    }

    /// See [`CheckpointStore::save_stream_position`].
    pub async fn save_stream_position(&self, run_id: &str, stream: &str, json: &str) -> Result<()> {
        dispatch!(self, s => s.save_stream_position(run_id, stream, json).await)
    }

    /// See [`CheckpointStore::save_report`].
    pub async fn save_report(&self, run_id: &str, kind: &str, json: &str) -> Result<()> {
        dispatch!(self, s => s.save_report(run_id, kind, json).await)
    }

    /// See [`CheckpointStore::reports`].
    pub async fn reports(&self, run_id: &str) -> Result<Vec<(String, String)>> {
        dispatch!(self, s => s.reports(run_id).await)
    }

    /// See [`CheckpointStore::load_stream_position`].
    pub async fn load_stream_position(&self, run_id: &str, stream: &str) -> Result<Option<String>> {
        dispatch!(self, s => s.load_stream_position(run_id, stream).await)
    }

    /// See [`CheckpointStore::record_cutover_step`].
    pub async fn record_cutover_step(
        &self,
        run_id: &str,
        step: &str,
        status: StepStatus,
        detail: &str,
    ) -> Result<()> {
        dispatch!(self, s => s.record_cutover_step(run_id, step, status, detail).await)
    }

    /// See [`CheckpointStore::cutover_steps`].
    pub async fn cutover_steps(&self, run_id: &str) -> Result<Vec<CutoverStep>> {
        dispatch!(self, s => s.cutover_steps(run_id).await)
    }

    /// See [`CheckpointStore::cutover`].
    pub async fn cutover(&self, run_id: &str) -> Result<Option<CutoverRecord>> {
        dispatch!(self, s => s.cutover(run_id).await)
    }

    /// See [`CheckpointStore::set_cutover`].
    pub async fn set_cutover(
        &self,
        run_id: &str,
        expected: Option<u64>,
        phase: CutoverPhase,
        attempt: u32,
        data: &str,
    ) -> Result<Option<u64>> {
        dispatch!(self, s => s.set_cutover(run_id, expected, phase, attempt, data).await)
    }
}

/// Ranges are stored as JSON (the serde form of [`KeyRange`]).
fn range_json(range: &KeyRange) -> Result<String> {
    serde_json::to_string(range).map_err(|e| ferry_core::Error::Bug(format!("range json: {e}")))
}

fn range_from_json(table: &str, s: &str) -> Result<KeyRange> {
    serde_json::from_str(s).map_err(|e| ferry_core::Error::Table {
        table: table.to_string(),
        problem: format!("the state store holds a range ferry cannot read: {e}"),
    })
}

fn range_status(table: &str, s: &str) -> Result<RangeStatus> {
    RangeStatus::parse(s).ok_or_else(|| ferry_core::Error::Table {
        table: table.to_string(),
        problem: format!("the state store holds an unknown range status `{s}`"),
    })
}

fn run_status(run_id: &str, s: &str) -> Result<RunStatus> {
    RunStatus::parse(s).ok_or_else(|| ferry_core::Error::Table {
        table: run_id.to_string(),
        problem: format!("the state store holds an unknown run status `{s}`"),
    })
}

fn cutover_phase(run_id: &str, s: &str) -> Result<CutoverPhase> {
    CutoverPhase::parse(s).ok_or_else(|| ferry_core::Error::Table {
        table: run_id.to_string(),
        problem: format!("the state store holds an unknown cutover phase `{s}`"),
    })
}

fn step_status(run_id: &str, s: &str) -> Result<StepStatus> {
    StepStatus::parse(s).ok_or_else(|| ferry_core::Error::Table {
        table: run_id.to_string(),
        problem: format!("the state store holds an unknown cutover step status `{s}`"),
    })
}

/// A store time in milliseconds since the Unix epoch, as a `SystemTime`.
fn time_from_millis(ms: i64) -> std::time::SystemTime {
    let since = std::time::Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        std::time::UNIX_EPOCH + since
    } else {
        std::time::UNIX_EPOCH - since
    }
}

/// Counts and indexes as SQL integers (a count past `i64::MAX` cannot happen).
fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
