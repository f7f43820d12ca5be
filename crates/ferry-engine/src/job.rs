//! A job: one value that says everything a run needs, from a TOML file a
//! DBA keeps in git, from command-line flags, or both (flags win).
//!
//! Every setting is an `Option` here so that [`Job::overlay`] can tell "not
//! said" from "said"; the defaults live in one place, the `*_or_default`
//! accessors, so a job file, a flag and the built-in default can never
//! disagree about what a missing setting means.
//!
//! Table selection: `tables` lists names or globs (`orders`,
//! `sales.*`, `audit_20??`); `exclude` removes globs from what is left. A
//! pattern with a dot matches `schema.name`, without one the name alone. A
//! name without glob characters must exist (a typo is an error, not an empty
//! run); a glob may match nothing only if another pattern matches something.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use ferry_core::{Error, IfExists, Result, TableRef};
use ferry_mapping::{ColumnOverride, TypeOverride};

use crate::OnError;

/// A whole run. See the module docs for how it is assembled.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// The job file this came from, for error lines (not part of the file).
    #[serde(skip)]
    pub origin: Option<String>,
    /// Source URL (a password is better left to the environment).
    pub source: Option<String>,
    /// Target URL.
    pub target: Option<String>,
    /// Source schema (or database, where the engine has no schemas).
    pub schema: Option<String>,
    /// Target schema (or database).
    pub target_schema: Option<String>,
    /// Tables to take: names or globs. Empty: every base table of `schema`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Globs of tables to leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// A mapping override file (relative to the job file when read from one).
    pub mapping: Option<PathBuf>,
    /// Inline `[[type]]` overrides, as in a mapping file.
    #[serde(default, rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub type_overrides: Vec<TypeOverride>,
    /// Inline `[[column]]` overrides, as in a mapping file.
    #[serde(default, rename = "column", skip_serializing_if = "Vec::is_empty")]
    pub column_overrides: Vec<ColumnOverride>,
    /// Per-table options: `[[table]]`.
    #[serde(default, rename = "table", skip_serializing_if = "Vec::is_empty")]
    pub table_options: Vec<TableOptions>,
    #[serde(default)]
    pub copy: CopySettings,
    #[serde(default)]
    pub verify: VerifySettings,
    #[serde(default)]
    pub state: StateSettings,
    /// Write the run's HTML report here (relative to the working directory).
    pub report: Option<PathBuf>,
}

/// `[[table]]`: options for one source table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// The source table, `name` or `schema.name` (no globs).
    pub name: String,
    /// The target table's name, when it differs.
    pub target: Option<String>,
    /// Must be copied in parallel key ranges (as `--split`).
    #[serde(default)]
    pub split: bool,
    /// A row filter in the source's SQL: only matching rows are copied and
    /// verified.
    #[serde(rename = "where")]
    pub row_filter: Option<String>,
    /// Per-column mapping overrides of this table: `[[table.column]]`
    /// (by the column's written name).
    #[serde(default, rename = "column", skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<TableColumn>,
    /// The source columns to keep (`name`, or `name -> new_name` to rename
    /// it); empty keeps every column. See [`crate::reshape`].
    #[serde(default, rename = "columns", skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
    /// Source columns to leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
    /// Source columns to rename: `{ old = "new" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rename: BTreeMap<String, String>,
    /// Columns the source computes: `{ name = "SQL over the source's
    /// columns" }`; a name of a kept column replaces it in place.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub derive: BTreeMap<String, String>,
    /// Built-in transforms by written column name: one or a list, applied
    /// in order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transform: BTreeMap<String, Transforms>,
    /// Named row checks: a SQL predicate, `not_null(col)` or
    /// `matches(col, 'regex')`, over the source's columns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub check: BTreeMap<String, String>,
}

/// One built-in transform or a list of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Transforms {
    One(String),
    Many(Vec<String>),
}

impl Transforms {
    /// The transforms' texts, in order.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Transforms::One(t) => vec![t.as_str()],
            Transforms::Many(ts) => ts.iter().map(String::as_str).collect(),
        }
    }
}

impl TableOptions {
    /// Whether the job reshapes this table (columns, derived columns,
    /// transforms or checks).
    pub fn reshapes(&self) -> bool {
        !(self.keep.is_empty()
            && self.drop.is_empty()
            && self.rename.is_empty()
            && self.derive.is_empty()
            && self.transform.is_empty()
            && self.check.is_empty())
    }
}

/// `[[table.column]]`: a mapping override for one column of its table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableColumn {
    pub name: String,
    pub logical: Option<String>,
    pub target_type: Option<String>,
    pub conversion: Option<ferry_core::Conversion>,
    /// How a SQLite source holds this date or time column.
    pub stored_as: Option<ferry_core::TimeStorage>,
}

/// `[copy]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopySettings {
    pub if_exists: Option<IfExists>,
    pub batch_rows: Option<usize>,
    /// Bytes per batch (a batch closes at `batch_rows` or this, whichever first).
    pub batch_bytes: Option<usize>,
    pub workers: Option<usize>,
    /// Create this logical slot and copy from its snapshot (engines with
    /// `snapshot_slot`).
    pub cdc_slot: Option<String>,
    /// Allow a brief global read lock for one snapshot instant (engines
    /// with `lock_for_snapshot`).
    pub lock_source: Option<bool>,
    /// Compare each range right after it commits.
    pub verify: Option<bool>,
    pub allow_unclean: Option<bool>,
    pub strict: Option<bool>,
    /// Rows per table the copy's pre-flight reads (0: none; `ferry plan`
    /// reads them all).
    pub preflight_rows: Option<u64>,
    pub on_error: Option<OnError>,
    pub reject_file: Option<PathBuf>,
    pub retries: Option<u32>,
    pub retry_delay_ms: Option<u64>,
    pub min_range_rows: Option<u64>,
    pub max_ranges: Option<usize>,
}

/// `[verify]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySettings {
    pub max_diffs: Option<usize>,
    pub float_ulps: Option<u32>,
    pub chunk_rows: Option<usize>,
    pub batch_rows: Option<usize>,
    pub batch_bytes: Option<usize>,
    pub parallel_tables: Option<usize>,
    pub parallel_ranges: Option<usize>,
    pub min_range_rows: Option<u64>,
}

/// `[state]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSettings {
    /// A SQLite file or a postgres:// URL.
    pub store: Option<String>,
    pub run_id: Option<String>,
    /// Only resume: a finished run stays finished.
    pub resume: Option<bool>,
}

/// Takes `over` where it says something, else `base`.
fn pick<T>(over: Option<T>, base: Option<T>) -> Option<T> {
    over.or(base)
}

fn pick_vec<T>(over: Vec<T>, base: Vec<T>) -> Vec<T> {
    if over.is_empty() {
        base
    } else {
        over
    }
}

impl Job {
    /// Parses a job file's text. Errors name `origin` with the line and
    /// column, as mapping files do.
    pub fn from_toml(origin: &str, text: &str) -> Result<Job> {
        let mut job: Job = toml::from_str(text).map_err(|e| {
            Error::Invalid(format!("job file {origin}: {}", one_line(&e.to_string())))
        })?;
        job.validate(origin)?;
        job.origin = Some(origin.to_string());
        Ok(job)
    }

    /// Reads a job file. A relative `mapping` path is taken relative to the
    /// file, so a job runs the same from any directory.
    pub fn from_file(path: &Path) -> Result<Job> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Invalid(format!("cannot read job file {origin}: {e}")))?;
        let mut job = Job::from_toml(&origin, &text)?;
        if let (Some(m), Some(dir)) = (&job.mapping, path.parent()) {
            if m.is_relative() {
                job.mapping = Some(dir.join(m));
            }
        }
        Ok(job)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        for t in &self.table_options {
            if has_glob(&t.name) {
                return Err(Error::Invalid(format!(
                    "job file {origin}: [[table]] name = {:?}: per-table options need one table, not a glob",
                    t.name
                )));
            }
        }
        for p in self.tables.iter().chain(&self.exclude) {
            glob_of(p).map_err(|e| Error::Invalid(format!("job file {origin}: {e}")))?;
        }
        Ok(())
    }

    /// `self` with every setting `over` states replacing this one's (the
    /// command line over the job file). Lists replace, not extend: `--tables`
    /// means exactly those tables.
    pub fn overlay(self, over: Job) -> Job {
        let (c, o) = (self.copy, over.copy);
        let (v, ov) = (self.verify, over.verify);
        let (s, os) = (self.state, over.state);
        let mut type_overrides = self.type_overrides;
        type_overrides.extend(over.type_overrides);
        let mut column_overrides = self.column_overrides;
        column_overrides.extend(over.column_overrides);
        let mut table_options = self.table_options;
        for t in over.table_options {
            match table_options.iter_mut().find(|x| x.name == t.name) {
                Some(x) => {
                    x.split |= t.split;
                    x.target = pick(t.target, x.target.take());
                    x.row_filter = pick(t.row_filter, x.row_filter.take());
                    x.columns.extend(t.columns);
                    x.keep = pick_vec(t.keep, std::mem::take(&mut x.keep));
                    x.drop = pick_vec(t.drop, std::mem::take(&mut x.drop));
                    x.rename.extend(t.rename);
                    x.derive.extend(t.derive);
                    x.transform.extend(t.transform);
                    x.check.extend(t.check);
                }
                None => table_options.push(t),
            }
        }
        Job {
            origin: pick(over.origin, self.origin),
            source: pick(over.source, self.source),
            target: pick(over.target, self.target),
            schema: pick(over.schema, self.schema),
            target_schema: pick(over.target_schema, self.target_schema),
            tables: pick_vec(over.tables, self.tables),
            exclude: pick_vec(over.exclude, self.exclude),
            mapping: pick(over.mapping, self.mapping),
            report: pick(over.report, self.report),
            type_overrides,
            column_overrides,
            table_options,
            copy: CopySettings {
                if_exists: pick(o.if_exists, c.if_exists),
                batch_rows: pick(o.batch_rows, c.batch_rows),
                batch_bytes: pick(o.batch_bytes, c.batch_bytes),
                workers: pick(o.workers, c.workers),
                cdc_slot: pick(o.cdc_slot, c.cdc_slot),
                lock_source: pick(o.lock_source, c.lock_source),
                verify: pick(o.verify, c.verify),
                allow_unclean: pick(o.allow_unclean, c.allow_unclean),
                strict: pick(o.strict, c.strict),
                preflight_rows: pick(o.preflight_rows, c.preflight_rows),
                on_error: pick(o.on_error, c.on_error),
                reject_file: pick(o.reject_file, c.reject_file),
                retries: pick(o.retries, c.retries),
                retry_delay_ms: pick(o.retry_delay_ms, c.retry_delay_ms),
                min_range_rows: pick(o.min_range_rows, c.min_range_rows),
                max_ranges: pick(o.max_ranges, c.max_ranges),
            },
            verify: VerifySettings {
                max_diffs: pick(ov.max_diffs, v.max_diffs),
                float_ulps: pick(ov.float_ulps, v.float_ulps),
                chunk_rows: pick(ov.chunk_rows, v.chunk_rows),
                batch_rows: pick(ov.batch_rows, v.batch_rows),
                batch_bytes: pick(ov.batch_bytes, v.batch_bytes),
                parallel_tables: pick(ov.parallel_tables, v.parallel_tables),
                parallel_ranges: pick(ov.parallel_ranges, v.parallel_ranges),
                min_range_rows: pick(ov.min_range_rows, v.min_range_rows),
            },
            state: StateSettings {
                store: pick(os.store, s.store),
                run_id: pick(os.run_id, s.run_id),
                resume: pick(os.resume, s.resume),
            },
        }
    }

    /// The options of one source table, if the job has any.
    pub fn options_for(
        &self,
        table: &TableRef,
        default_schema: Option<&str>,
    ) -> Option<&TableOptions> {
        self.table_options
            .iter()
            .find(|o| names_table(&TableRef::parse(&o.name), table, default_schema))
    }

    /// Tables named with `split = true` (and `--split`).
    pub fn split_tables(&self) -> Vec<TableRef> {
        self.table_options
            .iter()
            .filter(|t| t.split)
            .map(|t| TableRef::parse(&t.name))
            .collect()
    }

    /// Every column override of the job: the inline `[[column]]` ones and
    /// those of `[[table.column]]`, as the mapping layer takes them.
    pub fn all_column_overrides(&self) -> Vec<ColumnOverride> {
        let mut out = self.column_overrides.clone();
        for t in &self.table_options {
            out.extend(t.columns.iter().map(|c| ColumnOverride {
                table: t.name.clone(),
                column: c.name.clone(),
                logical: c.logical.clone(),
                target_type: c.target_type.clone(),
                conversion: c.conversion,
                stored_as: c.stored_as,
            }));
        }
        out
    }

    pub fn if_exists_or_default(&self) -> IfExists {
        self.copy.if_exists.unwrap_or_default()
    }

    pub fn on_error_or_default(&self) -> OnError {
        self.copy.on_error.unwrap_or_default()
    }
}

/// Whether `wanted` (as a user wrote it) names `table`: same name, and the
/// same schema when `wanted` has one. `default_schema` stands in for a
/// table reported without one.
pub fn names_table(wanted: &TableRef, table: &TableRef, default_schema: Option<&str>) -> bool {
    let schema = table.schema.as_deref().or(default_schema);
    wanted.name == table.name && (wanted.schema.is_none() || wanted.schema.as_deref() == schema)
}

/// Whether a pattern holds glob characters.
pub fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// A table pattern: the schema part (never a glob) and the name glob.
#[derive(Debug, Clone)]
pub struct TablePattern {
    pub schema: Option<String>,
    name: glob::Pattern,
    qualified: Option<glob::Pattern>,
}

fn glob_of(p: &str) -> std::result::Result<TablePattern, String> {
    let bad = |e: glob::PatternError| format!("bad table pattern {p:?}: {}", e.msg);
    let t = TableRef::parse(p);
    Ok(TablePattern {
        qualified: t
            .schema
            .as_ref()
            .map(|_| glob::Pattern::new(p))
            .transpose()
            .map_err(bad)?,
        name: glob::Pattern::new(&t.name).map_err(bad)?,
        schema: t.schema,
    })
}

impl TablePattern {
    pub fn parse(p: &str) -> Result<TablePattern> {
        glob_of(p).map_err(Error::Invalid)
    }

    /// Whether `table` (with `default_schema` for a table reported
    /// without one) matches.
    pub fn matches(&self, table: &TableRef, default_schema: Option<&str>) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        match &self.qualified {
            Some(q) => {
                let schema = table.schema.as_deref().or(default_schema).unwrap_or("");
                q.matches_with(&format!("{schema}.{}", table.name), opts)
            }
            None => self.name.matches_with(&table.name, opts),
        }
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|'))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_file_parses_with_tables_options_and_overrides() {
        let job = Job::from_toml(
            "job.toml",
            r#"
source = "postgres://app@db1/app"
target = "mysql://app@db2/app"
tables = ["sales.*", "customers"]
exclude = ["audit_*", "tmp_*"]

[copy]
if_exists = "truncate"
workers = 4
on_error = "reject"

[[table]]
name = "orders"
target = "orders_v2"
split = true
where = "created_at >= '2020-01-01'"

[[table.column]]
name = "total"
target_type = "DECIMAL(20,2)"
"#,
        )
        .unwrap();
        assert_eq!(job.tables, ["sales.*", "customers"]);
        assert_eq!(job.copy.workers, Some(4));
        assert_eq!(job.if_exists_or_default(), IfExists::Truncate);
        assert_eq!(job.on_error_or_default(), OnError::Reject);
        let o = job
            .options_for(&TableRef::new(Some("public"), "orders"), None)
            .unwrap();
        assert_eq!(o.target.as_deref(), Some("orders_v2"));
        assert!(o.row_filter.as_deref().unwrap().starts_with("created_at"));
        assert_eq!(job.split_tables(), [TableRef::new(None, "orders")]);
        let cols = job.all_column_overrides();
        assert_eq!(
            (cols[0].table.as_str(), cols[0].column.as_str()),
            ("orders", "total")
        );
    }

    #[test]
    fn a_bad_job_file_names_file_line_and_column() {
        let e = Job::from_toml("job.toml", "source = \"x\"\n[copy]\nworkerz = 3\n").unwrap_err();
        let line = e.to_string();
        assert!(line.starts_with("job file job.toml: "), "{line}");
        assert!(line.contains("line 3"), "{line}");
        assert!(line.contains("column 1"), "{line}");
        assert!(line.contains("workerz"), "{line}");
    }

    #[test]
    fn flags_override_the_file_and_lists_replace() {
        let file = Job {
            tables: vec!["a".into(), "b".into()],
            copy: CopySettings {
                workers: Some(4),
                batch_rows: Some(100),
                ..Default::default()
            },
            ..Default::default()
        };
        let flags = Job {
            tables: vec!["c".into()],
            copy: CopySettings {
                workers: Some(2),
                ..Default::default()
            },
            ..Default::default()
        };
        let job = file.overlay(flags);
        assert_eq!(job.tables, ["c"]);
        assert_eq!(job.copy.workers, Some(2));
        assert_eq!(job.copy.batch_rows, Some(100));
    }

    #[test]
    fn patterns_match_names_or_qualified_names() {
        let t = TableRef::new(Some("sales"), "orders_2024");
        assert!(TablePattern::parse("sales.*").unwrap().matches(&t, None));
        assert!(!TablePattern::parse("hr.*").unwrap().matches(&t, None));
        assert!(TablePattern::parse("orders_*").unwrap().matches(&t, None));
        assert!(TablePattern::parse("orders_20??")
            .unwrap()
            .matches(&t, None));
        assert!(!TablePattern::parse("Orders_*").unwrap().matches(&t, None));
        // A table reported without a schema takes the default one.
        let m = TableRef::new(None, "audit_log");
        assert!(TablePattern::parse("app.audit_*")
            .unwrap()
            .matches(&m, Some("app")));
    }

    #[test]
    fn per_table_options_refuse_a_glob() {
        let e = Job::from_toml("j.toml", "[[table]]\nname = \"a*\"\n").unwrap_err();
        assert!(e.to_string().contains("not a glob"), "{e}");
    }
}
