use super::*;
use arrow_array::cast::AsArray;
use arrow_array::Array;

#[test]
fn ints_exact() {
    assert_eq!(
        int_as::<u64>(&Value::UInt(u64::MAX), "bigint unsigned").unwrap(),
        u64::MAX
    );
    assert_eq!(int_as::<i8>(&Value::Int(-128), "tinyint").unwrap(), -128);
    assert_eq!(int_as::<u8>(&Value::Int(255), "tinyint").unwrap(), 255);
    assert!(int_as::<i8>(&Value::Int(128), "tinyint").is_err());
    assert!(int_as::<u64>(&Value::Int(-1), "bigint unsigned").is_err());
    assert_eq!(
        int_as::<u64>(&Value::Bytes(b"18446744073709551615".to_vec()), "x").unwrap(),
        u64::MAX
    );
}

#[test]
fn tinyint1_boolean_is_strict() {
    assert!(!bool_of(&Value::Int(0)).unwrap());
    assert!(bool_of(&Value::Int(1)).unwrap());
    let e = bool_of(&Value::Int(2)).unwrap_err();
    assert!(e.contains("other than 0 or 1"), "{e}");
    assert!(!e.contains('2'));
    assert!(bool_of(&Value::Int(-1)).is_err());
}

#[test]
fn floats_keep_bits() {
    let f = f32_of(&Value::Float(0.1)).unwrap();
    assert_eq!(f.to_bits(), 0.1f32.to_bits());
    let z = f64_of(&Value::Double(-0.0)).unwrap();
    assert!(z.is_sign_negative() && z == 0.0);
    let tiny = f64_of(&Value::Double(4.9e-324)).unwrap();
    assert_eq!(tiny.to_bits(), 1);
}

#[test]
fn decimals() {
    assert_eq!(
        decimal_text(&Value::Bytes(b"-12.340".to_vec())).unwrap(),
        "-12.340"
    );
    assert!(is_canonical_decimal("0"));
    assert!(!is_canonical_decimal("1."));
    assert!(!is_canonical_decimal("1e5"));
    assert!(!is_canonical_decimal(""));
}

#[test]
fn zero_and_partial_dates() {
    assert_eq!(date_days(1970, 1, 1).unwrap(), 0);
    assert_eq!(date_days(1000, 1, 1).unwrap(), -354_285);
    assert_eq!(date_days(9999, 12, 31).unwrap(), 2_932_896);
    for (y, m, d) in [(0, 0, 0), (2016, 7, 0), (2025, 0, 15)] {
        let e = date_days(y, m, d).unwrap_err();
        assert!(e.contains("zero or partial date"), "{e}");
    }
}

#[test]
fn zero_date_to_null_decoder() {
    let mut col = plan_col(LogicalType::Date, true);
    col.conversion = Conversion::ZeroDateToNull;
    let mut d = Decoder::for_column(&col, 4).unwrap();
    d.push(Value::Date(0, 0, 0, 0, 0, 0, 0)).unwrap();
    d.push(Value::Date(2016, 7, 0, 0, 0, 0, 0)).unwrap();
    d.push(Value::Date(1970, 1, 2, 0, 0, 0, 0)).unwrap();
    let a = d.finish();
    assert_eq!(a.null_count(), 2);
    assert_eq!(a.len(), 3);
    col.conversion = Conversion::Exact;
    let mut d = Decoder::for_column(&col, 4).unwrap();
    d.push(Value::Date(2016, 7, 0, 0, 0, 0, 0)).unwrap();
    assert!(d.push(Value::Date(2023, 2, 31, 0, 0, 0, 0)).is_err());
    assert_eq!(d.len(), 2, "a refused value still leaves a slot");
    let a = d.finish();
    let a = a.as_primitive::<arrow_array::types::Date32Type>();
    assert_eq!(
        ferry_core::zerodate::of_days(a.value(0)),
        Some((2016, 7, 0))
    );
    col.nullable = false;
    col.conversion = Conversion::ZeroDateToNull;
    assert!(Decoder::for_column(&col, 4).is_err());
}

#[test]
fn datetimes_and_durations() {
    assert_eq!(
        datetime_micros(&Value::Date(1970, 1, 1, 0, 0, 1, 0)).unwrap(),
        1_000_000
    );
    assert_eq!(
        datetime_micros(&Value::Date(2038, 1, 19, 3, 14, 7, 0)).unwrap(),
        2_147_483_647_000_000
    );
    assert_eq!(
        datetime_micros(&Value::Date(9999, 12, 31, 23, 59, 59, 999_999)).unwrap(),
        253_402_300_799_999_999
    );
    let max = (838 * 3600 + 59 * 60 + 59) * 1_000_000i64;
    assert_eq!(duration_micros(false, 34, 22, 59, 59, 0), max);
    assert_eq!(duration_micros(true, 34, 22, 59, 59, 0), -max);
    assert_eq!(duration_micros(true, 0, 0, 0, 1, 0), -1_000_000);
    assert_eq!(
        duration_micros(false, 1, 1, 30, 0, 0),
        25 * 3600 * 1_000_000 + 30 * 60 * 1_000_000
    );
}

#[test]
fn bits() {
    assert_eq!(bit_text(&[1], 1).unwrap(), "1");
    assert_eq!(bit_text(&[0b101], 3).unwrap(), "101");
    assert_eq!(bit_text(&[0x01, 0x02], 10).unwrap(), "0100000010");
    assert_eq!(bit_text(&[0xff; 8], 64).unwrap(), "1".repeat(64));
    assert!(bit_text(&[0b1000], 3).is_err());
    assert_eq!(bit_text(&[], 2).unwrap(), "00");
}

#[test]
fn set_decoding() {
    let col = plan_col(
        LogicalType::Set {
            values: vec!["a".into(), "b".into()],
        },
        true,
    );
    let mut d = Decoder::for_column(&col, 4).unwrap();
    d.push(Value::Bytes(b"a,b".to_vec())).unwrap();
    d.push(Value::Bytes(Vec::new())).unwrap();
    d.push(Value::NULL).unwrap();
    let a = d.finish();
    assert_eq!(a.data_type(), &ferry_core::arrow::arrow_type(&col.logical));
    let l = a.as_list::<i32>();
    assert_eq!(l.value(0).len(), 2);
    assert_eq!(l.value(1).len(), 0);
    assert!(l.is_valid(1));
    assert!(l.is_null(2));
}

/// Issue 19: the enum error value (index 0) is told from a declared ''
/// label by its index, and refused unless a rule was chosen.
#[test]
fn enum_by_index_tells_the_error_value_from_an_empty_label() {
    let mut col = plan_col(
        LogicalType::Enum {
            name: None,
            values: vec![String::new(), "x".into()],
        },
        true,
    );
    col.raw.name = "enum".into();
    col.raw.values = vec![String::new(), "x".into()];
    assert!(reads_enum_index(&col));
    let mut d = Decoder::for_column(&col, 4).unwrap();
    d.push(Value::Int(1)).unwrap();
    d.push(Value::UInt(2)).unwrap();
    d.push(Value::NULL).unwrap();
    assert_eq!(d.push(Value::Int(0)).unwrap_err(), ENUM_ERROR_REFUSED);
    assert!(d.push(Value::Int(3)).is_err());
    let a = d.finish();
    let a = a.as_string::<i32>();
    assert_eq!((a.value(0), a.value(1), a.is_null(2)), ("", "x", true));
    for (conv, null) in [
        (Conversion::EnumErrorToNull, true),
        (Conversion::EnumErrorToEmptyLabel, false),
    ] {
        col.conversion = conv;
        let mut d = Decoder::for_column(&col, 1).unwrap();
        d.push(Value::Int(0)).unwrap();
        let a = d.finish();
        assert_eq!(a.is_null(0), null, "{conv:?}");
    }
    col.nullable = false;
    col.conversion = Conversion::EnumErrorToNull;
    assert!(Decoder::for_column(&col, 1).is_err());
}

/// Issue 19: MariaDB's UUID arrives as text and must become the hub's 16 bytes.
#[test]
fn mariadb_uuid_text_becomes_sixteen_bytes() {
    let text = Value::Bytes(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".to_vec());
    let b = uuid_bytes(&text).unwrap();
    assert_eq!(b[0], 0xa0);
    assert_eq!(b[15], 0x11);
    assert_eq!(uuid_bytes(&Value::Bytes(b.to_vec())).unwrap(), b);
    assert!(uuid_bytes(&Value::Bytes(b"not-a-uuid".to_vec())).is_err());
    let mut d = Decoder::for_column(&plan_col(LogicalType::Uuid, true), 1).unwrap();
    d.push(text).unwrap();
    d.push(Value::NULL).unwrap();
    assert_eq!(d.finish().len(), 2);
}

#[test]
fn arrow_types_match_the_hub() {
    use LogicalType as L;
    for t in [
        L::Bool,
        L::UInt64,
        L::Float32,
        L::Decimal {
            precision: Some(65),
            scale: Some(30),
        },
        L::Text { max_bytes: None },
        L::VarBinary {
            length: None,
            max_bytes: None,
        },
        L::Date,
        L::Timestamp { precision: 6 },
        L::TimestampTz { precision: 0 },
        L::Duration { precision: 6 },
        L::Year,
        L::Bit {
            length: Some(64),
            varying: false,
        },
        L::Json,
        L::Uuid,
        L::Inet,
    ] {
        let mut d = Decoder::for_column(&plan_col(t.clone(), true), 1).unwrap();
        assert_eq!(
            d.finish().data_type(),
            &ferry_core::arrow::arrow_type(&t),
            "{t}"
        );
    }
}

pub(crate) fn plan_col(logical: LogicalType, nullable: bool) -> ColumnPlan {
    ColumnPlan {
        name: "c".into(),
        source_type: "x".into(),
        raw: Default::default(),
        logical,
        nullable,
        conversion: Conversion::Exact,
        target_type: "x".into(),
        rule: "test".into(),
        stored_as: None,
        expr: None,
    }
}
