//! The engines as a closed set: one enum, one `match` per capability.
//!
//! This is the one place in the engine that names a concrete engine. Every
//! other module asks an [`Adapter`] method (which dispatches to the engine
//! crate's implementation of the [`ferry_core::adapter`] traits) or a
//! [`Capabilities`] field, never "is this PostgreSQL?".

use arrow_array::RecordBatch;
use tokio::sync::mpsc;

use ferry_core::adapter::{
    Catalog, Database, KeySplit, RangeReader, RangeWriter, ReadOptions, TableReader, TableWriter,
    WriteReceipt,
};
use ferry_core::batch::BatchLimit;
use ferry_core::cutover::{
    Bypass, CutoverSupport, FenceOutcome, FencePlan, FenceSpec, Generator, OpenTxn,
};
use ferry_core::dialect::{ExistingColumn, ValueLimits};
use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};
use ferry_core::Error;
use ferry_core::{
    Capabilities, DbUrl, Dialect, Engine, IfExists, RawTable, Result, TablePlan, TableRef,
};
use ferry_mssql::{MssqlAdapter, MssqlSnapshot, MssqlTableWriter};
use ferry_mysql::{MySqlAdapter, MySqlSnapshot, MySqlTableWriter};
use ferry_pg::{PgAdapter, PgSnapshot, PgTableWriter};
use ferry_sqlite::{SqliteAdapter, SqliteSnapshot, SqliteTableWriter};

/// A source's snapshot, shared by every range reader of a run; the snapshot
/// ends when this is dropped.
pub enum SourceSnapshot {
    Pg(PgSnapshot),
    MySql(MySqlSnapshot),
    Sqlite(SqliteSnapshot),
    Mssql(MssqlSnapshot),
}

/// How a table of `engine` is named when the user gave `schema` (or none):
/// engines with schemas name one always (PostgreSQL `public` by default);
/// an engine whose namespace is the database leaves `None` for the URL's.
pub fn qualify(engine: Engine, schema: Option<&str>) -> Option<String> {
    schema
        .or(dialect_of(engine).default_schema())
        .map(str::to_string)
}

/// What `engine` can do, without an adapter (for messages that say which
/// engines would take a flag).
pub fn capabilities_of(engine: Engine) -> ferry_core::Capabilities {
    match engine {
        Engine::Postgres => ferry_pg::CAPABILITIES,
        Engine::MySql => ferry_mysql::CAPABILITIES,
        Engine::Sqlite => ferry_sqlite::CAPABILITIES,
        Engine::Mssql => ferry_mssql::CAPABILITIES,
    }
}

/// A source or target database.
pub enum Adapter {
    Pg(PgAdapter),
    MySql(MySqlAdapter),
    Sqlite(SqliteAdapter),
    Mssql(MssqlAdapter),
}

/// One target table's loader, opened once per table
/// ([`Adapter::open_writer`]) and shared by every range written to it.
pub enum TargetWriter {
    Pg(PgTableWriter),
    MySql(MySqlTableWriter),
    Sqlite(SqliteTableWriter),
    Mssql(MssqlTableWriter),
}

macro_rules! dispatch {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            Adapter::Pg($a) => $body,
            Adapter::MySql($a) => $body,
            Adapter::Sqlite($a) => $body,
            Adapter::Mssql($a) => $body,
        }
    };
}

impl Adapter {
    pub fn new(url: DbUrl) -> Self {
        match url.engine {
            Engine::Postgres => Adapter::Pg(PgAdapter::new(url)),
            Engine::MySql => Adapter::MySql(MySqlAdapter::new(url)),
            Engine::Sqlite => Adapter::Sqlite(SqliteAdapter::new(url)),
            Engine::Mssql => Adapter::Mssql(MssqlAdapter::new(url)),
        }
    }

    /// What this engine can do; see [`ferry_core::Capabilities`].
    pub fn capabilities(&self) -> Capabilities {
        dispatch!(self, a => a.capabilities())
    }

    pub fn engine(&self) -> Engine {
        match self {
            Adapter::Pg(_) => Engine::Postgres,
            Adapter::MySql(_) => Engine::MySql,
            Adapter::Sqlite(_) => Engine::Sqlite,
            Adapter::Mssql(_) => Engine::Mssql,
        }
    }

    /// See [`Database::schema_of`].
    pub fn schema_of<'a>(&'a self, table: &'a TableRef) -> &'a str {
        dispatch!(self, a => Database::schema_of(a, table))
    }

    /// See [`Database::ping`].
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self, a => a.ping().await)
    }

    /// See [`Database::text_rows`].
    pub async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        dispatch!(self, a => Database::text_rows(a, sql, what).await)
    }

    /// See [`Database::execute_idempotent`].
    pub async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        dispatch!(self, a => Database::execute_idempotent(a, statements, what).await)
    }

    /// See [`Database::features`].
    pub async fn features(&self) -> Result<Vec<String>> {
        dispatch!(self, a => a.features().await)
    }

    /// See [`Database::column_collations`].
    pub async fn column_collations(
        &self,
        plan: &TablePlan,
    ) -> Result<Vec<(String, Option<String>)>> {
        dispatch!(self, a => a.column_collations(plan).await)
    }

    pub async fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableRef>> {
        dispatch!(self, a => a.list_tables(schema).await)
    }

    pub async fn describe(&self, table: &TableRef) -> Result<RawTable> {
        dispatch!(self, a => a.describe(table).await)
    }

    /// The type of each SQL expression over `table` (see
    /// [`Catalog::describe_exprs`]).
    pub async fn describe_exprs(
        &self,
        table: &TableRef,
        exprs: &[String],
    ) -> Result<Vec<std::result::Result<ferry_core::RawType, String>>> {
        dispatch!(self, a => a.describe_exprs(table, exprs).await)
    }

    /// See [`RangeReader::key_columns`]. Source-side calls take a reshaped
    /// table's read plan ([`TablePlan::source_plan`]) whichever plan they
    /// are given.
    pub async fn key_columns(&self, plan: &TablePlan) -> Result<KeySplit> {
        let plan = plan.source_plan();
        dispatch!(self, a => a.key_columns(plan).await)
    }

    pub async fn read_table(
        &self,
        plan: &TablePlan,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        // Whole-table reads do not reshape: a reshaped table is read in
        // ranges (read_range_with), which apply its transforms and checks.
        if plan.reshape.is_some() {
            return Err(Error::Bug(format!(
                "table {}: a whole-table read of a reshaped table",
                plan.source
            )));
        }
        let tx = self.throttled(tx);
        dispatch!(self, a => a.read_table(plan, batch_rows, tx).await)
    }

    /// See [`RangeReader::open_snapshot`].
    pub async fn open_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(SourceSnapshot, SnapshotInfo)> {
        Ok(match self {
            Adapter::Pg(a) => {
                let (s, info) = a.open_snapshot(options).await?;
                (SourceSnapshot::Pg(s), info)
            }
            Adapter::MySql(a) => {
                let (s, info) = a.open_snapshot(options).await?;
                (SourceSnapshot::MySql(s), info)
            }
            Adapter::Sqlite(a) => {
                let (s, info) = a.open_snapshot(options).await?;
                (SourceSnapshot::Sqlite(s), info)
            }
            Adapter::Mssql(a) => {
                let (s, info) = a.open_snapshot(options).await?;
                (SourceSnapshot::Mssql(s), info)
            }
        })
    }

    /// See [`RangeReader::plan_ranges`].
    pub async fn plan_ranges(&self, plan: &TablePlan, options: &RangeOptions) -> Result<RangePlan> {
        let plan = plan.source_plan();
        dispatch!(self, a => a.plan_ranges(plan, options).await)
    }

    /// See [`RangeReader::count_range`] (on the read plan).
    pub async fn count_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SourceSnapshot>,
    ) -> Result<u64> {
        let plan = plan.source_plan();
        match (self, snapshot) {
            (Adapter::Pg(a), None) => a.count_range(plan, range, None).await,
            (Adapter::Pg(a), Some(SourceSnapshot::Pg(s))) => {
                a.count_range(plan, range, Some(s)).await
            }
            (Adapter::MySql(a), None) => a.count_range(plan, range, None).await,
            (Adapter::MySql(a), Some(SourceSnapshot::MySql(s))) => {
                a.count_range(plan, range, Some(s)).await
            }
            (Adapter::Sqlite(a), None) => a.count_range(plan, range, None).await,
            (Adapter::Sqlite(a), Some(SourceSnapshot::Sqlite(s))) => {
                a.count_range(plan, range, Some(s)).await
            }
            _ => Err(Error::Bug("a snapshot of another engine".into())),
        }
    }

    /// Copy's read of one range: [`read_range_with`](Self::read_range_with)
    /// in [`ReadOptions::copy`] order.
    pub async fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SourceSnapshot>,
        limit: BatchLimit,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let options = ReadOptions::copy(limit.rows).with_limit(limit);
        self.read_range_with(plan, range, snapshot, &options, tx)
            .await
    }

    /// See [`RangeReader::read_range`]; the source's row limit applies. A
    /// snapshot of another engine is a bug. A reshaped table's batches are
    /// the written plan's, without the rows a check refuses (see
    /// [`read_range_checked`](Self::read_range_checked) to learn which).
    pub async fn read_range_with(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SourceSnapshot>,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let mut failures = Vec::new();
        self.read_range_checked(plan, range, snapshot, options, tx, &mut failures)
            .await
    }

    /// [`read_range_with`](Self::read_range_with), adding to `failures`
    /// each row a check of the job refused (left out of what is sent).
    /// Returns the rows sent.
    pub async fn read_range_checked(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SourceSnapshot>,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
        failures: &mut Vec<crate::reshape::CheckFailure>,
    ) -> Result<u64> {
        if plan.reshape.is_some() {
            return crate::reshape::read_reshaped(
                self, plan, range, snapshot, options, tx, failures,
            )
            .await;
        }
        self.read_range_source(plan, range, snapshot, options, tx)
            .await
    }

    /// The engine's read of `plan` (a read plan) as it is.
    pub(crate) async fn read_range_source(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SourceSnapshot>,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let tx = self.throttled(tx);
        match (self, snapshot) {
            (Adapter::Pg(a), None) => a.read_range(plan, range, None, options, tx).await,
            (Adapter::Pg(a), Some(SourceSnapshot::Pg(s))) => {
                a.read_range(plan, range, Some(s), options, tx).await
            }
            (Adapter::MySql(a), None) => a.read_range(plan, range, None, options, tx).await,
            (Adapter::MySql(a), Some(SourceSnapshot::MySql(s))) => {
                a.read_range(plan, range, Some(s), options, tx).await
            }
            (Adapter::Mssql(a), None) => a.read_range(plan, range, None, options, tx).await,
            (Adapter::Mssql(a), Some(SourceSnapshot::Mssql(s))) => {
                a.read_range(plan, range, Some(s), options, tx).await
            }
            (Adapter::Sqlite(a), None) => a.read_range(plan, range, None, options, tx).await,
            (Adapter::Sqlite(a), Some(SourceSnapshot::Sqlite(s))) => {
                a.read_range(plan, range, Some(s), options, tx).await
            }
            _ => Err(Error::Bug("a snapshot of another engine".into())),
        }
    }

    /// The source's `max_rows_per_second` limit, applied between the reader
    /// and whoever receives its batches: each batch waits for its rows'
    /// tokens before it is passed on, and the reader, held by the channel's
    /// back-pressure, reads no faster. One bucket serves every worker.
    fn throttled(&self, tx: mpsc::Sender<RecordBatch>) -> mpsc::Sender<RecordBatch> {
        let Some(throttle) = dispatch!(self, a => a.throttle()).cloned() else {
            return tx;
        };
        let (inner_tx, mut inner_rx) = mpsc::channel::<RecordBatch>(1);
        tokio::spawn(async move {
            while let Some(batch) = inner_rx.recv().await {
                throttle.acquire(batch.num_rows()).await;
                if tx.send(batch).await.is_err() {
                    break;
                }
            }
        });
        inner_tx
    }

    pub fn create_ddl(&self, plan: &TablePlan) -> Vec<String> {
        dispatch!(self, a => a.create_ddl(plan))
    }

    pub async fn prepare(&self, plan: &TablePlan, if_exists: IfExists) -> Result<()> {
        dispatch!(self, a => a.prepare(plan, if_exists).await)
    }

    /// See [`TableWriter::check_writable`].
    pub async fn check_writable(&self, plan: &TablePlan) -> Result<()> {
        dispatch!(self, a => a.check_writable(plan).await)
    }

    /// See [`TableWriter::open_writer`]: encoders are chosen here, once.
    pub async fn open_writer(&self, plan: &TablePlan) -> Result<TargetWriter> {
        Ok(match self {
            Adapter::Pg(a) => TargetWriter::Pg(a.open_writer(plan).await?),
            Adapter::MySql(a) => TargetWriter::MySql(a.open_writer(plan).await?),
            Adapter::Sqlite(a) => TargetWriter::Sqlite(a.open_writer(plan).await?),
            Adapter::Mssql(a) => TargetWriter::Mssql(a.open_writer(plan).await?),
        })
    }

    /// See [`TableWriter::write_table`]: opens a writer for this one call.
    pub async fn write_table(
        &self,
        plan: &TablePlan,
        rx: mpsc::Receiver<RecordBatch>,
    ) -> Result<WriteReceipt> {
        self.open_writer(plan).await?.write(rx).await
    }

    /// Why the source table of `plan` would not be copied in key ranges, or
    /// `None` when it would. Asks the key columns the range planner asks,
    /// so the two cannot disagree (a table too small to split still has a
    /// key that splits).
    pub async fn no_key_split(&self, plan: &TablePlan) -> Result<Option<String>> {
        Ok(match self.key_columns(plan).await? {
            KeySplit::Key(_) => None,
            KeySplit::Unsplittable(reason) => Some(format!(
                "its {reason} (it would be read whole, as one stream)"
            )),
            // Heap blocks are parallel but not key ranges: a resume cannot
            // delete one in the target, and verify has no key to match rows by.
            KeySplit::NoKey if self.capabilities().block_ranges => Some(
                "the table has no primary key (it would be split by ctid heap blocks, which \
                 run in parallel, yet a resume restarts the whole table after an interrupted \
                 range and --verify compares it only whole)"
                    .into(),
            ),
            KeySplit::NoKey => {
                Some("the table has no primary key (it would be copied as one stream)".into())
            }
        })
    }

    /// See [`TableWriter::delete_range`].
    pub async fn delete_range(&self, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
        dispatch!(self, a => a.delete_range(plan, range).await)
    }

    /// Drops these tables of this database if they exist (a failed setup
    /// taking back the tables its run created). Durable when it returns.
    pub async fn drop_tables(&self, tables: &[TableRef]) -> Result<()> {
        let statements: Vec<String> = tables
            .iter()
            .map(|t| format!("DROP TABLE IF EXISTS {}", self.dialect().table_sql(t)))
            .collect();
        let what = "dropping the tables a failed setup had created";
        dispatch!(self, a => a.execute_idempotent(&statements, what).await)
    }

    /// Runs DDL in a transaction that is rolled back (engines with
    /// `transactional_ddl`); see `PgAdapter::try_ddl_rolled_back`.
    pub async fn try_ddl_rolled_back(
        &self,
        statements: &[String],
    ) -> Result<Option<(usize, Error)>> {
        match self {
            Adapter::Pg(a) => a.try_ddl_rolled_back(statements).await,
            Adapter::Sqlite(a) => a.try_ddl_rolled_back(statements).await,
            Adapter::Mssql(a) => a.try_ddl_rolled_back(statements).await,
            _ => Err(Error::Bug(
                "DDL proof by rollback on an engine without transactional DDL".into(),
            )),
        }
    }

    /// Creates an empty scratch namespace for proving DDL (engines without
    /// `transactional_ddl`); returns its name.
    pub async fn create_scratch_namespace(&self) -> Result<String> {
        match self {
            Adapter::MySql(a) => a.create_scratch_database().await,
            _ => Err(Error::Bug(
                "a scratch namespace on an engine with transactional DDL".into(),
            )),
        }
    }

    /// Runs DDL in a scratch namespace; the first refused statement's index and error.
    pub async fn try_ddl_in(
        &self,
        namespace: &str,
        statements: &[String],
    ) -> Result<Option<(usize, Error)>> {
        match self {
            Adapter::MySql(a) => a.try_ddl_in(namespace, statements).await,
            _ => Err(Error::Bug(
                "a scratch namespace on an engine with transactional DDL".into(),
            )),
        }
    }

    /// Drops a scratch namespace made by [`create_scratch_namespace`](Self::create_scratch_namespace).
    pub async fn drop_scratch_namespace(&self, namespace: &str) -> Result<()> {
        match self {
            Adapter::MySql(a) => a.drop_scratch_database(namespace).await,
            _ => Err(Error::Bug(
                "a scratch namespace on an engine with transactional DDL".into(),
            )),
        }
    }

    /// The schema objects of `schema` that are not tables and are not
    /// copied (views, routines, events…), for `plan` to list and `copy` to count.
    pub async fn other_objects(
        &self,
        schema: Option<&str>,
    ) -> Result<Vec<ferry_core::schema::OtherObject>> {
        dispatch!(self, a => a.other_objects(schema).await)
    }
    /// This engine's SQL dialect (quoting, DDL, pre-flight SQL).
    pub fn dialect(&self) -> &'static dyn Dialect {
        dialect_of(self.engine())
    }

    /// What this engine cannot hold as a target; MariaDB and MySQL differ,
    /// so this asks the server which one it is.
    pub async fn value_limits(&self) -> Result<ValueLimits> {
        Ok(match self {
            Adapter::Pg(_) => ferry_pg::dialect::VALUE_LIMITS,
            Adapter::MySql(a) => ferry_mysql::dialect::value_limits(a.flavor().await?),
            Adapter::Sqlite(_) => ferry_sqlite::dialect::VALUE_LIMITS,
            Adapter::Mssql(_) => ferry_mssql::dialect::VALUE_LIMITS,
        })
    }

    /// How this target is written, when the user should know (a slower
    /// path because the bulk one is off); `None` for the usual path.
    pub async fn write_note(&self) -> Result<Option<String>> {
        match self {
            Adapter::Pg(_) | Adapter::Sqlite(_) | Adapter::Mssql(_) => Ok(None),
            Adapter::MySql(a) => a.write_note().await,
        }
    }

    /// Charsets and collations of an existing target table's columns, where
    /// the engine has per-column charsets (else, or for a new table, none).
    pub async fn column_charsets(&self, table: &TableRef) -> Result<Vec<ExistingColumn>> {
        match self {
            Adapter::Pg(_) | Adapter::Sqlite(_) => Ok(Vec::new()),
            Adapter::Mssql(a) => a.column_charsets(table).await,
            Adapter::MySql(a) => a.column_charsets(table).await,
        }
    }
}

impl TargetWriter {
    /// See [`RangeWriter::write`].
    pub async fn write(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        match self {
            TargetWriter::Pg(w) => w.write(rx).await,
            TargetWriter::MySql(w) => w.write(rx).await,
            TargetWriter::Sqlite(w) => w.write(rx).await,
            TargetWriter::Mssql(w) => w.write(rx).await,
        }
    }

    /// See [`RangeWriter::write_uncommitted`].
    pub async fn write_uncommitted(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        match self {
            TargetWriter::Pg(w) => w.write_uncommitted(rx).await,
            TargetWriter::MySql(w) => w.write_uncommitted(rx).await,
            TargetWriter::Sqlite(w) => w.write_uncommitted(rx).await,
            TargetWriter::Mssql(w) => w.write_uncommitted(rx).await,
        }
    }
}

/// The dialect of an engine, also when there is no connection to it.
pub fn dialect_of(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &ferry_pg::PgDialect,
        Engine::MySql => &ferry_mysql::MySqlDialect,
        Engine::Sqlite => &ferry_sqlite::SqliteDialect,
        Engine::Mssql => &ferry_mssql::MssqlDialect,
    }
}

mod changes;
mod cutover;

pub use changes::{ChangeSink, ChangeSource};
pub use cutover::{pgbouncer_points_at, pgbouncer_switch};
