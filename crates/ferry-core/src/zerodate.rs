//! MySQL's zero and partial dates in the hub.
//!
//! MySQL stores `0000-00-00`, `2016-07-00`, `2025-00-15` and
//! `0000-00-00 00:00:00` (and year 0 with a month and day): no calendar
//! date, so no ordinary `Date32` or timestamp value means them. They travel
//! as reserved values far below any date an engine holds, the way ±infinity
//! travels as the integer extremes:
//!
//! - a date is `ZERO_DAYS_BASE + packed(y, m, d)` days;
//! - a date and time is `ZERO_MICROS_BASE + packed(y, m, d) × 86 400 000 000 + µs of the day`.
//!
//! `packed(y, m, d) = (y × 13 + m) × 32 + d` keeps every year 0–9999, month
//! 0–12 and day 0–31 apart and orders like the text (`0000-00-00` first).
//! The blocks end at −2 147 483 646 + 4.2 M days and at about −8.86 × 10¹⁸ µs;
//! PostgreSQL's earliest date (4713 BC) is −2.46 M days, its earliest
//! timestamp −2.1 × 10¹⁷ µs, so no real value falls in them.
//!
//! A sink that holds such values (MySQL) writes them back verbatim; any
//! other sink refuses them with the key, naming `zero_date_to_null`.
//! Verify compares them as the integers they are, so a zero date copied
//! MySQL → MySQL verifies equal, and one changed in the target does not.

/// µs in a day.
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// The first reserved day (`i32::MIN` and `i32::MIN + 1` stay free: −infinity
/// and its neighbour).
pub const ZERO_DAYS_BASE: i32 = i32::MIN + 2;
/// The first reserved µs value (as for days, away from −infinity).
pub const ZERO_MICROS_BASE: i64 = i64::MIN + 2;
/// Packed values: 10 000 years × 13 months × 32 days.
const PACKED_SPAN: i32 = 10_000 * 13 * 32;

/// Whether (y, m, d) is a zero or partial date (year, month or day 0).
pub fn is_zero_or_partial(y: u16, m: u8, d: u8) -> bool {
    y == 0 || m == 0 || d == 0
}

fn pack(y: u16, m: u8, d: u8) -> Option<i32> {
    (y <= 9999 && m <= 12 && d <= 31)
        .then(|| (i32::from(y) * 13 + i32::from(m)) * 32 + i32::from(d))
}

fn unpack(p: i32) -> (u16, u8, u8) {
    let d = p % 32;
    let ym = p / 32;
    let (y, m) = (ym / 13, ym % 13);
    (
        u16::try_from(y).unwrap_or(0),
        u8::try_from(m).unwrap_or(0),
        u8::try_from(d).unwrap_or(0),
    )
}

/// The hub's day value for a zero or partial date; `None` when a part is
/// out of range (a year past 9999, a month past 12, a day past 31).
pub fn days(y: u16, m: u8, d: u8) -> Option<i32> {
    pack(y, m, d).map(|p| ZERO_DAYS_BASE + p)
}

/// (y, m, d) of a reserved day value, `None` for an ordinary date.
pub fn of_days(days: i32) -> Option<(u16, u8, u8)> {
    let p = i64::from(days) - i64::from(ZERO_DAYS_BASE);
    (0..i64::from(PACKED_SPAN))
        .contains(&p)
        .then(|| unpack(i32::try_from(p).unwrap_or(0)))
}

/// The hub's µs value for a zero or partial date with a time of day
/// (`time_micros` in 0 … one day).
pub fn micros(y: u16, m: u8, d: u8, time_micros: i64) -> Option<i64> {
    if !(0..MICROS_PER_DAY).contains(&time_micros) {
        return None;
    }
    pack(y, m, d).map(|p| ZERO_MICROS_BASE + i64::from(p) * MICROS_PER_DAY + time_micros)
}

/// ((y, m, d), µs of the day) of a reserved µs value, `None` for an
/// ordinary instant.
pub fn of_micros(us: i64) -> Option<((u16, u8, u8), i64)> {
    let off = i128::from(us) - i128::from(ZERO_MICROS_BASE);
    let span = i128::from(PACKED_SPAN) * i128::from(MICROS_PER_DAY);
    if !(0..span).contains(&off) {
        return None;
    }
    let off = i64::try_from(off).ok()?;
    let p = i32::try_from(off / MICROS_PER_DAY).ok()?;
    Some((unpack(p), off % MICROS_PER_DAY))
}

/// What a sink that cannot hold these values says, without the value.
pub const REFUSED: &str =
    "zero or partial MySQL date (0000-00-00, 2016-07-00), which the target cannot store \
     (use zero_date_to_null to load it as NULL)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stays_clear_of_real_dates() {
        for (y, m, d) in [
            (0, 0, 0),
            (2016, 7, 0),
            (2025, 0, 15),
            (0, 1, 1),
            (9999, 12, 31),
        ] {
            let v = days(y, m, d).unwrap();
            assert_eq!(of_days(v), Some((y, m, d)));
            let us = micros(y, m, d, 45_296_789_012).unwrap();
            assert_eq!(of_micros(us), Some(((y, m, d), 45_296_789_012)));
        }
        assert!(days(0, 0, 0).unwrap() > i32::MIN + 1);
        assert!(days(9999, 12, 31).unwrap() < -2_460_000);
        assert!(micros(9999, 12, 31, MICROS_PER_DAY - 1).unwrap() < -211_900_000_000_000_000);
        for real in [0, -2_460_000, i32::MIN, i32::MAX, 2_932_896] {
            assert_eq!(of_days(real), None, "{real}");
        }
        for real in [0, i64::MIN, i64::MAX, -211_813_488_000_000_000] {
            assert_eq!(of_micros(real), None, "{real}");
        }
        assert_eq!(days(10_000, 1, 1), None);
        assert_eq!(micros(0, 0, 0, MICROS_PER_DAY), None);
        // Text order: 0000-00-00 < 0000-01-01 < 2016-07-00 < 2016-07-01.
        assert!(days(0, 0, 0) < days(0, 1, 1));
        assert!(days(2016, 7, 0) < days(2016, 7, 1));
    }
}
