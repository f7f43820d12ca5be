//! Range planning and range predicates for SQL Server.
//!
//! Boundaries come from a Bernoulli sample of the key (`WHERE
//! ABS(CHECKSUM(NEWID())) % 1000000 < n`: `NEWID()` is drawn per row,
//! where `RAND()` would be one value for the whole statement), about 64
//! keys per range, **sorted in ferry, in binary order**, never by SQL
//! Server's `ORDER BY`. Range predicates then compare in that same order:
//!
//! - integer keys numerically, as they are (the index serves them);
//! - `binary`/`varbinary` keys bytewise, as they are;
//! - `uniqueidentifier` keys as their text, `CAST(k AS char(36)) COLLATE
//!   Latin1_General_BIN2`: SQL Server orders `uniqueidentifier` by its
//!   last group first, so its own order would put a range's rows on the
//!   wrong side of a bound another engine draws. The canonical text
//!   (upper-case hex in RFC 4122 group order, fixed length) compares
//!   bytewise exactly as the hub's 16 bytes do;
//! - text keys (`char`, `varchar`, `nchar`, `nvarchar`) as their UTF-8
//!   bytes: `CAST(CAST(k COLLATE Latin1_General_100_BIN2_UTF8 AS
//!   varchar(max)) AS varbinary(max))` on SQL Server 2019 and later (the
//!   `_UTF8` collations convert the value to UTF-8; bytewise comparison
//!   of UTF-8 is code-point order, which is the binary order every engine
//!   uses). Before 2019 there is no UTF-8 collation: text keys compare
//!   under `Latin1_General_BIN2`, UTF-16 code-unit order, which differs
//!   from code-point order only between characters above U+FFFF and those
//!   in U+E000–U+FFFF; the range plan says so.
//!
//! The uuid and text forms are not sargable: each range scans the key
//! index rather than seeking it. Correct first; a table with such a key is
//! still read in parallel.
//!
//! Tables without a usable key are one stream: SQL Server has no physical
//! row address ferry can split on.

use std::fmt::Write as _;

use ferry_core::adapter::{filter_condition, where_clause, KeyExpr, KeySplit};
use ferry_core::range::{
    boundaries_from_sample, KeyBound, KeyRange, KeyValue, RangeOptions, RangePlan, SplitMethod,
};
use ferry_core::{Result, TablePlan, TableRef};
use tiberius::ColumnData;

use crate::catalog::{int, object_name, rows, text};
use crate::error::ctx;
use crate::{qualified, quote_ident, Client};

/// How one key column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MssqlKeyKind {
    Int,
    Bytes,
    Uuid,
    /// Text as UTF-8 bytes (SQL Server 2019+).
    TextUtf8,
    /// Text under `Latin1_General_BIN2` (UTF-16 code units; before 2019).
    TextBin2,
}

/// One key column: its quoted name and kind.
#[derive(Debug, Clone)]
pub struct MssqlKeyColumn {
    pub ident: String,
    pub kind: MssqlKeyKind,
}

impl KeyExpr for MssqlKeyColumn {
    fn expr(&self) -> String {
        let c = &self.ident;
        match self.kind {
            MssqlKeyKind::Int | MssqlKeyKind::Bytes => c.clone(),
            MssqlKeyKind::Uuid => format!("CAST({c} AS char(36)) COLLATE Latin1_General_BIN2"),
            MssqlKeyKind::TextUtf8 => format!(
                "CAST(CAST({c} COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)) AS varbinary(max))"
            ),
            MssqlKeyKind::TextBin2 => format!("{c} COLLATE Latin1_General_BIN2"),
        }
    }
}

/// Whether text keys can be compared as UTF-8 (SQL Server 2019, version 15).
pub async fn utf8_collations(client: &mut Client) -> Result<bool> {
    let r = rows(
        client,
        "SELECT CAST(SERVERPROPERTY('ProductMajorVersion') AS int)",
        &[],
    )
    .await
    .map_err(ctx("reading the server version"))?;
    Ok(r.first().and_then(|r| int(&r[0])).is_some_and(|v| v >= 15))
}

/// The key kind of a key column's source type.
fn kind_of(raw: &str, utf8: bool) -> Option<MssqlKeyKind> {
    Some(match raw {
        "tinyint" | "smallint" | "int" | "bigint" => MssqlKeyKind::Int,
        "binary" | "varbinary" => MssqlKeyKind::Bytes,
        "uniqueidentifier" => MssqlKeyKind::Uuid,
        "char" | "varchar" | "nchar" | "nvarchar" | "sysname" if utf8 => MssqlKeyKind::TextUtf8,
        "char" | "varchar" | "nchar" | "nvarchar" | "sysname" => MssqlKeyKind::TextBin2,
        _ => return None,
    })
}

/// The key columns of `plan`; `Err(reason)` when a key column has a type
/// ferry does not split on, `Ok(empty)` when there is no key.
pub async fn key_columns(
    client: &mut Client,
    plan: &TablePlan,
) -> Result<std::result::Result<Vec<MssqlKeyColumn>, String>> {
    let texty = plan.primary_key.iter().any(|&i| {
        matches!(
            kind_of(&plan.columns[i].raw.name, true),
            Some(MssqlKeyKind::TextUtf8)
        )
    });
    let utf8 = texty && utf8_collations(client).await?;
    let mut out = Vec::new();
    for &i in &plan.primary_key {
        let col = &plan.columns[i];
        let Some(kind) = kind_of(&col.raw.name, utf8) else {
            return Ok(Err(format!(
                "key column {} has type {}, which ferry does not split on",
                col.name, col.source_type
            )));
        };
        out.push(MssqlKeyColumn {
            ident: quote_ident(&col.name),
            kind,
        });
    }
    Ok(Ok(out))
}

/// [`key_columns`] as the engine asks it ([`KeySplit`]).
pub async fn key_split(client: &mut Client, plan: &TablePlan) -> Result<KeySplit> {
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

/// The collation of every column of `table` by name, in ordinal order.
pub async fn column_collations(
    client: &mut Client,
    table: &TableRef,
) -> Result<Vec<(String, Option<String>)>> {
    let obj = object_name(table);
    let r = rows(
        client,
        "SELECT name, collation_name FROM sys.columns WHERE object_id = OBJECT_ID(@P1) \
         ORDER BY column_id",
        &[&obj.as_str()],
    )
    .await
    .map_err(ctx(format!("reading collations of table {table}")))?;
    Ok(r.iter()
        .map(|r| (text(&r[0]).unwrap_or_default(), text(&r[1])))
        .collect())
}

fn push_hex(sql: &mut String, bytes: &[u8]) {
    sql.push_str("0x");
    for b in bytes {
        let _ = write!(sql, "{b:02X}");
    }
}

fn push_literal(sql: &mut String, kind: MssqlKeyKind, v: &KeyValue) {
    match (kind, v) {
        (_, KeyValue::Int(i)) => {
            let _ = write!(sql, "{i}");
        }
        (_, KeyValue::UInt(u)) => {
            let _ = write!(sql, "{u}");
        }
        // The UTF-8 bytes themselves: no escaping, no collation involved.
        (MssqlKeyKind::TextUtf8, KeyValue::Text(s)) => push_hex(sql, s.as_bytes()),
        (_, KeyValue::Text(s)) => {
            sql.push_str(&crate::quote_literal(s));
            sql.push_str(" COLLATE Latin1_General_BIN2");
        }
        (_, KeyValue::Bytes(b)) => push_hex(sql, b),
        (_, KeyValue::Uuid(u)) => {
            let _ = write!(sql, "'{}'", KeyValue::uuid_text(u).to_ascii_uppercase());
        }
    }
}

/// `k >= v` for one column, or the lexicographic expansion for several
/// (SQL Server has no row-value comparison): `(a > x) OR (a = x AND b >= y)`.
fn push_bound(sql: &mut String, keys: &[MssqlKeyColumn], bound: &KeyBound, op: &str) {
    let n = keys.len().min(bound.len());
    let strict = match op {
        ">=" => ">",
        "<" => "<",
        other => other,
    };
    let mut terms = Vec::with_capacity(n);
    for i in 0..n {
        let mut t = String::new();
        for j in 0..i {
            let _ = write!(t, "{} = ", keys[j].expr());
            push_literal(&mut t, keys[j].kind, &bound[j]);
            t.push_str(" AND ");
        }
        let o = if i + 1 == n { op } else { strict };
        let _ = write!(t, "{} {o} ", keys[i].expr());
        push_literal(&mut t, keys[i].kind, &bound[i]);
        terms.push(t);
    }
    if terms.len() == 1 {
        sql.push_str(&terms[0]);
    } else {
        sql.push('(');
        sql.push_str(
            &terms
                .iter()
                .map(|t| format!("({t})"))
                .collect::<Vec<_>>()
                .join(" OR "),
        );
        sql.push(')');
    }
}

/// The conditions selecting `range`, to be ANDed (empty: every row).
pub fn range_conditions(keys: &[MssqlKeyColumn], range: &KeyRange) -> Vec<String> {
    ferry_core::adapter::key_conditions(range, |bound, op| {
        let mut p = String::new();
        push_bound(&mut p, keys, bound, op);
        p
    })
}

/// The `WHERE` clause (with a leading space, or empty) selecting `range`.
pub fn range_predicate(keys: &[MssqlKeyColumn], range: &KeyRange) -> String {
    where_clause(&range_conditions(keys, range))
}

/// The `WHERE` clause selecting the rows of `range` the plan's row filter keeps.
pub fn read_predicate(plan: &TablePlan, keys: &[MssqlKeyColumn], range: &KeyRange) -> String {
    ferry_core::adapter::read_predicate(plan, range_conditions(keys, range))
}

/// `ORDER BY` over the key in binary order (with a leading space), or empty.
pub fn order_by(keys: &[MssqlKeyColumn]) -> String {
    ferry_core::adapter::order_by(keys)
}

fn key_value(kind: MssqlKeyKind, v: &ColumnData<'_>) -> Option<KeyValue> {
    Some(match (kind, v) {
        (MssqlKeyKind::Int, v) => KeyValue::Int(int(v)?),
        (MssqlKeyKind::Bytes, ColumnData::Binary(Some(b))) => KeyValue::Bytes(b.to_vec()),
        (MssqlKeyKind::Uuid, ColumnData::Guid(Some(u))) => KeyValue::Uuid(*u.as_bytes()),
        (MssqlKeyKind::TextUtf8 | MssqlKeyKind::TextBin2, ColumnData::String(Some(s))) => {
            KeyValue::Text(s.to_string())
        }
        _ => return None,
    })
}

/// Plans the ranges of `plan.source` (see the module docs).
pub async fn plan_ranges(
    client: &mut Client,
    plan: &TablePlan,
    options: &RangeOptions,
) -> Result<RangePlan> {
    let table = qualified(&plan.source);
    let what = format!("planning ranges of table {}", plan.source);
    let keys = match key_columns(client, plan).await? {
        Ok(k) if k.is_empty() => {
            return Ok(RangePlan::whole(
                plan.source.clone(),
                SplitMethod::SingleStream,
                Some("no primary key: SQL Server reads the table as one stream".into()),
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
    let obj = object_name(&plan.source);
    let est = rows(
        client,
        "SELECT SUM(p.rows) FROM sys.partitions p WHERE p.object_id = OBJECT_ID(@P1) \
         AND p.index_id IN (0, 1)",
        &[&obj.as_str()],
    )
    .await
    .map_err(ctx(what.clone()))?;
    let mut count = est
        .first()
        .and_then(|r| int(&r[0]))
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    if count < options.min_range_rows.saturating_mul(2) {
        // A small table is cheap to count, and only the rows the copy
        // reads count.
        let filter: Vec<String> = filter_condition(plan).into_iter().collect();
        let counted = rows(
            client,
            &format!("SELECT COUNT_BIG(*) FROM {table}{}", where_clause(&filter)),
            &[],
        )
        .await
        .map_err(ctx(what.clone()))?;
        count = counted
            .first()
            .and_then(|r| int(&r[0]))
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
    }
    let n = options.ranges_for(count);
    let mut note = None;
    if keys.iter().any(|k| k.kind == MssqlKeyKind::TextBin2) {
        note = Some(
            "text key compared in UTF-16 code-unit order (SQL Server before 2019 has no \
             UTF-8 collation): keys mixing characters above U+FFFF with U+E000–U+FFFF may \
             order differently from the other engine"
                .to_string(),
        );
    }
    if n < 2 {
        let mut out = RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, note);
        out.estimated_rows = Some(count);
        return Ok(out);
    }
    let wanted = u64::try_from(n).unwrap_or(1) * 64;
    let per_million = (wanted.saturating_mul(1_000_000) / count.max(1)).min(1_000_000);
    let names: Vec<&str> = keys.iter().map(|k| k.ident.as_str()).collect();
    let mut conditions = vec![format!(
        "ABS(CAST(CHECKSUM(NEWID()) AS bigint)) % 1000000 < {per_million}"
    )];
    conditions.extend(filter_condition(plan));
    let sql = format!(
        "SELECT {} FROM {table}{}",
        names.join(", "),
        where_clause(&conditions)
    );
    let sampled = rows(client, &sql, &[]).await.map_err(ctx(what))?;
    let mut sample: Vec<KeyBound> = sampled
        .iter()
        .filter_map(|r| {
            keys.iter()
                .zip(r)
                .map(|(k, v)| key_value(k.kind, v))
                .collect::<Option<Vec<_>>>()
        })
        .collect();
    // Binary order, in ferry: integers by value, text by UTF-8 bytes, UUIDs
    // by their RFC 4122 bytes.
    sample.sort();
    let boundaries = boundaries_from_sample(&sample, n);
    let mut out = if boundaries.is_empty() {
        RangePlan::whole(plan.source.clone(), SplitMethod::Unsplit, None)
    } else {
        RangePlan::from_boundaries(plan.source.clone(), boundaries)
    };
    out.note = note;
    out.estimated_rows = Some(count);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, kind: MssqlKeyKind) -> MssqlKeyColumn {
        MssqlKeyColumn {
            ident: quote_ident(name),
            kind,
        }
    }

    #[test]
    fn composite_bounds_expand_without_row_values() {
        let keys = vec![key("a", MssqlKeyKind::Int), key("b", MssqlKeyKind::Int)];
        let r = KeyRange::Key {
            lower: Some(vec![KeyValue::Int(1), KeyValue::Int(2)]),
            upper: Some(vec![KeyValue::Int(5), KeyValue::Int(0)]),
        };
        assert_eq!(
            range_predicate(&keys, &r),
            " WHERE (([a] > 1) OR ([a] = 1 AND [b] >= 2)) AND (([a] < 5) OR ([a] = 5 AND [b] < 0))"
        );
    }

    #[test]
    fn text_keys_compare_as_utf8_bytes_and_uuids_as_text() {
        let keys = vec![key("t", MssqlKeyKind::TextUtf8)];
        let r = KeyRange::Key {
            lower: None,
            upper: Some(vec![KeyValue::Text("é'".into())]),
        };
        assert_eq!(
            range_predicate(&keys, &r),
            " WHERE CAST(CAST([t] COLLATE Latin1_General_100_BIN2_UTF8 AS varchar(max)) AS \
             varbinary(max)) < 0xC3A927"
        );
        let keys = vec![key("u", MssqlKeyKind::Uuid)];
        // SSMS shows 825B076B-44EC-E511-80DC-00155D0ABC54 for this value;
        // the hub's bytes are that text's, and so is the bound.
        let u = KeyValue::parse_uuid("825b076b-44ec-e511-80dc-00155d0abc54").unwrap();
        let r = KeyRange::Key {
            lower: Some(vec![KeyValue::Uuid(u)]),
            upper: None,
        };
        assert_eq!(
            range_predicate(&keys, &r),
            " WHERE CAST([u] AS char(36)) COLLATE Latin1_General_BIN2 >= \
             '825B076B-44EC-E511-80DC-00155D0ABC54'"
        );
    }

    /// SQL Server orders uniqueidentifier by its last group first; ferry
    /// orders by the RFC bytes, i.e. the text. The two disagree, which is
    /// why bounds never come from the server's ORDER BY.
    #[test]
    fn sql_server_uuid_order_is_not_the_binary_order() {
        let a = KeyValue::parse_uuid("00000000-0000-0000-0000-000000000002").unwrap();
        let b = KeyValue::parse_uuid("ffffffff-0000-0000-0000-000000000001").unwrap();
        // SQL Server: a > b (last group 2 > 1). Binary order: a < b.
        let sql_server_key = |u: &[u8; 16]| {
            let mut k = u[10..16].to_vec();
            k.extend_from_slice(&u[8..10]);
            k.extend_from_slice(&u[6..8]);
            k.extend_from_slice(&u[4..6]);
            k.extend_from_slice(&u[0..4]);
            k
        };
        assert!(sql_server_key(&a) > sql_server_key(&b));
        let mut sample = [vec![KeyValue::Uuid(b)], vec![KeyValue::Uuid(a)]];
        sample.sort();
        assert_eq!(sample[0], vec![KeyValue::Uuid(a)]);
    }
}
