//! Reads for `ferry verify`: every row in *binary* key order.
//!
//! Verification merges the two sides by key, so both must deliver rows in
//! one order whatever the collations. A key column compared as text orders
//! as it is when its collation is byte order (`binary`, `*_nopad_bin`,
//! `utf8mb4_0900_bin`: the index serves the sort) and through
//! `CAST(… AS BINARY)` otherwise (PAD SPACE `*_bin` puts `'a\t'` before
//! `'a'`; `_ci` collations fold case). Other key types order by value.
//! The statement runs through the binary protocol, as the copy reader does.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use ferry_core::arrow::plan_schema;
use ferry_core::{Error, Result, TablePlan};
use mysql_async::prelude::Queryable;
use tokio::sync::mpsc;

use crate::decode::Decoder;
use crate::error::ctx;
use crate::{disconnect, quote_ident, MySqlAdapter};

fn byte_order(collation: &str) -> bool {
    collation == "binary" || collation.ends_with("_nopad_bin") || collation.ends_with("_0900_bin")
}

/// `SELECT … ORDER BY …` with `text_order[i]` key columns in byte order;
/// `collations[i]` is key column `i`'s collation when it has one.
pub fn binary_order_sql(
    adapter: &MySqlAdapter,
    plan: &TablePlan,
    text_order: &[bool],
    collations: &[Option<String>],
) -> String {
    let cols: Vec<String> = plan.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        cols.join(", "),
        adapter.qualified(&plan.source)
    );
    if !plan.primary_key.is_empty() {
        let keys: Vec<String> = plan
            .primary_key
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let col = &plan.columns[c];
                let q = quote_ident(&col.name);
                let as_is = !text_order.get(i).copied().unwrap_or(false)
                    || (col.raw.name == "varchar"
                        && collations
                            .get(i)
                            .and_then(|c| c.as_deref())
                            .is_some_and(byte_order));
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

impl MySqlAdapter {
    /// The collation of every column of `plan.source`, by name (`None` for
    /// non-text columns), for the verify report's notes and key ordering.
    pub async fn column_collations(
        &self,
        plan: &TablePlan,
    ) -> Result<Vec<(String, Option<String>)>> {
        let mut conn = self.connect().await?;
        let rows: Vec<(String, Option<String>)> = conn
            .exec(
                "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (self.schema_of(&plan.source), plan.source.name.as_str()),
            )
            .await
            .map_err(ctx(format!("reading collations of table {}", plan.source)))?;
        disconnect(conn).await;
        Ok(rows)
    }

    /// Streams every row of `plan.source` as batches of
    /// [`plan_schema`], ordered by `plan.primary_key` in binary order (see
    /// the module docs); unordered when the plan has no key. One consistent
    /// read-only snapshot. Returns the rows sent; stops early (returning what
    /// was sent) when the receiver is dropped.
    pub async fn read_in_binary_key_order(
        &self,
        plan: &TablePlan,
        text_order: &[bool],
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        let batch_rows = batch_rows.max(1);
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
        let collations = if text_order.iter().any(|&t| t) {
            let all = self.column_collations(plan).await?;
            plan.primary_key
                .iter()
                .map(|&i| {
                    all.iter()
                        .find(|(n, _)| *n == plan.columns[i].name)
                        .and_then(|(_, c)| c.clone())
                })
                .collect()
        } else {
            Vec::new()
        };
        let sql = binary_order_sql(self, plan, text_order, &collations);

        let mut conn = self.connect().await?;
        let what = format!("reading table {table}");
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(ctx(format!("starting the snapshot of {table}")))?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .map_err(ctx(format!("starting the snapshot of {table}")))?;
        let finish = |decoders: &mut [Decoder]| -> Result<RecordBatch> {
            let arrays: Vec<ArrayRef> = decoders.iter_mut().map(Decoder::finish).collect();
            RecordBatch::try_new(Arc::clone(&schema), arrays)
                .map_err(|e| Error::Bug(format!("{table}: batch does not match its plan: {e}")))
        };
        let mut sent: u64 = 0;
        let mut in_batch = 0usize;
        let mut closed = false;
        {
            let mut result = conn.exec_iter(sql, ()).await.map_err(ctx(what.clone()))?;
            while let Some(row) = result.next().await.map_err(ctx(what.clone()))? {
                let values = row.unwrap();
                let mut failure: Option<(usize, String)> = None;
                for (i, (dec, v)) in decoders.iter_mut().zip(values).enumerate() {
                    if let Err(problem) = dec.push(v) {
                        failure.get_or_insert((i, problem));
                    }
                }
                if let Some((col, problem)) = failure {
                    return Err(Error::value(
                        &plan.source,
                        plan.columns[col].name.clone(),
                        format!("row {} of the verify read", sent + in_batch as u64 + 1),
                        problem,
                    ));
                }
                in_batch += 1;
                if in_batch == batch_rows {
                    let batch = finish(&mut decoders)?;
                    in_batch = 0;
                    if tx.send(batch).await.is_err() {
                        closed = true;
                        break;
                    }
                    sent += batch_rows as u64;
                }
            }
            if closed {
                // Dropping the result would drain it; closing the connection stops the server.
                drop(result);
            }
        }
        if !closed && in_batch > 0 {
            let batch = finish(&mut decoders)?;
            if tx.send(batch).await.is_ok() {
                sent += in_batch as u64;
            }
        }
        if !closed {
            conn.query_drop("COMMIT")
                .await
                .map_err(ctx(format!("ending the snapshot of {table}")))?;
        }
        disconnect(conn).await;
        Ok(sent)
    }
}
