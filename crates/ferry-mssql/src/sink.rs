//! The writer: DDL, `prepare`, and TDS bulk loads (`INSERT BULK`, tiberius
//! `bulk_insert_with_options`), one transaction per range, never row-by-row
//! INSERTs.
//!
//! Each load runs `BEGIN TRANSACTION`, `SET IDENTITY_INSERT … ON` when the
//! table has an identity column among those loaded (its values are the
//! source's; the bulk load keeps them, `KEEP_IDENTITY`), the bulk load with
//! `KEEP_NULLS` (a NULL stays NULL rather than taking the column default)
//! and `CHECK_CONSTRAINTS` (an existing table's CHECKs and foreign keys are
//! enforced, and stay trusted), then `COMMIT`. Any failure closes the
//! session, and the server rolls the transaction back: nothing of the
//! range is committed. Identity counters are set past the largest value
//! after the copy, with the schema's sequence statements (see the
//! dialect's `auto_increment`).
//!
//! A row the server refuses (duplicate key, constraint, NOT NULL) is
//! reported by error number and class, never the server's message, which
//! quotes the value.

use std::sync::Arc;

use arrow_array::RecordBatch;
use ferry_core::adapter::{RangeWriter, TableWriter, WriteReceipt};
use ferry_core::arrow::{arrow_type, render_key};
use ferry_core::range::KeyRange;
use ferry_core::{Error, IfExists, Result, TablePlan, TableRef};
use tiberius::{ColumnData, SqlBulkCopyOption, TokenRow};
use tokio::sync::mpsc;

use crate::catalog::{flag, int, object_name, rows, text};
use crate::encode::{choose, Encoder, TargetColumn};
use crate::error::{ctx, load_error};
use crate::{close, qualified, quote_ident, simple, Client, MssqlAdapter};

/// The binary collation text columns of tables ferry creates get (through
/// the write rules of `mappings/mssql.toml`): values distinct in the source
/// (`abc`/`ABC`, `resume`/`résumé`) stay distinct in a unique key.
pub const BINARY_COLLATION: &str = "Latin1_General_100_BIN2";

impl MssqlAdapter {
    /// `CREATE TABLE` and the statements that follow it (comments).
    pub fn create_statements(&self, plan: &TablePlan) -> Vec<String> {
        let parts = plan.create_table_body(quote_ident);
        let mut out = Vec::new();
        let schema = crate::schema_of(&plan.target);
        if schema != crate::DEFAULT_SCHEMA {
            // CREATE SCHEMA must be alone in its batch: run it through EXEC.
            out.push(format!(
                "IF SCHEMA_ID({}) IS NULL EXEC({})",
                crate::quote_literal(schema),
                crate::quote_literal(&format!("CREATE SCHEMA {}", quote_ident(schema)))
            ));
        }
        out.push(format!(
            "CREATE TABLE {} ({}){}",
            qualified(&plan.target),
            parts.join(", "),
            plan.schema.table_options
        ));
        out.extend(plan.schema.after_create.iter().cloned());
        out
    }

    /// The target table's columns as `sys.columns` describes them.
    pub async fn target_columns(
        client: &mut Client,
        table: &TableRef,
    ) -> Result<Vec<TargetColumn>> {
        let obj = object_name(table);
        let r = rows(
            client,
            "SELECT c.name, COALESCE(TYPE_NAME(t.system_type_id), t.name), c.max_length, \
                    c.precision, c.scale, c.is_identity, \
                    CASE WHEN c.is_computed = 1 OR t.system_type_id = 189 THEN 1 ELSE 0 END \
             FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id \
             WHERE c.object_id = OBJECT_ID(@P1, 'U') ORDER BY c.column_id",
            &[&obj.as_str()],
        )
        .await
        .map_err(ctx(format!("reading the columns of target {table}")))?;
        Ok(r.iter()
            .map(|r| TargetColumn {
                name: text(&r[0]).unwrap_or_default(),
                type_name: text(&r[1]).unwrap_or_default().to_ascii_lowercase(),
                max_length: int(&r[2]).and_then(|n| i16::try_from(n).ok()).unwrap_or(0),
                precision: int(&r[3]).and_then(|n| u8::try_from(n).ok()).unwrap_or(0),
                scale: int(&r[4]).and_then(|n| u8::try_from(n).ok()).unwrap_or(0),
                identity: flag(&r[5]),
                computed: flag(&r[6]),
            })
            .collect())
    }

    /// One encoder per plan column, from the Arrow type and the real target
    /// column; plus whether an identity column is among them.
    pub fn encoders(plan: &TablePlan, targets: &[TargetColumn]) -> Result<(Vec<Encoder>, bool)> {
        let table = plan.target.to_string();
        if targets.is_empty() {
            return Err(Error::MissingTable {
                table: table.clone(),
                database: crate::schema_of(&plan.target).to_string(),
            });
        }
        let mut identity = false;
        let encoders = plan
            .columns
            .iter()
            .map(|c| {
                let target = targets
                    .iter()
                    .find(|t| t.name == c.name)
                    .or_else(|| {
                        targets
                            .iter()
                            .find(|t| t.name.eq_ignore_ascii_case(&c.name))
                    })
                    .ok_or_else(|| Error::Table {
                        table: table.clone(),
                        problem: format!("the target has no column {}", c.name),
                    })?;
                identity |= target.identity;
                choose(c, &arrow_type(&c.logical), target).map_err(|reason| {
                    Error::UnsupportedType {
                        table: table.clone(),
                        column: c.name.clone(),
                        ty: target.display(),
                        reason,
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((encoders, identity))
    }
}

impl TableWriter for MssqlAdapter {
    type Writer = MssqlTableWriter;

    fn create_ddl(&self, plan: &TablePlan) -> Vec<String> {
        self.create_statements(plan)
    }

    async fn prepare(&self, plan: &TablePlan, if_exists: IfExists) -> Result<()> {
        let mut client = self.connect().await?;
        let target = &plan.target;
        let res = async {
            let obj = object_name(target);
            let found = rows(&mut client, "SELECT OBJECT_ID(@P1)", &[&obj.as_str()])
                .await
                .map_err(ctx(format!("checking whether {target} exists")))?;
            let exists = found.first().and_then(|r| int(&r[0])).is_some();
            if exists {
                match if_exists {
                    IfExists::Fail => {
                        return Err(Error::TargetExists {
                            table: target.to_string(),
                        })
                    }
                    IfExists::Truncate => simple(
                        &mut client,
                        &format!("TRUNCATE TABLE {}", qualified(target)),
                    )
                    .await
                    .map_err(ctx(format!("truncating {target}")))?,
                    IfExists::Append => {}
                }
            } else {
                // One transaction: a table is created with its comments or not at all.
                let mut batch = String::from("BEGIN TRANSACTION;\n");
                for stmt in self.create_statements(plan) {
                    batch.push_str(&stmt);
                    batch.push_str(";\n");
                }
                batch.push_str("COMMIT;");
                simple(&mut client, &batch)
                    .await
                    .map_err(ctx(format!("creating {target}")))?;
            }
            Ok(())
        }
        .await;
        close(client).await;
        res
    }

    async fn check_writable(&self, plan: &TablePlan) -> Result<()> {
        let mut client = self.connect().await?;
        let targets = MssqlAdapter::target_columns(&mut client, &plan.target).await;
        close(client).await;
        let targets = targets?;
        // A table that does not exist yet: the columns its DDL declares.
        let targets = if targets.is_empty() {
            plan.columns
                .iter()
                .map(|c| crate::encode::target_from_ddl(&c.name, &c.target_type))
                .collect()
        } else {
            targets
        };
        MssqlAdapter::encoders(plan, &targets).map(drop)
    }

    async fn open_writer(&self, plan: &TablePlan) -> Result<MssqlTableWriter> {
        let mut client = self.connect().await?;
        let targets = MssqlAdapter::target_columns(&mut client, &plan.target).await;
        close(client).await;
        let (encoders, identity) = MssqlAdapter::encoders(plan, &targets?)?;
        Ok(MssqlTableWriter {
            adapter: self.clone(),
            plan: Arc::new(plan.clone()),
            encoders: Arc::new(encoders),
            identity,
        })
    }

    async fn delete_range(&self, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
        let table = plan.source.to_string();
        if matches!(range, KeyRange::Blocks { .. }) {
            return Err(Error::Bug(format!(
                "table {table}: a block range cannot be deleted from a target"
            )));
        }
        let mut client = self.connect().await?;
        let res = async {
            let keys = match crate::partition::key_columns(&mut client, plan).await? {
                Ok(keys) => keys,
                Err(reason) => {
                    return Err(Error::Table {
                        table: table.clone(),
                        problem: reason,
                    })
                }
            };
            if keys.is_empty() && !matches!(range, KeyRange::Whole) {
                return Err(Error::Bug(format!(
                    "table {table}: a key range on a table without a key"
                )));
            }
            let sql = format!(
                "DELETE FROM {}{}; SELECT CAST(@@ROWCOUNT AS bigint);",
                qualified(&plan.source),
                crate::partition::range_predicate(&keys, range)
            );
            let r = client
                .simple_query(sql)
                .await
                .map_err(ctx(format!("deleting a range of table {table}")))?
                .into_first_result()
                .await
                .map_err(ctx(format!("deleting a range of table {table}")))?;
            Ok(r.first()
                .and_then(|row| row.get::<i64, _>(0))
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0))
        }
        .await;
        close(client).await;
        res
    }
}

/// One target table's loader: the encoders chosen when it was opened.
pub struct MssqlTableWriter {
    adapter: MssqlAdapter,
    plan: Arc<TablePlan>,
    encoders: Arc<Vec<Encoder>>,
    identity: bool,
}

impl MssqlTableWriter {
    fn check_batch(&self, batch: &RecordBatch) -> Result<()> {
        let table = &self.plan.target;
        if batch.num_columns() != self.encoders.len() {
            return Err(Error::Bug(format!(
                "{table}: batch has {} columns, plan has {}",
                batch.num_columns(),
                self.encoders.len()
            )));
        }
        for (c, col) in self.plan.columns.iter().enumerate() {
            if batch.column(c).data_type() != &arrow_type(&col.logical) {
                return Err(Error::Bug(format!(
                    "{table}: column {} arrived as {} instead of {}",
                    col.name,
                    batch.column(c).data_type(),
                    arrow_type(&col.logical)
                )));
            }
        }
        Ok(())
    }

    /// Encodes a batch into rows, column by column.
    fn encode(&self, batch: &RecordBatch) -> Result<Vec<TokenRow<'static>>> {
        self.check_batch(batch)?;
        let n = batch.num_rows();
        let mut columns: Vec<std::vec::IntoIter<ColumnData<'static>>> =
            Vec::with_capacity(self.encoders.len());
        for (c, enc) in self.encoders.iter().enumerate() {
            let mut out = Vec::with_capacity(n);
            enc.encode_column(batch.column(c), &mut out)
                .map_err(|(row, problem)| {
                    Error::value(
                        &self.plan.target,
                        self.plan.columns[c].name.clone(),
                        render_key(&self.plan, batch, row),
                        problem,
                    )
                })?;
            columns.push(out.into_iter());
        }
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let mut row = TokenRow::with_capacity(columns.len());
            for col in columns.iter_mut() {
                row.push(col.next().unwrap_or(ColumnData::I32(None)));
            }
            rows.push(row);
        }
        Ok(rows)
    }

    /// Loads every batch of `rx` in one transaction, committed when
    /// `commit`, else rolled back (nothing of the call is durable).
    async fn load(
        &self,
        client: &mut Client,
        mut rx: mpsc::Receiver<RecordBatch>,
        commit: bool,
    ) -> Result<u64> {
        let table = self.plan.target.to_string();
        let target = qualified(&self.plan.target);
        simple(client, "BEGIN TRANSACTION")
            .await
            .map_err(ctx(format!("starting the load of {table}")))?;
        if self.identity {
            simple(client, &format!("SET IDENTITY_INSERT {target} ON"))
                .await
                .map_err(ctx(format!("allowing identity values into {table}")))?;
        }
        let names: Vec<String> = self
            .plan
            .columns
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut options = SqlBulkCopyOption::KeepNulls | SqlBulkCopyOption::CheckConstraints;
        if self.identity {
            options |= SqlBulkCopyOption::KeepIdentity;
        }
        let mut sent: u64 = 0;
        {
            let mut req = client
                .bulk_insert_with_options(&target, &names, options, &[])
                .await
                .map_err(|e| load_error(&table, e))?;
            while let Some(batch) = rx.recv().await {
                let rows = self.encode(&batch)?;
                for (i, row) in rows.into_iter().enumerate() {
                    req.send(row).await.map_err(|e| match e {
                        // A value tiberius could not put in the column's
                        // wire form (a character the varchar's code page
                        // lacks, a string longer than the column).
                        tiberius::error::Error::BulkInput(_)
                        | tiberius::error::Error::Encoding(_) => Error::value(
                            &self.plan.target,
                            "(a text or binary column)",
                            render_key(&self.plan, &batch, i),
                            "a value the column cannot hold: too long, or a character its \
                             code page lacks (use nvarchar)",
                        ),
                        e => load_error(&table, e),
                    })?;
                }
                sent += u64::try_from(batch.num_rows()).unwrap_or(u64::MAX);
            }
            req.finalize().await.map_err(|e| load_error(&table, e))?;
        }
        if self.identity {
            simple(client, &format!("SET IDENTITY_INSERT {target} OFF"))
                .await
                .map_err(ctx(format!("loading table {table}")))?;
        }
        let end = if commit { "COMMIT" } else { "ROLLBACK" };
        simple(client, end)
            .await
            .map_err(|e| load_error(&table, e))?;
        Ok(sent)
    }
}

impl RangeWriter for MssqlTableWriter {
    async fn write(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        let mut client = self.adapter.connect().await?;
        let out = self.load(&mut client, rx, true).await;
        // On failure the session's open transaction dies with it.
        close(client).await;
        Ok(WriteReceipt { rows_written: out? })
    }

    async fn write_uncommitted(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        let mut client = self.adapter.connect().await?;
        let out = self.load(&mut client, rx, false).await;
        close(client).await;
        Ok(WriteReceipt { rows_written: out? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::{ColumnPlan, DbUrl};

    #[test]
    fn tables_are_created_in_their_schema_with_the_planned_types() {
        let a = MssqlAdapter::new(DbUrl::parse("mssql://sa:pw@h/db").unwrap());
        let col = |name: &str, ty: &str, nullable| ColumnPlan {
            name: name.into(),
            target_type: ty.into(),
            nullable,
            ..ColumnPlan::default()
        };
        let plan = TablePlan {
            target: TableRef::new(Some("sales"), "o'x"),
            columns: vec![
                col("id", "int", false),
                col("n", "nvarchar(20) COLLATE Latin1_General_100_BIN2", true),
            ],
            primary_key: vec![0],
            ..TablePlan::default()
        };
        let ddl = a.create_ddl(&plan);
        assert_eq!(
            ddl[0],
            "IF SCHEMA_ID(N'sales') IS NULL EXEC(N'CREATE SCHEMA [sales]')"
        );
        assert_eq!(
            ddl[1],
            "CREATE TABLE [sales].[o'x] ([id] int NOT NULL, \
             [n] nvarchar(20) COLLATE Latin1_General_100_BIN2, PRIMARY KEY ([id]))"
        );
        let plan = TablePlan {
            target: TableRef::new(Some("dbo"), "t"),
            ..plan
        };
        assert!(a.create_ddl(&plan)[0].starts_with("CREATE TABLE [dbo].[t]"));
    }
}
