//! A minimal replication-protocol session: just enough to create a logical
//! slot with an exported snapshot and keep it alive.
//!
//! tokio-postgres 0.7 cannot open a `replication=database` connection, so
//! this speaks the protocol itself with `postgres-protocol`'s message codecs:
//! startup, authentication (trust, cleartext, md5, SCRAM-SHA-256 without
//! channel binding), and simple queries. TLS is refused, as for the normal
//! connection. The snapshot a `CREATE_REPLICATION_SLOT … (SNAPSHOT 'export')`
//! exports is valid until the next command on this session or its end, so
//! [`ReplicationConn`] runs nothing after it and is held until the copy ends.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use ferry_core::{DbUrl, Error, ErrorKind, Result};
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::{backend::Message, frontend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::quote_ident;

/// An open replication session.
pub struct ReplicationConn {
    pub(crate) stream: TcpStream,
    pub(crate) buf: BytesMut,
    pub(crate) url: String,
}

/// What `CREATE_REPLICATION_SLOT` returned.
pub struct CreatedSlot {
    pub consistent_point: String,
    pub snapshot: String,
}

pub(crate) fn proto(url: &str, e: impl Into<ferry_core::error::BoxError>) -> Error {
    Error::Connect {
        url: url.to_string(),
        kind: ErrorKind::Transient,
        source: e.into(),
    }
}

/// A server error: its SQLSTATE and message (the message never holds values
/// of ours: only slot names and protocol complaints).
pub(crate) fn server_error(
    context: &str,
    body: &postgres_protocol::message::backend::ErrorResponseBody,
) -> Error {
    let mut code = String::new();
    let mut message = String::new();
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        match f.type_() {
            b'C' => code = String::from_utf8_lossy(f.value_bytes()).into_owned(),
            b'M' => message = String::from_utf8_lossy(f.value_bytes()).into_owned(),
            _ => {}
        }
    }
    let kind = if code.starts_with("08") || code.starts_with("53") {
        ErrorKind::Transient
    } else {
        ErrorKind::Definite
    };
    Error::query(context, kind, format!("{message} (SQLSTATE {code})"))
}

impl ReplicationConn {
    /// Connects with `replication=database` and authenticates.
    pub async fn connect(url: &DbUrl) -> Result<ReplicationConn> {
        let shown = url.to_string();
        let stream = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| proto(&shown, e))?;
        let mut conn = ReplicationConn {
            stream,
            buf: BytesMut::with_capacity(8192),
            url: shown,
        };
        let mut out = BytesMut::new();
        frontend::startup_message(
            [
                ("user", url.user.as_str()),
                ("database", url.database.as_str()),
                ("replication", "database"),
                ("application_name", "ferry"),
                ("client_encoding", "UTF8"),
            ],
            &mut out,
        )
        .map_err(|e| proto(&conn.url, e))?;
        conn.send(&out).await?;
        let password = url.password().unwrap_or("").as_bytes().to_vec();
        let mut scram: Option<ScramSha256> = None;
        loop {
            match conn.next().await? {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    let mut out = BytesMut::new();
                    frontend::password_message(&password, &mut out)
                        .map_err(|e| proto(&conn.url, e))?;
                    conn.send(&out).await?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let hash = postgres_protocol::authentication::md5_hash(
                        url.user.as_bytes(),
                        &password,
                        body.salt(),
                    );
                    let mut out = BytesMut::new();
                    frontend::password_message(hash.as_bytes(), &mut out)
                        .map_err(|e| proto(&conn.url, e))?;
                    conn.send(&out).await?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechs = body.mechanisms();
                    let mut ok = false;
                    while let Ok(Some(m)) = mechs.next() {
                        ok |= m == SCRAM_SHA_256;
                    }
                    if !ok {
                        return Err(proto(&conn.url, "the server offers no SCRAM-SHA-256"));
                    }
                    let s = ScramSha256::new(&password, ChannelBinding::unsupported());
                    let mut out = BytesMut::new();
                    frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut out)
                        .map_err(|e| proto(&conn.url, e))?;
                    conn.send(&out).await?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| proto(&conn.url, "unexpected SASL message"))?;
                    s.update(body.data()).map_err(|e| proto(&conn.url, e))?;
                    let mut out = BytesMut::new();
                    frontend::sasl_response(s.message(), &mut out)
                        .map_err(|e| proto(&conn.url, e))?;
                    conn.send(&out).await?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| proto(&conn.url, "unexpected SASL message"))?;
                    s.finish(body.data()).map_err(|e| proto(&conn.url, e))?;
                }
                Message::ErrorResponse(body) => {
                    let e = server_error("opening a replication connection", &body);
                    return Err(Error::Connect {
                        url: conn.url.clone(),
                        kind: e.kind(),
                        source: Box::new(e),
                    });
                }
                Message::ReadyForQuery(_) => return Ok(conn),
                _ => {}
            }
        }
    }

    /// Creates a logical slot with the `pgoutput` plugin and an exported
    /// snapshot. Runs nothing afterwards: the snapshot stays importable
    /// until this session runs another command or ends.
    pub async fn create_logical_slot(&mut self, slot: &str) -> Result<CreatedSlot> {
        let sql = format!(
            "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput (SNAPSHOT 'export')",
            quote_ident(slot)
        );
        let context = format!("creating replication slot {slot}");
        let mut out = BytesMut::new();
        frontend::query(&sql, &mut out).map_err(|e| proto(&self.url, e))?;
        self.send(&out).await?;
        let mut row: Option<Vec<Option<String>>> = None;
        let mut error = None;
        loop {
            match self.next().await? {
                Message::DataRow(body) => {
                    let buf = body.buffer();
                    let mut values = Vec::new();
                    let mut ranges = body.ranges();
                    while let Ok(Some(r)) = ranges.next() {
                        values.push(r.map(|r| String::from_utf8_lossy(&buf[r]).into_owned()));
                    }
                    row = Some(values);
                }
                Message::ErrorResponse(body) => error = Some(server_error(&context, &body)),
                Message::ReadyForQuery(_) => break,
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(e);
        }
        // slot_name, consistent_point, snapshot_name, output_plugin
        match row {
            Some(v) if v.len() >= 3 => match (&v[1], &v[2]) {
                (Some(lsn), Some(snap)) => Ok(CreatedSlot {
                    consistent_point: lsn.clone(),
                    snapshot: snap.clone(),
                }),
                _ => Err(Error::Bug(format!("{context}: no snapshot was exported"))),
            },
            _ => Err(Error::Bug(format!("{context}: unexpected reply"))),
        }
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| proto(&self.url, e))
    }

    pub(crate) async fn next(&mut self) -> Result<Message> {
        loop {
            if let Some(m) = Message::parse(&mut self.buf).map_err(|e| proto(&self.url, e))? {
                return Ok(m);
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| proto(&self.url, e))?;
            if n == 0 {
                return Err(proto(
                    &self.url,
                    "the server closed the replication connection",
                ));
            }
        }
    }
}
