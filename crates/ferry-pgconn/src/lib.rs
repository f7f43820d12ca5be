//! Opening a PostgreSQL session from a [`DbUrl`], and what its errors mean.
//!
//! Two crates talk to PostgreSQL: the engine adapter (`ferry-pg`) and the
//! checkpoint store (`ferry-state`). They must connect the same way (TLS
//! per `sslmode`, the same timeouts, the same session settings) and judge
//! a failure the same way (transient or definite, by SQLSTATE), yet the
//! store must not depend on an engine crate. This crate is that shared
//! piece and nothing else: no catalog, no copy, no SQL of ferry's own.
//!
//! TLS follows the URL's `sslmode` (see [`tls`]); `lock_timeout` and
//! `statement_timeout` URL parameters become session settings, sent in the
//! startup packet so they hold from the first statement.

pub mod tls;

use ferry_core::{DbUrl, Error, ErrorKind, Result};

/// Opens a new session to `url` (application name `ferry`). The connection
/// task runs on the tokio runtime and ends when the returned client is
/// dropped.
///
/// Errors are [`Error::Connect`] with the URL in redacted form: transient
/// when the server did not answer in `connect_timeout` or the failure's
/// SQLSTATE says so ([`classify`]); definite for a TLS failure (a
/// certificate the CA does not vouch for: retrying cannot help) or a bad
/// TLS setting.
pub async fn connect(url: &DbUrl) -> Result<tokio_postgres::Client> {
    let (ssl_mode, tls) = tls::connector(url)?;
    let mut config = tokio_postgres::Config::new();
    config
        .host(&url.host)
        .port(url.port)
        .user(&url.user)
        .dbname(&url.database)
        .ssl_mode(ssl_mode)
        .connect_timeout(url.connect_timeout())
        .application_name("ferry");
    if let Some(p) = url.password() {
        config.password(p);
    }
    let options = session_options(url);
    if !options.is_empty() {
        config.options(&options);
    }
    // The driver's own timeout covers the TCP connect only; a server that
    // accepts and then says nothing would hang the startup forever.
    let limit = url.connect_timeout();
    let connected = tokio::time::timeout(limit, config.connect(tls))
        .await
        .map_err(|_| Error::Connect {
            url: url.to_string(),
            kind: ErrorKind::Transient,
            source: format!("no answer within {limit:?} (connect_timeout)").into(),
        })?;
    let (client, connection) = connected.map_err(|e| {
        let kind = if tls::is_tls_failure(&e) {
            ErrorKind::Definite
        } else {
            classify(&e)
        };
        Error::Connect {
            url: url.to_string(),
            kind,
            source: Box::new(e),
        }
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

/// `-c lock_timeout=… -c statement_timeout=…` from the URL, in milliseconds
/// (0 turns a limit off).
pub fn session_options(url: &DbUrl) -> String {
    let mut out = Vec::new();
    for key in ["lock_timeout", "statement_timeout"] {
        if let Some(d) = url.duration_param(key) {
            out.push(format!("-c {key}={}", d.as_millis()));
        }
    }
    out.join(" ")
}

/// What a driver error means for a retry, by SQLSTATE only (never by
/// message text). Transient: connection exceptions (class 08), admin/crash
/// shutdown (57P01–57P03), serialization failure and deadlock (40001,
/// 40P01), insufficient resources (class 53), and errors without a SQLSTATE
/// (I/O, closed connection). Everything else is definite.
pub fn classify(e: &tokio_postgres::Error) -> ErrorKind {
    match e.code() {
        None => ErrorKind::Transient,
        Some(state) => classify_code(state.code()),
    }
}

/// [`classify`] for a SQLSTATE given as its five characters.
pub fn classify_code(code: &str) -> ErrorKind {
    if code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
    {
        ErrorKind::Transient
    } else {
        ErrorKind::Definite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_classes() {
        for c in [
            "08006", "08001", "57P01", "57P02", "57P03", "40001", "40P01", "53100",
        ] {
            assert_eq!(classify_code(c), ErrorKind::Transient, "{c}");
        }
        for c in ["23505", "22003", "42P01", "22P02", "57014"] {
            assert_eq!(classify_code(c), ErrorKind::Definite, "{c}");
        }
    }

    #[test]
    fn session_options_from_url() {
        let url =
            DbUrl::parse("postgres://u@h/db?lock_timeout=5s&statement_timeout=250ms").unwrap();
        assert_eq!(
            session_options(&url),
            "-c lock_timeout=5000 -c statement_timeout=250"
        );
        assert_eq!(
            session_options(&DbUrl::parse("postgres://u@h/db").unwrap()),
            ""
        );
    }

    #[tokio::test]
    async fn verify_full_without_a_ca_is_refused_clearly() {
        let url = DbUrl::parse(
            "postgres://u:secret@localhost/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        )
        .unwrap();
        let err = connect(&url).await.unwrap_err();
        let line = ferry_core::error::chain_line(&err);
        assert!(line.contains("CA file"), "{line}");
        assert!(!line.contains("secret"), "{line}");
        assert_eq!(err.kind(), ErrorKind::Definite);
    }
}
