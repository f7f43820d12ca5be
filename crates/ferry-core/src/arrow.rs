//! The one Arrow representation of each [`LogicalType`].
//!
//! Decoders build exactly these arrays and encoders may rely on them: an
//! encoder downcasts with `as_any().downcast_ref::<…>()` once per batch and
//! column, never per value.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, IntervalUnit, Schema, SchemaRef, TimeUnit};

use crate::plan::TablePlan;
use crate::types::LogicalType;

/// Field metadata key carrying the logical type (JSON), so a batch describes itself.
pub const LOGICAL_TYPE_KEY: &str = "ferry.logical_type";

/// The bytes a batch's rows take as Arrow data (values, offsets, validity;
/// not the spare capacity of its buffers): the size behind MB/s.
pub fn data_bytes(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
        .sum()
}

/// Each row's bytes in `batch`: variable-width values by their offsets
/// (plus the offset), fixed-width ones by their width, list elements by
/// their child's average. An estimate good enough to cut a batch into runs
/// of about equal bytes, not an exact memory size.
pub fn row_sizes(batch: &RecordBatch) -> Vec<usize> {
    let mut sizes = vec![0usize; batch.num_rows()];
    for c in batch.columns() {
        add_row_sizes(c.as_ref(), &mut sizes);
    }
    sizes
}

fn add_row_sizes(a: &dyn Array, sizes: &mut [usize]) {
    use arrow_array::cast::AsArray;
    fn by_offsets(offsets: &[i32], sizes: &mut [usize], per_item: usize) {
        for (s, w) in sizes.iter_mut().zip(offsets.windows(2)) {
            *s += 4 + usize::try_from(w[1] - w[0]).unwrap_or(0) * per_item;
        }
    }
    match a.data_type() {
        DataType::Utf8 => by_offsets(a.as_string::<i32>().value_offsets(), sizes, 1),
        DataType::Binary => by_offsets(a.as_binary::<i32>().value_offsets(), sizes, 1),
        DataType::List(_) => {
            let list = a.as_list::<i32>();
            let child = list.values();
            let child_bytes = child.to_data().get_slice_memory_size().unwrap_or(0);
            let per_item = child_bytes.checked_div(child.len()).unwrap_or(0).max(1);
            by_offsets(list.value_offsets(), sizes, per_item);
        }
        DataType::FixedSizeBinary(w) => {
            let w = usize::try_from(*w).unwrap_or(0);
            sizes.iter_mut().for_each(|s| *s += w);
        }
        other => {
            let w = other.primitive_width().unwrap_or(1);
            sizes.iter_mut().for_each(|s| *s += w);
        }
    }
}

/// Cuts `batch` into runs of consecutive rows, as `(first row, rows)`, of
/// at most about `max_bytes` each ([`row_sizes`]), at least one row per
/// run: a writer that encodes a run at a time then holds the encoding of
/// that much, or of one larger row, never of a whole batch of wide rows.
pub fn row_runs(batch: &RecordBatch, max_bytes: usize) -> Vec<(usize, usize)> {
    let n = batch.num_rows();
    if n <= 1 || data_bytes(batch) <= max_bytes as u64 {
        return vec![(0, n)];
    }
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0usize);
    for (i, s) in row_sizes(batch).into_iter().enumerate() {
        if i > start && bytes.saturating_add(s) > max_bytes {
            out.push((start, i - start));
            (start, bytes) = (i, 0);
        }
        bytes = bytes.saturating_add(s);
    }
    out.push((start, n - start));
    out
}

/// The Arrow type that carries values of `t`.
pub fn arrow_type(t: &LogicalType) -> DataType {
    use LogicalType::*;
    match t {
        Bool => DataType::Boolean,
        Int8 => DataType::Int8,
        Int16 | Year => DataType::Int16,
        Int32 => DataType::Int32,
        Int64 => DataType::Int64,
        UInt8 => DataType::UInt8,
        UInt16 => DataType::UInt16,
        UInt32 => DataType::UInt32,
        UInt64 => DataType::UInt64,
        Float32 => DataType::Float32,
        Float64 => DataType::Float64,
        Decimal { .. }
        | Money
        | Char { .. }
        | Varchar { .. }
        | Text { .. }
        | TimeTz
        | Json
        | Jsonb
        | Enum { .. }
        | Bit { .. }
        | Inet
        | Cidr
        | MacAddr
        | MacAddr8
        | TsVector
        | Xml => DataType::Utf8,
        Binary { .. } | VarBinary { .. } | Geometry { .. } => DataType::Binary,
        Date => DataType::Date32,
        Time { .. } => DataType::Time64(TimeUnit::Microsecond),
        Timestamp { .. } => DataType::Timestamp(TimeUnit::Microsecond, None),
        TimestampTz { .. } => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Duration { .. } => DataType::Duration(TimeUnit::Microsecond),
        Interval => DataType::Interval(IntervalUnit::MonthDayNano),
        Uuid => DataType::FixedSizeBinary(16),
        Set { .. } => DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
        Array { element } => {
            DataType::List(Arc::new(Field::new("item", arrow_type(element), true)))
        }
    }
}

/// The Arrow schema of the batches a reader yields for `plan`, in plan column order.
pub fn plan_schema(plan: &TablePlan) -> SchemaRef {
    let fields: Vec<Field> = plan
        .columns
        .iter()
        .map(|c| {
            let mut meta = HashMap::new();
            meta.insert(
                LOGICAL_TYPE_KEY.to_string(),
                serde_json::to_string(&c.logical).unwrap_or_default(),
            );
            Field::new(&c.name, arrow_type(&c.logical), c.nullable).with_metadata(meta)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Renders the primary-key values of `row` for an error message, e.g. `id=42`
/// or `(tenant=7, id=42)`. Keys are what a DBA needs to find the row; other
/// cell values never appear in errors.
pub fn render_key(plan: &TablePlan, batch: &RecordBatch, row: usize) -> String {
    if plan.primary_key.is_empty() {
        return format!("row #{row} of batch (table has no primary key)");
    }
    let mut out = String::new();
    let many = plan.primary_key.len() > 1;
    if many {
        out.push('(');
    }
    for (i, &col) in plan.primary_key.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}=", plan.columns[col].name);
        render_scalar(&mut out, batch.column(col), row);
    }
    if many {
        out.push(')');
    }
    out
}

fn render_scalar(out: &mut String, array: &ArrayRef, row: usize) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    if array.is_null(row) {
        out.push_str("NULL");
        return;
    }
    let _ = match array.data_type() {
        DataType::Int8 => write!(out, "{}", array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => write!(out, "{}", array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => write!(out, "{}", array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => write!(out, "{}", array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => write!(out, "{}", array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => write!(out, "{}", array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => write!(out, "{}", array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => write!(out, "{}", array.as_primitive::<UInt64Type>().value(row)),
        DataType::Utf8 => write!(out, "'{}'", array.as_string::<i32>().value(row)),
        DataType::Date32 => write!(
            out,
            "{} (days)",
            array.as_primitive::<Date32Type>().value(row)
        ),
        DataType::Timestamp(..) => write!(
            out,
            "{} (µs)",
            array.as_primitive::<TimestampMicrosecondType>().value(row)
        ),
        DataType::FixedSizeBinary(_) => {
            out.push_str(&crate::hex::hex(array.as_fixed_size_binary().value(row)));
            Ok(())
        }
        other => write!(out, "<{other} key>"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BinaryArray, Int64Array};

    #[test]
    fn wide_rows_are_cut_into_runs_of_about_the_budget() {
        let blobs: Vec<Vec<u8>> = [10usize, 10, 300, 10, 10, 10]
            .iter()
            .map(|&n| vec![7u8; n])
            .collect();
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..6)) as ArrayRef,
            ),
            (
                "b",
                Arc::new(BinaryArray::from_iter_values(blobs.iter())) as ArrayRef,
            ),
        ])
        .unwrap();
        assert_eq!(row_sizes(&batch), vec![22, 22, 312, 22, 22, 22]);
        // The large row goes alone; the others gather up to the budget.
        assert_eq!(row_runs(&batch, 50), vec![(0, 2), (2, 1), (3, 2), (5, 1)]);
        assert_eq!(row_runs(&batch, 1 << 20), vec![(0, 6)]);
    }
}
