//! Binary log events → [`SourceTxn`]s in the copy's Arrow form.
//!
//! The stream starts at a `file:offset` where a transaction ended (the copy's
//! snapshot, or the position the target stored last) and yields every
//! committed transaction after it that changed a synced table, in log
//! order. MariaDB is asked for its own events (`@mariadb_slave_capability
//! = 4`), so a transaction opens with a GTID event (type 162, parsed here:
//! mysql_common does not know it) or, on MySQL, with a `BEGIN` statement, and
//! ends at an XID event (InnoDB) or a `COMMIT` statement (non-transactional
//! engines). The end of that event is the transaction's position.
//!
//! Row values go through a per-column [`BinlogColumn`] (the storage form →
//! what a `SELECT` returns) and then the copy's own [`Decoder`]s. What ferry
//! cannot apply stops the stream with a line naming the table: a statement
//! (DDL, or a change logged as a statement) naming a synced table, a row
//! image that is not FULL, a table whose logged shape differs from the
//! catalog's, partial JSON updates, compressed events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use ferry_core::arrow::plan_schema;
use ferry_core::change::{ChangeBatch, ChangeOp, SourceEvent, SourceTxn};
use ferry_core::{Error, ErrorKind, Result, TablePlan};
use futures_util::StreamExt as _;
use mysql_async::binlog::events::{Event, EventData, RowsEventData};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Value};

use super::ddl::{self, Statement};
use super::position::BinlogPos;
use super::value::BinlogColumn;
use super::{check_source, server_id, start_file_present, table_columns};
use crate::charset::Charset;
use crate::decode::{reads_raw_text, Decoder};
use crate::error::ctx;
use crate::MySqlAdapter;

/// MariaDB event types (not in mysql_common's table).
const MARIADB_GTID: u8 = 162;
const MARIADB_COMPRESSED: std::ops::RangeInclusive<u8> = 166..=171;
/// A GTID event's flag: the event group is one statement (DDL) without
/// BEGIN/COMMIT around it.
const GTID_STANDALONE: u8 = 1;
/// The server sends a heartbeat after this long without an event, so an
/// idle source still says where its log ends (lag 0 when all is applied).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Inside a transaction the rest of it is already in the log: this long
/// without an event means the connection is dead.
const MID_TRANSACTION_SILENCE: Duration = Duration::from_secs(30);

/// One synced table as the stream decodes it.
struct TableState {
    plan: TablePlan,
    schema: SchemaRef,
    db: String,
    /// Columns of the table in the catalog (every logged row has them all).
    width: usize,
    /// For each plan column: its position in the logged row, and how its
    /// logged value becomes the copy's.
    cells: Vec<(usize, BinlogColumn)>,
    /// For each plan column whose logged bytes are text in a legacy
    /// character set: the server's table, for the copy's decoder.
    charsets: Vec<Option<Arc<Charset>>>,
}

struct Run {
    table: usize,
    op: ChangeOp,
    decoders: Vec<Decoder>,
    keys: HashSet<Vec<u8>>,
    rows: usize,
}

struct Txn {
    batches: Vec<ChangeBatch>,
    run: Option<Run>,
}

/// A decoded binary log stream over the job's tables.
pub struct MySqlChangeSource {
    stream: BinlogStream,
    tables: Vec<TableState>,
    /// `(database, table)` of each synced table, for statement checks.
    names: Vec<(String, String)>,
    by_name: HashMap<(String, String), usize>,
    file: String,
    /// Whether the format description event came: the first (fake) rotate
    /// comes before it and its name carries checksum bytes.
    described: bool,
    /// Transactions ending at or before this were applied already.
    after: u64,
    /// Where everything before is read and either yielded or irrelevant:
    /// the end of the last event outside a transaction.
    processed: BinlogPos,
    /// The log's end as the last heartbeat said.
    log_end: u64,
    txn: Option<Txn>,
}

impl MySqlChangeSource {
    /// Starts reading the binary log at `after` (`file:offset`, where a
    /// transaction ended: the copy's snapshot or the target's stored
    /// position). Checks the server settings first, and that the file is
    /// still on the server (a purged log is an error, never a gap).
    pub async fn open(
        adapter: &MySqlAdapter,
        stream_name: &str,
        plans: Vec<TablePlan>,
        after: Option<&str>,
    ) -> Result<MySqlChangeSource> {
        let start = match after {
            Some(text) => BinlogPos::parse(text)?,
            None => {
                return Err(Error::Invalid(format!(
                    "no binary log position to start from: the target holds none for {stream_name} \
                     and no copy recorded one; run `ferry copy --cdc-slot {stream_name}` first"
                )))
            }
        };
        let (mut conn, flavor) = adapter.connect_with_flavor().await?;
        check_source(&mut conn, flavor).await?;
        start_file_present(&mut conn, &start).await?;
        let id = server_id(adapter.url(), stream_name)?;
        let own: Option<u64> = conn
            .query_first("SELECT @@server_id")
            .await
            .map_err(ctx("reading the source's server_id"))?;
        if own == Some(u64::from(id)) {
            return Err(Error::Invalid(format!(
                "the source's server_id is {id}, the id ferry's replica connection would use; \
                 give the source URL another one (server_id=N)"
            )));
        }
        let mut tables = Vec::with_capacity(plans.len());
        for plan in plans {
            tables.push(table_state(adapter, &mut conn, plan).await?);
        }
        for stmt in [
            // MariaDB's own events (GTIDs) rather than MySQL-shaped stand-ins.
            "SET @mariadb_slave_capability = 4".to_string(),
            format!("SET @master_heartbeat_period = {}", HEARTBEAT.as_nanos()),
        ] {
            conn.query_drop(stmt)
                .await
                .map_err(ctx("preparing the binary log stream"))?;
        }
        let request = BinlogStreamRequest::new(id)
            .with_filename(start.file.as_bytes())
            .with_pos(start.offset)
            .with_hostname(b"ferry-sync");
        let stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(|e| stream_error(&start, e))?;
        let names: Vec<(String, String)> = tables
            .iter()
            .map(|t| (t.db.clone(), t.plan.source.name.clone()))
            .collect();
        let by_name = names
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, n)| (n, i))
            .collect();
        Ok(MySqlChangeSource {
            stream,
            tables,
            names,
            by_name,
            file: start.file.clone(),
            described: false,
            after: start.num(),
            log_end: start.num(),
            processed: start,
            txn: None,
        })
    }

    /// The next committed transaction that changed a synced table, or
    /// `Idle` after `idle` without one (also while other tables' changes
    /// stream by, so the caller can check its stop conditions).
    pub async fn next(&mut self, idle: Duration) -> Result<SourceEvent> {
        let started = Instant::now();
        loop {
            let wait = if self.txn.is_some() {
                MID_TRANSACTION_SILENCE
            } else {
                let left = idle.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Ok(self.idle());
                }
                left
            };
            let event = match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) if self.txn.is_none() => return Ok(self.idle()),
                Err(_) => {
                    return Err(Error::query(
                        "reading the binary log",
                        ErrorKind::Transient,
                        "the source stopped sending in the middle of a transaction",
                    ))
                }
                Ok(None) => {
                    return Err(Error::query(
                        "reading the binary log",
                        ErrorKind::Transient,
                        "the source ended the binary log stream",
                    ))
                }
                Ok(Some(Err(e))) => return Err(stream_error(&self.processed, e)),
                Ok(Some(Ok(event))) => event,
            };
            if let Some(txn) = self.handle(&event)? {
                return Ok(SourceEvent::Txn(txn));
            }
        }
    }

    fn idle(&self) -> SourceEvent {
        SourceEvent::Idle {
            wal_end: self.log_end.max(self.processed.num()),
            resume: Some(self.processed.to_string()),
        }
    }

    /// The binary log is the server's, not held for ferry: nothing to release.
    pub fn confirm(&mut self, _position: u64) {}

    /// Ends the stream.
    pub async fn close(self) -> Result<()> {
        self.stream
            .close()
            .await
            .map_err(ctx("closing the binary log stream"))
    }

    fn handle(&mut self, event: &Event) -> Result<Option<SourceTxn>> {
        let header = event.header();
        let end = u64::from(header.log_pos());
        let kind = header.event_type_raw();
        if kind == MARIADB_GTID {
            let flags = event.data().get(12).copied().unwrap_or(0);
            if flags & GTID_STANDALONE == 0 {
                self.begin();
            }
            return Ok(None);
        }
        if MARIADB_COMPRESSED.contains(&kind) {
            return Err(Error::Invalid(
                "the source writes compressed binary log events (log_bin_compress=ON), which \
                 ferry sync cannot read; turn log_bin_compress off"
                    .into(),
            ));
        }
        let data = match event.read_data() {
            Ok(Some(d)) => d,
            // Other MariaDB events (annotations, checkpoints, GTID lists).
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(Error::Bug(format!(
                    "an unreadable binary log event of type {kind}: {e}"
                )))
            }
        };
        match data {
            EventData::FormatDescriptionEvent(_) => self.described = true,
            // The first rotate comes before the format description and its
            // name carries checksum bytes: the requested file is trusted.
            EventData::RotateEvent(r) if self.described => {
                self.file = r.name().into_owned();
                if self.txn.is_none() {
                    self.processed = BinlogPos::new(self.file.clone(), r.position());
                }
            }
            EventData::HeartbeatEvent => {
                self.log_end = self
                    .log_end
                    .max(BinlogPos::new(self.file.clone(), end).num());
            }
            EventData::QueryEvent(q) => {
                let sql = q.query();
                match ddl::classify(&sql) {
                    Statement::Begin => self.begin(),
                    Statement::Commit => return self.commit(end, header.timestamp()),
                    Statement::Other => {
                        if ddl::is_xa(&sql) {
                            return Err(Error::Invalid(
                                "an XA transaction in the source's binary log: ferry sync \
                                 does not follow XA transactions"
                                    .into(),
                            ));
                        }
                        let touched = if ddl::creates_a_table(&sql) {
                            None
                        } else {
                            ddl::touched_table(&sql, &q.schema(), &self.names)
                        };
                        if let Some((db, table)) = touched {
                            // A data change logged as a statement quotes values:
                            // it is named by its kind only.
                            let problem = if ddl::is_data_change(&sql) {
                                "a change logged as a statement (a session with \
                                 binlog_format = STATEMENT or MIXED): ferry sync needs row \
                                 events; set binlog_format = ROW for every session and copy \
                                 the table again"
                                    .to_string()
                            } else {
                                format!(
                                    "DDL on the source while syncing: {}; ferry sync does not \
                                     apply DDL: copy the table again",
                                    statement_excerpt(&sql)
                                )
                            };
                            return Err(Error::Table {
                                table: format!("{db}.{table}"),
                                problem,
                            });
                        }
                        if self.txn.is_none() {
                            self.processed = BinlogPos::new(self.file.clone(), end);
                        }
                    }
                }
            }
            EventData::XidEvent(_) => return self.commit(end, header.timestamp()),
            EventData::RowsEvent(rows) => self.rows(&rows)?,
            EventData::IncidentEvent(_) => {
                return Err(Error::Invalid(
                    "the source logged an incident (changes may be missing from its binary \
                     log): copy the tables again"
                        .into(),
                ))
            }
            _ => {}
        }
        Ok(None)
    }

    fn begin(&mut self) {
        if self.txn.is_none() {
            self.txn = Some(Txn {
                batches: Vec::new(),
                run: None,
            });
        }
    }

    fn commit(&mut self, end: u64, time: u32) -> Result<Option<SourceTxn>> {
        let position = BinlogPos::new(self.file.clone(), end);
        self.processed = position.clone();
        let Some(mut txn) = self.txn.take() else {
            return Ok(None);
        };
        self.flush(&mut txn)?;
        let num = position.num();
        if txn.batches.is_empty() || num <= self.after {
            return Ok(None);
        }
        self.after = num;
        Ok(Some(SourceTxn {
            position: position.to_string(),
            position_num: num,
            commit_time_us: i64::from(time) * 1_000_000,
            batches: txn.batches,
        }))
    }

    fn rows(&mut self, rows: &RowsEventData<'_>) -> Result<()> {
        let Some(tme) = self.stream.get_tme(rows.table_id()) else {
            return Err(Error::Bug(
                "a row event without its table map in the binary log".into(),
            ));
        };
        let key = (
            tme.database_name().into_owned(),
            tme.table_name().into_owned(),
        );
        let Some(&index) = self.by_name.get(&key) else {
            return Ok(());
        };
        let table = &self.tables[index];
        let name = format!("{}.{}", key.0, key.1);
        if usize::try_from(tme.columns_count()).ok() != Some(table.width) {
            return Err(Error::Table {
                table: name,
                problem: format!(
                    "the source table changed while syncing (the binary log has {} columns, the \
                     catalog {}); ferry sync does not apply DDL: copy the table again",
                    tme.columns_count(),
                    table.width
                ),
            });
        }
        if matches!(rows, RowsEventData::PartialUpdateRowsEvent(_)) {
            return Err(Error::Table {
                table: name,
                problem: "a partial JSON update in the binary log \
                          (binlog_row_value_options=PARTIAL_JSON); set it to '' on the source"
                    .into(),
            });
        }
        // Decoded into owned values first: the rows borrow the stream's table map.
        let mut changes: Vec<(ChangeOp, Vec<Value>)> = Vec::new();
        for row in rows.rows(tme) {
            let (before, after) =
                row.map_err(|e| Error::Bug(format!("an unreadable row event for {name}: {e}")))?;
            let before = before.map(|r| logged_values(table, r, &name)).transpose()?;
            let after = after.map(|r| logged_values(table, r, &name)).transpose()?;
            match (before, after) {
                (None, Some(a)) => changes.push((ChangeOp::Upsert, a)),
                (Some(b), None) => changes.push((ChangeOp::Delete, b)),
                (Some(b), Some(a)) => {
                    let moved = table.plan.primary_key.iter().any(|&k| b[k] != a[k]);
                    if moved {
                        changes.push((ChangeOp::Delete, b));
                    }
                    changes.push((ChangeOp::Upsert, a));
                }
                (None, None) => {}
            }
        }
        self.begin();
        for (op, values) in changes {
            self.change(index, op, values)?;
        }
        Ok(())
    }

    fn change(&mut self, table: usize, op: ChangeOp, values: Vec<Value>) -> Result<()> {
        let state = &self.tables[table];
        let plan = &state.plan;
        let key: Vec<u8> = plan
            .primary_key
            .iter()
            .flat_map(|&k| format!("{:?}\u{0}", values[k]).into_bytes())
            .collect();
        let shown_key = key_text(plan, &values);
        let mut txn = self
            .txn
            .take()
            .ok_or_else(|| Error::Bug("a change outside a transaction".into()))?;
        let fits = txn
            .run
            .as_ref()
            .is_some_and(|r| r.table == table && r.op == op && !r.keys.contains(&key));
        if !fits {
            self.flush(&mut txn)?;
            txn.run = Some(new_run(state, table, op)?);
        }
        let run = txn.run.as_mut().expect("a run was just opened");
        let mut failed = None;
        for (i, (dec, value)) in run.decoders.iter_mut().zip(values).enumerate() {
            let keep = op == ChangeOp::Upsert || plan.primary_key.contains(&i);
            if !keep {
                dec.append_null();
            } else if let Err(problem) = dec.push(value) {
                failed.get_or_insert((i, problem));
            }
        }
        run.keys.insert(key);
        run.rows += 1;
        self.txn = Some(txn);
        match failed {
            None => Ok(()),
            Some((i, problem)) => Err(Error::value(
                &plan.source,
                plan.columns[i].name.clone(),
                shown_key,
                problem,
            )),
        }
    }

    fn flush(&self, txn: &mut Txn) -> Result<()> {
        let Some(mut run) = txn.run.take() else {
            return Ok(());
        };
        if run.rows == 0 {
            return Ok(());
        }
        let arrays = run.decoders.iter_mut().map(Decoder::finish).collect();
        let rows = RecordBatch::try_new(self.tables[run.table].schema.clone(), arrays)
            .map_err(|e| Error::Bug(format!("building a change batch: {e}")))?;
        txn.batches.push(ChangeBatch {
            table: run.table,
            op: run.op,
            rows,
            unchanged: Vec::new(),
        });
        Ok(())
    }
}

/// A change's key as error lines show it (`id=7`, `(a=1, b='x')`); keys
/// may be shown, other values never.
fn key_text(plan: &TablePlan, values: &[Value]) -> String {
    let parts: Vec<String> = plan
        .primary_key
        .iter()
        .map(|&k| format!("{}={}", plan.columns[k].name, values[k].as_sql(false)))
        .collect();
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(", ")),
    }
}

fn new_run(state: &TableState, table: usize, op: ChangeOp) -> Result<Run> {
    let decoders = state
        .plan
        .columns
        .iter()
        .zip(&state.charsets)
        .map(|(c, charset)| {
            let dec = Decoder::for_column(c, 64).map_err(|reason| Error::UnsupportedType {
                table: state.plan.source.to_string(),
                column: c.name.clone(),
                ty: c.source_type.clone(),
                reason,
            })?;
            Ok(match charset {
                Some(cs) => dec.with_charset(cs.clone()),
                None => dec,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Run {
        table,
        op,
        decoders,
        keys: HashSet::new(),
        rows: 0,
    })
}

/// A logged row's values for the plan's columns, in the copy's read form.
fn logged_values(table: &TableState, mut row: BinlogRow, name: &str) -> Result<Vec<Value>> {
    if row.len() != table.width {
        return Err(Error::Table {
            table: name.to_string(),
            problem: "a change logged without its full row (binlog_row_image is not FULL for \
                      the session that made it); ferry sync needs every column: set \
                      binlog_row_image = FULL"
                .into(),
        });
    }
    let mut out = Vec::with_capacity(table.cells.len());
    for (i, (cell, conv)) in table.cells.iter().enumerate() {
        let logged = row
            .take(*cell)
            .ok_or_else(|| Error::Bug(format!("a logged row of {name} lacks a column")))?;
        let value = conv.convert(logged).map_err(|problem| {
            Error::value(
                name,
                table.plan.columns[i].name.clone(),
                "(a streamed change)".to_string(),
                problem,
            )
        })?;
        out.push(value);
    }
    Ok(out)
}

/// Reads a synced table's catalog: each plan column's place in a logged
/// row, and how its logged value is read.
async fn table_state(
    adapter: &MySqlAdapter,
    conn: &mut mysql_async::Conn,
    plan: TablePlan,
) -> Result<TableState> {
    let db = adapter.schema_of(&plan.source).to_string();
    let catalog = table_columns(conn, &db, &plan.source.name).await?;
    let mut cells = Vec::with_capacity(plan.columns.len());
    let mut charsets = Vec::with_capacity(plan.columns.len());
    for c in &plan.columns {
        let Some(at) = catalog.iter().position(|(name, _)| *name == c.name) else {
            return Err(Error::Table {
                table: plan.source.to_string(),
                problem: format!("column {} is not in the source catalog", c.name),
            });
        };
        let conv =
            BinlogColumn::for_plan_column(c, catalog[at].1.as_deref()).map_err(|reason| {
                Error::UnsupportedType {
                    table: plan.source.to_string(),
                    column: c.name.clone(),
                    ty: c.source_type.clone(),
                    reason,
                }
            })?;
        // Raw bytes go to a decoder that decodes them as the copy's reader
        // does; a column whose plan reads it otherwise (an override to
        // bytes) takes them as they are.
        let charset = match (&conv, catalog[at].1.as_deref()) {
            (BinlogColumn::RawText, Some(name)) if reads_raw_text(c) => {
                Some(adapter.charset(conn, name).await?)
            }
            _ => None,
        };
        charsets.push(charset);
        cells.push((at, conv));
    }
    // Every change is decoded in the plan's Arrow form, each field nullable:
    // a delete carries only its key.
    let schema = Arc::new(Schema::new(
        plan_schema(&plan)
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    Ok(TableState {
        width: catalog.len(),
        plan,
        schema,
        db,
        cells,
        charsets,
    })
}

/// A statement's first 200 characters, on one line, for an error message.
fn statement_excerpt(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

/// ER_MASTER_FATAL_ERROR_READING_BINLOG: the server cannot send from the
/// requested position (its file purged, or the position invalid).
const BINLOG_UNREADABLE: u16 = 1236;

/// A stream error; the purged (or unreadable) position gets its own line.
fn stream_error(from: &BinlogPos, e: mysql_async::Error) -> Error {
    if crate::error::server_code(&e) == Some(BINLOG_UNREADABLE) {
        return Error::query(
            format!(
                "the source cannot send its binary log from {from} (purged, or not a position \
                 where an event starts): the changes since then are gone; copy the tables again"
            ),
            ErrorKind::Definite,
            e,
        );
    }
    crate::error::query_error("reading the binary log", e)
}
