//! Reading what SQLite keeps only in a statement's text.
//!
//! SQLite's catalog pragmas give columns, keys, indexes and foreign keys,
//! but CHECK expressions, generated-column expressions, constraint names,
//! `AUTOINCREMENT`, index expressions and partial-index predicates exist
//! only in the `CREATE` statement stored in `sqlite_schema`. This module
//! scans that text: quotes (`'…'`, `"…"`, `` `…` ``, `[…]`), comments and
//! nested parentheses are respected, and every expression is returned as
//! the source text it was written in (the dialect parses it later, as it
//! does any catalog expression).

use std::ops::Range;

/// One token of statement text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A bare word (keyword or identifier).
    Word(String),
    /// A quoted identifier, unquoted.
    Ident(String),
    /// A string literal, as written.
    Str,
    /// A parenthesised group; the range is its inside.
    Group(Range<usize>),
    Comma,
    /// Any other character.
    Other(char),
}

impl Tok {
    /// A word or an identifier, as a name.
    pub fn name(&self) -> Option<&str> {
        match self {
            Tok::Word(w) | Tok::Ident(w) => Some(w),
            _ => None,
        }
    }

    /// Whether this is the keyword `kw` (any case).
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// Tokens of `sql[range]` with their spans (in `sql`). Groups are opaque.
pub fn tokens(sql: &str, range: Range<usize>) -> Vec<(Tok, Range<usize>)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = range.start;
    let end = range.end.min(b.len());
    while i < end {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < end && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..end].find("*/").map_or(end, |p| i + 2 + p + 2);
            }
            b'\'' => {
                i = skip_quoted(b, i, end, b'\'');
                out.push((Tok::Str, start..i));
            }
            b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i = skip_quoted(b, i, end, close);
                let inner = &sql[start + 1..i.saturating_sub(1).max(start + 1)];
                let name = if c == b'[' {
                    inner.to_string()
                } else {
                    let q = char::from(c).to_string();
                    inner.replace(&q.repeat(2), &q)
                };
                out.push((Tok::Ident(name), start..i));
            }
            b'(' => {
                let close = matching_paren(b, i, end);
                out.push((Tok::Group(i + 1..close), start..(close + 1).min(end)));
                i = close + 1;
            }
            b',' => {
                out.push((Tok::Comma, start..i + 1));
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                while i < end
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                out.push((Tok::Word(sql[start..i].to_string()), start..i));
            }
            _ => {
                // Step over one UTF-8 character.
                let ch = sql[i..].chars().next().unwrap_or(' ');
                i += ch.len_utf8();
                out.push((Tok::Other(ch), start..i));
            }
        }
    }
    out
}

/// The index just past a quoted run opened at `i` (a doubled closing quote
/// is part of it, except for `[…]`).
fn skip_quoted(b: &[u8], mut i: usize, end: usize, close: u8) -> usize {
    i += 1;
    while i < end {
        if b[i] == close {
            if close != b']' && b.get(i + 1) == Some(&close) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    end
}

/// The index of the `)` matching the `(` at `open` (or `end`).
fn matching_paren(b: &[u8], open: usize, end: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < end {
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            b'\'' => {
                i = skip_quoted(b, i, end, b'\'');
                continue;
            }
            b'"' | b'`' => {
                i = skip_quoted(b, i, end, b[i]);
                continue;
            }
            b'[' => {
                i = skip_quoted(b, i, end, b']');
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < end && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < end && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    end
}

/// Splits `sql[range]` at its top-level commas, each piece trimmed.
pub fn split_commas(sql: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let toks = tokens(sql, range.clone());
    let mut out = Vec::new();
    let mut start = range.start;
    for (t, span) in &toks {
        if *t == Tok::Comma {
            out.push(trim(sql, start..span.start));
            start = span.end;
        }
    }
    out.push(trim(sql, start..range.end));
    out.retain(|r| !r.is_empty());
    out
}

fn trim(sql: &str, r: Range<usize>) -> Range<usize> {
    let s = &sql[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let tail = s.len() - s.trim_end().len();
    r.start + lead..r.end - tail
}

/// A CHECK constraint: its name if the text gives one, and its expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: Option<String>,
    /// The column it was declared on, for a column constraint.
    pub column: Option<String>,
    pub expr: String,
}

/// A foreign key as the text declares it (the pragma gives its columns and
/// actions; the text adds the name and deferral).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub deferrable: Option<String>,
}

/// A UNIQUE constraint's name, when the text gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unique {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// What a column definition says beyond its type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnText {
    pub name: String,
    /// The generation expression and whether it is STORED.
    pub generated: Option<(String, bool)>,
    pub autoincrement: bool,
    pub collation: Option<String>,
}

/// What a CREATE TABLE statement's text says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableText {
    pub columns: Vec<ColumnText>,
    pub checks: Vec<Check>,
    pub foreign_keys: Vec<ForeignKey>,
    pub uniques: Vec<Unique>,
    /// What follows the column list (`WITHOUT ROWID`, `STRICT`).
    pub options: Option<String>,
}

/// Column names of a key list `("a" COLLATE NOCASE, b DESC)`.
fn key_names(sql: &str, group: Range<usize>) -> Vec<String> {
    split_commas(sql, group)
        .into_iter()
        .filter_map(|part| {
            tokens(sql, part)
                .first()
                .and_then(|(t, _)| t.name().map(str::to_string))
        })
        .collect()
}

/// Scans a `CREATE TABLE` statement.
pub fn parse_table(sql: &str) -> TableText {
    let mut out = TableText::default();
    let toks = tokens(sql, 0..sql.len());
    let Some(pos) = toks.iter().position(|(t, _)| matches!(t, Tok::Group(_))) else {
        return out;
    };
    let (Tok::Group(body), span) = &toks[pos] else {
        return out;
    };
    let options = sql[span.end..].trim().trim_end_matches(';').trim();
    if !options.is_empty() {
        out.options = Some(options.to_string());
    }
    for item in split_commas(sql, body.clone()) {
        let t = tokens(sql, item);
        // A column named like a keyword must be quoted, so a leading
        // keyword starts a table constraint.
        let table_constraint = t.first().is_some_and(|(f, _)| {
            ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                .iter()
                .any(|k| f.is(k))
        });
        if table_constraint {
            table_item(sql, &t, &mut out);
        } else {
            column_item(sql, &t, &mut out);
        }
    }
    out
}

fn group_text(sql: &str, t: Option<&(Tok, Range<usize>)>) -> Option<String> {
    match t {
        Some((Tok::Group(r), _)) => Some(sql[r.clone()].trim().to_string()),
        _ => None,
    }
}

fn table_item(sql: &str, t: &[(Tok, Range<usize>)], out: &mut TableText) {
    let mut i = 0;
    let mut name = None;
    while i < t.len() {
        let tok = &t[i].0;
        if tok.is("CONSTRAINT") {
            name = t.get(i + 1).and_then(|(n, _)| n.name().map(str::to_string));
            i += 2;
        } else if tok.is("CHECK") {
            if let Some(expr) = group_text(sql, t.get(i + 1)) {
                out.checks.push(Check {
                    name: name.take(),
                    column: None,
                    expr,
                });
            }
            i += 2;
        } else if tok.is("UNIQUE") {
            if let Some((Tok::Group(g), _)) = t.get(i + 1) {
                out.uniques.push(Unique {
                    name: name.take(),
                    columns: key_names(sql, g.clone()),
                });
            }
            i += 2;
        } else if tok.is("FOREIGN") {
            let columns = match t.get(i + 2) {
                Some((Tok::Group(g), _)) => key_names(sql, g.clone()),
                _ => Vec::new(),
            };
            out.foreign_keys.push(ForeignKey {
                name: name.take(),
                columns,
                deferrable: deferrable(&t[i..]),
            });
            return;
        } else {
            i += 1;
        }
    }
}

/// `DEFERRABLE INITIALLY DEFERRED` (or IMMEDIATE) in a foreign key clause.
fn deferrable(t: &[(Tok, Range<usize>)]) -> Option<String> {
    let at = t.iter().position(|(w, _)| w.is("DEFERRABLE"))?;
    if at > 0 && t[at - 1].0.is("NOT") {
        return None;
    }
    let mut words = vec!["DEFERRABLE".to_string()];
    if t.get(at + 1).is_some_and(|(w, _)| w.is("INITIALLY")) {
        if let Some(Tok::Word(w)) = t.get(at + 2).map(|(w, _)| w) {
            words.push("INITIALLY".into());
            words.push(w.to_ascii_uppercase());
        }
    }
    Some(words.join(" "))
}

fn column_item(sql: &str, t: &[(Tok, Range<usize>)], out: &mut TableText) {
    let Some(name) = t.first().and_then(|(n, _)| n.name().map(str::to_string)) else {
        return;
    };
    let mut col = ColumnText {
        name: name.clone(),
        ..ColumnText::default()
    };
    let mut constraint_name = None;
    let mut i = 1;
    while i < t.len() {
        let tok = &t[i].0;
        if tok.is("CONSTRAINT") {
            constraint_name = t.get(i + 1).and_then(|(n, _)| n.name().map(str::to_string));
            i += 2;
            continue;
        }
        if tok.is("CHECK") {
            if let Some(expr) = group_text(sql, t.get(i + 1)) {
                out.checks.push(Check {
                    name: constraint_name.take(),
                    column: Some(name.clone()),
                    expr,
                });
            }
            i += 2;
            continue;
        }
        if tok.is("AS") {
            if let Some(expr) = group_text(sql, t.get(i + 1)) {
                let stored = t.get(i + 2).is_some_and(|(w, _)| w.is("STORED"));
                col.generated = Some((expr, stored));
            }
            i += 2;
            continue;
        }
        if tok.is("AUTOINCREMENT") {
            col.autoincrement = true;
        } else if tok.is("COLLATE") {
            col.collation = t.get(i + 1).and_then(|(n, _)| n.name().map(str::to_string));
            i += 1;
        } else if tok.is("UNIQUE") {
            out.uniques.push(Unique {
                name: constraint_name.take(),
                columns: vec![name.clone()],
            });
        } else if tok.is("REFERENCES") {
            out.foreign_keys.push(ForeignKey {
                name: constraint_name.take(),
                columns: vec![name.clone()],
                deferrable: deferrable(&t[i..]),
            });
        } else if tok.is("DEFAULT") {
            // The default's own text may hold keywords (`DEFAULT (x AS …)`).
            i += 1;
        } else if tok.is("PRIMARY") || tok.is("NOT") || tok.is("NULL") {
            constraint_name = None;
        }
        i += 1;
    }
    out.columns.push(col);
}

/// What a CREATE INDEX statement's text says: each key part's text (an
/// expression part's expression) and the partial-index predicate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexText {
    pub parts: Vec<String>,
    pub predicate: Option<String>,
}

/// Scans a `CREATE [UNIQUE] INDEX … ON t (…) [WHERE …]` statement.
pub fn parse_index(sql: &str) -> IndexText {
    let mut out = IndexText::default();
    let toks = tokens(sql, 0..sql.len());
    let Some(pos) = toks.iter().position(|(t, _)| matches!(t, Tok::Group(_))) else {
        return out;
    };
    if let (Tok::Group(g), _) = &toks[pos] {
        for part in split_commas(sql, g.clone()) {
            // Drop the part's trailing COLLATE name / ASC / DESC.
            let pt = tokens(sql, part.clone());
            let mut end = part.end;
            for (k, (tok, span)) in pt.iter().enumerate() {
                if tok.is("COLLATE") || ((tok.is("ASC") || tok.is("DESC")) && k + 1 == pt.len()) {
                    end = span.start;
                    break;
                }
            }
            out.parts.push(sql[part.start..end].trim().to_string());
        }
    }
    if let Some((_, span)) = toks[pos..].iter().find(|(t, _)| t.is("WHERE")) {
        let pred = sql[span.end..].trim().trim_end_matches(';').trim();
        if !pred.is_empty() {
            out.predicate = Some(pred.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_table_gives_its_checks_generated_columns_and_names() {
        let sql = r#"CREATE TABLE "or""ders" (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            [qty col] INT NOT NULL CONSTRAINT qty_pos CHECK ("qty col" > 0),
            code TEXT COLLATE NOCASE UNIQUE, -- a comment, with a comma
            price NUMERIC(12,2) DEFAULT (0.5) CHECK (price >= 0 AND price < 1e9),
            total REAL GENERATED ALWAYS AS (price * "qty col") STORED,
            half AS (price / 2),
            note TEXT DEFAULT 'a, (b) ''c''',
            parent INT CONSTRAINT fk_parent REFERENCES "or""ders"(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
            CONSTRAINT two UNIQUE (code, price),
            CHECK (qty_col_alias IS NULL OR 1),
            FOREIGN KEY (code) REFERENCES other (code) /* no name */
        ) WITHOUT ROWID, STRICT;"#;
        let t = parse_table(sql);
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["id", "qty col", "code", "price", "total", "half", "note", "parent"]
        );
        assert!(t.columns[0].autoincrement);
        assert_eq!(t.columns[2].collation.as_deref(), Some("NOCASE"));
        assert_eq!(
            t.columns[4].generated,
            Some(("price * \"qty col\"".to_string(), true))
        );
        assert_eq!(
            t.columns[5].generated,
            Some(("price / 2".to_string(), false))
        );
        assert_eq!(t.checks.len(), 3);
        assert_eq!(t.checks[0].name.as_deref(), Some("qty_pos"));
        assert_eq!(t.checks[0].column.as_deref(), Some("qty col"));
        assert_eq!(t.checks[1].expr, "price >= 0 AND price < 1e9");
        assert_eq!(t.checks[2].column, None);
        assert_eq!(t.foreign_keys.len(), 2);
        assert_eq!(t.foreign_keys[0].name.as_deref(), Some("fk_parent"));
        assert_eq!(
            t.foreign_keys[0].deferrable.as_deref(),
            Some("DEFERRABLE INITIALLY DEFERRED")
        );
        assert_eq!(t.foreign_keys[1].columns, ["code"]);
        assert_eq!(t.foreign_keys[1].name, None);
        assert_eq!(t.uniques.len(), 2);
        assert_eq!(t.uniques[1].name.as_deref(), Some("two"));
        assert_eq!(t.uniques[1].columns, ["code", "price"]);
        assert_eq!(t.options.as_deref(), Some("WITHOUT ROWID, STRICT"));
    }

    #[test]
    fn a_create_index_gives_its_expression_parts_and_predicate() {
        let i = parse_index(
            "CREATE UNIQUE INDEX ix ON t (lower(name) COLLATE NOCASE, \"b\" DESC, substr(c, 1, 3)) WHERE deleted IS NULL AND c <> 'x'",
        );
        assert_eq!(i.parts, ["lower(name)", "\"b\"", "substr(c, 1, 3)"]);
        assert_eq!(i.predicate.as_deref(), Some("deleted IS NULL AND c <> 'x'"));
        assert_eq!(parse_index("CREATE INDEX i ON t(a)").predicate, None);
    }
}
