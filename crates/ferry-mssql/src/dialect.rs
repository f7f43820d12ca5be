//! SQL Server's dialect: how ferry reads T-SQL catalog expressions into the
//! neutral tree and writes SQL Server DDL and pre-flight SQL.
//!
//! Catalog text comes from `sys.default_constraints`, `sys.check_constraints`,
//! `sys.computed_columns` and `sys.indexes.filter_definition` as the server
//! stores it: bracketed identifiers, `N'…'` literals, every operand wrapped
//! in parentheses (`((0))`, `([qty]>(0))`). [`normalize`] turns brackets into
//! double-quoted identifiers and drops the `N` prefix, and the shared lexer
//! does the rest.
//!
//! Functions whose meaning differs from the neutral one are not mapped, so
//! an expression using them becomes a warning naming the object: `LEN`
//! ignores trailing spaces, `DATALENGTH` counts UTF-16 bytes, `REPLACE`
//! follows the collation, `ROUND` needs a second argument, and `GREATEST`
//! and `LEAST` exist only from SQL Server 2022. SQL Server's `CONCAT`
//! skips NULLs, as PostgreSQL's does.

use ferry_core::dialect::{
    AutoIncrement, AutoIncrementSql, CommentSql, Dialect, Folding, IndexMethod, IndexSql, KeyLimit,
    KeyWidth, NameScope, OnUpdateNow, ValueCheck, ValueLimits,
};
use ferry_core::expr::{self, Callee, DefaultExpr, DefaultRules, Expr, Func, LexRules};
use ferry_core::expr::{Node, Op, Vocabulary};
use ferry_core::Engine;

use crate::{quote_ident, quote_literal};

/// SQL Server refuses identifiers longer than this many characters.
const IDENTIFIER_CHARS: usize = 128;

/// The largest index key SQL Server allows (a clustered index, and so the
/// primary key ferry creates clustered), in bytes.
pub const KEY_BYTES: u32 = 900;

/// What a SQL Server target holds.
pub const VALUE_LIMITS: ValueLimits = ValueLimits {
    float_specials: false,
    float_nan: false,
    negative_zero: false,
    infinite_dates: false,
    any_year: false,
    zero_dates: false,
    nul_in_text: true,
    folding_collations: true,
    // Geometries land as EWKB bytes in varbinary(max), which holds any.
    any_geometry: true,
};

/// SQL Server's [`Dialect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MssqlDialect;

/// Catalog text in a form the shared lexer reads: `[a]]b]` → `"a]b"`,
/// `N'x'` → `'x'`; string literals are copied as they are.
pub fn normalize(src: &str) -> Result<String, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => {
                out.push('\'');
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            out.push_str("''");
                            i += 2;
                        }
                        Some('\'') => {
                            out.push('\'');
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            out.push(ch);
                            i += 1;
                        }
                    }
                }
            }
            'N' | 'n'
                if chars.get(i + 1) == Some(&'\'')
                    && !out
                        .chars()
                        .last()
                        .is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '"') =>
            {
                i += 1;
            }
            '[' => {
                out.push('"');
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated identifier".into()),
                        Some(']') if chars.get(i + 1) == Some(&']') => {
                            out.push(']');
                            i += 2;
                        }
                        Some(']') => {
                            i += 1;
                            break;
                        }
                        Some('"') => {
                            out.push_str("\"\"");
                            i += 1;
                        }
                        Some(&ch) => {
                            out.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push('"');
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Removes parentheses that wrap the whole of `s`.
fn strip_parens(mut s: &str) -> &str {
    loop {
        let t = s.trim();
        if t.starts_with('(') && t.ends_with(')') && balanced(&t[1..t.len() - 1]) {
            s = &t[1..t.len() - 1];
        } else {
            return t;
        }
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && !quoted
}

/// The type's first word, lower case, without its arguments or collation.
fn base_of(target_type: &str) -> String {
    target_type
        .trim()
        .split(['(', ' '])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// `nvarchar(40)` → Some(40); `(max)` → None.
fn length_of(target_type: &str) -> Option<u32> {
    let t = target_type.to_ascii_lowercase();
    let open = t.find('(')?;
    t[open + 1..].split([')', ',']).next()?.trim().parse().ok()
}

/// Bytes a SQL Server column of `target_type` takes in an index key.
pub fn key_width(target_type: &str) -> KeyWidth {
    let base = base_of(target_type);
    let len = length_of(target_type);
    let is_max = target_type.to_ascii_lowercase().contains("(max)");
    KeyWidth::Bytes(match base.as_str() {
        "tinyint" | "bit" => 1,
        "smallint" => 2,
        "int" | "real" | "smalldatetime" | "date" => 4,
        "bigint" | "float" | "money" | "datetime" => 8,
        "smallmoney" => 4,
        "time" => 5,
        "datetime2" => 8,
        "datetimeoffset" => 10,
        "uniqueidentifier" => 16,
        "decimal" | "numeric" => 17,
        "nchar" | "nvarchar" if is_max => return KeyWidth::NeedsPrefix,
        "char" | "varchar" | "binary" | "varbinary" if is_max => return KeyWidth::NeedsPrefix,
        "nchar" | "nvarchar" => len.unwrap_or(1).saturating_mul(2),
        "char" | "varchar" | "binary" | "varbinary" => len.unwrap_or(1),
        "text" | "ntext" | "image" => return KeyWidth::NeedsPrefix,
        "xml" | "geography" | "geometry" | "sql_variant" | "hierarchyid" => {
            return KeyWidth::NotIndexable
        }
        _ => 8,
    })
}

impl Dialect for MssqlDialect {
    fn engine(&self) -> Engine {
        Engine::Mssql
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
        // Identifiers follow the database's collation, case-insensitive by default.
        true
    }

    fn default_schema(&self) -> Option<&'static str> {
        Some(crate::DEFAULT_SCHEMA)
    }

    fn index_name_scope(&self) -> NameScope {
        NameScope::Table
    }

    fn constraint_name_scope(&self) -> NameScope {
        // Constraints are schema-scoped objects, sharing the tables' namespace.
        NameScope::Schema
    }

    fn parse_expr(&self, src: &str, columns: &[String]) -> Result<Expr, String> {
        let text = normalize(src)?;
        let toks = expr::lex(&text, LexRules::default())?;
        let function = |name: &str, empty: bool| -> Result<Callee, String> {
            Ok(match name {
                "getdate" | "sysdatetime" | "current_timestamp" if empty => {
                    Callee::Value(Node::Now)
                }
                "concat" => Callee::Func(Func::Concat),
                // Different meanings (see the module docs).
                "len" | "datalength" | "replace" | "round" | "greatest" | "least" | "mod" => {
                    return Err(format!("function {name}() (its meaning differs elsewhere)"))
                }
                f => Callee::Func(Func::common(f).ok_or_else(|| format!("function {f}()"))?),
            })
        };
        let operator = |op: &str| -> Result<Vec<Node>, String> {
            Ok(vec![Node::Op(
                Op::standard(op).ok_or_else(|| format!("operator {op}"))?,
            )])
        };
        let mut e = expr::build(
            &toks,
            &Vocabulary {
                columns,
                columns_ignore_case: true,
                function: &function,
                operator: &operator,
            },
        )?;
        // The catalog brackets names as the user typed them; they match
        // columns without regard to case (the default collation's rule).
        resolve_columns(&mut e.0, columns)?;
        Ok(e)
    }

    fn parse_default(&self, src: &str) -> DefaultExpr {
        let body = strip_parens(src);
        let lower = body.to_ascii_lowercase().replace(' ', "");
        match lower.as_str() {
            "getdate()" | "sysdatetime()" | "current_timestamp" => return DefaultExpr::Now,
            "newid()" | "newsequentialid()" => return DefaultExpr::Uuid,
            "cast(getdate()asdate)"
            | "convert(date,getdate())"
            | "cast(sysdatetime()asdate)"
            | "convert(date,sysdatetime())" => return DefaultExpr::Today,
            "cast(getdate()astime)"
            | "convert(time,getdate())"
            | "cast(sysdatetime()astime)"
            | "convert(time,sysdatetime())" => return DefaultExpr::CurrentTime,
            _ => {}
        }
        match normalize(body) {
            Ok(n) => match expr::classify_default(&n, DefaultRules::default()) {
                // `((0))` and `(N'x')`: parentheses inside the literal's group.
                DefaultExpr::Other(_) => DefaultExpr::Other(src.trim().to_string()),
                d => d,
            },
            Err(_) => DefaultExpr::Other(src.trim().to_string()),
        }
    }

    /// T-SQL has neither `TRUE`/`FALSE` nor `CURRENT_DATE`: booleans
    /// render as 1/0 and today as `CAST(CURRENT_TIMESTAMP AS date)`.
    fn render_expr(&self, e: &Expr) -> String {
        const TODAY: &str = "\u{1}ferry today\u{1}";
        fn tsql(nodes: &[Node]) -> Vec<Node> {
            nodes
                .iter()
                .map(|n| match n {
                    Node::Literal(expr::Literal::Bool(b)) => {
                        Node::Literal(expr::Literal::Num(if *b { "1" } else { "0" }.into()))
                    }
                    Node::Today => Node::Column(TODAY.into()),
                    Node::Call(f, args) => Node::Call(*f, tsql(args)),
                    Node::Group(inner) => Node::Group(tsql(inner)),
                    other => other.clone(),
                })
                .collect()
        }
        let e = Expr(tsql(&e.0));
        let spelling = Spelling;
        expr::render(&e, &spelling).replace(&quote_ident(TODAY), "CAST(CURRENT_TIMESTAMP AS date)")
    }

    fn function_name(&self, f: Func) -> &'static str {
        match f {
            Func::CharLength | Func::CharacterLength => "len",
            Func::Ceil => "ceiling",
            f => f.name(),
        }
    }

    fn has_function(&self, f: Func) -> bool {
        !matches!(
            f,
            // LEN ignores trailing spaces; DATALENGTH counts UTF-16 bytes.
            Func::CharLength
                | Func::CharacterLength
                | Func::OctetLength
                | Func::ConcatNullIfAnyNull
                | Func::Greatest
                | Func::Least
                | Func::Mod
                | Func::Round
                | Func::Replace
                | Func::Now
                | Func::CurrentTimestamp
        )
    }

    fn render_own_default(
        &self,
        src: &str,
        parsed: &DefaultExpr,
    ) -> Result<Option<String>, String> {
        Ok(match parsed {
            DefaultExpr::Null => None,
            _ => Some(src.trim().to_string()),
        })
    }

    fn bool_literal(&self, b: bool) -> String {
        if b { "1" } else { "0" }.into()
    }

    fn current_timestamp_default(&self, target_type: &str) -> String {
        match base_of(target_type).as_str() {
            "datetime" | "smalldatetime" => "getdate()".into(),
            "datetimeoffset" => "sysdatetimeoffset()".into(),
            _ => "sysdatetime()".into(),
        }
    }

    fn current_date_default(&self) -> String {
        "CAST(sysdatetime() AS date)".into()
    }

    fn uuid_default(&self) -> String {
        "newid()".into()
    }

    fn current_time_default(&self, _target_type: &str) -> String {
        "CAST(sysdatetime() AS time)".into()
    }

    fn bit_default(&self, bits: &str, target_type: &str) -> String {
        if base_of(target_type) == "bit" {
            bits.to_string()
        } else {
            self.quote_literal(bits)
        }
    }

    fn json_array_default(&self, json: &str) -> Option<String> {
        Some(self.quote_literal(json))
    }

    fn timestamptz_default(&self, utc: &str) -> Option<String> {
        Some(self.quote_literal(&format!("{utc} +00:00")))
    }

    fn virtual_generated(&self) -> Result<(), &'static str> {
        Ok(())
    }

    fn generated_column_sql(
        &self,
        name_sql: &str,
        _target_type: &str,
        expr: &str,
        stored: bool,
        not_null: bool,
    ) -> String {
        // A computed column takes its type from the expression; only a
        // PERSISTED one may be NOT NULL.
        let persisted = if stored { " PERSISTED" } else { "" };
        let null = if stored && not_null { " NOT NULL" } else { "" };
        format!("{name_sql} AS ({expr}){persisted}{null}")
    }

    fn on_update_now(&self, _target_type: &str) -> OnUpdateNow {
        // T-SQL has no ON UPDATE clause, and a trigger needs the table's key
        // to find the rows it touched: the translator warns instead.
        OnUpdateNow::Unsupported
    }

    fn auto_increment(&self, col: &AutoIncrement<'_>) -> Option<AutoIncrementSql> {
        if !matches!(
            base_of(col.target_type).as_str(),
            "tinyint" | "smallint" | "int" | "bigint" | "decimal" | "numeric"
        ) {
            return None;
        }
        let c = quote_ident(col.column);
        let t = col.table_sql;
        let next = col.next_value.unwrap_or(1);
        // After the copy: the counter hands out max(key) + 1, or the
        // source's own next value when that is higher. DBCC CHECKIDENT's
        // RESEED sets the *current* value on a table that has had rows
        // (next = value + 1) and the *next* one on a table that never had
        // any.
        let reseed = format!(
            "DECLARE @ferry_next bigint = {next}; \
             DECLARE @ferry_max bigint = (SELECT MAX({c}) FROM {t}); \
             IF @ferry_max IS NOT NULL AND @ferry_max >= @ferry_next SET @ferry_next = @ferry_max + 1; \
             IF @ferry_max IS NULL DBCC CHECKIDENT ({}, RESEED, @ferry_next) WITH NO_INFOMSGS \
             ELSE BEGIN SET @ferry_next = @ferry_next - 1; \
             DBCC CHECKIDENT ({}, RESEED, @ferry_next) WITH NO_INFOMSGS; END",
            quote_literal(t),
            quote_literal(t)
        );
        Some(AutoIncrementSql {
            suffix: " IDENTITY(1,1)".into(),
            sequences: vec![reseed],
            inline_key: None,
        })
    }

    fn column_comment(&self, table_sql: &str, column: &str, comment: &str) -> CommentSql {
        let (schema, table) = split_table_sql(table_sql);
        CommentSql::Statement(format!(
            "EXEC sys.sp_addextendedproperty @name = N'MS_Description', @value = {}, \
             @level0type = N'SCHEMA', @level0name = {}, @level1type = N'TABLE', \
             @level1name = {}, @level2type = N'COLUMN', @level2name = {}",
            quote_literal(comment),
            quote_literal(&schema),
            quote_literal(&table),
            quote_literal(column)
        ))
    }

    fn table_comment(&self, table_sql: &str, comment: &str) -> CommentSql {
        let (schema, table) = split_table_sql(table_sql);
        CommentSql::Statement(format!(
            "EXEC sys.sp_addextendedproperty @name = N'MS_Description', @value = {}, \
             @level0type = N'SCHEMA', @level0name = {}, @level1type = N'TABLE', \
             @level1name = {}",
            quote_literal(comment),
            quote_literal(&schema),
            quote_literal(&table)
        ))
    }

    fn key_limit(&self) -> Option<KeyLimit> {
        Some(KeyLimit {
            bytes: KEY_BYTES,
            owner: "SQL Server",
        })
    }

    fn key_width(&self, target_type: &str) -> KeyWidth {
        key_width(target_type)
    }

    fn key_counts_bytes(&self, target_type: &str) -> bool {
        matches!(
            base_of(target_type).as_str(),
            "binary" | "varbinary" | "image"
        )
    }

    fn key_prefixable(&self, target_type: &str) -> bool {
        matches!(
            base_of(target_type).as_str(),
            "char" | "varchar" | "nchar" | "nvarchar" | "binary" | "varbinary"
        )
    }

    fn narrowed_string_type(&self, binary: bool, len: u32) -> String {
        if binary {
            format!("varbinary({len})")
        } else {
            format!("nvarchar({len}) COLLATE {}", crate::sink::BINARY_COLLATION)
        }
    }

    fn prefix_indexes(&self) -> bool {
        false
    }

    fn prefix_part(&self, column_sql: &str, n: u32) -> String {
        format!("left({column_sql}, {n})")
    }

    fn expression_indexes(&self) -> Result<(), &'static str> {
        Err("SQL Server indexes only columns (index a computed column instead)")
    }

    fn index_method(&self, method: &str, native: bool) -> Option<IndexMethod> {
        match method {
            "btree" | "" | "hash" => Some(IndexMethod::Default),
            m if native && m.contains("columnstore") => None,
            _ => None,
        }
    }

    fn create_index(&self, ix: &IndexSql<'_>) -> String {
        let n = quote_ident(ix.name);
        let t = ix.table_sql;
        let cols = ix.parts.join(", ");
        if ix.unique && ix.plain && ix.predicate.is_none() && ix.constraint {
            return format!("ALTER TABLE {t} ADD CONSTRAINT {n} UNIQUE ({cols})");
        }
        let u = if ix.unique { "UNIQUE " } else { "" };
        let predicate = ix
            .predicate
            .map(|p| format!(" WHERE {p}"))
            .unwrap_or_default();
        format!("CREATE {u}INDEX {n} ON {t} ({cols}){predicate}")
    }

    fn foreign_key_action(&self, action: &str) -> Result<(), &'static str> {
        if action == "RESTRICT" {
            return Err(
                "which T-SQL does not spell (its NO ACTION checks at once, as RESTRICT \
                        does: declare the source's key NO ACTION to carry it)",
            );
        }
        Ok(())
    }

    fn count_where(&self, cond: &str) -> String {
        format!("CAST(COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS bigint)")
    }

    fn select_first(&self, columns: &str, rest: &str) -> String {
        format!("SELECT TOP (1) {columns} {rest}")
    }

    /// T-SQL has no LIMIT: the copy's pre-flight sample is a `TOP (n)`.
    fn sample_from_sql(&self, plan: &ferry_core::TablePlan, rows: u64) -> String {
        let filter = plan
            .row_filter
            .as_ref()
            .map(|f| format!(" WHERE ({f})"))
            .unwrap_or_default();
        format!(
            "(SELECT TOP ({rows}) * FROM {}{filter}) AS ferry_sample",
            self.source_from_sql(plan)
        )
    }

    fn value_check(&self, check: ValueCheck<'_>, c: &str) -> Option<String> {
        Some(match check {
            ValueCheck::NulInText => format!("CHARINDEX(NCHAR(0) COLLATE Latin1_General_BIN2, {c}) > 0"),
            ValueCheck::NotZeroOrOne => format!("{c} NOT IN (0, 1)"),
            ValueCheck::LongerThan(n) => format!("LEN({c} + N'x') - 1 > {n}"),
            ValueCheck::FourByteUtf8 => format!(
                "PATINDEX(N'%[' + NCHAR(55296) + N'-' + NCHAR(56319) + N']%' COLLATE Latin1_General_BIN2, {c}) > 0"
            ),
            ValueCheck::FinerThanMicros => format!("DATEPART(nanosecond, {c}) % 1000 <> 0"),
            ValueCheck::NonUtcOffset => format!("DATEPART(tzoffset, {c}) <> 0"),
            // SQL Server holds no NaN, infinities, zero dates or arrays, and
            // its decimals (38 digits) and dates (years 1–9999) fit the hub.
            ValueCheck::FloatSpecial
            | ValueCheck::FloatNaN
            | ValueCheck::NegativeZero
            | ValueCheck::DecimalTooWide { .. }
            | ValueCheck::InfiniteDate
            | ValueCheck::OutsideYears(_)
            | ValueCheck::ArrayShape
            | ValueCheck::ZeroDate
            | ValueCheck::EnumErrorValue
            | ValueCheck::BeyondFlatGeometry(_) => return None,
            // tiberius decodes char/varchar from the column collation's code
            // page without replacement: a byte sequence the code page does
            // not map fails the read instead of arriving as '?' or U+FFFD.
            // No check in the pre-flight counts them yet.
            ValueCheck::Unmappable(_) => return None,
        })
    }

    /// An approximation from the fold flags, as on PostgreSQL: the target's
    /// collation may be another engine's name. Every SQL Server comparison
    /// ignores trailing spaces, so PAD SPACE folding comes for free.
    fn collation_fold(&self, c: &str, _collation: &str, folding: Folding) -> String {
        let flavour = match (folding.case, folding.accents) {
            (true, true) => "CI_AI",
            (true, false) => "CI_AS",
            (false, true) => "CS_AI",
            (false, false) => return format!("{c} COLLATE Latin1_General_100_BIN2"),
        };
        format!("{c} COLLATE Latin1_General_100_{flavour}")
    }
}

/// T-SQL spelling for the expression renderer.
struct Spelling;

impl expr::Spelling for Spelling {
    fn ident(&self, name: &str) -> String {
        quote_ident(name)
    }
    fn literal(&self, s: &str) -> String {
        quote_literal(s)
    }
    fn function(&self, f: Func) -> &'static str {
        MssqlDialect.function_name(f)
    }
}

/// Gives every column node the column's own spelling; a name that is no
/// column of the table is refused.
fn resolve_columns(nodes: &mut [Node], columns: &[String]) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Column(c) => {
                let real = columns
                    .iter()
                    .find(|k| *k == c)
                    .or_else(|| columns.iter().find(|k| k.eq_ignore_ascii_case(c)))
                    .ok_or_else(|| format!("unknown name {c}"))?;
                *c = real.clone();
            }
            Node::Call(_, args) | Node::Group(args) => resolve_columns(args, columns)?,
            _ => {}
        }
    }
    Ok(())
}

/// `[schema].[table]` → (schema, table), unquoted.
fn split_table_sql(table_sql: &str) -> (String, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut inside = false;
    let mut chars = table_sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' if !inside => inside = true,
            ']' if inside && chars.peek() == Some(&']') => {
                chars.next();
                cur.push(']');
            }
            ']' if inside => inside = false,
            '.' if !inside => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    match parts.len() {
        1 => (crate::DEFAULT_SCHEMA.to_string(), parts.remove(0)),
        _ => {
            let t = parts.pop().unwrap_or_default();
            (parts.pop().unwrap_or_default(), t)
        }
    }
}

#[cfg(test)]
mod tests;
