//! Arrow batches → `LOAD DATA` text.
//!
//! The file format the sink declares: fields separated by TAB, lines by LF,
//! escape character backslash, no enclosing quotes. In field text a
//! backslash, TAB, LF, CR and NUL are escaped (`\\ \t \n \r \0`) and NULL is
//! the two bytes `\N`, so the string `\N` travels as `\\N`.
//!
//! Each column's [`Encoder`] is chosen once, before any row is sent, from the
//! Arrow type together with the *actual* target column (users may override
//! the DDL). Every value MySQL would alter (round, clamp, pad, truncate) is
//! refused here with a problem that names its class, never the value:
//! LOAD DATA LOCAL behaves like `IGNORE` and would only warn.
//!
//! A batch is encoded column by column (one downcast per column and batch)
//! into per-field byte ranges, then interleaved into lines.
//!
//! The module is split along those steps: `decision` picks each column's
//! encoder, `field` runs it over a column with the value checks, and `text`
//! holds the text forms the fields are written in.

use arrow_array::RecordBatch;

mod decision;
mod field;
mod text;

pub use decision::{
    charset_fits, choose, int_range, ColumnEncoder, Encoder, JsonElement, TargetColumn,
};
pub use field::{bit_value, fit_decimal, MAX_TIME_MICROS};
pub use text::{
    escape_into, iso8601_interval, json_array, push_uuid_text, uuid_text, write_date,
    write_duration, write_f32, write_f64, write_timestamp,
};

/// What is wrong with a value, without the value.
pub type Problem = String;

/// Field bytes of one column of one batch: `ends[i]` is where field `i` ends.
#[derive(Default)]
pub struct FieldBuf {
    pub bytes: Vec<u8>,
    pub ends: Vec<usize>,
}

impl FieldBuf {
    /// The escaped text of field `i` (`\N` for NULL).
    pub fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// Encodes a whole batch as LOAD DATA lines, appending to `out`.
/// `Err((column, row, problem))` names the first refused value.
pub fn encode_batch(
    encoders: &[ColumnEncoder],
    batch: &RecordBatch,
    scratch: &mut Vec<FieldBuf>,
    out: &mut Vec<u8>,
) -> Result<(), (usize, usize, Problem)> {
    encode_fields(encoders, batch, scratch)?;
    for row in 0..batch.num_rows() {
        for (c, buf) in scratch.iter().enumerate() {
            if c > 0 {
                out.push(b'\t');
            }
            out.extend_from_slice(buf.field(row));
        }
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests;

/// Encodes every column of `batch` into `scratch` (one [`FieldBuf`] per
/// column), the fields LOAD DATA lines are made of and INSERT parameters
/// are taken from. `Err((column, row, problem))` names the first refused
/// value.
pub fn encode_fields(
    encoders: &[ColumnEncoder],
    batch: &RecordBatch,
    scratch: &mut Vec<FieldBuf>,
) -> Result<(), (usize, usize, Problem)> {
    scratch.resize_with(encoders.len(), FieldBuf::default);
    for (c, (enc, buf)) in encoders.iter().zip(scratch.iter_mut()).enumerate() {
        enc.encoder
            .encode_column_in(batch.column(c), buf, enc.charset.as_deref())
            .map_err(|(row, p)| (c, row, p))?;
    }
    Ok(())
}

/// A field's value as an INSERT parameter: `None` for `\N` (NULL), else
/// the bytes with LOAD DATA's escapes undone (`\\ \t \n \r \0`).
pub fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    if field == b"\\N" {
        return None;
    }
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match bytes.next() {
            Some(b't') => b'\t',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b'0') => 0,
            Some(&other) => other,
            None => b'\\',
        });
    }
    Some(out)
}
