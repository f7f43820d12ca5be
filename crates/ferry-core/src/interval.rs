//! PostgreSQL intervals as ISO 8601 duration text.
//!
//! `ferry copy` writes a PostgreSQL interval into a MySQL text column in this
//! form, and `ferry verify` compares intervals through it, so both must use
//! this one definition. Each component carries its own sign, as PostgreSQL's
//! `IntervalStyle = iso_8601` prints it and reads it back:
//! `P1Y2M3DT4H5M6.5S`, `P-1DT2H`, `PT0S`. A SQLite target holds intervals
//! in this text too, and [`parse_iso8601`] reads them back.

/// Renders `months`, `days` and `nanos` (Arrow's MonthDayNano) as ISO 8601.
pub fn iso8601(months: i32, days: i32, nanos: i64) -> String {
    let mut s = String::from("P");
    let (years, months) = (months / 12, months % 12);
    if years != 0 {
        s.push_str(&format!("{years}Y"));
    }
    if months != 0 {
        s.push_str(&format!("{months}M"));
    }
    if days != 0 {
        s.push_str(&format!("{days}D"));
    }
    if nanos != 0 {
        s.push('T');
        let neg = nanos < 0;
        let abs = nanos.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        let total_secs = abs / 1_000_000_000;
        let frac = abs % 1_000_000_000;
        let (h, m, sec) = (total_secs / 3600, total_secs / 60 % 60, total_secs % 60);
        if h != 0 {
            s.push_str(&format!("{sign}{h}H"));
        }
        if m != 0 {
            s.push_str(&format!("{sign}{m}M"));
        }
        if sec != 0 || frac != 0 {
            s.push_str(&format!("{sign}{sec}"));
            if frac != 0 {
                let f = format!("{frac:09}");
                s.push('.');
                s.push_str(f.trim_end_matches('0'));
            }
            s.push('S');
        }
    }
    if s == "P" {
        s.push_str("T0S");
    }
    s
}

/// Parses ISO 8601 duration text as [`iso8601`] writes it (each component
/// signed, weeks as 7 days, seconds with up to 9 fraction digits) into
/// `(months, days, nanos)`; `None` for anything else or an overflow.
pub fn parse_iso8601(s: &str) -> Option<(i32, i32, i64)> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let (mut months, mut days, mut nanos) = (0i64, 0i64, 0i64);
    for (n, unit) in components(date)? {
        let whole = n.whole()?;
        match unit {
            'Y' => months = months.checked_add(whole.checked_mul(12)?)?,
            'M' => months = months.checked_add(whole)?,
            'W' => days = days.checked_add(whole.checked_mul(7)?)?,
            'D' => days = days.checked_add(whole)?,
            _ => return None,
        }
    }
    for (n, unit) in time.map(components).unwrap_or(Some(Vec::new()))? {
        let per: i64 = match unit {
            'H' => 3_600_000_000_000,
            'M' => 60_000_000_000,
            'S' => 1_000_000_000,
            _ => return None,
        };
        let part = if unit == 'S' {
            n.nanos()?
        } else {
            n.whole()?.checked_mul(per)?
        };
        nanos = nanos.checked_add(part)?;
    }
    Some((
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        nanos,
    ))
}

/// One signed number of a duration, as written.
struct Number<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

impl Number<'_> {
    fn whole(&self) -> Option<i64> {
        if !self.frac.is_empty() {
            return None;
        }
        let v: i64 = self.int.parse().ok()?;
        Some(if self.negative { -v } else { v })
    }

    /// Seconds with a fraction, in nanoseconds.
    fn nanos(&self) -> Option<i64> {
        if self.frac.len() > 9 {
            return None;
        }
        let secs: i64 = self.int.parse().ok()?;
        let frac: i64 = if self.frac.is_empty() {
            0
        } else {
            format!("{:0<9}", self.frac).parse().ok()?
        };
        let v = secs.checked_mul(1_000_000_000)?.checked_add(frac)?;
        Some(if self.negative { -v } else { v })
    }
}

/// `1Y-2M3D` → [(1, 'Y'), (-2, 'M'), (3, 'D')].
fn components(s: &str) -> Option<Vec<(Number<'_>, char)>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let negative = rest.starts_with('-');
        let body = rest.strip_prefix('-').unwrap_or(rest);
        let unit_at = body.find(|c: char| c.is_ascii_alphabetic())?;
        let (num, tail) = body.split_at(unit_at);
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let unit = tail.chars().next()?;
        out.push((
            Number {
                negative,
                int,
                frac,
            },
            unit,
        ));
        rest = &tail[1..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_text_reads_back_what_it_writes() {
        for (m, d, n) in [
            (14, 3, 14_706_500_000_000i64),
            (0, -1, 7_200_000_000_000),
            (0, 0, 0),
            (-13, 0, -1_500),
            (
                0,
                0,
                838 * 3_600_000_000_000 + 59 * 60_000_000_000 + 59_000_000_000,
            ),
        ] {
            let text = iso8601(m, d, n);
            assert_eq!(parse_iso8601(&text), Some((m, d, n)), "{text}");
        }
        assert_eq!(parse_iso8601("P2W"), Some((0, 14, 0)));
        for bad in [
            "",
            "P",
            "PT",
            "1D",
            "P1.5D",
            "PT1.1234567891S",
            "P1X",
            "P--1D",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
