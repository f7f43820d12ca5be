//! `START_REPLICATION … LOGICAL` on a [`ReplicationConn`]: the CopyBoth
//! sub-protocol, keepalives and standby status updates.
//!
//! The server sends XLogData (`w`) carrying one pgoutput message each and
//! keepalives (`k`); ferry answers with standby status updates (`r`) that
//! report the position the target has durably applied, so the slot frees
//! WAL up to there and no further (a crash replays from it).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, BytesMut};
use ferry_core::{Error, Result};
use postgres_protocol::message::{backend, frontend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::pgoutput::{format_lsn, Lsn};
use crate::replication::{proto, server_error, ReplicationConn};
use crate::{quote_ident, quote_literal};

/// µs between the Unix epoch and PostgreSQL's (2000-01-01).
pub const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// Now, in the server's clock unit (µs since 2000-01-01).
pub fn pg_now() -> i64 {
    let us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    us - PG_EPOCH_OFFSET_US
}

/// What the stream yields.
#[derive(Debug)]
pub enum StreamItem {
    /// One pgoutput message; `wal_end` is the server's current end of WAL.
    Data { data: Vec<u8>, wal_end: Lsn },
    /// A keepalive: the server's WAL ends at `wal_end`.
    Keepalive { wal_end: Lsn },
    /// No message for a while (see [`LogicalStream::next`]).
    Idle,
}

/// A running logical replication stream.
pub struct LogicalStream {
    conn: ReplicationConn,
    applied: Lsn,
    last_status: Instant,
}

/// How often a status update is sent even when nothing asks for one, well
/// inside the server's default `wal_sender_timeout` (60 s).
const STATUS_EVERY: Duration = Duration::from_secs(10);

impl ReplicationConn {
    /// Runs a simple query and returns its rows as text (e.g. IDENTIFY_SYSTEM).
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(|e| proto(&self.url, e))?;
        self.send(&out).await?;
        let (mut rows, mut error) = (Vec::new(), None);
        loop {
            match self.next().await? {
                backend::Message::DataRow(body) => {
                    use fallible_iterator::FallibleIterator;
                    let buf = body.buffer();
                    let mut values = Vec::new();
                    let mut ranges = body.ranges();
                    while let Ok(Some(r)) = ranges.next() {
                        values.push(r.map(|r| String::from_utf8_lossy(&buf[r]).into_owned()));
                    }
                    rows.push(values);
                }
                backend::Message::ErrorResponse(body) => {
                    error = Some(server_error(&format!("running {sql}"), &body))
                }
                backend::Message::ReadyForQuery(_) => break,
                _ => {}
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    }

    /// Starts streaming `slot` from `start` (0 = the slot's confirmed
    /// position) with the changes of `publication` in binary form.
    pub async fn start_logical(
        mut self,
        slot: &str,
        publication: &str,
        start: Lsn,
    ) -> Result<LogicalStream> {
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {} (\"proto_version\" '1', \
             \"publication_names\" {}, \"binary\" 'true')",
            quote_ident(slot),
            format_lsn(start),
            quote_literal(&quote_ident(publication)),
        );
        let mut out = BytesMut::new();
        frontend::query(&sql, &mut out).map_err(|e| proto(&self.url, e))?;
        self.send(&out).await?;
        loop {
            let (tag, body) = read_frame(&mut self).await?;
            match tag {
                b'W' => break,
                b'E' => return Err(error_frame(&self, &format!("starting slot {slot}"), body)),
                b'N' | b'S' => {}
                other => {
                    return Err(Error::Bug(format!(
                        "START_REPLICATION: unexpected message {:?}",
                        other as char
                    )))
                }
            }
        }
        Ok(LogicalStream {
            conn: self,
            applied: start,
            last_status: Instant::now(),
        })
    }
}

/// One backend frame: tag and body (CopyBoth's `W` is not known to
/// postgres-protocol's parser, so the stream frames messages itself).
async fn read_frame(conn: &mut ReplicationConn) -> Result<(u8, BytesMut)> {
    loop {
        if conn.buf.len() >= 5 {
            let len = u32::from_be_bytes(conn.buf[1..5].try_into().expect("4 bytes")) as usize;
            if conn.buf.len() > len {
                let mut frame = conn.buf.split_to(len + 1);
                let tag = frame[0];
                frame.advance(5);
                return Ok((tag, frame));
            }
        }
        let n = conn
            .stream
            .read_buf(&mut conn.buf)
            .await
            .map_err(|e| proto(&conn.url, e))?;
        if n == 0 {
            return Err(proto(
                &conn.url,
                "the server closed the replication connection",
            ));
        }
    }
}

fn error_frame(conn: &ReplicationConn, context: &str, body: BytesMut) -> Error {
    let mut whole = BytesMut::with_capacity(body.len() + 5);
    whole.put_u8(b'E');
    whole.put_u32(u32::try_from(body.len() + 4).unwrap_or(u32::MAX));
    whole.extend_from_slice(&body);
    match backend::Message::parse(&mut whole) {
        Ok(Some(backend::Message::ErrorResponse(b))) => server_error(context, &b),
        _ => proto(&conn.url, format!("{context}: malformed error message")),
    }
}

impl LogicalStream {
    /// The next item, or [`StreamItem::Idle`] after `idle` without one (so
    /// the caller can check its stop conditions). Sends a status update when
    /// one is due or the server asks.
    pub async fn next(&mut self, idle: Duration) -> Result<StreamItem> {
        if self.last_status.elapsed() >= STATUS_EVERY {
            self.send_status(false).await?;
        }
        let frame = match tokio::time::timeout(idle, read_frame(&mut self.conn)).await {
            Ok(f) => f?,
            Err(_) => return Ok(StreamItem::Idle),
        };
        let (tag, mut body) = frame;
        match tag {
            b'd' => {}
            b'E' => return Err(error_frame(&self.conn, "streaming changes", body)),
            b'c' | b'C' | b'Z' => {
                return Err(proto(
                    &self.conn.url,
                    "the server ended the replication stream",
                ))
            }
            _ => return Ok(StreamItem::Idle),
        }
        let short = || Error::Bug("replication stream: short CopyData".into());
        if body.is_empty() {
            return Err(short());
        }
        match body.get_u8() {
            b'w' => {
                if body.len() < 24 {
                    return Err(short());
                }
                let _start = body.get_u64();
                let wal_end = body.get_u64();
                let _clock = body.get_i64();
                Ok(StreamItem::Data {
                    data: body.to_vec(),
                    wal_end,
                })
            }
            b'k' => {
                if body.len() < 17 {
                    return Err(short());
                }
                let wal_end = body.get_u64();
                let _clock = body.get_i64();
                let reply = body.get_u8() == 1;
                if reply {
                    self.send_status(false).await?;
                }
                Ok(StreamItem::Keepalive { wal_end })
            }
            _ => Ok(StreamItem::Idle),
        }
    }

    /// Records that the target has durably applied everything up to `lsn`
    /// (sent with the next status update).
    pub fn set_applied(&mut self, lsn: Lsn) {
        self.applied = self.applied.max(lsn);
    }

    /// Sends a standby status update now.
    pub async fn send_status(&mut self, reply: bool) -> Result<()> {
        let mut payload = BytesMut::with_capacity(34);
        payload.put_u8(b'r');
        payload.put_u64(self.applied);
        payload.put_u64(self.applied);
        payload.put_u64(self.applied);
        payload.put_i64(pg_now());
        payload.put_u8(u8::from(reply));
        let mut out = BytesMut::new();
        frontend::CopyData::new(payload.freeze())
            .map_err(|e| proto(&self.conn.url, e))?
            .write(&mut out);
        self.conn.send(&out).await?;
        self.conn
            .stream
            .flush()
            .await
            .map_err(|e| proto(&self.conn.url, e))?;
        self.last_status = Instant::now();
        Ok(())
    }

    /// Reports the applied position and ends the stream, waiting (a few
    /// seconds at most) until the server has ended it too: only then has
    /// its walsender released the slot, which may be dropped next.
    pub async fn stop(mut self) -> Result<()> {
        self.send_status(false).await?;
        let mut out = BytesMut::new();
        frontend::copy_done(&mut out);
        self.conn.send(&out).await?;
        let ended = async {
            loop {
                match read_frame(&mut self.conn).await {
                    Ok((b'Z', _)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), ended).await;
        Ok(())
    }
}
