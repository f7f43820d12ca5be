//! Transforms and row checks of a job: what a table's rows become between
//! the source and the target, as data the plan carries.
//!
//! Each change is made where it is exact and costs one pass:
//! - columns kept, dropped or renamed: the reader reads only what is kept,
//!   the target gets the new names;
//! - derived columns (a source-side SQL expression): the source computes
//!   them in the reader's own `SELECT`, typed by the same mapping rules as
//!   a column of the expression's type (the engine describes it);
//! - built-in transforms ([`Builtin`]): a closed set ferry applies to the
//!   Arrow columns between reader and writer, with one meaning whatever the
//!   engines (where SQL would differ between them);
//! - checks ([`CheckPlan`]): SQL predicates the source evaluates as an extra
//!   computed column, or built-ins ferry evaluates; a failing row is
//!   rejected (key and check name) or stops the table.
//!
//! A reshaped table has two plans: the [`TablePlan`] everything downstream
//! of the reader sees (target names, written types), and [`Reshape::read`],
//! what the source reader reads (source names, SQL of derived columns,
//! hidden columns for checks). [`TablePlan::source_plan`] picks the one a
//! source-side step needs.

use serde::{Deserialize, Serialize};

use crate::plan::TablePlan;
use crate::types::LogicalType;

/// A built-in transform: the closed set a job may name (`mask_email`,
/// `truncate_to(20)`…). The data names it; ferry says how, the same on every
/// engine. "Character" means a Unicode scalar value (a code point): a base
/// letter and a combining mark after it are two characters, and no
/// transform ever splits a UTF-8 sequence. NULL stays NULL under every
/// transform (`null_out` makes every value NULL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// Text that looks like an e-mail address keeps its first character
    /// and everything from its last `@` on; every other character of the
    /// local part becomes `*` (`jane.doe@example.com` → `j*******@example.com`).
    /// Text without `@` becomes all `*`. The length in characters is kept.
    MaskEmail,
    /// The SHA-256 of the value's bytes (UTF-8 for text), as 64 lowercase
    /// hex digits; the column becomes `varchar(64)` by the mapping rules.
    HashSha256,
    /// Every value becomes NULL; the target column is nullable.
    NullOut,
    /// At most the first `n` characters.
    TruncateTo(u32),
    /// Unicode lower case (the Unicode default case mapping, without
    /// locale rules: `İ` becomes `i̇`, two characters). A value may grow
    /// longer; one the target column cannot hold is refused by key.
    Lower,
    /// Unicode upper case (`ß` becomes `SS`), as [`Builtin::Lower`].
    Upper,
    /// Leading and trailing Unicode White_Space removed (spaces, tabs,
    /// line breaks, no-break spaces, ideographic spaces…), not only the
    /// ASCII space SQL's `TRIM` removes.
    Trim,
}

impl Builtin {
    /// Every built-in, as the README lists them.
    pub const ALL: [Builtin; 7] = [
        Builtin::MaskEmail,
        Builtin::HashSha256,
        Builtin::NullOut,
        Builtin::TruncateTo(0),
        Builtin::Lower,
        Builtin::Upper,
        Builtin::Trim,
    ];

    /// Parses one transform as a job writes it.
    pub fn parse(text: &str) -> Result<Builtin, String> {
        let t = text.trim();
        Ok(match t {
            "mask_email" => Builtin::MaskEmail,
            "hash_sha256" => Builtin::HashSha256,
            "null_out" => Builtin::NullOut,
            "lower" => Builtin::Lower,
            "upper" => Builtin::Upper,
            "trim" => Builtin::Trim,
            _ => {
                let n = t
                    .strip_prefix("truncate_to(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| {
                        format!(
                            "unknown transform `{t}` (built-ins: mask_email, hash_sha256, \
                             null_out, truncate_to(n), lower, upper, trim; a SQL expression \
                             goes in [table.derive])"
                        )
                    })?;
                Builtin::TruncateTo(n.trim().parse().map_err(|_| {
                    format!(
                        "truncate_to takes a number of characters, not `{}`",
                        n.trim()
                    )
                })?)
            }
        })
    }

    /// The name a job writes (`truncate_to(20)`).
    pub fn name(self) -> String {
        match self {
            Builtin::MaskEmail => "mask_email".into(),
            Builtin::HashSha256 => "hash_sha256".into(),
            Builtin::NullOut => "null_out".into(),
            Builtin::TruncateTo(n) => format!("truncate_to({n})"),
            Builtin::Lower => "lower".into(),
            Builtin::Upper => "upper".into(),
            Builtin::Trim => "trim".into(),
        }
    }

    /// The logical type of the column after this transform, given its type
    /// before; why not, for a type the transform does not take.
    pub fn output(self, input: &LogicalType) -> Result<LogicalType, String> {
        use LogicalType as L;
        let text = matches!(input, L::Char { .. } | L::Varchar { .. } | L::Text { .. });
        match self {
            Builtin::NullOut => Ok(input.clone()),
            Builtin::HashSha256 => {
                if text || matches!(input, L::Binary { .. } | L::VarBinary { .. }) {
                    Ok(L::Varchar { length: Some(64) })
                } else {
                    Err(format!(
                        "hash_sha256 takes text or binary, not {input}; hash it in SQL with \
                         [table.derive] instead"
                    ))
                }
            }
            _ if text => Ok(input.clone()),
            _ => Err(format!(
                "{} takes text (char, varchar, text), not {input}",
                self.name()
            )),
        }
    }
}

impl std::fmt::Display for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Builtin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Builtin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Builtin::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A check as a job writes it, before its columns are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckSpec {
    /// A predicate in the source's SQL.
    Sql(String),
    /// `not_null(col)`: a row whose `col` is NULL fails.
    NotNull(String),
    /// `matches(col, 'regex')`: a row whose `col` does not match fails.
    Matches(String, String),
}

impl CheckSpec {
    /// Reads a check: a whole text of the form `not_null(col)` or
    /// `matches(col, 'regex')` (a single-quoted literal, `''` for a
    /// quote) is a built-in; any other text is SQL for the source.
    pub fn parse(text: &str) -> CheckSpec {
        let t = text.trim();
        let args = |name: &str| {
            t.strip_prefix(name)
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
        };
        if let Some(a) = args("not_null") {
            if let Some(col) = column_word(a.trim()) {
                return CheckSpec::NotNull(col);
            }
        }
        if let Some(a) = args("matches") {
            if let Some((c, rest)) = a.split_once(',') {
                if let (Some(col), Some(re)) = (column_word(c.trim()), quoted(rest.trim())) {
                    return CheckSpec::Matches(col, re);
                }
            }
        }
        CheckSpec::Sql(t.to_string())
    }
}

/// A bare column name, or one in double quotes (`"Order Id"`).
fn column_word(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return (!inner.is_empty() && !inner.contains('"')).then(|| inner.to_string());
    }
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && !s.starts_with(|c: char| c.is_ascii_digit());
    ok.then(|| s.to_string())
}

/// The text of a single-quoted literal with `''` for a quote.
fn quoted(s: &str) -> Option<String> {
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

/// How a check judges a row; indexes are into [`Reshape::read`]'s columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckRule {
    /// The source computed the predicate as read column `column`
    /// ([`Dialect::check_column_sql`](crate::Dialect::check_column_sql)):
    /// 0 fails, anything else passes.
    Sql { column: usize },
    /// Read column `column` must not be NULL.
    NotNull { column: usize },
    /// Read column `column` (text) must match `pattern` (the `regex`
    /// crate's syntax, searched anywhere in the value unless anchored);
    /// NULL passes, as in a SQL CHECK.
    Matches { column: usize, pattern: String },
}

/// One named check of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckPlan {
    pub name: String,
    /// As the job wrote it.
    pub text: String,
    /// The source column a built-in judges (`None` for SQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub rule: CheckRule,
}

/// Where one written column comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSource {
    /// Its column in [`Reshape::read`].
    pub read: usize,
    /// Built-ins applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Builtin>,
}

/// How a table's rows are reshaped between reader and writer.
///
/// Invariants (the planner keeps them): one [`ColumnSource`] per column of
/// the written plan, in order; the primary key is read, never derived or
/// transformed, and sits at the same indexes in both plans; the SQL checks'
/// columns come last in `read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reshape {
    /// What the source reader reads: kept source columns by their source
    /// names, derived columns with their SQL ([`ColumnPlan::expr`](crate::ColumnPlan)),
    /// then the source columns only checks need, then one column per SQL
    /// check. Types are the source values' (before built-ins).
    pub read: TablePlan,
    pub columns: Vec<ColumnSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckPlan>,
    /// Source columns the job leaves out, for `ferry plan`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

impl Reshape {
    /// Whether any written column is computed by source SQL, or any check
    /// is SQL: values a change stream cannot deliver (it carries the
    /// source's raw row).
    pub fn needs_source_sql(&self) -> bool {
        self.read.columns.iter().any(|c| c.expr.is_some())
    }

    /// How written column `i` is made, for `ferry plan`: empty for a
    /// column copied as it is, `email → contact_email`, `= md5(email)`,
    /// then ` | mask_email`….
    pub fn describe_column(&self, written: &TablePlan, i: usize) -> String {
        let src = &self.columns[i];
        let read = &self.read.columns[src.read];
        let mut s = match &read.expr {
            Some(sql) => format!("= {sql}"),
            None if read.name != written.columns[i].name => {
                format!("{} → {}", read.name, written.columns[i].name)
            }
            None => String::new(),
        };
        for t in &src.transforms {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&format!("| {t}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_name_themselves() {
        for b in [
            "mask_email",
            "hash_sha256",
            "null_out",
            "truncate_to(12)",
            "lower",
            "upper",
            "trim",
        ] {
            assert_eq!(Builtin::parse(b).unwrap().name(), b);
        }
        assert_eq!(
            Builtin::parse(" truncate_to( 3 ) ").unwrap(),
            Builtin::TruncateTo(3)
        );
        let e = Builtin::parse("md5").unwrap_err();
        assert!(e.contains("unknown transform `md5`"), "{e}");
        assert!(Builtin::parse("truncate_to(-1)").is_err());
    }

    #[test]
    fn builtins_say_which_types_they_take() {
        let text = LogicalType::Varchar { length: Some(10) };
        assert_eq!(Builtin::Lower.output(&text).unwrap(), text);
        assert_eq!(
            Builtin::HashSha256.output(&text).unwrap(),
            LogicalType::Varchar { length: Some(64) }
        );
        assert_eq!(
            Builtin::NullOut.output(&LogicalType::Int32).unwrap(),
            LogicalType::Int32
        );
        assert!(Builtin::Trim.output(&LogicalType::Int32).is_err());
        assert!(Builtin::HashSha256.output(&LogicalType::Date).is_err());
    }

    #[test]
    fn checks_are_builtins_only_in_their_exact_forms() {
        assert_eq!(
            CheckSpec::parse("not_null(email)"),
            CheckSpec::NotNull("email".into())
        );
        assert_eq!(
            CheckSpec::parse(r#"not_null("Order Id")"#),
            CheckSpec::NotNull("Order Id".into())
        );
        assert_eq!(
            CheckSpec::parse("matches(email, '^[^@]+@[^@]+$')"),
            CheckSpec::Matches("email".into(), "^[^@]+@[^@]+$".into())
        );
        assert_eq!(
            CheckSpec::parse("matches(name, 'it''s')"),
            CheckSpec::Matches("name".into(), "it's".into())
        );
        for sql in [
            "amount >= 0",
            "email LIKE '%@%'",
            "not_null(a) AND b > 1",
            "matches(a, b)",
        ] {
            assert_eq!(CheckSpec::parse(sql), CheckSpec::Sql(sql.into()));
        }
    }
}
