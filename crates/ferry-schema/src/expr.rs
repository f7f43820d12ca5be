//! SQL expressions (CHECKs, generated columns, index expressions, defaults)
//! from one dialect to the other.
//!
//! Not a SQL parser: a lexer plus a whitelist. An expression translates only
//! when every token is understood — columns of the table, literals, a small
//! set of operators, keywords and functions whose meaning is the same on both
//! engines (or has a known spelling there). Anything else is refused with the
//! reason, and the caller turns that into a warning naming the object. A
//! translation that might change meaning is never attempted.

use ferry_core::Engine;
use ferry_mapping::{quote_ident, quote_literal};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Ident(String),
    Str(String),
    Num(String),
    Op(String),
    Open,
    Close,
    Comma,
    LBracket,
    RBracket,
}

/// Keywords with the same meaning on both engines.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "is",
    "null",
    "true",
    "false",
    "in",
    "between",
    "like",
    "case",
    "when",
    "then",
    "else",
    "end",
    "distinct",
    "from",
    "current_timestamp",
    "current_date",
    "escape",
];

/// Functions with the same name and meaning on both engines.
const FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "char_length",
    "character_length",
    "abs",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "trim",
    "ltrim",
    "rtrim",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "mod",
    "replace",
    "concat",
    "left",
    "right",
    "now",
];

/// PostgreSQL type names whose casts can be dropped: MySQL converts the same
/// way implicitly in a comparison or an assignment.
const CAST_WORDS: &[&str] = &[
    "numeric",
    "text",
    "integer",
    "bigint",
    "smallint",
    "character",
    "varying",
    "double",
    "precision",
    "real",
    "date",
    "timestamp",
    "without",
    "with",
    "time",
    "zone",
    "boolean",
    "bpchar",
    "varchar",
    "int",
    "int4",
    "int8",
    "int2",
];

fn lex(src: &str, dialect: Engine) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1;
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1;
            }
            '\'' => {
                let (s, next) = string_literal(&chars, i, dialect == Engine::MySql)?;
                out.push(Tok::Str(s));
                i = next;
            }
            '"' if dialect == Engine::MySql => {
                return Err("double-quoted string".into());
            }
            '"' | '`' => {
                let q = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated identifier".into()),
                        Some(&ch) if ch == q => {
                            if chars.get(i + 1) == Some(&q) {
                                s.push(q);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Ident(s));
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    i += 1;
                    if i < chars.len() && (chars[i] == '+' || chars[i] == '-') {
                        i += 1;
                    }
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                out.push(Tok::Num(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&'\'') {
                    // MySQL charset introducer (`_utf8mb4'x'`): the literal is what counts.
                    if dialect == Engine::MySql && word.starts_with('_') {
                        continue;
                    }
                    return Err(format!("literal prefix {word}'…'"));
                }
                out.push(Tok::Word(word));
            }
            c if "+-*/<>=~!@#%^&|:".contains(c) => {
                let start = i;
                while i < chars.len() && "+-*/<>=~!@#%^&|:".contains(chars[i]) {
                    i += 1;
                }
                let op: String = chars[start..i].iter().collect();
                // `>-1`, `=-1`: a sign glued to a comparison.
                if op.len() > 1 && op.ends_with('-') && !op.starts_with('-') && op != "--" {
                    out.push(Tok::Op(op[..op.len() - 1].to_string()));
                    out.push(Tok::Op("-".into()));
                } else {
                    out.push(Tok::Op(op));
                }
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

fn string_literal(
    chars: &[char],
    start: usize,
    backslash: bool,
) -> Result<(String, usize), String> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err("unterminated string".into()),
            Some('\'') => {
                if chars.get(i + 1) == Some(&'\'') {
                    s.push('\'');
                    i += 2;
                } else {
                    return Ok((s, i + 1));
                }
            }
            Some('\\') if backslash => {
                let e = chars.get(i + 1).ok_or("unterminated escape")?;
                s.push(match e {
                    '0' => '\0',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{8}',
                    'Z' => '\u{1a}',
                    c => *c,
                });
                i += 2;
            }
            Some(&c) => {
                s.push(c);
                i += 1;
            }
        }
    }
}

/// Drops PostgreSQL `::type` casts of the whitelisted types.
fn drop_casts(toks: Vec<Tok>) -> Result<Vec<Tok>, String> {
    let mut out = Vec::with_capacity(toks.len());
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        if t != Tok::Op("::".into()) {
            out.push(t);
            continue;
        }
        let mut any = false;
        while let Some(Tok::Word(w)) = it.peek() {
            if !CAST_WORDS.contains(&w.to_ascii_lowercase().as_str()) {
                return Err(format!("cast to {w}"));
            }
            any = true;
            it.next();
        }
        if !any {
            return Err("cast to a quoted type".into());
        }
        // `(10)` type modifiers and `[]`.
        if it.peek() == Some(&Tok::Open) {
            for t in it.by_ref() {
                if t == Tok::Close {
                    break;
                }
            }
        }
        while it.peek() == Some(&Tok::LBracket) {
            it.next();
            if it.next() != Some(Tok::RBracket) {
                return Err("array subscript".into());
            }
        }
    }
    Ok(out)
}

/// `x = ANY (ARRAY[a, b])` → `x IN (a, b)`; `x <> ALL (ARRAY[…])` → `x NOT IN (…)`.
fn rewrite_any(toks: Vec<Tok>) -> Result<Vec<Tok>, String> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let quantified = match (&toks[i], toks.get(i + 1), toks.get(i + 2)) {
            (Tok::Op(op), Some(Tok::Word(w)), Some(Tok::Open)) => {
                let w = w.to_ascii_lowercase();
                match (op.as_str(), w.as_str()) {
                    ("=", "any") => Some(false),
                    ("<>" | "!=", "all") => Some(true),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(negated) = quantified else {
            out.push(toks[i].clone());
            i += 1;
            continue;
        };
        // Find the matching close paren of the ANY( … ).
        let open = i + 2;
        let mut depth = 0;
        let mut close = None;
        for (j, t) in toks.iter().enumerate().skip(open) {
            match t {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close.ok_or("unbalanced parentheses")?;
        let mut inner: Vec<Tok> = toks[open + 1..close]
            .iter()
            .filter(|t| !matches!(t, Tok::Open | Tok::Close))
            .cloned()
            .collect();
        if !matches!(inner.first(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("array"))
            || inner.get(1) != Some(&Tok::LBracket)
            || inner.last() != Some(&Tok::RBracket)
        {
            return Err("ANY/ALL over something other than an ARRAY[…] list".into());
        }
        inner = inner[2..inner.len() - 1].to_vec();
        if negated {
            out.push(Tok::Word("NOT".into()));
        }
        out.push(Tok::Word("IN".into()));
        out.push(Tok::Open);
        out.extend(inner);
        out.push(Tok::Close);
        i = close + 1;
    }
    Ok(out)
}

/// Translates `src` (an expression in `from`'s dialect over `columns`) into
/// `to`'s dialect, or says why not. Same-engine expressions are kept verbatim.
pub fn translate(
    src: &str,
    from: Engine,
    to: Engine,
    columns: &[String],
) -> Result<String, String> {
    if from == to {
        return Ok(src.trim().to_string());
    }
    let mut toks = lex(src, from)?;
    if from == Engine::Postgres {
        toks = rewrite_any(drop_casts(toks)?)?;
    }
    let is_column = |w: &str| {
        columns.iter().any(|c| {
            if from == Engine::MySql {
                c.eq_ignore_ascii_case(w)
            } else {
                c == w
            }
        })
    };
    let mut parts: Vec<(String, bool)> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let next = toks.get(i + 1);
        let call = match &toks[i] {
            Tok::Word(w) => {
                let lower = w.to_ascii_lowercase();
                next == Some(&Tok::Open)
                    && (!KEYWORDS.contains(&lower.as_str()) || lower == "current_timestamp")
            }
            _ => false,
        };
        let before = i;
        let piece = match &toks[i] {
            Tok::Word(w) => {
                let lower = w.to_ascii_lowercase();
                if call {
                    function(&lower, from, to, &toks[i + 2..], &mut i)?
                } else if is_column(w) {
                    let name = columns
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(w))
                        .cloned()
                        .unwrap_or_else(|| w.clone());
                    quote_ident(to, &name)
                } else if KEYWORDS.contains(&lower.as_str()) {
                    lower.to_ascii_uppercase()
                } else if lower == "regexp" || lower == "rlike" || lower == "div" || lower == "xor"
                {
                    return Err(format!("operator {w}"));
                } else {
                    return Err(format!("unknown name {w}"));
                }
            }
            Tok::Ident(name) => quote_ident(to, name),
            Tok::Str(s) => quote_literal(to, s),
            Tok::Num(n) => n.clone(),
            Tok::Op(op) => operator(op, from)?.to_string(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
            Tok::LBracket | Tok::RBracket => return Err("array syntax".into()),
        };
        // A call that consumed its own `()` is not followed by a parenthesis.
        parts.push((piece, call && i == before));
        i += 1;
    }
    Ok(join(&parts))
}

/// A function name (the token after it is `(`). May consume `()` itself.
fn function(
    lower: &str,
    from: Engine,
    to: Engine,
    rest: &[Tok],
    i: &mut usize,
) -> Result<String, String> {
    let empty_call = rest.first() == Some(&Tok::Close);
    Ok(match (from, lower) {
        (_, "current_timestamp" | "now" | "localtimestamp") if empty_call => {
            *i += 2;
            "CURRENT_TIMESTAMP".into()
        }
        (_, "current_timestamp") => "CURRENT_TIMESTAMP".into(),
        (Engine::MySql, "curdate") if empty_call => {
            *i += 2;
            "CURRENT_DATE".into()
        }
        (Engine::Postgres, "length") => "char_length".into(),
        (Engine::Postgres, "octet_length") => "length".into(),
        (Engine::MySql, "length" | "octet_length") => "octet_length".into(),
        (_, f) if FUNCTIONS.contains(&f) => {
            let _ = to;
            f.to_string()
        }
        (_, f) => return Err(format!("function {f}()")),
    })
}

fn operator(op: &str, from: Engine) -> Result<&'static str, String> {
    Ok(match (from, op) {
        (_, "=") => "=",
        (_, "<>") => "<>",
        (_, "!=") => "<>",
        (_, "<") => "<",
        (_, ">") => ">",
        (_, "<=") => "<=",
        (_, ">=") => ">=",
        (_, "+") => "+",
        (_, "-") => "-",
        (_, "*") => "*",
        (_, "/") => "/",
        (_, "%") => "%",
        (Engine::Postgres, "~~") => "LIKE",
        (Engine::Postgres, "!~~") => "NOT LIKE",
        (Engine::MySql, "&&") => "AND",
        (Engine::MySql, "||") => "OR",
        (_, other) => return Err(format!("operator {other}")),
    })
}

/// Joins tokens with single spaces, except inside parentheses edges, before
/// commas, and between a function name and its `(`.
fn join(parts: &[(String, bool)]) -> String {
    let mut out = String::new();
    let mut prev: Option<&(String, bool)> = None;
    for part in parts {
        let p = part.0.as_str();
        let space = match prev {
            None => false,
            Some((q, _)) if q == "(" => false,
            Some((_, is_function)) if p == "(" => !is_function,
            Some(_) => p != ")" && p != ",",
        };
        if space {
            out.push(' ');
        }
        out.push_str(p);
        prev = Some(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pg_checks_to_mysql() {
        let c = cols(&["price", "status", "code", "qty", "Mixed Case"]);
        let t = |s| translate(s, Engine::Postgres, Engine::MySql, &c);
        assert_eq!(t("price > 0::numeric").unwrap(), "`price` > 0");
        assert_eq!(
            t("status = ANY (ARRAY['new'::text, 'it''s'::text])").unwrap(),
            "`status` IN ('new', 'it''s')"
        );
        assert_eq!(
            t("code::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::text[])")
                .unwrap(),
            "`code` IN ('a', 'b')"
        );
        assert_eq!(
            t("qty >= 0 AND char_length(\"Mixed Case\") < 10").unwrap(),
            "`qty` >= 0 AND char_length(`Mixed Case`) < 10"
        );
        assert_eq!(t("length(code) > 1").unwrap(), "char_length(`code`) > 1");
        assert_eq!(t("code ~~ 'a%'").unwrap(), "`code` LIKE 'a%'");
        assert_eq!(t("qty > '-1'::integer").unwrap(), "`qty` > '-1'");
        assert!(t("code ~ '^a'").is_err());
        assert!(t("code || 'x' = 'ax'").is_err());
        assert!(t("to_tsvector(code) IS NOT NULL").is_err());
        assert!(t("qty::interval > '1 day'").is_err());
        assert!(t("other > 1").is_err());
        assert_eq!(t("price > '1\\2'").unwrap(), "`price` > '1\\\\2'");
    }

    #[test]
    fn mysql_checks_to_pg() {
        let c = cols(&["price", "status", "qty", "x"]);
        let t = |s| translate(s, Engine::MySql, Engine::Postgres, &c);
        assert_eq!(t("`price` > 0").unwrap(), "\"price\" > 0");
        assert_eq!(
            t("`status` in ('new','it''s')").unwrap(),
            "\"status\" IN ('new', 'it''s')"
        );
        assert_eq!(
            t("(`status` in (_utf8mb4'a',_utf8mb4'b'))").unwrap(),
            "(\"status\" IN ('a', 'b'))"
        );
        assert_eq!(t("`qty` * `price`").unwrap(), "\"qty\" * \"price\"");
        assert_eq!(
            t("octet_length(`x`) < 5").unwrap(),
            "octet_length(\"x\") < 5"
        );
        assert_eq!(t("length(`x`) < 5").unwrap(), "octet_length(\"x\") < 5");
        assert_eq!(t("'a\\'b' = `x`").unwrap(), "'a''b' = \"x\"");
        assert_eq!(t("`qty`>-1").unwrap(), "\"qty\" > - 1");
        assert!(t("`x` regexp '^a'").is_err());
        assert!(t("json_valid(`x`)").is_err());
        assert_eq!(t("current_timestamp()").unwrap(), "CURRENT_TIMESTAMP");
    }
}
