//! Binary log row values → the values the copy's decoders read.
//!
//! A row event stores each column in its storage form, which is not always
//! the form a `SELECT` returns: integers without their signedness (unless
//! the server logs `binlog_row_metadata=FULL`), ENUM as an index, SET as a
//! bit mask, TIMESTAMP as seconds since the epoch, YEAR 0000 as "1900",
//! fixed-width binary with its trailing zero bytes stripped, MariaDB's
//! INET4/INET6 as raw address bytes, text in the column's character set.
//! Each column gets a [`BinlogColumn`] once, from the catalog, that turns
//! its storage form into exactly what the copy's reader would have seen;
//! the copy's own [`Decoder`](crate::decode::Decoder) then applies the
//! job's rules (zero dates, booleans, ranges) unchanged. So a change is
//! decoded exactly as a copied row.

use std::net::Ipv4Addr;

use chrono::{DateTime, Datelike, Timelike};
use ferry_core::net::ipv6_text;
use ferry_core::RawType;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value;

use crate::decode::Problem;

/// How one column's binary log value becomes a copy-form value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinlogColumn {
    /// The storage form is the read form (signed integers, floats, DECIMAL
    /// text, dates, times, variable text and bytes, BIT, MariaDB JSON).
    Plain,
    /// An unsigned integer of `bits` bits, logged as a signed one.
    Unsigned { bits: u32 },
    /// A signed MEDIUMINT: mysql_common 0.35 reads the 3 logged bytes
    /// without extending their sign (-8388608 comes back as 8388608).
    Signed24,
    /// YEAR: logged as `1900 + stored`, where stored 0 means 0000.
    Year,
    /// ENUM: the 1-based index of a label (0 is the empty error value).
    Enum(Vec<String>),
    /// ENUM read by its index, as the copy reads it (see
    /// [`crate::decode::reads_enum_index`]): the logged index is the read form.
    EnumIndex,
    /// SET: a little-endian bit mask over the labels.
    Set(Vec<String>),
    /// TIMESTAMP: seconds (and µs) since the epoch; the copy reads it in UTC.
    Timestamp,
    /// BINARY(n) and MariaDB UUID: trailing zero bytes are stripped in the log.
    FixedBinary(usize),
    /// MariaDB INET4: 4 address bytes (trailing zeros stripped), read as text.
    Inet4,
    /// MariaDB INET6: 16 address bytes (trailing zeros stripped), read as text.
    Inet6,
    /// MySQL JSON: its binary form, rendered as JSON text.
    Json,
    /// Text in a character set ferry decodes itself (latin1, gbk, sjis…;
    /// see [`crate::charset`]): the logged bytes are the raw bytes the copy
    /// selects, passed on for the copy's decoder, which holds the server's
    /// own table for the set ([`crate::decode::Decoder::with_charset`]).
    RawText,
}

impl BinlogColumn {
    /// Chooses the conversion of a plan's column: as
    /// [`for_column`](Self::for_column), except that an ENUM the copy
    /// reads by its index keeps the logged index, so the copy's decoder
    /// tells the error value (index 0) from a declared `''` label.
    pub fn for_plan_column(
        col: &ferry_core::ColumnPlan,
        charset: Option<&str>,
    ) -> Result<BinlogColumn, String> {
        if crate::decode::reads_enum_index(col) {
            return Ok(BinlogColumn::EnumIndex);
        }
        BinlogColumn::for_column(&col.raw, charset)
    }

    /// Chooses the conversion of a column from its catalog type and
    /// character set. `Err` says why its changes cannot be read.
    pub fn for_column(raw: &RawType, charset: Option<&str>) -> Result<BinlogColumn, String> {
        let bits = match raw.name.as_str() {
            "tinyint" => 8,
            "smallint" => 16,
            "mediumint" => 24,
            "int" | "integer" => 32,
            "bigint" => 64,
            _ => 0,
        };
        if bits > 0 {
            return Ok(match (raw.unsigned, bits) {
                (true, _) => BinlogColumn::Unsigned { bits },
                (false, 24) => BinlogColumn::Signed24,
                (false, _) => BinlogColumn::Plain,
            });
        }
        Ok(match raw.name.as_str() {
            "year" => BinlogColumn::Year,
            "enum" => BinlogColumn::Enum(raw.values.clone()),
            "set" => BinlogColumn::Set(raw.values.clone()),
            "timestamp" => BinlogColumn::Timestamp,
            "binary" => BinlogColumn::FixedBinary(raw.length.unwrap_or(0) as usize),
            "uuid" => BinlogColumn::FixedBinary(16),
            "inet4" => BinlogColumn::Inet4,
            "inet6" => BinlogColumn::Inet6,
            // MySQL's JSON is binary in the log; MariaDB's is LONGTEXT
            // (`Plain` bytes), which `convert` tells apart by the value.
            "json" => BinlogColumn::Json,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => {
                match charset.map(str::to_ascii_lowercase) {
                    Some(c) if crate::charset::reads_raw(&c) => BinlogColumn::RawText,
                    _ => BinlogColumn::Plain,
                }
            }
            // Geometries are logged in their stored form (SRID, then WKB),
            // the form the copy selects: `Plain`.
            _ => BinlogColumn::Plain,
        })
    }

    /// Converts one logged value (NULL stays NULL).
    pub fn convert(&self, v: BinlogValue<'_>) -> Result<Value, Problem> {
        let v = match v {
            BinlogValue::Value(v) => v,
            BinlogValue::Jsonb(j) => {
                let json = serde_json::Value::try_from(j)
                    .map_err(|_| Problem::from("JSON that cannot be rendered as text"))?;
                return Ok(Value::Bytes(json.to_string().into_bytes()));
            }
            BinlogValue::JsonDiff(_) => {
                return Err(
                    "a partial JSON update (binlog_row_value_options=PARTIAL_JSON): \
                     set it to '' on the source"
                        .into(),
                )
            }
        };
        if v == Value::NULL {
            return Ok(v);
        }
        match self {
            BinlogColumn::Plain | BinlogColumn::Json | BinlogColumn::RawText => Ok(v),
            BinlogColumn::Unsigned { bits } => unsigned(v, *bits),
            BinlogColumn::Signed24 => match v {
                Value::Int(i) => Ok(Value::Int(((i & 0xff_ffff) ^ 0x80_0000) - 0x80_0000)),
                _ => Err("a MEDIUMINT logged as something else".into()),
            },
            BinlogColumn::Year => match &v {
                Value::Bytes(b) if b == b"1900" => Ok(Value::Int(0)),
                _ => Ok(v),
            },
            BinlogColumn::Enum(labels) => {
                let index = match v {
                    Value::Int(i) => usize::try_from(i).ok(),
                    Value::UInt(u) => usize::try_from(u).ok(),
                    _ => None,
                }
                .ok_or_else(|| Problem::from("an ENUM value that is not an index"))?;
                match index {
                    0 => Ok(Value::Bytes(Vec::new())),
                    i => labels
                        .get(i - 1)
                        .map(|l| Value::Bytes(l.clone().into_bytes()))
                        .ok_or_else(|| "an ENUM index beyond the column's labels".into()),
                }
            }
            BinlogColumn::EnumIndex => match v {
                Value::Int(_) | Value::UInt(_) => Ok(v),
                _ => Err("an ENUM value that is not an index".into()),
            },
            BinlogColumn::Set(labels) => {
                let Value::Bytes(mask) = v else {
                    return Err("a SET value that is not a bit mask".into());
                };
                let mut out = Vec::new();
                for (i, label) in labels.iter().enumerate() {
                    if mask.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0) {
                        out.push(label.as_str());
                    }
                }
                Ok(Value::Bytes(out.join(",").into_bytes()))
            }
            BinlogColumn::Timestamp => timestamp(&v),
            BinlogColumn::FixedBinary(len) => match v {
                Value::Bytes(mut b) => {
                    if b.len() < *len {
                        b.resize(*len, 0);
                    }
                    Ok(Value::Bytes(b))
                }
                other => Ok(other),
            },
            BinlogColumn::Inet4 => {
                let b = padded::<4>(&v)?;
                Ok(Value::Bytes(Ipv4Addr::from(b).to_string().into_bytes()))
            }
            BinlogColumn::Inet6 => {
                let b = padded::<16>(&v)?;
                Ok(Value::Bytes(ipv6_text(b).into_bytes()))
            }
        }
    }
}

/// A signed-logged integer of `bits` bits read as unsigned.
fn unsigned(v: Value, bits: u32) -> Result<Value, Problem> {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    match v {
        // Two's complement: the bit pattern is the unsigned value.
        Value::Int(i) => Ok(Value::UInt(i as u64 & mask)),
        Value::UInt(u) => Ok(Value::UInt(u)),
        _ => Err("an integer column logged as something else".into()),
    }
}

/// `seconds[.micros]` since the epoch → the UTC date-time a `SELECT` in a
/// `+00:00` session returns; 0 is the zero timestamp `0000-00-00 00:00:00`.
fn timestamp(v: &Value) -> Result<Value, Problem> {
    let Value::Bytes(b) = v else {
        return Err("a TIMESTAMP value that is not seconds".into());
    };
    let bad = || Problem::from("a TIMESTAMP value that is not seconds");
    let text = std::str::from_utf8(b).map_err(|_| bad())?;
    let (secs, micros) = match text.split_once('.') {
        Some((s, f)) => (s, f),
        None => (text, "0"),
    };
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let micros: u32 = micros.parse().map_err(|_| bad())?;
    if secs == 0 && micros == 0 {
        return Ok(Value::Date(0, 0, 0, 0, 0, 0, 0));
    }
    let t = DateTime::from_timestamp(secs, micros * 1000).ok_or_else(bad)?;
    Ok(Value::Date(
        u16::try_from(t.year()).map_err(|_| bad())?,
        u8::try_from(t.month()).map_err(|_| bad())?,
        u8::try_from(t.day()).map_err(|_| bad())?,
        u8::try_from(t.hour()).map_err(|_| bad())?,
        u8::try_from(t.minute()).map_err(|_| bad())?,
        u8::try_from(t.second()).map_err(|_| bad())?,
        micros,
    ))
}

fn padded<const N: usize>(v: &Value) -> Result<[u8; N], Problem> {
    let Value::Bytes(b) = v else {
        return Err("an address that is not bytes".into());
    };
    if b.len() > N {
        return Err("an address longer than its type".into());
    }
    let mut out = [0u8; N];
    out[..b.len()].copy_from_slice(b);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str) -> RawType {
        RawType {
            name: name.into(),
            ..RawType::default()
        }
    }

    fn conv(c: &BinlogColumn, v: Value) -> Value {
        c.convert(BinlogValue::Value(v)).unwrap()
    }

    /// Issue 11: without `binlog_row_metadata=FULL` an unsigned maximum is
    /// logged as -1; the catalog's signedness gives it back.
    #[test]
    fn unsigned_maximums_do_not_come_back_negative() {
        for (name, bits, max) in [
            ("tinyint", 8, 255u64),
            ("smallint", 16, 65_535),
            ("mediumint", 24, 16_777_215),
            ("int", 32, 4_294_967_295),
            ("bigint", 64, u64::MAX),
        ] {
            let mut r = raw(name);
            r.unsigned = true;
            let c = BinlogColumn::for_column(&r, None).unwrap();
            assert_eq!(c, BinlogColumn::Unsigned { bits });
            assert_eq!(conv(&c, Value::Int(-1)), Value::UInt(max), "{name}");
            assert_eq!(conv(&c, Value::Int(1)), Value::UInt(1));
            assert_eq!(conv(&c, Value::UInt(max)), Value::UInt(max));
        }
        let signed = BinlogColumn::for_column(&raw("int"), None).unwrap();
        assert_eq!(conv(&signed, Value::Int(-1)), Value::Int(-1));
    }

    /// mysql_common reads a logged MEDIUMINT's three bytes as a positive
    /// number: the minimum came back as 8388608 and overflowed the target.
    #[test]
    fn signed_mediumint_minimum_stays_negative() {
        let c = BinlogColumn::for_column(&raw("mediumint"), None).unwrap();
        assert_eq!(c, BinlogColumn::Signed24);
        assert_eq!(conv(&c, Value::Int(8_388_608)), Value::Int(-8_388_608));
        assert_eq!(conv(&c, Value::Int(16_777_215)), Value::Int(-1));
        assert_eq!(conv(&c, Value::Int(8_388_607)), Value::Int(8_388_607));
        assert_eq!(conv(&c, Value::Int(-5)), Value::Int(-5));
        assert_eq!(conv(&c, Value::Int(0)), Value::Int(0));
    }

    #[test]
    fn enum_set_year_and_timestamp_take_their_read_form() {
        let mut e = raw("enum");
        e.values = vec!["a".into(), "b,c".into()];
        let c = BinlogColumn::for_column(&e, None).unwrap();
        assert_eq!(conv(&c, Value::Int(2)), Value::Bytes(b"b,c".to_vec()));
        assert_eq!(conv(&c, Value::Int(0)), Value::Bytes(Vec::new()));
        assert!(c.convert(BinlogValue::Value(Value::Int(3))).is_err());
        // An enum the copy reads by index (mapped to an enum or text) keeps
        // the logged index, so the copy's decoder sees the error value 0.
        let col = ferry_core::ColumnPlan {
            raw: e.clone(),
            logical: ferry_core::LogicalType::Enum {
                name: None,
                values: e.values.clone(),
            },
            ..Default::default()
        };
        let c = BinlogColumn::for_plan_column(&col, None).unwrap();
        assert_eq!(c, BinlogColumn::EnumIndex);
        assert_eq!(conv(&c, Value::Int(0)), Value::Int(0));
        assert_eq!(conv(&c, Value::Int(2)), Value::Int(2));

        let mut s = raw("set");
        s.values = (0..10).map(|i| format!("l{i}")).collect();
        let c = BinlogColumn::for_column(&s, None).unwrap();
        assert_eq!(
            conv(&c, Value::Bytes(vec![0b0000_0101, 0b10])),
            Value::Bytes(b"l0,l2,l9".to_vec())
        );
        assert_eq!(conv(&c, Value::Bytes(vec![0, 0])), Value::Bytes(Vec::new()));

        let y = BinlogColumn::for_column(&raw("year"), None).unwrap();
        assert_eq!(conv(&y, Value::Bytes(b"1900".to_vec())), Value::Int(0));
        assert_eq!(
            conv(&y, Value::Bytes(b"2155".to_vec())),
            Value::Bytes(b"2155".to_vec())
        );

        let t = BinlogColumn::for_column(&raw("timestamp"), None).unwrap();
        assert_eq!(
            conv(&t, Value::Bytes(b"1704067201.500000".to_vec())),
            Value::Date(2024, 1, 1, 0, 0, 1, 500_000)
        );
        assert_eq!(
            conv(&t, Value::Bytes(b"1".to_vec())),
            Value::Date(1970, 1, 1, 0, 0, 1, 0)
        );
        assert_eq!(
            conv(&t, Value::Bytes(b"0".to_vec())),
            Value::Date(0, 0, 0, 0, 0, 0, 0)
        );
        assert_eq!(conv(&t, Value::NULL), Value::NULL);
    }

    /// Fixed-width binary loses its trailing zero bytes in the log.
    #[test]
    fn fixed_binary_and_addresses_are_padded_back() {
        let mut b = raw("binary");
        b.length = Some(4);
        let c = BinlogColumn::for_column(&b, None).unwrap();
        assert_eq!(
            conv(&c, Value::Bytes(vec![0, 0xff])),
            Value::Bytes(vec![0, 0xff, 0, 0])
        );
        assert_eq!(conv(&c, Value::Bytes(vec![])), Value::Bytes(vec![0; 4]));
        let u = BinlogColumn::for_column(&raw("uuid"), None).unwrap();
        assert_eq!(conv(&u, Value::Bytes(vec![1])), {
            let mut v = vec![0; 16];
            v[0] = 1;
            Value::Bytes(v)
        });
        let i4 = BinlogColumn::for_column(&raw("inet4"), None).unwrap();
        assert_eq!(
            conv(&i4, Value::Bytes(vec![])),
            Value::Bytes(b"0.0.0.0".to_vec())
        );
        assert_eq!(
            conv(&i4, Value::Bytes(vec![1, 2, 3, 4])),
            Value::Bytes(b"1.2.3.4".to_vec())
        );
        let i6 = BinlogColumn::for_column(&raw("inet6"), None).unwrap();
        let mut mapped = vec![0; 16];
        mapped[10..].copy_from_slice(&[0xff, 0xff, 1, 2, 3, 4]);
        assert_eq!(
            conv(&i6, Value::Bytes(mapped)),
            Value::Bytes(b"::ffff:1.2.3.4".to_vec())
        );
    }

    /// Legacy character sets keep their raw bytes for the copy's decoder
    /// (they were refused at start before), UTF-8 text and geometries are
    /// read as logged.
    #[test]
    fn text_charsets_and_geometries() {
        for cs in ["latin1", "gbk", "sjis", "ucs2", "ascii", "LATIN1"] {
            let c = BinlogColumn::for_column(&raw("varchar"), Some(cs)).unwrap();
            assert_eq!(c, BinlogColumn::RawText, "{cs}");
            assert_eq!(
                conv(&c, Value::Bytes(vec![b'a', 0xa3, 0x80])),
                Value::Bytes(vec![b'a', 0xa3, 0x80])
            );
        }
        for cs in [None, Some("utf8mb4"), Some("utf8mb3"), Some("binary")] {
            assert_eq!(
                BinlogColumn::for_column(&raw("text"), cs).unwrap(),
                BinlogColumn::Plain
            );
        }
        assert_eq!(
            BinlogColumn::for_column(&raw("point"), None).unwrap(),
            BinlogColumn::Plain
        );
    }
}
