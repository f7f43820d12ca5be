//! Range and multirange text → the binary `range_recv` / `multirange_recv`
//! forms, for PostgreSQL → PostgreSQL copies.
//!
//! The hub carries a range as PostgreSQL's own canonical text (`[2,6)`,
//! `empty`, `(,"2024-01-01 00:00:00+00"]`; the reader renders it with
//! `TimeZone = UTC` and `DateStyle = ISO, YMD`). Binary COPY has no text
//! field, so the writer parses that text back: the flags byte, then each
//! finite bound as a length-prefixed `*_recv` value of the element type.
//! Bounds are written as they are; the server canonicalises discrete
//! ranges exactly as it did for the source.

use bytes::{BufMut, BytesMut};

use crate::numeric::{parse_decimal, put_numeric};

type Problem = &'static str;

const EMPTY: u8 = 0x01;
const LB_INC: u8 = 0x02;
const UB_INC: u8 = 0x04;
const LB_INF: u8 = 0x08;
const UB_INF: u8 = 0x10;

/// The element types whose bounds the writer can encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeElement {
    Int4,
    Int8,
    Numeric,
    Date,
    Timestamp,
    TimestampTz,
}

impl RangeElement {
    /// The element of a range whose subtype is `typname`.
    pub fn of(typname: &str) -> Option<RangeElement> {
        Some(match typname {
            "int4" => RangeElement::Int4,
            "int8" => RangeElement::Int8,
            "numeric" => RangeElement::Numeric,
            "date" => RangeElement::Date,
            "timestamp" => RangeElement::Timestamp,
            "timestamptz" => RangeElement::TimestampTz,
            _ => return None,
        })
    }
}

/// `[a,b)` / `empty` → range_recv.
pub fn put_range(buf: &mut BytesMut, s: &str, element: RangeElement) -> Result<(), Problem> {
    if s == "empty" {
        buf.put_u8(EMPTY);
        return Ok(());
    }
    let b = s.as_bytes();
    let mut flags = match b.first() {
        Some(b'[') => LB_INC,
        Some(b'(') => 0,
        _ => return Err("range text does not start with [ or ("),
    };
    flags |= match b.last() {
        Some(b']') if b.len() > 1 => UB_INC,
        Some(b')') if b.len() > 1 => 0,
        _ => return Err("range text does not end with ] or )"),
    };
    let inner = &s[1..s.len() - 1];
    let (lower, rest) = bound(inner)?;
    let rest = rest
        .strip_prefix(',')
        .ok_or("range text without a comma between its bounds")?;
    let (upper, rest) = bound(rest)?;
    if !rest.is_empty() {
        return Err("range text has more than two bounds");
    }
    // An infinite bound is never inclusive (range_out prints it with `(`/`)`).
    if lower.is_none() {
        flags = (flags | LB_INF) & !LB_INC;
    }
    if upper.is_none() {
        flags = (flags | UB_INF) & !UB_INC;
    }
    buf.put_u8(flags);
    for text in [lower, upper].into_iter().flatten() {
        let at = buf.len();
        buf.put_i32(0);
        put_element(buf, &text, element)?;
        let len = i32::try_from(buf.len() - at - 4).map_err(|_| "range bound too long")?;
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// `{[1,3),[7,9)}` / `{}` → multirange_recv: a count, then each range
/// length-prefixed.
pub fn put_multirange(buf: &mut BytesMut, s: &str, element: RangeElement) -> Result<(), Problem> {
    let inner = s
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or("multirange text is not enclosed in { }")?;
    let count_at = buf.len();
    buf.put_i32(0);
    let mut count = 0i32;
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let end = range_end(rest)?;
        let at = buf.len();
        buf.put_i32(0);
        put_range(buf, &rest[..end], element)?;
        let len = i32::try_from(buf.len() - at - 4).map_err(|_| "range too long")?;
        buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        count += 1;
        rest = rest[end..].trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err("multirange text has no comma between ranges");
        }
    }
    buf[count_at..count_at + 4].copy_from_slice(&count.to_be_bytes());
    Ok(())
}

/// Where the range starting `s` ends (just past its `]` or `)`), quotes respected.
fn range_end(s: &str) -> Result<usize, Problem> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ']' | ')' if !quoted => return Ok(i + 1),
            _ => {}
        }
    }
    Err("unterminated range in multirange text")
}

/// One bound from the start of `s`: `None` when it is empty (infinite),
/// else its unquoted text; returns what follows it.
fn bound(s: &str) -> Result<(Option<String>, &str), Problem> {
    let mut out = String::new();
    let mut any = false;
    let mut chars = s.char_indices().peekable();
    let mut quoted = false;
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ',' if !quoted => return Ok((any.then_some(out), &s[i..])),
            '"' => {
                chars.next();
                any = true;
                // `""` inside quotes is one quote.
                if quoted && chars.peek().is_some_and(|&(_, n)| n == '"') {
                    out.push('"');
                    chars.next();
                } else {
                    quoted = !quoted;
                }
            }
            '\\' => {
                chars.next();
                let (_, e) = chars.next().ok_or("range bound ends in a backslash")?;
                out.push(e);
                any = true;
            }
            _ => {
                out.push(c);
                any = true;
                chars.next();
            }
        }
    }
    if quoted {
        return Err("unterminated quote in a range bound");
    }
    Ok((any.then_some(out), ""))
}

fn put_element(buf: &mut BytesMut, s: &str, element: RangeElement) -> Result<(), Problem> {
    match element {
        RangeElement::Int4 => buf.put_i32(s.parse().map_err(|_| "malformed int4 range bound")?),
        RangeElement::Int8 => buf.put_i64(s.parse().map_err(|_| "malformed int8 range bound")?),
        RangeElement::Numeric => put_numeric(buf, &parse_decimal(s)?)?,
        RangeElement::Date => buf.put_i32(parse_date(s)?),
        RangeElement::Timestamp => buf.put_i64(parse_timestamp(s, false)?),
        RangeElement::TimestampTz => buf.put_i64(parse_timestamp(s, true)?),
    }
    Ok(())
}

/// Days from 0000-03-01-based civil arithmetic (proleptic Gregorian) to
/// 2000-01-01, PostgreSQL's date epoch. `year` is astronomical (1 BC = 0).
fn days_since_2000(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    // 730_425: days from 0000-03-01 to 2000-01-01 (era arithmetic's epoch).
    era * 146_097 + doe - 730_425
}

/// `YYYY-MM-DD` → (year, month, day); `bc` makes the year astronomical
/// (1 BC is year 0).
fn ymd(s: &str, bc: bool) -> Result<(i64, i64, i64), Problem> {
    let bad = "malformed date in a range bound";
    let mut parts = s.splitn(3, '-');
    let mut num = || -> Result<i64, Problem> {
        let t = parts.next().ok_or(bad)?;
        if t.is_empty() || t.len() > 9 || !t.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad);
        }
        t.parse().map_err(|_| bad)
    };
    let (y, m, d) = (num()?, num()?, num()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y == 0 {
        return Err(bad);
    }
    Ok((if bc { 1 - y } else { y }, m, d))
}

/// Text and whether it ended in ` BC`.
fn era(s: &str) -> (&str, bool) {
    match s.strip_suffix(" BC") {
        Some(r) => (r, true),
        None => (s, false),
    }
}

fn parse_date(s: &str) -> Result<i32, Problem> {
    match s {
        "infinity" => return Ok(i32::MAX),
        "-infinity" => return Ok(i32::MIN),
        _ => {}
    }
    let (s, bc) = era(s);
    let (y, m, d) = ymd(s, bc)?;
    i32::try_from(days_since_2000(y, m, d)).map_err(|_| "date out of range")
}

/// `YYYY-MM-DD HH:MM:SS[.f][±HH[:MM[:SS]]][ BC]` → µs since 2000-01-01 (UTC
/// when `zoned`).
fn parse_timestamp(s: &str, zoned: bool) -> Result<i64, Problem> {
    match s {
        "infinity" => return Ok(i64::MAX),
        "-infinity" => return Ok(i64::MIN),
        _ => {}
    }
    let bad = "malformed timestamp in a range bound";
    let (s, bc) = era(s);
    let (date, time) = s.split_once(' ').ok_or(bad)?;
    let (y, m, d) = ymd(date, bc)?;
    let (clock, offset) = if zoned {
        let at = time.rfind(['+', '-']).ok_or(bad)?;
        (&time[..at], offset_seconds(&time[at..])?)
    } else {
        (time, 0)
    };
    let micros = crate::textform::parse_time(clock).map_err(|_| bad)?;
    days_since_2000(y, m, d)
        .checked_mul(86_400_000_000)
        .and_then(|v| v.checked_add(micros))
        .and_then(|v| v.checked_sub(offset * 1_000_000))
        .ok_or("timestamp out of range")
}

/// `+05:30` → 19800 seconds east.
fn offset_seconds(s: &str) -> Result<i64, Problem> {
    let bad = "malformed time zone offset in a range bound";
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let mut secs = 0i64;
    let mut parts = 0;
    for (i, p) in s[1..].split(':').enumerate() {
        if i > 2 || p.len() != 2 {
            return Err(bad);
        }
        secs = secs * 60 + p.parse::<i64>().map_err(|_| bad)?;
        parts = i + 1;
    }
    for _ in parts..3 {
        secs *= 60;
    }
    Ok(sign * secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut BytesMut) -> Result<(), Problem>) -> Vec<u8> {
        let mut buf = BytesMut::new();
        f(&mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn int_ranges() {
        assert_eq!(
            bytes(|b| put_range(b, "[2,6)", RangeElement::Int4)),
            [LB_INC, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 6]
        );
        assert_eq!(
            bytes(|b| put_range(b, "empty", RangeElement::Int4)),
            [EMPTY]
        );
        assert_eq!(
            bytes(|b| put_range(b, "(,)", RangeElement::Int8)),
            [LB_INF | UB_INF]
        );
        assert_eq!(
            bytes(|b| put_range(b, "[-3,)", RangeElement::Int4)),
            [LB_INC | UB_INF, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfd]
        );
        assert!(put_range(&mut BytesMut::new(), "[1,2", RangeElement::Int4).is_err());
        assert!(put_range(&mut BytesMut::new(), "[a,2)", RangeElement::Int4).is_err());
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(parse_date("2000-01-01").unwrap(), 0);
        assert_eq!(parse_date("2024-01-01").unwrap(), 8766);
        assert_eq!(parse_date("1970-01-01").unwrap(), -10_957);
        assert_eq!(parse_date("0001-01-01 BC").unwrap(), -730_485);
        assert_eq!(parse_date("infinity").unwrap(), i32::MAX);
        assert_eq!(
            parse_timestamp("2000-01-01 00:00:01.5", false).unwrap(),
            1_500_000
        );
        assert_eq!(
            parse_timestamp("2000-01-01 05:30:00+05:30", true).unwrap(),
            0
        );
        assert_eq!(parse_timestamp("2000-01-01 00:00:00+00", true).unwrap(), 0);
        assert!(parse_timestamp("2000-01-01", false).is_err());
    }

    #[test]
    fn quoted_bounds_and_multiranges() {
        let b = bytes(|b| {
            put_range(
                b,
                r#"["2024-01-01 00:00:00+00","2024-01-02 00:00:00+00")"#,
                RangeElement::TimestampTz,
            )
        });
        assert_eq!(b[0], LB_INC);
        assert_eq!(&b[1..5], &8i32.to_be_bytes());
        assert_eq!(&b[5..13], &(8766i64 * 86_400_000_000).to_be_bytes());
        let m = bytes(|b| put_multirange(b, "{[1,3),[7,9)}", RangeElement::Int8));
        assert_eq!(&m[..4], &2i32.to_be_bytes());
        assert_eq!(
            bytes(|b| put_multirange(b, "{}", RangeElement::Int8)),
            [0, 0, 0, 0]
        );
        assert!(put_multirange(&mut BytesMut::new(), "{[1,3)", RangeElement::Int8).is_err());
    }
}
