//! Reads for `ferry verify`: every row in *binary* key order.
//!
//! Verification merges the two sides by key, so both must deliver rows in
//! the same order whatever the databases' collations. Key columns compared
//! as text are ordered `COLLATE "C"` (UTF-8 byte order, which MySQL's
//! binary collations also give); other key types order by value, which is
//! engine-independent (integers, decimals, dates, timestamps, UUID bytes).
//! Same transaction settings as the copy reader: one read-only
//! repeatable-read snapshot, UTC, binary `COPY`.

use arrow_array::RecordBatch;
use ferry_core::{Result, TablePlan};
use futures_util::{pin_mut, StreamExt};
use tokio::sync::mpsc;

use crate::decode::{select_expr, CopyDecoder};
use crate::error::ctx;
use crate::{qualified, quote_ident, PgAdapter};

/// The COPY statement: `plan.primary_key` orders the rows; `text_order[i]`
/// says key column `i` orders as binary text.
pub fn binary_order_sql(plan: &TablePlan, text_order: &[bool]) -> String {
    let cols: Vec<String> = plan.columns.iter().map(select_expr).collect();
    let mut sql = format!(
        "COPY (SELECT {} FROM {}",
        cols.join(", "),
        qualified(&plan.source)
    );
    if !plan.primary_key.is_empty() {
        let keys: Vec<String> = plan
            .primary_key
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let col = &plan.columns[c];
                let q = quote_ident(&col.name);
                if !text_order.get(i).copied().unwrap_or(false) {
                    q
                } else if matches!(col.raw.name.as_str(), "text" | "varchar") {
                    format!("{q} COLLATE \"C\"")
                } else {
                    format!("({q})::text COLLATE \"C\"")
                }
            })
            .collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&keys.join(", "));
    }
    sql.push_str(") TO STDOUT (FORMAT binary)");
    sql
}

impl PgAdapter {
    /// Streams every row of `plan.source` as batches of [`plan_schema`]
    /// (ferry_core::arrow::plan_schema), ordered by `plan.primary_key` in
    /// binary order (see the module docs); unordered when the plan has no key.
    /// One read-only repeatable-read snapshot. Returns the rows sent; stops
    /// early (returning what was sent) when the receiver is dropped.
    pub async fn read_in_binary_key_order(
        &self,
        plan: &TablePlan,
        text_order: &[bool],
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
            .map_err(ctx(format!("starting the verify read of table {table}")))?;
        let stream = client
            .copy_out(&binary_order_sql(plan, text_order))
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
        client
            .batch_execute("COMMIT")
            .await
            .map_err(ctx(format!("ending the verify read of table {table}")))?;
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::{ColumnPlan, RawType, TableRef};

    #[test]
    fn text_keys_order_in_c_collation() {
        let col = |name: &str, ty: &str| ColumnPlan {
            name: name.into(),
            raw: RawType {
                name: ty.into(),
                ..RawType::default()
            },
            ..ColumnPlan::default()
        };
        let plan = TablePlan {
            source: TableRef::new(Some("public"), "t"),
            columns: vec![col("a", "int4"), col("b", "varchar"), col("c", "bpchar")],
            primary_key: vec![0, 1, 2],
            ..TablePlan::default()
        };
        assert_eq!(
            binary_order_sql(&plan, &[false, true, true]),
            "COPY (SELECT \"a\", \"b\", \"c\" FROM \"public\".\"t\" ORDER BY \"a\", \
             \"b\" COLLATE \"C\", (\"c\")::text COLLATE \"C\") TO STDOUT (FORMAT binary)"
        );
    }
}
