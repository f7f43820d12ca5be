//! PostgreSQL intervals as ISO 8601 duration text.
//!
//! `ferry copy` writes a PostgreSQL interval into a MySQL text column in this
//! form, and `ferry verify` compares intervals through it, so both must use
//! this one definition. Each component carries its own sign, as PostgreSQL's
//! `IntervalStyle = iso_8601` prints it and reads it back:
//! `P1Y2M3DT4H5M6.5S`, `P-1DT2H`, `PT0S`.

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
