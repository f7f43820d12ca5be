//! Binary `COPY … TO STDOUT` → Arrow.
//!
//! [`CopyDecoder`] is a streaming parser: chunks may split a tuple anywhere,
//! so it keeps only the unfinished tail between chunks and decodes each
//! complete tuple straight into per-column Arrow builders. The decoder of a
//! column ([`ColumnDecoder`]) is chosen once from the catalog type and the
//! column's Arrow type; the row loop only matches on that enum.
//!
//! The reader casts awkward types in its SELECT (see [`select_expr`]) so they
//! arrive as text or numeric; everything else is decoded from its binary
//! `*_send` form here.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder,
    StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::IntervalMonthDayNano;
use arrow_array::{ArrayRef, ListArray, RecordBatch};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, FieldRef, IntervalUnit, Schema, SchemaRef, TimeUnit};
use bytes::BytesMut;
use ferry_core::arrow::{plan_schema, render_key};
use ferry_core::{ColumnPlan, Error, RawType, Result, TablePlan};

use crate::numeric::numeric_to_text;
use crate::quote_ident;

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Types the reader casts to text in its SELECT.
const TEXT_CAST: &[&str] = &[
    "inet", "cidr", "macaddr", "macaddr8", "bit", "varbit", "tsvector", "xml", "timetz",
];

/// The SELECT-list expression that reads `col` in a wire form this module decodes.
pub fn select_expr(col: &ColumnPlan) -> String {
    let q = quote_ident(&col.name);
    let name = col.raw.name.as_str();
    let elem = col.raw.element.as_deref().map(|e| e.name.as_str());
    match (name, elem) {
        (n, _) if TEXT_CAST.contains(&n) => format!("{q}::text"),
        ("money", _) => format!("{q}::numeric"),
        ("array", Some(e)) if TEXT_CAST.contains(&e) => format!("{q}::text[]"),
        ("array", Some("money")) => format!("{q}::numeric[]"),
        _ => q,
    }
}

/// Decodes one column: the wire format is implied by the variant, the Arrow
/// builder it fills is its payload.
pub enum ColumnDecoder {
    Bool(BooleanBuilder),
    Int2(Int16Builder),
    Int4(Int32Builder),
    Int8(Int64Builder),
    Float4(Float32Builder),
    Float8(Float64Builder),
    /// Binary numeric → canonical decimal text (money arrives cast to numeric).
    Numeric(StringBuilder, String),
    /// UTF-8 bytes: text, varchar, bpchar, name, enum, json and the text casts.
    Text(StringBuilder),
    /// jsonb: a version byte (1), then the text.
    Jsonb(StringBuilder),
    Bytea(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Array(Box<ListDecoder>),
}

/// A one-dimensional array column decoded into an Arrow `List`.
pub struct ListDecoder {
    field: FieldRef,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    item: ColumnDecoder,
}

type Problem = &'static str;

fn be_i32(b: &[u8]) -> Result<i32, Problem> {
    b.get(..4)
        .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or("truncated value")
}

fn be_i64(b: &[u8]) -> Result<i64, Problem> {
    b.get(..8)
        .map(|s| i64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .ok_or("truncated value")
}

fn exact<const N: usize>(b: &[u8]) -> Result<[u8; N], Problem> {
    <[u8; N]>::try_from(b).map_err(|_| "value has the wrong length for its type")
}

fn utf8(b: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(b).map_err(|_| "text is not valid UTF-8")
}

/// PostgreSQL date (days since 2000-01-01) → Date32, keeping ±infinity sentinels.
pub fn date_from_pg(d: i32) -> Result<i32, Problem> {
    if d == i32::MAX || d == i32::MIN {
        return Ok(d);
    }
    d.checked_add(PG_EPOCH_DAYS).ok_or("date out of range")
}

/// PostgreSQL timestamp (µs since 2000-01-01) → µs since 1970, keeping sentinels.
pub fn timestamp_from_pg(t: i64) -> Result<i64, Problem> {
    if t == i64::MAX || t == i64::MIN {
        return Ok(t);
    }
    t.checked_add(PG_EPOCH_MICROS)
        .ok_or("timestamp out of range")
}

impl ColumnDecoder {
    /// The decoder for a column whose catalog type is `raw` and whose Arrow
    /// type is `dt` (from `arrow_type`). `None` when the pair is not supported.
    pub fn for_type(raw: &RawType, dt: &DataType) -> Option<ColumnDecoder> {
        use ColumnDecoder as D;
        let name = raw.name.as_str();
        Some(match (name, dt) {
            ("bool", DataType::Boolean) => D::Bool(BooleanBuilder::new()),
            ("int2", DataType::Int16) => D::Int2(Int16Builder::new()),
            ("int4", DataType::Int32) => D::Int4(Int32Builder::new()),
            ("int8", DataType::Int64) => D::Int8(Int64Builder::new()),
            ("float4", DataType::Float32) => D::Float4(Float32Builder::new()),
            ("float8", DataType::Float64) => D::Float8(Float64Builder::new()),
            ("numeric" | "money", DataType::Utf8) => {
                D::Numeric(StringBuilder::new(), String::new())
            }
            ("jsonb", DataType::Utf8) => D::Jsonb(StringBuilder::new()),
            (
                "text" | "varchar" | "bpchar" | "name" | "enum" | "json" | "xml" | "inet" | "cidr"
                | "macaddr" | "macaddr8" | "bit" | "varbit" | "tsvector" | "timetz",
                DataType::Utf8,
            ) => D::Text(StringBuilder::new()),
            ("bytea", DataType::Binary) => D::Bytea(BinaryBuilder::new()),
            ("date", DataType::Date32) => D::Date(Date32Builder::new()),
            ("time", DataType::Time64(TimeUnit::Microsecond)) => {
                D::Time(Time64MicrosecondBuilder::new())
            }
            ("timestamp" | "timestamptz", DataType::Timestamp(TimeUnit::Microsecond, tz)) => {
                D::Timestamp(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            ("interval", DataType::Interval(IntervalUnit::MonthDayNano)) => {
                D::Interval(IntervalMonthDayNanoBuilder::new())
            }
            ("uuid", DataType::FixedSizeBinary(16)) => D::Uuid(FixedSizeBinaryBuilder::new(16)),
            ("array", DataType::List(field)) => {
                let element = raw.element.as_deref()?;
                if element.name == "array" {
                    return None;
                }
                let item = ColumnDecoder::for_type(element, field.data_type())?;
                D::Array(Box::new(ListDecoder {
                    field: field.clone(),
                    offsets: vec![0],
                    nulls: NullBufferBuilder::new(0),
                    item,
                }))
            }
            _ => return None,
        })
    }

    pub fn append_null(&mut self) {
        use ColumnDecoder as D;
        match self {
            D::Bool(b) => b.append_null(),
            D::Int2(b) => b.append_null(),
            D::Int4(b) => b.append_null(),
            D::Int8(b) => b.append_null(),
            D::Float4(b) => b.append_null(),
            D::Float8(b) => b.append_null(),
            D::Numeric(b, _) | D::Text(b) | D::Jsonb(b) => b.append_null(),
            D::Bytea(b) => b.append_null(),
            D::Date(b) => b.append_null(),
            D::Time(b) => b.append_null(),
            D::Timestamp(b) => b.append_null(),
            D::Interval(b) => b.append_null(),
            D::Uuid(b) => b.append_null(),
            D::Array(l) => {
                let end = l.offsets.last().copied().unwrap_or(0);
                l.offsets.push(end);
                l.nulls.append_null();
            }
        }
    }

    /// Decodes one non-NULL value. On error nothing has been appended.
    pub fn append(&mut self, v: &[u8]) -> Result<(), Problem> {
        use ColumnDecoder as D;
        match self {
            D::Bool(b) => b.append_value(exact::<1>(v)?[0] != 0),
            D::Int2(b) => b.append_value(i16::from_be_bytes(exact(v)?)),
            D::Int4(b) => b.append_value(i32::from_be_bytes(exact(v)?)),
            D::Int8(b) => b.append_value(i64::from_be_bytes(exact(v)?)),
            D::Float4(b) => b.append_value(f32::from_be_bytes(exact(v)?)),
            D::Float8(b) => b.append_value(f64::from_be_bytes(exact(v)?)),
            D::Numeric(b, scratch) => {
                scratch.clear();
                numeric_to_text(v, scratch)?;
                b.append_value(scratch.as_str());
            }
            D::Text(b) => b.append_value(utf8(v)?),
            D::Jsonb(b) => match v.split_first() {
                Some((1, rest)) => b.append_value(utf8(rest)?),
                _ => return Err("unknown jsonb format version"),
            },
            D::Bytea(b) => b.append_value(v),
            D::Date(b) => b.append_value(date_from_pg(i32::from_be_bytes(exact(v)?))?),
            D::Time(b) => b.append_value(i64::from_be_bytes(exact(v)?)),
            D::Timestamp(b) => b.append_value(timestamp_from_pg(i64::from_be_bytes(exact(v)?))?),
            D::Interval(b) => {
                let raw: [u8; 16] = exact(v)?;
                let micros = be_i64(&raw[..8])?;
                let days = be_i32(&raw[8..12])?;
                let months = be_i32(&raw[12..])?;
                let nanos = micros.checked_mul(1000).ok_or("interval out of range")?;
                b.append_value(IntervalMonthDayNano::new(months, days, nanos));
            }
            D::Uuid(b) => {
                let raw: [u8; 16] = exact(v)?;
                b.append_value(raw).map_err(|_| "bad uuid")?;
            }
            D::Array(l) => l.append(v)?,
        }
        Ok(())
    }

    pub fn finish(&mut self) -> ArrayRef {
        use ColumnDecoder as D;
        match self {
            D::Bool(b) => Arc::new(b.finish()),
            D::Int2(b) => Arc::new(b.finish()),
            D::Int4(b) => Arc::new(b.finish()),
            D::Int8(b) => Arc::new(b.finish()),
            D::Float4(b) => Arc::new(b.finish()),
            D::Float8(b) => Arc::new(b.finish()),
            D::Numeric(b, _) | D::Text(b) | D::Jsonb(b) => Arc::new(b.finish()),
            D::Bytea(b) => Arc::new(b.finish()),
            D::Date(b) => Arc::new(b.finish()),
            D::Time(b) => Arc::new(b.finish()),
            D::Timestamp(b) => Arc::new(b.finish()),
            D::Interval(b) => Arc::new(b.finish()),
            D::Uuid(b) => Arc::new(b.finish()),
            D::Array(l) => l.finish(),
        }
    }
}

impl ListDecoder {
    fn append(&mut self, v: &[u8]) -> Result<(), Problem> {
        if v.len() < 12 {
            return Err("truncated array");
        }
        let ndim = be_i32(v)?;
        let start_len = self.offsets.last().copied().unwrap_or(0);
        if ndim == 0 {
            self.offsets.push(start_len);
            self.nulls.append_non_null();
            return Ok(());
        }
        if ndim != 1 {
            return Err("multi-dimensional array");
        }
        let len = be_i32(&v[12..])?;
        let lower = be_i32(v.get(16..).ok_or("truncated array")?)?;
        if lower != 1 {
            return Err("array lower bound is not 1");
        }
        let mut pos = 20;
        let mut count: i32 = 0;
        for _ in 0..len {
            let n = be_i32(v.get(pos..).ok_or("truncated array")?)?;
            pos += 4;
            if n < 0 {
                self.item.append_null();
            } else {
                let n = usize::try_from(n).map_err(|_| "bad array element length")?;
                let e = v.get(pos..pos + n).ok_or("truncated array")?;
                self.item
                    .append(e)
                    .map_err(|_| "array element cannot be decoded")?;
                pos += n;
            }
            count += 1;
        }
        self.offsets.push(
            start_len
                .checked_add(count)
                .ok_or("array column too large for one batch")?,
        );
        self.nulls.append_non_null();
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let values = self.item.finish();
        let nulls = self.nulls.finish();
        Arc::new(ListArray::new(
            self.field.clone(),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            values,
            nulls,
        ))
    }
}

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
    batch_rows: usize,
    rows_in_batch: usize,
    ready: VecDeque<RecordBatch>,
}

impl CopyDecoder {
    /// Chooses every column's decoder; an unsupported column is
    /// [`Error::UnsupportedType`] before any row is read.
    pub fn new(plan: &TablePlan, batch_rows: usize) -> Result<Self> {
        let schema = plan_schema(plan);
        let columns = plan
            .columns
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                ColumnDecoder::for_type(&c.raw, f.data_type()).ok_or_else(|| {
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
            batch_rows: batch_rows.max(1),
            rows_in_batch: 0,
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
        let failed = decode_row(&mut self.columns, &item[2..]);
        self.rows_in_batch += 1;
        if let Some((col, problem)) = failed {
            return Err(self.row_error(col, problem));
        }
        if self.rows_in_batch == self.batch_rows {
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
        self.rows_in_batch = 0;
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
        if self.rows_in_batch == 0 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::Array;
    use bytes::BufMut;
    use ferry_core::{ColumnPlan, Conversion, LogicalType, TableRef};

    fn col(name: &str, raw: &str, logical: LogicalType) -> ColumnPlan {
        ColumnPlan {
            name: name.into(),
            source_type: raw.into(),
            raw: RawType {
                name: raw.into(),
                ..RawType::default()
            },
            logical,
            nullable: true,
            conversion: Conversion::Exact,
            target_type: String::new(),
            rule: String::new(),
        }
    }

    fn plan() -> TablePlan {
        let mut arr = col(
            "tags",
            "array",
            LogicalType::Array {
                element: Box::new(LogicalType::Text { max_bytes: None }),
            },
        );
        arr.raw.element = Some(Box::new(RawType {
            name: "text".into(),
            ..RawType::default()
        }));
        let mut id = col("id", "int4", LogicalType::Int32);
        id.nullable = false;
        TablePlan {
            source: TableRef::new(None, "t"),
            target: TableRef::new(None, "t"),
            columns: vec![
                id,
                col(
                    "n",
                    "numeric",
                    LogicalType::Decimal {
                        precision: None,
                        scale: None,
                    },
                ),
                col("d", "date", LogicalType::Date),
                arr,
            ],
            primary_key: vec![0],
            estimated_rows: None,
            schema: Default::default(),
            row_filter: None,
        }
    }

    fn field(buf: &mut BytesMut, v: Option<&[u8]>) {
        match v {
            None => buf.put_i32(-1),
            Some(v) => {
                buf.put_i32(i32::try_from(v.len()).unwrap());
                buf.put_slice(v);
            }
        }
    }

    /// (id, numeric, date, text[]) as wire bytes.
    type Row<'a> = (i32, Option<&'a [u8]>, i32, Option<&'a [u8]>);

    fn stream(rows: &[Row<'_>]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        buf.put_slice(SIGNATURE);
        buf.put_i32(0);
        buf.put_i32(3);
        buf.put_slice(b"ext");
        for (id, n, d, arr) in rows {
            buf.put_i16(4);
            field(&mut buf, Some(&id.to_be_bytes()));
            field(&mut buf, *n);
            field(&mut buf, Some(&d.to_be_bytes()));
            field(&mut buf, *arr);
        }
        buf.put_i16(-1);
        buf.to_vec()
    }

    fn text_array(items: &[Option<&str>]) -> Vec<u8> {
        let mut b = BytesMut::new();
        b.put_i32(1);
        b.put_i32(i32::from(items.iter().any(Option::is_none)));
        b.put_u32(25);
        b.put_i32(i32::try_from(items.len()).unwrap());
        b.put_i32(1);
        for it in items {
            field(&mut b, it.map(str::as_bytes));
        }
        b.to_vec()
    }

    // numeric 0.5 and NaN in numeric_send form.
    const HALF: &[u8] = &[0, 1, 0xff, 0xff, 0, 0, 0, 1, 0x13, 0x88];
    const NAN: &[u8] = &[0, 0, 0, 0, 0xC0, 0, 0, 0];

    #[test]
    fn copy_stream_split_at_every_point() {
        let arr = text_array(&[Some("a,b"), None, Some("😀")]);
        let empty = {
            let mut b = BytesMut::new();
            b.put_i32(0);
            b.put_i32(0);
            b.put_u32(25);
            b.to_vec()
        };
        let data = stream(&[
            (1, Some(HALF), 0, Some(&arr)),
            (2, Some(NAN), i32::MAX, Some(&empty)),
            (3, None, i32::MIN, None),
        ]);
        for size in [1, 2, 3, 5, 7, 13, 64, data.len()] {
            let mut dec = CopyDecoder::new(&plan(), 2).unwrap();
            let mut batches = Vec::new();
            for chunk in data.chunks(size) {
                dec.feed(chunk).unwrap();
                while let Some(batch) = dec.next_batch() {
                    batches.push(batch);
                }
            }
            batches.extend(dec.finish().unwrap());
            check_batches(&batches);
        }
    }

    fn check_batches(batches: &[RecordBatch]) {
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].num_rows(), 2);
        assert_eq!(batches[1].num_rows(), 1);
        let ids: Vec<i32> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec())
            .collect();
        assert_eq!(ids, [1, 2, 3]);
        let n = batches[0].column(1).as_string::<i32>();
        assert_eq!((n.value(0), n.value(1)), ("0.5", "NaN"));
        assert!(batches[1].column(1).is_null(0));
        let d = batches[0]
            .column(2)
            .as_primitive::<arrow_array::types::Date32Type>();
        assert_eq!((d.value(0), d.value(1)), (PG_EPOCH_DAYS, i32::MAX));
        let l = batches[0].column(3).as_list::<i32>();
        let first = l.value(0);
        let first = first.as_string::<i32>();
        assert_eq!(first.len(), 3);
        assert_eq!(first.value(0), "a,b");
        assert!(first.is_null(1));
        assert_eq!(first.value(2), "😀");
        assert_eq!(l.value(1).len(), 0);
        assert!(!l.is_null(1));
        assert!(batches[1].column(3).is_null(0));
    }

    #[test]
    fn bad_value_names_the_key_not_the_value() {
        let bad_numeric: &[u8] = &[0, 1, 0, 0, 0, 0, 0, 0, 0x7f, 0x7f];
        let data = stream(&[(41, Some(HALF), 0, None), (42, Some(bad_numeric), 0, None)]);
        let mut dec = CopyDecoder::new(&plan(), 100).unwrap();
        let err = dec.feed(&data).unwrap_err();
        match &err {
            Error::Value {
                table,
                column,
                key,
                problem,
            } => {
                assert_eq!(table, "t");
                assert_eq!(column, "n");
                assert_eq!(key, "id=42");
                assert_eq!(problem, "numeric digit out of range");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let data = stream(&[(1, Some(HALF), 0, None)]);
        let mut dec = CopyDecoder::new(&plan(), 10).unwrap();
        dec.feed(&data[..data.len() - 3]).unwrap();
        assert!(dec.finish().is_err());
    }

    #[test]
    fn select_casts_awkward_types() {
        let mut c = col("a", "inet", LogicalType::Inet);
        assert_eq!(select_expr(&c), "\"a\"::text");
        c.raw.name = "money".into();
        assert_eq!(select_expr(&c), "\"a\"::numeric");
        c.raw.name = "array".into();
        c.raw.element = Some(Box::new(RawType {
            name: "timetz".into(),
            ..RawType::default()
        }));
        assert_eq!(select_expr(&c), "\"a\"::text[]");
        c.raw.name = "int4".into();
        assert_eq!(select_expr(&c), "\"a\"");
    }
}
