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
    /// Text in MySQL's `latin1` (Windows-1252 with the five undefined bytes
    /// as C1 controls), re-encoded as UTF-8 as the copy's session would.
    Latin1,
}

/// Character sets whose bytes are UTF-8 already.
const UTF8_CHARSETS: &[&str] = &["utf8mb4", "utf8mb3", "utf8", "ascii", "binary"];

impl BinlogColumn {
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
                match charset.map(str::to_ascii_lowercase).as_deref() {
                    None => BinlogColumn::Plain,
                    Some(c) if UTF8_CHARSETS.contains(&c) => BinlogColumn::Plain,
                    Some("latin1") => BinlogColumn::Latin1,
                    Some(other) => {
                        return Err(format!(
                            "ferry sync reads {other} text from the binary log only as UTF-8 or \
                             latin1; convert the column to utf8mb4"
                        ))
                    }
                }
            }
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" => {
                return Err("ferry sync does not carry spatial changes yet".into())
            }
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
            BinlogColumn::Plain | BinlogColumn::Json => Ok(v),
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
            BinlogColumn::Latin1 => match v {
                Value::Bytes(b) => Ok(Value::Bytes(latin1_to_utf8(&b).into_bytes())),
                other => Ok(other),
            },
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

/// Bytes 0x80–0x9F of MySQL's `latin1`: Windows-1252, where 0x81, 0x8D,
/// 0x8F, 0x90 and 0x9D (undefined there) are the C1 controls of the same
/// number, as the server converts them.
const LATIN1_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

fn latin1_to_utf8(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => LATIN1_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
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

    #[test]
    fn text_charsets() {
        let c = BinlogColumn::for_column(&raw("varchar"), Some("latin1")).unwrap();
        assert_eq!(
            conv(&c, Value::Bytes(vec![b'a', 0xe9, 0x80, 0x81])),
            Value::Bytes("aé€\u{81}".as_bytes().to_vec())
        );
        assert_eq!(
            BinlogColumn::for_column(&raw("text"), Some("utf8mb4")).unwrap(),
            BinlogColumn::Plain
        );
        let e = BinlogColumn::for_column(&raw("text"), Some("sjis")).unwrap_err();
        assert!(e.contains("sjis"), "{e}");
        assert!(BinlogColumn::for_column(&raw("point"), None).is_err());
    }
}
