//! The reader: one session per range, one read-only repeatable-read
//! transaction (importing the run's snapshot when given one), one
//! binary `COPY (SELECT …) TO STDOUT` ordered by the primary key, decoded
//! chunk by chunk. At most one batch plus one network chunk is held; the
//! bounded channel does the rest.

use arrow_array::RecordBatch;
use ferry_core::adapter::{RangeReader, TableReader};
use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};
use ferry_core::{Error, Result, TablePlan};
use futures_util::{pin_mut, StreamExt};
use tokio::sync::mpsc;

use crate::decode::{select_expr, CopyDecoder};
use crate::error::ctx;
use crate::partition::{self, PgKeyColumn};
use crate::snapshot::PgSnapshot;
use crate::{qualified, quote_ident, quote_literal, PgAdapter};

/// The COPY statement the reader runs for `plan`.
pub fn copy_out_sql(plan: &TablePlan) -> String {
    let cols: Vec<String> = plan.columns.iter().map(select_expr).collect();
    let mut sql = format!(
        "COPY (SELECT {} FROM {}",
        cols.join(", "),
        qualified(&plan.source)
    );
    if !plan.primary_key.is_empty() {
        sql.push_str(" ORDER BY ");
        sql.push_str(&plan.key_list(quote_ident));
    }
    sql.push_str(") TO STDOUT (FORMAT binary)");
    sql
}

/// The COPY statement reading one range; keys as [`partition::key_columns`] gives them.
pub fn copy_range_sql(plan: &TablePlan, keys: &[PgKeyColumn], range: &KeyRange) -> String {
    let cols: Vec<String> = plan.columns.iter().map(select_expr).collect();
    format!(
        "COPY (SELECT {} FROM {}{}{}) TO STDOUT (FORMAT binary)",
        cols.join(", "),
        qualified(&plan.source),
        partition::range_predicate(keys, range),
        partition::order_by(keys)
    )
}

impl TableReader for PgAdapter {
    async fn read_table(
        &self,
        plan: &TablePlan,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        self.read_range(plan, &KeyRange::Whole, None, batch_rows, tx)
            .await
    }
}

impl RangeReader for PgAdapter {
    type Snapshot = PgSnapshot;

    async fn open_snapshot(&self, options: &SnapshotOptions) -> Result<(PgSnapshot, SnapshotInfo)> {
        self.take_snapshot(options).await
    }

    async fn plan_ranges(&self, plan: &TablePlan, options: &RangeOptions) -> Result<RangePlan> {
        let client = self.connect().await?;
        partition::plan_ranges(&client, plan, options).await
    }

    async fn read_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&PgSnapshot>,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        let mut decoder = CopyDecoder::new(plan, batch_rows)?;
        if snapshot.is_some_and(PgSnapshot::is_lost) {
            return Err(Error::SnapshotLost { table });
        }
        let client = self.connect().await?;
        let mut begin = String::from("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ");
        if let Some(s) = snapshot {
            begin.push_str(&format!(
                "SET TRANSACTION SNAPSHOT {}; ",
                quote_literal(s.id())
            ));
        }
        begin.push_str(
            "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; \
             SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3",
        );
        if let Err(e) = client.batch_execute(&begin).await {
            // 22023: no snapshot by that identifier (any more).
            if snapshot.is_some() && e.code().is_some_and(|c| c.code() == "22023") {
                return Err(Error::SnapshotLost { table });
            }
            return Err(crate::error::query_error(
                format!("starting the read transaction for table {table}"),
                e,
            ));
        }
        let sql = if *range == KeyRange::Whole {
            copy_out_sql(plan)
        } else {
            let keys = match partition::key_columns(&client, plan).await? {
                Ok(k) => k,
                Err(reason) => {
                    return Err(Error::Table {
                        table,
                        problem: format!("cannot read range {range}: {reason}"),
                    })
                }
            };
            copy_range_sql(plan, &keys, range)
        };
        let stream = client
            .copy_out(&sql)
            .await
            .map_err(ctx(format!("starting COPY out of table {table}")))?;
        pin_mut!(stream);
        let mut sent: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(ctx(format!("reading table {table}")))?;
            decoder.feed(&chunk)?;
            while let Some(batch) = decoder.next_batch() {
                let n = batch.num_rows();
                if tx.send(batch).await.is_err() {
                    tracing::debug!(table = %table, "receiver closed; reader stops");
                    return Ok(sent);
                }
                sent += n as u64;
            }
        }
        if let Some(batch) = decoder.finish()? {
            let n = batch.num_rows();
            if tx.send(batch).await.is_err() {
                return Ok(sent);
            }
            sent += n as u64;
        }
        client.batch_execute("COMMIT").await.map_err(ctx(format!(
            "ending the read transaction for table {table}"
        )))?;
        Ok(sent)
    }
}
