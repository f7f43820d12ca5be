//! `ferry verify --repair`: makes the target equal to the source in the
//! ranges a verification found different, through the sync's apply path.
//!
//! Per range: both sides are read again in binary key order and merged by
//! key ([`compare::rows_to_repair`]); source rows the target lacks or holds
//! with other values are upserted, target rows the source lacks are deleted
//! by key, all in one target transaction per range, by the same change sink
//! `ferry sync` uses (so the same encoders, and foreign keys and triggers
//! off in the session). The repair writes the source as it is when read
//! again: run it while no sync is applying (after `sync --until now`, with
//! writes frozen), or a sync could apply an older change after it.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{new_null_array, Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};
use ferry_core::change::{ChangeBatch, ChangeOp, SourceTxn};
use ferry_core::range::KeyRange;
use ferry_core::{Error, Result, TablePlan};
use ferry_parity::Side;
use serde::Serialize;
use tokio::sync::mpsc;

use super::compare::{self, RowAt};
use super::{read_side, TableComparison, VerifyOptions};
use crate::adapter::Adapter;

/// What a repair changed in one table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableRepair {
    /// Ranges repaired (those that differed).
    pub ranges: usize,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// The first rows changed, by key (at most `max_diffs`).
    pub rows: Vec<RepairedRow>,
    /// Differences found when the repaired ranges were compared again.
    pub remaining: u64,
}

/// One repaired row.
#[derive(Debug, Clone, Serialize)]
pub struct RepairedRow {
    /// `insert`, `update` or `delete`.
    pub action: &'static str,
    /// The key, `column=value`, in key order.
    pub key: String,
}

impl TableRepair {
    pub fn changed(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// Repairs `ranges` (`None`: the whole table) of one table.
pub async fn repair_ranges(
    source: &Arc<Adapter>,
    target: &Arc<Adapter>,
    cmp: &TableComparison,
    ranges: &[Option<KeyRange>],
    options: &VerifyOptions,
) -> Result<TableRepair> {
    let plan = &cmp.source_plan;
    if plan.primary_key.is_empty() {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: "cannot be repaired: rows are repaired by key, and it has no key both \
                      engines order alike"
                .into(),
        });
    }
    let mut sink = target
        .open_change_sink(std::slice::from_ref(plan), None)
        .await?;
    let mut out = TableRepair {
        ranges: ranges.len(),
        ..TableRepair::default()
    };
    for range in ranges {
        let rows = read_both(source, target, cmp, range.as_ref(), options).await?;
        let mut batches = Vec::new();
        for (op, list, action) in [
            (ChangeOp::Upsert, &rows.inserts, "insert"),
            (ChangeOp::Upsert, &rows.updates, "update"),
        ] {
            for at in list {
                note(&mut out, options, action, cmp, Side::Source, at);
            }
            batches.extend(runs(list).map(|rows| ChangeBatch {
                table: 0,
                op,
                rows,
                unchanged: Vec::new(),
            }));
        }
        for at in &rows.deletes {
            note(&mut out, options, "delete", cmp, Side::Target, at);
        }
        for part in runs(&rows.deletes) {
            batches.push(ChangeBatch {
                table: 0,
                op: ChangeOp::Delete,
                rows: keys_as_source(cmp, &part)?,
                unchanged: Vec::new(),
            });
        }
        out.inserted += rows.inserts.len() as u64;
        out.updated += rows.updates.len() as u64;
        out.deleted += rows.deletes.len() as u64;
        if !batches.is_empty() {
            // Deletes first: a key the source moved must be free before the
            // rows are written again.
            batches.sort_by_key(|b| b.op != ChangeOp::Delete);
            let repair = SourceTxn {
                position: String::new(),
                position_num: 0,
                commit_time_us: 0,
                batches,
            };
            sink.apply(std::slice::from_ref(&repair)).await?;
        }
    }
    Ok(out)
}

fn note(
    out: &mut TableRepair,
    options: &VerifyOptions,
    action: &'static str,
    cmp: &TableComparison,
    side: Side,
    (batch, row): &RowAt,
) {
    if out.rows.len() < options.max_diffs {
        let key = cmp
            .codec
            .render_key(side, batch, *row)
            .into_iter()
            .map(|(c, v)| format!("{c}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.rows.push(RepairedRow { action, key });
    }
}

/// Reads one range of both sides in binary key order and merges them.
async fn read_both(
    source: &Arc<Adapter>,
    target: &Arc<Adapter>,
    cmp: &TableComparison,
    range: Option<&KeyRange>,
    options: &VerifyOptions,
) -> Result<compare::RepairRows> {
    let (stx, srx) = mpsc::channel(4);
    let (ttx, trx) = mpsc::channel(4);
    let read = ferry_core::adapter::ReadOptions::binary_key_order(
        options.batch_rows,
        cmp.text_order.clone(),
    );
    let range = range.cloned().unwrap_or(KeyRange::Whole);
    let s = tokio::spawn(read_side(
        source.clone(),
        cmp.source_plan.clone(),
        range.clone(),
        read.clone(),
        stx,
    ));
    let t = tokio::spawn(read_side(
        target.clone(),
        cmp.target_plan.clone(),
        range,
        read,
        ttx,
    ));
    let rows = compare::rows_to_repair(cmp.codec.clone(), srx, trx).await;
    compare::join_reader(s).await?;
    compare::join_reader(t).await?;
    rows
}

/// Consecutive rows of one batch as slices of it (the merge yields rows in
/// order, so runs are long).
fn runs(rows: &[RowAt]) -> impl Iterator<Item = RecordBatch> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let (batch, start) = rows.get(i)?;
        let mut len = 1;
        while let Some((b, r)) = rows.get(i + len) {
            if !Arc::ptr_eq(b, batch) || *r != start + len {
                break;
            }
            len += 1;
        }
        i += len;
        Some(batch.slice(*start, len))
    })
}

/// Target rows' keys as a batch of the source plan (every other column
/// NULL): what the sink deletes by. A key column whose type differs
/// between the two reads (an unsigned MySQL key read back from PostgreSQL)
/// is converted exactly, or the repair is refused.
fn keys_as_source(cmp: &TableComparison, rows: &RecordBatch) -> Result<RecordBatch> {
    let plan: &TablePlan = &cmp.source_plan;
    let schema = Arc::new(Schema::new(
        ferry_core::arrow::plan_schema(plan)
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let mut columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| new_null_array(f.data_type(), rows.num_rows()))
        .collect();
    for (&s, &t) in plan.primary_key.iter().zip(&cmp.target_plan.primary_key) {
        let to = schema.field(s).data_type();
        columns[s] = convert_key(rows.column(t), to).ok_or_else(|| Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "cannot repair extra target rows: key column {} reads back as {} from the \
                 target, not {to}",
                plan.columns[s].name,
                rows.column(t).data_type()
            ),
        })?;
    }
    RecordBatch::try_new(schema, columns)
        .map_err(|e| Error::Bug(format!("building the keys to delete: {e}")))
}

/// A key column in another Arrow type, exactly: the same type, any integer
/// type to another that holds every value, or decimal text to an integer.
fn convert_key(a: &ArrayRef, to: &DataType) -> Option<ArrayRef> {
    if a.data_type() == to {
        return Some(a.clone());
    }
    let values: Vec<i128> = (0..a.len())
        .map(|i| integer_at(a.as_ref(), i))
        .collect::<Option<_>>()?;
    macro_rules! build {
        ($ty:ty, $prim:ty) => {{
            let v: Vec<$prim> = values
                .iter()
                .map(|x| <$prim>::try_from(*x).ok())
                .collect::<Option<_>>()?;
            Some(Arc::new(arrow_array::PrimitiveArray::<$ty>::from(v)) as ArrayRef)
        }};
    }
    match to {
        DataType::Int8 => build!(Int8Type, i8),
        DataType::Int16 => build!(Int16Type, i16),
        DataType::Int32 => build!(Int32Type, i32),
        DataType::Int64 => build!(Int64Type, i64),
        DataType::UInt8 => build!(UInt8Type, u8),
        DataType::UInt16 => build!(UInt16Type, u16),
        DataType::UInt32 => build!(UInt32Type, u32),
        DataType::UInt64 => build!(UInt64Type, u64),
        DataType::Utf8 => Some(Arc::new(arrow_array::StringArray::from(
            values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        ))),
        _ => None,
    }
}

fn integer_at(a: &dyn Array, i: usize) -> Option<i128> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Int8 => i128::from(a.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => i128::from(a.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => i128::from(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => i128::from(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => i128::from(a.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => i128::from(a.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => i128::from(a.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => i128::from(a.as_primitive::<UInt64Type>().value(i)),
        DataType::Utf8 => a.as_string::<i32>().value(i).parse().ok()?,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{StringArray, UInt64Array};

    #[test]
    fn keys_convert_exactly_or_not_at_all() {
        let text: ArrayRef = Arc::new(StringArray::from(vec!["18446744073709551615", "0"]));
        let u = convert_key(&text, &DataType::UInt64).unwrap();
        assert_eq!(u.as_primitive::<UInt64Type>().value(0), u64::MAX);
        assert!(
            convert_key(&text, &DataType::Int64).is_none(),
            "does not fit"
        );
        let big: ArrayRef = Arc::new(UInt64Array::from(vec![5u64]));
        let i = convert_key(&big, &DataType::Int32).unwrap();
        assert_eq!(i.as_primitive::<Int32Type>().value(0), 5);
        assert!(convert_key(&big, &DataType::Float64).is_none());
        let bad: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        assert!(convert_key(&bad, &DataType::Int32).is_none());
    }
}
