//! Value-level decoding: tiberius's own `ColumnData` values into the hub's
//! Arrow arrays, no server needed.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::Array;
use ferry_core::{ColumnPlan, Conversion, LogicalType};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::{ColumnData, Uuid};

use super::*;

pub(crate) fn plan_col(logical: LogicalType, conversion: Conversion) -> ColumnPlan {
    ColumnPlan {
        name: "c".into(),
        source_type: "x".into(),
        logical,
        nullable: true,
        conversion,
        target_type: "x".into(),
        rule: "test".into(),
        ..ColumnPlan::default()
    }
}

fn decode(
    logical: LogicalType,
    conversion: Conversion,
    values: Vec<ColumnData<'static>>,
) -> ArrayRef {
    let mut d = Decoder::for_column(&plan_col(logical, conversion), values.len()).unwrap();
    for v in values {
        d.push(v).unwrap();
    }
    d.finish()
}

fn decode_err(logical: LogicalType, conversion: Conversion, v: ColumnData<'static>) -> String {
    let mut d = Decoder::for_column(&plan_col(logical, conversion), 1).unwrap();
    let e = d.push(v).unwrap_err();
    assert_eq!(d.len(), 1, "a refused value still leaves a slot");
    e
}

const TS6: LogicalType = LogicalType::Timestamp { precision: 6 };

#[test]
fn tinyint_is_unsigned_0_to_255() {
    let a = decode(
        LogicalType::UInt8,
        Conversion::Exact,
        vec![
            ColumnData::U8(Some(0)),
            ColumnData::U8(Some(255)),
            ColumnData::U8(None),
        ],
    );
    let a = a.as_primitive::<UInt8Type>();
    assert_eq!((a.value(0), a.value(1)), (0, 255));
    assert!(a.is_null(2));
}

#[test]
fn integers_widen_exactly_and_refuse_overflow() {
    let a = decode(
        LogicalType::Int64,
        Conversion::Exact,
        vec![ColumnData::I64(Some(i64::MIN)), ColumnData::I32(Some(-7))],
    );
    assert_eq!(a.as_primitive::<Int64Type>().value(0), i64::MIN);
    let e = decode_err(
        LogicalType::Int16,
        Conversion::Exact,
        ColumnData::I32(Some(40_000)),
    );
    assert!(e.contains("out of range") && !e.contains("40000"), "{e}");
}

#[test]
fn decimals_up_to_38_38_as_exact_text() {
    let v = 12_345_678_901_234_567_890_123_456_789_012_345_678i128;
    let a = decode(
        LogicalType::Decimal {
            precision: Some(38),
            scale: Some(38),
        },
        Conversion::Exact,
        vec![
            ColumnData::Numeric(Some(Numeric::new_with_scale(v, 38))),
            ColumnData::Numeric(Some(Numeric::new_with_scale(-5, 2))),
            // money, as the reader selects it: decimal(19,4) at its largest.
            ColumnData::Numeric(Some(Numeric::new_with_scale(i128::from(i64::MAX), 4))),
        ],
    );
    let s = a.as_string::<i32>();
    assert_eq!(s.value(0), "0.12345678901234567890123456789012345678");
    assert_eq!(s.value(1), "-0.05");
    assert_eq!(s.value(2), "922337203685477.5807");
}

#[test]
fn floats_keep_their_bits() {
    let a = decode(
        LogicalType::Float32,
        Conversion::Exact,
        vec![ColumnData::F32(Some(0.1))],
    );
    assert_eq!(
        a.as_primitive::<Float32Type>().value(0).to_bits(),
        0.1f32.to_bits()
    );
    let a = decode(
        LogicalType::Float64,
        Conversion::Exact,
        vec![ColumnData::F64(Some(4.9e-324))],
    );
    assert_eq!(a.as_primitive::<Float64Type>().value(0).to_bits(), 1);
}

/// J3: SSMS shows `825B076B-44EC-E511-80DC-00155D0ABC54`; the wire holds
/// the first three groups little-endian (`6B075B82-EC44-11E5-…`). tiberius
/// reorders on decode, so the hub gets the bytes of the text SSMS shows,
/// the same text PostgreSQL and MySQL will show.
#[test]
fn uniqueidentifier_is_the_text_sql_server_shows_in_rfc_byte_order() {
    let shown = "825B076B-44EC-E511-80DC-00155D0ABC54";
    let u = Uuid::parse_str(shown).unwrap();
    let a = decode(
        LogicalType::Uuid,
        Conversion::Exact,
        vec![ColumnData::Guid(Some(u))],
    );
    let b = a.as_fixed_size_binary().value(0);
    assert_eq!(ferry_core::hex::uuid_text(b), shown.to_ascii_lowercase());
    assert_eq!(&b[..4], &[0x82, 0x5b, 0x07, 0x6b]);
}

#[test]
fn dates_from_year_one() {
    let a = decode(
        LogicalType::Date,
        Conversion::Exact,
        vec![
            ColumnData::Date(Some(Date::new(0))),
            ColumnData::Date(Some(Date::new(719_162))),
            ColumnData::Date(Some(Date::new(3_652_058))),
        ],
    );
    let a = a.as_primitive::<Date32Type>();
    assert_eq!(a.value(0), -719_162); // 0001-01-01
    assert_eq!(a.value(1), 0); // 1970-01-01
    assert_eq!(a.value(2), 2_932_896); // 9999-12-31
}

/// T6: datetime's 1/300 s ticks read as the millisecond SQL Server shows.
#[test]
fn datetime_ticks_read_as_sql_servers_milliseconds() {
    // 2024-01-01 23:59:59.997 is tick 299 of the last second.
    let dt = DateTime::new(45_290, 86_399 * 300 + 299);
    let a = decode(TS6, Conversion::Exact, vec![ColumnData::DateTime(Some(dt))]);
    let us = a.as_primitive::<TimestampMicrosecondType>().value(0);
    assert_eq!(us.rem_euclid(1_000_000), 997_000);
    assert_eq!(us.div_euclid(86_400_000_000), 19_723); // 2024-01-01
    let dt = DateTime::new(0, 1);
    let a = decode(TS6, Conversion::Exact, vec![ColumnData::DateTime(Some(dt))]);
    assert_eq!(
        a.as_primitive::<TimestampMicrosecondType>()
            .value(0)
            .rem_euclid(1_000_000),
        3_000
    );
}

#[test]
fn smalldatetime_is_minutes() {
    let a = decode(
        TS6,
        Conversion::Exact,
        vec![ColumnData::SmallDateTime(Some(SmallDateTime::new(
            25_567, 61,
        )))],
    );
    assert_eq!(
        a.as_primitive::<TimestampMicrosecondType>().value(0),
        61 * 60_000_000
    );
}

/// T6: datetime2(7)'s 100 ns digit is refused unless round_fraction.
#[test]
fn datetime2_seven_digits_refused_unless_rounded() {
    // 1970-01-01 12:00:00.1234567
    let v = || {
        ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(719_162),
            Time::new(12 * 3600 * 10_000_000 + 1_234_567, 7),
        )))
    };
    let e = decode_err(TS6, Conversion::Exact, v());
    assert!(e.contains("round_fraction"), "{e}");
    let a = decode(TS6, Conversion::RoundFraction, vec![v()]);
    assert_eq!(
        a.as_primitive::<TimestampMicrosecondType>().value(0),
        12 * 3_600_000_000 + 123_457
    );
    // A zero seventh digit is exact.
    let exact = ColumnData::DateTime2(Some(DateTime2::new(
        Date::new(719_162),
        Time::new(1_234_560, 7),
    )));
    let a = decode(TS6, Conversion::Exact, vec![exact]);
    assert_eq!(
        a.as_primitive::<TimestampMicrosecondType>().value(0),
        123_456
    );
}

/// T7: datetimeoffset's wire value is UTC plus an offset; the hub keeps the
/// instant, and an offset other than +00:00 is refused unless offset_to_utc.
#[test]
fn datetimeoffset_instant_and_offset_rule() {
    let tz = LogicalType::TimestampTz { precision: 6 };
    // 2024-06-01 12:00:00.1234560 +05:30 is 06:30:00.123456 UTC.
    let day = 719_162 + 19_875; // 2024-06-01
    let utc = Time::new((6 * 3600 + 30 * 60) * 10_000_000 + 1_234_560, 7);
    let v = |offset| {
        ColumnData::DateTimeOffset(Some(DateTimeOffset::new(
            DateTime2::new(Date::new(day), utc),
            offset,
        )))
    };
    let e = decode_err(tz.clone(), Conversion::Exact, v(330));
    assert!(e.contains("offset_to_utc") && e.contains("varchar"), "{e}");
    for offset in [330, -840, 840] {
        let a = decode(tz.clone(), Conversion::OffsetToUtc, vec![v(offset)]);
        assert_eq!(
            a.as_primitive::<TimestampMicrosecondType>().value(0),
            19_875 * 86_400_000_000 + (6 * 3600 + 30 * 60) * 1_000_000 + 123_456
        );
    }
    let a = decode(tz, Conversion::Exact, vec![v(0)]);
    assert_eq!(a.len(), 1);
    // As text (a column mapped to varchar), the offset is kept.
    assert_eq!(
        text_of(&v(330)).unwrap(),
        "2024-06-01 12:00:00.123456 +05:30"
    );
    assert_eq!(
        text_of(&v(-840)).unwrap(),
        "2024-05-31 16:30:00.123456 -14:00"
    );
}

#[test]
fn time_of_day() {
    let a = decode(
        LogicalType::Time { precision: 6 },
        Conversion::Exact,
        vec![ColumnData::Time(Some(Time::new(86_399_999_999, 6)))],
    );
    assert_eq!(
        a.as_primitive::<Time64MicrosecondType>().value(0),
        86_399_999_999
    );
}

#[test]
fn strings_xml_binary_and_rowversion() {
    let a = decode(
        LogicalType::Varchar { length: None },
        Conversion::Exact,
        vec![
            ColumnData::String(Some(Cow::Borrowed("йцук 😀 a\0b"))),
            ColumnData::String(Some(Cow::Borrowed(""))),
            ColumnData::String(None),
        ],
    );
    let s = a.as_string::<i32>();
    assert_eq!(s.value(0), "йцук 😀 a\0b");
    assert!(s.is_valid(1) && s.value(1).is_empty());
    assert!(s.is_null(2));
    let a = decode(
        LogicalType::Xml,
        Conversion::Exact,
        vec![ColumnData::Xml(Some(Cow::Owned(
            tiberius::xml::XmlData::new("<a x=\"1\"/>"),
        )))],
    );
    assert_eq!(a.as_string::<i32>().value(0), "<a x=\"1\"/>");
    // rowversion: 8 bytes.
    let a = decode(
        LogicalType::Binary { length: Some(8) },
        Conversion::Exact,
        vec![ColumnData::Binary(Some(Cow::Owned(vec![
            0, 0, 0, 0, 0, 0, 7, 209,
        ])))],
    );
    assert_eq!(a.as_binary::<i32>().value(0), &[0, 0, 0, 0, 0, 0, 7, 209]);
}

#[test]
fn bit_is_boolean() {
    let a = decode(
        LogicalType::Bool,
        Conversion::Exact,
        vec![ColumnData::Bit(Some(true)), ColumnData::Bit(None)],
    );
    assert!(a.as_boolean().value(0));
    assert!(a.is_null(1));
}

#[test]
fn arrow_types_match_the_hub() {
    use LogicalType as L;
    for t in [
        L::Bool,
        L::UInt8,
        L::Int16,
        L::Float32,
        L::Decimal {
            precision: Some(38),
            scale: Some(10),
        },
        L::Text { max_bytes: None },
        L::VarBinary {
            length: None,
            max_bytes: None,
        },
        L::Date,
        L::Time { precision: 6 },
        L::Timestamp { precision: 3 },
        L::TimestampTz { precision: 6 },
        L::Uuid,
        L::Xml,
    ] {
        let mut d = Decoder::for_column(&plan_col(t.clone(), Conversion::Exact), 1).unwrap();
        assert_eq!(
            d.finish().data_type(),
            &ferry_core::arrow::arrow_type(&t),
            "{t}"
        );
    }
}

/// geometry / geography arrive as the SRID (big-endian, `CAST(STSrid AS
/// binary(4))`) then `AsBinaryZM()`'s WKB; the hub gets canonical EWKB.
#[test]
fn spatial_values_become_canonical_ewkb_with_their_srid() {
    let mut selected = 4326u32.to_be_bytes().to_vec();
    selected.push(0); // big-endian WKB, as some writers send it
    selected.extend_from_slice(&1u32.to_be_bytes()); // POINT
    selected.extend_from_slice(&1.5f64.to_be_bytes());
    selected.extend_from_slice(&(-2.25f64).to_be_bytes());
    let logical = LogicalType::Geometry {
        subtype: ferry_core::GeometryKind::Geometry,
        srid: None,
        geography: true,
    };
    let a = decode(
        logical,
        Conversion::Exact,
        vec![
            ColumnData::Binary(Some(Cow::Owned(selected))),
            ColumnData::Binary(None),
        ],
    );
    let b = a.as_binary::<i32>();
    let mut expected = vec![1u8];
    expected.extend_from_slice(&(1u32 | 0x2000_0000).to_le_bytes());
    expected.extend_from_slice(&4326u32.to_le_bytes());
    expected.extend_from_slice(&1.5f64.to_le_bytes());
    expected.extend_from_slice(&(-2.25f64).to_le_bytes());
    assert_eq!(b.value(0), expected.as_slice());
    assert!(b.is_null(1));
    assert!(geometry_ewkb(&[0, 0]).is_err());
}
