//! Value-level encoder tests: no server needed.

use super::*;
use arrow_array::builder::{Float64Builder, ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, DurationMicrosecondArray, Float32Array,
    Float64Array, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use std::sync::Arc;

use crate::decode::MICROS_PER_DAY;

fn fields(enc: &Encoder, a: ArrayRef) -> Result<Vec<String>, (usize, Problem)> {
    let mut buf = FieldBuf::default();
    enc.encode_column(&a, &mut buf)?;
    Ok((0..a.len())
        .map(|i| String::from_utf8_lossy(buf.field(i)).into_owned())
        .collect())
}

fn f64_enc(nan_to_null: bool, refuse_negative_zero: bool) -> Encoder {
    Encoder::Float64 {
        nan_to_null,
        refuse_negative_zero,
    }
}

fn text_enc() -> Encoder {
    Encoder::Text {
        max_chars: None,
        max_bytes: None,
        labels: None,
    }
}

#[test]
fn escaping() {
    let mut out = Vec::new();
    escape_into(&mut out, b"a\tb\nc\\d\re\0f");
    assert_eq!(out, b"a\\tb\\nc\\\\d\\re\\0f");
    let a: ArrayRef = Arc::new(StringArray::from(vec![
        Some("\\N"),
        None,
        Some(""),
        Some("😀"),
    ]));
    assert_eq!(
        fields(&text_enc(), a).unwrap(),
        vec!["\\\\N", "\\N", "", "😀"]
    );
    let b: ArrayRef = Arc::new(BinaryArray::from(vec![&[0u8, 0xff, b'\t'][..]]));
    let mut buf = FieldBuf::default();
    Encoder::Binary {
        exact: None,
        max_bytes: None,
    }
    .encode_column(&b, &mut buf)
    .unwrap();
    assert_eq!(buf.field(0), b"\\0\xff\\t");
}

#[test]
fn floats_round_trip() {
    let a: ArrayRef = Arc::new(Float64Array::from(vec![
        -0.0,
        4.9e-324,
        0.1,
        1e300,
        f64::MAX,
    ]));
    let out = fields(&f64_enc(false, false), a.clone()).unwrap();
    assert_eq!(out[0], "-0.0");
    let (row, p) = fields(&f64_enc(false, true), a).unwrap_err();
    assert_eq!(row, 0);
    assert!(p.contains("negative zero"), "{p}");
    for (s, want) in out.iter().zip([-0.0, 4.9e-324, 0.1, 1e300, f64::MAX]) {
        assert_eq!(s.parse::<f64>().unwrap().to_bits(), want.to_bits(), "{s}");
    }
    let a: ArrayRef = Arc::new(Float32Array::from(vec![0.1f32, 1.234567, f32::MIN]));
    let out = fields(
        &Encoder::Float32 {
            nan_to_null: false,
            refuse_negative_zero: true,
        },
        a,
    )
    .unwrap();
    assert_eq!(out[0], "0.10000000149011612");
    assert_eq!(out[2], "-3.4028234663852886e38");
    for (s, want) in out.iter().zip([0.1f32, 1.234567, f32::MIN]) {
        assert_eq!(s.parse::<f64>().unwrap(), f64::from(want));
    }
    let nan: ArrayRef = Arc::new(Float64Array::from(vec![1.0, f64::NAN, f64::INFINITY]));
    let (row, p) = fields(&f64_enc(false, true), nan.clone()).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("NaN/Infinity, which MySQL cannot store"), "{p}");
    assert_eq!(
        fields(&f64_enc(true, true), nan).unwrap(),
        vec!["1.0", "\\N", "\\N"]
    );
}

#[test]
fn decimal_ranges() {
    assert_eq!(fit_decimal("123.45", 5, 2).unwrap().unwrap(), "123.45");
    assert_eq!(fit_decimal("-0.500", 5, 2).unwrap().unwrap(), "-0.5");
    assert_eq!(fit_decimal("007", 3, 0).unwrap().unwrap(), "7");
    assert_eq!(fit_decimal("-0.000", 3, 1).unwrap().unwrap(), "0");
    assert!(fit_decimal("1234.5", 5, 2)
        .unwrap_err()
        .contains("integer digits"));
    assert!(fit_decimal("1.234", 5, 2)
        .unwrap_err()
        .contains("fraction digits"));
    assert_eq!(fit_decimal("NaN", 5, 2).unwrap(), None);
    assert_eq!(fit_decimal("-Infinity", 5, 2).unwrap(), None);
    assert!(fit_decimal("1e5", 10, 0).is_err());
    let max = format!("{}.{}", "9".repeat(35), "9".repeat(30));
    assert_eq!(fit_decimal(&max, 65, 30).unwrap().unwrap(), max);
    assert!(fit_decimal(&format!("1{max}"), 65, 30).is_err());
    let a: ArrayRef = Arc::new(StringArray::from(vec!["NaN"]));
    let enc = Encoder::Decimal {
        precision: 10,
        scale: 2,
        nan_to_null: false,
    };
    assert!(fields(&enc, a).unwrap_err().1.contains("NaN/Infinity"));
    let a: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
    let enc = Encoder::IntDecimal {
        precision: 20,
        scale: 0,
    };
    assert_eq!(
        fields(&enc, a.clone()).unwrap(),
        vec!["18446744073709551615"]
    );
    let enc = Encoder::IntDecimal {
        precision: 20,
        scale: 2,
    };
    assert!(fields(&enc, a.clone()).is_err());
    let (min, max) = int_range("bigint", true).unwrap();
    let enc = Encoder::Int {
        min,
        max,
        year: false,
    };
    assert_eq!(
        fields(&enc, a.clone()).unwrap(),
        vec!["18446744073709551615"]
    );
    let (min, max) = int_range("bigint", false).unwrap();
    let enc = Encoder::Int {
        min,
        max,
        year: false,
    };
    assert!(fields(&enc, a).is_err());
}

#[test]
fn dates_and_timestamps() {
    let mut o = Vec::new();
    write_date(&mut o, 0).unwrap();
    assert_eq!(o, b"1970-01-01");
    o.clear();
    write_date(&mut o, -719_162).unwrap();
    assert_eq!(o, b"0001-01-01");
    assert!(write_date(&mut Vec::new(), -719_163).is_err());
    assert!(write_date(&mut Vec::new(), 2_932_897).is_err());
    o.clear();
    write_timestamp(&mut o, -1).unwrap();
    assert_eq!(o, b"1969-12-31 23:59:59.999999");
    o.clear();
    write_timestamp(&mut o, 253_402_300_799_999_999).unwrap();
    assert_eq!(o, b"9999-12-31 23:59:59.999999");
    assert!(write_timestamp(&mut Vec::new(), 253_402_300_800_000_000).is_err());

    let d: ArrayRef = Arc::new(Date32Array::from(vec![i32::MAX, i32::MIN]));
    let enc = Encoder::Date {
        infinity_to_null: false,
        timestamp_target: false,
    };
    assert!(fields(&enc, d.clone()).unwrap_err().1.contains("infinity"));
    let enc = Encoder::Date {
        infinity_to_null: true,
        timestamp_target: false,
    };
    assert_eq!(fields(&enc, d).unwrap(), vec!["\\N", "\\N"]);

    let ts: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(vec![1_000_000, 2_147_483_648_000_000])
            .with_timezone("UTC"),
    );
    let enc = Encoder::Timestamp {
        fsp: 6,
        infinity_to_null: false,
        timestamp_target: true,
    };
    let (row, p) = fields(&enc, ts.clone()).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("TIMESTAMP's range"), "{p}");
    let enc = Encoder::Timestamp {
        fsp: 0,
        infinity_to_null: false,
        timestamp_target: false,
    };
    assert_eq!(
        fields(&enc, ts).unwrap(),
        vec!["1970-01-01 00:00:01.000000", "2038-01-19 03:14:08.000000"]
    );
    let frac: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![1_500_000]));
    assert!(fields(&enc, frac).unwrap_err().1.contains("round"));
    let inf: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![i64::MAX]));
    assert!(fields(&enc, inf).is_err());
}

#[test]
fn durations() {
    let mut o = Vec::new();
    write_duration(&mut o, -MAX_TIME_MICROS);
    assert_eq!(o, b"-838:59:59.000000");
    o.clear();
    write_duration(&mut o, -1_000_000);
    assert_eq!(o, b"-00:00:01.000000");
    o.clear();
    write_duration(&mut o, -1);
    assert_eq!(o, b"-00:00:00.000001");
    let d: ArrayRef = Arc::new(DurationMicrosecondArray::from(vec![
        MAX_TIME_MICROS,
        MAX_TIME_MICROS + 1,
    ]));
    let (row, p) = fields(&Encoder::Duration { fsp: 6 }, d).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("838:59:59"));
    let t: ArrayRef = Arc::new(arrow_array::Time64MicrosecondArray::from(vec![
        MICROS_PER_DAY,
    ]));
    assert_eq!(
        fields(&Encoder::TimeOfDay { fsp: 0 }, t).unwrap(),
        vec!["24:00:00.000000"]
    );
    assert_eq!(
        iso8601_interval(
            14,
            3,
            4 * 3_600_000_000_000 + 5 * 60_000_000_000 + 6_500_000_000
        ),
        "P1Y2M3DT4H5M6.5S"
    );
    assert_eq!(iso8601_interval(0, -1, 2 * 3_600_000_000_000), "P-1DT2H");
    assert_eq!(iso8601_interval(0, 0, -1_000), "PT-0.000001S");
    assert_eq!(iso8601_interval(0, 0, 0), "PT0S");
}

#[test]
fn bits_and_uuids() {
    assert_eq!(bit_value("0101", 4).unwrap(), 5);
    assert_eq!(bit_value(&"1".repeat(64), 64).unwrap(), u64::MAX);
    assert!(bit_value("100", 2).is_err());
    assert_eq!(bit_value("001", 1).unwrap(), 1);
    assert!(bit_value("012", 3).is_err());
    let u = [
        0x6b, 0x07, 0x5b, 0x82, 0xec, 0x44, 0x11, 0xe5, 0x80, 0xdc, 0x00, 0x15, 0x5d, 0x0a, 0xbc,
        0x54,
    ];
    assert_eq!(uuid_text(&u), "6b075b82-ec44-11e5-80dc-00155d0abc54");
}

#[test]
fn json_arrays() {
    let mut lb = ListBuilder::new(Float64Builder::new());
    lb.values().append_value(1.5);
    lb.values().append_null();
    lb.values().append_value(-0.0);
    lb.append(true);
    lb.values().append_value(f64::NAN);
    lb.append(true);
    let a: ArrayRef = Arc::new(lb.finish());
    let enc = Encoder::JsonList {
        element: JsonElement::Float,
    };
    let (row, p) = fields(&enc, a.clone()).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("NaN"));
    let mut buf = Vec::new();
    json_array(
        &mut buf,
        a.as_list::<i32>().value(0).as_ref(),
        JsonElement::Float,
    )
    .unwrap();
    assert_eq!(buf, b"[1.5,null,-0.0]");

    let mut lb = ListBuilder::new(StringBuilder::new());
    lb.values().append_value("a,b");
    lb.values().append_value("c\"d\\");
    lb.append(true);
    let a: ArrayRef = Arc::new(lb.finish());
    let out = fields(
        &Encoder::JsonList {
            element: JsonElement::String,
        },
        a.clone(),
    )
    .unwrap();
    // JSON escapes, then LOAD DATA escapes of the backslashes.
    assert_eq!(out, vec![r#"["a,b","c\\"d\\\\"]"#]);
    let (_, p) = fields(&Encoder::SetList, a).unwrap_err();
    assert!(p.contains("comma"));

    let y: ArrayRef = Arc::new(arrow_array::Int16Array::from(vec![0, 1901, 2155, 1900]));
    let enc = Encoder::Int {
        min: 0,
        max: 2155,
        year: true,
    };
    let (row, p) = fields(&enc, y.clone()).unwrap_err();
    assert_eq!(row, 3);
    assert!(p.contains("YEAR"));
    let y = y.slice(0, 3);
    assert_eq!(fields(&enc, y).unwrap(), vec!["0000", "1901", "2155"]);

    let b: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
    assert_eq!(fields(&Encoder::Bool, b).unwrap(), vec!["1", "0"]);
}

#[test]
fn text_limits() {
    let a: ArrayRef = Arc::new(StringArray::from(vec!["héllo", "hello!"]));
    let enc = Encoder::Text {
        max_chars: Some(5),
        max_bytes: None,
        labels: None,
    };
    let (row, p) = fields(&enc, a).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("5 characters") && !p.contains("hello"));
    let a: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
    let enc = Encoder::Text {
        max_chars: None,
        max_bytes: None,
        labels: Some(vec!["a".into()]),
    };
    assert!(fields(&enc, a).unwrap_err().1.contains("label"));
}

/// Issue 19: spatial values leave the hub as MySQL's internal format, and
/// what MySQL cannot hold as the same geometry is refused by row.
#[test]
fn geometries_become_the_internal_format() {
    let hex = |s: &str| {
        let mut out = vec![0; s.len() / 2];
        ferry_core::hex::decode_hex(s.as_bytes(), &mut out).unwrap();
        out
    };
    // SRID=3857;POINT(5 6), then POINTZ(1 2 3), then a linestring.
    let point = hex("0101000020110f000000000000000014400000000000001840");
    let z = hex("0101000080000000000000f03f00000000000000400000000000000840");
    let line =
        hex("01020000000200000000000000000000000000000000000000000000000000f03f000000000000f03f");
    let a: ArrayRef = Arc::new(BinaryArray::from(vec![point.as_slice()]));
    let mut buf = FieldBuf::default();
    Encoder::Geometry { code: Some(1) }
        .encode_column(&a, &mut buf)
        .unwrap();
    let mut want = Vec::new();
    escape_into(
        &mut want,
        &hex("110F0000010100000000000000000014400000000000001840"),
    );
    assert_eq!(buf.field(0), want.as_slice());
    let a: ArrayRef = Arc::new(BinaryArray::from(vec![point.as_slice(), z.as_slice()]));
    let (row, p) = fields(&Encoder::Geometry { code: None }, a).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("Z or M"), "{p}");
    let a: ArrayRef = Arc::new(BinaryArray::from(vec![line.as_slice()]));
    let (_, p) = fields(&Encoder::Geometry { code: Some(1) }, a).unwrap_err();
    assert!(p.contains("another type"), "{p}");
}
