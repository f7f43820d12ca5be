//! Column defaults, classified into the kinds every engine has.
//!
//! Catalogs spell the same default many ways: PostgreSQL wraps literals in
//! casts (`'now'::text::date`, `('now'::text)::date`, `(0)::numeric`), MySQL
//! wraps expression defaults in parentheses and writes bit literals `b'…'`.
//! The classifier peels those wrappers and keeps the outermost cast's type,
//! because that type decides the meaning: `'now'` cast to `date` is the
//! current date evaluated at each INSERT, cast to `text` it is the word.

/// A column default, classified: the common kinds every engine has, in
/// neutral form, or the source text for the expression translator.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultExpr {
    Null,
    Str(String),
    Num(String),
    Bool(bool),
    /// The current timestamp.
    Now,
    /// The current date.
    Today,
    /// The current time of day (`CURRENT_TIME`, `LOCALTIME`, `curtime()`).
    CurrentTime,
    /// A bit-string literal (`b'101'`, `B'101'`), its digits.
    Bits(String),
    /// A random UUID.
    Uuid,
    /// Anything else, kept as source text.
    Other(String),
}

/// What a dialect's default text looks like, for [`classify_default`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRules {
    /// Backslash escapes in string literals.
    pub backslash_escapes: bool,
    /// A trailing `::type` cast on a literal (PostgreSQL's catalog form).
    pub trailing_casts: bool,
}

/// Classifies a default as the catalog spells it.
pub fn classify_default(src: &str, rules: DefaultRules) -> DefaultExpr {
    let mut body = strip_parens(src.trim());
    // The outermost cast's type, lowercase: the type the value finally has.
    let mut cast: Option<String> = None;
    if rules.trailing_casts {
        while let Some((head, ty)) = split_cast(body) {
            cast.get_or_insert(ty);
            body = strip_parens(head);
        }
    }
    let lower = body.to_ascii_lowercase();
    if lower == "null" {
        return DefaultExpr::Null;
    }
    if lower == "true" || lower == "false" {
        return DefaultExpr::Bool(lower == "true");
    }
    if let Some(bits) = bit_literal(body) {
        return DefaultExpr::Bits(bits);
    }
    if let Some(lit) = single_literal(body, rules.backslash_escapes) {
        return match (lit.to_ascii_lowercase().as_str(), cast.as_deref()) {
            // Special date/time input strings, evaluated at each INSERT when
            // the cast happens then (PostgreSQL folds `'now'::date` to a
            // constant at CREATE time; `('now'::text)::date` stays live).
            ("now", Some(t)) if t.starts_with("timestamp") => DefaultExpr::Now,
            ("now" | "today", Some("date")) => DefaultExpr::Today,
            ("now", Some(t)) if t.starts_with("time") => DefaultExpr::CurrentTime,
            ("today" | "tomorrow" | "yesterday" | "now", Some(t)) if t.starts_with("time") => {
                DefaultExpr::Other(src.trim().to_string())
            }
            // PostgreSQL stores `B'101'` as `'101'::"bit"`.
            (_, Some(t)) if t.starts_with("bit") && lit.chars().all(|c| c == '0' || c == '1') => {
                DefaultExpr::Bits(lit)
            }
            _ => DefaultExpr::Str(lit),
        };
    }
    let num = body.trim_start_matches('(').trim_end_matches(')');
    if !num.is_empty() && num.parse::<f64>().is_ok() && !num.contains(['e', 'E', 'x', 'X']) {
        return DefaultExpr::Num(num.to_string());
    }
    let call = lower.replace(' ', "");
    let name = call.split('(').next().unwrap_or("");
    let value = match name {
        "now"
        | "current_timestamp"
        | "localtimestamp"
        | "transaction_timestamp"
        | "statement_timestamp"
        | "clock_timestamp" => DefaultExpr::Now,
        "current_date" | "curdate" => DefaultExpr::Today,
        "current_time" | "localtime" | "curtime" => DefaultExpr::CurrentTime,
        "gen_random_uuid" | "uuid" | "uuid_generate_v4" if call.ends_with("()") => {
            DefaultExpr::Uuid
        }
        _ => return DefaultExpr::Other(src.trim().to_string()),
    };
    // `now()::date` is today.
    match (value, cast.as_deref()) {
        (DefaultExpr::Now, Some("date")) => DefaultExpr::Today,
        (v, _) => v,
    }
}

/// Removes parentheses that wrap the whole of `s`.
fn strip_parens(mut s: &str) -> &str {
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].trim();
    }
    s
}

/// `head::type` → `(head, type)` when the last `::` is a cast of the whole
/// of `head` (outside quotes and parentheses) to a plain type name.
fn split_cast(s: &str) -> Option<(&str, String)> {
    let pos = s.rfind("::")?;
    let (head, ty) = (s[..pos].trim(), s[pos + 2..].trim());
    let type_chars = |c: char| c.is_alphanumeric() || " _\"[](),".contains(c);
    if head.is_empty() || ty.is_empty() || !ty.chars().all(type_chars) {
        return None;
    }
    if !balanced(head) || !balanced(ty) || head.matches('\'').count() % 2 != 0 {
        return None;
    }
    Some((head, ty.replace('"', "").to_ascii_lowercase()))
}

/// The digits of a bit-string literal `b'0101'` / `B'0101'`.
fn bit_literal(s: &str) -> Option<String> {
    let rest = s.strip_prefix(['b', 'B'])?.strip_prefix('\'')?;
    let digits = rest.strip_suffix('\'')?;
    digits
        .chars()
        .all(|c| c == '0' || c == '1')
        .then(|| digits.to_string())
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

/// The value of `s` when it is exactly one string literal.
fn single_literal(s: &str, backslash: bool) -> Option<String> {
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
            '\\' if backslash => {
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
