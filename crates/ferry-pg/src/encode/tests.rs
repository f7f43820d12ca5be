//! Value-level encoder tests: no server needed.

use std::sync::Arc;

use arrow_array::builder::{Int32Builder, ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::IntervalMonthDayNanoType;
use arrow_array::{ArrayRef, StringArray};
use arrow_schema::{DataType, IntervalUnit};
use bytes::{BufMut, BytesMut};
use ferry_core::Conversion;

use super::*;
use crate::decode::{
    date_from_pg, timestamp_from_pg, ColumnDecoder, PG_EPOCH_DAYS, PG_EPOCH_MICROS,
};
#[test]
fn date_and_timestamp_sentinels_survive_both_ways() {
    for d in [i32::MAX, i32::MIN, 0, -PG_EPOCH_DAYS, 19_000, -2_440_588] {
        assert_eq!(date_from_pg(date_to_pg(d).unwrap()).unwrap(), d);
    }
    assert_eq!(date_to_pg(i32::MAX).unwrap(), i32::MAX);
    assert_eq!(date_from_pg(0).unwrap(), PG_EPOCH_DAYS);
    for t in [i64::MAX, i64::MIN, 0, 1, -1, PG_EPOCH_MICROS] {
        assert_eq!(timestamp_from_pg(timestamp_to_pg(t).unwrap()).unwrap(), t);
    }
    assert_eq!(timestamp_from_pg(0).unwrap(), PG_EPOCH_MICROS);
    assert!(timestamp_to_pg(i64::MIN + 5).is_err());
}

/// Issue 19: a MySQL zero date reaching PostgreSQL is refused by name,
/// never written as a date 5.8 million years BC.
#[test]
fn mysql_zero_dates_are_refused() {
    let d = ferry_core::zerodate::days(2016, 7, 0).unwrap();
    assert!(date_to_pg(d).unwrap_err().contains("zero_date_to_null"));
    let t = ferry_core::zerodate::micros(0, 0, 0, 0).unwrap();
    assert!(timestamp_to_pg(t)
        .unwrap_err()
        .contains("zero_date_to_null"));
}

#[test]
fn money_scaling() {
    assert_eq!(money("12.34", 2).unwrap(), 1234);
    assert_eq!(money("-0.5", 2).unwrap(), -50);
    assert_eq!(money("7.100", 2).unwrap(), 710);
    assert_eq!(money("-92233720368547758.08", 2).unwrap(), i64::MIN);
    assert!(money("92233720368547758.08", 2).is_err());
    assert!(money("0.001", 2).is_err());
    assert!(money("NaN", 2).is_err());
}

fn target(name: &str, typmod: i32) -> PgTargetType {
    PgTargetType {
        name: name.into(),
        typtype: b'b',
        typmod,
        element: None,
        subtype: None,
    }
}

fn encode_one(enc: &PgEncoder, a: &ArrayRef, row: usize) -> Result<Vec<u8>, Problem> {
    let typed = Typed::of(a.as_ref()).unwrap();
    let mut buf = BytesMut::new();
    put_field(enc, &typed, row, &mut buf)?;
    Ok(buf.to_vec())
}

#[test]
fn text_checks_nul_and_length() {
    let a: ArrayRef = Arc::new(StringArray::from(vec!["a\0b", "héllo", "ab  "]));
    let exact = PgEncoder::choose(
        &DataType::Utf8,
        &target("text", -1),
        Conversion::Exact,
        None,
    )
    .unwrap();
    let err = encode_one(&exact, &a, 0).unwrap_err();
    assert!(err.contains("NUL"));
    assert!(!err.contains('a'.to_string().as_str()) || !err.contains("a\0b"));
    let strip = PgEncoder::choose(
        &DataType::Utf8,
        &target("text", -1),
        Conversion::StripNul,
        None,
    )
    .unwrap();
    assert_eq!(encode_one(&strip, &a, 0).unwrap(), [0, 0, 0, 2, b'a', b'b']);
    let vc5 = PgEncoder::choose(
        &DataType::Utf8,
        &target("varchar", 9),
        Conversion::Exact,
        None,
    )
    .unwrap();
    assert!(
        encode_one(&vc5, &a, 1).is_ok(),
        "5 chars in 6 bytes fit varchar(5)"
    );
    let vc2 = PgEncoder::choose(
        &DataType::Utf8,
        &target("bpchar", 6),
        Conversion::Exact,
        None,
    )
    .unwrap();
    assert!(encode_one(&vc2, &a, 1).is_err());
    assert!(
        encode_one(&vc2, &a, 2).is_ok(),
        "trailing spaces are cut, as PG does"
    );
}

#[test]
fn int_ranges_and_unsupported_pairs() {
    let a: ArrayRef = Arc::new(arrow_array::UInt64Array::from(vec![u64::MAX, 7]));
    let i2 = PgEncoder::choose(
        &DataType::UInt64,
        &target("int2", -1),
        Conversion::Exact,
        None,
    )
    .unwrap();
    assert!(encode_one(&i2, &a, 0).is_err());
    assert_eq!(encode_one(&i2, &a, 1).unwrap(), [0, 0, 0, 2, 0, 7]);
    let n = PgEncoder::choose(
        &DataType::UInt64,
        &target("numeric", -1),
        Conversion::Exact,
        None,
    )
    .unwrap();
    assert_eq!(n, PgEncoder::IntNumeric);
    assert!(PgEncoder::choose(
        &DataType::Binary,
        &target("int4", -1),
        Conversion::Exact,
        None
    )
    .is_none());
    assert!(PgEncoder::choose(
        &DataType::Utf8,
        &target("money", -1),
        Conversion::Exact,
        None
    )
    .is_none());
}

#[test]
fn interval_layout() {
    let v = IntervalMonthDayNanoType::make_value(14, 3, 14_706_000_000_000);
    let a: ArrayRef = Arc::new(arrow_array::IntervalMonthDayNanoArray::from(vec![v]));
    let b = encode_one(&PgEncoder::Interval, &a, 0).unwrap();
    let mut want = vec![0, 0, 0, 16];
    want.extend_from_slice(&14_706_000_000i64.to_be_bytes());
    want.extend_from_slice(&3i32.to_be_bytes());
    want.extend_from_slice(&14i32.to_be_bytes());
    assert_eq!(b, want);
    // And back through the decoder.
    let mut dec = ColumnDecoder::for_type(
        &ferry_core::RawType {
            name: "interval".into(),
            ..Default::default()
        },
        &DataType::Interval(IntervalUnit::MonthDayNano),
    )
    .unwrap();
    dec.append(&b[4..]).unwrap();
    let out = dec.finish();
    assert_eq!(out.as_primitive::<IntervalMonthDayNanoType>().value(0), v);
}

#[test]
fn arrays_roundtrip_with_nulls_and_empty() {
    let mut lb = ListBuilder::new(Int32Builder::new());
    lb.append_value([Some(1), None, Some(3)]);
    lb.append_value([] as [Option<i32>; 0]);
    lb.append_null();
    let a: ArrayRef = Arc::new(lb.finish());
    let int4 = target("int4", -1);
    let arr_t = PgTargetType {
        name: "_int4".into(),
        typtype: b'b',
        typmod: -1,
        element: Some((23, Box::new(int4))),
        subtype: None,
    };
    let enc = PgEncoder::choose(a.data_type(), &arr_t, Conversion::Exact, None).unwrap();
    let raw = ferry_core::RawType {
        name: "array".into(),
        element: Some(Box::new(ferry_core::RawType {
            name: "int4".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let mut dec = ColumnDecoder::for_type(&raw, a.data_type()).unwrap();
    for row in 0..3 {
        let b = encode_one(&enc, &a, row).unwrap();
        if row == 2 {
            assert_eq!(b, (-1i32).to_be_bytes());
            dec.append_null();
        } else {
            dec.append(&b[4..]).unwrap();
        }
    }
    let b0 = encode_one(&enc, &a, 0).unwrap();
    assert_eq!(&b0[4..16], &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23]);
    assert_eq!(dec.finish().as_ref(), a.as_ref());
}

#[test]
fn array_decoder_refuses_multidim_and_lower_bounds() {
    let raw = ferry_core::RawType {
        name: "array".into(),
        element: Some(Box::new(ferry_core::RawType {
            name: "text".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let dt = DataType::List(Arc::new(arrow_schema::Field::new(
        "item",
        DataType::Utf8,
        true,
    )));
    let mut dec = ColumnDecoder::for_type(&raw, &dt).unwrap();
    let mut two_d = BytesMut::new();
    for v in [2i32, 0, 25, 1, 1, 1, 1] {
        two_d.put_i32(v);
    }
    assert_eq!(dec.append(&two_d).unwrap_err(), "multi-dimensional array");
    let mut zero_lb = BytesMut::new();
    for v in [1i32, 0, 25, 1, 0, 1] {
        zero_lb.put_i32(v);
    }
    zero_lb.put_u8(b'x');
    assert_eq!(
        dec.append(&zero_lb).unwrap_err(),
        "array lower bound is not 1"
    );
    let _ = StringBuilder::new();
}

/// PostGIS's typmod is checked before the value is written: PostGIS would
/// relabel an SRID-0 value with the column's SRID, and a geography's with
/// 4326, without a word.
#[test]
fn geometry_values_are_checked_against_the_typmod() {
    use arrow_array::BinaryArray;
    let hex = |s: &str| {
        let mut out = vec![0; s.len() / 2];
        ferry_core::hex::decode_hex(s.as_bytes(), &mut out).unwrap();
        out
    };
    // SRID=4326;POINT(1 2), POINT(1 2) (SRID 0), SRID=4326;LINESTRING(0 0,1 1)
    let p4326 = hex("0101000020e6100000000000000000f03f0000000000000040");
    let p0 = hex("0101000000000000000000f03f0000000000000040");
    let line = hex("0102000020e61000000200000000000000000000000000000000000000000000000000f03f000000000000f03f");
    let a: ArrayRef = Arc::new(BinaryArray::from(vec![
        p4326.as_slice(),
        p0.as_slice(),
        line.as_slice(),
    ]));
    // geometry(Point,4326)
    let enc = PgEncoder::choose(
        a.data_type(),
        &target("geometry", 1_107_460),
        Conversion::Exact,
        None,
    )
    .unwrap();
    assert_eq!(encode_one(&enc, &a, 0).unwrap()[4..], p4326);
    let e = encode_one(&enc, &a, 1).unwrap_err();
    assert!(e.contains("SRID 0 in a column of SRID 4326"), "{e}");
    let e = encode_one(&enc, &a, 2).unwrap_err();
    assert!(e.contains("another type"), "{e}");
    // Untyped geometry takes all three as they are.
    let any = PgEncoder::choose(
        a.data_type(),
        &target("geometry", -1),
        Conversion::Exact,
        None,
    )
    .unwrap();
    for row in 0..3 {
        encode_one(&any, &a, row).unwrap();
    }
    let geog = PgEncoder::choose(
        a.data_type(),
        &target("geography", -1),
        Conversion::Exact,
        None,
    )
    .unwrap();
    assert!(encode_one(&geog, &a, 1).unwrap_err().contains("geography"));
    // PostgreSQL's point: two float8, SRID only with drop_srid.
    let pt =
        PgEncoder::choose(a.data_type(), &target("point", -1), Conversion::Exact, None).unwrap();
    let b = encode_one(&pt, &a, 1).unwrap();
    assert_eq!(&b[4..12], &1f64.to_be_bytes());
    assert_eq!(&b[12..], &2f64.to_be_bytes());
    assert!(encode_one(&pt, &a, 0).unwrap_err().contains("drop_srid"));
    let dropped = PgEncoder::choose(
        a.data_type(),
        &target("point", -1),
        Conversion::DropSrid,
        None,
    )
    .unwrap();
    assert_eq!(encode_one(&dropped, &a, 0).unwrap(), b);
}
