//! PostgreSQL as a change sink for `ferry sync`: applies decoded source
//! transactions by key, in batches, one target transaction per call.
//!
//! Each batch is loaded with binary COPY (the copy's own encoders, chosen
//! once per table from the target's column types) into a session-local
//! staging table, then moved with one prepared set-based statement:
//! `INSERT … ON CONFLICT (key) DO UPDATE` for upserts, `UPDATE … FROM` for
//! updates that left TOASTed columns untouched (those columns are not
//! written at all), `DELETE … USING` for deletes. The statement empties the
//! stage as it reads it (`WITH d AS (DELETE FROM stage RETURNING *)`), so a
//! batch costs two round trips however many rows it holds.
//!
//! The session runs with `session_replication_role = replica`: the target's
//! triggers and foreign keys (which fire per statement, in an order the
//! source did not have) do not fail a transaction midway; the source already
//! enforced them. That setting needs a superuser (or, on PostgreSQL 15, a
//! role granted it). The last applied position is written to
//! `ferry_sync_position` in the same transaction as the changes it covers.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use bytes::{Bytes, BytesMut};
use ferry_core::arrow::render_key;
use ferry_core::change::{runs, ChangeOp, ChangeRun, SourceTxn};
use ferry_core::{Error, Result, TablePlan};
use futures_util::{pin_mut, SinkExt};
use tokio_postgres::{Client, Statement};

use crate::encode::{put_field, PgEncoder, Typed, COPY_HEADER, COPY_TRAILER};
use crate::error::{ctx, load_ctx};
use crate::sink::choose_encoders;
use crate::{qualified, quote_ident, PgAdapter};
use ferry_core::sentkeys::SentKeys;

/// The table that holds each sync job's last applied position.
pub const POSITION_TABLE: &str = "ferry_sync_position";

struct TableApply {
    plan: TablePlan,
    key_plan: TablePlan,
    stage: String,
    key_stage: String,
    encoders: Vec<PgEncoder>,
    key_encoders: Vec<PgEncoder>,
    statements: HashMap<(bool, Vec<usize>), Statement>,
}

/// An apply session on the target.
pub struct PgApply {
    client: Client,
    /// The sync whose position each apply stores; `None` for a repair
    /// session (`verify --repair`), which stores no position.
    job: Option<String>,
    tables: Vec<TableApply>,
}

impl PgAdapter {
    /// Opens the apply session for `plans` (indexes as the source's). With a
    /// `job` (the sync's name: its slot), makes sure the position table
    /// exists and each apply stores the job's position; without (a repair),
    /// the target gains no table and no position.
    pub async fn open_apply(&self, plans: &[TablePlan], job: Option<&str>) -> Result<PgApply> {
        let client = self.connect().await?;
        client
            .batch_execute("SET session_replication_role = replica; SET TimeZone = 'UTC'")
            .await
            .map_err(ctx(
                "preparing the apply session (session_replication_role needs a superuser)",
            ))?;
        if job.is_some() {
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {POSITION_TABLE} (job text PRIMARY KEY, \
                     position text NOT NULL, applied_at timestamptz NOT NULL)"
                ))
                .await
                .map_err(ctx("creating the sync position table"))?;
        }
        let mut tables = Vec::with_capacity(plans.len());
        for (i, plan) in plans.iter().enumerate() {
            let key_plan = plan.key_plan();
            let cols = column_list(plan);
            let keys = column_list(&key_plan);
            let (stage, key_stage) = (format!("ferry_stage_{i}"), format!("ferry_stage_{i}_key"));
            client
                .batch_execute(&format!(
                    "CREATE TEMP TABLE {stage} AS SELECT {cols} FROM {t} WITH NO DATA; \
                     CREATE TEMP TABLE {key_stage} AS SELECT {keys} FROM {t} WITH NO DATA",
                    t = qualified(&plan.target)
                ))
                .await
                .map_err(ctx(format!(
                    "preparing to apply changes to table {}",
                    plan.target
                )))?;
            tables.push(TableApply {
                encoders: choose_encoders(&client, plan).await?,
                key_encoders: choose_encoders(&client, &key_plan).await?,
                plan: plan.clone(),
                key_plan,
                stage,
                key_stage,
                statements: HashMap::new(),
            });
        }
        Ok(PgApply {
            client,
            job: job.map(str::to_string),
            tables,
        })
    }
}

fn column_list(plan: &TablePlan) -> String {
    plan.columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The set-based statement that moves a stage into the table.
fn apply_sql(t: &TableApply, op: ChangeOp, unchanged: &[usize]) -> String {
    let plan = &t.plan;
    let target = qualified(&plan.target);
    let q = |i: &usize| quote_ident(&plan.columns[*i].name);
    let key_match = plan
        .primary_key
        .iter()
        .map(|k| format!("t.{c} = d.{c}", c = q(k)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let non_key: Vec<usize> = (0..plan.columns.len())
        .filter(|i| !plan.primary_key.contains(i))
        .collect();
    match op {
        ChangeOp::Delete => format!(
            "WITH d AS (DELETE FROM {s} RETURNING *) DELETE FROM {target} t USING d WHERE {key_match}",
            s = t.key_stage
        ),
        ChangeOp::Upsert if unchanged.is_empty() => {
            let set = non_key
                .iter()
                .map(|i| format!("{c} = EXCLUDED.{c}", c = q(i)))
                .collect::<Vec<_>>();
            let action = if set.is_empty() {
                "NOTHING".to_string()
            } else {
                format!("UPDATE SET {}", set.join(", "))
            };
            format!(
                "WITH d AS (DELETE FROM {s} RETURNING *) INSERT INTO {target} ({cols}) \
                 SELECT {cols} FROM d ON CONFLICT ({keys}) DO {action}",
                s = t.stage,
                cols = column_list(plan),
                keys = plan.key_list(quote_ident),
            )
        }
        ChangeOp::Upsert => {
            let set = non_key
                .iter()
                .filter(|i| !unchanged.contains(i))
                .map(|i| format!("{c} = d.{c}", c = q(i)))
                .collect::<Vec<_>>();
            // Every non-key column untouched: the row stays as it is, but it
            // must exist, so set the key to itself.
            let set = if set.is_empty() {
                let k = q(&plan.primary_key[0]);
                format!("{k} = d.{k}")
            } else {
                set.join(", ")
            };
            format!(
                "WITH d AS (DELETE FROM {s} RETURNING *) UPDATE {target} t SET {set} FROM d \
                 WHERE {key_match}",
                s = t.stage
            )
        }
    }
}

impl PgApply {
    /// The position this job stored last, if any.
    pub async fn stored_position(&self) -> Result<Option<String>> {
        let Some(job) = &self.job else {
            return Ok(None);
        };
        let row = self
            .client
            .query_opt(
                &format!("SELECT position FROM {POSITION_TABLE} WHERE job = $1"),
                &[job],
            )
            .await
            .map_err(ctx("reading the stored sync position"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Applies `txns` in order as one target transaction, with the position
    /// of the last one. Nothing of it is committed on error.
    pub async fn apply(&mut self, txns: &[SourceTxn]) -> Result<()> {
        let Some(last) = txns.last() else {
            return Ok(());
        };
        self.client
            .batch_execute("BEGIN")
            .await
            .map_err(ctx("starting an apply transaction"))?;
        let result = self.apply_in_transaction(txns, &last.position).await;
        match result {
            Ok(()) => self
                .client
                .batch_execute("COMMIT")
                .await
                .map_err(ctx("committing an apply transaction")),
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn apply_in_transaction(&mut self, txns: &[SourceTxn], position: &str) -> Result<()> {
        // Copied out: the runs borrow them while `self` applies.
        let keys: Vec<Vec<usize>> = self
            .tables
            .iter()
            .map(|t| t.plan.primary_key.clone())
            .collect();
        for run in runs(txns, |t| keys.get(t).map_or(&[][..], Vec::as_slice)) {
            self.apply_run(&run).await?;
        }
        let Some(job) = &self.job else {
            return Ok(());
        };
        self.client
            .execute(
                &format!(
                    "INSERT INTO {POSITION_TABLE} (job, position, applied_at) VALUES ($1, $2, now()) \
                     ON CONFLICT (job) DO UPDATE SET position = EXCLUDED.position, \
                     applied_at = EXCLUDED.applied_at"
                ),
                &[job, &position],
            )
            .await
            .map_err(ctx("storing the sync position"))?;
        Ok(())
    }

    async fn apply_run(&mut self, run: &ChangeRun<'_>) -> Result<()> {
        let t = self
            .tables
            .get_mut(run.table)
            .ok_or_else(|| Error::Bug(format!("change batch for unknown table #{}", run.table)))?;
        let table = t.plan.target.to_string();
        let (stage, plan, encoders) = match run.op {
            ChangeOp::Upsert => (&t.stage, &t.plan, &t.encoders),
            ChangeOp::Delete => (&t.key_stage, &t.key_plan, &t.key_encoders),
        };
        let parts: Vec<RecordBatch> = match run.op {
            ChangeOp::Upsert => run.parts.iter().map(|b| (*b).clone()).collect(),
            ChangeOp::Delete => run
                .parts
                .iter()
                .map(|b| b.project(&t.plan.primary_key))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Bug(format!("projecting keys: {e}")))?,
        };
        let rows = run.rows();
        copy_into(&self.client, stage, plan, encoders, &parts, &t.plan).await?;
        let key = (run.op == ChangeOp::Delete, run.unchanged.to_vec());
        if !t.statements.contains_key(&key) {
            let sql = apply_sql(t, run.op, run.unchanged);
            let st = self
                .client
                .prepare(&sql)
                .await
                .map_err(ctx(format!("preparing the apply of table {table}")))?;
            t.statements.insert(key.clone(), st);
        }
        let n = self
            .client
            .execute(&t.statements[&key], &[])
            .await
            .map_err(load_ctx(
                &t.plan,
                None,
                format!("applying changes to table {table}"),
            ))?;
        if run.op == ChangeOp::Upsert && !run.unchanged.is_empty() && n != rows as u64 {
            return Err(Error::Table {
                table,
                problem: format!(
                    "{} of {rows} updated rows are missing on the target (it no longer matches \
                     the source: verify and copy again)",
                    (rows as u64).saturating_sub(n),
                ),
            });
        }
        Ok(())
    }
}

/// Loads every part into `stage` with one binary COPY through `encoders`.
async fn copy_into(
    client: &Client,
    stage: &str,
    plan: &TablePlan,
    encoders: &[PgEncoder],
    parts: &[RecordBatch],
    full: &TablePlan,
) -> Result<()> {
    let table = full.target.to_string();
    let sql = format!(
        "COPY {stage} ({}) FROM STDIN (FORMAT binary)",
        column_list(plan)
    );
    let mut buf = BytesMut::with_capacity(4096);
    buf.extend_from_slice(COPY_HEADER);
    let ncols = i16::try_from(plan.columns.len()).map_err(|_| Error::Table {
        table: table.clone(),
        problem: "too many columns for COPY".into(),
    })?;
    for rows in parts {
        let typed = rows
            .columns()
            .iter()
            .map(|a| Typed::of(a.as_ref()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                Error::Bug(format!(
                    "table {table}: change batch has an unexpected Arrow type"
                ))
            })?;
        for row in 0..rows.num_rows() {
            buf.extend_from_slice(&ncols.to_be_bytes());
            for (i, (enc, col)) in encoders.iter().zip(&typed).enumerate() {
                if let Err(problem) = put_field(enc, col, row, &mut buf) {
                    return Err(Error::value(
                        &table,
                        plan.columns[i].name.clone(),
                        render_key(plan, rows, row),
                        problem,
                    ));
                }
            }
        }
    }
    buf.extend_from_slice(COPY_TRAILER);
    let sink = client
        .copy_in::<_, Bytes>(&sql)
        .await
        .map_err(ctx(format!("staging changes of table {table}")))?;
    pin_mut!(sink);
    // The stage's rows are this batch's, in order: a refused line names its key.
    let mut sent = SentKeys::new(plan);
    for rows in parts {
        sent.push(rows);
    }
    let target = TablePlan {
        target: full.target.clone(),
        ..plan.clone()
    };
    sink.send(buf.freeze()).await.map_err(load_ctx(
        &target,
        Some(&sent),
        format!("staging changes of table {table}"),
    ))?;
    sink.as_mut().finish().await.map_err(load_ctx(
        &target,
        Some(&sent),
        format!("staging changes of table {table}"),
    ))?;
    Ok(())
}
