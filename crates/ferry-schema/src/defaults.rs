//! Column defaults: the source dialect classifies them (literals, booleans,
//! the current time, random UUIDs, anything else as an expression), this
//! module decides what each kind means for the target column's logical type,
//! and the target dialect spells it. Anything that does not fit becomes a
//! warning.

use ferry_core::expr::DefaultExpr;
use ferry_core::plan::Conversion;
use ferry_core::{ColumnPlan, Dialect, LogicalType};

use crate::expr;

/// Renders a source default for the target column: the SQL after `DEFAULT`,
/// `Ok(None)` for no default, or why it cannot be carried.
pub fn render(
    src: &str,
    from: &dyn Dialect,
    to: &dyn Dialect,
    col: &ColumnPlan,
    columns: &[String],
) -> Result<Option<String>, String> {
    let value = from.parse_default(src);
    if expr::same(from, to) {
        return to.render_own_default(src, &value);
    }
    let lob = to.default_needs_parens(&col.target_type);
    let wrap = |s: String| if lob { format!("({s})") } else { s };
    use LogicalType as L;
    let numeric = matches!(
        col.logical,
        L::Int8
            | L::Int16
            | L::Int32
            | L::Int64
            | L::UInt8
            | L::UInt16
            | L::UInt32
            | L::UInt64
            | L::Float32
            | L::Float64
            | L::Decimal { .. }
            | L::Money
            | L::Year
    );
    Ok(Some(match value {
        DefaultExpr::Null => return Ok(None),
        DefaultExpr::Bool(_) | DefaultExpr::Num(_) | DefaultExpr::Str(_) | DefaultExpr::Bits(_)
            if col.logical == L::Bool =>
        {
            let b = match &value {
                DefaultExpr::Bool(b) => *b,
                DefaultExpr::Num(n) | DefaultExpr::Str(n) | DefaultExpr::Bits(n) => {
                    match n.as_str() {
                        "0" | "f" | "false" => false,
                        "1" | "t" | "true" => true,
                        _ => return Err(format!("{n} is not a boolean")),
                    }
                }
                _ => false,
            };
            to.bool_literal(b)
        }
        DefaultExpr::Bool(_) => return Err("a boolean default on a non-boolean column".into()),
        DefaultExpr::Bits(b) => match &col.logical {
            L::Bit { .. } => to.bit_default(&b, &col.target_type),
            _ => return Err("a bit string on a column that is not a bit string".into()),
        },
        // A zero date follows the column's zero-date rule: loaded as NULL
        // under zero_date_to_null (so no default), else the target cannot
        // hold it.
        DefaultExpr::Str(s) if is_zero_date(&s) => {
            if col.conversion == Conversion::ZeroDateToNull {
                return Ok(None);
            }
            return Err(format!(
                "{s:?} is a zero date, which the target cannot hold; the column gets no default"
            ));
        }
        DefaultExpr::Num(n) if numeric => n,
        DefaultExpr::Str(s) if numeric && s.trim().parse::<f64>().is_ok() => s.trim().to_string(),
        DefaultExpr::Num(n) => wrap(to.quote_literal(&n)),
        DefaultExpr::Str(s) => match &col.logical {
            L::Set { .. } => {
                let members: Vec<&str> = if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(',').collect()
                };
                match to.set_default(&members, &col.target_type) {
                    Some(sql) => sql,
                    None => wrap(to.quote_literal(&s)),
                }
            }
            L::Array { element } => {
                let json = from
                    .parse_array_literal(&s)
                    .ok_or("an array literal that is not one-dimensional")
                    .and_then(|items| {
                        json_array(&items, element)
                            .ok_or("an array literal whose elements are not numbers or text")
                    })?;
                match to.json_array_default(&json) {
                    Some(sql) => sql,
                    None => return Err("an array literal".into()),
                }
            }
            // Time-zoned literals from another engine are UTC in ferry's sessions.
            L::TimestampTz { .. } => match to.timestamptz_default(&s) {
                Some(sql) => sql,
                None => return Err("a time-zoned literal".into()),
            },
            L::Bit { .. } | L::Binary { .. } | L::VarBinary { .. } => {
                return Err("a binary literal".into())
            }
            _ if numeric => return Err(format!("{s:?} is not a number")),
            _ => wrap(to.quote_literal(&s)),
        },
        DefaultExpr::Now => match &col.logical {
            L::Date => to.current_date_default(),
            L::Timestamp { .. } | L::TimestampTz { .. } => {
                to.current_timestamp_default(&col.target_type)
            }
            _ => return Err("the current time on a column that is not a timestamp".into()),
        },
        DefaultExpr::Today => match &col.logical {
            L::Date | L::Timestamp { .. } | L::TimestampTz { .. } => to.current_date_default(),
            _ => return Err("the current date on a column that is not a date".into()),
        },
        DefaultExpr::CurrentTime => match &col.logical {
            L::Time { .. } => to.current_time_default(&col.target_type),
            _ => return Err("the current time of day on a column that is not a time".into()),
        },
        DefaultExpr::Uuid => to.uuid_default(),
        DefaultExpr::Other(o) => format!("({})", expr::translate(&o, from, to, columns)?),
    }))
}

/// Array elements as the JSON array the copy writes for such a column:
/// numbers for numeric elements (validated), `true`/`false` for booleans,
/// strings otherwise; `None` when an element does not fit its type.
fn json_array(items: &[Option<String>], element: &LogicalType) -> Option<String> {
    use LogicalType as L;
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(v) = item else {
            out.push_str("null");
            continue;
        };
        match element {
            L::Int8 | L::Int16 | L::Int32 | L::Int64 => {
                out.push_str(&v.parse::<i64>().ok()?.to_string())
            }
            L::Decimal { .. } | L::Float32 | L::Float64 => {
                let n = v.trim();
                let plain = n.strip_prefix('-').unwrap_or(n);
                let ok = !plain.is_empty()
                    && plain.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && plain.bytes().filter(|&b| b == b'.').count() <= 1
                    && !plain.starts_with('.')
                    && !plain.ends_with('.');
                if !ok {
                    return None;
                }
                out.push_str(n);
            }
            L::Bool => out.push_str(match v.as_str() {
                "t" | "true" => "true",
                "f" | "false" => "false",
                _ => return None,
            }),
            _ => json_string(&mut out, v),
        }
    }
    out.push(']');
    Some(out)
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A MySQL zero or partial date (`0000-00-00`, `2024-00-10 …`): a year,
/// month or day of zero.
fn is_zero_date(s: &str) -> bool {
    let date = s.split([' ', 'T']).next().unwrap_or("");
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && (parts[1].bytes().all(|b| b == b'0') || parts[2].bytes().all(|b| b == b'0'))
}
