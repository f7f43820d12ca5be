//! Column defaults, classified into the kinds every engine has.

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
    let mut s = src.trim();
    // Outer parentheses that wrap the whole expression.
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].trim();
    }
    let body = if rules.trailing_casts {
        strip_cast(s)
    } else {
        s
    };
    let body = body.trim();
    let lower = body.to_ascii_lowercase();
    if lower == "null" {
        return DefaultExpr::Null;
    }
    if lower == "true" || lower == "false" {
        return DefaultExpr::Bool(lower == "true");
    }
    if let Some(lit) = single_literal(body, rules.backslash_escapes) {
        return DefaultExpr::Str(lit);
    }
    let num = body.trim_start_matches('(').trim_end_matches(')');
    if !num.is_empty() && num.parse::<f64>().is_ok() && !num.contains(['e', 'E', 'x', 'X']) {
        return DefaultExpr::Num(num.to_string());
    }
    let call = lower.replace(' ', "");
    let name = call.split('(').next().unwrap_or("");
    match name {
        "now"
        | "current_timestamp"
        | "localtimestamp"
        | "transaction_timestamp"
        | "statement_timestamp" => DefaultExpr::Now,
        "current_date" | "curdate" => DefaultExpr::Today,
        "gen_random_uuid" | "uuid" | "uuid_generate_v4" if call.ends_with("()") => {
            DefaultExpr::Uuid
        }
        _ => DefaultExpr::Other(src.trim().to_string()),
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
