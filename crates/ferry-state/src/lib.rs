//! Run state: every planned range of a copy and its status, checkpointed so
//! a run that stops (a crash, `kill -9`, a lost server) resumes where it was.
//!
//! A *run* is one copy job, named by a run id derived from what it copies
//! ([`run_id`]) or given by the user. For each table the run stores the
//! ranges planned by its first process, so every later process and every
//! resume reuses the same boundaries. Each range moves
//! `pending → copying → done` ([`RangeStatus`]).
//!
//! Two stores, one schema:
//! - **SQLite** (embedded, the default): a local file. One ferry process
//!   per run: a range left `copying` is taken to belong to a dead process.
//! - **PostgreSQL**: shared by many processes on many machines. A range is
//!   claimed with `SELECT … FOR UPDATE SKIP LOCKED`; the claim records the
//!   claiming process's state-store session (backend pid and start time),
//!   and a `copying` range whose session is gone is free to take again. A
//!   process whose state connection drops stops.
//!
//! Passwords never reach the store: callers pass URLs through `DbUrl`'s
//! redacted `Display`.

mod pg;
mod sqlite;

use ferry_core::range::KeyRange;
use ferry_core::Result;

pub use pg::PgStore;
pub use sqlite::SqliteStore;

/// Where a range stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeStatus {
    /// Planned, not started (or reset after its table failed).
    Pending,
    /// Claimed by a process, which may have died: its rows may or may not
    /// have committed in the target, so whoever takes it next deletes the
    /// range in the target first.
    Copying,
    /// Committed in the target; `rows` and `rejected` are final.
    Done,
}

impl RangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RangeStatus::Pending => "pending",
            RangeStatus::Copying => "copying",
            RangeStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<RangeStatus> {
        Some(match s {
            "pending" => RangeStatus::Pending,
            "copying" => RangeStatus::Copying,
            "done" => RangeStatus::Done,
            _ => return None,
        })
    }
}

/// What identifies a run (no passwords: URLs in redacted form).
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub source: String,
    pub target: String,
    /// A description of the job (tables and options), for people reading the store.
    pub job: String,
}

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

/// The run as a process finds it when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStart {
    /// No such run yet: this process plans it and prepares the targets.
    New,
    /// A run that did not finish: resume it.
    Unfinished,
    /// A run whose every range is done (reset to start over, unless the
    /// caller asked to keep it).
    Finished,
}

/// One stored range.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRange {
    pub index: usize,
    pub range: KeyRange,
    pub status: RangeStatus,
    pub rows: u64,
    pub rejected: u64,
}

/// A claim on a range: whether it was left `copying` by another process
/// (then its rows may be in the target and must be deleted first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Taken {
        was_copying: bool,
    },
    /// Done, or being copied by a live process.
    Elsewhere,
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

    /// Starts setting the run up: registers it when new and takes the run's
    /// setup lock (other processes wait in their own `begin_setup` until
    /// [`end_setup`](Self::end_setup)). A finished run is reset (its
    /// ranges forgotten) when `restart_finished`, else left as it is; either
    /// way the answer is [`RunStart::Finished`].
    pub async fn begin_setup(&self, run: &RunInfo, restart_finished: bool) -> Result<RunStart> {
        dispatch!(self, s => s.begin_setup(run, restart_finished).await)
    }

    /// Records, as the run starts, which target tables existed before it
    /// (opaque JSON to the store), so a resumed run still knows which
    /// tables it created.
    pub async fn set_preexisting(&self, run_id: &str, json: &str) -> Result<()> {
        dispatch!(self, s => s.set_preexisting(run_id, json).await)
    }

    /// Makes the run's registration (and its pre-existing tables) durable
    /// before any target DDL runs, so a process killed during setup leaves
    /// a run that resumes (appending into the tables it created) rather
    /// than one whose re-run finds "its" tables and refuses them as
    /// pre-existing. SQLite (one process per run) commits and re-takes its
    /// lock; PostgreSQL commits while a session-level advisory lock keeps
    /// other processes out of setup until it ends.
    pub async fn commit_registration(&self) -> Result<()> {
        match self {
            StateStore::Sqlite(s) => s.commit_registration(),
            StateStore::Pg(s) => s.commit_registration().await,
        }
    }

    /// What [`set_preexisting`](Self::set_preexisting) recorded.
    pub async fn preexisting(&self, run_id: &str) -> Result<Option<String>> {
        dispatch!(self, s => s.preexisting(run_id).await)
    }

    /// The ranges stored for `table`, by index (empty when none yet).
    pub async fn ranges(&self, run_id: &str, table: &str) -> Result<Vec<StoredRange>> {
        dispatch!(self, s => s.ranges(run_id, table).await)
    }

    /// Stores `table`'s planned ranges, all pending. Only during setup.
    pub async fn insert_ranges(
        &self,
        run_id: &str,
        table: &str,
        ranges: &[KeyRange],
    ) -> Result<()> {
        dispatch!(self, s => s.insert_ranges(run_id, table, ranges).await)
    }

    /// Marks every range of `table` pending again (its target was emptied).
    pub async fn reset_table(&self, run_id: &str, table: &str) -> Result<()> {
        dispatch!(self, s => s.reset_table(run_id, table).await)
    }

    /// Ends setup (the run is ready) and releases the setup lock.
    pub async fn end_setup(&self, run_id: &str) -> Result<()> {
        dispatch!(self, s => s.end_setup(run_id).await)
    }

    /// Claims one range for this process (see [`Claim`]).
    pub async fn claim(&self, run_id: &str, table: &str, index: usize) -> Result<Claim> {
        dispatch!(self, s => s.claim(run_id, table, index).await)
    }

    /// Records a committed range. Called after the target commit: a crash
    /// in between leaves it `copying`, which the next claim cleans up.
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

    /// Puts a claimed range back to pending (its copy failed and nothing of
    /// it committed).
    pub async fn release_range(&self, run_id: &str, table: &str, index: usize) -> Result<()> {
        dispatch!(self, s => s.release_range(run_id, table, index).await)
    }

    /// When every range is done, takes the run's last step (`finishing`:
    /// building the post-data schema) for this process; returns whether it
    /// did. Exactly one live process gets `true`; a `finishing` run whose
    /// process died (PostgreSQL: its session is gone; SQLite: always, one
    /// process per run) is taken again.
    pub async fn finish_run(&self, run_id: &str) -> Result<bool> {
        dispatch!(self, s => s.finish_run(run_id).await)
    }

    /// Marks a `finishing` run finished (its last step is done).
    pub async fn mark_finished(&self, run_id: &str) -> Result<()> {
        dispatch!(self, s => s.mark_finished(run_id).await)
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

fn status_from(table: &str, s: &str) -> Result<RangeStatus> {
    RangeStatus::parse(s).ok_or_else(|| ferry_core::Error::Table {
        table: table.to_string(),
        problem: format!("the state store holds an unknown range status `{s}`"),
    })
}

#[cfg(test)]
mod tests;
