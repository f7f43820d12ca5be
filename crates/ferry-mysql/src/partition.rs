//! Range planning and range predicates for MySQL/MariaDB.
//!
//! Boundaries come from a Bernoulli sample of the key (`WHERE RAND() < p`,
//! about 64 keys per range, one scan), sorted in binary order and cut into
//! equal shares, so ranges hold about equal row counts however sparse or
//! skewed the key. The row count comes from `information_schema.TABLES`
//! and, when that says "small" (it lags after bulk loads), from `COUNT(*)`.
//!
//! Binary order: integer keys compare numerically; text key columns whose
//! collation is byte order (`binary`, `*_nopad_bin`, `utf8mb4_0900_bin`)
//! compare as they are, so the index serves the predicate; any other text
//! key (including PAD SPACE `*_bin`, where `'a\t' < 'a'`) compares through
//! `CAST(… AS BINARY)`. Tables without a usable key are one stream: MySQL
//! has no physical row address to split on.

use std::fmt::Write as _;

use ferry_core::adapter::{filter_condition, where_clause, KeyExpr, KeySplit};
use ferry_core::range::{
    boundaries_from_sample, KeyBound, KeyRange, KeyValue, RangeOptions, RangePlan, SplitMethod,
};
use ferry_core::{Result, TablePlan};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::ctx;
use crate::{quote_ident, quote_literal, MySqlAdapter};

/// How one key column is sampled, compared and rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MySqlKeyKind {
    Int,
    UInt,
    /// Text whose collation is byte order: compared as it is.
    Text,
    /// Text under another collation: compared as `CAST(… AS BINARY)`.
    TextCast,
    /// Text in a legacy character set (see [`crate::charset`]): compared as
    /// its UTF-8 bytes, `CAST(CONVERT(… USING utf8mb4) AS BINARY)`, so that
    /// ranges and verify's order agree with a UTF-8 copy on any engine (gbk
    /// byte order is not code point order). No index serves this order; a
    /// key value without a Unicode mapping sorts as the server's `?`, and
    /// its row is refused by the reader anyway.
    TextConverted,
    Bytes,
}

/// One key column: its quoted name and kind.
#[derive(Debug, Clone)]
pub struct MySqlKeyColumn {
    pub ident: String,
    pub kind: MySqlKeyKind,
}

impl ferry_core::adapter::KeyExpr for MySqlKeyColumn {
    fn expr(&self) -> String {
        match self.kind {
            MySqlKeyKind::TextCast => format!("CAST({} AS BINARY)", self.ident),
            MySqlKeyKind::TextConverted => converted_key(&self.ident),
            _ => self.ident.clone(),
        }
    }
}

/// A key column in a legacy character set as its UTF-8 bytes (see
/// [`MySqlKeyKind::TextConverted`]).
pub(crate) fn converted_key(ident: &str) -> String {
    format!("CAST(CONVERT({ident} USING utf8mb4) AS BINARY)")
}

/// Whether a key column's text is in a legacy character set.
pub(crate) fn legacy_text(col: &ferry_core::ColumnPlan) -> bool {
    col.raw
        .charset
        .as_deref()
        .is_some_and(crate::charset::reads_raw)
}

/// Whether a collation orders text as its bytes (`binary`, the NO PAD
/// binary collations); PAD SPACE `*_bin` does not (`'a\t' < 'a'`).
pub(crate) fn byte_order(collation: &str) -> bool {
    collation == "binary" || collation.ends_with("_nopad_bin") || collation.ends_with("_0900_bin")
}

/// The collation of every column of `plan.source` by name, in ordinal
/// order (`None` for non-text columns): the one catalog lookup behind key
/// ordering, range predicates and verify's notes.
pub async fn column_collations(
    adapter: &MySqlAdapter,
    conn: &mut Conn,
    plan: &TablePlan,
) -> Result<Vec<(String, Option<String>)>> {
    conn.exec(
        "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (adapter.schema_of(&plan.source), plan.source.name.as_str()),
    )
    .await
    .map_err(ctx(format!("reading collations of table {}", plan.source)))
}

/// The collation of each key column of `plan` (`None` when it has none),
/// read only when some key column is text.
pub async fn key_collations(
    adapter: &MySqlAdapter,
    conn: &mut Conn,
    plan: &TablePlan,
) -> Result<Vec<Option<String>>> {
    let texty = plan
        .primary_key
        .iter()
        .any(|&i| matches!(plan.columns[i].raw.name.as_str(), "char" | "varchar"));
    if !texty {
        return Ok(vec![None; plan.primary_key.len()]);
    }
    let all = column_collations(adapter, conn, plan).await?;
    Ok(plan
        .primary_key
        .iter()
        .map(|&i| {
            all.iter()
                .find(|(n, _)| *n == plan.columns[i].name)
                .and_then(|(_, c)| c.clone())
        })
        .collect())
}

/// The key columns of `plan`; `Err(reason)` when a key column has a type
/// ferry does not split on, `Ok(empty)` when there is no key.
pub async fn key_columns(
    adapter: &MySqlAdapter,
    conn: &mut Conn,
    plan: &TablePlan,
) -> Result<std::result::Result<Vec<MySqlKeyColumn>, String>> {
    let mut out = Vec::new();
    let mut collations: Option<Vec<Option<String>>> = None;
    for (k, &i) in plan.primary_key.iter().enumerate() {
        let col = &plan.columns[i];
        let kind = match col.raw.name.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "bigint" if col.raw.unsigned => {
                MySqlKeyKind::UInt
            }
            "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => MySqlKeyKind::Int,
            "binary" | "varbinary" => MySqlKeyKind::Bytes,
            "char" | "varchar" if legacy_text(col) => MySqlKeyKind::TextConverted,
            "char" | "varchar" => {
                if collations.is_none() {
                    collations = Some(key_collations(adapter, conn, plan).await?);
                }
                let coll = collations.as_ref().and_then(|c| c[k].as_deref());
                match coll {
                    Some(c) if byte_order(c) => MySqlKeyKind::Text,
                    _ => MySqlKeyKind::TextCast,
                }
            }
            _ => {
                return Ok(Err(format!(
                    "key column {} has type {}, which ferry does not split on",
                    col.name, col.source_type
                )))
            }
        };
        out.push(MySqlKeyColumn {
            ident: quote_ident(&col.name),
            kind,
        });
    }
    Ok(Ok(out))
}

/// [`key_columns`] as the engine asks it ([`KeySplit`]).
pub async fn key_split(
    adapter: &MySqlAdapter,
    conn: &mut Conn,
    plan: &TablePlan,
) -> Result<KeySplit> {
    Ok(match key_columns(adapter, conn, plan).await? {
        Ok(keys) if keys.is_empty() => KeySplit::NoKey,
        Ok(_) => KeySplit::Key(
            plan.primary_key
                .iter()
                .map(|&i| plan.columns[i].name.clone())
                .collect(),
        ),
        Err(reason) => KeySplit::Unsplittable(reason),
    })
}

fn push_hex(sql: &mut String, bytes: &[u8]) {
    sql.push_str("X'");
    for b in bytes {
        let _ = write!(sql, "{b:02x}");
    }
    sql.push('\'');
}

fn push_literal(sql: &mut String, kind: MySqlKeyKind, v: &KeyValue) {
    match v {
        KeyValue::Int(i) => {
            let _ = write!(sql, "{i}");
        }
        KeyValue::UInt(u) => {
            let _ = write!(sql, "{u}");
        }
        // Hex keeps any byte out of the SQL text's escaping rules; the
        // introducer makes it utf8mb4 text, taking the column's collation.
        KeyValue::Text(s)
            if matches!(kind, MySqlKeyKind::TextCast | MySqlKeyKind::TextConverted) =>
        {
            push_hex(sql, s.as_bytes())
        }
        KeyValue::Text(s) => {
            sql.push_str("_utf8mb4 ");
            push_hex(sql, s.as_bytes());
        }
        KeyValue::Bytes(b) => push_hex(sql, b),
        KeyValue::Uuid(u) => sql.push_str(&quote_literal(&KeyValue::uuid_text(u))),
    }
}

fn push_bound(sql: &mut String, keys: &[MySqlKeyColumn], bound: &KeyBound, op: &str) {
    let many = keys.len() > 1;
    let exprs: Vec<String> = keys.iter().map(KeyExpr::expr).collect();
    if many {
        let _ = write!(sql, "({}) {op} (", exprs.join(", "));
    } else {
        let _ = write!(sql, "{} {op} ", exprs.join(""));
    }
    for (i, (k, v)) in keys.iter().zip(bound).enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        push_literal(sql, k.kind, v);
    }
    if many {
        sql.push(')');
    }
}

/// The conditions selecting `range`, to be ANDed (empty: every row).
/// `Blocks` ranges do not exist on MySQL and select everything.
pub fn range_conditions(keys: &[MySqlKeyColumn], range: &KeyRange) -> Vec<String> {
    let mut parts = Vec::new();
    let KeyRange::Key { lower, upper } = range else {
        return parts;
    };
    if let Some(l) = lower {
        let mut p = String::new();
        push_bound(&mut p, keys, l, ">=");
        parts.push(p);
    }
    if let Some(u) = upper {
        let mut p = String::new();
        push_bound(&mut p, keys, u, "<");
        parts.push(p);
    }
    parts
}

/// The `WHERE` clause (with a leading space, or empty) selecting `range`.
pub fn range_predicate(keys: &[MySqlKeyColumn], range: &KeyRange) -> String {
    where_clause(&range_conditions(keys, range))
}

/// The `WHERE` clause selecting the rows of `range` the plan's row filter keeps.
pub fn read_predicate(plan: &TablePlan, keys: &[MySqlKeyColumn], range: &KeyRange) -> String {
    ferry_core::adapter::read_predicate(plan, range_conditions(keys, range))
}

/// `ORDER BY` over the key in binary order (with a leading space), or empty.
pub fn order_by(keys: &[MySqlKeyColumn]) -> String {
    ferry_core::adapter::order_by(keys)
}

fn parse_key(keys: &[MySqlKeyColumn], row: mysql_async::Row) -> Option<KeyBound> {
    let values = row.unwrap();
    let mut out = Vec::with_capacity(keys.len());
    for (k, v) in keys.iter().zip(values) {
        let bytes = match v {
            mysql_async::Value::Bytes(b) => b,
            mysql_async::Value::Int(i) => i.to_string().into_bytes(),
            mysql_async::Value::UInt(u) => u.to_string().into_bytes(),
            _ => return None,
        };
        out.push(match k.kind {
            MySqlKeyKind::Int => KeyValue::Int(std::str::from_utf8(&bytes).ok()?.parse().ok()?),
            MySqlKeyKind::UInt => KeyValue::UInt(std::str::from_utf8(&bytes).ok()?.parse().ok()?),
            MySqlKeyKind::Text | MySqlKeyKind::TextCast | MySqlKeyKind::TextConverted => {
                KeyValue::Text(String::from_utf8(bytes).ok()?)
            }
            MySqlKeyKind::Bytes => KeyValue::Bytes(bytes),
        });
    }
    Some(out)
}

/// Plans the ranges of `plan.source` (see the module docs).
pub async fn plan_ranges(
    adapter: &MySqlAdapter,
    conn: &mut Conn,
    plan: &TablePlan,
    options: &RangeOptions,
) -> Result<RangePlan> {
    let table = adapter.qualified(&plan.source);
    let what = format!("planning ranges of table {}", plan.source);
    let keys = match key_columns(adapter, conn, plan).await? {
        Ok(k) if k.is_empty() => {
            return Ok(RangePlan::whole(
                plan.source.clone(),
                SplitMethod::SingleStream,
                Some("no primary key: MySQL reads the table as one stream".into()),
            ))
        }
        Ok(k) => k,
        Err(reason) => {
            return Ok(RangePlan::whole(
                plan.source.clone(),
                SplitMethod::Unsplit,
                Some(reason),
            ))
        }
    };
    let estimate: Option<Option<u64>> = conn
        .exec_first(
            "SELECT TABLE_ROWS FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (adapter.schema_of(&plan.source), plan.source.name.as_str()),
        )
        .await
        .map_err(ctx(what.clone()))?;
    let mut rows = estimate.flatten().unwrap_or(0);
    if rows < options.min_range_rows.saturating_mul(2) {
        // Statistics lag behind bulk loads; a small table is cheap to count.
        // Only the rows the copy reads count.
        let filter: Vec<String> = filter_condition(plan).into_iter().collect();
        let counted: Option<u64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM {table}{}",
                where_clause(&filter)
            ))
            .await
            .map_err(ctx(what.clone()))?;
        rows = counted.unwrap_or(0);
    }
    let n = options.ranges_for(rows);
    if n < 2 {
        let mut out = RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None);
        out.estimated_rows = Some(rows);
        return Ok(out);
    }
    // A Bernoulli sample of about 64 keys per range: one scan without the
    // sort or temporary table a window function needs (10× faster here).
    let wanted = u64::try_from(n).unwrap_or(1) * 64;
    let fraction = (wanted as f64 / rows.max(1) as f64).min(1.0);
    let names: Vec<&str> = keys.iter().map(|k| k.ident.as_str()).collect();
    // The sample comes from the rows the copy reads; the statistics'
    // estimate above counts every row, so a filtered table may get more
    // ranges than it needs, never fewer rows than it has.
    let mut conditions = vec![format!("RAND() < {fraction:.9}")];
    conditions.extend(filter_condition(plan));
    let sql = format!(
        "SELECT {} FROM {table}{}{}",
        names.join(", "),
        where_clause(&conditions),
        order_by(&keys),
    );
    let sample_rows: Vec<mysql_async::Row> = conn.query(sql).await.map_err(ctx(what))?;
    let sample: Vec<KeyBound> = sample_rows
        .into_iter()
        .filter_map(|r| parse_key(&keys, r))
        .collect();
    let boundaries = boundaries_from_sample(&sample, n);
    let mut out = if boundaries.is_empty() {
        RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None)
    } else {
        RangePlan::from_boundaries(plan.source.clone(), boundaries)
    };
    out.estimated_rows = Some(rows);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_use_hex_literals_and_binary_casts() {
        let keys = vec![
            MySqlKeyColumn {
                ident: quote_ident("a"),
                kind: MySqlKeyKind::TextCast,
            },
            MySqlKeyColumn {
                ident: quote_ident("b"),
                kind: MySqlKeyKind::UInt,
            },
        ];
        let r = KeyRange::Key {
            lower: Some(vec![KeyValue::Text("x'".into()), KeyValue::UInt(7)]),
            upper: None,
        };
        assert_eq!(
            range_predicate(&keys, &r),
            " WHERE (CAST(`a` AS BINARY), `b`) >= (X'7827', 7)"
        );
        let keys = vec![MySqlKeyColumn {
            ident: quote_ident("t"),
            kind: MySqlKeyKind::Text,
        }];
        let r = KeyRange::Key {
            lower: None,
            upper: Some(vec![KeyValue::Text("é".into())]),
        };
        assert_eq!(range_predicate(&keys, &r), " WHERE `t` < _utf8mb4 X'c3a9'");
        assert!(byte_order("utf8mb4_nopad_bin"));
        assert!(!byte_order("utf8mb4_bin"));
    }
}
