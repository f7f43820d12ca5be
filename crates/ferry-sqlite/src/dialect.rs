//! SQLite's dialect: how ferry reads SQLite's catalog text into the
//! neutral tree and writes SQLite DDL and pre-flight SQL.
//!
//! What differs from the other engines, and why:
//! - SQLite cannot add a constraint to an existing table, so CHECKs,
//!   foreign keys and UNIQUE constraints go into CREATE TABLE; the loaded
//!   rows are checked for orphans after the data (`PRAGMA
//!   foreign_key_check`), where other engines add their foreign keys.
//! - SQLite checks foreign keys only under `PRAGMA foreign_keys`, so a
//!   source file may hold orphans: the pre-flight counts them before a
//!   target is given the constraint.
//! - `lower()`/`upper()` fold only ASCII and `LIKE` ignores ASCII case, so
//!   expressions using them are not translated either way; the math
//!   functions are not compiled into the bundled library.
//! - Any value may sit in any column: [`SqliteDialect::column_checks`] asks
//!   the reader's own checks, per storage class, through `ferry_fits`.

use ferry_core::dialect::{
    AutoIncrement, AutoIncrementSql, ColumnCheck, CommentSql, Dialect, Folding, IndexMethod,
    IndexSql, NameScope, OnUpdateNow, ValueCheck, ValueLimits,
};
use ferry_core::expr::{self, Callee, DefaultExpr, DefaultRules, Expr, Func, Keyword, LexRules};
use ferry_core::expr::{Node, Op, Token, Vocabulary};
use ferry_core::{ColumnPlan, Engine, LogicalType, TablePlan};

use crate::decode::{ClassFit, Reading};
use crate::{quote_ident, quote_literal};

/// What a SQLite target holds: ±Infinity but not NaN (stored as NULL),
/// not −0.0 (stored as 0), years 0–9999 only as ISO text, no MySQL zero
/// dates (its date readers and writers know real dates only), NUL in text,
/// any geometry (as EWKB in a BLOB); ferry's tables use the binary
/// collation, which folds nothing.
pub const VALUE_LIMITS: ValueLimits = ValueLimits {
    float_specials: true,
    float_nan: false,
    negative_zero: false,
    infinite_dates: false,
    any_year: false,
    zero_dates: false,
    nul_in_text: true,
    folding_collations: false,
    any_geometry: true,
};

/// A version-4 UUID as lower-case text, from SQLite's own random bytes.
const UUID_V4: &str = "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || \
substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || \
substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))";

/// SQLite's [`Dialect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

/// The storage classes `typeof()` names, for the pre-flight's counts.
const CLASSES: [(&str, &str); 4] = [
    ("integer", "INTEGER"),
    ("real", "REAL"),
    ("text", "TEXT"),
    ("blob", "BLOB"),
];

impl SqliteDialect {
    /// `ferry_check(c, 'spec') = 1`.
    fn check(c: &str, spec: &str) -> String {
        format!("ferry_check({c}, {}) = 1", quote_literal(spec))
    }
}

impl Dialect for SqliteDialect {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn quote_ident(&self, name: &str) -> String {
        quote_ident(name)
    }

    fn quote_literal(&self, s: &str) -> String {
        quote_literal(s)
    }

    fn identifier_fits(&self, _name: &str) -> bool {
        true
    }

    fn names_ignore_case(&self) -> bool {
        true
    }

    fn default_schema(&self) -> Option<&'static str> {
        None
    }

    fn index_name_scope(&self) -> NameScope {
        // Tables, indexes, views and triggers share one namespace.
        NameScope::Schema
    }

    fn constraint_name_scope(&self) -> NameScope {
        NameScope::Table
    }

    fn parse_expr(&self, src: &str, columns: &[String]) -> Result<Expr, String> {
        let toks = expr::lex(src, LexRules::default())?;
        // SQLite reads a double-quoted word that names no column as a
        // string: ferry does not guess which was meant.
        for t in &toks {
            if let Token::Ident(name) = t {
                if !columns.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                    return Err(format!("quoted name {name:?} is not a column"));
                }
            }
        }
        let function = |name: &str, empty: bool| -> Result<Callee, String> {
            Ok(match name {
                "length" => Callee::Func(Func::CharLength),
                "octet_length" => Callee::Func(Func::OctetLength),
                "concat" => Callee::Func(Func::Concat),
                // ASCII-only case folding.
                "lower" | "upper" => return Err(format!("function {name}() folds only ASCII")),
                f if !empty => Callee::Func(
                    Func::common(f)
                        .filter(|&f| self.has_function(f))
                        .ok_or_else(|| format!("function {f}()"))?,
                ),
                f => return Err(format!("function {f}()")),
            })
        };
        let operator = |op: &str| -> Result<Vec<Node>, String> {
            Ok(match op {
                "==" => vec![Node::Op(Op::Eq)],
                o => vec![Node::Op(
                    Op::standard(o).ok_or_else(|| format!("operator {o}"))?,
                )],
            })
        };
        let tree = expr::build(
            &toks,
            &Vocabulary {
                columns,
                columns_ignore_case: true,
                function: &function,
                operator: &operator,
            },
        )?;
        if contains_like(&tree.0) {
            return Err("LIKE ignores ASCII case in SQLite".into());
        }
        Ok(tree)
    }

    fn parse_default(&self, src: &str) -> DefaultExpr {
        let lower: String = src
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let lower = lower.trim_start_matches('(').trim_end_matches(')');
        match lower {
            "datetime('now'" | "datetime('now')" | "current_timestamp" => DefaultExpr::Now,
            "date('now'" | "date('now')" | "current_date" => DefaultExpr::Today,
            "time('now'" | "time('now')" | "current_time" => DefaultExpr::CurrentTime,
            _ => expr::classify_default(src, DefaultRules::default()),
        }
    }

    fn function_name(&self, f: Func) -> &'static str {
        match f {
            Func::CharLength | Func::CharacterLength => "length",
            f => f.name(),
        }
    }

    fn has_function(&self, f: Func) -> bool {
        matches!(
            f,
            Func::CharLength
                | Func::CharacterLength
                | Func::OctetLength
                | Func::Abs
                | Func::Coalesce
                | Func::NullIf
                | Func::Trim
                | Func::Ltrim
                | Func::Rtrim
                | Func::Replace
                // Skips NULL arguments, as PostgreSQL's does (SQLite 3.44+).
                | Func::Concat
        )
    }

    fn has_keyword(&self, k: Keyword) -> bool {
        k != Keyword::Like
    }

    fn render_own_default(
        &self,
        src: &str,
        parsed: &DefaultExpr,
    ) -> Result<Option<String>, String> {
        // The catalog drops an expression default's parentheses.
        Ok(match parsed {
            DefaultExpr::Null => None,
            DefaultExpr::Other(o) => Some(format!("({o})")),
            _ if src.contains('(') => Some(format!("({})", src.trim())),
            _ => Some(src.trim().to_string()),
        })
    }

    fn bool_literal(&self, b: bool) -> String {
        if b { "1" } else { "0" }.into()
    }

    fn current_timestamp_default(&self, _target_type: &str) -> String {
        "CURRENT_TIMESTAMP".into()
    }

    fn current_date_default(&self) -> String {
        "CURRENT_DATE".into()
    }

    fn uuid_default(&self) -> String {
        UUID_V4.into()
    }

    fn current_time_default(&self, _target_type: &str) -> String {
        "CURRENT_TIME".into()
    }

    fn bit_default(&self, bits: &str, _target_type: &str) -> String {
        quote_literal(bits)
    }

    fn set_default(&self, members: &[&str], target_type: &str) -> Option<String> {
        target_type
            .to_ascii_lowercase()
            .starts_with("json")
            .then(|| quote_literal(&serde_json::to_string(members).unwrap_or_default()))
    }

    fn json_array_default(&self, json: &str) -> Option<String> {
        Some(quote_literal(json))
    }

    fn timestamptz_default(&self, utc: &str) -> Option<String> {
        Some(quote_literal(&format!("{utc}+00:00")))
    }

    fn virtual_generated(&self) -> Result<(), &'static str> {
        Ok(())
    }

    fn on_update_now(&self, _target_type: &str) -> OnUpdateNow {
        OnUpdateNow::Unsupported
    }

    /// Only an `INTEGER PRIMARY KEY` counts by itself: the column becomes
    /// `INTEGER PRIMARY KEY AUTOINCREMENT` (keys are never reused, as a
    /// sequence's are not), and after the data `sqlite_sequence` is moved
    /// to the source's next value when that is further. From another SQLite
    /// file, a plain `INTEGER PRIMARY KEY` stays plain.
    fn auto_increment(&self, col: &AutoIncrement<'_>) -> Option<AutoIncrementSql> {
        if !col.only_key || !col.target_type.trim().eq_ignore_ascii_case("integer") {
            return None;
        }
        if col.native == Some("") {
            // The table's own PRIMARY KEY makes the column the rowid.
            return Some(AutoIncrementSql::default());
        }
        let name = unquote(col.table_sql);
        let sequences = match col.next_value {
            Some(next) if next > 1 => {
                let seq = next - 1;
                let n = quote_literal(&name);
                vec![
                    format!(
                        "INSERT INTO sqlite_sequence (name, seq) SELECT {n}, {seq} \
                         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {n})"
                    ),
                    format!("UPDATE sqlite_sequence SET seq = max(seq, {seq}) WHERE name = {n}"),
                ]
            }
            _ => Vec::new(),
        };
        Some(AutoIncrementSql {
            suffix: " PRIMARY KEY AUTOINCREMENT".into(),
            sequences,
            inline_key: None,
        })
    }

    fn column_comment(&self, _table_sql: &str, _column: &str, _comment: &str) -> CommentSql {
        CommentSql::None
    }

    fn table_comment(&self, _table_sql: &str, _comment: &str) -> CommentSql {
        CommentSql::None
    }

    fn constraints_in_create(&self) -> bool {
        true
    }

    fn foreign_key_check(&self, table_sql: &str) -> Option<String> {
        Some(format!("PRAGMA foreign_key_check({table_sql})"))
    }

    fn prefix_indexes(&self) -> bool {
        false
    }

    fn prefix_part(&self, column_sql: &str, n: u32) -> String {
        format!("(substr({column_sql}, 1, {n}))")
    }

    fn partial_indexes(&self) -> bool {
        true
    }

    fn expression_indexes(&self) -> Result<(), &'static str> {
        Ok(())
    }

    fn index_method(&self, method: &str, _native: bool) -> Option<IndexMethod> {
        match method {
            "btree" | "" | "hash" => Some(IndexMethod::Default),
            _ => None,
        }
    }

    fn create_index(&self, ix: &IndexSql<'_>) -> String {
        let u = if ix.unique { "UNIQUE " } else { "" };
        let predicate = ix
            .predicate
            .map(|p| format!(" WHERE {p}"))
            .unwrap_or_default();
        format!(
            "CREATE {u}INDEX IF NOT EXISTS {} ON {} ({}){predicate}",
            quote_ident(ix.name),
            ix.table_sql,
            ix.parts.join(", ")
        )
    }

    fn enforces_foreign_keys(&self) -> bool {
        false
    }

    fn column_checks(&self, plan: &TablePlan, column: usize) -> Vec<ColumnCheck> {
        let col = &plan.columns[column];
        let c = quote_ident(&col.name);
        let mut out = Vec::new();
        if let Ok(reading) = Reading::for_column(col) {
            let spec = quote_literal(&serde_json::to_string(&reading).unwrap_or_default());
            for (class, shown) in CLASSES {
                let misfit = match reading.class_fit(class) {
                    ClassFit::Always => continue,
                    ClassFit::Never => String::new(),
                    ClassFit::When(fits) => format!(" AND NOT ({})", fits.replace("{c}", &c)),
                    ClassFit::Content => format!(" AND NOT ferry_fits({c}, {spec})"),
                };
                out.push(ColumnCheck {
                    cond: format!("typeof({c}) = '{class}'{misfit}"),
                    problem: format!(
                        "{shown} values that do not fit {} (declared {}; SQLite does not enforce it: give the column another rule with a [[column]] override)",
                        col.logical,
                        declared(col)
                    ),
                    blocking: true,
                });
            }
        }
        if matches!(col.logical, LogicalType::Decimal { .. }) {
            out.push(ColumnCheck {
                cond: format!("typeof({c}) = 'real'"),
                problem: "decimal values held as REAL (binary floating point): precision may already be lost in the source file".into(),
                blocking: false,
            });
        }
        if plan.primary_key.contains(&column) && col.nullable {
            out.push(ColumnCheck {
                cond: format!("{c} IS NULL"),
                problem: "NULLs in a primary key column (SQLite allows them outside INTEGER PRIMARY KEY and WITHOUT ROWID tables)".into(),
                blocking: true,
            });
        }
        out
    }

    /// What a copy back reads: the declared type's read rule (SMALLINT is
    /// read as int16), and any other integer is 64-bit.
    fn signed_integer_max(&self, target_type: &str) -> Option<u64> {
        let t = target_type.trim().to_ascii_lowercase();
        let base = t.split('(').next().unwrap_or("").trim();
        if crate::desc::Affinity::of(&t) != crate::desc::Affinity::Integer {
            return None;
        }
        Some(match base {
            "tinyint" => i8::MAX as u64,
            "smallint" | "int2" => i16::MAX as u64,
            "mediumint" => i32::MAX as u64,
            _ => i64::MAX as u64,
        })
    }

    fn count_where(&self, cond: &str) -> String {
        format!("count(*) FILTER (WHERE {cond})")
    }

    /// Cast, so that the check's column has a type SQLite can name (a
    /// `CASE` has none; see the catalog's `describe_exprs`).
    fn check_column_sql(&self, predicate: &str) -> String {
        format!("CAST(CASE WHEN NOT ({predicate}) THEN 0 ELSE 1 END AS INTEGER)")
    }

    fn value_check(&self, check: ValueCheck<'_>, c: &str) -> Option<String> {
        Some(match check {
            ValueCheck::FloatSpecial => {
                format!("typeof({c}) = 'real' AND abs({c}) > 1.7976931348623157e308")
            }
            ValueCheck::NegativeZero => Self::check(c, "negative_zero"),
            ValueCheck::DecimalTooWide { scale, int_digits } => {
                Self::check(c, &format!("decimal_too_wide:{scale}:{int_digits}"))
            }
            ValueCheck::OutsideYears(col) => {
                let reading = Reading::for_column(col).ok()?;
                Self::check(
                    c,
                    &format!(
                        "outside_years:{}",
                        serde_json::to_string(&reading).unwrap_or_default()
                    ),
                )
            }
            ValueCheck::NulInText => {
                format!("typeof({c}) = 'text' AND instr(CAST({c} AS BLOB), x'00') > 0")
            }
            ValueCheck::LongerThan(n) => format!("typeof({c}) = 'text' AND length({c}) > {n}"),
            ValueCheck::FourByteUtf8 => Self::check(c, "four_byte"),
            // No NaN (SQLite stores NULL), no infinite dates, no arrays; a
            // boolean other than 0/1 and a zero date (`0000-00-00`, unless
            // zero_date_to_null) are counted by the storage checks, which
            // read each value as the copy does.
            ValueCheck::FloatNaN
            | ValueCheck::InfiniteDate
            | ValueCheck::ArrayShape
            | ValueCheck::NotZeroOrOne
            | ValueCheck::ZeroDate
            // A fraction finer than 6 digits does not parse as a time and
            // is counted by the storage checks; an offset in time text is
            // the instant's spelling, read as that instant by the rule.
            | ValueCheck::FinerThanMicros
            | ValueCheck::NonUtcOffset
            // A SQLite source has no geometry, enum or legacy character set.
            | ValueCheck::BeyondFlatGeometry(_)
            | ValueCheck::EnumErrorValue
            | ValueCheck::Unmappable(_) => return None,
        })
    }

    /// An approximation: SQLite has no MySQL collations; ASCII case and
    /// trailing spaces are folded, accents are not.
    fn collation_fold(&self, c: &str, _collation: &str, folding: Folding) -> String {
        let mut e = c.to_string();
        if folding.pad {
            e = format!("rtrim({e}, ' ')");
        }
        if folding.case {
            e = format!("lower({e})");
        }
        e
    }
}

fn declared(col: &ColumnPlan) -> &str {
    if col.source_type.is_empty() {
        "without a type"
    } else {
        &col.source_type
    }
}

fn contains_like(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Keyword(Keyword::Like) => true,
        Node::Call(_, inner) | Node::Group(inner) => contains_like(inner),
        _ => false,
    })
}

/// `"a""b"` → `a"b` (a name ferry quoted itself).
fn unquote(sql: &str) -> String {
    sql.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .map(|s| s.replace("\"\"", "\""))
        .unwrap_or_else(|| sql.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_catalogs_expressions_into_the_neutral_tree() {
        let c = cols(&["qty", "Code"]);
        let e = SqliteDialect
            .parse_expr("\"qty\" > 0 AND length(code) <= 10 AND qty == 3", &c)
            .unwrap();
        assert_eq!(
            SqliteDialect.render_expr(&e),
            "\"qty\" > 0 AND length(\"Code\") <= 10 AND \"qty\" = 3"
        );
        for bad in [
            "code LIKE 'a%'",
            "lower(code) = code",
            "\"nope\" = 1",
            "code || 'x' = 'ax'",
            "code GLOB 'a*'",
            "substr(code, 1, 2) = 'ab'",
        ] {
            assert!(SqliteDialect.parse_expr(bad, &c).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_sqlites_defaults() {
        use DefaultExpr as D;
        let d = |s| SqliteDialect.parse_default(s);
        assert_eq!(d("datetime('now')"), D::Now);
        assert_eq!(d("datetime( 'now' )"), D::Now);
        assert_eq!(d("CURRENT_TIMESTAMP"), D::Now);
        assert_eq!(d("date('now')"), D::Today);
        assert_eq!(d("'it''s'"), D::Str("it's".into()));
        assert_eq!(d("-1"), D::Num("-1".into()));
        assert_eq!(d("TRUE"), D::Bool(true));
        assert!(matches!(d("x'00ff'"), D::Other(_)));
        assert_eq!(
            SqliteDialect
                .render_own_default("datetime('now')", &D::Now)
                .unwrap(),
            Some("(datetime('now'))".into())
        );
        assert_eq!(
            SqliteDialect.render_own_default("1+2", &d("1+2")).unwrap(),
            Some("(1+2)".into())
        );
    }

    #[test]
    fn only_an_integer_primary_key_counts_by_itself() {
        let col = |target_type, only_key| AutoIncrement {
            table_sql: "\"t\"\"x\"",
            column: "id",
            target_type,
            leads_key: true,
            only_key,
            next_value: Some(42),
            always: false,
            native: None,
        };
        let a = SqliteDialect.auto_increment(&col("INTEGER", true)).unwrap();
        assert_eq!(a.suffix, " PRIMARY KEY AUTOINCREMENT");
        assert!(a.sequences[0].contains("'t\"x'") && a.sequences[1].contains("41"));
        assert!(SqliteDialect
            .auto_increment(&col("INTEGER", false))
            .is_none());
        assert!(SqliteDialect
            .auto_increment(&col("SMALLINT", true))
            .is_none());
    }
}
