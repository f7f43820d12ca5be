//! The reader: one `SELECT` per range in a session of the run (lent by
//! [`MssqlSnapshot`]) or its own, streamed row by row into Arrow batches.
//!
//! `verify` reads through the same reader in binary key order
//! ([`RowOrder::BinaryKey`]): the `ORDER BY` uses the key expressions of
//! [`crate::partition`] (UTF-8 bytes for text, the canonical text for
//! uniqueidentifier), never SQL Server's collation or GUID order, so both
//! sides of a verify merge by one order.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use ferry_core::adapter::{KeySplit, RangeReader, ReadOptions, RowOrder, TableReader};
use ferry_core::arrow::{plan_schema, render_key};
use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};
use ferry_core::{Error, Result, TablePlan};
use futures_util::TryStreamExt;
use tokio::sync::mpsc;

use crate::decode::Decoder;
use crate::error::ctx;
use crate::partition::{self, MssqlKeyColumn};
use crate::snapshot::{self, MssqlSnapshot};
use crate::{close, qualified, simple, Client, MssqlAdapter};

impl TableReader for MssqlAdapter {
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

impl RangeReader for MssqlAdapter {
    type Snapshot = MssqlSnapshot;

    async fn open_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(MssqlSnapshot, SnapshotInfo)> {
        self.take_snapshot(options).await
    }

    async fn key_columns(&self, plan: &TablePlan) -> Result<KeySplit> {
        let mut client = self.connect().await?;
        let out = partition::key_split(&mut client, plan).await;
        close(client).await;
        out
    }

    async fn plan_ranges(&self, plan: &TablePlan, options: &RangeOptions) -> Result<RangePlan> {
        let mut client = self.connect().await?;
        let out = partition::plan_ranges(&mut client, plan, options).await;
        close(client).await;
        out
    }

    async fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&MssqlSnapshot>,
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        match snapshot {
            Some(snap) => {
                let mut lent = snap.borrow(&table).await?;
                let out = stream_range(&mut lent.client, plan, range, options, tx).await;
                match out {
                    Ok((sent, true)) => {
                        snap.give_back(lent);
                        Ok(sent)
                    }
                    Ok((sent, false)) => {
                        snap.discard(lent).await;
                        Ok(sent)
                    }
                    Err(e) => {
                        snap.discard(lent).await;
                        Err(e)
                    }
                }
            }
            None => {
                let mut client = self.connect().await?;
                let iso = snapshot::isolation(&mut client).await?;
                simple(&mut client, iso.begin_sql())
                    .await
                    .map_err(ctx(format!("starting the snapshot of {table}")))?;
                let (sent, clean) = stream_range(&mut client, plan, range, options, tx).await?;
                if clean {
                    simple(&mut client, "COMMIT")
                        .await
                        .map_err(ctx(format!("ending the snapshot of {table}")))?;
                }
                close(client).await;
                Ok(sent)
            }
        }
    }

    async fn count_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&MssqlSnapshot>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        // The same sessions as read_range's: one of the snapshot's, or a
        // fresh one at the snapshot's isolation level.
        match snapshot {
            Some(snap) => {
                let mut lent = snap.borrow(&table).await?;
                let counted = count_with(&mut lent.client, plan, range).await;
                if counted.is_ok() {
                    snap.give_back(lent);
                } else {
                    snap.discard(lent).await;
                }
                counted
            }
            None => {
                let mut client = self.connect().await?;
                let iso = snapshot::isolation(&mut client).await?;
                simple(&mut client, iso.begin_sql())
                    .await
                    .map_err(ctx(format!("starting the snapshot of {table}")))?;
                let counted = count_with(&mut client, plan, range).await;
                if counted.is_ok() {
                    simple(&mut client, "COMMIT")
                        .await
                        .map_err(ctx(format!("ending the snapshot of {table}")))?;
                }
                close(client).await;
                counted
            }
        }
    }
}

/// `SELECT COUNT_BIG(*)` over the rows [`select_range_sql`] would read.
async fn count_with(client: &mut Client, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
    let table = plan.source.to_string();
    let keys = match partition::key_columns(client, plan).await? {
        Ok(k) => k,
        Err(_) if matches!(range, KeyRange::Whole) => Vec::new(),
        Err(reason) => {
            return Err(Error::Table {
                table,
                problem: format!("cannot count range {range}: {reason}"),
            })
        }
    };
    let sql = format!(
        "SELECT COUNT_BIG(*) FROM {}{}",
        qualified(&plan.source),
        partition::read_predicate(plan, &keys, range)
    );
    let found = crate::catalog::rows(client, &sql, &[])
        .await
        .map_err(ctx(format!("counting rows of table {table}")))?;
    Ok(found
        .first()
        .and_then(|r| crate::catalog::int(&r[0]))
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0))
}

/// `SELECT <cols> FROM <table>`, each column by its [`crate::desc`] expression.
fn select_from(plan: &TablePlan) -> String {
    let cols: Vec<String> = plan.columns.iter().map(crate::desc::select_expr).collect();
    format!(
        "SELECT {} FROM {}",
        cols.join(", "),
        qualified(&plan.source)
    )
}

/// The statement reading `range` of `plan` in key order.
pub fn select_range_sql(plan: &TablePlan, keys: &[MssqlKeyColumn], range: &KeyRange) -> String {
    format!(
        "{}{}{}",
        select_from(plan),
        partition::read_predicate(plan, keys, range),
        partition::order_by(keys)
    )
}

/// Streams one range through `client` (already inside its transaction).
/// Returns rows sent and whether the session is clean (its result read to
/// the end), i.e. reusable.
async fn stream_range(
    client: &mut Client,
    plan: &TablePlan,
    range: &KeyRange,
    options: &ReadOptions,
    tx: mpsc::Sender<RecordBatch>,
) -> Result<(u64, bool)> {
    let table = plan.source.to_string();
    let batch_rows = options.batch_rows.max(1);
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
    let keys = match partition::key_columns(client, plan).await? {
        Ok(k) => k,
        // A key that does not split still orders a whole-table read (copy
        // order) as SQL Server sorts it; a key range is refused.
        Err(reason) if !matches!(range, KeyRange::Whole) => {
            return Err(Error::Table {
                table,
                problem: format!("cannot read range {range}: {reason}"),
            })
        }
        Err(_) => Vec::new(),
    };
    let sql = match (range, &options.order) {
        // Copy's whole-table read: the clustered key's own order is cheapest.
        (KeyRange::Whole, RowOrder::Key) => {
            let mut s = select_from(plan);
            s.push_str(&partition::read_predicate(plan, &[], &KeyRange::Whole));
            if !plan.primary_key.is_empty() {
                s.push_str(" ORDER BY ");
                s.push_str(&plan.key_list(crate::quote_ident));
            }
            s
        }
        _ => select_range_sql(plan, &keys, range),
    };
    let what = format!("reading table {table}");
    let mut sent: u64 = 0;
    let mut in_batch = 0usize;
    let mut stream = client
        .query(sql, &[])
        .await
        .map_err(ctx(what.clone()))?
        .into_row_stream();
    while let Some(row) = stream.try_next().await.map_err(ctx(what.clone()))? {
        if row.len() != decoders.len() {
            return Err(Error::Bug(format!(
                "{table}: the server returned {} columns for {} planned",
                row.len(),
                decoders.len()
            )));
        }
        let mut failure: Option<(usize, String)> = None;
        for (i, (dec, v)) in decoders.iter_mut().zip(row).enumerate() {
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
            if tx.send(batch).await.is_err() {
                // The rest of the result is unread: the session is not reusable.
                return Ok((sent, false));
            }
            sent += u64::try_from(batch_rows).unwrap_or(u64::MAX);
        }
    }
    drop(stream);
    if in_batch > 0 {
        let batch = finish_batch(&schema, &mut decoders, &table)?;
        if tx.send(batch).await.is_ok() {
            sent += u64::try_from(in_batch).unwrap_or(u64::MAX);
        }
    }
    Ok((sent, true))
}

fn finish_batch(schema: &SchemaRef, decoders: &mut [Decoder], table: &str) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = decoders.iter_mut().map(Decoder::finish).collect();
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| {
        Error::Bug(format!(
            "{table}: batch does not match its plan schema: {e}"
        ))
    })
}

/// Renders the key of the last row in the builders (consuming them: the
/// table is failing anyway).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::MssqlKeyKind;
    use ferry_core::range::KeyValue;
    use ferry_core::{ColumnPlan, LogicalType, RawType, TableRef};

    #[test]
    fn a_range_reads_money_exactly_and_orders_by_the_binary_key() {
        let col = |name: &str, raw: &str, logical| ColumnPlan {
            name: name.into(),
            raw: RawType {
                name: raw.into(),
                ..RawType::default()
            },
            logical,
            ..ColumnPlan::default()
        };
        let plan = TablePlan {
            source: TableRef::new(Some("dbo"), "t"),
            columns: vec![
                col("k", "uniqueidentifier", LogicalType::Uuid),
                col(
                    "m",
                    "money",
                    LogicalType::Decimal {
                        precision: Some(19),
                        scale: Some(4),
                    },
                ),
            ],
            primary_key: vec![0],
            row_filter: Some("[m] > 0 OR [m] IS NULL".into()),
            ..TablePlan::default()
        };
        let keys = vec![MssqlKeyColumn {
            ident: "[k]".into(),
            kind: MssqlKeyKind::Uuid,
        }];
        let range = KeyRange::Key {
            lower: None,
            upper: Some(vec![KeyValue::Uuid([0xab; 16])]),
        };
        assert_eq!(
            select_range_sql(&plan, &keys, &range),
            "SELECT [k], CAST([m] AS decimal(19,4)) AS [m] FROM [dbo].[t] \
             WHERE CAST([k] AS char(36)) COLLATE Latin1_General_BIN2 < \
             'ABABABAB-ABAB-ABAB-ABAB-ABABABABABAB' AND ([m] > 0 OR [m] IS NULL) \
             ORDER BY CAST([k] AS char(36)) COLLATE Latin1_General_BIN2"
        );
    }
}
