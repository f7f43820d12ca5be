//! Golden vectors: the encoding is a contract (stored digests and other
//! implementations depend on it), so its bytes and hashes are pinned here.
//! A failure means the encoding changed: bump the version, never the vector.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::types::IntervalMonthDayNano;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, DurationMicrosecondArray, FixedSizeBinaryArray,
    Float32Array, Float64Array, Int16Array, Int32Array, Int8Array, IntervalMonthDayNanoArray,
    RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use ferry_core::{Conversion, LogicalType as L};

use crate::canon::{encode_value, row_hash, ColumnCodec, Side, TableCodec};
use crate::hex;
use crate::rule::{column_rule, Domain, SideFlags};

fn enc(a: ArrayRef, domain: Domain) -> Vec<String> {
    (0..a.len())
        .map(|i| {
            let mut out = Vec::new();
            encode_value(a.as_ref(), i, &domain, SideFlags::default(), &mut out);
            hex(&out)
        })
        .collect()
}

#[test]
fn field_bytes_are_pinned() {
    assert_eq!(
        enc(Arc::new(Int32Array::from(vec![Some(1), None])), Domain::Int),
        ["0201000000000000000000000000000000", "00"]
    );
    assert_eq!(
        enc(
            Arc::new(StringArray::from(vec![Some(""), Some("a"), None])),
            Domain::Text {
                trim_trailing_spaces: false
            }
        ),
        ["060000000000000000", "06010000000000000061", "00"]
    );
    assert_eq!(
        enc(
            Arc::new(StringArray::from(vec!["1.50", "-0"])),
            Domain::Decimal
        ),
        ["0505000000000000003135652d31", "050300000000000000306530"]
    );
    assert_eq!(
        enc(
            Arc::new(Float64Array::from(vec![1.0, -0.0, f64::NAN])),
            Domain::Float { width: 64 }
        ),
        [
            "03000000000000f03f",
            "030000000000000080",
            "03000000000000f87f"
        ]
    );
    assert_eq!(
        enc(
            Arc::new(StringArray::from(vec![r#"{"b":1,"a":[true,null]}"#])),
            Domain::Json
        ),
        ["0d6f0200000000000000010000000000000061610200000000000000746e010000000000000062640300000000000000316530"]
    );
}

/// A row of mixed types hashes to a fixed value.
#[test]
fn row_hashes_are_pinned() {
    let cols: Vec<(&str, L, ArrayRef)> = vec![
        ("id", L::Int64, Arc::new(Int32Array::from(vec![1, 11]))),
        (
            "s",
            L::Varchar { length: None },
            Arc::new(StringArray::from(vec!["11", "1"])),
        ),
    ];
    let codec = codec_of(&cols);
    let batch = batch_of(&cols);
    let e = codec.encode_batch(Side::Source, &batch);
    assert_eq!(
        hex(&e.framed(0, 1)),
        "1c00000000000000\
         0201000000000000000000000000000000\
         060200000000000000\
         3131"
    );
    assert_eq!(hex(&e.row_hash(0)), "d0bf7f3a347df90b8d6ef4cb03c492e3");
    assert_eq!(hex(&e.row_hash(1)), "3c92ebbcb7405a4cb0a1dde88bb05558");
    // Field framing: (1,'11') and (11,'1') never collide.
    assert_ne!(e.row_hash(0), e.row_hash(1));
    let mut d = crate::digest::DigestBuilder::default();
    d.push_encoded(&e, 0, 2);
    assert_eq!(
        hex(&d.finish().hash),
        "6116e250a96a1ae0f4458b5bcac961f4ea544f4e17b88d5358f0ddb7189ad9a6"
    );
    assert_eq!(hex(&row_hash(b"")), "7ba0b0712b70187be3a5210b2ff4e93d");
}

/// Issue 17: a large payload, hashed where it lies in the batch, gives the
/// bytes and hashes of the same row encoded in one piece.
#[test]
fn large_payloads_hash_as_if_copied() {
    let big = vec![0x5a_u8; crate::canon::LARGE_VALUE + 3];
    let text = "é".repeat(crate::canon::LARGE_VALUE);
    let cols: Vec<(&str, L, ArrayRef)> = vec![
        ("id", L::Int64, Arc::new(Int32Array::from(vec![1, 2, 3]))),
        (
            "b",
            L::VarBinary {
                length: None,
                max_bytes: None,
            },
            Arc::new(arrow_array::BinaryArray::from(vec![
                Some(big.as_slice()),
                None,
                Some(&b"small"[..]),
            ])),
        ),
        (
            "t",
            L::Text { max_bytes: None },
            Arc::new(StringArray::from(vec![
                Some(text.as_str()),
                Some("x"),
                None,
            ])),
        ),
    ];
    let codec = codec_of(&cols);
    let e = codec.encode_batch(Side::Source, &batch_of(&cols));
    // The row, framed by hand: length, then each field.
    let mut row = Vec::new();
    row.push(0x02);
    row.extend_from_slice(&1i128.to_le_bytes());
    row.push(0x07);
    row.extend_from_slice(&(big.len() as u64).to_le_bytes());
    row.extend_from_slice(&big);
    row.push(0x06);
    row.extend_from_slice(&(text.len() as u64).to_le_bytes());
    row.extend_from_slice(text.as_bytes());
    let mut framed = (row.len() as u64).to_le_bytes().to_vec();
    framed.extend_from_slice(&row);
    assert_eq!(e.framed(0, 1), framed);
    assert_eq!(e.row_len(0), framed.len());
    assert_eq!(e.row_hash(0), row_hash(&framed));
    // A run across the large row digests as its bytes in one piece.
    let all = e.framed(0, 3);
    assert!(all.starts_with(&framed) && all.len() == framed.len() + e.row_len(1) + e.row_len(2));
    let (mut a, mut b) = (
        crate::digest::DigestBuilder::default(),
        crate::digest::DigestBuilder::default(),
    );
    a.push_encoded(&e, 0, 3);
    b.push_rows(&all, 3);
    assert_eq!(a.finish(), b.finish());
}

fn codec_of(cols: &[(&str, L, ArrayRef)]) -> TableCodec {
    TableCodec {
        columns: cols
            .iter()
            .enumerate()
            .map(|(i, (n, t, _))| ColumnCodec {
                name: n.to_string(),
                rule: column_rule(t, t, Conversion::Exact, 0).unwrap(),
                source_index: i,
                target_index: i,
            })
            .collect(),
        key: vec![0],
    }
}

fn batch_of(cols: &[(&str, L, ArrayRef)]) -> RecordBatch {
    RecordBatch::try_from_iter(cols.iter().map(|(n, _, a)| (*n, a.clone()))).unwrap()
}

/// Each pair of values `ferry copy` treats as the same value encodes the same.
#[test]
fn intended_conversions_are_equal() {
    let same = |a: ArrayRef, sa: L, b: ArrayRef, tb: L, conv: Conversion| {
        let rule = column_rule(&sa, &tb, conv, 0).unwrap();
        for i in 0..a.len() {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            encode_value(a.as_ref(), i, &rule.domain, rule.source, &mut x);
            encode_value(b.as_ref(), i, &rule.domain, rule.target, &mut y);
            assert_eq!(hex(&x), hex(&y), "{sa} vs {tb} row {i}");
        }
    };
    let uuid = FixedSizeBinaryArray::try_from_iter(
        vec![[
            0xa0u8, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ]]
        .into_iter(),
    )
    .unwrap();
    same(
        Arc::new(uuid),
        L::Uuid,
        Arc::new(StringArray::from(vec![
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ])),
        L::Char { length: Some(36) },
        Conversion::Exact,
    );
    same(
        Arc::new(BooleanArray::from(vec![true, false])),
        L::Bool,
        Arc::new(Int8Array::from(vec![1, 0])),
        L::Int8,
        Conversion::Exact,
    );
    same(
        Arc::new(TimestampMicrosecondArray::from(vec![1_700_000_000_123_456]).with_timezone("UTC")),
        L::TimestampTz { precision: 6 },
        Arc::new(TimestampMicrosecondArray::from(vec![1_700_000_000_123_456])),
        L::Timestamp { precision: 6 },
        Conversion::Exact,
    );
    let mut list = ListBuilder::new(StringBuilder::new());
    list.values().append_value("a,b");
    list.values().append_null();
    list.append(true);
    same(
        Arc::new(list.finish()),
        L::Array {
            element: Box::new(L::Text { max_bytes: None }),
        },
        Arc::new(StringArray::from(vec![r#"["a,b", null]"#])),
        L::Json,
        Conversion::Exact,
    );
    let mut nums = ListBuilder::new(StringBuilder::new());
    nums.values().append_value("1.50");
    nums.values().append_value("-0.001");
    nums.append(true);
    same(
        Arc::new(nums.finish()),
        L::Array {
            element: Box::new(L::Decimal {
                precision: None,
                scale: None,
            }),
        },
        Arc::new(StringArray::from(vec!["[1.5, -0.0010]"])),
        L::Json,
        Conversion::Exact,
    );
    same(
        Arc::new(IntervalMonthDayNanoArray::from(vec![
            IntervalMonthDayNano::new(14, 3, 14_706_789_000_000),
        ])),
        L::Interval,
        Arc::new(StringArray::from(vec!["P1Y2M3DT4H5M6.789S"])),
        L::Varchar { length: Some(64) },
        Conversion::Exact,
    );
    same(
        Arc::new(DurationMicrosecondArray::from(vec![-1])),
        L::Duration { precision: 6 },
        Arc::new(IntervalMonthDayNanoArray::from(vec![
            IntervalMonthDayNano::new(0, 0, -1000),
        ])),
        L::Interval,
        Conversion::Exact,
    );
    same(
        Arc::new(UInt64Array::from(vec![18446744073709551615])),
        L::UInt64,
        Arc::new(StringArray::from(vec!["18446744073709551615"])),
        L::Decimal {
            precision: Some(20),
            scale: Some(0),
        },
        Conversion::Exact,
    );
    same(
        Arc::new(StringArray::from(vec!["ab   "])),
        L::Char { length: Some(5) },
        Arc::new(StringArray::from(vec!["ab"])),
        L::Char { length: Some(5) },
        Conversion::Exact,
    );
    same(
        Arc::new(Float64Array::from(vec![f64::NAN, 1.5])),
        L::Float64,
        Arc::new(Float64Array::from(vec![None, Some(1.5)])),
        L::Float64,
        Conversion::NanToNull,
    );
    same(
        Arc::new(Date32Array::from(vec![i32::MAX])),
        L::Date,
        Arc::new(Date32Array::from(vec![None::<i32>])),
        L::Date,
        Conversion::InfinityToNull,
    );
    same(
        Arc::new(StringArray::from(vec!["a\0b"])),
        L::Text { max_bytes: None },
        Arc::new(StringArray::from(vec!["ab"])),
        L::Text { max_bytes: None },
        Conversion::StripNul,
    );
    same(
        Arc::new(Float32Array::from(vec![0.1f32])),
        L::Float32,
        Arc::new(Float32Array::from(vec![0.1f32])),
        L::Float32,
        Conversion::Exact,
    );
    same(
        Arc::new(Int16Array::from(vec![2024])),
        L::Year,
        Arc::new(Int16Array::from(vec![2024])),
        L::Int16,
        Conversion::Exact,
    );
}

/// What must stay a difference.
#[test]
fn real_differences_differ() {
    let differ = |a: ArrayRef, b: ArrayRef, t: L| {
        let rule = column_rule(&t, &t, Conversion::Exact, 0).unwrap();
        let (mut x, mut y) = (Vec::new(), Vec::new());
        encode_value(a.as_ref(), 0, &rule.domain, rule.source, &mut x);
        encode_value(b.as_ref(), 0, &rule.domain, rule.target, &mut y);
        assert_ne!(x, y, "{t}");
    };
    let text = L::Varchar { length: None };
    differ(
        Arc::new(StringArray::from(vec![Some("")])),
        Arc::new(StringArray::from(vec![None::<&str>])),
        text.clone(),
    );
    differ(
        Arc::new(StringArray::from(vec!["a"])),
        Arc::new(StringArray::from(vec!["a "])),
        text,
    );
    differ(
        Arc::new(Float64Array::from(vec![1.0])),
        Arc::new(Float64Array::from(vec![f64::from_bits(
            1.0f64.to_bits() + 1,
        )])),
        L::Float64,
    );
    differ(
        Arc::new(Float64Array::from(vec![0.0])),
        Arc::new(Float64Array::from(vec![-0.0])),
        L::Float64,
    );
    differ(
        Arc::new(TimestampMicrosecondArray::from(vec![1])),
        Arc::new(TimestampMicrosecondArray::from(vec![2])),
        L::Timestamp { precision: 6 },
    );
    differ(
        Arc::new(StringArray::from(vec![r#"{"a":1}"#])),
        Arc::new(StringArray::from(vec![r#"{"a":"1"}"#])),
        L::Json,
    );
}

#[test]
fn ulp_tolerance_is_opt_in() {
    use crate::canon::within_ulps;
    let exact = column_rule(&L::Float64, &L::Float64, Conversion::Exact, 0).unwrap();
    let loose = column_rule(&L::Float64, &L::Float64, Conversion::Exact, 1).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let a: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![f64::from_bits(
        1.0f64.to_bits() + 1,
    )]));
    encode_value(a.as_ref(), 0, &exact.domain, exact.source, &mut x);
    encode_value(b.as_ref(), 0, &exact.domain, exact.target, &mut y);
    assert!(!within_ulps(&exact, &x, &y));
    assert!(within_ulps(&loose, &x, &y));
}

#[test]
fn keys_order_like_binary_collation() {
    let rule = column_rule(
        &L::Varchar { length: None },
        &L::Varchar { length: None },
        Conversion::Exact,
        0,
    )
    .unwrap();
    let words = ["", "a", "a\0", "a-b", "aB", "a_b", "ab", "é", "😀"];
    let a = StringArray::from(words.to_vec());
    let keys: Vec<Vec<u8>> = (0..a.len())
        .map(|i| {
            let mut k = Vec::new();
            crate::canon::encode_key(&a, i, &rule.domain, &mut k);
            k
        })
        .collect();
    for w in keys.windows(2) {
        assert!(w[0] < w[1]);
    }
    let ints = Int32Array::from(vec![i32::MIN, -1, 0, 1, i32::MAX]);
    let irule = column_rule(&L::Int32, &L::Int32, Conversion::Exact, 0).unwrap();
    let keys: Vec<Vec<u8>> = (0..ints.len())
        .map(|i| {
            let mut k = Vec::new();
            crate::canon::encode_key(&ints, i, &irule.domain, &mut k);
            k
        })
        .collect();
    for w in keys.windows(2) {
        assert!(w[0] < w[1]);
    }
}
