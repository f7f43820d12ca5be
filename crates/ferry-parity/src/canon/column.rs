//! A column of a batch, encoded value by value with its encoder chosen once
//! per batch and column: the common pairs of Arrow array and domain are
//! written directly (no intermediate [`Scalar`](super::scalar::Scalar), no
//! second match per value), every other pair through `encode_scalar`. The
//! bytes are exactly [`encode_value`](super::encode_value)'s, which a test
//! checks pair by pair.

use arrow_array::types::{Date32Type, TimestampMicrosecondType};
use arrow_array::{
    Array, BinaryArray, BooleanArray, FixedSizeBinaryArray, PrimitiveArray, StringArray,
};

use super::scalar::View;
use super::{
    encode_scalar, put_decimal_text, round_to, BOOL, BYTES, DATE, INT, JSON, NULL, TEXT, TIMESTAMP,
    UUID,
};
use crate::json::{self, put_bytes};
use crate::rule::{Domain, SideFlags};

/// How one column of one batch is encoded.
pub(super) enum ColumnEncoder<'a> {
    /// Any integer array into `Domain::Int`.
    Int(View<'a>),
    Bool(&'a BooleanArray),
    /// Text, trimmed of trailing spaces when the bool says so (no NUL stripping).
    Text(&'a StringArray, bool),
    Bytes(&'a BinaryArray),
    /// 16-byte values into `Domain::Uuid`.
    Uuid(&'a FixedSizeBinaryArray),
    /// Days; ±infinity as NULL when the bool says so.
    Date(&'a PrimitiveArray<Date32Type>, bool),
    /// µs rounded to `fsp` digits; ±infinity as NULL when the bool says so.
    Timestamp(&'a PrimitiveArray<TimestampMicrosecondType>, u8, bool),
    Json(&'a StringArray),
    Decimal(&'a StringArray, SideFlags),
    /// Anything else, through `encode_scalar`.
    General(View<'a>, &'a Domain, SideFlags),
}

impl<'a> ColumnEncoder<'a> {
    pub(super) fn choose(view: View<'a>, domain: &'a Domain, flags: SideFlags) -> Self {
        use ColumnEncoder as C;
        match (view, domain) {
            (
                v @ (View::I8(_)
                | View::I16(_)
                | View::I32(_)
                | View::I64(_)
                | View::U8(_)
                | View::U16(_)
                | View::U32(_)
                | View::U64(_)),
                Domain::Int,
            ) => C::Int(v),
            (View::Bool(a), Domain::Bool) => C::Bool(a),
            (
                View::Str(a),
                Domain::Text {
                    trim_trailing_spaces,
                },
            ) if !flags.strip_nul => C::Text(a, *trim_trailing_spaces),
            (View::Bin(a), Domain::Bytes) => C::Bytes(a),
            (View::Fixed(a), Domain::Uuid) if a.value_length() == 16 => C::Uuid(a),
            (View::Date(a), Domain::Date) => C::Date(a, flags.infinity_to_null),
            (View::Ts(a), Domain::Timestamp { fsp }) => {
                C::Timestamp(a, *fsp, flags.infinity_to_null)
            }
            (View::Str(a), Domain::Json) => C::Json(a),
            (View::Str(a), Domain::Decimal) => C::Decimal(a, flags),
            (v, d) => C::General(v, d, flags),
        }
    }

    /// Appends the canonical encoding of value `row`.
    pub(super) fn encode(&self, row: usize, out: &mut Vec<u8>) {
        use ColumnEncoder as C;
        match self {
            C::Int(v) => match int_at(v, row) {
                Some(n) => {
                    out.push(INT);
                    out.extend_from_slice(&n.to_le_bytes());
                }
                None => out.push(NULL),
            },
            C::Bool(a) if !a.is_null(row) => {
                out.push(BOOL);
                out.push(u8::from(a.value(row)));
            }
            C::Text(a, trim) if !a.is_null(row) => {
                let s = a.value(row);
                let s = if *trim { s.trim_end_matches(' ') } else { s };
                out.push(TEXT);
                put_bytes(out, s.as_bytes());
            }
            C::Bytes(a) if !a.is_null(row) => {
                out.push(BYTES);
                put_bytes(out, a.value(row));
            }
            C::Uuid(a) if !a.is_null(row) => {
                out.push(UUID);
                out.extend_from_slice(a.value(row));
            }
            C::Date(a, inf_null) if !a.is_null(row) => {
                let d = a.value(row);
                if *inf_null && (d == i32::MAX || d == i32::MIN) {
                    out.push(NULL);
                } else {
                    out.push(DATE);
                    out.extend_from_slice(&d.to_le_bytes());
                }
            }
            C::Timestamp(a, fsp, inf_null) if !a.is_null(row) => {
                let us = a.value(row);
                if *inf_null && (us == i64::MAX || us == i64::MIN) {
                    out.push(NULL);
                } else {
                    out.push(TIMESTAMP);
                    out.extend_from_slice(&round_to(us, *fsp).to_le_bytes());
                }
            }
            C::Json(a) if !a.is_null(row) => {
                let s = a.value(row);
                out.push(JSON);
                if !json::encode_text(s, out) {
                    out.pop();
                    super::invalid(out, s.as_bytes());
                }
            }
            C::Decimal(a, flags) if !a.is_null(row) => put_decimal_text(out, a.value(row), *flags),
            C::General(v, d, flags) => encode_scalar(v.scalar(row), d, *flags, out),
            // The guarded arms' NULLs.
            _ => out.push(NULL),
        }
    }
}

/// Value `row` of an integer view, `None` when NULL.
fn int_at(v: &View<'_>, row: usize) -> Option<i128> {
    macro_rules! at {
        ($a:expr) => {
            (!$a.is_null(row)).then(|| i128::from($a.value(row)))
        };
    }
    match v {
        View::I8(a) => at!(a),
        View::I16(a) => at!(a),
        View::I32(a) => at!(a),
        View::I64(a) => at!(a),
        View::U8(a) => at!(a),
        View::U16(a) => at!(a),
        View::U32(a) => at!(a),
        View::U64(a) => at!(a),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, FixedSizeBinaryArray, Int16Array,
        Int64Array, StringArray, TimestampMicrosecondArray, UInt64Array,
    };

    use super::*;
    use crate::canon::encode_value;
    use crate::canon::scalar::view;

    /// Every pair the direct path takes gives `encode_value`'s bytes, NULLs,
    /// sentinels, rounding and trimming included.
    #[test]
    fn the_direct_path_writes_encode_values_bytes() {
        let inf = SideFlags {
            infinity_to_null: true,
            ..SideFlags::default()
        };
        let cases: Vec<(ArrayRef, Domain, SideFlags)> = vec![
            (
                Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(7)])),
                Domain::Int,
                SideFlags::default(),
            ),
            (
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), None])),
                Domain::Int,
                SideFlags::default(),
            ),
            (
                Arc::new(Int16Array::from(vec![Some(-3), None])),
                Domain::Int,
                SideFlags::default(),
            ),
            (
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
                Domain::Bool,
                SideFlags::default(),
            ),
            (
                Arc::new(StringArray::from(vec![
                    Some("a  "),
                    None,
                    Some(""),
                    Some("é\0"),
                ])),
                Domain::Text {
                    trim_trailing_spaces: true,
                },
                SideFlags::default(),
            ),
            (
                Arc::new(StringArray::from(vec![Some("a  "), None])),
                Domain::Text {
                    trim_trailing_spaces: false,
                },
                SideFlags::default(),
            ),
            (
                Arc::new(BinaryArray::from(vec![
                    Some(&b"\0\xff"[..]),
                    None,
                    Some(&b""[..]),
                ])),
                Domain::Bytes,
                SideFlags::default(),
            ),
            (
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        vec![Some([7u8; 16]), None].into_iter(),
                        16,
                    )
                    .unwrap(),
                ),
                Domain::Uuid,
                SideFlags::default(),
            ),
            (
                Arc::new(Date32Array::from(vec![Some(i32::MAX), Some(-5), None])),
                Domain::Date,
                inf,
            ),
            (
                Arc::new(Date32Array::from(vec![Some(i32::MIN), Some(5)])),
                Domain::Date,
                SideFlags::default(),
            ),
            (
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(i64::MAX),
                    Some(1_234_567),
                    Some(-1_234_567),
                    None,
                ])),
                Domain::Timestamp { fsp: 3 },
                inf,
            ),
            (
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_999_999), None])
                        .with_timezone("UTC"),
                ),
                Domain::Timestamp { fsp: 0 },
                SideFlags::default(),
            ),
            (
                Arc::new(StringArray::from(vec![
                    Some(r#"{"b":1,"a":2}"#),
                    Some("{bad"),
                    None,
                ])),
                Domain::Json,
                SideFlags::default(),
            ),
            (
                Arc::new(StringArray::from(vec![
                    Some("1.50"),
                    Some("NaN"),
                    Some("x"),
                    None,
                ])),
                Domain::Decimal,
                SideFlags {
                    nan_to_null: true,
                    ..SideFlags::default()
                },
            ),
        ];
        for (array, domain, flags) in &cases {
            let enc = ColumnEncoder::choose(view(array.as_ref()), domain, *flags);
            assert!(
                !matches!(enc, ColumnEncoder::General(..)),
                "{domain:?} takes the direct path"
            );
            for row in 0..array.len() {
                let (mut direct, mut general) = (Vec::new(), Vec::new());
                enc.encode(row, &mut direct);
                encode_value(array.as_ref(), row, domain, *flags, &mut general);
                assert_eq!(direct, general, "{domain:?} row {row}");
            }
        }
    }
}
