//! Column defaults: recognise the common kinds (literals, booleans, the
//! current time, random UUIDs) and spell them for the target; anything else
//! goes through the expression translator or becomes a warning.

use ferry_core::{ColumnPlan, Engine, LogicalType};
use ferry_mapping::quote_literal;

use crate::expr;

/// A default, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    Null,
    Str(String),
    Num(String),
    Bool(bool),
    /// now() / CURRENT_TIMESTAMP.
    Now,
    /// CURRENT_DATE / curdate().
    Today,
    /// gen_random_uuid() / UUID().
    Uuid,
    /// Anything else, kept as source text.
    Other(String),
}

/// Parses a source default expression.
pub fn parse(src: &str, from: Engine) -> DefaultValue {
    let mut s = src.trim();
    // Outer parentheses that wrap the whole expression.
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].trim();
    }
    // A trailing PostgreSQL cast: `'x'::text`, `'sad'::mood`, `'{}'::integer[]`.
    let body = if from == Engine::Postgres {
        strip_cast(s)
    } else {
        s
    };
    let body = body.trim();
    let lower = body.to_ascii_lowercase();
    if lower == "null" {
        return DefaultValue::Null;
    }
    if lower == "true" || lower == "false" {
        return DefaultValue::Bool(lower == "true");
    }
    if let Some(lit) = single_literal(body, from) {
        return DefaultValue::Str(lit);
    }
    let num = body.trim_start_matches('(').trim_end_matches(')');
    if !num.is_empty() && num.parse::<f64>().is_ok() && !num.contains(['e', 'E', 'x', 'X']) {
        return DefaultValue::Num(num.to_string());
    }
    let call = lower.replace(' ', "");
    let name = call.split('(').next().unwrap_or("");
    match name {
        "now"
        | "current_timestamp"
        | "localtimestamp"
        | "transaction_timestamp"
        | "statement_timestamp" => DefaultValue::Now,
        "current_date" | "curdate" => DefaultValue::Today,
        "gen_random_uuid" | "uuid" | "uuid_generate_v4" if call.ends_with("()") => {
            DefaultValue::Uuid
        }
        _ => DefaultValue::Other(src.trim().to_string()),
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut in_str = false;
    for c in s.chars() {
        match c {
            '\'' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// `'x'::type` → `'x'`; leaves anything else alone.
fn strip_cast(s: &str) -> &str {
    if let Some(pos) = s.rfind("::") {
        let head = &s[..pos];
        // Only when the head is one literal (its quotes closed) or a number.
        if (head.starts_with('\'')
            && head.ends_with('\'')
            && head.matches('\'').count().is_multiple_of(2))
            || head
                .trim_start_matches('(')
                .trim_end_matches(')')
                .parse::<f64>()
                .is_ok()
            || head.eq_ignore_ascii_case("null")
        {
            return head;
        }
    }
    s
}

/// The value of `s` when it is exactly one string literal.
fn single_literal(s: &str, from: Engine) -> Option<String> {
    let s = s.strip_prefix("_utf8mb4").unwrap_or(s);
    if !(s.starts_with('\'') && s.ends_with('\'') && s.len() >= 2) {
        return None;
    }
    let inner: Vec<char> = s[1..s.len() - 1].chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            '\'' => {
                if inner.get(i + 1) == Some(&'\'') {
                    out.push('\'');
                    i += 2;
                } else {
                    return None;
                }
            }
            '\\' if from == Engine::MySql => {
                let e = inner.get(i + 1)?;
                out.push(match e {
                    '0' => '\0',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'Z' => '\u{1a}',
                    c => *c,
                });
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Whether MySQL needs an expression default `(…)` for this target type:
/// TEXT, BLOB and JSON columns take no literal default.
fn mysql_lob(target_type: &str) -> bool {
    let t = target_type.to_ascii_lowercase();
    t.ends_with("text") || t.ends_with("blob") || t.starts_with("json")
}

fn fsp_of(target_type: &str) -> Option<u8> {
    let open = target_type.find('(')?;
    let close = target_type.find(')')?;
    target_type[open + 1..close].trim().parse().ok()
}

/// Renders a source default for the target column: the SQL after `DEFAULT`,
/// `Ok(None)` for no default, or why it cannot be carried.
pub fn render(
    src: &str,
    from: Engine,
    to: Engine,
    col: &ColumnPlan,
    columns: &[String],
) -> Result<Option<String>, String> {
    let value = parse(src, from);
    if from == to {
        return Ok(match value {
            DefaultValue::Null => None,
            DefaultValue::Other(o) if from == Engine::Postgres && o.contains("nextval(") => {
                return Err("it draws from a sequence that is not copied".into())
            }
            DefaultValue::Other(o) if from == Engine::MySql => Some(format!("({o})")),
            DefaultValue::Uuid if from == Engine::MySql => Some("(uuid())".into()),
            DefaultValue::Today if from == Engine::MySql => Some("(curdate())".into()),
            _ => Some(src.trim().to_string()),
        });
    }
    let lob = to == Engine::MySql && mysql_lob(&col.target_type);
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
        DefaultValue::Null => return Ok(None),
        DefaultValue::Bool(_) | DefaultValue::Num(_) | DefaultValue::Str(_)
            if col.logical == L::Bool =>
        {
            let b = match &value {
                DefaultValue::Bool(b) => *b,
                DefaultValue::Num(n) | DefaultValue::Str(n) => match n.as_str() {
                    "0" | "f" | "false" => false,
                    "1" | "t" | "true" => true,
                    _ => return Err(format!("{n} is not a boolean")),
                },
                _ => false,
            };
            match (to, b) {
                (Engine::Postgres, true) => "true".into(),
                (Engine::Postgres, false) => "false".into(),
                (Engine::MySql, true) => "1".into(),
                (Engine::MySql, false) => "0".into(),
            }
        }
        DefaultValue::Bool(_) => return Err("a boolean default on a non-boolean column".into()),
        DefaultValue::Num(n) if numeric => n,
        DefaultValue::Str(s) if numeric && s.trim().parse::<f64>().is_ok() => s.trim().to_string(),
        DefaultValue::Num(n) => wrap(quote_literal(to, &n)),
        DefaultValue::Str(s) => match &col.logical {
            L::Set { .. } if to == Engine::Postgres => {
                let items: Vec<String> = if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(',')
                        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                        .collect()
                };
                quote_literal(to, &format!("{{{}}}", items.join(",")))
            }
            L::Array { .. } if to == Engine::MySql && s == "{}" => "('[]')".into(),
            L::Array { .. } => return Err("an array literal".into()),
            L::TimestampTz { .. } if to == Engine::Postgres => {
                // MySQL TIMESTAMP literals are UTC in ferry's sessions.
                quote_literal(to, &format!("{s}+00"))
            }
            L::TimestampTz { .. } => return Err("a time-zoned literal".into()),
            L::Bit { .. } | L::Binary { .. } | L::VarBinary { .. } => {
                return Err("a binary literal".into())
            }
            _ if numeric => return Err(format!("{s:?} is not a number")),
            _ => wrap(quote_literal(to, &s)),
        },
        DefaultValue::Now => match (&col.logical, to) {
            (L::Date, Engine::Postgres) => "CURRENT_DATE".into(),
            (L::Date, Engine::MySql) => "(curdate())".into(),
            (L::Timestamp { .. } | L::TimestampTz { .. }, Engine::Postgres) => {
                "CURRENT_TIMESTAMP".into()
            }
            (L::Timestamp { .. } | L::TimestampTz { .. }, Engine::MySql) => {
                match fsp_of(&col.target_type).unwrap_or(0) {
                    0 => "CURRENT_TIMESTAMP".into(),
                    p => format!("CURRENT_TIMESTAMP({p})"),
                }
            }
            _ => return Err("the current time on a column that is not a timestamp".into()),
        },
        DefaultValue::Today => match to {
            Engine::Postgres => "CURRENT_DATE".into(),
            Engine::MySql => "(curdate())".into(),
        },
        DefaultValue::Uuid => match to {
            Engine::Postgres if col.logical == L::Uuid => "gen_random_uuid()".into(),
            // PostgreSQL assigns uuid to a string column through its text form.
            Engine::Postgres => "gen_random_uuid()".into(),
            Engine::MySql => "(uuid())".into(),
        },
        DefaultValue::Other(o) => format!("({})", expr::translate(&o, from, to, columns)?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_defaults() {
        use DefaultValue as D;
        let pg = |s| parse(s, Engine::Postgres);
        let my = |s| parse(s, Engine::MySql);
        assert_eq!(pg("'abc'::text"), D::Str("abc".into()));
        assert_eq!(pg("'it''s'::character varying"), D::Str("it's".into()));
        assert_eq!(pg("'-1'::integer"), D::Str("-1".into()));
        assert_eq!(pg("0"), D::Num("0".into()));
        assert_eq!(pg("(-1.5)"), D::Num("-1.5".into()));
        assert_eq!(pg("true"), D::Bool(true));
        assert_eq!(pg("now()"), D::Now);
        assert_eq!(pg("CURRENT_TIMESTAMP"), D::Now);
        assert_eq!(pg("gen_random_uuid()"), D::Uuid);
        assert_eq!(pg("'sad'::mood"), D::Str("sad".into()));
        assert_eq!(pg("NULL::text"), D::Null);
        assert_eq!(my("'a\\\\b'"), D::Str("a\\b".into()));
        assert_eq!(my("current_timestamp(6)"), D::Now);
        assert_eq!(my("uuid()"), D::Uuid);
        assert_eq!(my("curdate()"), D::Today);
        assert_eq!(my("NULL"), D::Null);
        assert_eq!(my("1"), D::Num("1".into()));
        assert!(matches!(pg("lower('X')"), D::Other(_)));
    }
}
