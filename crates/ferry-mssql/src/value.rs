//! SQL Server's value representations ↔ the hub's, as pure functions on
//! numbers: what the decoders and encoders share, tested without a server.
//!
//! # Time
//!
//! The hub carries µs. SQL Server's types:
//! - `date`: days since 0001-01-01 (3 bytes).
//! - `time(n)`, `datetime2(n)`, `datetimeoffset(n)`: `increments` of 10⁻ⁿ s
//!   since midnight; n = 7 is 100 ns, finer than a µs. A value with a
//!   non-zero 7th digit is refused unless the column's conversion is
//!   `round_fraction` (rounded half up to the µs). `datetimeoffset` carries
//!   its date and time in UTC plus an offset in minutes.
//! - `datetime`: days since 1900-01-01 (negative back to 1753) and ticks
//!   of 1/300 s since midnight. **Rule:** a tick count `t` is read as the
//!   millisecond SQL Server itself shows, `round(t × 10 / 3)` (ticks 1 and
//!   2 are `.003` and `.007`), so a `datetime` reads as a `timestamp(3)`
//!   and every engine shows the digits SQL Server does. Written back, a
//!   whole millisecond `m` becomes `round(m × 3 / 10)` ticks; the two maps
//!   are inverse on every tick, so `datetime` → µs → `datetime` never
//!   drifts. A µs value that is not the image of a tick (`.001`, or any
//!   sub-millisecond digit) is refused unless `round_fraction` is chosen,
//!   which rounds it to the nearest tick (as SQL Server's own conversion
//!   from `datetime2` does).
//! - `smalldatetime`: days since 1900-01-01 (unsigned 16 bits, so up to
//!   2079-06-06) and minutes since midnight.

use tiberius::numeric::Numeric;

/// What is wrong with a value, in words that never include the value.
pub type Problem = String;

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Days from 0001-01-01 to 1970-01-01 (proleptic Gregorian).
pub const DAYS_0001_TO_1970: i64 = 719_162;
/// Days from 1900-01-01 to 1970-01-01.
pub const DAYS_1900_TO_1970: i64 = 25_567;
/// `datetime` ticks per day.
const TICKS_PER_DAY: i64 = 300 * 86_400;
/// `datetime`'s first day: 1753-01-01, as days since 1900-01-01.
const DATETIME_MIN_DAYS: i64 = -53_690;
/// `datetime`'s and `datetime2`'s last day: 9999-12-31, as days since 1900-01-01.
const DAYS_1900_TO_9999_12_31: i64 = 2_958_463;
/// `smalldatetime`'s last instant: 2079-06-06 23:59.
const SMALLDATETIME_MAX_DAYS: i64 = 65_535;
/// Days from 0001-01-01 to 9999-12-31.
const DATE_MAX_DAYS: i64 = 3_652_058;

/// A `date` (days since 0001-01-01) as days since 1970-01-01.
pub fn date_days(days_since_0001: u32) -> i32 {
    // At most 3_652_058 − 719_162: always fits.
    i32::try_from(i64::from(days_since_0001) - DAYS_0001_TO_1970).unwrap_or(i32::MAX)
}

/// Days since 1970-01-01 as a `date`'s days since 0001-01-01, or why not.
pub fn days_to_date(days: i32) -> Result<u32, Problem> {
    let d = i64::from(days) + DAYS_0001_TO_1970;
    if !(0..=DATE_MAX_DAYS).contains(&d) {
        return Err(out_of_range("date", "0001-01-01 … 9999-12-31", days));
    }
    Ok(u32::try_from(d).unwrap_or(0))
}

fn out_of_range(ty: &str, range: &str, days: i32) -> Problem {
    if days == i32::MAX || days == i32::MIN {
        format!("±infinity, which {ty} cannot hold (use infinity_to_null)")
    } else {
        format!("outside {ty}'s range {range}")
    }
}

/// `datetime` ticks (1/300 s) → milliseconds, as SQL Server shows them.
pub fn ticks_to_millis(ticks: i64) -> i64 {
    (20 * ticks + 3).div_euclid(6)
}

/// Milliseconds → the nearest `datetime` tick.
pub fn millis_to_ticks(ms: i64) -> i64 {
    (3 * ms + 5).div_euclid(10)
}

/// A `datetime` as µs since the epoch.
pub fn datetime_micros(days_since_1900: i32, ticks: u32) -> Result<i64, Problem> {
    let ticks = i64::from(ticks);
    if ticks >= TICKS_PER_DAY {
        return Err("invalid datetime time of day from the server".into());
    }
    let days = i64::from(days_since_1900) - DAYS_1900_TO_1970;
    Ok(days * MICROS_PER_DAY + ticks_to_millis(ticks) * 1000)
}

/// µs since the epoch → `datetime` (days since 1900, ticks). Exact unless
/// `round`: a value that is not a tick's millisecond is refused.
pub fn micros_to_datetime(us: i64, round: bool) -> Result<(i32, u32), Problem> {
    let days = us.div_euclid(MICROS_PER_DAY);
    let of_day = us.rem_euclid(MICROS_PER_DAY);
    let mut ticks =
        if of_day % 1000 == 0 && ticks_to_millis(millis_to_ticks(of_day / 1000)) == of_day / 1000 {
            millis_to_ticks(of_day / 1000)
        } else if round {
            // Nearest tick, half up: ticks = round(µs × 300 / 10⁶).
            (of_day * 3 + 5_000).div_euclid(10_000)
        } else {
            return Err(
                "a fraction of a second datetime cannot hold (its unit is 1/300 s: \
             .000, .003, .007 …); choose round_fraction to round it"
                    .into(),
            );
        };
    let mut days = days + DAYS_1900_TO_1970;
    if ticks >= TICKS_PER_DAY {
        ticks -= TICKS_PER_DAY;
        days += 1;
    }
    if !(DATETIME_MIN_DAYS..=DAYS_1900_TO_9999_12_31).contains(&days) {
        return Err(out_of_range(
            "datetime",
            "1753-01-01 … 9999-12-31",
            i32::try_from(us.div_euclid(MICROS_PER_DAY)).unwrap_or(i32::MAX),
        ));
    }
    Ok((
        i32::try_from(days).unwrap_or(0),
        u32::try_from(ticks).unwrap_or(0),
    ))
}

/// A `smalldatetime` (days since 1900, minutes since midnight) as µs.
pub fn smalldatetime_micros(days: u16, minutes: u16) -> Result<i64, Problem> {
    if minutes >= 1440 {
        return Err("invalid smalldatetime time of day from the server".into());
    }
    let d = i64::from(days) - DAYS_1900_TO_1970;
    Ok(d * MICROS_PER_DAY + i64::from(minutes) * 60 * MICROS_PER_SECOND)
}

/// µs → `smalldatetime`; a value with seconds is refused unless `round`
/// (to the nearest minute, half up, as SQL Server rounds).
pub fn micros_to_smalldatetime(us: i64, round: bool) -> Result<(u16, u16), Problem> {
    const MINUTE: i64 = 60 * MICROS_PER_SECOND;
    let mut minutes = us.div_euclid(MINUTE);
    let rest = us.rem_euclid(MINUTE);
    if rest != 0 {
        if !round {
            return Err(
                "seconds, which smalldatetime cannot hold (choose round_fraction to \
                        round to the minute)"
                    .into(),
            );
        }
        if rest >= MINUTE / 2 {
            minutes += 1;
        }
    }
    let days = minutes.div_euclid(1440) + DAYS_1900_TO_1970;
    let of_day = minutes.rem_euclid(1440);
    if !(0..=SMALLDATETIME_MAX_DAYS).contains(&days) {
        return Err("outside smalldatetime's range 1900-01-01 … 2079-06-06".into());
    }
    Ok((
        u16::try_from(days).unwrap_or(0),
        u16::try_from(of_day).unwrap_or(0),
    ))
}

/// `time(n)` increments (10⁻ⁿ s) → µs. Scale 7 digits finer than a µs are
/// refused unless `round` (half up).
pub fn increments_to_micros(increments: u64, scale: u8, round: bool) -> Result<i64, Problem> {
    let inc = i64::try_from(increments).map_err(|_| "invalid time from the server".to_string())?;
    match scale {
        0..=6 => Ok(inc * 10i64.pow(6 - u32::from(scale))),
        7 => {
            if inc % 10 == 0 {
                Ok(inc / 10)
            } else if round {
                Ok((inc + 5) / 10)
            } else {
                Err(
                    "a digit finer than a microsecond (100 ns), which ferry carries as µs; \
                     choose round_fraction to round it"
                        .into(),
                )
            }
        }
        _ => Err("invalid time scale from the server".into()),
    }
}

/// µs of a day → `time(scale)` increments; digits the scale cannot hold are
/// refused unless `round` (half up). A value that rounds up to midnight
/// carries into the next day: the second result says so.
pub fn micros_to_increments(us: i64, scale: u8, round: bool) -> Result<(u64, bool), Problem> {
    let scale = scale.min(7);
    let inc = if scale >= 6 {
        us * 10i64.pow(u32::from(scale - 6))
    } else {
        let unit = 10i64.pow(6 - u32::from(scale));
        if us % unit == 0 {
            us / unit
        } else if round {
            (us + unit / 2) / unit
        } else {
            return Err(format!(
                "more fractional digits than the column's {scale} (choose round_fraction to round)"
            ));
        }
    };
    let per_day = 86_400 * 10i64.pow(u32::from(scale));
    if inc >= per_day {
        return Ok((u64::try_from(inc - per_day).unwrap_or(0), true));
    }
    Ok((u64::try_from(inc).unwrap_or(0), false))
}

/// A `datetime2` (days since 0001, time increments) as µs since the epoch.
pub fn datetime2_micros(
    days_since_0001: u32,
    increments: u64,
    scale: u8,
    round: bool,
) -> Result<i64, Problem> {
    let day = (i64::from(days_since_0001) - DAYS_0001_TO_1970) * MICROS_PER_DAY;
    Ok(day + increments_to_micros(increments, scale, round)?)
}

/// µs since the epoch → `datetime2(scale)` (days since 0001, increments).
pub fn micros_to_datetime2(us: i64, scale: u8, round: bool) -> Result<(u32, u64), Problem> {
    if us == i64::MAX || us == i64::MIN {
        return Err("±infinity, which SQL Server cannot hold (use infinity_to_null)".into());
    }
    let days = us.div_euclid(MICROS_PER_DAY);
    let (inc, carry) = micros_to_increments(us.rem_euclid(MICROS_PER_DAY), scale, round)?;
    let days = days + i64::from(carry);
    let d = days + DAYS_0001_TO_1970;
    if !(0..=DATE_MAX_DAYS).contains(&d) {
        return Err("outside SQL Server's range 0001-01-01 … 9999-12-31".into());
    }
    Ok((u32::try_from(d).unwrap_or(0), inc))
}

/// A decimal's text at its scale: `-123.4500`, `0.01`, `7`.
pub fn numeric_text(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let mut out = String::with_capacity(digits.len() + 3);
    if value < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
        return out;
    }
    if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    } else {
        let (i, f) = digits.split_at(digits.len() - scale);
        out.push_str(i);
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A tiberius `Numeric` as canonical decimal text.
pub fn numeric_of(n: Numeric) -> String {
    numeric_text(n.value(), n.scale())
}

/// Canonical decimal text → a `Numeric` at exactly the column's
/// `(precision, scale)`. Never rounds: fraction digits beyond `scale` must
/// be zeros, and the integer part must fit `precision − scale` digits.
///
/// The scale of what ferry sends is always the column's own: tiberius
/// rescales a value whose scale differs from the column's by rounding
/// half away from zero, which would change values silently.
pub fn decimal_to_numeric(text: &str, precision: u8, scale: u8) -> Result<Numeric, Problem> {
    let plain = ferry_core::decimal::split_plain(text).ok_or_else(|| match text {
        "NaN" | "Infinity" | "-Infinity" => {
            "NaN or ±Infinity, which SQL Server decimals cannot hold (use nan_to_null)".to_string()
        }
        _ => "malformed decimal text".to_string(),
    })?;
    let scale_us = usize::from(scale);
    let frac = plain.frac;
    let (kept, dropped) = frac.split_at(frac.len().min(scale_us));
    if dropped.iter().any(|&b| b != b'0') {
        return Err(format!(
            "more than {scale} fractional digits, which decimal({precision},{scale}) would round"
        ));
    }
    let first = plain
        .int
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(plain.int.len());
    let int = &plain.int[first..];
    let int_room = usize::from(precision.saturating_sub(scale));
    if int.len() > int_room {
        return Err(format!(
            "more than {int_room} integer digits, which decimal({precision},{scale}) cannot hold"
        ));
    }
    let mut magnitude: i128 = 0;
    let zeros = scale_us - kept.len();
    for &d in int
        .iter()
        .chain(kept)
        .chain(std::iter::repeat_n(&b'0', zeros))
    {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(d - b'0')))
            .ok_or_else(|| "decimal out of SQL Server's 38 digits".to_string())?;
    }
    let value = if plain.negative {
        -magnitude
    } else {
        magnitude
    };
    Ok(Numeric::new_with_scale(value, scale))
}

/// A `money` or `smallmoney` target's range, in units of 1/10000.
pub fn money_range(small: bool) -> (i128, i128) {
    if small {
        (-2_147_483_648, 2_147_483_647)
    } else {
        (i128::from(i64::MIN), i128::from(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_ticks_map_to_the_milliseconds_sql_server_shows_and_back() {
        // Ticks 0, 1, 2, 3 are .000, .003, .007, .010.
        assert_eq!(
            (0..4).map(ticks_to_millis).collect::<Vec<_>>(),
            vec![0, 3, 7, 10]
        );
        assert_eq!(ticks_to_millis(299), 997);
        // Inverse on every tick of a day: no drift, ever.
        for t in 0..TICKS_PER_DAY {
            assert_eq!(millis_to_ticks(ticks_to_millis(t)), t, "tick {t}");
        }
    }

    #[test]
    fn datetime_edges() {
        // 1900-01-01 is day 0.
        assert_eq!(
            datetime_micros(0, 0).unwrap(),
            -DAYS_1900_TO_1970 * MICROS_PER_DAY
        );
        // 2024-01-01 23:59:59.997 (tick 299 of the last second).
        let days = 45_290; // 2024-01-01
        let ticks = 86_399 * 300 + 299;
        let us = datetime_micros(days, ticks).unwrap();
        assert_eq!(us % MICROS_PER_SECOND, 997_000);
        assert_eq!(micros_to_datetime(us, false).unwrap(), (days, ticks));
        // .998 is no tick's millisecond: refused, or rounded to .997.
        let e = micros_to_datetime(us + 1_000, false).unwrap_err();
        assert!(e.contains("round_fraction"), "{e}");
        assert_eq!(micros_to_datetime(us + 1_000, true).unwrap(), (days, ticks));
        // .999 rounds to the next day, as SQL Server does.
        assert_eq!(micros_to_datetime(us + 2_000, true).unwrap(), (days + 1, 0));
        // 1753-01-01 is the first day; 1752-12-31 is refused.
        let first = (DATETIME_MIN_DAYS - DAYS_1900_TO_1970) * MICROS_PER_DAY;
        assert!(micros_to_datetime(first, false).is_ok());
        assert!(micros_to_datetime(first - MICROS_PER_DAY, false).is_err());
        assert!(micros_to_datetime(i64::MAX, true).is_err());
    }

    #[test]
    fn smalldatetime_minutes() {
        let us = smalldatetime_micros(45_290, 61).unwrap();
        assert_eq!(micros_to_smalldatetime(us, false).unwrap(), (45_290, 61));
        assert!(micros_to_smalldatetime(us + 29_999_000, false).is_err());
        assert_eq!(
            micros_to_smalldatetime(us + 29_999_000, true).unwrap(),
            (45_290, 61)
        );
        assert_eq!(
            micros_to_smalldatetime(us + 30_000_000, true).unwrap(),
            (45_290, 62)
        );
        let last = smalldatetime_micros(65_535, 1439).unwrap();
        assert!(micros_to_smalldatetime(last, false).is_ok());
        assert!(micros_to_smalldatetime(last + 60 * MICROS_PER_SECOND, false).is_err());
    }

    #[test]
    fn hundred_nanoseconds_are_refused_unless_rounded() {
        // 12:00:00.1234567 at scale 7.
        let inc = 12 * 3600 * 10_000_000 + 1_234_567;
        let e = increments_to_micros(inc, 7, false).unwrap_err();
        assert!(e.contains("100 ns") && e.contains("round_fraction"), "{e}");
        assert_eq!(
            increments_to_micros(inc, 7, true).unwrap(),
            12 * 3600 * 1_000_000 + 123_457
        );
        assert_eq!(
            increments_to_micros(12 * 3600 * 10_000_000 + 1_234_560, 7, false).unwrap(),
            12 * 3600 * 1_000_000 + 123_456
        );
        assert_eq!(increments_to_micros(123, 3, false).unwrap(), 123_000);
        // Back: µs into time(7) and time(3).
        assert_eq!(
            micros_to_increments(123_456, 7, false).unwrap(),
            (1_234_560, false)
        );
        assert!(micros_to_increments(123_456, 3, false).is_err());
        assert_eq!(
            micros_to_increments(123_456, 3, true).unwrap(),
            (123, false)
        );
        // 23:59:59.9999995 rounds to the next midnight.
        let last = 86_400 * 10_000_000 - 5;
        assert_eq!(increments_to_micros(last, 7, true).unwrap(), MICROS_PER_DAY);
        assert_eq!(
            micros_to_increments(MICROS_PER_DAY - 1, 0, true).unwrap(),
            (0, true)
        );
    }

    #[test]
    fn datetime2_from_year_one() {
        assert_eq!(
            datetime2_micros(0, 0, 7, false).unwrap(),
            -DAYS_0001_TO_1970 * MICROS_PER_DAY
        );
        assert_eq!(datetime2_micros(719_162, 0, 0, false).unwrap(), 0);
        let us = datetime2_micros(3_652_058, 86_399 * 1_000_000 + 999_999, 6, false).unwrap();
        assert_eq!(
            micros_to_datetime2(us, 6, false).unwrap(),
            (3_652_058, 86_399_999_999)
        );
        assert!(micros_to_datetime2(us + 1, 6, false).is_err());
        assert!(micros_to_datetime2(i64::MIN, 6, false).is_err());
        assert_eq!(micros_to_datetime2(0, 7, false).unwrap(), (719_162, 0));
    }

    #[test]
    fn dates() {
        assert_eq!(date_days(719_162), 0);
        assert_eq!(date_days(0), -719_162);
        assert_eq!(days_to_date(-719_162).unwrap(), 0);
        assert!(days_to_date(-719_163).is_err());
        assert!(days_to_date(i32::MAX).unwrap_err().contains("infinity"));
    }

    #[test]
    fn numerics_keep_the_column_scale_and_never_round() {
        assert_eq!(numeric_text(-1234500, 4), "-123.4500");
        assert_eq!(numeric_text(1, 2), "0.01");
        assert_eq!(numeric_text(7, 0), "7");
        assert_eq!(numeric_text(0, 3), "0.000");
        let n = decimal_to_numeric("12.5", 10, 3).unwrap();
        assert_eq!((n.value(), n.scale()), (12_500, 3));
        let n = decimal_to_numeric("-0.10", 5, 1).unwrap();
        assert_eq!((n.value(), n.scale()), (-1, 1));
        // The tiberius bug class: a value whose scale exceeds the column's
        // would be rounded by the driver; ferry refuses it instead.
        let e = decimal_to_numeric("1.005", 10, 2).unwrap_err();
        assert!(e.contains("would round"), "{e}");
        assert!(decimal_to_numeric("123", 4, 2)
            .unwrap_err()
            .contains("integer digits"));
        assert!(decimal_to_numeric("NaN", 10, 2)
            .unwrap_err()
            .contains("nan_to_null"));
        // (38,38): all fraction.
        let n = decimal_to_numeric("0.12345678901234567890123456789012345678", 38, 38).unwrap();
        assert_eq!(numeric_of(n), "0.12345678901234567890123456789012345678");
        // 38 integer digits.
        let big = "9".repeat(38);
        assert_eq!(numeric_of(decimal_to_numeric(&big, 38, 0).unwrap()), big);
    }
}
