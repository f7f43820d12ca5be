//! The writer for targets that refuse `LOAD DATA LOCAL INFILE` (MySQL 8's
//! default, many managed services): batched multi-row INSERTs through
//! server-side prepared statements.
//!
//! The values are the very fields the LOAD DATA path writes, from the same
//! encoders (so every exactness check is the same: nothing MySQL would
//! round, clamp, pad or cut gets past them), with LOAD DATA's escapes undone
//! and `\N` turned into NULL. Each statement inserts as many rows as fit in
//! 65 535 parameters and about [`STATEMENT_BYTES`]; a prepared statement of
//! the full size is prepared once per session and reused (the driver's
//! statement cache). The session is strict, so a value the server refuses is
//! an error of its statement, not a warning; the affected-row count and the
//! warning count are still checked, as for LOAD DATA.
//!
//! Parameters travel as the client's utf8mb4 strings; where LOAD DATA's
//! `CHARACTER SET binary` matters they are cast to binary in the statement:
//! bytes for binary and blob columns, and text ferry encoded for a column in
//! another character set (see [`crate::charset`]). MariaDB's UUID/INET4/INET6
//! and BIT take the same conversions as in the LOAD DATA statement.

use arrow_array::RecordBatch;
use ferry_core::arrow::render_key;
use ferry_core::sentkeys::SentKeys;
use ferry_core::{Error, Result, TablePlan};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value};
use tokio::sync::mpsc;

use crate::encode::{encode_fields, unescape, ColumnEncoder, Encoder, FieldBuf};
use crate::error::{query_error, refusal_class, server_code};
use crate::quote_ident;

/// The most parameters one prepared statement takes.
const MAX_PARAMS: usize = 65_535;
/// About how many bytes of values one statement carries: large enough that
/// a round trip is small beside the data, well under `max_allowed_packet`
/// (a longer row goes alone; the driver sends values past the packet size
/// as long data).
pub const STATEMENT_BYTES: usize = 4 << 20;

/// How one column's parameter appears in the VALUES list.
fn placeholder(e: &ColumnEncoder) -> &'static str {
    match &e.encoder {
        Encoder::Bit { .. } => "CAST(? AS UNSIGNED)",
        _ if e.charset.is_some() => "CAST(? AS BINARY)",
        Encoder::Binary { .. } | Encoder::Uuid { as_text: false } => "CAST(? AS BINARY)",
        _ if e.via_variable => "CONVERT(? USING utf8mb4)",
        _ => "?",
    }
}

/// `INSERT INTO t (cols) VALUES (?, …), …` for `rows` rows.
pub fn insert_sql(qualified: &str, encoders: &[ColumnEncoder], rows: usize) -> String {
    let cols: Vec<String> = encoders.iter().map(|e| quote_ident(&e.name)).collect();
    let one: Vec<&str> = encoders.iter().map(placeholder).collect();
    let one = format!("({})", one.join(", "));
    let mut sql = format!("INSERT INTO {qualified} ({}) VALUES ", cols.join(", "));
    sql.reserve((one.len() + 2) * rows);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&one);
    }
    sql
}

/// Writes every batch of `rx` through INSERTs on `conn` (inside the
/// caller's transaction). Returns the rows written.
pub(crate) async fn insert_all(
    conn: &mut Conn,
    plan: &TablePlan,
    qualified: &str,
    encoders: &[ColumnEncoder],
    mut rx: mpsc::Receiver<RecordBatch>,
) -> Result<u64> {
    let table = &plan.target;
    let ncols = encoders.len().max(1);
    let max_rows = (MAX_PARAMS / ncols).max(1);
    let mut full_sql: Option<(usize, String)> = None;
    let mut scratch: Vec<FieldBuf> = Vec::new();
    let mut sent = SentKeys::new(plan);
    let mut written: u64 = 0;
    while let Some(batch) = rx.recv().await {
        crate::sink::check_batch(plan, encoders, &batch)?;
        encode_fields(encoders, &batch, &mut scratch).map_err(|(c, row, problem)| {
            Error::value(
                table,
                plan.columns[c].name.clone(),
                render_key(plan, &batch, row),
                problem,
            )
        })?;
        let first_row = sent.rows() + 1;
        sent.push(&batch);
        let n = batch.num_rows();
        let mut start = 0;
        while start < n {
            let mut end = start;
            let mut bytes = 0;
            while end < n && end - start < max_rows && (end == start || bytes < STATEMENT_BYTES) {
                bytes += scratch.iter().map(|f| f.field(end).len()).sum::<usize>();
                end += 1;
            }
            let rows = end - start;
            let mut params = Vec::with_capacity(rows * ncols);
            for r in start..end {
                for f in &scratch {
                    params.push(match unescape(f.field(r)) {
                        None => Value::NULL,
                        Some(b) => Value::Bytes(b),
                    });
                }
            }
            let sql = match &full_sql {
                Some((size, sql)) if *size == rows => sql.clone(),
                _ => {
                    let sql = insert_sql(qualified, encoders, rows);
                    if rows == max_rows.min(n) {
                        full_sql = Some((rows, sql.clone()));
                    }
                    sql
                }
            };
            let statement_first = first_row + u64::try_from(start).unwrap_or(u64::MAX);
            if let Err(e) = conn.exec_drop(sql, Params::Positional(params)).await {
                return Err(statement_error(plan, &sent, statement_first, e));
            }
            let affected = conn.affected_rows();
            let warnings = conn.get_warnings();
            let expected = u64::try_from(rows).unwrap_or(u64::MAX);
            if warnings > 0 || affected != expected {
                let shown = crate::sink::show_warnings(conn).await;
                let offset = statement_first - 1;
                if let Some(refused) = crate::sink::refusal_of(&shown, plan, &sent, offset) {
                    return Err(refused);
                }
                let detail = crate::sink::warning_detail(&shown, plan, &sent, offset);
                return Err(Error::Table {
                    table: table.to_string(),
                    problem: format!(
                        "an INSERT stored {affected} of {rows} rows with {warnings} warning(s){detail}; \
                         the load was rolled back"
                    ),
                });
            }
            written += expected;
            start = end;
        }
    }
    Ok(written)
}

/// The error of one INSERT: a row refusal becomes [`Error::Refused`], with
/// the key of the row the message places (`at row N` of the statement,
/// whose first row is `first` of the write), by code and names only.
fn statement_error(plan: &TablePlan, sent: &SentKeys, first: u64, e: mysql_async::Error) -> Error {
    let table = plan.target.to_string();
    let Some(class) = server_code(&e).and_then(refusal_class) else {
        return query_error(format!("inserting into {table}"), e);
    };
    let (column, key) = match &e {
        mysql_async::Error::Server(s) => (
            crate::sink::warning_column(&s.message, plan),
            crate::sink::warning_row(&s.message).map(|row| sent.describe(first - 1 + row)),
        ),
        _ => (None, None),
    };
    Error::Refused {
        table,
        column,
        key,
        reason: format!("{class} ({})", server_code(&e).unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_placeholders() {
        let enc = |name: &str, encoder, via_variable| ColumnEncoder {
            name: name.into(),
            encoder,
            charset: None,
            via_variable,
        };
        let encoders = [
            enc("a", Encoder::Bool, false),
            enc("b", Encoder::Bit { width: 3 }, true),
            enc(
                "c",
                Encoder::Binary {
                    exact: None,
                    max_bytes: None,
                },
                false,
            ),
            enc(
                "u",
                Encoder::Text {
                    max_chars: None,
                    max_bytes: None,
                    labels: None,
                },
                true,
            ),
        ];
        assert_eq!(
            insert_sql("`d`.`t`", &encoders, 2),
            "INSERT INTO `d`.`t` (`a`, `b`, `c`, `u`) VALUES \
             (?, CAST(? AS UNSIGNED), CAST(? AS BINARY), CONVERT(? USING utf8mb4)), \
             (?, CAST(? AS UNSIGNED), CAST(? AS BINARY), CONVERT(? USING utf8mb4))"
        );
        assert_eq!(unescape(b"\\N"), None);
        assert_eq!(unescape(b"\\\\N").unwrap(), b"\\N");
        assert_eq!(
            unescape(b"a\\tb\\nc\\\\d\\re\\0f").unwrap(),
            b"a\tb\nc\\d\re\0f"
        );
    }
}
