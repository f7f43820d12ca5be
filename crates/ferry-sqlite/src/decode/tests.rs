use super::*;
use arrow_array::cast::AsArray;
use arrow_array::Array;

pub(crate) fn col(logical: LogicalType) -> ColumnPlan {
    ColumnPlan {
        name: "c".into(),
        source_type: "x".into(),
        logical,
        nullable: true,
        ..ColumnPlan::default()
    }
}

#[test]
fn integers_refuse_other_storage_classes_and_ranges() {
    let r = Reading::for_column(&col(LogicalType::Int16)).unwrap();
    assert!(r.check(ValueRef::Integer(-32768)).is_ok());
    let e = r.check(ValueRef::Integer(40_000)).unwrap_err();
    assert!(e.contains("outside") && !e.contains("40000"), "{e}");
    for v in [
        ValueRef::Real(1.5),
        ValueRef::Text(b"12"),
        ValueRef::Text(b""),
        ValueRef::Blob(b"\x00"),
    ] {
        let e = r.check(v).unwrap_err();
        assert!(e.contains(class_name(&v)), "{e}");
    }
    assert!(r.check(ValueRef::Null).is_ok());
    let big = Reading::for_column(&col(LogicalType::Int64)).unwrap();
    assert!(big.check(ValueRef::Integer(i64::MIN)).is_ok());
    assert!(big.check(ValueRef::Real(9.3e18)).is_err());
}

#[test]
fn booleans_are_zero_or_one_only() {
    assert_eq!(bool_of(ValueRef::Integer(1)), Ok(true));
    assert!(bool_of(ValueRef::Integer(2)).is_err());
    assert!(bool_of(ValueRef::Text(b"true")).is_err());
}

#[test]
fn reals_keep_their_bits_and_infinities() {
    assert_eq!(
        f64_of(ValueRef::Real(-0.0)).unwrap().to_bits(),
        (-0.0f64).to_bits()
    );
    assert_eq!(f64_of(ValueRef::Real(f64::INFINITY)), Ok(f64::INFINITY));
    assert_eq!(f64_of(ValueRef::Integer(3)), Ok(3.0));
    assert!(f64_of(ValueRef::Integer(i64::MAX)).is_err());
    assert!(f64_of(ValueRef::Text(b"1.5")).is_err());
    assert!(f32_of(ValueRef::Real(0.1)).is_err());
    assert_eq!(f32_of(ValueRef::Real(f64::from(0.1f32))), Ok(0.1f32));
}

#[test]
fn decimals_read_as_exact_text_within_the_declaration() {
    let mut s = String::new();
    for (f, text) in [
        (0.1, "0.1"),
        (-12.5, "-12.5"),
        (1e-7, "0.0000001"),
        (1.5e20, "150000000000000000000"),
        (100.0, "100"),
        (0.30000000000000004, "0.30000000000000004"),
        (-0.0, "0"),
    ] {
        plain_decimal(f, &mut s);
        assert_eq!(s, text, "{f}");
    }
    let mut scratch = String::new();
    assert_eq!(
        decimal_text(ValueRef::Real(19.99), Some(12), Some(2), &mut scratch),
        Ok("19.99")
    );
    let e = decimal_text(
        ValueRef::Real(0.30000000000000004),
        Some(12),
        Some(2),
        &mut scratch,
    )
    .unwrap_err();
    assert!(e.contains("numeric(12,2)") && e.starts_with("REAL"), "{e}");
    assert_eq!(
        decimal_text(ValueRef::Integer(-42), None, None, &mut scratch),
        Ok("-42")
    );
    assert_eq!(
        decimal_text(
            ValueRef::Text(b"12345678901234567890.123456789"),
            Some(30),
            Some(9),
            &mut scratch
        ),
        Ok("12345678901234567890.123456789")
    );
    assert!(decimal_text(ValueRef::Text(b"12abc"), None, None, &mut scratch).is_err());
    assert!(decimal_text(ValueRef::Text(b""), None, None, &mut scratch).is_err());
    assert_eq!(
        decimal_text(ValueRef::Real(f64::NEG_INFINITY), None, None, &mut scratch),
        Ok("-Infinity")
    );
    assert!(decimal_text(ValueRef::Integer(1000), Some(3), Some(0), &mut scratch).is_err());
}

#[test]
fn text_is_utf8_within_its_declared_length_and_empty_is_not_null() {
    assert_eq!(text_of(ValueRef::Text(b""), None), Ok(""));
    assert_eq!(
        text_of(ValueRef::Text("a\0b😀".as_bytes()), Some(4)),
        Ok("a\0b😀")
    );
    assert!(text_of(ValueRef::Text("abcde".as_bytes()), Some(4)).is_err());
    assert!(text_of(ValueRef::Text(b"\xff"), None).is_err());
    assert!(text_of(ValueRef::Integer(1), None)
        .unwrap_err()
        .contains("INTEGER"));
    let mut scratch = String::new();
    assert_eq!(json_text(ValueRef::Integer(7), &mut scratch), Ok("7"));
    assert!(json_text(ValueRef::Text(b"{\"a\":"), &mut scratch).is_err());
}

#[test]
fn blobs_keep_nul_bytes_and_uuids_take_both_forms() {
    assert_eq!(
        bytes_of(ValueRef::Blob(b"\x00\xff\x00"), None, None),
        Ok(&b"\x00\xff\x00"[..])
    );
    assert!(bytes_of(ValueRef::Text(b"x"), None, None).is_err());
    assert!(bytes_of(ValueRef::Blob(b"ab"), Some(3), None).is_err());
    let u = uuid_of(ValueRef::Text(b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")).unwrap();
    assert_eq!(uuid_of(ValueRef::Blob(&u)), Ok(u));
    assert!(uuid_of(ValueRef::Text(b"a0eebc999c0b4ef8bb6d6bb9bd380a11")).is_err());
}

#[test]
fn dates_in_all_three_forms() {
    let iso = TimeStorage::Iso8601;
    assert_eq!(
        date_of(ValueRef::Text(b"2024-06-01"), iso, false),
        Ok(Some(19_875))
    );
    assert_eq!(
        date_of(ValueRef::Real(2_460_462.5), TimeStorage::JulianDay, false),
        Ok(Some(19_875))
    );
    assert_eq!(
        date_of(
            ValueRef::Integer(1_717_200_000),
            TimeStorage::UnixEpoch,
            false
        ),
        Ok(Some(19_875))
    );
    let e = date_of(ValueRef::Integer(1_717_200_000), iso, false).unwrap_err();
    assert!(e.contains("INTEGER") && e.contains("stored_as"), "{e}");
    assert!(date_of(ValueRef::Real(2_460_462.75), TimeStorage::JulianDay, false).is_err());
    assert!(date_of(ValueRef::Text(b"2024-13-01"), iso, false).is_err());
    assert_eq!(date_of(ValueRef::Text(b"0000-00-00"), iso, true), Ok(None));
    assert!(date_of(ValueRef::Text(b"0000-00-00"), iso, false)
        .unwrap_err()
        .contains("zero_date_to_null"));
    assert_eq!(
        timestamp_of(ValueRef::Real(1.25), TimeStorage::UnixEpoch, false, false),
        Ok(Some(1_250_000))
    );
    assert_eq!(
        timestamp_of(
            ValueRef::Text(b"2024-06-01 12:00:00+02:00"),
            iso,
            true,
            false
        ),
        Ok(Some(1_717_236_000_000_000))
    );
}

#[test]
fn decoders_build_the_hub_arrow_types() {
    use LogicalType as L;
    for (t, v) in [
        (L::Bool, ValueRef::Integer(1)),
        (L::Int8, ValueRef::Integer(-1)),
        (L::UInt64, ValueRef::Integer(7)),
        (L::Float64, ValueRef::Real(1.5)),
        (
            L::Decimal {
                precision: Some(12),
                scale: Some(2),
            },
            ValueRef::Real(1.5),
        ),
        (L::Text { max_bytes: None }, ValueRef::Text(b"x")),
        (L::Json, ValueRef::Text(b"[1]")),
        (
            L::VarBinary {
                length: None,
                max_bytes: None,
            },
            ValueRef::Blob(b"\x00"),
        ),
        (L::Uuid, ValueRef::Blob(&[7; 16])),
        (L::Date, ValueRef::Text(b"2024-01-01")),
        (L::Time { precision: 6 }, ValueRef::Text(b"12:00:00")),
        (
            L::Timestamp { precision: 6 },
            ValueRef::Text(b"2024-01-01 00:00:00"),
        ),
        (
            L::TimestampTz { precision: 6 },
            ValueRef::Text(b"2024-01-01 00:00:00Z"),
        ),
        (L::Interval, ValueRef::Text(b"P1D")),
    ] {
        let mut d = Decoder::for_column(&col(t.clone()), 2).unwrap();
        d.push(v).unwrap();
        d.push(ValueRef::Null).unwrap();
        let a = d.finish();
        assert_eq!(a.data_type(), &ferry_core::arrow::arrow_type(&t), "{t}");
        assert_eq!((a.len(), a.null_count()), (2, 1), "{t}");
    }
    let mut d = Decoder::for_column(&col(L::Int16), 2).unwrap();
    assert!(d.push(ValueRef::Text(b"x")).is_err());
    assert_eq!(d.len(), 1, "a refused value still leaves a slot");
    let a = d.finish();
    assert!(a.as_primitive::<arrow_array::types::Int16Type>().is_null(0));
}

/// The pre-flight's shortcuts (a class that always or never fits, a SQL
/// range) say what `check` says, value by value.
#[test]
fn class_shortcuts_agree_with_the_value_checks() {
    use LogicalType as L;
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let values: Vec<rusqlite::types::Value> = vec![
        0i64.into(),
        1i64.into(),
        2i64.into(),
        (-129i64).into(),
        40_000i64.into(),
        i64::MAX.into(),
        i64::MIN.into(),
        (1i64 << 53).into(),
        ((1i64 << 53) + 1).into(),
        0.5f64.into(),
        f64::INFINITY.into(),
        "x".to_string().into(),
        vec![1u8, 2].into(),
    ];
    for t in [
        L::Bool,
        L::Int8,
        L::Int16,
        L::Int64,
        L::UInt64,
        L::Float64,
        L::Decimal {
            precision: None,
            scale: None,
        },
        L::Json,
        L::VarBinary {
            length: None,
            max_bytes: None,
        },
        L::Text { max_bytes: None },
        L::Date,
    ] {
        let r = Reading::for_column(&col(t.clone())).unwrap();
        for v in &values {
            let class = match v {
                rusqlite::types::Value::Integer(_) => "integer",
                rusqlite::types::Value::Real(_) => "real",
                rusqlite::types::Value::Text(_) => "text",
                rusqlite::types::Value::Blob(_) => "blob",
                rusqlite::types::Value::Null => continue,
            };
            let by_class = match r.class_fit(class) {
                ClassFit::Always => Some(true),
                ClassFit::Never => Some(false),
                ClassFit::When(cond) => Some(
                    conn.query_row(
                        &format!("SELECT {}", cond.replace("{c}", "?1")),
                        [v],
                        |row| row.get::<_, bool>(0),
                    )
                    .unwrap(),
                ),
                ClassFit::Content => None,
            };
            if let Some(fits) = by_class {
                assert_eq!(
                    fits,
                    r.check(rusqlite::types::ValueRef::from(v)).is_ok(),
                    "{t} {v:?}"
                );
            }
        }
    }
}
