//! Range planning and range predicates for PostgreSQL.
//!
//! Boundaries come from a block sample of the key (`TABLESAMPLE SYSTEM`,
//! about 256 pages or 32 per range, `REPEATABLE` so a plan is stable), sorted
//! in binary order and cut into equal shares: ranges hold about equal row
//! counts however sparse or skewed the key is. The same sample estimates the
//! row count, so stale or missing statistics (a table never analysed) do not
//! matter. Tables without a usable key are split into `ctid` block ranges,
//! which PostgreSQL 14+ serves with a TID range scan.
//!
//! Text key columns compare under `COLLATE "C"` (byte order) unless their
//! collation already is `C`/`POSIX`; see [`ferry_core::range`] for why.

use std::fmt::Write as _;

use ferry_core::adapter::{filter_condition, where_clause, KeyExpr, KeySplit};
use ferry_core::range::{
    boundaries_from_sample, KeyBound, KeyRange, KeyValue, RangeOptions, RangePlan, SplitMethod,
};
use ferry_core::{Result, TablePlan};
use tokio_postgres::Client;

use crate::error::ctx;
use crate::{qualified, quote_ident, quote_literal};

/// How one key column is sampled, compared and rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgKeyKind {
    Int,
    /// Text under its own collation (already byte order).
    Text,
    /// Text compared under `COLLATE "C"`.
    TextC,
    Uuid,
    Bytea,
}

/// One key column: its quoted name and kind.
#[derive(Debug, Clone)]
pub struct PgKeyColumn {
    pub ident: String,
    pub kind: PgKeyKind,
}

impl ferry_core::adapter::KeyExpr for PgKeyColumn {
    /// The expression compared and ordered by.
    fn expr(&self) -> String {
        match self.kind {
            PgKeyKind::TextC => format!("{} COLLATE \"C\"", self.ident),
            _ => self.ident.clone(),
        }
    }
}

impl PgKeyColumn {
    /// The expression sampled, in a text form [`parse_key`] reads back.
    fn sample_expr(&self) -> String {
        match self.kind {
            PgKeyKind::Bytea => format!("encode({}, 'hex')", self.ident),
            _ => format!("{}::text", self.ident),
        }
    }
}

/// The kind of a key column from its catalog type name, or `None` when ferry
/// does not split on such keys (the table is then read whole).
fn key_kind(raw_name: &str) -> Option<PgKeyKind> {
    Some(match raw_name {
        "int2" | "int4" | "int8" => PgKeyKind::Int,
        "text" | "varchar" | "bpchar" | "name" => PgKeyKind::TextC,
        "uuid" => PgKeyKind::Uuid,
        "bytea" => PgKeyKind::Bytea,
        _ => return None,
    })
}

/// The key columns of `plan`, with text columns whose collation is already
/// byte order left without `COLLATE "C"`. `Err(reason)` when the key has a
/// column type ferry does not split on; `Ok(empty)` when there is no key.
pub async fn key_columns(
    client: &Client,
    plan: &TablePlan,
) -> Result<std::result::Result<Vec<PgKeyColumn>, String>> {
    let mut kinds = Vec::with_capacity(plan.primary_key.len());
    for &i in &plan.primary_key {
        let col = &plan.columns[i];
        let Some(kind) = key_kind(&col.raw.name) else {
            return Ok(Err(format!(
                "key column {} has type {}, which ferry does not split on",
                col.name, col.source_type
            )));
        };
        kinds.push((col, kind));
    }
    let collations = if kinds.iter().any(|(_, k)| *k == PgKeyKind::TextC) {
        column_collations(client, plan).await?
    } else {
        Vec::new()
    };
    Ok(Ok(kinds
        .into_iter()
        .map(|(col, mut kind)| {
            let coll = collations
                .iter()
                .find(|(name, _)| *name == col.name)
                .and_then(|(_, c)| c.as_deref());
            if kind == PgKeyKind::TextC && matches!(coll, Some("C" | "POSIX")) {
                kind = PgKeyKind::Text;
            }
            PgKeyColumn {
                ident: quote_ident(&col.name),
                kind,
            }
        })
        .collect()))
}

/// [`key_columns`] as the engine asks it ([`KeySplit`]).
pub async fn key_split(client: &Client, plan: &TablePlan) -> Result<KeySplit> {
    Ok(match key_columns(client, plan).await? {
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

/// The effective collation of every column of `plan.source` (a column's
/// `default` resolved to the database's), `None` for columns without one.
pub async fn column_collations(
    client: &Client,
    plan: &TablePlan,
) -> Result<Vec<(String, Option<String>)>> {
    let rows = client
        .query(
            "SELECT a.attname::text, \
             CASE WHEN c.collname = 'default' THEN d.datcollate ELSE c.collname::text END \
             FROM pg_catalog.pg_attribute a \
             LEFT JOIN pg_catalog.pg_collation c ON c.oid = a.attcollation \
             JOIN pg_catalog.pg_database d ON d.datname = current_database() \
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&qualified(&plan.source)],
        )
        .await
        .map_err(ctx(format!(
            "reading the collations of table {}",
            plan.source
        )))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Renders a key value as a literal comparable with a column of `kind`.
fn push_literal(sql: &mut String, kind: PgKeyKind, v: &KeyValue) {
    match v {
        KeyValue::Int(i) => {
            let _ = write!(sql, "{i}");
        }
        KeyValue::UInt(u) => {
            let _ = write!(sql, "{u}");
        }
        KeyValue::Text(s) => sql.push_str(&quote_literal(s)),
        KeyValue::Uuid(u) => {
            let _ = write!(sql, "'{}'::uuid", KeyValue::uuid_text(u));
        }
        KeyValue::Bytes(b) => {
            sql.push_str("'\\x");
            for x in b {
                let _ = write!(sql, "{x:02x}");
            }
            sql.push_str("'::bytea");
        }
    }
    // A text literal compared with a `COLLATE "C"` expression takes its collation.
    let _ = kind;
}

fn push_bound(sql: &mut String, keys: &[PgKeyColumn], bound: &KeyBound, op: &str) {
    let many = keys.len() > 1;
    if many {
        sql.push('(');
    }
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&k.expr());
    }
    if many {
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(op);
    sql.push(' ');
    if many {
        sql.push_str("ROW(");
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
pub fn range_conditions(keys: &[PgKeyColumn], range: &KeyRange) -> Vec<String> {
    match range {
        KeyRange::Blocks { start, end } => {
            let mut parts = vec![format!("ctid >= '({start},0)'::tid")];
            if let Some(e) = end {
                parts.push(format!("ctid < '({e},0)'::tid"));
            }
            parts
        }
        _ => ferry_core::adapter::key_conditions(range, |bound, op| {
            let mut p = String::new();
            push_bound(&mut p, keys, bound, op);
            p
        }),
    }
}

/// The `WHERE` clause (with a leading space, or empty) selecting `range`.
pub fn range_predicate(keys: &[PgKeyColumn], range: &KeyRange) -> String {
    where_clause(&range_conditions(keys, range))
}

/// The `WHERE` clause selecting the rows of `range` the plan's row filter keeps.
pub fn read_predicate(plan: &TablePlan, keys: &[PgKeyColumn], range: &KeyRange) -> String {
    ferry_core::adapter::read_predicate(plan, range_conditions(keys, range))
}

/// `ORDER BY` over the key in binary order (with a leading space), or empty.
pub fn order_by(keys: &[PgKeyColumn]) -> String {
    ferry_core::adapter::order_by(keys)
}

fn parse_key(keys: &[PgKeyColumn], row: &tokio_postgres::Row) -> Option<KeyBound> {
    let mut out = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let s: Option<&str> = row.get(i);
        let s = s?;
        out.push(match k.kind {
            PgKeyKind::Int => KeyValue::Int(s.parse().ok()?),
            PgKeyKind::Text | PgKeyKind::TextC => KeyValue::Text(s.to_string()),
            PgKeyKind::Uuid => KeyValue::Uuid(KeyValue::parse_uuid(s)?),
            PgKeyKind::Bytea => KeyValue::Bytes(
                (0..s.len() / 2)
                    .map(|j| u8::from_str_radix(s.get(2 * j..2 * j + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?,
            ),
        });
    }
    Some(out)
}

/// Pages sampled: enough for fine boundaries, few enough to be quick.
fn sample_pages(options: &RangeOptions) -> u64 {
    let per_range = u64::try_from(options.max_ranges).unwrap_or(64) * 32;
    per_range.max(256)
}

/// Plans the ranges of `plan.source` (see the module docs).
pub async fn plan_ranges(
    client: &Client,
    plan: &TablePlan,
    options: &RangeOptions,
) -> Result<RangePlan> {
    let table = qualified(&plan.source);
    // Counted and sampled: the rows the reads take (see `source_from`).
    let from = crate::source::source_from(plan);
    let what = format!("planning ranges of table {}", plan.source);
    let pages: i64 = client
        .query_one(
            "SELECT (pg_relation_size($1::text::regclass) / current_setting('block_size')::int)::int8",
            &[&table],
        )
        .await
        .map_err(ctx(what.clone()))?
        .get(0);
    let pages = u64::try_from(pages).unwrap_or(0);
    let keys = match key_columns(client, plan).await? {
        Ok(k) => k,
        Err(reason) => {
            return Ok(RangePlan::whole(
                plan.source.clone(),
                SplitMethod::Unsplit,
                Some(reason),
            ))
        }
    };
    let wanted = sample_pages(options);
    // The estimate and the boundaries count only the rows the copy reads.
    let filter: Vec<String> = filter_condition(plan).into_iter().collect();
    // Percent of pages to sample; 100 reads everything (small tables).
    let percent = if pages <= wanted {
        100.0
    } else {
        (wanted as f64) * 100.0 / (pages as f64)
    };
    let sample_clause = if percent >= 100.0 {
        String::new()
    } else {
        format!(" TABLESAMPLE SYSTEM ({percent:.6}) REPEATABLE (7)")
    };

    if keys.is_empty() {
        let counted: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM {from}{sample_clause}{}",
                    where_clause(&filter)
                ),
                &[],
            )
            .await
            .map_err(ctx(what))?
            .get(0);
        let estimated = scale(counted, percent);
        let n = options.ranges_for(estimated);
        let mut out = if n < 2 || pages < 2 {
            RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None)
        } else {
            let n = u32::try_from(n).unwrap_or(1);
            let pages = u32::try_from(pages).unwrap_or(u32::MAX);
            let step = pages.div_ceil(n).max(1);
            let mut ranges = Vec::new();
            let mut start = 0u32;
            while start < pages {
                let end = start.saturating_add(step);
                ranges.push(KeyRange::Blocks {
                    start,
                    end: (end < pages).then_some(end),
                });
                start = end;
            }
            RangePlan {
                table: plan.source.clone(),
                method: SplitMethod::CtidBlocks,
                ranges,
                estimated_rows: None,
                note: Some("no primary key: split by ctid block ranges".into()),
            }
        };
        out.estimated_rows = Some(estimated);
        return Ok(out);
    }

    // Aliased: a bare `ORDER BY "id"` would sort by the text output column.
    let cols: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} AS ferry_k{i}", k.sample_expr()))
        .collect();
    let sql = format!(
        "SELECT {} FROM {from}{sample_clause}{}{}",
        cols.join(", "),
        where_clause(&filter),
        order_by(&keys)
    );
    let rows = client.query(&sql, &[]).await.map_err(ctx(what))?;
    let estimated = scale(i64::try_from(rows.len()).unwrap_or(i64::MAX), percent);
    let n = options.ranges_for(estimated);
    let mut out = if n < 2 {
        RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None)
    } else {
        let sample: Vec<KeyBound> = rows.iter().filter_map(|r| parse_key(&keys, r)).collect();
        let boundaries = boundaries_from_sample(&sample, n);
        if boundaries.is_empty() {
            RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None)
        } else {
            RangePlan::from_boundaries(plan.source.clone(), boundaries)
        }
    };
    out.estimated_rows = Some(estimated);
    Ok(out)
}

/// Scales a count from a sample of `percent` percent of the pages.
// An estimate: `as` saturates, which is what an estimate wants.
#[allow(clippy::cast_possible_truncation)]
fn scale(counted: i64, percent: f64) -> u64 {
    let counted = u64::try_from(counted).unwrap_or(0);
    if percent >= 100.0 {
        counted
    } else {
        (counted as f64 * 100.0 / percent) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_key(name: &str) -> PgKeyColumn {
        PgKeyColumn {
            ident: quote_ident(name),
            kind: PgKeyKind::Int,
        }
    }

    #[test]
    fn predicates_are_half_open_and_quoted() {
        let keys = vec![int_key("id")];
        let r = KeyRange::Key {
            lower: Some(vec![KeyValue::Int(10)]),
            upper: Some(vec![KeyValue::Int(20)]),
        };
        assert_eq!(
            range_predicate(&keys, &r),
            " WHERE \"id\" >= 10 AND \"id\" < 20"
        );
        let keys = vec![
            PgKeyColumn {
                ident: quote_ident("t"),
                kind: PgKeyKind::TextC,
            },
            PgKeyColumn {
                ident: quote_ident("u"),
                kind: PgKeyKind::Uuid,
            },
        ];
        let r = KeyRange::Key {
            lower: None,
            upper: Some(vec![
                KeyValue::Text("it's".into()),
                KeyValue::Uuid([0xab; 16]),
            ]),
        };
        assert_eq!(
            range_predicate(&keys, &r),
            " WHERE (\"t\" COLLATE \"C\", \"u\") < ROW('it''s', \
             'abababab-abab-abab-abab-abababababab'::uuid)"
        );
        assert_eq!(
            range_predicate(
                &[],
                &KeyRange::Blocks {
                    start: 5,
                    end: None
                }
            ),
            " WHERE ctid >= '(5,0)'::tid"
        );
        assert_eq!(range_predicate(&keys, &KeyRange::Whole), "");
    }
}
