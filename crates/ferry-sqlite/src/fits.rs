//! The reader's value checks as SQL functions, for the pre-flight.
//!
//! The pre-flight counts, inside SQLite, the values a column's plan cannot
//! read (text in an INTEGER column, a malformed date, 300 in a SMALLINT).
//! Rather than restating the reader's rules in SQL (which would drift), the
//! conditions call the reader's own checks, registered on every
//! connection that runs catalog probes:
//!
//! - `ferry_fits(value, reading)`: 1 when [`Reading::check`] accepts the
//!   value; `reading` is the column's [`Reading`] as JSON, parsed once per
//!   statement (SQLite keeps it as the argument's auxiliary data);
//! - `ferry_check(value, check)`: 1 when the value is one the target
//!   cannot hold (`negative_zero`, `four_byte`, `decimal_too_wide:S:I`,
//!   `outside_years:<reading>`).

use std::sync::Arc;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::decode::{decimal_text, Reading};

/// A `ferry_check` spec, parsed once per statement.
enum Check {
    NegativeZero,
    FourByte,
    DecimalTooWide { scale: usize, int_digits: usize },
    OutsideYears(Reading),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn parse_check(spec: &str) -> Result<Check, BoxError> {
    Ok(match spec.split_once(':') {
        None if spec == "negative_zero" => Check::NegativeZero,
        None if spec == "four_byte" => Check::FourByte,
        Some(("decimal_too_wide", rest)) => {
            let (s, i) = rest.split_once(':').ok_or("decimal_too_wide:S:I")?;
            Check::DecimalTooWide {
                scale: s.parse()?,
                int_digits: i.parse()?,
            }
        }
        Some(("outside_years", json)) => Check::OutsideYears(serde_json::from_str(json)?),
        _ => return Err(format!("unknown ferry_check `{spec}`").into()),
    })
}

fn text_arg(v: ValueRef<'_>) -> Result<String, BoxError> {
    Ok(v.as_str()?.to_string())
}

/// Registers `ferry_fits` and `ferry_check` on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("ferry_fits", 2, flags, |ctx| {
        let reading: Arc<Reading> = ctx.get_or_create_aux(1, |v| -> Result<Reading, BoxError> {
            Ok(serde_json::from_str(&text_arg(v)?)?)
        })?;
        Ok(reading.check(ctx.get_raw(0)).is_ok())
    })?;
    conn.create_scalar_function("ferry_check", 2, flags, |ctx| {
        let check: Arc<Check> = ctx.get_or_create_aux(1, |v| -> Result<Check, BoxError> {
            parse_check(&text_arg(v)?)
        })?;
        Ok(matches(&check, ctx.get_raw(0)))
    })
}

fn matches(check: &Check, v: ValueRef<'_>) -> bool {
    match (check, v) {
        (Check::NegativeZero, ValueRef::Real(f)) => f == 0.0 && f.is_sign_negative(),
        (Check::FourByte, ValueRef::Text(b)) => {
            std::str::from_utf8(b).is_ok_and(|s| s.chars().any(|c| c.len_utf8() == 4))
        }
        (Check::DecimalTooWide { scale, int_digits }, v) => {
            let mut scratch = String::new();
            let Ok(text) = decimal_text(v, None, None, &mut scratch) else {
                return false;
            };
            let Some(d) = ferry_core::decimal::split_plain(text) else {
                return false;
            };
            let int = d.int.iter().skip_while(|&&c| c == b'0').count();
            let frac = d.frac.len() - d.frac.iter().rev().take_while(|&&c| c == b'0').count();
            frac > *scale || int > *int_digits
        }
        (Check::OutsideYears(reading), v) => outside_years(reading, v),
        _ => false,
    }
}

/// Whether a date or timestamp the reading accepts falls outside years 1–9999.
fn outside_years(reading: &Reading, v: ValueRef<'_>) -> bool {
    use crate::decode::{date_of, timestamp_of};
    const US_PER_DAY: i64 = 86_400_000_000;
    // 0001-01-01 and 10000-01-01 as days since 1970-01-01.
    const FIRST: i64 = -719_162;
    const PAST_LAST: i64 = 2_932_897;
    let days = match reading {
        Reading::Date { stored, .. } => date_of(v, *stored, true).ok().flatten().map(i64::from),
        Reading::Timestamp { stored, zoned, .. } => timestamp_of(v, *stored, *zoned, true)
            .ok()
            .flatten()
            .map(|us| us.div_euclid(US_PER_DAY)),
        _ => None,
    };
    days.is_some_and(|d| !(FIRST..PAST_LAST).contains(&d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::TimeStorage;

    #[test]
    fn the_functions_run_the_readers_checks_in_sql() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let int16 = serde_json::to_string(&Reading::Int {
            min: -32768,
            max: 32767,
        })
        .unwrap();
        let fits = |sql_value: &str| -> bool {
            conn.query_row(
                &format!("SELECT ferry_fits({sql_value}, ?1)"),
                [&int16],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert!(fits("12"));
        assert!(fits("NULL"));
        assert!(!fits("40000"));
        assert!(!fits("'12'"));
        assert!(!fits("1.5"));
        let date = serde_json::to_string(&Reading::Date {
            stored: TimeStorage::Iso8601,
            zero_to_null: false,
        })
        .unwrap();
        let fits_date: bool = conn
            .query_row("SELECT ferry_fits('0000-00-00', ?1)", [&date], |r| r.get(0))
            .unwrap();
        assert!(!fits_date, "a zero date fits only under zero_date_to_null");
        let old: bool = conn
            .query_row(
                "SELECT ferry_check('0000-01-01', 'outside_years:' || ?1)",
                [&date],
                |r| r.get(0),
            )
            .unwrap();
        assert!(old);
        let wide: bool = conn
            .query_row(
                "SELECT ferry_check(12.345, 'decimal_too_wide:2:5')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(wide);
        let emoji: bool = conn
            .query_row("SELECT ferry_check('a😀', 'four_byte')", [], |r| r.get(0))
            .unwrap();
        assert!(emoji);
    }
}
