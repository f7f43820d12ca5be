//! Value-level encoding: Arrow arrays into tiberius's own `ColumnData`
//! values, and the pairs refused before any row is sent. No server needed.

use std::sync::Arc;

use arrow_array::builder::*;
use arrow_array::{ArrayRef, FixedSizeBinaryArray, StringArray};
use ferry_core::arrow::arrow_type;
use ferry_core::{ColumnPlan, Conversion, LogicalType};
use tiberius::ColumnData;

use super::*;

fn col(logical: LogicalType, conversion: Conversion) -> ColumnPlan {
    ColumnPlan {
        name: "c".into(),
        logical,
        conversion,
        nullable: true,
        ..ColumnPlan::default()
    }
}

fn target(t: &str, max_length: i16, precision: u8, scale: u8) -> TargetColumn {
    TargetColumn {
        name: "c".into(),
        type_name: t.into(),
        max_length,
        precision,
        scale,
        ..TargetColumn::default()
    }
}

fn encoder(logical: LogicalType, conv: Conversion, t: &TargetColumn) -> Encoder {
    choose(&col(logical.clone(), conv), &arrow_type(&logical), t).unwrap()
}

fn encode(e: &Encoder, a: ArrayRef) -> Result<Vec<ColumnData<'static>>, (usize, String)> {
    let mut out = Vec::new();
    e.encode_column(a.as_ref(), &mut out)?;
    Ok(out)
}

fn strings(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

#[test]
fn tinyint_takes_0_to_255_only() {
    let e = encoder(
        LogicalType::Int16,
        Conversion::Exact,
        &target("tinyint", 1, 3, 0),
    );
    let mut b = Int16Builder::new();
    b.append_value(255);
    b.append_value(0);
    let out = encode(&e, Arc::new(b.finish())).unwrap();
    assert_eq!(out[0], ColumnData::U8(Some(255)));
    let mut b = Int16Builder::new();
    b.append_value(7);
    b.append_value(-1);
    let (row, p) = encode(&e, Arc::new(b.finish())).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("0…255"), "{p}");
}

/// The tiberius bug class: a decimal whose scale differs from the column's
/// is rescaled by the driver with rounding. ferry always sends the column's
/// own scale and refuses digits it would round.
#[test]
fn decimals_go_at_the_column_scale_and_never_round() {
    let dec = LogicalType::Decimal {
        precision: Some(12),
        scale: Some(3),
    };
    let e = encoder(dec.clone(), Conversion::Exact, &target("decimal", 9, 10, 2));
    let out = encode(&e, strings(&[Some("1.5"), Some("-0.25"), None])).unwrap();
    match &out[0] {
        ColumnData::Numeric(Some(n)) => assert_eq!((n.value(), n.scale()), (150, 2)),
        other => panic!("{other:?}"),
    }
    match &out[1] {
        ColumnData::Numeric(Some(n)) => assert_eq!((n.value(), n.scale()), (-25, 2)),
        other => panic!("{other:?}"),
    }
    assert_eq!(out[2], ColumnData::Numeric(None));
    let (row, p) = encode(&e, strings(&[Some("1.005")])).unwrap_err();
    assert_eq!(row, 0);
    assert!(p.contains("would round"), "{p}");
    // NaN: refused, or NULL when chosen.
    assert!(encode(&e, strings(&[Some("NaN")])).is_err());
    let e = encoder(dec, Conversion::NanToNull, &target("decimal", 9, 10, 2));
    assert_eq!(
        encode(&e, strings(&[Some("NaN")])).unwrap()[0],
        ColumnData::Numeric(None)
    );
}

#[test]
fn money_takes_four_decimals_within_its_range() {
    let dec = LogicalType::Decimal {
        precision: Some(19),
        scale: Some(4),
    };
    let e = encoder(dec.clone(), Conversion::Exact, &target("money", 8, 19, 4));
    let out = encode(&e, strings(&[Some("922337203685477.5807")])).unwrap();
    match &out[0] {
        ColumnData::Numeric(Some(n)) => assert_eq!(n.value(), i128::from(i64::MAX)),
        other => panic!("{other:?}"),
    }
    let e = encoder(dec, Conversion::Exact, &target("smallmoney", 4, 10, 4));
    assert!(encode(&e, strings(&[Some("214748.3648")])).is_err());
}

/// S3: text goes to nvarchar; a length counts UTF-16 code units.
#[test]
fn nvarchar_length_counts_utf16_units() {
    let e = encoder(
        LogicalType::Varchar { length: None },
        Conversion::Exact,
        &target("nvarchar", 8, 0, 0),
    );
    // 4 units: fits nvarchar(4).
    let out = encode(&e, strings(&[Some("йцук"), Some("😀😀")])).unwrap();
    assert_eq!(out[0], ColumnData::String(Some("йцук".into())));
    // 5 units.
    let (_, p) = encode(&e, strings(&[Some("😀😀a")])).unwrap_err();
    assert!(p.contains("UTF-16"), "{p}");
}

#[test]
fn binary_n_refuses_values_sql_server_would_pad() {
    let e = encoder(
        LogicalType::VarBinary {
            length: None,
            max_bytes: None,
        },
        Conversion::Exact,
        &target("binary", 4, 0, 0),
    );
    let mut b = BinaryBuilder::new();
    b.append_value([1u8, 2, 3]);
    let (_, p) = encode(&e, Arc::new(b.finish())).unwrap_err();
    assert!(p.contains("pad"), "{p}");
}

/// J3: the hub's RFC bytes become tiberius's Uuid, which tiberius writes
/// mixed-endian; the text is the same everywhere.
#[test]
fn uuids_into_uniqueidentifier_binary_or_text() {
    let bytes = ferry_core::hex::parse_uuid("825b076b-44ec-e511-80dc-00155d0abc54").unwrap();
    let a: ArrayRef = Arc::new(FixedSizeBinaryArray::try_from_iter([bytes].into_iter()).unwrap());
    let e = encoder(
        LogicalType::Uuid,
        Conversion::Exact,
        &target("uniqueidentifier", 16, 0, 0),
    );
    match &encode(&e, a.clone()).unwrap()[0] {
        ColumnData::Guid(Some(u)) => {
            assert_eq!(
                u.to_string().to_uppercase(),
                "825B076B-44EC-E511-80DC-00155D0ABC54"
            )
        }
        other => panic!("{other:?}"),
    }
    let e = encoder(
        LogicalType::Uuid,
        Conversion::Exact,
        &target("nchar", 72, 0, 0),
    );
    assert_eq!(
        encode(&e, a).unwrap()[0],
        ColumnData::String(Some("825b076b-44ec-e511-80dc-00155d0abc54".into()))
    );
}

/// T6: µs into datetime's ticks: only a tick's millisecond is exact.
#[test]
fn timestamps_into_datetime_exact_or_rounded() {
    let ts = LogicalType::Timestamp { precision: 6 };
    let mut b = TimestampMicrosecondBuilder::new();
    b.append_value(997_000); // 1970-01-01 00:00:00.997
    b.append_value(998_000);
    let a: ArrayRef = Arc::new(b.finish());
    let e = encoder(ts.clone(), Conversion::Exact, &target("datetime", 8, 23, 3));
    let (row, p) = encode(&e, a.clone()).unwrap_err();
    assert_eq!(row, 1);
    assert!(p.contains("1/300"), "{p}");
    let e = encoder(ts, Conversion::RoundFraction, &target("datetime", 8, 23, 3));
    let out = encode(&e, a).unwrap();
    assert_eq!(out[0], out[1]);
    match &out[0] {
        ColumnData::DateTime(Some(d)) => {
            assert_eq!((d.days(), d.seconds_fragments()), (25_567, 299))
        }
        other => panic!("{other:?}"),
    }
}

/// tiberius rescales datetime2 through an f64; ferry sends the column's scale.
#[test]
fn datetime2_goes_at_the_column_scale() {
    let ts = LogicalType::Timestamp { precision: 6 };
    let mut b = TimestampMicrosecondBuilder::new();
    b.append_value(123_456);
    let a: ArrayRef = Arc::new(b.finish());
    let e = encoder(
        ts.clone(),
        Conversion::Exact,
        &target("datetime2", 8, 27, 7),
    );
    match &encode(&e, a.clone()).unwrap()[0] {
        ColumnData::DateTime2(Some(d)) => {
            assert_eq!((d.time().increments(), d.time().scale()), (1_234_560, 7));
            assert_eq!(d.date().days(), 719_162);
        }
        other => panic!("{other:?}"),
    }
    let e = encoder(ts, Conversion::Exact, &target("datetime2", 7, 23, 3));
    assert!(encode(&e, a).is_err());
    // ±infinity: refused, or NULL when chosen.
    let mut b = TimestampMicrosecondBuilder::new();
    b.append_value(i64::MAX);
    let a: ArrayRef = Arc::new(b.finish());
    let e = encoder(
        LogicalType::Timestamp { precision: 6 },
        Conversion::InfinityToNull,
        &target("datetime2", 8, 27, 7),
    );
    assert_eq!(encode(&e, a).unwrap()[0], ColumnData::DateTime2(None));
}

#[test]
fn timestamptz_into_datetimeoffset_at_utc() {
    let tz = LogicalType::TimestampTz { precision: 6 };
    let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    b.append_value(0);
    let a: ArrayRef = Arc::new(b.finish());
    let e = encoder(tz, Conversion::Exact, &target("datetimeoffset", 10, 34, 7));
    match &encode(&e, a).unwrap()[0] {
        ColumnData::DateTimeOffset(Some(d)) => assert_eq!(d.offset(), 0),
        other => panic!("{other:?}"),
    }
}

/// N7: floats without NaN, infinities or −0.0.
#[test]
fn float_specials_are_refused_unless_chosen() {
    let mut b = Float64Builder::new();
    b.append_value(f64::NAN);
    let a: ArrayRef = Arc::new(b.finish());
    let e = encoder(
        LogicalType::Float64,
        Conversion::Exact,
        &target("float", 8, 53, 0),
    );
    assert!(encode(&e, a.clone()).is_err());
    let e = encoder(
        LogicalType::Float64,
        Conversion::NanToNull,
        &target("float", 8, 53, 0),
    );
    assert_eq!(encode(&e, a).unwrap()[0], ColumnData::F64(None));
    let mut b = Float64Builder::new();
    b.append_value(-0.0);
    let a: ArrayRef = Arc::new(b.finish());
    let e = encoder(
        LogicalType::Float64,
        Conversion::Exact,
        &target("float", 8, 53, 0),
    );
    assert!(encode(&e, a).is_err());
    // A double never goes into real.
    let c = col(LogicalType::Float64, Conversion::Exact);
    assert!(choose(&c, &arrow_type(&c.logical), &target("real", 4, 24, 0)).is_err());
}

#[test]
fn arrays_become_json_text() {
    let mut b = ListBuilder::new(StringBuilder::new());
    b.values().append_value("a\"b");
    b.values().append_null();
    b.append(true);
    let logical = LogicalType::Array {
        element: Box::new(LogicalType::Text { max_bytes: None }),
    };
    let e = encoder(logical, Conversion::Exact, &target("nvarchar", -1, 0, 0));
    assert_eq!(
        encode(&e, Arc::new(b.finish())).unwrap()[0],
        ColumnData::String(Some("[\"a\\\"b\",null]".into()))
    );
}

#[test]
fn computed_and_rowversion_targets_are_refused_before_any_row() {
    let mut t = target("timestamp", 8, 0, 0);
    t.computed = true;
    let c = col(LogicalType::Binary { length: Some(8) }, Conversion::Exact);
    let e = choose(&c, &arrow_type(&c.logical), &t).unwrap_err();
    assert!(e.contains("server sets it"), "{e}");
}

#[test]
fn columns_of_a_table_not_created_yet_come_from_its_ddl() {
    let t = target_from_ddl("c", "nvarchar(40) COLLATE Latin1_General_100_BIN2");
    assert_eq!((t.type_name.as_str(), t.max_length), ("nvarchar", 80));
    let t = target_from_ddl("c", "nvarchar(max) COLLATE Latin1_General_100_BIN2");
    assert_eq!(t.max_length, -1);
    let t = target_from_ddl("c", "decimal(38,10)");
    assert_eq!((t.precision, t.scale), (38, 10));
    let t = target_from_ddl("c", "datetime2(6)");
    assert_eq!(t.scale, 6);
    assert!(target_from_ddl("c", "rowversion").computed);
}

/// tiberius names nvarchar(n) by its byte length and time/datetimeoffset
/// without a scale in INSERT BULK: such targets are refused before any row,
/// and the tables ferry creates avoid them.
#[test]
fn declarations_tiberius_cannot_bulk_load_are_refused_up_front() {
    let v = LogicalType::Varchar { length: None };
    let c = col(v.clone(), Conversion::Exact);
    let e = choose(&c, &arrow_type(&v), &target("nvarchar", 6000, 0, 0)).unwrap_err();
    assert!(e.contains("nvarchar(3000)") && e.contains("2000"), "{e}");
    assert!(choose(&c, &arrow_type(&v), &target("nvarchar", 4000, 0, 0)).is_ok());
    assert!(choose(&c, &arrow_type(&v), &target("nvarchar", -1, 0, 0)).is_ok());
    let t = LogicalType::Time { precision: 6 };
    let c = col(t.clone(), Conversion::Exact);
    let e = choose(&c, &arrow_type(&t), &target("time", 4, 12, 3)).unwrap_err();
    assert!(e.contains("scale 7"), "{e}");
    assert!(choose(&c, &arrow_type(&t), &target("time", 5, 16, 7)).is_ok());
}

/// Every hub type through SQL Server and back at value level: each Arrow
/// value is encoded for the column the write rules create, and the value
/// SQL Server would return for it (the same `ColumnData`: the server stores
/// these types as sent) decodes to the same Arrow value. What a live
/// server adds (its storage) is covered by the live tests.
#[test]
fn hub_values_come_back_unchanged_through_sql_server_columns() {
    use crate::decode::Decoder;
    use arrow_array::Array;
    use LogicalType as L;

    fn round_trip(logical: LogicalType, ddl: &str, a: ArrayRef) {
        let c = col(logical.clone(), Conversion::Exact);
        let t = target_from_ddl("c", ddl);
        let e = choose(&c, &arrow_type(&logical), &t).unwrap_or_else(|e| panic!("{ddl}: {e}"));
        let sent = encode(&e, a.clone()).unwrap_or_else(|(r, p)| panic!("{ddl} row {r}: {p}"));
        let mut d = Decoder::for_column(&c, sent.len()).unwrap();
        for v in sent {
            d.push(v).unwrap_or_else(|p| panic!("{ddl}: {p}"));
        }
        let back = d.finish();
        assert_eq!(back.to_data(), a.to_data(), "{logical} through {ddl}");
    }

    let mut b = Int64Builder::new();
    b.extend([Some(i64::MIN), Some(i64::MAX), None, Some(0)]);
    round_trip(L::Int64, "bigint", Arc::new(b.finish()));
    let mut b = UInt8Builder::new();
    b.extend([Some(0), Some(255), None]);
    round_trip(L::UInt8, "tinyint", Arc::new(b.finish()));
    let mut b = BooleanBuilder::new();
    b.extend([Some(true), Some(false), None]);
    round_trip(L::Bool, "bit", Arc::new(b.finish()));
    let mut b = Float64Builder::new();
    b.extend([Some(f64::MAX), Some(4.9e-324), Some(0.1), None]);
    round_trip(L::Float64, "float", Arc::new(b.finish()));
    let mut b = Float32Builder::new();
    b.extend([Some(f32::MIN), Some(0.1), None]);
    round_trip(L::Float32, "real", Arc::new(b.finish()));
    round_trip(
        L::Decimal {
            precision: Some(12),
            scale: Some(2),
        },
        "decimal(12,2)",
        strings(&[Some("-9999999999.99"), Some("0.01"), Some("0.00"), None]),
    );
    round_trip(
        L::Varchar { length: Some(20) },
        "nvarchar(20) COLLATE Latin1_General_100_BIN2",
        strings(&[Some("x😀𝐏 tab\tend"), Some(""), Some("a\0b"), None]),
    );
    round_trip(
        L::Text { max_bytes: None },
        "nvarchar(max) COLLATE Latin1_General_100_BIN2",
        strings(&[Some(&"é".repeat(9000)), None]),
    );
    let mut b = BinaryBuilder::new();
    b.append_value([0u8, 255, 10, 92]);
    b.append_value([]);
    b.append_null();
    round_trip(
        L::VarBinary {
            length: None,
            max_bytes: None,
        },
        "varbinary(max)",
        Arc::new(b.finish()),
    );
    let mut b = Date32Builder::new();
    b.extend([Some(-719_162), Some(2_932_896), Some(0), None]);
    round_trip(L::Date, "date", Arc::new(b.finish()));
    let mut b = Time64MicrosecondBuilder::new();
    b.extend([Some(0), Some(86_399_999_999), Some(45_296_789_012), None]);
    round_trip(L::Time { precision: 6 }, "time(7)", Arc::new(b.finish()));
    let mut b = TimestampMicrosecondBuilder::new();
    b.extend([
        Some(-62_135_596_800_000_000),
        Some(253_402_300_799_999_999),
        Some(1_709_208_000_123_456),
        None,
    ]);
    round_trip(
        L::Timestamp { precision: 6 },
        "datetime2(6)",
        Arc::new(b.finish()),
    );
    let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    b.extend([
        Some(-62_135_596_800_000_000),
        Some(1_717_243_200_000_000),
        None,
    ]);
    round_trip(
        L::TimestampTz { precision: 6 },
        "datetimeoffset(7)",
        Arc::new(b.finish()),
    );
    let mut b = TimestampMicrosecondBuilder::new();
    // datetime: only tick milliseconds exist; these are ticks 0, 1, 2, 299.
    b.extend([Some(0), Some(3_000), Some(7_000), Some(997_000), None]);
    round_trip(
        L::Timestamp { precision: 3 },
        "datetime",
        Arc::new(b.finish()),
    );
    let u = ferry_core::hex::parse_uuid("825b076b-44ec-e511-80dc-00155d0abc54").unwrap();
    let a: ArrayRef = Arc::new(
        FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            [Some(u), None, Some([0xff; 16])].into_iter(),
            16,
        )
        .unwrap(),
    );
    round_trip(L::Uuid, "uniqueidentifier", a);
    round_trip(
        L::Xml,
        "xml",
        strings(&[Some("<r a=\"1\">x &amp; y</r>"), None]),
    );
}
