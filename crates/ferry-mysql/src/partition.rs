//! Range planning and range predicates for MySQL/MariaDB.
//!
//! Planning must not read the table: a copy reads every row once, and on
//! InnoDB the primary key *is* the table (its leaves hold the rows), so
//! walking or sampling the key reads the whole table again. When the key's
//! first column is an integer, boundaries come from the index alone: `MIN`
//! and `MAX` (two dives), then the key space is halved again and again where
//! the optimizer's own index-dive estimates (`EXPLAIN`'s rows for a key
//! range, InnoDB's `records_in_range`) say the rows are, and cut where the
//! running estimate passes each share, so ranges hold about equal row counts
//! however sparse or skewed the key; a few dozen `EXPLAIN`s, no row read.
//! Other keys (text, bytes) are sampled as before: a Bernoulli sample of
//! the key (`WHERE RAND() < p`, about 64 keys per range), one read of the
//! key's index, sorted in binary order and cut into equal shares. The row
//! count comes from `information_schema.TABLES` and, when that says "small"
//! (it lags after bulk loads), from `COUNT(*)`.
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
    ferry_core::adapter::key_conditions(range, |bound, op| {
        let mut p = String::new();
        push_bound(&mut p, keys, bound, op);
        p
    })
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
    if matches!(keys[0].kind, MySqlKeyKind::Int | MySqlKeyKind::UInt) {
        match index_boundaries(conn, &table, &keys, n).await {
            Ok(Some(boundaries)) => {
                let mut out = if boundaries.is_empty() {
                    RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None)
                } else {
                    RangePlan::from_boundaries(plan.source.clone(), boundaries)
                };
                out.estimated_rows = Some(rows);
                return Ok(out);
            }
            Ok(None) => {}
            // The sample below is always correct; the dives only save a read.
            Err(e) => {
                tracing::debug!(table = %plan.source, error = %e, "index dives failed; sampling")
            }
        }
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

/// One piece of the key space `[lo, hi)` of the first key column, with the
/// optimizer's estimate of the rows in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPiece {
    pub lo: i128,
    pub hi: i128,
    pub rows: u64,
}

/// The bisection splits until no piece holds more than a share of the
/// rows divided by this: each cut then lands within a quarter of a range
/// of its share.
const PIECES_PER_RANGE: u64 = 4;

/// At most this many pieces are split (two `EXPLAIN`s each): enough to
/// isolate a dense run of keys in a key space 2^60 times wider.
const MAX_SPLITS: usize = 256;

/// Boundaries for `n` ranges from the index alone (see the module docs),
/// over the first key column (an integer); later key columns take their
/// lowest value, so a boundary `(x, lowest…)` starts the range at `x`.
/// `Ok(None)` when the estimates are of no use (the server gave none).
async fn index_boundaries(
    conn: &mut Conn,
    table: &str,
    keys: &[MySqlKeyColumn],
    n: usize,
) -> Result<Option<Vec<KeyBound>>> {
    let k = &keys[0];
    let what = format!("planning ranges of table {table} from its index");
    let (min, max): (Option<String>, Option<String>) = conn
        .query_first(format!(
            "SELECT CAST(MIN({0}) AS CHAR), CAST(MAX({0}) AS CHAR) FROM {table}",
            k.ident
        ))
        .await
        .map_err(ctx(what.clone()))?
        .unwrap_or((None, None));
    let (Some(min), Some(max)) = (
        min.and_then(|v| v.parse::<i128>().ok()),
        max.and_then(|v| v.parse::<i128>().ok()),
    ) else {
        return Ok(Some(Vec::new()));
    };
    let mut pieces = vec![KeyPiece {
        lo: min,
        hi: max + 1,
        rows: estimate(conn, table, &k.ident, min, max + 1, &what).await?,
    }];
    if pieces[0].rows == 0 {
        return Ok(None);
    }
    let total = pieces[0].rows;
    // Split the piece with the most rows until none holds more than a
    // quarter of a share (or it is a single key).
    let small = total / (u64::try_from(n).unwrap_or(1) * PIECES_PER_RANGE);
    for _ in 0..MAX_SPLITS {
        let Some((i, p)) = pieces
            .iter()
            .enumerate()
            .filter(|(_, p)| p.hi - p.lo >= 2)
            .max_by_key(|(_, p)| p.rows)
            .map(|(i, p)| (i, *p))
        else {
            break;
        };
        if p.rows <= small {
            break;
        }
        let mid = p.lo + (p.hi - p.lo) / 2;
        let left = estimate(conn, table, &k.ident, p.lo, mid, &what).await?;
        let right = estimate(conn, table, &k.ident, mid, p.hi, &what).await?;
        pieces.splice(
            i..=i,
            [
                KeyPiece {
                    lo: p.lo,
                    hi: mid,
                    rows: left,
                },
                KeyPiece {
                    lo: mid,
                    hi: p.hi,
                    rows: right,
                },
            ],
        );
    }
    let lowest: Vec<KeyValue> = keys[1..].iter().map(|k| lowest_value(k.kind)).collect();
    Ok(Some(
        cut_pieces(&pieces, n)
            .into_iter()
            .filter_map(|at| {
                let first = match k.kind {
                    MySqlKeyKind::UInt => KeyValue::UInt(u64::try_from(at).ok()?),
                    _ => KeyValue::Int(i64::try_from(at).ok()?),
                };
                let mut bound = vec![first];
                bound.extend(lowest.iter().cloned());
                Some(bound)
            })
            .collect(),
    ))
}

/// The lowest value of a key column of `kind` in binary order.
fn lowest_value(kind: MySqlKeyKind) -> KeyValue {
    match kind {
        MySqlKeyKind::Int => KeyValue::Int(i64::MIN),
        MySqlKeyKind::UInt => KeyValue::UInt(0),
        MySqlKeyKind::Text | MySqlKeyKind::TextCast | MySqlKeyKind::TextConverted => {
            KeyValue::Text(String::new())
        }
        MySqlKeyKind::Bytes => KeyValue::Bytes(Vec::new()),
    }
}

/// The optimizer's estimate of the rows whose first key column is in
/// `[lo, hi)`: `EXPLAIN`'s rows, which InnoDB answers from dives into the
/// index (`records_in_range`), reading no row.
async fn estimate(
    conn: &mut Conn,
    table: &str,
    ident: &str,
    lo: i128,
    hi: i128,
    what: &str,
) -> Result<u64> {
    let rows: Vec<mysql_async::Row> = conn
        .query(format!(
            "EXPLAIN SELECT {ident} FROM {table} WHERE {ident} >= {lo} AND {ident} < {hi}"
        ))
        .await
        .map_err(ctx(what.to_string()))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.get_opt::<Option<u64>, _>("rows")?.ok().flatten())
        .max()
        .unwrap_or(0))
}

/// Where to cut `pieces` (in key order) into `n` ranges of about equal
/// estimated rows: the upper ends of the pieces at which the running total
/// first reaches each share. Strictly increasing; fewer when rows are few.
pub fn cut_pieces(pieces: &[KeyPiece], n: usize) -> Vec<i128> {
    let total: u64 = pieces.iter().map(|p| p.rows).sum();
    let mut out = Vec::new();
    if n < 2 || total == 0 {
        return out;
    }
    let (mut running, mut next) = (0u64, 1u64);
    let n = u64::try_from(n).unwrap_or(1);
    for (i, p) in pieces.iter().enumerate() {
        running += p.rows;
        if i + 1 == pieces.len() {
            break;
        }
        // u128: total × share cannot overflow.
        if u128::from(running) * u128::from(n) >= u128::from(total) * u128::from(next) {
            if out.last().is_none_or(|&last| last < p.hi) {
                out.push(p.hi);
            }
            while next < n
                && u128::from(running) * u128::from(n) >= u128::from(total) * u128::from(next)
            {
                next += 1;
            }
            if next >= n {
                break;
            }
        }
    }
    out
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

    #[test]
    fn pieces_are_cut_at_equal_shares_of_their_estimates() {
        let p = |lo: i128, hi: i128, rows: u64| KeyPiece { lo, hi, rows };
        // Dense: equal pieces, cut every other piece for 4 ranges of 8.
        let even: Vec<KeyPiece> = (0..8).map(|i| p(i * 10, i * 10 + 10, 100)).collect();
        assert_eq!(cut_pieces(&even, 4), vec![20, 40, 60]);
        // Skewed: nearly every row in the first piece cuts there once; the
        // sparse tail shares the rest.
        let skewed = [p(0, 10, 900), p(10, 1000, 50), p(1000, 10_000_000, 50)];
        assert_eq!(cut_pieces(&skewed, 2), vec![10]);
        assert_eq!(cut_pieces(&skewed, 4), vec![10]);
        assert!(cut_pieces(&even, 1).is_empty());
        assert!(cut_pieces(&[p(0, 5, 0)], 4).is_empty());
    }
}
