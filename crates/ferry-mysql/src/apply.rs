//! MySQL/MariaDB as a change sink for `ferry sync`: applies decoded source
//! transactions by key, in batches, one target transaction per call.
//!
//! Each batch goes through the copy's encoders into a session temporary
//! table with `LOAD DATA LOCAL INFILE`, then one cached prepared statement
//! moves it: `INSERT … SELECT … ON DUPLICATE KEY UPDATE` for upserts,
//! `UPDATE … JOIN` for updates that left TOASTed source columns untouched
//! (those columns are not written), `DELETE … JOIN` for deletes. The stage
//! tables are built from an outer join that makes every column nullable, so
//! a delete's non-key cells and an untouched column's placeholder load.
//!
//! The session runs with `foreign_key_checks = 0`: the source already
//! enforced its foreign keys, and set-based statements in a different order
//! must not fail a transaction midway. The last applied position is written
//! to `ferry_sync_position` in the same transaction as the changes.

use bytes::Bytes;
use ferry_core::change::{runs, ChangeOp, ChangeRun, SourceTxn};
use ferry_core::{Error, Result, TablePlan};
use futures_util::stream::{self, StreamExt as _};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, InfileData};

use crate::encode::{encode_batch, ColumnEncoder, FieldBuf};
use crate::error::ctx;
use crate::sink::{load_sql, SINK_SQL_MODE};
use crate::{quote_ident, MySqlAdapter};

/// The table that holds each sync job's last applied position.
pub const POSITION_TABLE: &str = "ferry_sync_position";

struct TableApply {
    plan: TablePlan,
    key_plan: TablePlan,
    target: String,
    stage_load: String,
    key_load: String,
    stage: String,
    key_stage: String,
    encoders: Vec<ColumnEncoder>,
    key_encoders: Vec<ColumnEncoder>,
}

/// An apply session on the target.
pub struct MySqlApply {
    conn: Conn,
    /// The sync whose position each apply stores; `None` for a repair
    /// session (`verify --repair`), which stores no position.
    job: Option<String>,
    tables: Vec<TableApply>,
    scratch: Vec<FieldBuf>,
}

fn column_list(plan: &TablePlan) -> String {
    plan.columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

impl MySqlAdapter {
    /// Opens the apply session for `plans` (indexes as the source's). With a
    /// `job` (the sync's name: its slot), makes sure the position table
    /// exists and each apply stores the job's position; without (a repair),
    /// the target gains no table and no position.
    pub async fn open_apply(&self, plans: &[TablePlan], job: Option<&str>) -> Result<MySqlApply> {
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        for stmt in [
            SINK_SQL_MODE.to_string(),
            "SET time_zone = '+00:00'".into(),
            "SET SESSION foreign_key_checks = 0".into(),
        ] {
            conn.query_drop(stmt)
                .await
                .map_err(ctx("preparing the apply session"))?;
        }
        if job.is_some() {
            conn.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS {POSITION_TABLE} (job VARCHAR(255) PRIMARY KEY, \
                 position VARCHAR(255) NOT NULL, applied_at DATETIME(6) NOT NULL)"
            ))
            .await
            .map_err(ctx("creating the sync position table"))?;
        }
        let mut tables = Vec::with_capacity(plans.len());
        for (i, plan) in plans.iter().enumerate() {
            let key_plan = plan.key_plan();
            let target = self.qualified(&plan.target);
            let (stage, key_stage) = (format!("ferry_stage_{i}"), format!("ferry_stage_{i}_key"));
            let nullable = |p: &TablePlan| {
                p.columns
                    .iter()
                    .map(|c| format!("t.{}", quote_ident(&c.name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for (name, p) in [(&stage, plan), (&key_stage, &key_plan)] {
                conn.query_drop(format!(
                    "CREATE TEMPORARY TABLE {name} SELECT {} FROM (SELECT 1 AS ferry_one) o \
                     LEFT JOIN {target} t ON FALSE LIMIT 0",
                    nullable(p)
                ))
                .await
                .map_err(ctx(format!(
                    "preparing to apply changes to {}",
                    plan.target
                )))?;
            }
            let targets = self.target_columns(&mut conn, &plan.target).await?;
            let charsets = self.target_charsets(&mut conn, &targets).await?;
            let encoders = self.encoders(plan, &targets, flavor, &charsets)?;
            let key_encoders = self.encoders(&key_plan, &targets, flavor, &charsets)?;
            tables.push(TableApply {
                stage_load: load_sql(&stage, &encoders),
                key_load: load_sql(&key_stage, &key_encoders),
                plan: plan.clone(),
                key_plan,
                target,
                stage,
                key_stage,
                encoders,
                key_encoders,
            });
        }
        Ok(MySqlApply {
            conn,
            job: job.map(str::to_string),
            tables,
            scratch: Vec::new(),
        })
    }
}

fn apply_sql(t: &TableApply, op: ChangeOp, unchanged: &[usize]) -> String {
    let plan = &t.plan;
    let q = |i: &usize| quote_ident(&plan.columns[*i].name);
    let on = |s: &str| {
        plan.primary_key
            .iter()
            .map(|k| format!("t.{c} = {s}.{c}", c = q(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let non_key: Vec<usize> = (0..plan.columns.len())
        .filter(|i| !plan.primary_key.contains(i))
        .collect();
    let target = &t.target;
    match op {
        ChangeOp::Delete => format!(
            "DELETE t FROM {target} t JOIN {s} d ON {}",
            on("d"),
            s = t.key_stage
        ),
        ChangeOp::Upsert if unchanged.is_empty() => {
            let cols = column_list(plan);
            if non_key.is_empty() {
                format!(
                    "INSERT IGNORE INTO {target} ({cols}) SELECT {cols} FROM {}",
                    t.stage
                )
            } else {
                let set = non_key
                    .iter()
                    .map(|i| format!("{c} = VALUES({c})", c = q(i)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "INSERT INTO {target} ({cols}) SELECT {cols} FROM {} d \
                     ON DUPLICATE KEY UPDATE {set}",
                    t.stage
                )
            }
        }
        ChangeOp::Upsert => {
            let set: Vec<String> = non_key
                .iter()
                .filter(|i| !unchanged.contains(i))
                .map(|i| format!("t.{c} = d.{c}", c = q(i)))
                .collect();
            let set = if set.is_empty() {
                let k = q(&plan.primary_key[0]);
                format!("t.{k} = d.{k}")
            } else {
                set.join(", ")
            };
            format!(
                "UPDATE {target} t JOIN {} d ON {} SET {set}",
                t.stage,
                on("d")
            )
        }
    }
}

impl MySqlApply {
    /// The position this job stored last, if any.
    pub async fn stored_position(&mut self) -> Result<Option<String>> {
        let Some(job) = self.job.clone() else {
            return Ok(None);
        };
        self.conn
            .exec_first(
                format!("SELECT position FROM {POSITION_TABLE} WHERE job = ?"),
                (job,),
            )
            .await
            .map_err(ctx("reading the stored sync position"))
    }

    /// Applies `txns` in order as one target transaction, with the position
    /// of the last one. Nothing of it is committed on error.
    pub async fn apply(&mut self, txns: &[SourceTxn]) -> Result<()> {
        let Some(last) = txns.last() else {
            return Ok(());
        };
        self.conn
            .query_drop("START TRANSACTION")
            .await
            .map_err(ctx("starting an apply transaction"))?;
        let result = self.apply_in_transaction(txns, last.position.clone()).await;
        match result {
            Ok(()) => self
                .conn
                .query_drop("COMMIT")
                .await
                .map_err(ctx("committing an apply transaction")),
            Err(e) => {
                let _ = self.conn.query_drop("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn apply_in_transaction(&mut self, txns: &[SourceTxn], position: String) -> Result<()> {
        // Copied out: the runs borrow them while `self` applies.
        let keys: Vec<Vec<usize>> = self
            .tables
            .iter()
            .map(|t| t.plan.primary_key.clone())
            .collect();
        for run in runs(txns, |t| keys.get(t).map_or(&[][..], Vec::as_slice)) {
            self.apply_run(&run).await?;
        }
        let Some(job) = self.job.clone() else {
            return Ok(());
        };
        self.conn
            .exec_drop(
                format!(
                    "INSERT INTO {POSITION_TABLE} (job, position, applied_at) VALUES (?, ?, NOW(6)) \
                     ON DUPLICATE KEY UPDATE position = VALUES(position), \
                     applied_at = VALUES(applied_at)"
                ),
                (job, position),
            )
            .await
            .map_err(ctx("storing the sync position"))
    }

    async fn apply_run(&mut self, run: &ChangeRun<'_>) -> Result<()> {
        let t = self
            .tables
            .get(run.table)
            .ok_or_else(|| Error::Bug(format!("change batch for unknown table #{}", run.table)))?;
        let table = t.plan.target.to_string();
        let (load, stage, plan, encoders) = match run.op {
            ChangeOp::Upsert => (&t.stage_load, &t.stage, &t.plan, &t.encoders),
            ChangeOp::Delete => (&t.key_load, &t.key_stage, &t.key_plan, &t.key_encoders),
        };
        let mut out = Vec::new();
        for part in &run.parts {
            let rows = match run.op {
                ChangeOp::Upsert => (*part).clone(),
                ChangeOp::Delete => part
                    .project(&t.plan.primary_key)
                    .map_err(|e| Error::Bug(format!("projecting keys: {e}")))?,
            };
            encode_batch(encoders, &rows, &mut self.scratch, &mut out).map_err(
                |(c, row, problem)| {
                    Error::value(
                        &table,
                        plan.columns[c].name.clone(),
                        ferry_core::arrow::render_key(plan, &rows, row),
                        problem,
                    )
                },
            )?;
        }
        let data = Bytes::from(out);
        self.conn.set_infile_handler(async move {
            Ok(stream::once(async move { Ok(data) }).boxed() as InfileData)
        });
        self.conn
            .query_drop(load.as_str())
            .await
            .map_err(ctx(format!("staging changes of {table}")))?;
        let sql = apply_sql(t, run.op, run.unchanged);
        let stage = stage.clone();
        self.conn
            .exec_drop(sql, ())
            .await
            .map_err(ctx(format!("applying changes to {table}")))?;
        self.conn
            .query_drop(format!("DELETE FROM {stage}"))
            .await
            .map_err(ctx(format!("clearing the stage of {table}")))
    }
}
