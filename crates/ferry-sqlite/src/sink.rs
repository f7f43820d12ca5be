//! The writer: DDL, `prepare`, and one transaction of prepared `INSERT`s
//! per range (SQLite has no COPY; this is its bulk path).
//!
//! SQLite takes one write transaction at a time, so the engine writes one
//! range after another (`concurrent_writers: false`) and each write runs
//! on a blocking thread holding the file's write lock (`BEGIN IMMEDIATE`)
//! from its first row to its commit. A write whose caller gave up (the
//! range's read failed, so its channel closes early) must not commit what
//! it received: the async side's drop raises a flag the thread checks
//! before `COMMIT`, and the transaction is rolled back instead.
//!
//! A target ferry creates is put in WAL mode (readers of the file are not
//! blocked while ranges load) with the default `synchronous = FULL`, so a
//! range is durable when its write returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use ferry_core::adapter::{RangeWriter, TableWriter, WriteReceipt};
use ferry_core::arrow::{arrow_type, render_key};
use ferry_core::range::KeyRange;
use ferry_core::{Error, IfExists, Result, TablePlan, TableRef};
use rusqlite::types::Null;
use rusqlite::Connection;
use tokio::sync::mpsc;

use crate::encode::{self, choose, Column, TargetColumn, Writing};
use crate::error::{ctx, query_error, refusal_class, result_code};
use crate::{blocking, quote_ident, SqliteAdapter};

impl SqliteAdapter {
    /// Whether `table` exists (as any kind of table).
    fn table_exists(conn: &Connection, table: &TableRef) -> Result<bool> {
        conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
            [&table.name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(ctx(format!("checking whether {table} exists")))
    }

    /// The target table's stored columns (generated ones are computed).
    pub fn target_columns(conn: &Connection, table: &TableRef) -> Result<Vec<TargetColumn>> {
        let what = format!("reading the columns of target {table}");
        let mut stmt = conn
            .prepare("SELECT name, type FROM pragma_table_xinfo(?1) WHERE hidden = 0 ORDER BY cid")
            .map_err(ctx(what.clone()))?;
        let rows = stmt
            .query_map([&table.name], |r| {
                Ok(TargetColumn {
                    name: r.get(0)?,
                    declared: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                })
            })
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(ctx(what))?;
        Ok(rows)
    }
}

impl TableWriter for SqliteAdapter {
    type Writer = SqliteTableWriter;

    fn create_ddl(&self, plan: &TablePlan) -> Vec<String> {
        let mut defs = plan.create_table_body(quote_ident);
        // The rowid (a lone INTEGER key of a rowid table) is never NULL:
        // a NOT NULL would only be noise in the catalog a copy back reads.
        if let [k] = plan.primary_key[..] {
            let c = &plan.columns[k];
            if c.target_type.eq_ignore_ascii_case("integer")
                && !plan.schema.table_options.contains("WITHOUT ROWID")
            {
                let with = format!("{} {} NOT NULL", quote_ident(&c.name), c.target_type);
                if let Some(d) = defs.iter_mut().find(|d| d.starts_with(&with)) {
                    *d = d.replacen(" NOT NULL", "", 1);
                }
            }
        }
        // An `INTEGER PRIMARY KEY AUTOINCREMENT` column declares the key itself.
        if plan
            .schema
            .column_suffix
            .iter()
            .any(|s| s.contains(" PRIMARY KEY AUTOINCREMENT"))
        {
            defs.retain(|d| !d.starts_with("PRIMARY KEY ("));
        }
        let mut out = vec![format!(
            "CREATE TABLE {} ({}){}",
            quote_ident(&plan.target.name),
            defs.join(", "),
            plan.schema.table_options
        )];
        out.extend(plan.schema.after_create.iter().cloned());
        out
    }

    async fn prepare(&self, plan: &TablePlan, if_exists: IfExists) -> Result<()> {
        let ddl = self.create_ddl(plan);
        let plan = plan.clone();
        self.with_write(move |conn| {
            let target = &plan.target;
            if Self::table_exists(conn, target)? {
                return match if_exists {
                    IfExists::Fail => Err(Error::TargetExists {
                        table: target.to_string(),
                    }),
                    IfExists::Truncate => conn
                        .execute_batch(&format!("DELETE FROM {}", quote_ident(&target.name)))
                        .map_err(ctx(format!("truncating {target}"))),
                    IfExists::Append => Ok(()),
                };
            }
            // A file ferry fills from empty is put in WAL mode; a user's
            // existing file keeps its journal mode.
            let empty: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
                .map_err(ctx(format!("creating {target}")))?;
            if empty == 0 {
                conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                    .map_err(ctx(format!("creating {target}")))?;
            }
            let mut batch = String::from("BEGIN;\n");
            for s in &ddl {
                batch.push_str(s);
                batch.push_str(";\n");
            }
            batch.push_str("COMMIT;");
            conn.execute_batch(&batch).map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                query_error(format!("creating {target}"), e)
            })
        })
        .await
    }

    /// Every column's writing is chosen against the table as it exists, or
    /// against the declarations `create_ddl` would give it; reading the
    /// columns of a file that is not there yet would create it, so a
    /// missing file is a table still to be created.
    async fn check_writable(&self, plan: &TablePlan) -> Result<()> {
        let targets = if self.path().exists() {
            let p = plan.clone();
            self.with_write(move |conn| Self::target_columns(conn, &p.target))
                .await?
        } else {
            Vec::new()
        };
        let targets = if targets.is_empty() {
            plan.columns
                .iter()
                .map(|c| TargetColumn {
                    name: c.name.clone(),
                    declared: c.target_type.clone(),
                })
                .collect()
        } else {
            targets
        };
        writings(plan, &targets).map(drop)
    }

    async fn open_writer(&self, plan: &TablePlan) -> Result<SqliteTableWriter> {
        let p = plan.clone();
        let targets = self
            .with_write(move |conn| Self::target_columns(conn, &p.target))
            .await?;
        if targets.is_empty() {
            return Err(Error::MissingTable {
                table: plan.target.to_string(),
                database: self.path().display().to_string(),
            });
        }
        let (writings, names) = writings(plan, &targets)?;
        let params: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let insert_sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(&plan.target.name),
            names.join(", "),
            params.join(", ")
        );
        Ok(SqliteTableWriter {
            adapter: self.clone(),
            plan: Arc::new(plan.clone()),
            writings: Arc::new(writings),
            insert_sql: Arc::new(insert_sql),
        })
    }

    async fn delete_range(&self, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
        let table = plan.source.to_string();
        if matches!(range, KeyRange::Blocks { .. }) {
            return Err(Error::Bug(format!(
                "table {table}: a block range cannot be deleted from a target"
            )));
        }
        let keys = crate::partition::key_columns(plan).map_err(|reason| Error::Table {
            table: table.clone(),
            problem: reason,
        })?;
        if keys.is_empty() && !matches!(range, KeyRange::Whole) {
            return Err(Error::Bug(format!(
                "table {table}: a key range on a table without a key"
            )));
        }
        let sql = format!(
            "DELETE FROM {}{}",
            quote_ident(&plan.source.name),
            crate::partition::range_predicate(&keys, range)
        );
        self.with_write(move |conn| {
            conn.execute(&sql, [])
                .map(|n| u64::try_from(n).unwrap_or(u64::MAX))
                .map_err(ctx(format!("deleting a range of table {table}")))
        })
        .await
    }
}

/// How each column of `plan` is bound into `targets` (the target table's
/// columns), and the target's names for them; a column the target lacks or
/// cannot hold fails naming table, column and type.
fn writings(plan: &TablePlan, targets: &[TargetColumn]) -> Result<(Vec<Writing>, Vec<String>)> {
    let table = plan.target.to_string();
    let mut writings = Vec::with_capacity(plan.columns.len());
    let mut names = Vec::with_capacity(plan.columns.len());
    for c in &plan.columns {
        let target = targets
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&c.name))
            .ok_or_else(|| Error::Table {
                table: table.clone(),
                problem: format!("the target has no column {}", c.name),
            })?;
        let w = choose(c, &arrow_type(&c.logical), target).map_err(|reason| {
            Error::UnsupportedType {
                table: table.clone(),
                column: c.name.clone(),
                ty: target.declared.clone(),
                reason,
            }
        })?;
        writings.push(w);
        names.push(quote_ident(&target.name));
    }
    Ok((writings, names))
}

/// One target table's loader: the writings chosen from the target's real
/// columns when it was opened, reused by every range it loads.
#[derive(Debug)]
pub struct SqliteTableWriter {
    adapter: SqliteAdapter,
    plan: Arc<TablePlan>,
    writings: Arc<Vec<Writing>>,
    insert_sql: Arc<String>,
}

/// Raises its flag when dropped while armed: the caller stopped waiting.
struct AbandonedOnDrop(Arc<AtomicBool>, bool);

impl Drop for AbandonedOnDrop {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

impl RangeWriter for SqliteTableWriter {
    async fn write(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        self.load(rx, true).await
    }

    async fn write_uncommitted(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        self.load(rx, false).await
    }
}

impl SqliteTableWriter {
    /// Loads every batch of `rx` in one transaction, committed when
    /// `commit`, else rolled back (nothing of the call is durable).
    async fn load(
        &self,
        mut rx: mpsc::Receiver<RecordBatch>,
        commit: bool,
    ) -> Result<WriteReceipt> {
        let abandoned = Arc::new(AtomicBool::new(false));
        let mut guard = AbandonedOnDrop(abandoned.clone(), true);
        let adapter = self.adapter.clone();
        let (plan, writings, sql) = (
            self.plan.clone(),
            self.writings.clone(),
            self.insert_sql.clone(),
        );
        let out = blocking(move || {
            let target = plan.target.to_string();
            let conn = adapter.open_write()?;
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(ctx(format!("starting the load of {target}")))?;
            let loaded = (|| {
                let mut stmt = conn
                    .prepare(&sql)
                    .map_err(ctx(format!("preparing the load of {target}")))?;
                let mut rows = 0u64;
                while let Some(batch) = rx.blocking_recv() {
                    rows += insert_batch(&mut stmt, &plan, &writings, &batch)?;
                }
                Ok::<u64, Error>(rows)
            })();
            let rows = match loaded {
                Ok(rows) if !abandoned.load(Ordering::SeqCst) => rows,
                Ok(_) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(Error::Bug(format!(
                        "{target}: the load was abandoned by its caller and rolled back"
                    )));
                }
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            };
            if !commit {
                conn.execute_batch("ROLLBACK")
                    .map_err(ctx(format!("rolling back the trial load of {target}")))?;
                return Ok(WriteReceipt { rows_written: rows });
            }
            conn.execute_batch("COMMIT")
                .map_err(ctx(format!("committing the load of {target}")))?;
            Ok(WriteReceipt { rows_written: rows })
        })
        .await;
        guard.1 = false;
        out
    }
}

/// Binds and runs every row of a batch; returns the rows inserted.
fn insert_batch(
    stmt: &mut rusqlite::Statement<'_>,
    plan: &TablePlan,
    writings: &[Writing],
    batch: &RecordBatch,
) -> Result<u64> {
    let table = &plan.target;
    if batch.num_columns() != writings.len() {
        return Err(Error::Bug(format!(
            "{table}: batch has {} columns, plan has {}",
            batch.num_columns(),
            writings.len()
        )));
    }
    let columns: Vec<Column<'_>> = batch
        .columns()
        .iter()
        .enumerate()
        .map(|(c, a)| {
            Column::of(a).ok_or_else(|| {
                Error::Bug(format!(
                    "{table}: column {} arrived as {}",
                    plan.columns[c].name,
                    a.data_type()
                ))
            })
        })
        .collect::<Result<_>>()?;
    for r in 0..batch.num_rows() {
        for (c, (w, col)) in writings.iter().zip(&columns).enumerate() {
            let bound = if batch.column(c).is_null(r) {
                stmt.raw_bind_parameter(c + 1, Null)
            } else {
                let v = encode::value(w, col, r).map_err(|problem| {
                    Error::value(
                        table,
                        plan.columns[c].name.clone(),
                        render_key(plan, batch, r),
                        problem,
                    )
                })?;
                stmt.raw_bind_parameter(c + 1, v)
            };
            bound.map_err(ctx(format!("loading {table}")))?;
        }
        stmt.raw_execute()
            .map_err(|e| refused(table, render_key(plan, batch, r), e))?;
    }
    Ok(u64::try_from(batch.num_rows()).unwrap_or(u64::MAX))
}

/// A row the target refused, by result code (the message may quote it);
/// rows go in one by one, so the refused one is `key`.
fn refused(table: &TableRef, key: String, e: rusqlite::Error) -> Error {
    match result_code(&e).and_then(|(_, ext)| refusal_class(ext).map(|c| (c, ext))) {
        Some((class, code)) => Error::Refused {
            table: table.to_string(),
            column: None,
            key: Some(key),
            reason: format!("{class} ({code})"),
        },
        None => query_error(format!("loading {table}"), e),
    }
}
