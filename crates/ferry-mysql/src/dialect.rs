//! MySQL's (and MariaDB's) dialect: how ferry reads MySQL catalog
//! expressions into the neutral tree and writes MySQL DDL and pre-flight SQL.
//!
//! Catalog text comes from `information_schema` as the server stores it:
//! backtick identifiers, backslash escapes in literals (ferry's sessions keep
//! the default sql_mode), `_utf8mb4'…'` charset introducers.
//!
//! InnoDB cannot index TEXT/BLOB without a prefix and caps a key at 3072
//! bytes (utf8mb4 counts 4 bytes a character); [`MySqlDialect::key_width`]
//! says what each type takes and the schema translator fits keys into the
//! budget.

use ferry_core::dialect::{
    AutoIncrement, AutoIncrementSql, CommentSql, Dialect, Folding, IndexMethod, IndexSql, KeyLimit,
    KeyWidth, NameScope, OnUpdateNow, ValueCheck, ValueLimits,
};
use ferry_core::expr::{self, Callee, DefaultExpr, DefaultRules, Expr, Func, Keyword, LexRules};
use ferry_core::expr::{Node, Op, Vocabulary};
use ferry_core::Engine;

use crate::{quote_ident, quote_literal, Flavor};

/// MySQL refuses identifiers longer than this many characters.
const IDENTIFIER_CHARS: usize = 64;

/// InnoDB's key limit for utf8mb4 with the DYNAMIC row format.
pub const KEY_BYTES: u32 = 3072;

/// What a MySQL or MariaDB target holds.
pub fn value_limits(flavor: Flavor) -> ValueLimits {
    ValueLimits {
        float_specials: false,
        float_nan: false,
        // MariaDB turns −0.0 into +0.
        negative_zero: flavor != Flavor::MariaDb,
        infinite_dates: false,
        any_year: false,
        zero_dates: true,
        nul_in_text: true,
        folding_collations: true,
        any_geometry: false,
    }
}

/// MySQL's [`Dialect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect;

impl Dialect for MySqlDialect {
    fn engine(&self) -> Engine {
        Engine::MySql
    }

    fn quote_ident(&self, name: &str) -> String {
        quote_ident(name)
    }

    fn quote_literal(&self, s: &str) -> String {
        quote_literal(s)
    }

    fn identifier_fits(&self, name: &str) -> bool {
        name.chars().count() <= IDENTIFIER_CHARS
    }

    fn names_ignore_case(&self) -> bool {
        true
    }

    fn default_schema(&self) -> Option<&'static str> {
        None
    }

    fn index_name_scope(&self) -> NameScope {
        NameScope::Table
    }

    fn constraint_name_scope(&self) -> NameScope {
        // Foreign key and CHECK names are unique per database.
        NameScope::SchemaOwn
    }

    fn reserved_index_names(&self) -> &'static [&'static str] {
        &["PRIMARY"]
    }

    fn parse_expr(&self, src: &str, columns: &[String]) -> Result<Expr, String> {
        let rules = LexRules {
            backslash_escapes: true,
            double_quote_is_string: true,
            charset_introducers: true,
        };
        let toks = expr::lex(src, rules)?;
        let function = |name: &str, empty: bool| -> Result<Callee, String> {
            Ok(match name {
                "current_timestamp" | "now" | "localtimestamp" if empty => Callee::Value(Node::Now),
                "current_timestamp" => Callee::Func(Func::CurrentTimestamp),
                "curdate" if empty => Callee::Value(Node::Today),
                // MySQL's length() counts bytes.
                "length" | "octet_length" => Callee::Func(Func::OctetLength),
                "concat" => Callee::Func(Func::ConcatNullIfAnyNull),
                f => Callee::Func(Func::common(f).ok_or_else(|| format!("function {f}()"))?),
            })
        };
        let operator = |op: &str| -> Result<Vec<Node>, String> {
            Ok(match op {
                // With the default sql_mode (no PIPES_AS_CONCAT).
                "&&" => vec![Node::Keyword(Keyword::And)],
                "||" => vec![Node::Keyword(Keyword::Or)],
                o => vec![Node::Op(
                    Op::standard(o).ok_or_else(|| format!("operator {o}"))?,
                )],
            })
        };
        expr::build(
            &toks,
            &Vocabulary {
                columns,
                columns_ignore_case: true,
                function: &function,
                operator: &operator,
            },
        )
    }

    fn parse_default(&self, src: &str) -> DefaultExpr {
        expr::classify_default(
            src,
            DefaultRules {
                backslash_escapes: true,
                trailing_casts: false,
            },
        )
    }

    fn function_name(&self, f: Func) -> &'static str {
        match f {
            Func::OctetLength => "length",
            f => f.name(),
        }
    }

    fn has_function(&self, f: Func) -> bool {
        // MySQL's concat() is NULL when any argument is.
        f != Func::Concat
    }

    fn render_own_default(
        &self,
        src: &str,
        parsed: &DefaultExpr,
    ) -> Result<Option<String>, String> {
        // information_schema shows expression defaults without their parentheses.
        Ok(match parsed {
            DefaultExpr::Null => None,
            DefaultExpr::Other(o) => Some(format!("({o})")),
            DefaultExpr::Uuid => Some(self.uuid_default()),
            DefaultExpr::Today => Some(self.current_date_default()),
            DefaultExpr::CurrentTime => Some("(curtime())".into()),
            _ => Some(src.trim().to_string()),
        })
    }

    fn bool_literal(&self, b: bool) -> String {
        if b { "1" } else { "0" }.into()
    }

    fn default_needs_parens(&self, target_type: &str) -> bool {
        // TEXT, BLOB and JSON columns take no literal default.
        let t = target_type.to_ascii_lowercase();
        t.ends_with("text") || t.ends_with("blob") || t.starts_with("json")
    }

    fn current_timestamp_default(&self, target_type: &str) -> String {
        match fsp_of(target_type).unwrap_or(0) {
            0 => "CURRENT_TIMESTAMP".into(),
            p => format!("CURRENT_TIMESTAMP({p})"),
        }
    }

    fn current_date_default(&self) -> String {
        "(curdate())".into()
    }

    fn uuid_default(&self) -> String {
        "(uuid())".into()
    }

    fn current_time_default(&self, target_type: &str) -> String {
        match fsp_of(target_type).unwrap_or(0) {
            0 => "(curtime())".into(),
            p => format!("(curtime({p}))"),
        }
    }

    fn bit_default(&self, bits: &str, target_type: &str) -> String {
        // Long bit strings are held as text of 0/1.
        if target_type.to_ascii_lowercase().starts_with("bit") {
            format!("b'{bits}'")
        } else {
            self.quote_literal(bits)
        }
    }

    fn json_array_default(&self, json: &str) -> Option<String> {
        // Arrays become JSON; a literal default on JSON must be an expression.
        Some(format!("({})", self.quote_literal(json)))
    }

    fn virtual_generated(&self) -> Result<(), &'static str> {
        Ok(())
    }

    fn on_update_now(&self, target_type: &str) -> OnUpdateNow {
        let tt = target_type.to_ascii_lowercase();
        if !(tt.starts_with("datetime") || tt.starts_with("timestamp")) {
            return OnUpdateNow::Unsupported;
        }
        OnUpdateNow::Clause(match fsp_in_parens(&tt) {
            0 => " ON UPDATE CURRENT_TIMESTAMP".into(),
            p => format!(" ON UPDATE CURRENT_TIMESTAMP({p})"),
        })
    }

    fn auto_increment(&self, col: &AutoIncrement<'_>) -> Option<AutoIncrementSql> {
        let tt = col.target_type.to_ascii_lowercase();
        let base = tt.split(['(', ' ']).next().unwrap_or("");
        if !matches!(
            base,
            "tinyint" | "smallint" | "mediumint" | "int" | "bigint"
        ) {
            return None;
        }
        // InnoDB needs the counter to lead an index. A counter that is not
        // the first key column (a partitioned PostgreSQL table's key starts
        // with its partition column) gets an index of its own, created with
        // the table because InnoDB refuses the column without it.
        let inline_key = (!col.leads_key).then(|| {
            let mut name = format!("{}_auto_increment", col.column);
            while name.chars().count() > IDENTIFIER_CHARS {
                name.pop();
            }
            format!("KEY {} ({})", quote_ident(&name), quote_ident(col.column))
        });
        Some(AutoIncrementSql {
            inline_key,
            suffix: " AUTO_INCREMENT".into(),
            sequences: col
                .next_value
                .map(|n| format!("ALTER TABLE {} AUTO_INCREMENT = {n}", col.table_sql))
                .into_iter()
                .collect(),
        })
    }

    fn column_comment(&self, _table_sql: &str, _column: &str, comment: &str) -> CommentSql {
        CommentSql::Inline(format!(" COMMENT {}", quote_literal(comment)))
    }

    fn table_comment(&self, _table_sql: &str, comment: &str) -> CommentSql {
        CommentSql::Inline(format!(" COMMENT={}", quote_literal(comment)))
    }

    fn key_limit(&self) -> Option<KeyLimit> {
        Some(KeyLimit {
            bytes: KEY_BYTES,
            owner: "InnoDB",
        })
    }

    fn key_width(&self, target_type: &str) -> KeyWidth {
        key_width(target_type)
    }

    fn key_counts_bytes(&self, target_type: &str) -> bool {
        is_binary(target_type)
    }

    fn key_prefixable(&self, target_type: &str) -> bool {
        let ty = target_type.to_ascii_lowercase();
        ty.contains("char") || ty.contains("text") || ty.contains("binary") || ty.contains("blob")
    }

    fn narrowed_string_type(&self, binary: bool, len: u32) -> String {
        if binary {
            format!("varbinary({len})")
        } else {
            format!("varchar({len})")
        }
    }

    fn prefix_indexes(&self) -> bool {
        true
    }

    fn prefix_part(&self, column_sql: &str, n: u32) -> String {
        format!("{column_sql}({n})")
    }

    fn expression_indexes(&self) -> Result<(), &'static str> {
        Err("MariaDB has no expression indexes")
    }

    fn index_method(&self, method: &str, native: bool) -> Option<IndexMethod> {
        match method {
            // InnoDB builds B-trees for USING HASH anyway.
            "btree" | "" | "hash" => Some(IndexMethod::Default),
            "fulltext" if native => Some(IndexMethod::Fulltext),
            _ => None,
        }
    }

    fn create_index(&self, ix: &IndexSql<'_>) -> String {
        let kind = if ix.method == IndexMethod::Fulltext {
            "FULLTEXT "
        } else if ix.unique {
            "UNIQUE "
        } else {
            ""
        };
        format!(
            "CREATE {kind}INDEX {} ON {} ({})",
            quote_ident(ix.name),
            ix.table_sql,
            ix.parts.join(", ")
        )
    }

    fn foreign_key_action(&self, action: &str) -> Result<(), &'static str> {
        if action == "SET DEFAULT" {
            return Err("which InnoDB refuses");
        }
        Ok(())
    }

    fn signed_integer_max(&self, target_type: &str) -> Option<u64> {
        let t = target_type.to_ascii_lowercase();
        if t.contains("unsigned") {
            return None;
        }
        Some(match t.split(['(', ' ']).next().unwrap_or("") {
            "bigint" => i64::MAX as u64,
            "int" | "integer" => i32::MAX as u64,
            "mediumint" => 8_388_607,
            "smallint" => i16::MAX as u64,
            "tinyint" => i8::MAX as u64,
            _ => return None,
        })
    }

    fn count_where(&self, cond: &str) -> String {
        format!("CAST(COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS SIGNED)")
    }

    fn value_check(&self, check: ValueCheck<'_>, c: &str) -> Option<String> {
        Some(match check {
            ValueCheck::ZeroDate => format!(
                "{c} IS NOT NULL AND (YEAR({c}) = 0 OR MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0)"
            ),
            // In UTF-8: a UTF-16 or UTF-32 column has zero bytes in most
            // characters (the conversion is a no-op for utf8mb4).
            ValueCheck::NulInText => {
                format!("INSTR(CAST(CONVERT({c} USING utf8mb4) AS BINARY), X'00') > 0")
            }
            // An enum in numeric context is its index; 0 is the error value.
            ValueCheck::EnumErrorValue => format!("{c} + 0 = 0"),
            ValueCheck::Unmappable(charset) => {
                if !crate::charset::reads_raw(charset) {
                    return None;
                }
                // The server's conversion makes `?` of a sequence without a
                // mapping (and MariaDB's tis620 and big5 tables U+FFFD): more
                // `?` after it than before, or a U+FFFD out of a table that
                // is not Unicode, is such a value (crate::charset decides
                // the same from the same conversion).
                let u = format!("CONVERT({c} USING utf8mb4)");
                let marks =
                    |e: &str| format!("CHAR_LENGTH({e}) - CHAR_LENGTH(REPLACE({e}, '?', ''))");
                let replaced = format!("{} <> {}", marks(c), marks(&u));
                // MariaDB's ucs2 and utf32 hold surrogate code points, and
                // convert them into invalid UTF-8 rather than `?`.
                let surrogate = match charset {
                    "ucs2" => Some("^([0-9A-F]{4})*D[89A-F]"),
                    "utf32" => Some("^([0-9A-F]{8})*0000D[89A-F]"),
                    _ => None,
                };
                if let Some(re) = surrogate {
                    format!("{c} IS NOT NULL AND ({replaced} OR HEX({c}) REGEXP '{re}')")
                } else if matches!(charset, "utf16" | "utf16le") {
                    format!("{c} IS NOT NULL AND {replaced}")
                } else {
                    format!(
                        "{c} IS NOT NULL AND ({replaced} OR LOCATE(_utf8mb4 X'EFBFBD', {u}) > 0)"
                    )
                }
            }
            ValueCheck::NotZeroOrOne => format!("{c} NOT IN (0, 1)"),
            ValueCheck::LongerThan(n) => format!("CHAR_LENGTH({c}) > {n}"),
            ValueCheck::FourByteUtf8 => {
                format!("OCTET_LENGTH({c}) <> OCTET_LENGTH(CONVERT({c} USING utf8mb3))")
            }
            // MySQL holds no NaN, infinities or arrays, and its decimals and
            // dates always fit another engine's: nothing to count.
            ValueCheck::FloatSpecial
            | ValueCheck::FloatNaN
            | ValueCheck::NegativeZero
            | ValueCheck::DecimalTooWide { .. }
            | ValueCheck::InfiniteDate
            | ValueCheck::OutsideYears(_)
            | ValueCheck::ArrayShape
            | ValueCheck::FinerThanMicros
            | ValueCheck::NonUtcOffset
            | ValueCheck::BeyondFlatGeometry(_) => return None,
        })
    }

    fn collation_fold(&self, c: &str, collation: &str, _folding: Folding) -> String {
        let charset = collation.split('_').next().unwrap_or("utf8mb4");
        format!("CONVERT({c} USING {charset}) COLLATE {collation}")
    }
}

fn fsp_of(target_type: &str) -> Option<u8> {
    let open = target_type.find('(')?;
    let close = target_type.find(')')?;
    target_type[open + 1..close].trim().parse().ok()
}

fn fsp_in_parens(target_type: &str) -> u8 {
    target_type
        .find('(')
        .and_then(|o| target_type[o + 1..].split(')').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Bytes a MySQL column of `target_type` takes in a key.
fn key_width(target_type: &str) -> KeyWidth {
    let t = target_type.to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    let arg = t
        .find('(')
        .and_then(|o| t[o + 1..].split([',', ')']).next())
        .and_then(|n| n.trim().parse::<u32>().ok());
    KeyWidth::Bytes(match base {
        "tinyint" | "year" => 1,
        "smallint" | "enum" => 2,
        "mediumint" | "date" => 3,
        "int" | "integer" | "float" => 4,
        "bigint" | "double" | "datetime" | "timestamp" | "bit" | "set" => 8,
        "time" => 6,
        "decimal" | "numeric" => arg.unwrap_or(10) / 2 + 1,
        "char" | "varchar" => arg.unwrap_or(1).saturating_mul(4),
        "binary" | "varbinary" => arg.unwrap_or(1),
        "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob" | "mediumblob"
        | "longblob" => return KeyWidth::NeedsPrefix,
        "json" | "geometry" | "point" => return KeyWidth::NotIndexable,
        _ => 8,
    })
}

/// Whether a MySQL type is binary (prefix lengths count bytes, not characters).
fn is_binary(target_type: &str) -> bool {
    let t = target_type.to_ascii_lowercase();
    t.contains("blob") || t.contains("binary")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(key_width("varchar(768)"), KeyWidth::Bytes(3072));
        assert_eq!(key_width("bigint unsigned"), KeyWidth::Bytes(8));
        assert_eq!(key_width("longtext"), KeyWidth::NeedsPrefix);
        assert_eq!(key_width("decimal(65,30)"), KeyWidth::Bytes(33));
        assert_eq!(key_width("json"), KeyWidth::NotIndexable);
        assert!(is_binary("varbinary(10)") && !is_binary("varchar(3)"));
    }

    #[test]
    fn parses_common_defaults() {
        use DefaultExpr as D;
        let my = |s| MySqlDialect.parse_default(s);
        assert_eq!(my("'a\\\\b'"), D::Str("a\\b".into()));
        assert_eq!(my("current_timestamp(6)"), D::Now);
        assert_eq!(my("uuid()"), D::Uuid);
        assert_eq!(my("curdate()"), D::Today);
        assert_eq!(my("NULL"), D::Null);
        assert_eq!(my("1"), D::Num("1".into()));
        // Issue 18: `b'0'` was dropped as an unknown literal prefix.
        assert_eq!(my("b'0'"), D::Bits("0".into()));
        assert_eq!(my("b'101'"), D::Bits("101".into()));
        assert_eq!(my("curtime()"), D::CurrentTime);
        assert_eq!(my("'0000-00-00'"), D::Str("0000-00-00".into()));
        assert!(matches!(my("1 + 2"), D::Other(_)));
    }

    #[test]
    fn parses_catalog_forms_into_the_neutral_tree() {
        let c = vec!["Status".to_string()];
        let e = MySqlDialect
            .parse_expr(
                "(`status` in (_utf8mb4'a',_utf8mb4'b')) && length(status) > 1",
                &c,
            )
            .unwrap();
        assert_eq!(
            MySqlDialect.render_expr(&e),
            "(`status` IN ('a', 'b')) AND length(`Status`) > 1"
        );
        assert!(MySqlDialect.parse_expr("\"a\" = `status`", &c).is_err());
        assert!(MySqlDialect.parse_expr("`status` regexp '^a'", &c).is_err());
    }

    #[test]
    fn identifiers_fit_64_characters() {
        assert!(MySqlDialect.identifier_fits(&"é".repeat(64)));
        assert!(!MySqlDialect.identifier_fits(&"a".repeat(65)));
    }
}
