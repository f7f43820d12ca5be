//! Key columns, range predicates and range planning for SQLite.
//!
//! Binary order, as every engine reads it (see `ferry_core::range`):
//! integers by value; text by its UTF-8 bytes, which is SQLite's `BINARY`
//! collation, so a text key compares as `"k" COLLATE BINARY` whatever the
//! column declares (a `NOCASE` key would otherwise fold case); BLOBs and
//! UUIDs (held as lower-case text) bytewise. Composite keys compare as row
//! values. SQLite orders values of different storage classes too (NULL <
//! numbers < TEXT < BLOB), so ranges partition a table whatever a key
//! column holds: every row lands in exactly one range.
//!
//! An `INTEGER PRIMARY KEY` is the rowid, so its ranges are seeks in the
//! table's own b-tree. Boundaries come from a Bernoulli sample of the key
//! (about 64 keys per range, one scan), sorted in binary order and cut into
//! equal shares. A table without a primary key is read as one stream.

use std::fmt::Write as _;

use ferry_core::adapter::{filter_condition, where_clause, KeyExpr, KeySplit};
use ferry_core::range::{
    boundaries_from_sample, KeyBound, KeyRange, KeyValue, RangeOptions, RangePlan, SplitMethod,
};
use ferry_core::{LogicalType, Result, TablePlan};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::error::ctx;
use crate::quote_ident;

/// How one key column compares and is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteKeyKind {
    Int,
    /// Text, compared `COLLATE BINARY`.
    Text,
    Bytes,
    /// A UUID held as lower-case text, compared `COLLATE BINARY`.
    Uuid,
}

/// One key column: its quoted name and kind.
#[derive(Debug, Clone)]
pub struct SqliteKeyColumn {
    pub ident: String,
    pub kind: SqliteKeyKind,
}

impl KeyExpr for SqliteKeyColumn {
    fn expr(&self) -> String {
        match self.kind {
            SqliteKeyKind::Text | SqliteKeyKind::Uuid => format!("{} COLLATE BINARY", self.ident),
            _ => self.ident.clone(),
        }
    }
}

/// The key columns of `plan`; `Err(reason)` when a key column has a type
/// ferry does not split on, `Ok(empty)` when there is no key.
pub fn key_columns(plan: &TablePlan) -> std::result::Result<Vec<SqliteKeyColumn>, String> {
    use LogicalType as L;
    plan.primary_key
        .iter()
        .map(|&i| {
            let col = &plan.columns[i];
            let kind = match &col.logical {
                L::Int8 | L::Int16 | L::Int32 | L::Int64 | L::UInt8 | L::UInt16 | L::UInt32 => {
                    SqliteKeyKind::Int
                }
                L::Char { .. } | L::Varchar { .. } | L::Text { .. } => SqliteKeyKind::Text,
                L::Binary { .. } | L::VarBinary { .. } => SqliteKeyKind::Bytes,
                L::Uuid => SqliteKeyKind::Uuid,
                _ => {
                    return Err(format!(
                        "key column {} has type {}, which ferry does not split on",
                        col.name, col.source_type
                    ))
                }
            };
            Ok(SqliteKeyColumn {
                ident: quote_ident(&col.name),
                kind,
            })
        })
        .collect()
}

/// [`key_columns`] as the engine asks it.
pub fn key_split(plan: &TablePlan) -> KeySplit {
    match key_columns(plan) {
        Ok(keys) if keys.is_empty() => KeySplit::NoKey,
        Ok(_) => KeySplit::Key(
            plan.primary_key
                .iter()
                .map(|&i| plan.columns[i].name.clone())
                .collect(),
        ),
        Err(reason) => KeySplit::Unsplittable(reason),
    }
}

fn push_literal(sql: &mut String, v: &KeyValue) {
    match v {
        KeyValue::Int(i) => {
            let _ = write!(sql, "{i}");
        }
        KeyValue::UInt(u) => {
            let _ = write!(sql, "{u}");
        }
        // Text as the blob of its UTF-8 bytes, cast back: no quoting rule
        // can be gotten wrong, and NULs survive.
        KeyValue::Text(s) => {
            let _ = write!(
                sql,
                "CAST(x'{}' AS TEXT)",
                ferry_core::hex::hex(s.as_bytes())
            );
        }
        KeyValue::Bytes(b) => {
            let _ = write!(sql, "x'{}'", ferry_core::hex::hex(b));
        }
        KeyValue::Uuid(u) => {
            let _ = write!(sql, "'{}'", KeyValue::uuid_text(u));
        }
    }
}

fn push_bound(sql: &mut String, keys: &[SqliteKeyColumn], bound: &KeyBound, op: &str) {
    let exprs: Vec<String> = keys.iter().map(KeyExpr::expr).collect();
    let many = keys.len() > 1;
    if many {
        let _ = write!(sql, "({}) {op} (", exprs.join(", "));
    } else {
        let _ = write!(sql, "{} {op} ", exprs.join(""));
    }
    for (i, v) in bound.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        push_literal(sql, v);
    }
    if many {
        sql.push(')');
    }
}

/// The conditions selecting `range` (empty: every row).
pub fn range_conditions(keys: &[SqliteKeyColumn], range: &KeyRange) -> Vec<String> {
    ferry_core::adapter::key_conditions(range, |bound, op| {
        let mut p = String::new();
        push_bound(&mut p, keys, bound, op);
        p
    })
}

/// The `WHERE` clause (with a leading space, or empty) selecting `range`.
pub fn range_predicate(keys: &[SqliteKeyColumn], range: &KeyRange) -> String {
    where_clause(&range_conditions(keys, range))
}

/// The key of a sampled row, or `None` when a value's storage class does
/// not match its key kind (such a row still lands in one range).
fn parse_key(keys: &[SqliteKeyColumn], row: &rusqlite::Row<'_>) -> Option<KeyBound> {
    let mut out = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let v = row.get_ref(i).ok()?;
        out.push(match (k.kind, v) {
            (SqliteKeyKind::Int, ValueRef::Integer(n)) => KeyValue::Int(n),
            (SqliteKeyKind::Text, ValueRef::Text(t)) => {
                KeyValue::Text(String::from_utf8(t.to_vec()).ok()?)
            }
            (SqliteKeyKind::Bytes, ValueRef::Blob(b)) => KeyValue::Bytes(b.to_vec()),
            (SqliteKeyKind::Uuid, ValueRef::Text(t)) => {
                let s = std::str::from_utf8(t).ok()?;
                // Only the canonical lower-case form orders as its bytes.
                let u = KeyValue::parse_uuid(s)?;
                (KeyValue::uuid_text(&u) == s).then_some(KeyValue::Uuid(u))?
            }
            _ => return None,
        });
    }
    Some(out)
}

/// Plans the ranges of `plan.source` (see the module docs).
pub fn plan_ranges(
    conn: &Connection,
    plan: &TablePlan,
    options: &RangeOptions,
) -> Result<RangePlan> {
    let table = quote_ident(&plan.source.name);
    let what = format!("planning ranges of table {}", plan.source);
    let keys = match key_columns(plan) {
        Ok(k) if k.is_empty() => {
            return Ok(RangePlan::whole(
                plan.source.clone(),
                SplitMethod::SingleStream,
                Some("no primary key: SQLite reads the table as one stream".into()),
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
    let filter: Vec<String> = filter_condition(plan).into_iter().collect();
    let rows: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM {table}{}", where_clause(&filter)),
            [],
            |r| r.get(0),
        )
        .map_err(ctx(what.clone()))?;
    let rows = u64::try_from(rows).unwrap_or(0);
    let n = options.ranges_for(rows);
    if n < 2 {
        let mut out = RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None);
        out.estimated_rows = Some(rows);
        return Ok(out);
    }
    let wanted = u64::try_from(n).unwrap_or(1) * 64;
    let per_million = (wanted.saturating_mul(1_000_000) / rows.max(1)).clamp(1, 1_000_000);
    let names: Vec<&str> = keys.iter().map(|k| k.ident.as_str()).collect();
    let mut conditions = vec![format!("abs(random() % 1000000) < {per_million}")];
    conditions.extend(filter);
    let sql = format!(
        "SELECT {} FROM {table}{}{}",
        names.join(", "),
        where_clause(&conditions),
        ferry_core::adapter::order_by(&keys)
    );
    let mut stmt = conn.prepare(&sql).map_err(ctx(what.clone()))?;
    let mut sampled = stmt.query([]).map_err(ctx(what.clone()))?;
    let mut sample = Vec::new();
    while let Some(row) = sampled.next().map_err(ctx(what.clone()))? {
        if let Some(k) = parse_key(&keys, row) {
            sample.push(k);
        }
    }
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
    fn predicates_compare_text_as_bytes_and_keep_any_byte_out_of_the_sql() {
        let keys = vec![
            SqliteKeyColumn {
                ident: quote_ident("t"),
                kind: SqliteKeyKind::Text,
            },
            SqliteKeyColumn {
                ident: quote_ident("n"),
                kind: SqliteKeyKind::Int,
            },
        ];
        let r = KeyRange::Key {
            lower: Some(vec![KeyValue::Text("a'\0".into()), KeyValue::Int(-7)]),
            upper: None,
        };
        assert_eq!(
            range_predicate(&keys, &r),
            " WHERE (\"t\" COLLATE BINARY, \"n\") >= (CAST(x'612700' AS TEXT), -7)"
        );
        let one = &keys[1..];
        let r = KeyRange::Key {
            lower: Some(vec![KeyValue::Int(1)]),
            upper: Some(vec![KeyValue::Int(9)]),
        };
        assert_eq!(range_predicate(one, &r), " WHERE \"n\" >= 1 AND \"n\" < 9");
        assert_eq!(range_predicate(one, &KeyRange::Whole), "");
    }
}
