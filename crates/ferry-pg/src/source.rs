//! The reader: one session, one read-only repeatable-read snapshot, one
//! binary `COPY (SELECT …) TO STDOUT` ordered by the primary key, decoded
//! chunk by chunk. At most one batch plus one network chunk is held; the
//! bounded channel does the rest.

use arrow_array::RecordBatch;
use ferry_core::adapter::TableReader;
use ferry_core::{Result, TablePlan};
use futures_util::{pin_mut, StreamExt};
use tokio::sync::mpsc;

use crate::decode::{select_expr, CopyDecoder};
use crate::error::ctx;
use crate::{qualified, quote_ident, PgAdapter};

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

impl TableReader for PgAdapter {
    async fn read_table(
        &self,
        plan: &TablePlan,
        batch_rows: usize,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        let mut decoder = CopyDecoder::new(plan, batch_rows)?;
        let client = self.connect().await?;
        client
            .batch_execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; \
                 SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3",
            )
            .await
            .map_err(ctx(format!(
                "starting the read transaction for table {table}"
            )))?;
        let stream = client
            .copy_out(&copy_out_sql(plan))
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
