//! The cutover's operations on blue and green (fences, markers, probes),
//! dispatched to the engines that declare [`Capabilities::cutover`].

use super::*;

/// Dispatches a cutover operation to the engines that declare
/// [`Capabilities::cutover`]; the others refuse (the cutover checks the
/// capability first, so this is the second line of defence).
macro_rules! cutover {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            Adapter::Pg($a) => $body,
            Adapter::MySql($a) => $body,
            Adapter::Sqlite(_) | Adapter::Mssql(_) => Err(no_cutover($self)),
        }
    };
}

fn no_cutover(a: &Adapter) -> Error {
    Error::Invalid(format!(
        "ferry cutover cannot drive {}: it has no write fence or change stream",
        a.engine().product()
    ))
}

/// The cutover operations (see [`ferry_core::cutover::CutoverSupport`]),
/// each dispatched to the engine's own implementation.
impl Adapter {
    pub async fn fence_bypasses(&self, spec: &FenceSpec) -> Result<Vec<Bypass>> {
        cutover!(self, a => a.fence_bypasses(spec).await)
    }

    pub async fn plan_fence(&self, spec: &FenceSpec) -> Result<FencePlan> {
        cutover!(self, a => a.plan_fence(spec).await)
    }

    pub async fn apply_fence(&self, spec: &FenceSpec, plan: &FencePlan) -> Result<FenceOutcome> {
        cutover!(self, a => a.apply_fence(spec, plan).await)
    }

    pub async fn lift_fence(&self, plan: &FencePlan) -> Result<()> {
        cutover!(self, a => a.lift_fence(plan).await)
    }

    pub async fn fence_holds(&self, spec: &FenceSpec) -> Result<bool> {
        cutover!(self, a => a.fence_holds(spec).await)
    }

    pub async fn open_transactions(&self, older_than: std::time::Duration) -> Result<Vec<OpenTxn>> {
        cutover!(self, a => a.open_transactions(older_than).await)
    }

    pub async fn prepared_transactions(&self) -> Result<Vec<String>> {
        cutover!(self, a => a.prepared_transactions().await)
    }

    pub async fn own_write_problem(&self, spec: &FenceSpec) -> Result<Option<String>> {
        cutover!(self, a => a.own_write_problem(spec).await)
    }

    pub async fn create_marker_table(&self, table: &TableRef) -> Result<()> {
        cutover!(self, a => a.create_marker_table(table).await)
    }

    pub async fn write_marker(&self, table: &TableRef, run: &str, attempt: u32) -> Result<()> {
        cutover!(self, a => a.write_marker(table, run, attempt).await)
    }

    pub async fn wait_for_marker(
        &self,
        table: &TableRef,
        run: &str,
        attempt: u32,
        within: std::time::Duration,
    ) -> Result<bool> {
        cutover!(self, a => a.wait_for_marker(table, run, attempt, within).await)
    }

    pub async fn generators(&self, tables: &[TableRef]) -> Result<Vec<Generator>> {
        cutover!(self, a => a.generators(tables).await)
    }

    pub fn raise_generator_sql(&self, generator: &Generator, next: i64) -> Vec<String> {
        match self {
            Adapter::Pg(a) => a.raise_generator_sql(generator, next),
            Adapter::MySql(a) => a.raise_generator_sql(generator, next),
            // No generators are read from an engine without cutover.
            Adapter::Sqlite(_) | Adapter::Mssql(_) => Vec::new(),
        }
    }

    pub async fn change_stream_problem(&self) -> Result<Option<String>> {
        cutover!(self, a => a.change_stream_problem().await)
    }

    pub async fn arm_change_stream(&self, slot: &str, tables: &[TableRef]) -> Result<String> {
        cutover!(self, a => a.arm_change_stream(slot, tables).await)
    }

    pub async fn stream_table(&self, slot: &str, table: &TableRef) -> Result<()> {
        cutover!(self, a => a.stream_table(slot, table).await)
    }

    pub async fn first_commit_after(
        &self,
        slot: &str,
        position: &str,
        tables: &[TableRef],
    ) -> Result<Option<i64>> {
        cutover!(self, a => a.first_commit_after(slot, position, tables).await)
    }
}

/// The PgBouncer switch helper (PgBouncer speaks the PostgreSQL protocol,
/// so it carries PostgreSQL → PostgreSQL moves only; `to` must be a
/// PostgreSQL URL).
pub async fn pgbouncer_switch(
    admin: &DbUrl,
    database: &str,
    ini: &std::path::Path,
    to: &DbUrl,
) -> Result<()> {
    if to.engine != Engine::Postgres {
        return Err(Error::Invalid(format!(
            "the PgBouncer switch moves PostgreSQL clients; {to} is not a PostgreSQL server"
        )));
    }
    ferry_pg::pgbouncer::switch(admin, database, ini, to).await
}

/// Where PgBouncer sends `database`: host and port.
pub async fn pgbouncer_points_at(admin: &DbUrl, database: &str) -> Result<(String, u16)> {
    ferry_pg::pgbouncer::points_at(admin, database).await
}

impl Adapter {
    /// Whether ferry can read this database's change stream today (the
    /// way back reads green's). Kept next to `open_change_source`, whose
    /// arms it mirrors.
    pub fn reads_change_stream(&self) -> bool {
        self.capabilities().change_stream.is_some()
    }
}
