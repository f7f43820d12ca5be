//! pgoutput messages → [`SourceTxn`]s in the copy's Arrow form.
//!
//! Values arrive in binary (`*_send`), the wire form the copy's
//! [`ColumnDecoder`]s read, so a change is decoded exactly as a copied row.
//! Types the copy reads through a cast (inet, bit, timetz, money …) arrive
//! in a binary form the copy never sees; [`ColumnDecoder::for_change`]
//! renders it as that cast would. A column no decoder takes is refused when
//! the sync starts, never mis-decoded.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use ferry_core::arrow::plan_schema;
use ferry_core::change::{ChangeBatch, ChangeOp, SourceEvent, SourceTxn};
use ferry_core::{Error, Result, TablePlan, TableRef};

use super::pgoutput::{self, format_lsn, Cell, Lsn, Message};
use super::stream::{LogicalStream, StreamItem, PG_EPOCH_OFFSET_US};
use crate::decode::ColumnDecoder;
use crate::replication::ReplicationConn;
use crate::PgAdapter;

struct Relation {
    table: usize,
    /// For each plan column, its index in the relation's tuples.
    cells: Vec<usize>,
}

struct Run {
    table: usize,
    op: ChangeOp,
    unchanged: Vec<usize>,
    decoders: Vec<ColumnDecoder>,
    keys: HashSet<Vec<u8>>,
    rows: usize,
}

struct Txn {
    end: Lsn,
    batches: Vec<ChangeBatch>,
    run: Option<Run>,
}

/// A decoded logical replication stream over the job's tables.
pub struct PgChangeSource {
    stream: LogicalStream,
    plans: Vec<TablePlan>,
    schemas: Vec<SchemaRef>,
    by_name: HashMap<TableRef, usize>,
    relations: HashMap<u32, Relation>,
    /// Transactions ending at or before this were applied already.
    after: Lsn,
    wal_end: Lsn,
    txn: Option<Txn>,
    /// Fractional digits of the server's money type.
    money_scale: u32,
}

impl PgChangeSource {
    /// Starts streaming `slot` (publication of the same name). `after` is
    /// the position the target stored last: transactions ending there or
    /// earlier are skipped, so a restart applies nothing twice.
    pub async fn open(
        adapter: &PgAdapter,
        slot: &str,
        plans: Vec<TablePlan>,
        after: Option<&str>,
    ) -> Result<PgChangeSource> {
        let conn = adapter.connect().await?;
        let money_scale = if plans.iter().flat_map(|p| &p.columns).any(|c| {
            c.raw.name == "money" || c.raw.element.as_ref().is_some_and(|e| e.name == "money")
        }) {
            let scale: i32 = conn
                .query_one("SELECT scale(1::money::numeric)", &[])
                .await
                .map_err(crate::error::ctx("reading the server's money scale"))?
                .get(0);
            u32::try_from(scale).unwrap_or(2)
        } else {
            2
        };
        drop(conn);
        for p in &plans {
            let schema = plan_schema(p);
            for (c, f) in p.columns.iter().zip(schema.fields()) {
                if ColumnDecoder::for_change(&c.raw, f.data_type(), money_scale).is_none() {
                    return Err(Error::UnsupportedType {
                        table: p.source.to_string(),
                        column: c.name.clone(),
                        ty: c.source_type.clone(),
                        reason: "ferry sync cannot carry this type's changes yet".into(),
                    });
                }
            }
        }
        let after = match after {
            Some(s) => pgoutput::parse_lsn(s)
                .ok_or_else(|| Error::Invalid(format!("unreadable stored position {s}")))?,
            None => 0,
        };
        let conn = ReplicationConn::connect(adapter.url()).await?;
        let stream = conn
            .start_logical(slot, &super::publication_name(slot), after)
            .await?;
        let schemas = plans
            .iter()
            .map(|p| {
                let s = plan_schema(p);
                let fields: Vec<_> = s
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone().with_nullable(true))
                    .collect();
                Arc::new(Schema::new(fields))
            })
            .collect();
        let by_name = plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p.source.clone(), i))
            .collect();
        Ok(PgChangeSource {
            stream,
            plans,
            schemas,
            by_name,
            relations: HashMap::new(),
            after,
            wal_end: 0,
            txn: None,
            money_scale,
        })
    }

    /// The next committed transaction, or `Idle` after `idle` without one.
    pub async fn next(&mut self, idle: Duration) -> Result<SourceEvent> {
        loop {
            let (data, wal_end) = match self.stream.next(idle).await? {
                StreamItem::Data { data, wal_end } => (data, wal_end),
                StreamItem::Keepalive { wal_end } => {
                    self.wal_end = self.wal_end.max(wal_end);
                    if self.txn.is_none() {
                        return Ok(SourceEvent::Idle {
                            wal_end: self.wal_end,
                            resume: None,
                        });
                    }
                    continue;
                }
                StreamItem::Idle => {
                    // Ask for a keepalive: it carries how far the server has
                    // decoded, so an idle source still shows where it is.
                    self.stream.send_status(true).await?;
                    if self.txn.is_none() {
                        return Ok(SourceEvent::Idle {
                            wal_end: self.wal_end,
                            resume: None,
                        });
                    }
                    continue;
                }
            };
            self.wal_end = self.wal_end.max(wal_end);
            let message = pgoutput::parse(&data)
                .map_err(|e| Error::Bug(format!("malformed pgoutput message: {e}")))?;
            if let Some(txn) = self.handle(message)? {
                return Ok(SourceEvent::Txn(txn));
            }
        }
    }

    /// The target has durably applied everything up to `position`: the slot
    /// may free the WAL before it.
    pub fn confirm(&mut self, position: u64) {
        self.stream.set_applied(position);
    }

    /// Reports the applied position and ends the stream.
    pub async fn close(self) -> Result<()> {
        self.stream.stop().await
    }

    fn handle(&mut self, m: Message) -> Result<Option<SourceTxn>> {
        match m {
            Message::Begin { final_lsn, .. } => {
                self.txn = Some(Txn {
                    end: final_lsn,
                    batches: Vec::new(),
                    run: None,
                });
            }
            Message::Commit {
                end_lsn,
                commit_time,
                ..
            } => {
                let Some(mut txn) = self.txn.take() else {
                    return Err(Error::Bug("pgoutput: commit without begin".into()));
                };
                self.flush(&mut txn)?;
                // The next start point must be past the commit record.
                txn.end = end_lsn;
                if end_lsn <= self.after {
                    return Ok(None);
                }
                self.after = end_lsn;
                return Ok(Some(SourceTxn {
                    position: format_lsn(end_lsn),
                    position_num: end_lsn,
                    commit_time_us: commit_time + PG_EPOCH_OFFSET_US,
                    batches: txn.batches,
                }));
            }
            Message::Relation {
                oid,
                namespace,
                name,
                columns,
                ..
            } => {
                let table = TableRef::new(Some(&namespace), &name);
                let Some(&index) = self.by_name.get(&table) else {
                    return Ok(None);
                };
                let plan = &self.plans[index];
                let mut cells = Vec::with_capacity(plan.columns.len());
                for c in &plan.columns {
                    match columns.iter().position(|r| r.name == c.name) {
                        Some(i) => cells.push(i),
                        None => {
                            return Err(Error::Table {
                                table: table.to_string(),
                                problem: format!(
                                    "the source table changed while syncing (column {} is \
                                     gone); ferry sync does not apply DDL: copy the table again",
                                    c.name
                                ),
                            })
                        }
                    }
                }
                if columns.len() != cells.len() {
                    return Err(Error::Table {
                        table: table.to_string(),
                        problem: "the source table changed while syncing (a column was added); \
                                  ferry sync does not apply DDL: copy the table again"
                            .into(),
                    });
                }
                self.relations.insert(
                    oid,
                    Relation {
                        table: index,
                        cells,
                    },
                );
            }
            Message::Insert { oid, new } => self.change(oid, ChangeOp::Upsert, &new)?,
            Message::Update { oid, old, mut new } => {
                if let Some(old) = old {
                    // REPLICA IDENTITY FULL sends the whole old row: it holds
                    // the values an unchanged-TOAST cell leaves out.
                    for (n, o) in new.iter_mut().zip(&old) {
                        if *n == Cell::UnchangedToast && matches!(o, Cell::Binary(_)) {
                            *n = o.clone();
                        }
                    }
                    if self.key_bytes(oid, &old)? != self.key_bytes(oid, &new)? {
                        if new.contains(&Cell::UnchangedToast) {
                            let table = self.plans[self.relation(oid)?.table].source.to_string();
                            return Err(Error::Table {
                                table: table.clone(),
                                problem: format!(
                                    "an UPDATE changed a row's primary key and left its out-of-line \
                                     (TOAST) values untouched, so the change does not carry them; \
                                     run ALTER TABLE {table} REPLICA IDENTITY FULL on the source \
                                     (the old row is then sent whole) and copy the table again"
                                ),
                            });
                        }
                        self.change(oid, ChangeOp::Delete, &old)?;
                    }
                }
                self.change(oid, ChangeOp::Upsert, &new)?;
            }
            Message::Delete { oid, old } => self.change(oid, ChangeOp::Delete, &old)?,
            Message::Truncate { oids } => {
                let names: Vec<String> = oids
                    .iter()
                    .filter_map(|o| self.relations.get(o))
                    .map(|r| self.plans[r.table].source.to_string())
                    .collect();
                if !names.is_empty() {
                    return Err(Error::Table {
                        table: names.join(", "),
                        problem: "TRUNCATE on the source while syncing; ferry sync does not \
                                  apply it: copy the table again"
                            .into(),
                    });
                }
            }
            Message::Other(_) => {}
        }
        Ok(None)
    }

    fn relation(&self, oid: u32) -> Result<&Relation> {
        self.relations.get(&oid).ok_or_else(|| {
            Error::Bug(format!(
                "pgoutput: a change of relation {oid} before its description"
            ))
        })
    }

    fn key_bytes(&self, oid: u32, cells: &[Cell]) -> Result<Vec<u8>> {
        let rel = self.relation(oid)?;
        let mut out = Vec::new();
        for &k in &self.plans[rel.table].primary_key {
            match cells.get(rel.cells[k]) {
                Some(Cell::Binary(v) | Cell::Text(v)) => {
                    out.extend_from_slice(&v.len().to_be_bytes());
                    out.extend_from_slice(v);
                }
                _ => out.extend_from_slice(&u32::MAX.to_be_bytes()),
            }
        }
        Ok(out)
    }

    fn change(&mut self, oid: u32, op: ChangeOp, cells: &[Cell]) -> Result<()> {
        let Some(rel) = self.relations.get(&oid) else {
            // A table of the publication that is not in the job.
            return Ok(());
        };
        let table = rel.table;
        let positions = rel.cells.clone();
        let key = self.key_bytes(oid, cells)?;
        let unchanged: Vec<usize> = match op {
            ChangeOp::Delete => Vec::new(),
            ChangeOp::Upsert => positions
                .iter()
                .enumerate()
                .filter(|(_, &c)| matches!(cells.get(c), Some(Cell::UnchangedToast)))
                .map(|(i, _)| i)
                .collect(),
        };
        let mut txn = self
            .txn
            .take()
            .ok_or_else(|| Error::Bug("pgoutput: a change outside a transaction".into()))?;
        let fits = txn.run.as_ref().is_some_and(|r| {
            r.table == table && r.op == op && r.unchanged == unchanged && !r.keys.contains(&key)
        });
        if !fits {
            self.flush(&mut txn)?;
            txn.run = Some(self.new_run(table, op, unchanged)?);
        }
        let plan = &self.plans[table];
        let run = txn.run.as_mut().expect("a run was just opened");
        let result = (|| {
            for (i, dec) in run.decoders.iter_mut().enumerate() {
                let keep = op == ChangeOp::Upsert || plan.primary_key.contains(&i);
                match cells.get(positions[i]) {
                    Some(Cell::Binary(v)) if keep => dec.append(v).map_err(|p| (i, p))?,
                    Some(Cell::Text(_)) if keep => return Err((i, "a value arrived as text")),
                    _ => dec.append_null(),
                }
            }
            Ok(())
        })();
        run.keys.insert(key);
        run.rows += 1;
        self.txn = Some(txn);
        result.map_err(|(i, problem)| {
            Error::value(
                plan.source.to_string(),
                plan.columns[i].name.clone(),
                "(a streamed change)".to_string(),
                problem,
            )
        })
    }

    fn new_run(&self, table: usize, op: ChangeOp, unchanged: Vec<usize>) -> Result<Run> {
        let plan = &self.plans[table];
        let decoders = plan
            .columns
            .iter()
            .zip(self.schemas[table].fields())
            .map(|(c, f)| {
                ColumnDecoder::for_change(&c.raw, f.data_type(), self.money_scale).ok_or_else(
                    || Error::UnsupportedType {
                        table: plan.source.to_string(),
                        column: c.name.clone(),
                        ty: c.source_type.clone(),
                        reason: format!("the PostgreSQL reader cannot produce {}", c.logical),
                    },
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Run {
            table,
            op,
            unchanged,
            decoders,
            keys: HashSet::new(),
            rows: 0,
        })
    }

    fn flush(&self, txn: &mut Txn) -> Result<()> {
        let Some(mut run) = txn.run.take() else {
            return Ok(());
        };
        if run.rows == 0 {
            return Ok(());
        }
        let arrays = run.decoders.iter_mut().map(|d| d.finish()).collect();
        let rows = RecordBatch::try_new(self.schemas[run.table].clone(), arrays)
            .map_err(|e| Error::Bug(format!("building a change batch: {e}")))?;
        txn.batches.push(ChangeBatch {
            table: run.table,
            op: run.op,
            rows,
            unchanged: run.unchanged,
        });
        Ok(())
    }
}
