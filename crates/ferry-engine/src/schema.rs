//! Before and after the data: the value pre-flight scan, and the schema
//! objects that are built once the rows are in.
//!
//! [`preflight`] counts, per column, the source values the target cannot hold
//! or that a chosen lossy rule would change (zero and partial dates, NaN and
//! ±Infinity, out-of-range dates, NUL bytes, 4-byte UTF-8 into a 3-byte
//! charset, strings longer than the target column, unsigned values above a
//! signed maximum, booleans other than 0/1, arrays the hub cannot carry),
//! what a source that lets any value sit in any column (SQLite) holds that
//! the column's plan cannot read, counted per storage class, rows whose
//! foreign key finds no parent in a source that does not enforce them, and
//! the unique keys whose values would collide under the target's collation.
//! It runs on the source server, so nothing is transferred. [`Scan::Full`]
//! (`ferry plan`) reads each table once with one aggregate query;
//! [`Scan::FirstRows`] (`ferry copy`, which reads every row anyway) reads
//! only a bounded sample, the first rows the server finds, so a copy does
//! not read its source twice: values the sample misses are refused by the
//! copy's own readers and writers, by key, when they arrive (see
//! `crate::copy` for what such a failure leaves behind). The collision
//! check reads the unique key's columns once, whatever the scan, and only
//! when a unique key goes to a folding collation. `ferry copy` runs the
//! pre-flight first and refuses to start when something blocks.
//!
//! [`finish_schema`] runs the plans' post-data SQL in the order that keeps
//! loads fast and validation meaningful: per table indexes, unique
//! constraints, CHECKs and triggers; then every foreign key; then sequences
//! and AUTO_INCREMENT counters, set past max(key).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use ferry_core::dialect::{ExistingColumn, Folding, ValueCheck, ValueLimits};
use ferry_core::{Conversion, Dialect, Error, LogicalType, Result, TablePlan, TableRef};

use crate::Adapter;

/// One thing the pre-flight found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// The source table.
    pub table: TableRef,
    /// The column, or the key's columns joined by `, ` for a collision.
    pub column: String,
    /// What kind of value (never a value itself).
    pub problem: String,
    /// Values found (groups, for a collision).
    pub count: u64,
    /// Whether it stops the copy (as opposed to a lossy rule the user chose).
    pub blocking: bool,
    /// The primary key of the first such row, when blocking.
    pub first_key: Option<String>,
    /// Set when only a sample was read: at most this many rows of the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rows: Option<u64>,
}

/// How much of each table the pre-flight reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Every row (`ferry plan`).
    Full,
    /// At most this many rows per table, the first the server finds (`ferry
    /// copy`); zero skips the value checks.
    FirstRows(u64),
}

impl Finding {
    /// One line: `table t column c: 2 NaN or ±Infinity, first at id=3`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "table {} column {}: {} {}",
            self.table, self.column, self.count, self.problem
        );
        if let Some(k) = &self.first_key {
            s.push_str(&format!(", first at {k}"));
        }
        if let Some(n) = self.sample_rows {
            s.push_str(&format!(" (in the first {n} rows read)"));
        }
        s
    }
}

/// A check on one column's values, as SQL for the source.
struct Probe {
    column: String,
    cond: String,
    problem: String,
    blocking: bool,
}

/// The pre-flight: every finding for every table, in plan order.
///
/// The source dialect writes every condition; the target only says what it
/// cannot hold ([`ValueLimits`]) and what its existing columns already are.
pub async fn preflight(
    source: &Adapter,
    target: &Adapter,
    plans: &[TablePlan],
    scan: Scan,
) -> Result<Vec<Finding>> {
    let limits = target.value_limits().await?;
    let mut out = Vec::new();
    for plan in plans {
        let existing: HashMap<String, ExistingColumn> = target
            .column_charsets(&plan.target)
            .await?
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        // Value checks read the first rows the server finds when the scan
        // is a sample (values past it are refused by key as they stream).
        if scan != Scan::FirstRows(0) {
            let probes = probes(plan, source.dialect(), target.dialect(), limits, &existing);
            out.extend(run_probes(source, plan, &probes, scan).await?);
        }
        // Rows the target's constraints would refuse, where the source does
        // not enforce its own (SQLite's foreign keys): every row, since a
        // constraint added after the data fails on any of them.
        let row_checks: Vec<Probe> = plan
            .schema
            .row_checks
            .iter()
            .map(|r| Probe {
                column: r.column.clone(),
                cond: r.cond.clone(),
                problem: r.problem.clone(),
                blocking: true,
            })
            .collect();
        out.extend(run_probes(source, plan, &row_checks, Scan::Full).await?);
        out.extend(collisions(source, plan, limits, &existing).await?);
    }
    Ok(out)
}

fn rounds(conv: Conversion) -> bool {
    conv == Conversion::RoundFraction
}

/// The finding for sub-microsecond digits, under the column's conversion.
fn sub_micros(conv: Conversion) -> &'static str {
    if rounds(conv) {
        "values with sub-microsecond digits that round_fraction rounds"
    } else {
        "values with sub-microsecond digits (choose round_fraction to round them)"
    }
}

/// The source SQL for written column `i` of `plan`: its column, or the
/// job's derived expression. `None` for a column a built-in transforms
/// between reader and writer: the source does not hold its values.
fn source_sql(plan: &TablePlan, i: usize, source: &dyn Dialect) -> Option<String> {
    let Some(r) = plan.reshape.as_deref() else {
        return Some(source.quote_ident(&plan.columns[i].name));
    };
    let from = &r.columns[i];
    if !from.transforms.is_empty() {
        return None;
    }
    let read = &r.read.columns[from.read];
    Some(match &read.expr {
        Some(e) => format!("({e})"),
        None => source.quote_ident(&read.name),
    })
}

/// `varchar(20)` → 20 (also `char`, `character varying`).
fn declared_length(target_type: &str) -> Option<u32> {
    let t = target_type.to_ascii_lowercase();
    if !(t.starts_with("varchar") || t.starts_with("char") || t.starts_with("character")) {
        return None;
    }
    let open = t.find('(')?;
    t[open + 1..].split([')', ' ']).next()?.trim().parse().ok()
}

/// `decimal(65,30)` → (65, 30).
fn decimal_params(target_type: &str) -> Option<(u32, u32)> {
    let t = target_type.to_ascii_lowercase();
    let rest = t
        .strip_prefix("decimal(")
        .or_else(|| t.strip_prefix("numeric("))?;
    let (p, s) = rest.split_once(')')?.0.split_once(',')?;
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

fn source_length(logical: &LogicalType) -> Option<u32> {
    match logical {
        LogicalType::Char { length } | LogicalType::Varchar { length } => *length,
        _ => None,
    }
}

/// The checks for one table's columns. Each asks the source dialect for its
/// condition; a check the source cannot express is one whose values the
/// source cannot hold, so it is skipped.
fn probes(
    plan: &TablePlan,
    source: &dyn Dialect,
    target: &dyn Dialect,
    limits: ValueLimits,
    existing: &HashMap<String, ExistingColumn>,
) -> Vec<Probe> {
    use LogicalType as L;
    let mut out = Vec::new();
    for (i, col) in plan.columns.iter().enumerate() {
        let Some(c) = source_sql(plan, i, source) else {
            continue;
        };
        // What the source holds that its own column types do not constrain.
        for check in source.column_checks(plan, i) {
            out.push(Probe {
                column: col.name.clone(),
                cond: check.cond,
                problem: check.problem,
                blocking: check.blocking,
            });
        }
        let check = |v: ValueCheck<'_>| source.value_check(v, &c);
        let mut add = |cond: Option<String>, problem: &str, blocking: bool| {
            if let Some(cond) = cond {
                out.push(Probe {
                    column: col.name.clone(),
                    cond,
                    problem: problem.to_string(),
                    blocking,
                })
            }
        };
        let conv = col.conversion;
        // A lossy rule that makes NULLs cannot feed a NOT NULL column.
        let nulling = |chosen: Conversion, what: &str| -> (String, bool) {
            if conv != chosen {
                (format!("{what} the target cannot hold"), true)
            } else if !col.nullable {
                (
                    format!(
                        "{what} that {} would make NULL in a NOT NULL column",
                        chosen.name()
                    ),
                    true,
                )
            } else {
                (format!("{what} that {} makes NULL", chosen.name()), false)
            }
        };
        let tt = col.target_type.to_ascii_lowercase();
        match &col.logical {
            L::Float32 | L::Float64 if limits.float_specials && !limits.float_nan => {
                let (p, b) = nulling(Conversion::NanToNull, "NaN");
                add(check(ValueCheck::FloatNaN), &p, b);
                if !limits.negative_zero {
                    let blocking = conv != Conversion::NegativeZeroToZero;
                    let p = if blocking {
                        "−0.0 (the target stores it as 0)"
                    } else {
                        "−0.0 that negative_zero_to_zero makes +0"
                    };
                    add(check(ValueCheck::NegativeZero), p, blocking);
                }
            }
            L::Float32 | L::Float64 if !limits.float_specials => {
                let (p, b) = nulling(Conversion::NanToNull, "NaN or ±Infinity");
                add(check(ValueCheck::FloatSpecial), &p, b);
                if !limits.negative_zero {
                    let blocking = conv != Conversion::NegativeZeroToZero;
                    let p = if blocking {
                        "−0.0 (MariaDB cannot store it)"
                    } else {
                        "−0.0 that negative_zero_to_zero makes +0"
                    };
                    add(check(ValueCheck::NegativeZero), p, blocking);
                }
            }
            L::Decimal { precision, scale } if !limits.float_specials => {
                let (p, b) = nulling(Conversion::NanToNull, "NaN or ±Infinity");
                add(check(ValueCheck::FloatSpecial), &p, b);
                if let Some((tp, ts)) = decimal_params(&tt) {
                    let fits = matches!((precision, scale), (Some(p), Some(s)) if *s <= ts && p - s <= tp - ts);
                    if !fits {
                        add(
                            check(ValueCheck::DecimalTooWide {
                                scale: ts,
                                int_digits: tp - ts,
                            }),
                            &format!("values with more digits than {tt} holds"),
                            true,
                        );
                    }
                }
            }
            L::Date | L::Timestamp { .. } | L::TimestampTz { .. } => {
                if !limits.infinite_dates {
                    let (p, b) = nulling(Conversion::InfinityToNull, "±infinity");
                    add(check(ValueCheck::InfiniteDate), &p, b);
                }
                if !limits.any_year {
                    add(
                        check(ValueCheck::OutsideYears(col)),
                        "values outside years 1–9999",
                        true,
                    );
                }
                // A target that holds them (MySQL) takes them verbatim
                // unless zero_date_to_null was chosen.
                if !limits.zero_dates || conv == Conversion::ZeroDateToNull {
                    let (p, b) = nulling(Conversion::ZeroDateToNull, "zero or partial dates");
                    add(check(ValueCheck::ZeroDate), &p, b);
                }
                if col.raw.fsp.is_some_and(|f| f > 6) {
                    add(
                        check(ValueCheck::FinerThanMicros),
                        sub_micros(conv),
                        !rounds(conv),
                    );
                }
                if matches!(col.logical, L::TimestampTz { .. }) {
                    let utc = conv == Conversion::OffsetToUtc;
                    add(
                        check(ValueCheck::NonUtcOffset),
                        if utc {
                            "values whose offset offset_to_utc drops (instant kept)"
                        } else {
                            "values with an offset other than +00:00 (choose offset_to_utc to keep \
                             only the instant, or map the column to varchar to keep the text)"
                        },
                        !utc,
                    );
                }
            }
            // A source that declares more than 6 fractional digits (SQL
            // Server's 100 ns) holds values the hub's µs cannot.
            L::Time { .. } if col.raw.fsp.is_some_and(|f| f > 6) => {
                add(
                    check(ValueCheck::FinerThanMicros),
                    sub_micros(conv),
                    !rounds(conv),
                );
            }
            L::Enum { .. } => {
                let (p, b) = match conv {
                    Conversion::EnumErrorToEmptyLabel => (
                        "enum error values that enum_error_to_empty_label writes as the label ''"
                            .to_string(),
                        false,
                    ),
                    Conversion::EnumErrorToNull => nulling(conv, "enum error values"),
                    _ => (
                        "enum error values ('' at index 0, stored by a non-strict MySQL for an \
                         invalid value; choose enum_error_to_null or enum_error_to_empty_label)"
                            .to_string(),
                        true,
                    ),
                };
                add(check(ValueCheck::EnumErrorValue), &p, b);
            }
            L::Array { .. } => add(
                check(ValueCheck::ArrayShape),
                "multi-dimensional arrays or arrays whose lower bound is not 1",
                true,
            ),
            L::Char { .. } | L::Varchar { .. } | L::Text { .. } if !limits.nul_in_text => {
                let blocking = conv != Conversion::StripNul;
                let p = if blocking {
                    "values with NUL bytes, which PostgreSQL refuses"
                } else {
                    "values with NUL bytes that strip_nul removes"
                };
                add(check(ValueCheck::NulInText), p, blocking);
            }
            L::Geometry { .. } if !limits.any_geometry => add(
                check(ValueCheck::BeyondFlatGeometry(&col.raw.name)),
                "geometries with Z/M coordinates, curves or surfaces, or empty ones, which the target cannot hold",
                true,
            ),
            L::Bool => add(
                check(ValueCheck::NotZeroOrOne),
                "values other than 0 and 1 in a column read as boolean",
                true,
            ),
            L::UInt8 | L::UInt16 | L::UInt32 | L::UInt64 => {
                if let Some(max) = target.signed_integer_max(&tt) {
                    add(
                        Some(format!("{c} > {max}")),
                        &format!("unsigned values above {tt}'s maximum {max}"),
                        true,
                    );
                }
            }
            _ => {}
        }
        // Text whose character set has no Unicode mapping for some of its
        // bytes (the source dialect says which character sets need it).
        if let (
            Some(cs),
            L::Char { .. }
            | L::Varchar { .. }
            | L::Text { .. }
            | L::Json
            | L::Jsonb
            | L::Set { .. },
        ) = (col.raw.charset.as_deref(), &col.logical)
        {
            add(
                check(ValueCheck::Unmappable(cs)),
                &format!(
                    "values with byte sequences that the {cs} character set has no Unicode mapping for"
                ),
                true,
            );
        }
        // Strings longer than the target column.
        if matches!(
            col.logical,
            L::Char { .. } | L::Varchar { .. } | L::Text { .. }
        ) {
            if let Some(n) = declared_length(&tt) {
                if source_length(&col.logical).is_none_or(|l| l > n) {
                    add(
                        check(ValueCheck::LongerThan(n)),
                        &format!("values longer than {n} characters ({})", col.target_type),
                        true,
                    );
                }
            }
            // 4-byte UTF-8 into an existing 3-byte charset column.
            let narrow = existing
                .get(&col.name)
                .and_then(|t| t.charset.as_deref())
                .is_some_and(|cs| cs == "utf8" || cs == "utf8mb3");
            if narrow {
                add(
                    check(ValueCheck::FourByteUtf8),
                    "values with 4-byte UTF-8 characters (emoji…) into a 3-byte utf8mb3 column",
                    true,
                );
            }
        }
    }
    out
}

/// ` WHERE (filter) AND (cond)`, with either part left out when absent.
fn where_clause(filter: Option<&str>, cond: Option<&str>) -> String {
    match (filter, cond) {
        (None, None) => String::new(),
        (Some(f), None) => format!(" WHERE {f}"),
        (None, Some(c)) => format!(" WHERE {c}"),
        (Some(f), Some(c)) => format!(" WHERE ({f}) AND ({c})"),
    }
}

/// The FROM item (and the row filter) the probes read: the table, or a
/// bounded sample of it (whose derived table applies the filter itself).
fn probe_from(source: &Adapter, plan: &TablePlan, scan: Scan) -> (String, Option<String>) {
    let dialect = source.dialect();
    match scan {
        Scan::Full => (dialect.source_from_sql(plan), plan.row_filter.clone()),
        Scan::FirstRows(n) => (dialect.sample_from_sql(plan, n), None),
    }
}

async fn run_probes(
    source: &Adapter,
    plan: &TablePlan,
    probes: &[Probe],
    scan: Scan,
) -> Result<Vec<Finding>> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let dialect = source.dialect();
    let (from, filter) = probe_from(source, plan, scan);
    let counts: Vec<String> = probes
        .iter()
        .map(|p| dialect.count_where(&p.cond))
        .collect();
    let sql = format!(
        "SELECT {} FROM {from}{}",
        counts.join(", "),
        where_clause(filter.as_deref(), None)
    );
    let what = format!("pre-flight scan of table {}", plan.source);
    let rows = source.text_rows(&sql, &what).await?;
    let row = rows.into_iter().next().unwrap_or_default();
    let mut out = Vec::new();
    for (p, v) in probes.iter().zip(row) {
        let count: u64 = v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
        if count == 0 {
            continue;
        }
        let first_key = if p.blocking {
            first_key(source, plan, &p.cond, scan).await?
        } else {
            None
        };
        out.push(Finding {
            table: plan.source.clone(),
            column: p.column.clone(),
            problem: p.problem.clone(),
            count,
            blocking: p.blocking,
            first_key,
            sample_rows: match scan {
                Scan::Full => None,
                Scan::FirstRows(n) => Some(n),
            },
        });
    }
    Ok(out)
}

/// `id=2` or `(a=1, b=x)` for the first row (in key order) matching `cond`.
async fn first_key(
    source: &Adapter,
    plan: &TablePlan,
    cond: &str,
    scan: Scan,
) -> Result<Option<String>> {
    if plan.primary_key.is_empty() {
        return Ok(None);
    }
    let dialect = source.dialect();
    let names: Vec<&str> = plan
        .primary_key
        .iter()
        .map(|&i| plan.columns[i].name.as_str())
        .collect();
    let quoted: Vec<String> = names.iter().map(|n| dialect.quote_ident(n)).collect();
    let (from, filter) = probe_from(source, plan, scan);
    let sql = dialect.select_first(
        &quoted.join(", "),
        &format!(
            "FROM {from}{} ORDER BY {}",
            where_clause(filter.as_deref(), Some(cond)),
            quoted.join(", ")
        ),
    );
    let rows = source
        .text_rows(&sql, &format!("pre-flight scan of table {}", plan.source))
        .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let parts: Vec<String> = names
        .iter()
        .zip(row)
        .map(|(n, v)| format!("{n}={}", v.unwrap_or_else(|| "NULL".into())))
        .collect();
    Ok(Some(if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(", "))
    }))
}

/// The collation a target column will have: the existing column's, one
/// written into an override's DDL, or none said (the target's default).
fn target_collation(
    col: &ferry_core::ColumnPlan,
    existing: &HashMap<String, ExistingColumn>,
) -> Option<String> {
    if let Some(t) = existing.get(&col.name) {
        return t.collation.clone();
    }
    let tt = col.target_type.to_ascii_lowercase();
    let pos = tt.find("collate ")?;
    tt[pos + 8..].split_whitespace().next().map(str::to_string)
}

/// Case-insensitive, accent-insensitive, PAD SPACE.
fn collation_risks(collation: &str) -> Folding {
    let c = collation.to_ascii_lowercase();
    let ci = c.contains("_ci");
    let ai = c.contains("_ai") || (ci && !c.contains("_as"));
    let pad = !(c.contains("nopad") || c.contains("_0900_") || c == "binary");
    Folding {
        case: ci,
        accents: ai,
        pad,
    }
}

async fn collisions(
    source: &Adapter,
    plan: &TablePlan,
    limits: ValueLimits,
    existing: &HashMap<String, ExistingColumn>,
) -> Result<Vec<Finding>> {
    if !limits.folding_collations {
        return Ok(Vec::new());
    }
    let dialect = source.dialect();
    let mut out = Vec::new();
    let mut done = HashSet::new();
    'keys: for key in &plan.schema.unique_keys {
        if !done.insert(key.columns.clone()) {
            continue;
        }
        let mut folds = Vec::new();
        let mut risky = Vec::new();
        let mut present: Vec<String> = plan.row_filter.iter().map(|f| format!("({f})")).collect();
        for name in &key.columns {
            let Some(i) = plan.columns.iter().position(|c| &c.name == name) else {
                continue;
            };
            let col = &plan.columns[i];
            // A transformed column's values are not the source's.
            let Some(c) = source_sql(plan, i, dialect) else {
                continue 'keys;
            };
            present.push(format!("{c} IS NOT NULL"));
            let texty = matches!(
                col.logical,
                LogicalType::Char { .. } | LogicalType::Varchar { .. } | LogicalType::Text { .. }
            );
            let coll = target_collation(col, existing).filter(|_| texty);
            let Some(coll) = coll else {
                folds.push(c);
                continue;
            };
            let folding = collation_risks(&coll);
            if !(folding.case || folding.accents || folding.pad) {
                folds.push(c);
                continue;
            }
            risky.push(coll.clone());
            folds.push(dialect.collation_fold(&c, &coll, folding));
        }
        if risky.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 AS one FROM {} WHERE {} GROUP BY {} HAVING COUNT(*) > 1) d",
            dialect.source_from_sql(plan),
            present.join(" AND "),
            folds.join(", ")
        );
        let rows = source
            .text_rows(&sql, &format!("collation check of table {}", plan.source))
            .await?;
        let count: u64 = rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if count > 0 {
            out.push(Finding {
                table: plan.source.clone(),
                column: key.columns.join(", "),
                problem: format!(
                    "groups of values distinct in the source that collide under the target collation {} (unique key {}; approximated on a PostgreSQL source)",
                    risky.join("/"),
                    key.name
                ),
                count,
                blocking: true,
                first_key: None,
                sample_rows: None,
            });
        }
    }
    Ok(out)
}

/// Whether a run may go ahead: nothing blocks (values, plan errors) and,
/// when `strict`, nothing was left untranslated either. Returns the reasons.
pub fn blockers(plans: &[TablePlan], findings: &[Finding], strict: bool) -> Vec<String> {
    let mut out = Vec::new();
    for p in plans {
        for e in &p.schema.errors {
            out.push(format!("table {}: {e}", p.source));
        }
        if strict {
            for w in &p.schema.warnings {
                out.push(format!("table {}: {w}", p.source));
            }
        }
    }
    out.extend(findings.iter().filter(|f| f.blocking).map(Finding::line));
    out
}

/// What [`finish_schema`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FinishReport {
    pub statements: usize,
    /// Foreign keys left out because a table they join did not copy.
    pub skipped: Vec<String>,
}

/// Builds the post-data schema on the target for the tables that copied.
///
/// `copied` holds the source refs of tables whose data is in; `preexisting`
/// the target tables that existed before the run (appended to or truncated):
/// they get only the sequence step, their indexes and constraints being the
/// user's. Stops at the first statement that fails, naming it.
pub async fn finish_schema(
    target: &Adapter,
    plans: &[TablePlan],
    copied: &[TableRef],
    preexisting: &[TableRef],
) -> Result<FinishReport> {
    let mut report = FinishReport::default();
    let ok = |p: &TablePlan| copied.contains(&p.source);
    let fresh = |p: &TablePlan| {
        !preexisting
            .iter()
            .any(|t| t.name == p.target.name && (t.schema.is_none() || t.schema == p.target.schema))
    };
    // Idempotent: a resumed run re-runs the steps a killed finisher began.
    let run = |stmts: Vec<String>, what: String| async move {
        target.execute_idempotent(&stmts, &what).await
    };
    for p in plans.iter().filter(|p| ok(p) && fresh(p)) {
        if !p.schema.post_data.is_empty() {
            report.statements += p.schema.post_data.len();
            run(
                p.schema.post_data.clone(),
                format!("building indexes and constraints of table {}", p.target),
            )
            .await?;
        }
    }
    for p in plans.iter().filter(|p| ok(p) && fresh(p)) {
        // A foreign key whose referenced table did not copy would fail: leave it out.
        let failed: Vec<&TablePlan> = plans.iter().filter(|q| !ok(q)).collect();
        let mut stmts = Vec::new();
        for fk in &p.schema.foreign_keys {
            let refs_failed = failed.iter().any(|q| {
                fk.contains(&format!(
                    "REFERENCES {} ",
                    target.dialect().table_sql(&q.target)
                ))
            });
            if refs_failed {
                report.skipped.push(format!("table {}: {fk}", p.target));
            } else {
                stmts.push(fk.clone());
            }
        }
        if !stmts.is_empty() {
            report.statements += stmts.len();
            run(stmts, format!("adding foreign keys of table {}", p.target)).await?;
        }
    }
    for p in plans.iter().filter(|p| ok(p)) {
        if !p.schema.sequences.is_empty() {
            report.statements += p.schema.sequences.len();
            run(
                p.schema.sequences.clone(),
                format!("setting the sequences of table {}", p.target),
            )
            .await?;
        }
    }
    Ok(report)
}

/// Every statement a run would execute on the target, in order, for `ferry
/// plan --ddl`: per table its CREATE statements, then all post-data steps.
pub fn all_ddl(target: &Adapter, plans: &[TablePlan]) -> Vec<String> {
    let mut out: Vec<String> = plans.iter().flat_map(|p| target.create_ddl(p)).collect();
    let mut seen = HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    for p in plans {
        out.extend(p.schema.post_data.iter().cloned());
    }
    for p in plans {
        out.extend(p.schema.foreign_keys.iter().cloned());
    }
    for p in plans {
        out.extend(p.schema.sequences.iter().cloned());
    }
    out
}

/// An error for a schema step (kept here so the binary need not build one).
pub fn refused(reasons: &[String]) -> Error {
    Error::Table {
        table: "(plan)".into(),
        problem: format!(
            "the plan is not clean: {} (run `ferry plan` for the whole report; --allow-unclean copies anyway)",
            reasons.join("; ")
        ),
    }
}

#[cfg(test)]
mod tests;
