//! What a cutover asks of an engine (`ferry cutover`): a fence that stops
//! the application's writes and can be lifted exactly, the probes that
//! prove it would hold, a marker transaction to drain to, generators to move
//! past the old database's values, and a change-stream start point on the
//! new database for the way back.
//!
//! Each engine implements [`CutoverSupport`] in its own crate with its own
//! SQL; the engine's runner only calls these methods and never asks which
//! engine it talks to.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plan::TableRef;

/// The table ferry writes its drain marker to (on the old database, after
/// the fence), which the forward sync carries to the new one like any row.
pub const MARKER_TABLE: &str = "ferry_cutover_marker";

/// Whose writes a fence stops, on which tables, and how patiently.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FenceSpec {
    /// The application's roles (PostgreSQL) or users (MySQL, `name` or
    /// `name@host`). ferry's own session is never one of them.
    pub roles: Vec<String>,
    /// The job's tables on this database.
    pub tables: Vec<TableRef>,
    /// How long in-flight write transactions may finish on their own
    /// before their sessions are ended.
    pub grace: Duration,
    /// `lock_timeout` / `lock_wait_timeout` of every fence statement, so a
    /// fence never queues behind a long transaction while holding others up.
    pub lock_timeout: Duration,
}

/// A fence as rendered from the database's state just before it is applied:
/// the statements that apply it and those that restore exactly that state.
/// Stored in the state store before the first statement runs, so the
/// guardian or a resumed run can lift it without asking the database what
/// it was.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FencePlan {
    pub apply: Vec<String>,
    pub undo: Vec<String>,
    /// What ends the in-flight writers, in words, for the dry run.
    pub sessions: String,
    /// What proves the fence holds, in words, for the dry run.
    pub probe: String,
}

/// What applying a fence did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FenceOutcome {
    /// Application sessions ended after the grace.
    pub sessions_ended: u64,
    /// Time spent waiting for in-flight writers (grace included), ms.
    pub waited_ms: u64,
}

/// An application role that could write through the fence, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bypass {
    pub role: String,
    pub reason: String,
}

/// A transaction open on the database (not ferry's own session).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenTxn {
    /// The session (PostgreSQL pid, MySQL connection id).
    pub session: String,
    pub role: String,
    pub age_seconds: f64,
    /// Whether it has written anything.
    pub writes: bool,
}

/// A value generator behind a table's column: a PostgreSQL sequence or
/// identity, a MySQL AUTO_INCREMENT counter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Generator {
    pub table: TableRef,
    pub column: String,
    /// The sequence's name, or the table's for AUTO_INCREMENT.
    pub name: String,
    /// The next value it hands out.
    pub next: i64,
}

/// Cutover operations of one engine. Every method opens its own sessions;
/// every statement that changes something is idempotent (running it twice
/// leaves the state of running it once), so a resumed cutover may repeat it.
pub trait CutoverSupport: Send + Sync {
    /// Why each application role could write through this engine's fence
    /// (superuser, owner, a privilege that bypasses read-only, writes
    /// granted through another role), or an empty list. Reads only.
    fn fence_bypasses(&self, spec: &FenceSpec) -> impl Future<Output = Result<Vec<Bypass>>> + Send;

    /// Renders the fence from the current state. Reads only.
    fn plan_fence(&self, spec: &FenceSpec) -> impl Future<Output = Result<FencePlan>> + Send;

    /// Runs `plan.apply`, waits up to `spec.grace` for the roles' write
    /// transactions to end, ends the roles' sessions, and returns once no
    /// session of theirs holds a write transaction: from then on none of
    /// the roles can commit a write.
    fn apply_fence(
        &self,
        spec: &FenceSpec,
        plan: &FencePlan,
    ) -> impl Future<Output = Result<FenceOutcome>> + Send;

    /// Runs `plan.undo`: the roles can write again as before.
    fn lift_fence(&self, plan: &FencePlan) -> impl Future<Output = Result<()>> + Send;

    /// Whether no application role can write any of the tables now. Reads only.
    fn fence_holds(&self, spec: &FenceSpec) -> impl Future<Output = Result<bool>> + Send;

    /// Transactions open longer than `older_than` (ferry's own session and
    /// replication excluded), oldest first. Reads only.
    fn open_transactions(
        &self,
        older_than: Duration,
    ) -> impl Future<Output = Result<Vec<OpenTxn>>> + Send;

    /// Prepared (two-phase, XA) transactions: they survive any session
    /// fence. Reads only.
    fn prepared_transactions(&self) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Why ferry's own session could not write under the fence (it writes
    /// the marker and applies the reverse stream), or `None`. Reads only.
    fn own_write_problem(
        &self,
        spec: &FenceSpec,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Creates the marker table `table` when absent (run id, attempt, time).
    fn create_marker_table(&self, table: &TableRef) -> impl Future<Output = Result<()>> + Send;

    /// Commits the marker row `(run, attempt)` in a transaction of its own;
    /// a row already there counts as written.
    fn write_marker(
        &self,
        table: &TableRef,
        run: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Waits up to `within` for the marker row `(run, attempt)` to be in
    /// `table`, polling every few milliseconds in one session (a session per
    /// poll would cost a connection, with its authentication, each time,
    /// inside the freeze); whether it is there.
    fn wait_for_marker(
        &self,
        table: &TableRef,
        run: &str,
        attempt: u32,
        within: std::time::Duration,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The generators behind the columns of `tables`. Reads only.
    fn generators(
        &self,
        tables: &[TableRef],
    ) -> impl Future<Output = Result<Vec<Generator>>> + Send;

    /// The statements that make `generator` hand out `next` or more: empty
    /// when it already does (generators only ever move up).
    fn raise_generator_sql(&self, generator: &Generator, next: i64) -> Vec<String>;

    /// Why a change stream could not be read from this database (the way
    /// back needs one), or `None`. Reads only.
    fn change_stream_problem(&self) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Takes a change-stream start point named `slot` over `tables` at the
    /// current position and returns it in the engine's notation: everything
    /// committed after it is in the stream. Idempotent: an existing point of
    /// that name is kept and its position returned.
    fn arm_change_stream(
        &self,
        slot: &str,
        tables: &[TableRef],
    ) -> impl Future<Output = Result<String>> + Send;

    /// Makes sure the change stream `slot` carries `table` (the marker
    /// table, added to a stream made for the job's tables).
    fn stream_table(&self, slot: &str, table: &TableRef)
        -> impl Future<Output = Result<()>> + Send;

    /// When the first transaction touching `tables` committed after the
    /// armed point (`slot`, `position`), in µs since the Unix epoch, by the
    /// server's commit time or, where the engine keeps none finer than a
    /// second, the time ferry saw it; `None` when none has yet. Reads only:
    /// the stream is not consumed.
    fn first_commit_after(
        &self,
        slot: &str,
        position: &str,
        tables: &[TableRef],
    ) -> impl Future<Output = Result<Option<i64>>> + Send;
}
