//! Stream parser and reader-SQL tests: no server needed.

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, RecordBatch};
use bytes::{BufMut, BytesMut};
use ferry_core::batch::BatchLimit;
use ferry_core::{ColumnPlan, Conversion, Error, LogicalType, RawType, TablePlan, TableRef};

use super::stream::SIGNATURE;
use super::*;

fn col(name: &str, raw: &str, logical: LogicalType) -> ColumnPlan {
    ColumnPlan {
        name: name.into(),
        source_type: raw.into(),
        raw: RawType {
            name: raw.into(),
            ..RawType::default()
        },
        logical,
        nullable: true,
        conversion: Conversion::Exact,
        target_type: String::new(),
        rule: String::new(),
        stored_as: None,
        expr: None,
    }
}

fn plan() -> TablePlan {
    let mut arr = col(
        "tags",
        "array",
        LogicalType::Array {
            element: Box::new(LogicalType::Text { max_bytes: None }),
        },
    );
    arr.raw.element = Some(Box::new(RawType {
        name: "text".into(),
        ..RawType::default()
    }));
    let mut id = col("id", "int4", LogicalType::Int32);
    id.nullable = false;
    TablePlan {
        source: TableRef::new(None, "t"),
        target: TableRef::new(None, "t"),
        columns: vec![
            id,
            col(
                "n",
                "numeric",
                LogicalType::Decimal {
                    precision: None,
                    scale: None,
                },
            ),
            col("d", "date", LogicalType::Date),
            arr,
        ],
        primary_key: vec![0],
        estimated_rows: None,
        schema: Default::default(),
        row_filter: None,
        own_rows_only: false,
        reshape: None,
    }
}

fn field(buf: &mut BytesMut, v: Option<&[u8]>) {
    match v {
        None => buf.put_i32(-1),
        Some(v) => {
            buf.put_i32(i32::try_from(v.len()).unwrap());
            buf.put_slice(v);
        }
    }
}

/// (id, numeric, date, text[]) as wire bytes.
type Row<'a> = (i32, Option<&'a [u8]>, i32, Option<&'a [u8]>);

fn stream(rows: &[Row<'_>]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.put_slice(SIGNATURE);
    buf.put_i32(0);
    buf.put_i32(3);
    buf.put_slice(b"ext");
    for (id, n, d, arr) in rows {
        buf.put_i16(4);
        field(&mut buf, Some(&id.to_be_bytes()));
        field(&mut buf, *n);
        field(&mut buf, Some(&d.to_be_bytes()));
        field(&mut buf, *arr);
    }
    buf.put_i16(-1);
    buf.to_vec()
}

fn text_array(items: &[Option<&str>]) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_i32(1);
    b.put_i32(i32::from(items.iter().any(Option::is_none)));
    b.put_u32(25);
    b.put_i32(i32::try_from(items.len()).unwrap());
    b.put_i32(1);
    for it in items {
        field(&mut b, it.map(str::as_bytes));
    }
    b.to_vec()
}

// numeric 0.5 and NaN in numeric_send form.
const HALF: &[u8] = &[0, 1, 0xff, 0xff, 0, 0, 0, 1, 0x13, 0x88];
const NAN: &[u8] = &[0, 0, 0, 0, 0xC0, 0, 0, 0];

#[test]
fn copy_stream_split_at_every_point() {
    let arr = text_array(&[Some("a,b"), None, Some("😀")]);
    let empty = {
        let mut b = BytesMut::new();
        b.put_i32(0);
        b.put_i32(0);
        b.put_u32(25);
        b.to_vec()
    };
    let data = stream(&[
        (1, Some(HALF), 0, Some(&arr)),
        (2, Some(NAN), i32::MAX, Some(&empty)),
        (3, None, i32::MIN, None),
    ]);
    for size in [1, 2, 3, 5, 7, 13, 64, data.len()] {
        let mut dec = CopyDecoder::new(&plan(), BatchLimit::rows(2)).unwrap();
        let mut batches = Vec::new();
        for chunk in data.chunks(size) {
            dec.feed(chunk).unwrap();
            while let Some(batch) = dec.next_batch() {
                batches.push(batch);
            }
        }
        batches.extend(dec.finish().unwrap());
        check_batches(&batches);
    }
}

/// Issue 17: a batch also closes at its byte budget, and a tuple larger
/// than the budget travels alone, whatever the row count allows.
#[test]
fn batches_close_at_their_byte_budget() {
    let data = stream(&[
        (1, Some(HALF), 0, None),
        (2, Some(HALF), 0, None),
        (3, Some(HALF), 0, None),
    ]);
    // Each tuple here is a few dozen bytes: a budget of one tuple and a half
    // makes batches of one row; a large one, a single batch.
    let tuple = (data.len() - 24) / 3; // header 22 bytes, trailer 2
    for (bytes, sizes) in [(tuple + tuple / 2, vec![1, 1, 1]), (1 << 20, vec![3])] {
        let limit = BatchLimit { rows: 100, bytes };
        let mut dec = CopyDecoder::new(&plan(), limit).unwrap();
        dec.feed(&data).unwrap();
        let mut got = Vec::new();
        while let Some(b) = dec.next_batch() {
            got.push(b.num_rows());
        }
        got.extend(dec.finish().unwrap().map(|b| b.num_rows()));
        assert_eq!(got, sizes, "budget {bytes}");
    }
}

fn check_batches(batches: &[RecordBatch]) {
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].num_rows(), 2);
    assert_eq!(batches[1].num_rows(), 1);
    let ids: Vec<i32> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    let n = batches[0].column(1).as_string::<i32>();
    assert_eq!((n.value(0), n.value(1)), ("0.5", "NaN"));
    assert!(batches[1].column(1).is_null(0));
    let d = batches[0]
        .column(2)
        .as_primitive::<arrow_array::types::Date32Type>();
    assert_eq!((d.value(0), d.value(1)), (PG_EPOCH_DAYS, i32::MAX));
    let l = batches[0].column(3).as_list::<i32>();
    let first = l.value(0);
    let first = first.as_string::<i32>();
    assert_eq!(first.len(), 3);
    assert_eq!(first.value(0), "a,b");
    assert!(first.is_null(1));
    assert_eq!(first.value(2), "😀");
    assert_eq!(l.value(1).len(), 0);
    assert!(!l.is_null(1));
    assert!(batches[1].column(3).is_null(0));
}

#[test]
fn bad_value_names_the_key_not_the_value() {
    let bad_numeric: &[u8] = &[0, 1, 0, 0, 0, 0, 0, 0, 0x7f, 0x7f];
    let data = stream(&[(41, Some(HALF), 0, None), (42, Some(bad_numeric), 0, None)]);
    let mut dec = CopyDecoder::new(&plan(), BatchLimit::rows(100)).unwrap();
    let err = dec.feed(&data).unwrap_err();
    match &err {
        Error::Value {
            table,
            column,
            key,
            problem,
        } => {
            assert_eq!(table, "t");
            assert_eq!(column, "n");
            assert_eq!(key, "id=42");
            assert_eq!(problem, "numeric digit out of range");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_stream_is_an_error() {
    let data = stream(&[(1, Some(HALF), 0, None)]);
    let mut dec = CopyDecoder::new(&plan(), BatchLimit::rows(10)).unwrap();
    dec.feed(&data[..data.len() - 3]).unwrap();
    assert!(dec.finish().is_err());
}

#[test]
fn select_casts_awkward_types() {
    let mut c = col("a", "inet", LogicalType::Inet);
    assert_eq!(select_expr(&c), "\"a\"::text");
    c.raw.name = "money".into();
    assert_eq!(select_expr(&c), "\"a\"::numeric");
    c.raw.name = "array".into();
    c.raw.element = Some(Box::new(RawType {
        name: "timetz".into(),
        ..RawType::default()
    }));
    assert_eq!(select_expr(&c), "\"a\"::text[]");
    c.raw.name = "int4".into();
    assert_eq!(select_expr(&c), "\"a\"");
}

/// Issue 19: a type the decoder has no binary form for (citext, a range, an
/// extension type a user's override gave a kind) is selected as its text
/// rendering, cast on to the kind's own type, and decoded as that type.
#[test]
fn types_without_a_binary_decoder_are_read_through_their_text_form() {
    let text = || LogicalType::Text { max_bytes: None };
    let cases = [
        (col("c", "citext", text()), "\"c\"::text", "text"),
        (col("r", "int4range", text()), "\"r\"::text", "text"),
        (
            col("l", "pg_lsn", LogicalType::Int64),
            "\"l\"::text::int8",
            "int8",
        ),
        (col("h", "hstore", LogicalType::Json), "\"h\"::json", "json"),
        (col("o", "oid", LogicalType::Int64), "\"o\"::int8", "int8"),
        (
            col(
                "b",
                "pg_lsn",
                LogicalType::VarBinary {
                    length: None,
                    max_bytes: None,
                },
            ),
            "convert_to(\"b\"::text, 'UTF8')",
            "bytea",
        ),
        // Natively decoded types are left alone.
        (col("t", "text", text()), "\"t\"", "text"),
        (col("i", "inet", LogicalType::Inet), "\"i\"::text", "inet"),
    ];
    for (c, expr, wire) in cases {
        assert_eq!(select_expr(&c), expr, "{}", c.name);
        let w = wire_type(&c);
        assert_eq!(w.name, wire, "{}", c.name);
        let dt = ferry_core::arrow::arrow_type(&c.logical);
        assert!(ColumnDecoder::for_type(&w, &dt).is_some(), "{}", c.name);
    }
}
