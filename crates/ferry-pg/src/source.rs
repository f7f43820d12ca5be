//! The reader: one session per range, one read-only repeatable-read
//! transaction (importing the run's snapshot when given one), one
//! binary `COPY (SELECT …) TO STDOUT` ordered by the primary key, decoded
//! chunk by chunk. At most one batch plus one network chunk is held; the
//! bounded channel does the rest.
//!
//! `verify` reads through the same reader in binary key order
//! ([`RowOrder::BinaryKey`]): both sides merge by key, so both must deliver
//! rows in one order whatever the databases' collations. Key columns
//! compared as text order `COLLATE "C"` (UTF-8 byte order, which MySQL's
//! binary collations also give); other key types order by value, which is
//! engine-independent (integers, decimals, dates, timestamps, UUID bytes).
//! A key range is always read in its predicate's binary order.

use arrow_array::RecordBatch;
use ferry_core::adapter::{KeySplit, RangeReader, ReadOptions, RowOrder, TableReader};
use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SnapshotInfo, SnapshotOptions};
use ferry_core::{Error, Result, TablePlan};
use futures_util::{pin_mut, StreamExt};
use tokio::sync::mpsc;

use crate::decode::{select_expr, CopyDecoder};
use crate::error::ctx;
use crate::partition::{self, PgKeyColumn};
use crate::snapshot::PgSnapshot;
use crate::{qualified, quote_ident, quote_literal, PgAdapter};

/// The FROM item of every read of `plan.source`: `ONLY` the table's own
/// rows when it has inheritance children ([`TablePlan::own_rows_only`]),
/// so a child's rows are read once, with the child. A partitioned table
/// never has the flag: `ONLY` would read none of its partitions' rows.
pub fn source_from(plan: &TablePlan) -> String {
    if plan.own_rows_only {
        format!("ONLY {}", qualified(&plan.source))
    } else {
        qualified(&plan.source)
    }
}

/// The COPY statement reading `range` of `plan` in `order`; `keys` as
/// [`partition::key_columns`] gives them (unused, and may be empty, for
/// [`KeyRange::Whole`]).
pub fn read_sql(
    plan: &TablePlan,
    keys: &[PgKeyColumn],
    range: &KeyRange,
    order: &RowOrder,
) -> String {
    let cols: Vec<String> = plan.columns.iter().map(select_expr).collect();
    let order_by = match (range, order) {
        (KeyRange::Whole, _) if plan.primary_key.is_empty() => String::new(),
        (KeyRange::Whole, RowOrder::Key) => format!(" ORDER BY {}", plan.key_list(quote_ident)),
        (KeyRange::Whole, RowOrder::BinaryKey { text_order }) => {
            format!(" ORDER BY {}", binary_key_order(plan, text_order))
        }
        _ => partition::order_by(keys),
    };
    format!(
        "COPY (SELECT {} FROM {}{}{order_by}) TO STDOUT (FORMAT binary)",
        cols.join(", "),
        source_from(plan),
        partition::read_predicate(plan, keys, range),
    )
}

/// The key in binary order: `text_order[i]` says key column `i` orders as
/// text in byte order (see the module docs).
fn binary_key_order(plan: &TablePlan, text_order: &[bool]) -> String {
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
    keys.join(", ")
}

impl TableReader for PgAdapter {
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

impl RangeReader for PgAdapter {
    type Snapshot = PgSnapshot;

    async fn open_snapshot(&self, options: &SnapshotOptions) -> Result<(PgSnapshot, SnapshotInfo)> {
        self.take_snapshot(options).await
    }

    async fn key_columns(&self, plan: &TablePlan) -> Result<KeySplit> {
        let client = self.connect().await?;
        partition::key_split(&client, plan).await
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
        options: &ReadOptions,
        tx: mpsc::Sender<RecordBatch>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        let mut decoder = CopyDecoder::new(plan, options.limit())?;
        let client = self.read_session(&table, snapshot).await?;
        let keys = range_keys(&client, plan, range).await?;
        let sql = read_sql(plan, &keys, range, &options.order);
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

    async fn count_range(
        &self,
        plan: &TablePlan,
        range: &KeyRange,
        snapshot: Option<&PgSnapshot>,
    ) -> Result<u64> {
        let table = plan.source.to_string();
        let client = self.read_session(&table, snapshot).await?;
        let keys = range_keys(&client, plan, range).await?;
        let sql = format!(
            "SELECT count(*) FROM {}{}",
            source_from(plan),
            partition::read_predicate(plan, &keys, range)
        );
        let n: i64 = client
            .query_one(&sql, &[])
            .await
            .map_err(ctx(format!("counting rows of table {table}")))?
            .get(0);
        client.batch_execute("COMMIT").await.map_err(ctx(format!(
            "ending the read transaction for table {table}"
        )))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl PgAdapter {
    /// A session inside a read-only repeatable-read transaction, importing
    /// `snapshot` when given, with the settings the decoders rely on.
    async fn read_session(
        &self,
        table: &str,
        snapshot: Option<&PgSnapshot>,
    ) -> Result<tokio_postgres::Client> {
        if snapshot.is_some_and(PgSnapshot::is_lost) {
            return Err(Error::SnapshotLost {
                table: table.to_string(),
            });
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
                return Err(Error::SnapshotLost {
                    table: table.to_string(),
                });
            }
            return Err(crate::error::query_error(
                format!("starting the read transaction for table {table}"),
                e,
            ));
        }
        Ok(client)
    }
}

/// The key columns a read of `range` bounds (none for the whole table).
async fn range_keys(
    client: &tokio_postgres::Client,
    plan: &TablePlan,
    range: &KeyRange,
) -> Result<Vec<PgKeyColumn>> {
    if *range == KeyRange::Whole {
        return Ok(Vec::new());
    }
    match partition::key_columns(client, plan).await? {
        Ok(k) => Ok(k),
        Err(reason) => Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!("cannot read range {range}: {reason}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::{ColumnPlan, RawType, TableRef};

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
            source: TableRef::new(Some("public"), "t"),
            columns: vec![col("a", "int4"), col("b", "varchar"), col("c", "bpchar")],
            primary_key: vec![0, 1, 2],
            ..TablePlan::default()
        }
    }

    #[test]
    fn text_keys_order_in_c_collation() {
        let order = RowOrder::BinaryKey {
            text_order: vec![false, true, true],
        };
        assert_eq!(
            read_sql(&plan(), &[], &KeyRange::Whole, &order),
            "COPY (SELECT \"a\", \"b\", \"c\" FROM \"public\".\"t\" ORDER BY \"a\", \
             \"b\" COLLATE \"C\", (\"c\")::text COLLATE \"C\") TO STDOUT (FORMAT binary)"
        );
        assert_eq!(
            read_sql(&plan(), &[], &KeyRange::Whole, &RowOrder::Key),
            "COPY (SELECT \"a\", \"b\", \"c\" FROM \"public\".\"t\" \
             ORDER BY \"a\", \"b\", \"c\") TO STDOUT (FORMAT binary)"
        );
    }

    #[test]
    fn the_row_filter_is_anded_into_every_read() {
        let plan = TablePlan {
            row_filter: Some("a > 1 OR b = 'x'".into()),
            ..plan()
        };
        assert_eq!(
            read_sql(&plan, &[], &KeyRange::Whole, &RowOrder::Key),
            "COPY (SELECT \"a\", \"b\", \"c\" FROM \"public\".\"t\" \
             WHERE (a > 1 OR b = 'x') ORDER BY \"a\", \"b\", \"c\") TO STDOUT (FORMAT binary)"
        );
        let blocks = KeyRange::Blocks {
            start: 0,
            end: Some(8),
        };
        assert_eq!(
            read_sql(&plan, &[], &blocks, &RowOrder::Key),
            "COPY (SELECT \"a\", \"b\", \"c\" FROM \"public\".\"t\" \
             WHERE ctid >= '(0,0)'::tid AND ctid < '(8,0)'::tid AND (a > 1 OR b = 'x')) \
             TO STDOUT (FORMAT binary)"
        );
    }

    #[test]
    fn an_inheritance_parent_is_read_with_only_its_own_rows() {
        let plan = TablePlan {
            own_rows_only: true,
            ..plan()
        };
        assert_eq!(
            read_sql(&plan, &[], &KeyRange::Whole, &RowOrder::Key),
            "COPY (SELECT \"a\", \"b\", \"c\" FROM ONLY \"public\".\"t\" \
             ORDER BY \"a\", \"b\", \"c\") TO STDOUT (FORMAT binary)"
        );
        assert_eq!(
            ferry_core::Dialect::source_from_sql(&crate::PgDialect, &plan),
            "ONLY \"public\".\"t\""
        );
    }
}
