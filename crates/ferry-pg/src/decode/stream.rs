//! The binary COPY stream: header, tuples and trailer, parsed as they
//! arrive in chunks of any size, each tuple decoded straight into the
//! column decoders and cut into batches.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use bytes::BytesMut;
use ferry_core::arrow::{plan_schema, render_key};
use ferry_core::batch::{BatchFill, BatchLimit};
use ferry_core::{Error, Result, TablePlan};

use super::value::{be_i32, ColumnDecoder, Problem};

/// The 11-byte signature that opens every binary COPY stream (the header the
/// encoder writes starts with it).
pub(super) const SIGNATURE: &[u8] = crate::encode::COPY_HEADER.split_at(11).0;

/// What [`CopyDecoder::scan`] found at the start of the unparsed bytes.
enum Scan {
    /// A whole item of this many bytes.
    Complete(usize),
    /// At least this many bytes are needed to make progress.
    Need(usize),
}

/// Streaming parser of a binary COPY stream for one table plan.
pub struct CopyDecoder {
    plan: TablePlan,
    schema: SchemaRef,
    columns: Vec<ColumnDecoder>,
    buf: BytesMut,
    header_done: bool,
    trailer_seen: bool,
    fill: BatchFill,
    ready: VecDeque<RecordBatch>,
}

impl CopyDecoder {
    /// Chooses every column's decoder; an unsupported column is
    /// [`Error::UnsupportedType`] before any row is read. Batches close at
    /// `limit`'s rows or bytes (a tuple's bytes as they came on the wire).
    pub fn new(plan: &TablePlan, limit: BatchLimit) -> Result<Self> {
        let schema = plan_schema(plan);
        let columns = plan
            .columns
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                ColumnDecoder::for_type(&super::wire_type(c), f.data_type()).ok_or_else(|| {
                    Error::UnsupportedType {
                        table: plan.source.to_string(),
                        column: c.name.clone(),
                        ty: c.source_type.clone(),
                        reason: format!("the PostgreSQL reader cannot produce {}", c.logical),
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CopyDecoder {
            plan: plan.clone(),
            schema,
            columns,
            buf: BytesMut::new(),
            header_done: false,
            trailer_seen: false,
            fill: BatchFill::new(limit),
            ready: VecDeque::new(),
        })
    }

    fn table(&self) -> String {
        self.plan.source.to_string()
    }

    fn stream_error(&self, problem: &str) -> Error {
        Error::Table {
            table: self.table(),
            problem: format!("malformed binary COPY stream: {problem}"),
        }
    }

    /// Consumes a chunk; complete batches become available from [`Self::next_batch`].
    ///
    /// Complete items are decoded straight from `chunk`; only a tuple split
    /// across chunks is copied, and only its own bytes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        let mut rest = chunk;
        // Finish an item left over from earlier chunks, taking from `rest`
        // only the bytes it still needs.
        while !self.buf.is_empty() {
            match self.scan(&self.buf)? {
                Scan::Complete(n) => {
                    let item = self.buf.split_to(n);
                    self.consume(&item)?;
                }
                Scan::Need(m) => {
                    if rest.is_empty() {
                        return Ok(());
                    }
                    let take = (m - self.buf.len()).min(rest.len());
                    self.buf.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                }
            }
        }
        while !rest.is_empty() {
            match self.scan(rest)? {
                Scan::Complete(n) => {
                    self.consume(&rest[..n])?;
                    rest = &rest[n..];
                }
                Scan::Need(_) => {
                    self.buf.extend_from_slice(rest);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// How long the next item (header, tuple or trailer) at the start of
    /// `data` is, or how many bytes are needed to find out.
    fn scan(&self, data: &[u8]) -> Result<Scan> {
        if !self.header_done {
            if data.len() < 19 {
                return Ok(Scan::Need(19));
            }
            if &data[..11] != SIGNATURE {
                return Err(self.stream_error("bad signature"));
            }
            let ext = usize::try_from(be_i32(&data[15..]).unwrap_or(-1))
                .map_err(|_| self.stream_error("bad header extension length"))?;
            return Ok(if data.len() < 19 + ext {
                Scan::Need(19 + ext)
            } else {
                Scan::Complete(19 + ext)
            });
        }
        if self.trailer_seen {
            return Err(self.stream_error("data after the trailer"));
        }
        if data.len() < 2 {
            return Ok(Scan::Need(2));
        }
        let nfields = i16::from_be_bytes([data[0], data[1]]);
        if nfields == -1 {
            return Ok(Scan::Complete(2));
        }
        if usize::try_from(nfields).ok() != Some(self.columns.len()) {
            return Err(self.stream_error("tuple has an unexpected field count"));
        }
        // Only the length words are read until the whole tuple is here.
        let mut pos = 2;
        for _ in 0..self.columns.len() {
            if data.len() < pos + 4 {
                return Ok(Scan::Need(pos + 4));
            }
            let n = be_i32(&data[pos..]).unwrap_or(-1);
            pos += 4;
            if n > 0 {
                pos += usize::try_from(n).unwrap_or(0);
                if data.len() < pos {
                    return Ok(Scan::Need(pos));
                }
            }
        }
        Ok(Scan::Complete(pos))
    }

    /// Decodes one complete item as measured by [`Self::scan`].
    fn consume(&mut self, item: &[u8]) -> Result<()> {
        if !self.header_done {
            self.header_done = true;
            return Ok(());
        }
        if item.len() == 2 && item == [0xff, 0xff] {
            self.trailer_seen = true;
            return Ok(());
        }
        // A tuple that would take the open batch past its byte budget
        // starts the next one (a tuple larger than the budget goes alone).
        if self.fill.closes_before(item.len()) {
            let batch = self.finish_batch()?;
            self.ready.push_back(batch);
        }
        let failed = decode_row(&mut self.columns, &item[2..]);
        let full = self.fill.push(item.len());
        if let Some((col, problem)) = failed {
            return Err(self.row_error(col, problem));
        }
        if full {
            let batch = self.finish_batch()?;
            self.ready.push_back(batch);
        }
        Ok(())
    }

    /// Builds a value error for the last row: the row is complete in the
    /// builders (the bad value as NULL), so the key renders from them.
    fn row_error(&mut self, col: usize, problem: &str) -> Error {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnDecoder::finish).collect();
        let relaxed = Schema::new(
            self.schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        );
        let key = match RecordBatch::try_new(Arc::new(relaxed), arrays) {
            Ok(b) if b.num_rows() > 0 => render_key(&self.plan, &b, b.num_rows() - 1),
            _ => "(key unavailable)".to_string(),
        };
        Error::value(
            self.table(),
            self.plan.columns[col].name.clone(),
            key,
            problem,
        )
    }

    fn finish_batch(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnDecoder::finish).collect();
        self.fill.close();
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| Error::Table {
            table: self.table(),
            problem: format!("decoded rows do not fit the plan's schema: {e}"),
        })
    }

    pub fn next_batch(&mut self) -> Option<RecordBatch> {
        self.ready.pop_front()
    }

    /// Ends the stream: checks the trailer and returns the last partial batch.
    pub fn finish(&mut self) -> Result<Option<RecordBatch>> {
        if !self.trailer_seen || !self.buf.is_empty() {
            return Err(self.stream_error("stream ended inside a tuple or before the trailer"));
        }
        if self.fill.rows() == 0 {
            return Ok(None);
        }
        self.finish_batch().map(Some)
    }
}

/// Decodes one complete tuple (without its field count). Returns the first
/// failing column; every column still gets exactly one entry.
fn decode_row(columns: &mut [ColumnDecoder], mut data: &[u8]) -> Option<(usize, Problem)> {
    let mut failed = None;
    for (i, col) in columns.iter_mut().enumerate() {
        let n = be_i32(data).unwrap_or(-1);
        data = &data[4.min(data.len())..];
        if n < 0 {
            col.append_null();
            continue;
        }
        let n = usize::try_from(n).unwrap_or(0).min(data.len());
        let (v, rest) = data.split_at(n);
        data = rest;
        if let Err(p) = col.append(v) {
            col.append_null();
            failed.get_or_insert((i, p));
        }
    }
    failed
}
