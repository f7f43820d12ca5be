//! The reader: one consistent snapshot (the run's, lent by
//! [`MySqlSnapshot`], or its own), one `SELECT` per range, streamed.
//!
//! The statement runs through the binary protocol (`exec_iter`) so FLOAT and
//! DOUBLE arrive as their IEEE bits rather than the text protocol's rounded
//! digits, and the result set is consumed row by row: memory is one batch
//! per column plus whatever the bounded channel holds.
//!
//! `verify` reads through the same reader in binary key order
//! ([`RowOrder::BinaryKey`]): both sides merge by key, so both must deliver
//! rows in one order whatever the collations. A key column compared as text
//! orders as it is when its collation is byte order (`binary`,
//! `*_nopad_bin`, `utf8mb4_0900_bin`: the index serves the sort) and through
//! `CAST(… AS BINARY)` otherwise (PAD SPACE `*_bin` puts `'a\t'` before
//! `'a'`; `_ci` collations fold case). Other key types order by value. A
//! key range is always read in its predicate's binary order.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use ferry_core::adapter::{KeySplit, RangeReader, ReadOptions, RowOrder, TableReader};
use ferry_core::arrow::{plan_schema, render_key};
use ferry_core::batch::BatchFill;
use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};
use ferry_core::{Error, Result, TablePlan};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::mpsc;

use crate::decode::{reads_enum_index, reads_raw_text, Decoder};
use crate::error::ctx;
use crate::partition::{self, MySqlKeyColumn};
use crate::snapshot::MySqlSnapshot;
use crate::{disconnect, quote_ident, MySqlAdapter};

impl TableReader for MySqlAdapter {
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

impl RangeReader for MySqlAdapter {
    type Snapshot = MySqlSnapshot;

    async fn open_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(MySqlSnapshot, SnapshotInfo)> {
        self.take_snapshot(options).await
    }

    async fn key_columns(&self, plan: &TablePlan) -> Result<KeySplit> {
        let mut conn = self.connect().await?;
        let out = partition::key_split(self, &mut conn, plan).await;
        disconnect(conn).await;
        out
    }

    async fn plan_ranges(&self, plan: &TablePlan, options: &RangeOptions) -> Result<RangePlan> {
        let mut conn = self.connect().await?;
        let out = partition::plan_ranges(self, &mut conn, plan, options).await;
        disconnect(conn).await;
        out
    }

    async fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&MySqlSnapshot>,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        match snapshot {
            Some(snap) => {
                let mut lent = snap.borrow(&table).await?;
                let out = self
                    .stream_range(&mut lent.conn, plan, range, options, tx)
                    .await;
                match out {
                    Ok((sent, true)) => {
                        snap.give_back(lent);
                        Ok(sent)
                    }
                    Ok((sent, false)) => {
                        snap.discard(lent).await;
                        Ok(sent)
                    }
                    // A value refused while decoding leaves the session in
                    // its transaction, with the rest of the result unread:
                    // the driver reads it away before the session's next
                    // statement, so the session goes back to the pool (a
                    // rejecting run reads this range again).
                    Err(e @ Error::Value { .. }) => {
                        snap.give_back(lent);
                        Err(e)
                    }
                    Err(e) => {
                        snap.discard(lent).await;
                        Err(e)
                    }
                }
            }
            None => {
                let mut conn = self.snapshot_session(&table).await?;
                let (sent, clean) = self
                    .stream_range(&mut conn, plan, range, options, tx)
                    .await?;
                if clean {
                    conn.query_drop("COMMIT")
                        .await
                        .map_err(ctx(format!("ending the snapshot of {table}")))?;
                }
                disconnect(conn).await;
                Ok(sent)
            }
        }
    }

    async fn count_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&MySqlSnapshot>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        match snapshot {
            Some(snap) => {
                let mut lent = snap.borrow(&table).await?;
                match self.count_in(&mut lent.conn, plan, range).await {
                    Ok(n) => {
                        snap.give_back(lent);
                        Ok(n)
                    }
                    Err(e) => {
                        snap.discard(lent).await;
                        Err(e)
                    }
                }
            }
            None => {
                let mut conn = self.snapshot_session(&table).await?;
                let n = self.count_in(&mut conn, plan, range).await?;
                conn.query_drop("COMMIT")
                    .await
                    .map_err(ctx(format!("ending the snapshot of {table}")))?;
                disconnect(conn).await;
                Ok(n)
            }
        }
    }
}

impl MySqlAdapter {
    /// A session inside a consistent-snapshot read-only transaction of its own.
    async fn snapshot_session(&self, table: &str) -> Result<Conn> {
        let mut conn = self.connect().await?;
        for stmt in [
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        ] {
            conn.query_drop(stmt)
                .await
                .map_err(ctx(format!("starting the snapshot of {table}")))?;
        }
        Ok(conn)
    }

    /// `SELECT count(*)` of the rows of `range` that `plan.row_filter` keeps.
    async fn count_in(&self, conn: &mut Conn, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
        let table = plan.source.to_string();
        let keys = if *range == KeyRange::Whole {
            Vec::new()
        } else {
            match partition::key_columns(self, conn, plan).await? {
                Ok(k) => k,
                Err(reason) => {
                    return Err(Error::Table {
                        table,
                        problem: format!("cannot read range {range}: {reason}"),
                    })
                }
            }
        };
        let sql = format!(
            "SELECT count(*) FROM {}{}",
            self.qualified(&plan.source),
            partition::read_predicate(plan, &keys, range)
        );
        let n: Option<u64> = conn
            .query_first(sql)
            .await
            .map_err(ctx(format!("counting rows of table {table}")))?;
        Ok(n.unwrap_or(0))
    }

    /// Streams one range through `conn` (already inside its transaction).
    /// Returns rows sent and whether the session is clean (its result read
    /// to the end), i.e. reusable.
    async fn stream_range(
        &self,
        conn: &mut Conn,
        plan: &TablePlan,
        range: &KeyRange,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<(u64, bool)> {
        let table = plan.source.to_string();
        let batch_rows = options.batch_rows.max(1);
        let schema = plan_schema(plan);
        let mut decoders = Vec::with_capacity(plan.columns.len());
        for c in &plan.columns {
            let mut dec =
                Decoder::for_column(c, batch_rows).map_err(|reason| Error::UnsupportedType {
                    table: table.clone(),
                    column: c.name.clone(),
                    ty: c.source_type.clone(),
                    reason,
                })?;
            if let (true, Some(name)) = (reads_raw_text(c), c.raw.charset.as_deref()) {
                dec = dec.with_charset(self.charset(conn, name).await?);
            }
            decoders.push(dec);
        }
        let sql = match (range, &options.order) {
            (KeyRange::Whole, RowOrder::Key) => select_sql(self, plan),
            (KeyRange::Whole, RowOrder::BinaryKey { text_order }) => {
                let collations = if text_order.iter().any(|&t| t) {
                    partition::key_collations(self, conn, plan).await?
                } else {
                    Vec::new()
                };
                binary_order_sql(self, plan, text_order, &collations)
            }
            _ => {
                let keys = match partition::key_columns(self, conn, plan).await? {
                    Ok(k) => k,
                    Err(reason) => {
                        return Err(Error::Table {
                            table,
                            problem: format!("cannot read range {range}: {reason}"),
                        })
                    }
                };
                select_range_sql(self, plan, &keys, range)
            }
        };
        let what = format!("reading table {table}");

        let mut sent: u64 = 0;
        let mut fill = BatchFill::new(options.limit());
        let mut closed = false;
        {
            let mut result = conn.exec_iter(sql, ()).await.map_err(ctx(what.clone()))?;
            while let Some(row) = result.next().await.map_err(ctx(what.clone()))? {
                let values = row.unwrap();
                if values.len() != decoders.len() {
                    return Err(Error::Bug(format!(
                        "{table}: the server returned {} columns for {} planned",
                        values.len(),
                        decoders.len()
                    )));
                }
                // A row that would take the open batch past its byte
                // budget starts the next one; a larger row goes alone.
                let row_bytes = values.iter().map(value_bytes).sum();
                if fill.closes_before(row_bytes) {
                    let batch = finish_batch(&schema, &mut decoders, &table)?;
                    let n = fill.close();
                    if tx.send(batch).await.is_err() {
                        closed = true;
                        break;
                    }
                    sent += u64::try_from(n).unwrap_or(u64::MAX);
                }
                let mut failure: Option<(usize, String)> = None;
                for (i, (dec, v)) in decoders.iter_mut().zip(values).enumerate() {
                    if let Err(problem) = dec.push(v) {
                        failure.get_or_insert((i, problem));
                    }
                }
                if let Some((col, problem)) = failure {
                    // The whole row is in the builders (the refused value as
                    // NULL), so its key can be rendered whatever the column
                    // order. Finishing them ends the batch here.
                    let (key, kept) = split_last_row(plan, &schema, &mut decoders);
                    if !options.skip_keys.contains(&key) {
                        return Err(Error::value(
                            &plan.source,
                            plan.columns[col].name.clone(),
                            key,
                            problem,
                        ));
                    }
                    // Rejected earlier in this run: leave the row out. The
                    // batch ended with it (`kept` holds the rows before).
                    fill.close();
                    if let Some(batch) = kept {
                        let rows = batch.num_rows();
                        if tx.send(batch).await.is_err() {
                            closed = true;
                            break;
                        }
                        sent += u64::try_from(rows).unwrap_or(u64::MAX);
                    }
                    continue;
                }
                if fill.push(row_bytes) {
                    let batch = finish_batch(&schema, &mut decoders, &table)?;
                    let n = fill.close();
                    if tx.send(batch).await.is_err() {
                        closed = true;
                        break;
                    }
                    sent += u64::try_from(n).unwrap_or(u64::MAX);
                }
            }
            if closed {
                // Stop the server from sending the rest: dropping the result
                // would drain it, so the caller closes the connection instead.
                drop(result);
                return Ok((sent, false));
            }
        }
        if fill.rows() > 0 {
            let batch = finish_batch(&schema, &mut decoders, &table)?;
            let n = fill.close();
            if tx.send(batch).await.is_ok() {
                sent += u64::try_from(n).unwrap_or(u64::MAX);
            }
        }
        Ok((sent, true))
    }
}

/// `SELECT <cols> FROM <table> WHERE <range> AND <filter> ORDER BY <key in binary order>`.
pub fn select_range_sql(
    adapter: &MySqlAdapter,
    plan: &TablePlan,
    keys: &[MySqlKeyColumn],
    range: &KeyRange,
) -> String {
    format!(
        "{}{}{}",
        select_from(adapter, plan),
        partition::read_predicate(plan, keys, range),
        partition::order_by(keys)
    )
}

/// `SELECT <cols> FROM <table> WHERE <filter> ORDER BY <pk>`.
pub fn select_sql(adapter: &MySqlAdapter, plan: &TablePlan) -> String {
    let mut sql = select_from(adapter, plan);
    sql.push_str(&partition::read_predicate(plan, &[], &KeyRange::Whole));
    if !plan.primary_key.is_empty() {
        sql.push_str(" ORDER BY ");
        sql.push_str(&plan.key_list(quote_ident));
    }
    sql
}

/// `SELECT <cols> FROM <table> WHERE <filter> ORDER BY <key in binary order>`,
/// with `text_order[i]` key columns in byte order; `collations[i]` is key
/// column `i`'s collation when it has one (see the module docs).
pub fn binary_order_sql(
    adapter: &MySqlAdapter,
    plan: &TablePlan,
    text_order: &[bool],
    collations: &[Option<String>],
) -> String {
    let mut sql = select_from(adapter, plan);
    sql.push_str(&partition::read_predicate(plan, &[], &KeyRange::Whole));
    if !plan.primary_key.is_empty() {
        let keys: Vec<String> = plan
            .primary_key
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let col = &plan.columns[c];
                let q = quote_ident(&col.name);
                if partition::legacy_text(col)
                    && matches!(col.raw.name.as_str(), "char" | "varchar")
                {
                    return partition::converted_key(&q);
                }
                let as_is = !text_order.get(i).copied().unwrap_or(false)
                    || (col.raw.name == "varchar"
                        && collations
                            .get(i)
                            .and_then(|c| c.as_deref())
                            .is_some_and(partition::byte_order));
                if as_is {
                    q
                } else {
                    format!("CAST({q} AS BINARY)")
                }
            })
            .collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&keys.join(", "));
    }
    sql
}

/// `SELECT <cols> FROM <table>`, each column as its decoder reads it.
fn select_from(adapter: &MySqlAdapter, plan: &TablePlan) -> String {
    let cols: Vec<String> = plan
        .columns
        .iter()
        .map(|c| {
            // A derived column: the source computes it, read as a column
            // of its type would be.
            let q = match &c.expr {
                Some(sql) => format!("({sql})"),
                None => quote_ident(&c.name),
            };
            if reads_enum_index(c) {
                format!("{q} + 0")
            } else if reads_raw_text(c) {
                format!("CAST({q} AS BINARY)")
            } else {
                q
            }
        })
        .collect();
    format!(
        "SELECT {} FROM {}",
        cols.join(", "),
        adapter.qualified(&plan.source)
    )
}

/// The bytes a value took on the wire, about what it takes in Arrow: a
/// row's share of its batch's byte budget.
fn value_bytes(v: &mysql_async::Value) -> usize {
    match v {
        mysql_async::Value::Bytes(b) => b.len(),
        mysql_async::Value::NULL => 1,
        _ => 8,
    }
}

fn finish_batch(schema: &SchemaRef, decoders: &mut [Decoder], table: &str) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = decoders.iter_mut().map(Decoder::finish).collect();
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| {
        Error::Bug(format!(
            "{table}: batch does not match its plan schema: {e}"
        ))
    })
}

/// Finishes the builders, whose last row holds a refused value (as NULL):
/// the rendered key of that row, and the rows before it as a batch of
/// `schema` (`None` when there are none). Fields are relaxed to nullable
/// to render the key, since the refused value may sit in a NOT NULL column.
fn split_last_row(
    plan: &TablePlan,
    schema: &SchemaRef,
    decoders: &mut [Decoder],
) -> (String, Option<RecordBatch>) {
    let arrays: Vec<ArrayRef> = decoders.iter_mut().map(Decoder::finish).collect();
    let fields: Vec<Field> = plan
        .columns
        .iter()
        .zip(&arrays)
        .map(|(c, a)| Field::new(&c.name, a.data_type().clone(), true))
        .collect();
    let Ok(all) = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays) else {
        return ("(unknown)".to_string(), None);
    };
    let n = all.num_rows();
    if n == 0 {
        return ("(unknown)".to_string(), None);
    }
    let key = render_key(plan, &all, n - 1);
    if n == 1 {
        return (key, None);
    }
    let before = all.slice(0, n - 1);
    // The rows before decoded cleanly, so they fit the plan's schema; if not,
    // the batch is kept as is and the row's key named as refused, so that
    // nothing is ever dropped unnoticed.
    match RecordBatch::try_new(schema.clone(), before.columns().to_vec()) {
        Ok(b) => (key, Some(b)),
        Err(_) => (format!("{key} (and the rows before it in its batch)"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::{ColumnPlan, DbUrl, RawType, TableRef};

    fn plan() -> TablePlan {
        let col = |name: &str, ty: &str| ColumnPlan {
            name: name.into(),
            raw: RawType {
                name: ty.into(),
                ..RawType::default()
            },
            ..ColumnPlan::default()
        };
        TablePlan {
            source: TableRef::new(None, "t"),
            columns: vec![col("a", "int"), col("b", "varchar"), col("c", "char")],
            primary_key: vec![0, 1, 2],
            row_filter: Some("a > 1 OR b = 'x'".into()),
            ..TablePlan::default()
        }
    }

    #[test]
    fn binary_key_order_casts_text_keys_whose_collation_is_not_byte_order() {
        let adapter = MySqlAdapter::new(DbUrl::parse("mysql://u@h/db").unwrap());
        let collations = [
            None,
            Some("utf8mb4_nopad_bin".into()),
            Some("utf8mb4_bin".into()),
        ];
        assert_eq!(
            binary_order_sql(&adapter, &plan(), &[false, true, true], &collations),
            "SELECT `a`, `b`, `c` FROM `db`.`t` WHERE (a > 1 OR b = 'x') \
             ORDER BY `a`, `b`, CAST(`c` AS BINARY)"
        );
        assert_eq!(
            select_sql(&adapter, &plan()),
            "SELECT `a`, `b`, `c` FROM `db`.`t` WHERE (a > 1 OR b = 'x') ORDER BY `a`, `b`, `c`"
        );
    }
}
