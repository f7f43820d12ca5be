//! The writer: DDL, `prepare`, and one streamed `LOAD DATA LOCAL INFILE` per table.
//!
//! LOAD DATA LOCAL is the fastest bulk path MySQL and MariaDB have, but it
//! behaves as `IGNORE`: a value the column cannot hold becomes a warning and
//! a clamped, rounded or truncated value. So ferry (1) refuses such values
//! itself while encoding (see [`crate::encode`]), naming the key, and (2)
//! after the statement compares affected rows with rows sent and the warning
//! count with zero; any difference rolls the transaction back.
//!
//! The file is declared `CHARACTER SET binary`: the server then takes the
//! bytes as they are, so blobs with any byte and 4-byte UTF-8 both arrive
//! untouched (every text value is valid UTF-8 already, being Arrow `Utf8`,
//! and the tables ferry creates are utf8mb4).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use bytes::Bytes;
use ferry_core::adapter::{RangeWriter, TableWriter, WriteReceipt};
use ferry_core::arrow::{arrow_type, render_key};
use ferry_core::range::KeyRange;
use ferry_core::sentkeys::SentKeys;
use ferry_core::{Error, IfExists, Result, TablePlan, TableRef};
use futures_util::stream::{self, StreamExt as _};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, InfileData, Row};
use tokio::sync::mpsc;

use crate::catalog::{text, uint};
use crate::charset::{writes_encoded, Charset};
use crate::encode::{
    charset_fits, choose, encode_batch, ColumnEncoder, Encoder, FieldBuf, TargetColumn,
};
use crate::error::{ctx, query_error, refusal_class, server_code, LOCAL_INFILE_REFUSED};
use crate::{disconnect, quote_ident, Flavor, MySqlAdapter};

/// Strict mode: a refused value is a warning under LOAD DATA LOCAL, which
/// the sink then turns into a failure. Without NO_ZERO_DATE and
/// NO_ZERO_IN_DATE: the only zero or partial dates ferry writes are the
/// source's own, carried verbatim from another MySQL (see
/// [`ferry_core::zerodate`]).
pub(crate) const SINK_SQL_MODE: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,\
ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'";

/// The size of the pieces the infile stream hands the driver: well under any
/// `max_allowed_packet`, large enough to keep per-packet overhead small.
const CHUNK_BYTES: usize = 64 * 1024;

/// Rows of a batch are encoded in runs of about this many bytes, so the
/// LOAD DATA text held beside the batch is about this much (or one larger
/// row), not a second copy of a whole batch of wide rows.
const RUN_BYTES: usize = 1 << 20;

/// How many warnings to read back when a load went wrong.
const WARNINGS_SHOWN: usize = 5;

impl MySqlAdapter {
    /// [`TableWriter::create_ddl`] for a known server family.
    pub fn create_ddl_for(&self, plan: &TablePlan, flavor: Flavor) -> Vec<String> {
        let spelled = match flavor {
            Flavor::MariaDb => mariadb_srids(plan),
            Flavor::MySql => None,
        };
        let plan = spelled.as_ref().unwrap_or(plan);
        let parts = plan.create_table_body(quote_ident);
        // A binary NO PAD collation keeps values that are distinct in the
        // source distinct here: case/accent-insensitive collations would
        // collide 'abc'/'ABC' or 'resume'/'résumé' in a unique key, and PAD
        // SPACE ones 'a'/'a '. See `Flavor::binary_collation`.
        let mut out = vec![format!(
            "CREATE TABLE {} ({}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={}{}",
            self.qualified(&plan.target),
            parts.join(", "),
            flavor.binary_collation(),
            plan.schema.table_options
        )];
        out.extend(plan.schema.after_create.iter().cloned());
        out
    }

    /// Whether `table` exists (as a base table or anything else by that name).
    async fn table_exists(&self, conn: &mut Conn, table: &TableRef) -> Result<bool> {
        let n: Option<u64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (self.schema_of(table).to_string(), table.name.clone()),
            )
            .await
            .map_err(ctx(format!("checking whether {table} exists")))?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// The target table's columns as information_schema describes them.
    pub async fn target_columns(
        &self,
        conn: &mut Conn,
        table: &TableRef,
    ) -> Result<Vec<TargetColumn>> {
        let rows: Vec<Row> = conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, \
                        CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, \
                        CHARACTER_SET_NAME \
                 FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (self.schema_of(table).to_string(), table.name.clone()),
            )
            .await
            .map_err(ctx(format!("reading the columns of target {table}")))?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let column_type = text(r.take(2)).unwrap_or_default();
                TargetColumn {
                    name: text(r.take(0)).unwrap_or_default(),
                    data_type: text(r.take(1)).unwrap_or_default().to_ascii_lowercase(),
                    unsigned: column_type.to_ascii_lowercase().contains(" unsigned"),
                    column_type,
                    char_length: uint(r.take(3)),
                    octet_length: uint(r.take(4)),
                    precision: uint(r.take(5)),
                    scale: uint(r.take(6)),
                    fsp: uint(r.take(7)),
                    charset: text(r.take(8)).map(|c| c.to_ascii_lowercase()),
                }
            })
            .collect())
    }

    /// The character sets of `targets` that ferry encodes text for, read
    /// from the target server (see [`crate::charset`]).
    pub(crate) async fn target_charsets(
        &self,
        conn: &mut Conn,
        targets: &[TargetColumn],
    ) -> Result<HashMap<String, Arc<Charset>>> {
        let mut out = HashMap::new();
        for t in targets {
            if let Some(cs) = t.charset.as_deref().filter(|cs| writes_encoded(cs)) {
                if !out.contains_key(cs) {
                    out.insert(cs.to_string(), self.charset(conn, cs).await?);
                }
            }
        }
        Ok(out)
    }

    /// One encoder per plan column, from the Arrow type and the real target
    /// column; `charsets` as [`target_charsets`](Self::target_charsets) read them.
    pub(crate) fn encoders(
        &self,
        plan: &TablePlan,
        targets: &[TargetColumn],
        flavor: Flavor,
        charsets: &HashMap<String, Arc<Charset>>,
    ) -> Result<Vec<ColumnEncoder>> {
        let table = plan.target.to_string();
        if targets.is_empty() {
            return Err(Error::MissingTable {
                table: table.clone(),
                database: self.schema_of(&plan.target).to_string(),
            });
        }
        plan.columns
            .iter()
            .map(|c| {
                let target = targets
                    .iter()
                    .find(|t| t.name.eq_ignore_ascii_case(&c.name))
                    .ok_or_else(|| Error::Table {
                        table: table.clone(),
                        problem: format!("the target has no column {}", c.name),
                    })?;
                let dt = arrow_type(&c.logical);
                let keeps_negative_zero = flavor == Flavor::MySql;
                let unsupported = |reason| Error::UnsupportedType {
                    table: table.clone(),
                    column: c.name.clone(),
                    ty: target.column_type.clone(),
                    reason,
                };
                let encoder = choose(c, &dt, target, keeps_negative_zero).map_err(unsupported)?;
                let charset = match target.charset.as_deref().filter(|cs| writes_encoded(cs)) {
                    Some(name) => {
                        let cs = charsets.get(name).cloned().ok_or_else(|| {
                            Error::Bug(format!("character set {name} of {table} not loaded"))
                        })?;
                        charset_fits(&encoder, &cs).map_err(unsupported)?;
                        Some(cs)
                    }
                    None => None,
                };
                Ok(ColumnEncoder {
                    name: c.name.clone(),
                    charset,
                    // MariaDB's UUID/INET4/INET6 read a binary-charset field
                    // as their binary storage: their text goes through a variable.
                    via_variable: matches!(encoder, Encoder::Bit { .. })
                        || matches!(
                            target.column_type.to_ascii_lowercase().as_str(),
                            "uuid" | "inet4" | "inet6"
                        ),
                    encoder,
                })
            })
            .collect()
    }
}

/// `point SRID 4326` (MySQL 8's spelling, the write rules') → (`point`,
/// 4326). MariaDB spells the column attribute `REF_SYSTEM_ID=4326`, and it
/// constrains nothing there: each value keeps its own SRID.
fn srid_attribute(target_type: &str) -> Option<(&str, u32)> {
    let (ty, srid) = target_type.split_once(" SRID ")?;
    ferry_core::GeometryKind::parse(ty.trim())?;
    Some((ty.trim(), srid.trim().parse().ok()?))
}

/// `plan` with MariaDB's spelling of each column SRID, when it has one.
fn mariadb_srids(plan: &TablePlan) -> Option<TablePlan> {
    if !plan
        .columns
        .iter()
        .any(|c| srid_attribute(&c.target_type).is_some())
    {
        return None;
    }
    let mut spelled = plan.clone();
    for c in &mut spelled.columns {
        if let Some((ty, srid)) = srid_attribute(&c.target_type) {
            c.target_type = format!("{ty} REF_SYSTEM_ID={srid}");
        }
    }
    Some(spelled)
}

/// The LOAD DATA statement for `encoders` into `qualified`.
pub fn load_sql(qualified: &str, encoders: &[ColumnEncoder]) -> String {
    let mut cols = Vec::with_capacity(encoders.len());
    let mut sets = Vec::new();
    for (i, e) in encoders.iter().enumerate() {
        let text = matches!(e.encoder, Encoder::Text { .. } | Encoder::Uuid { .. });
        if e.via_variable && text {
            // Address and UUID text, converted out of the file's binary charset.
            cols.push(format!("@ferry_v{i}"));
            sets.push(format!(
                "{} = CONVERT(@ferry_v{i} USING utf8mb4)",
                quote_ident(&e.name)
            ));
        } else if e.via_variable {
            // BIT cannot be loaded from text: the field is the number in
            // decimal, cast to an unsigned integer (exact up to 64 bits).
            cols.push(format!("@ferry_v{i}"));
            sets.push(format!(
                "{} = CAST(@ferry_v{i} AS UNSIGNED)",
                quote_ident(&e.name)
            ));
        } else {
            cols.push(quote_ident(&e.name));
        }
    }
    let mut sql = format!(
        "LOAD DATA LOCAL INFILE 'ferry.tsv' INTO TABLE {qualified} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        cols.join(", ")
    );
    if !sets.is_empty() {
        sql.push_str(" SET ");
        sql.push_str(&sets.join(", "));
    }
    sql
}

/// What the infile stream tells the sink after the statement.
struct FeedOutcome {
    rows: u64,
    error: Option<Error>,
    /// The keys of the rows sent, for warnings that name a row.
    sent: SentKeys,
}

/// The state the infile stream carries from batch to batch.
struct Feed {
    rx: mpsc::Receiver<RecordBatch>,
    encoders: Arc<Vec<ColumnEncoder>>,
    plan: Arc<TablePlan>,
    scratch: Vec<FieldBuf>,
    /// The batch being encoded and the runs of its rows still to encode.
    current: Option<(RecordBatch, VecDeque<(usize, usize)>)>,
    pending: VecDeque<Bytes>,
    outcome: Arc<Mutex<FeedOutcome>>,
    failed: bool,
}

impl Feed {
    /// Next chunk of file bytes: encodes the next batch when the pending
    /// chunks run out. `None` at the end of input or after a failure.
    async fn next_chunk(&mut self) -> Option<std::io::Result<Bytes>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(chunk) = self.pending.pop_front() {
                return Some(Ok(chunk));
            }
            let run = match self.current.as_mut().and_then(|(b, runs)| {
                let (start, len) = runs.pop_front()?;
                Some(b.slice(start, len))
            }) {
                Some(run) => run,
                None => {
                    let batch = self.rx.recv().await?;
                    let runs = ferry_core::arrow::row_runs(&batch, RUN_BYTES).into();
                    self.current = Some((batch, runs));
                    continue;
                }
            };
            // A slice's buffers are its batch's: size the text by the run's
            // budget (escapes may add a little), not by the buffers.
            let mut out = Vec::with_capacity(RUN_BYTES + RUN_BYTES / 4);
            match self.encode(&run, &mut out) {
                Ok(()) => {
                    let mut bytes = Bytes::from(out);
                    while bytes.len() > CHUNK_BYTES {
                        self.pending.push_back(bytes.split_to(CHUNK_BYTES));
                    }
                    if !bytes.is_empty() {
                        self.pending.push_back(bytes);
                    }
                    let mut o = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
                    o.rows += u64::try_from(run.num_rows()).unwrap_or(u64::MAX);
                    o.sent.push(&run);
                }
                Err(e) => {
                    self.failed = true;
                    self.outcome.lock().unwrap_or_else(|p| p.into_inner()).error = Some(e);
                    // The driver ends the statement and reports this; the
                    // sink reports the stored error instead.
                    return Some(Err(std::io::Error::other("ferry stopped the load")));
                }
            }
        }
    }

    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let table = &self.plan.target;
        check_batch(&self.plan, &self.encoders, batch)?;
        encode_batch(&self.encoders, batch, &mut self.scratch, out).map_err(|(c, row, problem)| {
            Error::value(
                table,
                self.plan.columns[c].name.clone(),
                render_key(&self.plan, batch, row),
                problem,
            )
        })
    }
}

/// A batch has the plan's columns with the plan's Arrow types (a broken
/// invariant otherwise).
pub(crate) fn check_batch(
    plan: &TablePlan,
    encoders: &[ColumnEncoder],
    batch: &RecordBatch,
) -> Result<()> {
    let table = &plan.target;
    if batch.num_columns() != encoders.len() {
        return Err(Error::Bug(format!(
            "{table}: batch has {} columns, plan has {}",
            batch.num_columns(),
            encoders.len()
        )));
    }
    for (c, col) in plan.columns.iter().enumerate() {
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

impl TableWriter for MySqlAdapter {
    type Writer = MySqlTableWriter;

    fn create_ddl(&self, plan: &TablePlan) -> Vec<String> {
        self.create_ddl_for(plan, self.known_flavor().unwrap_or(Flavor::MariaDb))
    }

    async fn prepare(&self, plan: &TablePlan, if_exists: IfExists) -> Result<()> {
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        let target = &plan.target;
        let res = async {
            if self.table_exists(&mut conn, target).await? {
                match if_exists {
                    IfExists::Fail => {
                        return Err(Error::TargetExists {
                            table: target.to_string(),
                        })
                    }
                    IfExists::Truncate => conn
                        .query_drop(format!("TRUNCATE TABLE {}", self.qualified(target)))
                        .await
                        .map_err(ctx(format!("truncating {target}")))?,
                    IfExists::Append => {}
                }
            } else {
                for stmt in self.create_ddl_for(plan, flavor) {
                    conn.query_drop(stmt)
                        .await
                        .map_err(ctx(format!("creating {target}")))?;
                }
            }
            Ok(())
        }
        .await;
        disconnect(conn).await;
        res
    }

    /// An existing table's columns are checked as `open_writer` will. A
    /// table still to be created is not: MySQL's DDL cannot be taken back,
    /// so its encoders are chosen when the writer opens, after `prepare`.
    async fn check_writable(&self, plan: &TablePlan) -> Result<()> {
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        let exists = self.table_exists(&mut conn, &plan.target).await;
        let targets = match exists {
            Ok(true) => Some(
                async {
                    let targets = self.target_columns(&mut conn, &plan.target).await?;
                    let charsets = self.target_charsets(&mut conn, &targets).await?;
                    Ok::<_, Error>((targets, charsets))
                }
                .await,
            ),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        };
        disconnect(conn).await;
        match targets {
            Some(targets) => {
                let (targets, charsets) = targets?;
                self.encoders(plan, &targets, flavor, &charsets).map(drop)
            }
            None => Ok(()),
        }
    }

    async fn open_writer(&self, plan: &TablePlan) -> Result<MySqlTableWriter> {
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        let targets = async {
            let targets = self.target_columns(&mut conn, &plan.target).await?;
            let charsets = self.target_charsets(&mut conn, &targets).await?;
            Ok::<_, Error>((targets, charsets))
        }
        .await;
        disconnect(conn).await;
        let (targets, charsets) = targets?;
        let encoders = self.encoders(plan, &targets, flavor, &charsets)?;
        let load_sql = load_sql(&self.qualified(&plan.target), &encoders);
        let by_insert = !self.accepts_local_infile().await?;
        Ok(MySqlTableWriter {
            adapter: self.clone(),
            plan: Arc::new(plan.clone()),
            encoders: Arc::new(encoders),
            load_sql,
            by_insert,
        })
    }

    async fn delete_range(&self, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
        let table = plan.source.to_string();
        if matches!(range, KeyRange::Blocks { .. }) {
            return Err(Error::Bug(format!(
                "table {table}: a block range cannot be deleted from a target"
            )));
        }
        let mut conn = self.connect().await?;
        let keys = match crate::partition::key_columns(self, &mut conn, plan).await? {
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
            self.qualified(&plan.source),
            crate::partition::range_predicate(&keys, range)
        );
        conn.query_drop(sql.as_str())
            .await
            .map_err(ctx(format!("deleting a range of table {table}")))?;
        let deleted = conn.affected_rows();
        let _ = conn.disconnect().await;
        Ok(deleted)
    }
}

/// One target table's loader: the encoders chosen from the target's real
/// columns when it was opened, reused by every range it loads.
#[derive(Debug)]
pub struct MySqlTableWriter {
    adapter: MySqlAdapter,
    plan: Arc<TablePlan>,
    encoders: Arc<Vec<ColumnEncoder>>,
    load_sql: String,
    /// The target refuses LOAD DATA LOCAL INFILE: write through INSERTs
    /// (see [`crate::insert`]).
    by_insert: bool,
}

impl RangeWriter for MySqlTableWriter {
    async fn write(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        self.write_in_transaction(rx, true).await
    }

    async fn write_uncommitted(&self, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        self.write_in_transaction(rx, false).await
    }
}

impl MySqlTableWriter {
    /// One load in one transaction of a session of its own, committed when
    /// `commit` says so; rolled back on any error.
    async fn write_in_transaction(
        &self,
        rx: mpsc::Receiver<RecordBatch>,
        commit: bool,
    ) -> Result<WriteReceipt> {
        let target = &self.plan.target;
        let mut conn = self.adapter.connect().await?;
        let res = self.load(&mut conn, rx).await;
        let end = match (&res, commit) {
            (Ok(_), true) => "COMMIT",
            _ => "ROLLBACK",
        };
        let ended = conn.query_drop(end).await;
        disconnect(conn).await;
        match (res, ended) {
            (Ok(r), Ok(())) => Ok(r),
            (Ok(_), Err(e)) => Err(query_error(format!("committing the load of {target}"), e)),
            // Nothing of this call may stay; a failed rollback changes
            // nothing about what to report (the server rolls back on
            // disconnect).
            (Err(e), Err(re)) => {
                tracing::debug!(table = %target, error = %re, "rollback failed");
                Err(e)
            }
            (Err(e), Ok(())) => Err(e),
        }
    }

    async fn load(&self, conn: &mut Conn, rx: mpsc::Receiver<RecordBatch>) -> Result<WriteReceipt> {
        let plan = &*self.plan;
        let target = &plan.target;
        let sql = self.load_sql.as_str();

        for stmt in [
            SINK_SQL_MODE,
            "SET time_zone = '+00:00'",
            "START TRANSACTION",
        ] {
            conn.query_drop(stmt)
                .await
                .map_err(ctx(format!("starting the load of {target}")))?;
        }
        if self.by_insert {
            let qualified = self.adapter.qualified(target);
            let rows =
                crate::insert::insert_all(conn, plan, &qualified, &self.encoders, rx).await?;
            return Ok(WriteReceipt { rows_written: rows });
        }

        let outcome = Arc::new(Mutex::new(FeedOutcome {
            rows: 0,
            error: None,
            sent: SentKeys::new(plan),
        }));
        let feed = Feed {
            rx,
            encoders: self.encoders.clone(),
            plan: self.plan.clone(),
            scratch: Vec::new(),
            current: None,
            pending: VecDeque::new(),
            outcome: outcome.clone(),
            failed: false,
        };
        conn.set_infile_handler(async move {
            let data = stream::unfold(feed, |mut feed| async move {
                let chunk = feed.next_chunk().await?;
                Some((chunk, feed))
            });
            Ok(data.boxed() as InfileData)
        });

        let load = conn.query_drop(sql).await;
        let (rows_sent, feed_error) = {
            let mut o = outcome.lock().unwrap_or_else(|p| p.into_inner());
            (o.rows, o.error.take())
        };
        if let Some(e) = feed_error {
            return Err(e);
        }
        if let Err(e) = load {
            if server_code(&e).is_some_and(|c| LOCAL_INFILE_REFUSED.contains(&c)) {
                return Err(query_error(
                    format!(
                        "loading {target}: the server refuses LOAD DATA LOCAL INFILE; \
                         ask the DBA to enable it (SET GLOBAL local_infile = 1)"
                    ),
                    e,
                ));
            }
            if let Some(class) = server_code(&e).and_then(refusal_class) {
                return Err(Error::Refused {
                    table: target.to_string(),
                    column: None,
                    key: None,
                    reason: format!("{class} ({})", server_code(&e).unwrap_or(0)),
                });
            }
            return Err(query_error(format!("loading {target}"), e));
        }
        let affected = conn.affected_rows();
        let warnings = conn.get_warnings();
        if warnings > 0 || affected != rows_sent {
            let shown = show_warnings(conn).await;
            let o = outcome.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(refused) = refusal_of(&shown, plan, &o.sent, 0) {
                return Err(refused);
            }
            let detail = warning_detail(&shown, plan, &o.sent, 0);
            return Err(Error::Table {
                table: target.to_string(),
                problem: format!(
                    "LOAD DATA stored {affected} of {rows_sent} rows with {warnings} warning(s){detail}; \
                     the load was rolled back"
                ),
            });
        }
        Ok(WriteReceipt {
            rows_written: rows_sent,
        })
    }
}

/// SHOW WARNINGS as (code, message); empty if it cannot be read.
pub(crate) async fn show_warnings(conn: &mut Conn) -> Vec<(u64, String)> {
    let rows: Vec<Row> = match conn.query("SHOW WARNINGS").await {
        Ok(r) => r,
        Err(_) => return Vec::new(),
    };
    rows.into_iter()
        .map(|mut r| {
            (
                uint(r.take(1)).unwrap_or(0),
                text(r.take(2)).unwrap_or_default(),
            )
        })
        .collect()
}

/// [`Error::Refused`] when every warning of a load is a row refusal (a
/// duplicate key, a CHECK, a foreign key…): the statement's rows must then
/// be bisected to find the refused ones. Named by code and plan column only.
/// `offset` is the number of rows `sent` holds before the statement's first.
pub(crate) fn refusal_of(
    warnings: &[(u64, String)],
    plan: &TablePlan,
    sent: &SentKeys,
    offset: u64,
) -> Option<Error> {
    let classes = warnings
        .iter()
        .map(|(code, _)| u16::try_from(*code).ok().and_then(refusal_class))
        .collect::<Option<Vec<_>>>()?;
    let (code, message) = warnings.first()?;
    Some(Error::Refused {
        table: plan.target.to_string(),
        column: warning_column(message, plan),
        key: warning_row(message).map(|row| sent.describe(offset + row)),
        reason: format!("{} ({code})", classes[0]),
    })
}

/// `: warning 1265 at key id=3 column c, …` from SHOW WARNINGS, naming only
/// codes, keys (or row numbers) and known column names (messages may quote
/// values).
pub(crate) fn warning_detail(
    warnings: &[(u64, String)],
    plan: &TablePlan,
    sent: &SentKeys,
    offset: u64,
) -> String {
    let mut parts = Vec::new();
    for (code, message) in warnings.iter().take(WARNINGS_SHOWN) {
        let mut s = format!("warning {code}");
        if let Some(row) = warning_row(message) {
            s.push_str(&format!(" at key {}", sent.describe(offset + row)));
        }
        if let Some(col) = warning_column(message, plan) {
            s.push_str(&format!(" column {col}"));
        }
        parts.push(s);
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}

/// The `at row N` of a warning message.
pub fn warning_row(message: &str) -> Option<u64> {
    let rest = &message[message.rfind(" at row ")? + 8..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The plan column a warning message names (`for column 'c'` or
/// ``for column `db`.`t`.`c` ``), only if it is one of the plan's columns,
/// so nothing else of the message is ever echoed.
pub fn warning_column(message: &str, plan: &TablePlan) -> Option<String> {
    let start = message.find("column ")? + 7;
    let rest = &message[start..];
    let mut chars = rest.chars().peekable();
    let mut last = None;
    while let Some(quote @ ('\'' | '`')) = chars.next() {
        let mut name = String::new();
        loop {
            match chars.next() {
                Some(c) if c == quote => {
                    if chars.peek() == Some(&quote) {
                        chars.next();
                        name.push(quote);
                    } else {
                        break;
                    }
                }
                Some(c) => name.push(c),
                None => return None,
            }
        }
        last = Some(name);
        if chars.peek() == Some(&'.') {
            chars.next();
        } else {
            break;
        }
    }
    let name = last?;
    plan.columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(&name))
        .map(|c| c.name.clone())
}

#[cfg(test)]
mod tests;
