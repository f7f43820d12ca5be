//! The reader: one `SELECT` per range, run on a blocking thread inside the
//! run's snapshot (a lent connection) or a read transaction of its own,
//! each row decoded once into the column builders and sent as batches
//! through the bounded channel (the thread waits on it: memory stays one
//! batch per column plus what the channel holds).
//!
//! `verify` reads through the same reader in binary key order: integer keys
//! by value, text keys `COLLATE BINARY` (UTF-8 byte order), whatever the
//! column's declared collation.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use ferry_core::adapter::{KeySplit, RangeReader, ReadOptions, RowOrder, TableReader};
use ferry_core::arrow::{plan_schema, render_key};
use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};
use ferry_core::{Error, Result, TablePlan};
use rusqlite::Connection;
use tokio::sync::mpsc;

use crate::decode::Decoder;
use crate::error::ctx;
use crate::partition;
use crate::snapshot::{begin_read, SqliteSnapshot};
use crate::{blocking, quote_ident, SqliteAdapter};

impl TableReader for SqliteAdapter {
    async fn read_table(
        &self,
        plan: &TablePlan,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let options = ReadOptions::copy(batch_rows);
        self.read_range(plan, &KeyRange::Whole, None, &options, tx)
            .await
    }
}

impl RangeReader for SqliteAdapter {
    type Snapshot = SqliteSnapshot;

    async fn open_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(SqliteSnapshot, SnapshotInfo)> {
        self.take_snapshot(options).await
    }

    async fn key_columns(&self, plan: &TablePlan) -> Result<KeySplit> {
        Ok(partition::key_split(plan))
    }

    async fn plan_ranges(&self, plan: &TablePlan, options: &RangeOptions) -> Result<RangePlan> {
        let (plan, options) = (plan.clone(), *options);
        self.with_read(move |conn| partition::plan_ranges(conn, &plan, &options))
            .await
    }

    async fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SqliteSnapshot>,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let sql = select_sql(plan, range, &options.order)?;
        let (plan, batch_rows) = (Arc::new(plan.clone()), options.batch_rows.max(1));
        match snapshot {
            Some(snap) => {
                let (pool, lent) = snap.borrow(&plan.source.to_string()).await?;
                blocking(move || {
                    let out = stream(&lent.conn, &plan, &sql, batch_rows, &tx);
                    match &out {
                        // A statement that failed in SQLite may have left the
                        // transaction unusable; a refused value has not.
                        Err(Error::Query { .. }) => pool.discard(lent),
                        _ => pool.give_back(lent),
                    }
                    out
                })
                .await
            }
            None => {
                let me = self.clone();
                blocking(move || {
                    let conn = me.open_read()?;
                    begin_read(&conn)?;
                    let out = stream(&conn, &plan, &sql, batch_rows, &tx);
                    let _ = conn.execute_batch("COMMIT");
                    out
                })
                .await
            }
        }
    }

    async fn count_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&SqliteSnapshot>,
    ) -> Result<u64> {
        let sql = count_sql(plan, range)?;
        let what = format!("counting rows of table {}", plan.source);
        let count = move |conn: &Connection| -> Result<u64> {
            let n: i64 = conn
                .query_row(&sql, [], |r| r.get(0))
                .map_err(ctx(what.clone()))?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        match snapshot {
            Some(snap) => {
                let (pool, lent) = snap.borrow(&plan.source.to_string()).await?;
                blocking(move || {
                    let out = count(&lent.conn);
                    match &out {
                        Err(Error::Query { .. }) => pool.discard(lent),
                        _ => pool.give_back(lent),
                    }
                    out
                })
                .await
            }
            None => {
                let me = self.clone();
                blocking(move || {
                    let conn = me.open_read()?;
                    begin_read(&conn)?;
                    let out = count(&conn);
                    let _ = conn.execute_batch("COMMIT");
                    out
                })
                .await
            }
        }
    }
}

/// `SELECT count(*)` of the rows of `range` that `plan.row_filter` keeps.
pub fn count_sql(plan: &TablePlan, range: &KeyRange) -> Result<String> {
    let mut sql = format!("SELECT count(*) FROM {}", quote_ident(&plan.source.name));
    if matches!(range, KeyRange::Whole) {
        sql.push_str(&ferry_core::adapter::read_predicate(plan, Vec::new()));
        return Ok(sql);
    }
    let keys = partition::key_columns(plan).map_err(|reason| Error::Table {
        table: plan.source.to_string(),
        problem: format!("cannot read range {range}: {reason}"),
    })?;
    sql.push_str(&ferry_core::adapter::read_predicate(
        plan,
        partition::range_conditions(&keys, range),
    ));
    Ok(sql)
}

/// The statement reading `range` of `plan` in `order`.
pub fn select_sql(plan: &TablePlan, range: &KeyRange, order: &RowOrder) -> Result<String> {
    // A derived column is the source's expression, read as its type would be.
    let cols: Vec<String> = plan
        .columns
        .iter()
        .map(|c| match &c.expr {
            Some(sql) => format!("({sql})"),
            None => quote_ident(&c.name),
        })
        .collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        cols.join(", "),
        quote_ident(&plan.source.name)
    );
    match (range, order) {
        (KeyRange::Whole, RowOrder::Key) => {
            sql.push_str(&ferry_core::adapter::read_predicate(plan, Vec::new()));
            if !plan.primary_key.is_empty() {
                sql.push_str(" ORDER BY ");
                sql.push_str(&plan.key_list(quote_ident));
            }
        }
        (KeyRange::Whole, RowOrder::BinaryKey { text_order }) => {
            sql.push_str(&ferry_core::adapter::read_predicate(plan, Vec::new()));
            if !plan.primary_key.is_empty() {
                let keys: Vec<String> = plan
                    .primary_key
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| {
                        let q = quote_ident(&plan.columns[c].name);
                        if text_order.get(i).copied().unwrap_or(false) {
                            format!("{q} COLLATE BINARY")
                        } else {
                            q
                        }
                    })
                    .collect();
                sql.push_str(" ORDER BY ");
                sql.push_str(&keys.join(", "));
            }
        }
        _ => {
            let keys = partition::key_columns(plan).map_err(|reason| Error::Table {
                table: plan.source.to_string(),
                problem: format!("cannot read range {range}: {reason}"),
            })?;
            if keys.is_empty() && !matches!(range, KeyRange::Whole) {
                return Err(Error::Bug(format!(
                    "table {}: a key range on a table without a key",
                    plan.source
                )));
            }
            sql.push_str(&ferry_core::adapter::read_predicate(
                plan,
                partition::range_conditions(&keys, range),
            ));
            sql.push_str(&ferry_core::adapter::order_by(&keys));
        }
    }
    Ok(sql)
}

/// Runs `sql` and sends its rows as batches; stops quietly when the
/// receiver is gone. Returns the rows sent.
fn stream(
    conn: &Connection,
    plan: &TablePlan,
    sql: &str,
    batch_rows: usize,
    tx: &mpsc::Sender<RecordBatch>,
) -> Result<u64> {
    let table = plan.source.to_string();
    let schema = plan_schema(plan);
    let mut decoders = plan
        .columns
        .iter()
        .map(|c| {
            Decoder::for_column(c, batch_rows).map_err(|reason| Error::UnsupportedType {
                table: table.clone(),
                column: c.name.clone(),
                ty: c.source_type.clone(),
                reason,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let what = format!("reading table {table}");
    let mut stmt = conn.prepare(sql).map_err(ctx(what.clone()))?;
    let mut rows = stmt.query([]).map_err(ctx(what.clone()))?;
    let (mut sent, mut in_batch) = (0u64, 0usize);
    while let Some(row) = rows.next().map_err(ctx(what.clone()))? {
        let mut failure: Option<(usize, String)> = None;
        for (i, dec) in decoders.iter_mut().enumerate() {
            let v = row.get_ref(i).map_err(ctx(what.clone()))?;
            if let Err(problem) = dec.push(v) {
                failure.get_or_insert((i, problem));
            }
        }
        if let Some((col, problem)) = failure {
            let key = key_of_last_row(plan, &mut decoders);
            return Err(Error::value(
                &plan.source,
                plan.columns[col].name.clone(),
                key,
                problem,
            ));
        }
        in_batch += 1;
        if in_batch == batch_rows {
            let batch = finish_batch(&schema, &mut decoders, &table)?;
            in_batch = 0;
            if tx.blocking_send(batch).is_err() {
                return Ok(sent);
            }
            sent += u64::try_from(batch_rows).unwrap_or(u64::MAX);
        }
    }
    if in_batch > 0 {
        let batch = finish_batch(&schema, &mut decoders, &table)?;
        if tx.blocking_send(batch).is_ok() {
            sent += u64::try_from(in_batch).unwrap_or(u64::MAX);
        }
    }
    Ok(sent)
}

fn finish_batch(schema: &SchemaRef, decoders: &mut [Decoder], table: &str) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = decoders.iter_mut().map(Decoder::finish).collect();
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| {
        Error::Bug(format!(
            "{table}: batch does not match its plan schema: {e}"
        ))
    })
}

/// The key of the last row in the builders (the refused value is NULL
/// there, so fields are relaxed to nullable).
fn key_of_last_row(plan: &TablePlan, decoders: &mut [Decoder]) -> String {
    let arrays: Vec<ArrayRef> = decoders.iter_mut().map(Decoder::finish).collect();
    let fields: Vec<Field> = plan
        .columns
        .iter()
        .zip(&arrays)
        .map(|(c, a)| Field::new(&c.name, a.data_type().clone(), true))
        .collect();
    match RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays) {
        Ok(batch) if batch.num_rows() > 0 => render_key(plan, &batch, batch.num_rows() - 1),
        _ => "(unknown)".to_string(),
    }
}
