//! Dates and times in SQLite's three forms: ISO 8601 text, Julian day
//! numbers and Unix-epoch seconds.
//!
//! Text is read strictly (`YYYY-MM-DD`, `HH:MM[:SS[.f]]`, either joined by
//! a space or `T`, an offset `±HH:MM` or `Z` only in zoned columns) and
//! written the way SQLite's own `datetime()` writes it, fractions added
//! only when there are any. Numbers are read to the millisecond exactly as
//! SQLite's date functions read them (`iJD = r·86400000 + 0.5`), so a value
//! means to ferry what it means to `datetime(x)`.

use chrono::{Datelike, NaiveDate};
use ferry_core::TimeStorage;
use rusqlite::types::ValueRef;

pub const MS_PER_DAY: i64 = 86_400_000;
const US_PER_SECOND: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SECOND;
/// `NaiveDate::num_days_from_ce()` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;
/// 1970-01-01 00:00 as a Julian day in milliseconds (2440587.5 days).
const UNIX_EPOCH_JD_MS: i64 = 210_866_760_000_000;
/// SQLite's last valid Julian day in ms (9999-12-31 23:59:59.999).
const MAX_JD_MS: i64 = 464_269_060_799_999;

/// ASCII digits (at most 9, which every field here is) as a number.
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD` (years 0000–9999) as days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    Some(date.num_days_from_ce() - EPOCH_DAYS_FROM_CE)
}

/// Whether text is a zero or partial date (`0000-00-00`, `2016-07-00`).
pub fn is_zero_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && (&b[0..4] == b"0000" || &b[5..7] == b"00" || &b[8..10] == b"00")
        && b[..10]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.f` (up to 6 digits) as µs; up to
/// `24:00:00` exactly.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let h = i64::from(digits(&b[0..2])?);
    let m = i64::from(digits(&b[3..5])?);
    let (sec, frac) = match b.len() {
        5 => (0, 0),
        n if n >= 8 && b[5] == b':' => {
            let sec = i64::from(digits(&b[6..8])?);
            let frac = match &b[8..] {
                [] => 0,
                [b'.', f @ ..] if !f.is_empty() && f.len() <= 6 => {
                    let v = i64::from(digits(f)?);
                    v * 10i64.pow(u32::try_from(6 - f.len()).ok()?)
                }
                _ => return None,
            };
            (sec, frac)
        }
        _ => return None,
    };
    if m > 59 || sec > 59 {
        return None;
    }
    let us = ((h * 60 + m) * 60 + sec) * US_PER_SECOND + frac;
    (h < 24 || us == US_PER_DAY).then_some(us)
}

/// `YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|±HH:MM]` as µs since the epoch. An
/// offset is allowed only when `zoned` (and then converted to UTC); text
/// without one is UTC there.
pub fn parse_timestamp(s: &str, zoned: bool) -> Result<i64, String> {
    let bad = || "TEXT value that is not an ISO 8601 timestamp".to_string();
    let days = parse_date(s.get(..10).ok_or_else(bad)?).ok_or_else(bad)?;
    let rest = &s[10..];
    let (clock, zone) = match rest.find(['Z', 'z', '+']).or_else(|| {
        // A `-` after the time of day starts an offset.
        rest.get(1..).and_then(|r| r.find('-').map(|p| p + 1))
    }) {
        Some(p) => (&rest[..p], &rest[p..]),
        None => (rest, ""),
    };
    let time_us = match clock.as_bytes() {
        [] => 0,
        [b' ' | b'T' | b't', t @ ..] => {
            parse_time(std::str::from_utf8(t).map_err(|_| bad())?).ok_or_else(bad)?
        }
        _ => return Err(bad()),
    };
    let offset_us = match zone {
        "" => 0,
        _ if !zoned => {
            return Err(
                "TEXT timestamp with a time zone offset in a column read as a naive timestamp (map it to timestamptz)"
                    .into(),
            )
        }
        "Z" | "z" => 0,
        z => {
            let b = z.as_bytes();
            if b.len() != 6 || b[3] != b':' {
                return Err(bad());
            }
            let h = i64::from(digits(&b[1..3]).ok_or_else(bad)?);
            let m = i64::from(digits(&b[4..6]).ok_or_else(bad)?);
            if h > 14 || m > 59 {
                return Err(bad());
            }
            let v = (h * 60 + m) * 60 * US_PER_SECOND;
            if b[0] == b'-' {
                -v
            } else {
                v
            }
        }
    };
    Ok(i64::from(days) * US_PER_DAY + time_us - offset_us)
}

/// A Julian day or Unix-epoch number as ms since 1970-01-01, rounded to
/// the millisecond as SQLite's date functions round it; `None` for another
/// storage class or a value outside SQLite's dates (4713 BC … 9999 AD).
pub fn ms_of_number(v: ValueRef<'_>, stored: TimeStorage) -> Option<i64> {
    let jd_ms = match (stored, v) {
        (TimeStorage::JulianDay, ValueRef::Integer(i)) => i.checked_mul(MS_PER_DAY)?,
        (TimeStorage::JulianDay, ValueRef::Real(r)) if r.is_finite() => round_ms(r * 86_400_000.0)?,
        (TimeStorage::UnixEpoch, ValueRef::Integer(i)) => {
            i.checked_mul(1000)?.checked_add(UNIX_EPOCH_JD_MS)?
        }
        (TimeStorage::UnixEpoch, ValueRef::Real(r)) if r.is_finite() => {
            round_ms(r * 1000.0 + 210_866_760_000_000.0)?
        }
        _ => return None,
    };
    (0..=MAX_JD_MS)
        .contains(&jd_ms)
        .then_some(jd_ms - UNIX_EPOCH_JD_MS)
}

/// SQLite's `(sqlite3_int64)(x + 0.5)` for a non-negative in-range `x`.
fn round_ms(x: f64) -> Option<i64> {
    #[allow(clippy::cast_possible_truncation)]
    let v = (x + 0.5) as i64;
    (0.0..9.0e15).contains(&x).then_some(v)
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (years 0–9999), else `None`.
pub fn format_date(days: i32, out: &mut String) -> Option<()> {
    let date = NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_FROM_CE)?)?;
    let y = date.year();
    if !(0..=9999).contains(&y) {
        return None;
    }
    use std::fmt::Write as _;
    write!(out, "{y:04}-{:02}-{:02}", date.month(), date.day()).ok()
}

/// µs of a day as `HH:MM:SS` plus `.f` when there is a fraction (trailing
/// zeros dropped); 24:00:00 for a whole day.
pub fn format_time(us: i64, out: &mut String) -> Option<()> {
    if !(0..=US_PER_DAY).contains(&us) {
        return None;
    }
    use std::fmt::Write as _;
    let secs = us / US_PER_SECOND;
    let frac = us % US_PER_SECOND;
    write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
    .ok()?;
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    Some(())
}

/// µs since the epoch as `YYYY-MM-DD HH:MM:SS[.f]`, plus `+00:00` for an
/// instant; `None` outside years 0–9999.
pub fn format_timestamp(us: i64, zoned: bool, out: &mut String) -> Option<()> {
    let days = i32::try_from(us.div_euclid(US_PER_DAY)).ok()?;
    format_date(days, out)?;
    out.push(' ');
    format_time(us.rem_euclid(US_PER_DAY), out)?;
    if zoned {
        out.push_str("+00:00");
    }
    Some(())
}

/// ms since the epoch as a Julian day number (exact to the millisecond
/// when read back as SQLite reads it).
#[cfg(test)]
fn julian_day(ms: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let jd = (ms + UNIX_EPOCH_JD_MS) as f64 / 86_400_000.0;
    jd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_text_reads_strictly() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("0000-01-01"), Some(-719_528));
        assert_eq!(parse_date("9999-12-31"), Some(2_932_896));
        for bad in [
            "2024-02-30",
            "2024-1-01",
            "24-01-01",
            "2024-01-01 ",
            "0000-00-00",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(is_zero_date("0000-00-00") && is_zero_date("2016-07-00 12:00:00"));
        assert!(!is_zero_date("2016-07-01"));
        assert_eq!(parse_time("24:00:00"), Some(US_PER_DAY));
        assert_eq!(parse_time("12:30"), Some(45_000_000_000));
        assert_eq!(parse_time("00:00:00.5"), Some(500_000));
        for bad in [
            "24:00:01",
            "12:60",
            "1:00:00",
            "12:00:00.1234567",
            "12:00:00.",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        let noon = 12 * 3600 * US_PER_SECOND;
        assert_eq!(parse_timestamp("1970-01-01 12:00:00", false), Ok(noon));
        assert_eq!(parse_timestamp("1970-01-01T12:00", false), Ok(noon));
        assert_eq!(parse_timestamp("1970-01-01", false), Ok(0));
        assert_eq!(parse_timestamp("1970-01-01 14:00:00+02:00", true), Ok(noon));
        assert_eq!(parse_timestamp("1970-01-01 10:30:00-01:30", true), Ok(noon));
        assert_eq!(parse_timestamp("1970-01-01 12:00:00Z", true), Ok(noon));
        assert!(parse_timestamp("1970-01-01 12:00:00+02:00", false)
            .unwrap_err()
            .contains("naive"));
        assert!(parse_timestamp("1970-01-01 12:00:00 junk", true).is_err());
    }

    #[test]
    fn numbers_read_as_sqlite_reads_them() {
        // julianday('1970-01-01') = 2440587.5; unixepoch 86400 = next day.
        assert_eq!(
            ms_of_number(ValueRef::Real(2_440_587.5), TimeStorage::JulianDay),
            Some(0)
        );
        assert_eq!(
            ms_of_number(ValueRef::Integer(86_400), TimeStorage::UnixEpoch),
            Some(MS_PER_DAY)
        );
        assert_eq!(
            ms_of_number(ValueRef::Real(1.5), TimeStorage::UnixEpoch),
            Some(1500)
        );
        // julianday('2024-06-01 12:34:56.789') as SQLite computes it.
        let jd = julian_day(1_717_245_296_789);
        assert_eq!(
            ms_of_number(ValueRef::Real(jd), TimeStorage::JulianDay),
            Some(1_717_245_296_789)
        );
        assert_eq!(
            ms_of_number(ValueRef::Real(-1.0), TimeStorage::JulianDay),
            None
        );
        assert_eq!(
            ms_of_number(ValueRef::Text(b"2024"), TimeStorage::UnixEpoch),
            None
        );
    }

    #[test]
    fn text_is_written_as_sqlite_writes_it() {
        let mut s = String::new();
        format_timestamp(1_717_245_296_789_000, false, &mut s).unwrap();
        assert_eq!(s, "2024-06-01 12:34:56.789");
        s.clear();
        format_timestamp(-1, true, &mut s).unwrap();
        assert_eq!(s, "1969-12-31 23:59:59.999999+00:00");
        s.clear();
        assert!(format_date(-800_000, &mut s).is_none(), "before year 0");
        s.clear();
        format_time(US_PER_DAY, &mut s).unwrap();
        assert_eq!(s, "24:00:00");
    }
}
