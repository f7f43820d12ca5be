//! PostgreSQL's dialect: how ferry reads PostgreSQL catalog expressions
//! into the neutral tree and writes PostgreSQL DDL and pre-flight SQL.
//!
//! Catalog text comes from `pg_get_expr` / `pg_get_constraintdef` /
//! `pg_get_indexdef`, which deparse with explicit casts (`'a'::text`) and
//! spell `IN` lists as `= ANY (ARRAY[…])`. The parser drops casts to the
//! whitelisted scalar types (every engine converts the same way implicitly in
//! a comparison or an assignment), rewrites `ANY`/`ALL` over an array literal
//! to `IN`/`NOT IN`, and refuses everything else it does not know.

use ferry_core::dialect::{
    AutoIncrement, AutoIncrementSql, CommentSql, Dialect, Folding, IndexMethod, IndexSql,
    NameScope, OnUpdateNow, ValueCheck, ValueLimits,
};
use ferry_core::expr::{self, Callee, DefaultExpr, DefaultRules, Expr, Func, Keyword, LexRules};
use ferry_core::expr::{Node, Op, Token, Vocabulary};
use ferry_core::{Engine, LogicalType, TablePlan, TableRef};

use crate::{quote_ident, quote_literal};

/// The name of the trigger function that emulates `ON UPDATE
/// CURRENT_TIMESTAMP`; the catalog reader recognises it on the way back.
pub const ON_UPDATE_FUNCTION: &str = "ferry_on_update_timestamp";

/// PostgreSQL cuts identifiers at this many bytes.
const IDENTIFIER_BYTES: usize = 63;

/// PostgreSQL type names whose casts can be dropped.
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

/// What a PostgreSQL target holds: everything but nothing folds.
pub const VALUE_LIMITS: ValueLimits = ValueLimits {
    float_specials: true,
    float_nan: true,
    negative_zero: true,
    infinite_dates: true,
    any_year: true,
    zero_dates: false,
    nul_in_text: false,
    folding_collations: false,
    any_geometry: true,
};

/// PostgreSQL's [`Dialect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PgDialect;

impl Dialect for PgDialect {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn quote_ident(&self, name: &str) -> String {
        quote_ident(name)
    }

    fn quote_literal(&self, s: &str) -> String {
        quote_literal(s)
    }

    fn identifier_fits(&self, name: &str) -> bool {
        name.len() <= IDENTIFIER_BYTES
    }

    fn names_ignore_case(&self) -> bool {
        false
    }

    fn default_schema(&self) -> Option<&'static str> {
        Some("public")
    }

    fn index_name_scope(&self) -> NameScope {
        // Indexes are relations: they share the schema's namespace with tables.
        NameScope::Schema
    }

    fn constraint_name_scope(&self) -> NameScope {
        NameScope::Table
    }

    fn parse_expr(&self, src: &str, columns: &[String]) -> Result<Expr, String> {
        let toks = rewrite_any(drop_casts(expr::lex(src, LexRules::default())?)?)?;
        let function = |name: &str, empty: bool| -> Result<Callee, String> {
            Ok(match name {
                "current_timestamp" | "now" | "localtimestamp" if empty => Callee::Value(Node::Now),
                "current_timestamp" => Callee::Func(Func::CurrentTimestamp),
                // PostgreSQL's length() counts characters.
                "length" => Callee::Func(Func::CharLength),
                "concat" => Callee::Func(Func::Concat),
                f => Callee::Func(Func::common(f).ok_or_else(|| format!("function {f}()"))?),
            })
        };
        let operator = |op: &str| -> Result<Vec<Node>, String> {
            Ok(match op {
                "~~" => vec![Node::Keyword(Keyword::Like)],
                "!~~" => vec![Node::Keyword(Keyword::Not), Node::Keyword(Keyword::Like)],
                o => vec![Node::Op(
                    Op::standard(o).ok_or_else(|| format!("operator {o}"))?,
                )],
            })
        };
        expr::build(
            &toks,
            &Vocabulary {
                columns,
                columns_ignore_case: false,
                function: &function,
                operator: &operator,
            },
        )
    }

    fn parse_default(&self, src: &str) -> DefaultExpr {
        expr::classify_default(
            src,
            DefaultRules {
                backslash_escapes: false,
                trailing_casts: true,
            },
        )
    }

    fn has_function(&self, f: Func) -> bool {
        // PostgreSQL's concat() skips NULL arguments.
        f != Func::ConcatNullIfAnyNull
    }

    fn parse_array_literal(&self, s: &str) -> Option<Vec<Option<String>>> {
        parse_array_literal(s)
    }

    fn render_own_default(
        &self,
        src: &str,
        parsed: &DefaultExpr,
    ) -> Result<Option<String>, String> {
        match parsed {
            DefaultExpr::Null => Ok(None),
            DefaultExpr::Other(o) if o.contains("nextval(") => {
                Err("it draws from a sequence that is not copied".into())
            }
            _ => Ok(Some(src.trim().to_string())),
        }
    }

    fn bool_literal(&self, b: bool) -> String {
        if b { "true" } else { "false" }.into()
    }

    fn current_timestamp_default(&self, _target_type: &str) -> String {
        "CURRENT_TIMESTAMP".into()
    }

    fn current_date_default(&self) -> String {
        "CURRENT_DATE".into()
    }

    fn uuid_default(&self) -> String {
        // Assigned to a string column through its text form too.
        "gen_random_uuid()".into()
    }

    fn current_time_default(&self, _target_type: &str) -> String {
        // CURRENT_TIME is time with time zone; the column is a local time.
        "LOCALTIME".into()
    }

    fn set_default(&self, members: &[&str], target_type: &str) -> Option<String> {
        // A SET mapped to an array: its default is an array literal (a SET
        // mapped to text keeps the comma-joined text).
        if !target_type.trim_end().ends_with("[]") {
            return None;
        }
        let items: Vec<String> = members
            .iter()
            .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        Some(quote_literal(&format!("{{{}}}", items.join(","))))
    }

    fn timestamptz_default(&self, utc: &str) -> Option<String> {
        Some(quote_literal(&format!("{utc}+00")))
    }

    fn virtual_generated(&self) -> Result<(), &'static str> {
        Err("PostgreSQL has only stored generated columns")
    }

    fn on_update_now(&self, target_type: &str) -> OnUpdateNow {
        if target_type.to_ascii_lowercase().starts_with("timestamp") {
            OnUpdateNow::Trigger
        } else {
            OnUpdateNow::Unsupported
        }
    }

    /// One shared trigger function per schema (`CREATE OR REPLACE`, so
    /// every table may create it) and a trigger per column, named
    /// `(column, trigger)`.
    fn on_update_triggers(
        &self,
        table: &TableRef,
        table_sql: &str,
        columns: &[(String, String)],
    ) -> Vec<String> {
        let schema = quote_ident(table.schema.as_deref().unwrap_or("public"));
        let mut out = vec![format!(
            "CREATE OR REPLACE FUNCTION {schema}.{ON_UPDATE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $ferry$ \
             BEGIN IF NEW IS DISTINCT FROM OLD AND (to_jsonb(NEW) -> TG_ARGV[0]) IS NOT DISTINCT FROM (to_jsonb(OLD) -> TG_ARGV[0]) THEN \
             NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], CURRENT_TIMESTAMP)); END IF; RETURN NEW; END $ferry$"
        )];
        for (column, trigger) in columns {
            out.push(format!(
                "CREATE TRIGGER {} BEFORE UPDATE ON {table_sql} FOR EACH ROW EXECUTE FUNCTION {schema}.{ON_UPDATE_FUNCTION}({})",
                quote_ident(trigger),
                quote_literal(column)
            ));
        }
        out
    }

    fn auto_increment(&self, col: &AutoIncrement<'_>) -> Option<AutoIncrementSql> {
        let tt = col.target_type.to_ascii_lowercase();
        let base = tt.split(['(', ' ']).next().unwrap_or("");
        if !matches!(
            base,
            "smallint" | "integer" | "bigint" | "int2" | "int4" | "int8"
        ) {
            return None;
        }
        let t = col.table_sql;
        let next = col.next_value.unwrap_or(1);
        let mut sequences = vec![format!(
            "SELECT setval(pg_get_serial_sequence({}, {}), GREATEST((SELECT COALESCE(max({}), 0) FROM {t}) + 1, {next}), false)",
            quote_literal(t),
            quote_literal(col.column),
            quote_ident(col.column)
        )];
        if col.always {
            // Set after the data: ALWAYS would refuse the copied key values.
            sequences.push(format!(
                "ALTER TABLE {t} ALTER COLUMN {} SET GENERATED ALWAYS",
                quote_ident(col.column)
            ));
        }
        Some(AutoIncrementSql {
            suffix: " GENERATED BY DEFAULT AS IDENTITY".into(),
            sequences,
            inline_key: None,
        })
    }

    fn column_comment(&self, table_sql: &str, column: &str, comment: &str) -> CommentSql {
        CommentSql::Statement(format!(
            "COMMENT ON COLUMN {table_sql}.{} IS {}",
            quote_ident(column),
            quote_literal(comment)
        ))
    }

    fn table_comment(&self, table_sql: &str, comment: &str) -> CommentSql {
        CommentSql::Statement(format!(
            "COMMENT ON TABLE {table_sql} IS {}",
            quote_literal(comment)
        ))
    }

    fn prefix_indexes(&self) -> bool {
        false
    }

    fn partial_indexes(&self) -> bool {
        true
    }

    /// An expression index on `left(c, n)` indexes exactly the same prefix
    /// (and enforces the same uniqueness) as a prefix key part.
    fn prefix_part(&self, column_sql: &str, n: u32) -> String {
        format!("left({column_sql}, {n})")
    }

    fn expression_indexes(&self) -> Result<(), &'static str> {
        Ok(())
    }

    fn index_method(&self, method: &str, native: bool) -> Option<IndexMethod> {
        match method {
            "btree" | "" => Some(IndexMethod::Default),
            m if native => Some(IndexMethod::Using(m.to_string())),
            // Another engine's hash index only serves equality: a B-tree does too.
            "hash" => Some(IndexMethod::Default),
            _ => None,
        }
    }

    fn create_index(&self, ix: &IndexSql<'_>) -> String {
        let n = quote_ident(ix.name);
        let t = ix.table_sql;
        let cols = ix.parts.join(", ");
        if ix.unique
            && ix.plain
            && ix.predicate.is_none()
            && ix.method == IndexMethod::Default
            && ix.constraint
        {
            return format!("ALTER TABLE {t} ADD CONSTRAINT {n} UNIQUE ({cols})");
        }
        let u = if ix.unique { "UNIQUE " } else { "" };
        let using = match &ix.method {
            IndexMethod::Using(m) => format!(" USING {m}"),
            IndexMethod::Default | IndexMethod::Fulltext => String::new(),
        };
        let predicate = ix
            .predicate
            .map(|p| format!(" WHERE {p}"))
            .unwrap_or_default();
        format!("CREATE {u}INDEX {n} ON {t}{using} ({cols}){predicate}")
    }

    fn source_from_sql(&self, plan: &TablePlan) -> String {
        crate::source::source_from(plan)
    }

    fn signed_integer_max(&self, target_type: &str) -> Option<u64> {
        let t = target_type.to_ascii_lowercase();
        Some(match t.split(['(', ' ']).next().unwrap_or("") {
            "bigint" | "int8" => i64::MAX as u64,
            "integer" | "int" | "int4" => i32::MAX as u64,
            "smallint" | "int2" => i16::MAX as u64,
            _ => return None,
        })
    }

    fn count_where(&self, cond: &str) -> String {
        format!("count(*) FILTER (WHERE {cond})")
    }

    fn value_check(&self, check: ValueCheck<'_>, c: &str) -> Option<String> {
        use LogicalType as L;
        Some(match check {
            ValueCheck::FloatSpecial => format!("{c} IN ('NaN', 'Infinity', '-Infinity')"),
            ValueCheck::FloatNaN => format!("{c} = 'NaN'"),
            ValueCheck::NegativeZero => format!("{c} = 0 AND {c}::text LIKE '-%'"),
            ValueCheck::DecimalTooWide { scale, int_digits } => format!(
                "{c} NOT IN ('NaN', 'Infinity', '-Infinity') AND (scale({c}) > {scale} OR abs({c}) >= 1e{int_digits})"
            ),
            ValueCheck::InfiniteDate => format!("NOT isfinite({c})"),
            ValueCheck::OutsideYears(col) => {
                let (lo, hi) = match &col.logical {
                    L::Date => ("'0001-01-01'", "'10000-01-01'"),
                    L::Timestamp { .. } => ("'0001-01-01 00:00:00'", "'10000-01-01 00:00:00'"),
                    _ => ("'0001-01-01 00:00:00+00'", "'10000-01-01 00:00:00+00'"),
                };
                format!("isfinite({c}) AND ({c} < {lo} OR {c} >= {hi})")
            }
            ValueCheck::ArrayShape => {
                format!("array_ndims({c}) > 1 OR array_lower({c}, 1) <> 1")
            }
            // Through text: the column may be a type read by its text form (pg_lsn).
            ValueCheck::LongerThan(n) => format!("char_length({c}::text) > {n}"),
            ValueCheck::FourByteUtf8 => format!("{c}::text ~ '[\\U00010000-\\U0010FFFF]'"),
            // Nested empty parts are not counted: the writer refuses them by key.
            ValueCheck::BeyondFlatGeometry("geometry" | "geography") => {
                let g = format!("{c}::geometry");
                format!(
                    "ST_NDims({g}) > 2 OR ST_HasArc({g}) \
                     OR GeometryType({g}) IN ('TIN', 'POLYHEDRALSURFACE', 'TRIANGLE') \
                     OR (ST_IsEmpty({g}) AND GeometryType({g}) <> 'GEOMETRYCOLLECTION')"
                )
            }
            // PostgreSQL's own point is always a 2D, non-empty point.
            ValueCheck::BeyondFlatGeometry(_) => return None,
            // PostgreSQL has no zero dates, no NUL in text, real booleans,
            // µs at most, no offsets kept with its instants, no enum error
            // value, no legacy character sets.
            ValueCheck::ZeroDate
            | ValueCheck::NulInText
            | ValueCheck::NotZeroOrOne
            | ValueCheck::FinerThanMicros
            | ValueCheck::NonUtcOffset
            | ValueCheck::EnumErrorValue
            | ValueCheck::Unmappable(_) => return None,
        })
    }

    /// An approximation: PostgreSQL has no MySQL collations, so the fold is
    /// built from their flags (trailing spaces, accents, case).
    fn collation_fold(&self, c: &str, _collation: &str, folding: Folding) -> String {
        let mut e = format!("{c}::text");
        if folding.pad {
            e = format!("rtrim({e}, ' ')");
        }
        if folding.accents {
            e = format!("regexp_replace(normalize({e}, NFD), '[\\u0300-\\u036f]', '', 'g')");
        }
        if folding.case {
            e = format!("lower({e})");
        }
        e
    }
}

/// Drops `::type` casts of the whitelisted types.
fn drop_casts(toks: Vec<Token>) -> Result<Vec<Token>, String> {
    let mut out = Vec::with_capacity(toks.len());
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        if t != Token::Op("::".into()) {
            out.push(t);
            continue;
        }
        let mut any = false;
        while let Some(Token::Word(w)) = it.peek() {
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
        if it.peek() == Some(&Token::Open) {
            for t in it.by_ref() {
                if t == Token::Close {
                    break;
                }
            }
        }
        while it.peek() == Some(&Token::LBracket) {
            it.next();
            if it.next() != Some(Token::RBracket) {
                return Err("array subscript".into());
            }
        }
    }
    Ok(out)
}

/// `x = ANY (ARRAY[a, b])` → `x IN (a, b)`; `x <> ALL (ARRAY[…])` → `x NOT IN (…)`.
fn rewrite_any(toks: Vec<Token>) -> Result<Vec<Token>, String> {
    let mut out: Vec<Token> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let quantified = match (&toks[i], toks.get(i + 1), toks.get(i + 2)) {
            (Token::Op(op), Some(Token::Word(w)), Some(Token::Open)) => {
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
                Token::Open => depth += 1,
                Token::Close => {
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
        let mut inner: Vec<Token> = toks[open + 1..close]
            .iter()
            .filter(|t| !matches!(t, Token::Open | Token::Close))
            .cloned()
            .collect();
        if !matches!(inner.first(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("array"))
            || inner.get(1) != Some(&Token::LBracket)
            || inner.last() != Some(&Token::RBracket)
        {
            return Err("ANY/ALL over something other than an ARRAY[…] list".into());
        }
        inner = inner[2..inner.len() - 1].to_vec();
        if negated {
            out.push(Token::Word("NOT".into()));
        }
        out.push(Token::Word("IN".into()));
        out.push(Token::Open);
        out.extend(inner);
        out.push(Token::Close);
        i = close + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_catalog_forms_into_the_neutral_tree() {
        let c = cols(&["status", "name"]);
        let e = PgDialect
            .parse_expr("status = ANY (ARRAY['new'::text, 'it''s'::text])", &c)
            .unwrap();
        assert_eq!(PgDialect.render_expr(&e), "\"status\" IN ('new', 'it''s')");
        // pg_get_indexdef quotes `left`, a keyword.
        let e = PgDialect.parse_expr("\"left\"(name, 10)", &c).unwrap();
        assert_eq!(e.as_left_prefix(), Some(("name".into(), 10)));
        assert!(PgDialect.parse_expr("code ~ '^a'", &c).is_err());
    }

    #[test]
    fn parses_common_defaults() {
        use DefaultExpr as D;
        let pg = |s| PgDialect.parse_default(s);
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
        assert!(matches!(pg("lower('X')"), D::Other(_)));
    }

    #[test]
    fn live_now_casts_are_the_current_time_not_the_word() {
        use DefaultExpr as D;
        let pg = |s| PgDialect.parse_default(s);
        // Issue 18: `('now'::text)::date` became `DEFAULT ('now')` on MariaDB.
        assert_eq!(pg("('now'::text)::date"), D::Today);
        assert_eq!(pg("'now'::text::date"), D::Today);
        assert_eq!(pg("('now'::text)::timestamp without time zone"), D::Now);
        assert_eq!(
            pg("('now'::text)::time(0) without time zone"),
            D::CurrentTime
        );
        assert_eq!(pg("'now'::text"), D::Str("now".into()));
        assert_eq!(pg("(now())::date"), D::Today);
        assert_eq!(pg("CURRENT_TIME"), D::CurrentTime);
        assert_eq!(pg("LOCALTIME(0)"), D::CurrentTime);
        assert_eq!(pg("LOCALTIMESTAMP"), D::Now);
        assert_eq!(pg("clock_timestamp()"), D::Now);
        assert_eq!(pg("statement_timestamp()"), D::Now);
        assert_eq!(pg("CURRENT_TIMESTAMP(3)"), D::Now);
        assert_eq!(pg("(0)::numeric"), D::Num("0".into()));
        assert_eq!(pg("''::character varying"), D::Str(String::new()));
        assert_eq!(pg("'{}'::text[]"), D::Str("{}".into()));
        assert_eq!(pg("B'101'::\"bit\""), D::Bits("101".into()));
        assert_eq!(pg("'101'::\"bit\""), D::Bits("101".into()));
        assert_eq!(pg("'a::b'::text"), D::Str("a::b".into()));
        assert!(matches!(pg("nextval('s'::regclass)"), D::Other(_)));
    }

    #[test]
    fn identifiers_are_cut_at_63_bytes() {
        assert!(PgDialect.identifier_fits(&"a".repeat(63)));
        assert!(!PgDialect.identifier_fits(&"é".repeat(32)));
        assert_eq!(
            PgDialect.table_sql(&TableRef::new(None, "t")),
            "\"public\".\"t\""
        );
    }
}

/// A one-dimensional array literal (`{a,"b,c",NULL,"NULL"}`) into its
/// elements; quoted elements take backslash escapes, an unquoted `NULL` (any
/// case) is a NULL element. Nested arrays, dimension decorations
/// (`[1:2]={…}`) and malformed text give `None`.
fn parse_array_literal(s: &str) -> Option<Vec<Option<String>>> {
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Some(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let element = if chars.next_if_eq(&'"').is_some() {
            let mut e = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => e.push(chars.next()?),
                    c => e.push(c),
                }
            }
            Some(e)
        } else {
            let mut e = String::new();
            while let Some(c) = chars.next_if(|&c| c != ',') {
                if matches!(c, '{' | '}' | '"' | '\\') {
                    return None;
                }
                e.push(c);
            }
            let e = e.trim().to_string();
            if e.is_empty() {
                return None;
            }
            (!e.eq_ignore_ascii_case("null")).then_some(e)
        };
        out.push(element);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => return Some(out),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod array_literal_tests {
    use super::parse_array_literal;

    #[test]
    fn array_literals_split_into_elements() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(parse_array_literal("{}"), Some(vec![]));
        assert_eq!(parse_array_literal("{a,b}"), Some(vec![s("a"), s("b")]));
        assert_eq!(
            parse_array_literal(r#"{"Deleted Scenes", "a\"b" ,NULL,"NULL"}"#),
            Some(vec![s("Deleted Scenes"), s("a\"b"), None, s("NULL")])
        );
        assert_eq!(parse_array_literal("{{1,2},{3,4}}"), None);
        assert_eq!(parse_array_literal("[1:2]={1,2}"), None);
        assert_eq!(parse_array_literal("{a,,b}"), None);
        assert_eq!(parse_array_literal("{\"a}"), None);
    }
}
