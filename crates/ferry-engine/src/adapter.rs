//! The engines as a closed set: one enum, one `match` per capability.

use arrow_array::RecordBatch;
use tokio::sync::mpsc;

use ferry_core::adapter::{Catalog, RangeReader, TableReader, TableWriter, WriteReceipt};
use ferry_core::dialect::{ExistingColumn, ValueLimits};
use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};
use ferry_core::Error;
use ferry_core::{DbUrl, Dialect, Engine, IfExists, RawTable, Result, TablePlan, TableRef};
use ferry_mysql::{MySqlAdapter, MySqlSnapshot};
use ferry_pg::{PgAdapter, PgSnapshot};

/// A source's snapshot, shared by every range reader of a run; the snapshot
/// ends when this is dropped.
pub enum SourceSnapshot {
    Pg(PgSnapshot),
    MySql(MySqlSnapshot),
}

/// A source or target database.
pub enum Adapter {
    Pg(PgAdapter),
    MySql(MySqlAdapter),
}

macro_rules! dispatch {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            Adapter::Pg($a) => $body,
            Adapter::MySql($a) => $body,
        }
    };
}

impl Adapter {
    pub fn new(url: DbUrl) -> Self {
        match url.engine {
            Engine::Postgres => Adapter::Pg(PgAdapter::new(url)),
            Engine::MySql => Adapter::MySql(MySqlAdapter::new(url)),
        }
    }

    /// What this engine can do; see [`ferry_core::Capabilities`].
    pub fn capabilities(&self) -> ferry_core::Capabilities {
        dispatch!(self, a => a.capabilities())
    }

    pub fn engine(&self) -> Engine {
        match self {
            Adapter::Pg(_) => Engine::Postgres,
            Adapter::MySql(_) => Engine::MySql,
        }
    }

    pub async fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableRef>> {
        dispatch!(self, a => a.list_tables(schema).await)
    }

    pub async fn describe(&self, table: &TableRef) -> Result<RawTable> {
        dispatch!(self, a => a.describe(table).await)
    }

    pub async fn read_table(
        &self,
        plan: &TablePlan,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
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
        })
    }

    /// See [`RangeReader::plan_ranges`].
    pub async fn plan_ranges(&self, plan: &TablePlan, options: &RangeOptions) -> Result<RangePlan> {
        dispatch!(self, a => a.plan_ranges(plan, options).await)
    }

    /// See [`RangeReader::read_range`]. A snapshot of another engine is a bug.
    pub async fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SourceSnapshot>,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let tx = self.throttled(tx);
        match (self, snapshot) {
            (Adapter::Pg(a), None) => a.read_range(plan, range, None, batch_rows, tx).await,
            (Adapter::Pg(a), Some(SourceSnapshot::Pg(s))) => {
                a.read_range(plan, range, Some(s), batch_rows, tx).await
            }
            (Adapter::MySql(a), None) => a.read_range(plan, range, None, batch_rows, tx).await,
            (Adapter::MySql(a), Some(SourceSnapshot::MySql(s))) => {
                a.read_range(plan, range, Some(s), batch_rows, tx).await
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

    pub async fn write_table(
        &self,
        plan: &TablePlan,
        rx: mpsc::Receiver<RecordBatch>,
    ) -> Result<WriteReceipt> {
        dispatch!(self, a => a.write_table(plan, rx).await)
    }

    /// Why the source table of `plan` would not be copied in key ranges, or
    /// `None` when it would. Asks the key columns the range planner asks,
    /// so the two cannot disagree (a table too small to split still has a
    /// key that splits).
    pub async fn no_key_split(&self, plan: &TablePlan) -> Result<Option<String>> {
        let keys = match self {
            Adapter::Pg(a) => {
                let client = a.connect().await?;
                ferry_pg::partition::key_columns(&client, plan)
                    .await?
                    .map(|k| k.is_empty())
            }
            Adapter::MySql(a) => {
                let mut conn = a.connect().await?;
                let keys = ferry_mysql::partition::key_columns(a, &mut conn, plan).await;
                if let Err(e) = conn.disconnect().await {
                    tracing::debug!(error = %e, "mysql disconnect failed");
                }
                keys?.map(|k| k.is_empty())
            }
        };
        Ok(match (keys, self) {
            (Ok(false), _) => None,
            (Err(reason), _) => Some(format!(
                "its {reason} (it would be read whole, as one stream)"
            )),
            // Heap blocks are parallel but not key ranges: a resume cannot
            // delete one in the target, and verify has no key to match rows by.
            (Ok(true), Adapter::Pg(_)) => Some(
                "the table has no primary key (it would be split by ctid heap blocks, which \
                 run in parallel, yet a resume restarts the whole table after an interrupted \
                 range and --verify compares it only whole)"
                    .into(),
            ),
            (Ok(true), Adapter::MySql(_)) => {
                Some("the table has no primary key (it would be copied as one stream)".into())
            }
        })
    }

    /// Deletes the rows of `range` from a table of this database described
    /// by `plan` as its own catalog sees it (resume's clean-up of a range
    /// that may have committed before its checkpoint). Returns rows deleted.
    pub async fn delete_range(&self, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
        dispatch!(self, a => a.delete_range(plan, range).await)
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
        })
    }

    /// Charsets and collations of an existing target table's columns, where
    /// the engine has per-column charsets (else, or for a new table, none).
    pub async fn column_charsets(&self, table: &TableRef) -> Result<Vec<ExistingColumn>> {
        match self {
            Adapter::Pg(_) => Ok(Vec::new()),
            Adapter::MySql(a) => a.column_charsets(table).await,
        }
    }

    /// Rows of a catalog or pre-flight query as text; NULL is `None`.
    pub async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        dispatch!(self, a => a.text_rows(sql, what).await)
    }

    /// Runs DDL that a resumed run may repeat: "already exists" is success.
    pub async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        dispatch!(self, a => a.execute_idempotent(statements, what).await)
    }
}

/// The dialect of an engine, also when there is no connection to it.
pub fn dialect_of(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &ferry_pg::PgDialect,
        Engine::MySql => &ferry_mysql::MySqlDialect,
    }
}
