//! What the engine asks of a checkpoint store, written down once as the
//! [`CheckpointStore`] trait, so the two stores (SQLite, PostgreSQL) keep
//! the same contract. The engine reaches them through the
//! [`StateStore`](crate::StateStore) enum: a closed set, dispatched by a
//! `match`, never a `dyn`.

use std::time::SystemTime;

use ferry_core::range::KeyRange;
use ferry_core::Result;

use crate::{CutoverPhase, RangeStatus, StepStatus};

/// What identifies a run (no passwords: URLs in redacted form).
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub source: String,
    pub target: String,
    /// A description of the job (tables and options), for people reading the store.
    pub job: String,
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

/// One recorded cutover step, as [`CheckpointStore::cutover_steps`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutoverStep {
    /// The runner's name for the step (unique within a run).
    pub step: String,
    pub status: StepStatus,
    /// JSON the runner attached when it last recorded the step (opaque to
    /// the store).
    pub detail: String,
    /// When the step was first recorded, by the store's clock (the
    /// PostgreSQL server's, or the local one for SQLite), to the millisecond.
    pub started: SystemTime,
    /// When it was last recorded, by the same clock.
    pub updated: SystemTime,
}

/// A cutover's state machine as stored: see [`CutoverPhase`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutoverRecord {
    pub phase: CutoverPhase,
    /// The attempt (1, 2, …): a new attempt starts after an abort.
    pub attempt: u32,
    /// Grows by one with every write; the compare-and-set token.
    pub version: u64,
    /// The runner's typed state (deadline, fence undo, positions, times) as
    /// JSON, opaque to the store.
    pub data: String,
    /// When it was last written, by the store's clock.
    pub updated: SystemTime,
}

/// A store of run state: every planned range of a copy and its status,
/// plus the change-stream positions and cutover steps of the run.
///
/// Durability: a method that writes has made its write durable when it
/// returns, except during setup (from [`begin_setup`](Self::begin_setup)
/// to [`end_setup`](Self::end_setup)), whose writes commit together at
/// [`commit_registration`](Self::commit_registration) and `end_setup`.
///
/// Concurrency: one store value belongs to one process. Several processes
/// may share a run (the PostgreSQL store; SQLite allows one process per
/// run): setup is exclusive per run, claims never hand one range to two
/// live processes, and everything else may run concurrently.
///
/// Not object-safe, and not meant to be: the stores are a closed set
/// reached through [`StateStore`](crate::StateStore), so each call's future
/// is a concrete type and is `Send` when the store's is.
#[allow(async_fn_in_trait)]
pub trait CheckpointStore {
    /// Starts setting the run up: registers it (status `setup`) when new
    /// and takes the run's setup lock; another process's `begin_setup` for
    /// the same run waits until this one's [`end_setup`](Self::end_setup)
    /// (or its death). A finished run is started over (its ranges, stream
    /// positions and cutover steps forgotten, status `setup` again) when
    /// `restart_finished`, else left as it is; either way the answer is
    /// [`RunStart::Finished`]. Nothing is durable yet when it returns.
    async fn begin_setup(&self, run: &RunInfo, restart_finished: bool) -> Result<RunStart>;

    /// Records, as the run starts, which target tables existed before it
    /// (opaque JSON to the store), so a resumed run still knows which
    /// tables it created. During setup; durable at the next commit.
    async fn set_preexisting(&self, run_id: &str, json: &str) -> Result<()>;

    /// Makes the run's registration (and its pre-existing tables) durable
    /// before any target DDL runs, so a process killed during setup leaves
    /// a run that resumes (appending into the tables it created) rather
    /// than one whose re-run finds "its" tables and refuses them as
    /// pre-existing. The setup lock stays held until `end_setup`. Only
    /// between `begin_setup` and `end_setup`.
    async fn commit_registration(&self) -> Result<()>;

    /// What [`set_preexisting`](Self::set_preexisting) recorded.
    async fn preexisting(&self, run_id: &str) -> Result<Option<String>>;

    /// The ranges stored for `table`, ordered by index (empty when none
    /// yet). During setup it sees setup's own uncommitted writes.
    async fn ranges(&self, run_id: &str, table: &str) -> Result<Vec<StoredRange>>;

    /// Stores `table`'s planned ranges, all `pending`, indexed from 0 in
    /// the order given; ranges already stored under an index are kept.
    /// Only during setup (under its lock), so every process sees one plan.
    async fn insert_ranges(&self, run_id: &str, table: &str, ranges: &[KeyRange]) -> Result<()>;

    /// Marks every range of `table` `pending` again with no rows (its
    /// target was emptied). Durable on return outside setup.
    async fn reset_table(&self, run_id: &str, table: &str) -> Result<()>;

    /// Ends setup: the run is `ready` (unless it was left `finished`),
    /// setup's writes are durable, and the setup lock is released.
    async fn end_setup(&self, run_id: &str) -> Result<()>;

    /// Claims range `index` of `table` for this process, marking it
    /// `copying` (see [`Claim`]). A range is taken when `pending`, or
    /// `copying` by a process that is gone; never by two live processes at
    /// once, and without waiting for another process's claim. Durable on
    /// return, so a crash after it leaves the range `copying`.
    async fn claim(&self, run_id: &str, table: &str, index: usize) -> Result<Claim>;

    /// Records a committed range as `done` with its final counts. Called
    /// after the target commit: a crash in between leaves it `copying`,
    /// which the next claim cleans up. Durable on return.
    async fn finish_range(
        &self,
        run_id: &str,
        table: &str,
        index: usize,
        rows: u64,
        rejected: u64,
    ) -> Result<()>;

    /// Puts a claimed (`copying`) range back to `pending`: its copy failed
    /// and nothing of it committed. A range in any other state is left as
    /// it is. Durable on return.
    async fn release_range(&self, run_id: &str, table: &str, index: usize) -> Result<()>;

    /// When every range is done, takes the run's last step (`finishing`:
    /// building the post-data schema) for this process; returns whether it
    /// did. Exactly one live process gets `true`; a `finishing` run whose
    /// process died (PostgreSQL: its session is gone; SQLite: always, one
    /// process per run) is taken again. Durable on return.
    async fn finish_run(&self, run_id: &str) -> Result<bool>;

    /// Marks a `finishing` run `finished` (its last step is done); a run in
    /// another state is left as it is. Durable on return.
    async fn mark_finished(&self, run_id: &str) -> Result<()>;

    /// Saves where the run's change stream `stream` stands (opaque JSON:
    /// an LSN, a binlog file and offset, a GTID set), replacing what was
    /// saved before. The caller saves a position only once every change
    /// before it is applied in the target, so a resume from the saved one
    /// repeats changes rather than loses them. Durable on return.
    async fn save_stream_position(&self, run_id: &str, stream: &str, json: &str) -> Result<()>;

    /// The position last saved for `stream`, if any.
    async fn load_stream_position(&self, run_id: &str, stream: &str) -> Result<Option<String>>;

    /// Saves a report of the run (`kind`: `copy`, `verify`, `sync`,
    /// `cutover`; `json`: the whole report document). Reports accumulate:
    /// a restarted run keeps its earlier ones. Durable on return.
    async fn save_report(&self, run_id: &str, kind: &str, json: &str) -> Result<()>;

    /// The run's saved reports as `(kind, json)`, oldest first.
    async fn reports(&self, run_id: &str) -> Result<Vec<(String, String)>>;

    /// Records cutover step `step` as `status`, with `detail` (opaque JSON),
    /// replacing what was recorded for it before; the step's `started`
    /// time is the first recording's. Durable on return.
    async fn record_cutover_step(
        &self,
        run_id: &str,
        step: &str,
        status: StepStatus,
        detail: &str,
    ) -> Result<()>;

    /// The run's recorded cutover steps, in the order they were first recorded.
    async fn cutover_steps(&self, run_id: &str) -> Result<Vec<CutoverStep>>;

    /// The cutover state machine of `run_id`, if one was ever written.
    async fn cutover(&self, run_id: &str) -> Result<Option<CutoverRecord>>;

    /// Writes the cutover state machine of `run_id` if, and only if, its
    /// stored version is still `expected` (`None`: no record yet), in one
    /// atomic statement; returns the new version, or `None` when another
    /// writer got there first (nothing written: read it again and decide
    /// anew). Several processes may race here (the runner, the guardian,
    /// `go`); exactly one wins each version. Durable on return.
    async fn set_cutover(
        &self,
        run_id: &str,
        expected: Option<u64>,
        phase: CutoverPhase,
        attempt: u32,
        data: &str,
    ) -> Result<Option<u64>>;
}
