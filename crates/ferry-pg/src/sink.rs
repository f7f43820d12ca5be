//! The writer: DDL, `IfExists` handling and a binary `COPY … FROM STDIN`
//! inside one transaction.
//!
//! Encoders are chosen from the target's actual column types (read from
//! `pg_attribute` when the table's writer opens), not from the plan's DDL
//! text, because the user may have overridden the target DDL or created the
//! table; they are chosen once per table and reused by every range.

use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use bytes::{Bytes, BytesMut};
use ferry_core::adapter::{RangeWriter, TableWriter, WriteReceipt};
use ferry_core::arrow::{arrow_type, render_key};
use ferry_core::range::KeyRange;
use ferry_core::{Error, IfExists, LogicalType, Result, TablePlan};
use futures_util::{pin_mut, SinkExt};
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::encode::{put_field, PgEncoder, PgTargetType, Typed, COPY_HEADER, COPY_TRAILER};
use crate::error::{ctx, load_ctx};
use crate::{qualified, quote_ident, quote_literal, schema_of, PgAdapter};
use ferry_core::sentkeys::SentKeys;

/// Flush to the server once this much is buffered.
const FLUSH_BYTES: usize = 1 << 20;

/// A bytea value at least this long is not copied into the COPY buffer: it
/// is sent straight from the batch's Arrow buffer, in pieces of this size
/// (COPY data may be cut anywhere between messages), so a large value costs
/// no second copy of itself.
const STREAM_BYTES: usize = 1 << 20;

/// A slice of an Arrow buffer as `bytes::Bytes`, without copying it.
struct ArrowBytes(arrow_buffer::Buffer);

impl AsRef<[u8]> for ArrowBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// The value of `row` when it is a bytea value long enough to stream (see
/// [`STREAM_BYTES`]), as zero-copy bytes.
fn streamed_value(enc: &PgEncoder, col: &Typed<'_>, row: usize) -> Option<Bytes> {
    let (PgEncoder::Bytea, Typed::Binary(a)) = (enc, col) else {
        return None;
    };
    if a.is_null(row) {
        return None;
    }
    let offsets = a.value_offsets();
    let (start, end) = (offsets[row], offsets[row + 1]);
    let len = usize::try_from(end - start).ok()?;
    if len < STREAM_BYTES {
        return None;
    }
    let slice = a
        .values()
        .slice_with_length(usize::try_from(start).ok()?, len);
    Some(Bytes::from_owner(ArrowBytes(slice)))
}

fn enum_ddl(type_name: &str, values: &[String]) -> String {
    let labels: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
    let body = format!("CREATE TYPE {type_name} AS ENUM ({})", labels.join(", "));
    // A dollar-quote tag that cannot occur in the body.
    let mut tag = "$ferry$".to_string();
    while body.contains(&tag) {
        tag.insert(tag.len() - 1, 'x');
    }
    format!("DO {tag} BEGIN {body}; EXCEPTION WHEN duplicate_object THEN NULL; END {tag}")
}

/// The enum types a plan's target needs: (quoted type name, labels).
fn enum_types(plan: &TablePlan) -> Vec<(&str, &[String])> {
    let mut out = Vec::new();
    for c in &plan.columns {
        let (logical, ty) = match &c.logical {
            LogicalType::Array { element } => (
                element.as_ref(),
                c.target_type.trim_end().trim_end_matches("[]"),
            ),
            other => (other, c.target_type.as_str()),
        };
        if let LogicalType::Enum { values, .. } = logical {
            out.push((ty, values.as_slice()));
        }
    }
    out
}

impl TableWriter for PgAdapter {
    type Writer = PgTableWriter;

    fn create_ddl(&self, plan: &TablePlan) -> Vec<String> {
        let mut out = Vec::new();
        let schema = schema_of(&plan.target);
        if schema != "public" {
            out.push(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(schema)
            ));
        }
        for (ty, values) in enum_types(plan) {
            let stmt = enum_ddl(ty, values);
            if !out.contains(&stmt) {
                out.push(stmt);
            }
        }
        let defs = plan.create_table_body(quote_ident);
        out.push(format!(
            "CREATE TABLE {} ({})",
            qualified(&plan.target),
            defs.join(", ")
        ));
        // Comments (the schema plan's target SQL), in the same transaction.
        out.extend(plan.schema.after_create.iter().cloned());
        out
    }

    async fn prepare(&self, plan: &TablePlan, if_exists: IfExists) -> Result<()> {
        let table = plan.target.to_string();
        let target = qualified(&plan.target);
        let client = self.connect().await?;
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&target])
            .await
            .map_err(ctx(format!("checking whether table {table} exists")))?
            .get(0);
        if exists {
            return match if_exists {
                IfExists::Fail => Err(Error::TargetExists { table }),
                IfExists::Truncate => client
                    .batch_execute(&format!("TRUNCATE {target}"))
                    .await
                    .map_err(ctx(format!("truncating table {table}"))),
                IfExists::Append => Ok(()),
            };
        }
        let mut script = String::from("BEGIN;\n");
        for stmt in self.create_ddl(plan) {
            script.push_str(&stmt);
            script.push_str(";\n");
        }
        client
            .batch_execute(&script)
            .await
            .map_err(ctx(format!("creating table {table}")))?;
        // An enum type that already existed must hold the source labels in
        // the same relative order, or values and their sort order change.
        for (type_name, values) in enum_types(plan) {
            let labels: Vec<String> = client
                .query(
                    "SELECT enumlabel::text FROM pg_catalog.pg_enum \
                     WHERE enumtypid = to_regtype($1) ORDER BY enumsortorder",
                    &[&type_name],
                )
                .await
                .map_err(ctx(format!(
                    "checking enum type {type_name} for table {table}"
                )))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let kept: Vec<&String> = labels.iter().filter(|l| values.contains(l)).collect();
            if kept.len() != values.len() || kept.iter().zip(values).any(|(a, b)| *a != b) {
                return Err(Error::Table {
                    table,
                    problem: format!(
                        "enum type {type_name} already exists without the source's labels \
                         in the source's order"
                    ),
                });
            }
        }
        client
            .batch_execute("COMMIT")
            .await
            .map_err(ctx(format!("creating table {table}")))
    }

    async fn check_writable(&self, plan: &TablePlan) -> Result<()> {
        let table = plan.target.to_string();
        let client = self.connect().await?;
        let exists: bool = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&qualified(&plan.target)],
            )
            .await
            .map_err(ctx(format!("checking whether table {table} exists")))?
            .get(0);
        if exists {
            return choose_encoders(&client, plan).await.map(drop);
        }
        // Create the table as prepare would, choose the encoders from its
        // real column types, and take it all back: DDL is transactional here.
        client
            .batch_execute("BEGIN")
            .await
            .map_err(ctx(format!("checking the columns of table {table}")))?;
        let mut created = true;
        for stmt in self.create_ddl(plan) {
            if client.batch_execute(&stmt).await.is_err() {
                created = false;
                break;
            }
        }
        let chosen = if created {
            choose_encoders(&client, plan).await.map(drop)
        } else {
            Ok(())
        };
        client
            .batch_execute("ROLLBACK")
            .await
            .map_err(ctx(format!("checking the columns of table {table}")))?;
        chosen
    }

    async fn open_writer(&self, plan: &TablePlan) -> Result<PgTableWriter> {
        let client = self.connect().await?;
        let encoders = choose_encoders(&client, plan).await?;
        let cols: Vec<String> = plan.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let copy_sql = format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            qualified(&plan.target),
            cols.join(", ")
        );
        let ncols = i16::try_from(plan.columns.len()).map_err(|_| Error::Table {
            table: plan.target.to_string(),
            problem: "too many columns for COPY".into(),
        })?;
        Ok(PgTableWriter {
            adapter: self.clone(),
            plan: Arc::new(plan.clone()),
            encoders,
            copy_sql,
            ncols,
        })
    }

    async fn delete_range(&self, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
        let table = plan.source.to_string();
        if matches!(range, KeyRange::Blocks { .. }) {
            return Err(Error::Bug(format!(
                "table {table}: a block range cannot be deleted from a target"
            )));
        }
        let client = self.connect().await?;
        let keys = match crate::partition::key_columns(&client, plan).await? {
            Ok(keys) => keys,
            Err(reason) => {
                return Err(Error::Table {
                    table,
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
            "DELETE FROM {}{}",
            qualified(&plan.source),
            crate::partition::range_predicate(&keys, range)
        );
        client
            .execute(sql.as_str(), &[])
            .await
            .map_err(ctx(format!("deleting a range of table {table}")))
    }
}

/// One target table's loader: the encoders chosen from the target's real
/// column types when it was opened, reused by every range it loads.
#[derive(Debug)]
pub struct PgTableWriter {
    adapter: PgAdapter,
    plan: Arc<TablePlan>,
    encoders: Vec<PgEncoder>,
    copy_sql: String,
    ncols: i16,
}

impl RangeWriter for PgTableWriter {
    async fn write(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        self.load(rx, true).await
    }

    async fn write_uncommitted(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        self.load(rx, false).await
    }
}

impl PgTableWriter {
    /// One COPY in one transaction, committed when `commit` says so and
    /// rolled back otherwise. A row the server refuses is named by the key
    /// of the line COPY's error context gives.
    async fn load(
        &self,
        mut rx: mpsc::Receiver<RecordBatch>,
        commit: bool,
    ) -> Result<WriteReceipt> {
        let plan = &*self.plan;
        let table = plan.target.to_string();
        let client = self.adapter.connect().await?;
        client
            .batch_execute("BEGIN; SET LOCAL TimeZone = 'UTC'")
            .await
            .map_err(ctx(format!(
                "starting the write transaction for table {table}"
            )))?;
        let sink = client
            .copy_in::<_, Bytes>(&self.copy_sql)
            .await
            .map_err(ctx(format!("starting COPY into table {table}")))?;
        pin_mut!(sink);
        let mut buf = BytesMut::with_capacity(FLUSH_BYTES + FLUSH_BYTES / 4);
        buf.extend_from_slice(COPY_HEADER);
        let ncols = self.ncols;
        let encoders = &self.encoders;
        let mut sent = SentKeys::new(plan);
        // Only bytea columns can hold a value worth streaming; ask once.
        let bytea: Vec<bool> = encoders
            .iter()
            .map(|e| matches!(e, PgEncoder::Bytea))
            .collect();
        while let Some(batch) = rx.recv().await {
            if batch.num_columns() != plan.columns.len() {
                return Err(Error::Bug(format!(
                    "table {table}: batch has {} columns, plan has {}",
                    batch.num_columns(),
                    plan.columns.len()
                )));
            }
            let typed = batch
                .columns()
                .iter()
                .map(|a| Typed::of(a.as_ref()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    Error::Bug(format!("table {table}: batch has an unexpected Arrow type"))
                })?;
            sent.push(&batch);
            for row in 0..batch.num_rows() {
                buf.extend_from_slice(&ncols.to_be_bytes());
                for (i, (enc, col)) in encoders.iter().zip(&typed).enumerate() {
                    if let Some(mut value) =
                        bytea[i].then(|| streamed_value(enc, col, row)).flatten()
                    {
                        let len = i32::try_from(value.len()).map_err(|_| {
                            Error::value(
                                &table,
                                plan.columns[i].name.clone(),
                                render_key(plan, &batch, row),
                                "value larger than 2 GiB",
                            )
                        })?;
                        buf.extend_from_slice(&len.to_be_bytes());
                        sink.send(buf.split().freeze()).await.map_err(load_ctx(
                            plan,
                            Some(&sent),
                            format!("loading table {table}"),
                        ))?;
                        while !value.is_empty() {
                            let piece = value.split_to(value.len().min(STREAM_BYTES));
                            sink.send(piece).await.map_err(load_ctx(
                                plan,
                                Some(&sent),
                                format!("loading table {table}"),
                            ))?;
                        }
                        continue;
                    }
                    if let Err(problem) = put_field(enc, col, row, &mut buf) {
                        return Err(Error::value(
                            &table,
                            plan.columns[i].name.clone(),
                            render_key(plan, &batch, row),
                            problem,
                        ));
                    }
                }
                if buf.len() >= FLUSH_BYTES {
                    sink.send(buf.split().freeze()).await.map_err(load_ctx(
                        plan,
                        Some(&sent),
                        format!("loading table {table}"),
                    ))?;
                }
            }
        }
        buf.extend_from_slice(COPY_TRAILER);
        sink.send(buf.split().freeze()).await.map_err(load_ctx(
            plan,
            Some(&sent),
            format!("loading table {table}"),
        ))?;
        let rows = sink.as_mut().finish().await.map_err(load_ctx(
            plan,
            Some(&sent),
            format!("finishing COPY into table {table}"),
        ))?;
        // Deferred constraints are checked here (no line: the copy finds
        // the row by writing the range again in pieces).
        let end = if commit { "COMMIT" } else { "ROLLBACK" };
        client.batch_execute(end).await.map_err(load_ctx(
            plan,
            None,
            format!("committing table {table}"),
        ))?;
        Ok(WriteReceipt { rows_written: rows })
    }
}

/// Reads the target's column types and picks each column's encoder.
pub(crate) async fn choose_encoders(client: &Client, plan: &TablePlan) -> Result<Vec<PgEncoder>> {
    let table = plan.target.to_string();
    let rows = client
        .query(
            "SELECT a.attname::text, t.typname::text, t.typtype, a.atttypmod, \
             et.oid, et.typname::text, et.typtype, st.typname::text \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type t0 ON t0.oid = a.atttypid \
             JOIN pg_catalog.pg_type t ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END \
             LEFT JOIN pg_catalog.pg_type et0 ON et0.oid = t.typelem AND t.typcategory = 'A' \
             LEFT JOIN pg_catalog.pg_type et ON et.oid = CASE WHEN et0.typtype = 'd' THEN et0.typbasetype ELSE et0.oid END \
             LEFT JOIN pg_catalog.pg_range r ON t.typtype IN ('r', 'm') \
               AND t.oid IN (r.rngtypid, (to_jsonb(r) ->> 'rngmultitypid')::oid) \
             LEFT JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&qualified(&plan.target)],
        )
        .await
        .map_err(ctx(format!("reading the column types of target table {table}")))?;
    let mut targets = std::collections::HashMap::new();
    let mut wants_money = false;
    for r in &rows {
        let name: String = r.get(0);
        let typname: String = r.get(1);
        let typtype: i8 = r.get(2);
        let typmod: i32 = r.get(3);
        let elem_oid: Option<u32> = r.get(4);
        let element = match elem_oid {
            Some(oid) => {
                let et: String = r.get(5);
                let ett: i8 = r.get(6);
                wants_money |= et == "money";
                Some((
                    oid,
                    Box::new(PgTargetType {
                        name: et,
                        typtype: ett.to_ne_bytes()[0],
                        typmod,
                        element: None,
                        subtype: None,
                    }),
                ))
            }
            None => None,
        };
        // Multiranges only exist from PostgreSQL 14 on, hence the column
        // read through to_jsonb above (no error on older servers).
        let subtype: Option<String> = r.get(7);
        wants_money |= typname == "money";
        targets.insert(
            name,
            PgTargetType {
                name: typname,
                typtype: typtype.to_ne_bytes()[0],
                typmod,
                element,
                subtype,
            },
        );
    }
    if targets.is_empty() {
        return Err(Error::MissingTable {
            table,
            database: String::from("the target database"),
        });
    }
    let money_frac = if wants_money {
        let n: i32 = client
            .query_one("SELECT scale(1::money::numeric)", &[])
            .await
            .map_err(ctx(format!("reading the money scale for table {table}")))?
            .get(0);
        u32::try_from(n).ok()
    } else {
        None
    };
    plan.columns
        .iter()
        .map(|c| {
            let t = targets.get(&c.name).ok_or_else(|| Error::Table {
                table: table.clone(),
                problem: format!("the target table has no column {}", c.name),
            })?;
            let dt = arrow_type(&c.logical);
            PgEncoder::choose(&dt, t, c.conversion, money_frac).ok_or_else(|| {
                Error::UnsupportedType {
                    table: table.clone(),
                    column: c.name.clone(),
                    ty: c.target_type.clone(),
                    reason: format!("cannot load Arrow {dt} into PostgreSQL {}", t.name),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_ddl_is_idempotent_and_quoted() {
        let s = enum_ddl("\"mood\"", &["ok".into(), "it's".into()]);
        assert_eq!(
            s,
            "DO $ferry$ BEGIN CREATE TYPE \"mood\" AS ENUM ('ok', 'it''s'); \
             EXCEPTION WHEN duplicate_object THEN NULL; END $ferry$"
        );
        let s = enum_ddl("e", &["$ferry$".into()]);
        assert!(s.starts_with("DO $ferryx$"), "{s}");
    }
}
