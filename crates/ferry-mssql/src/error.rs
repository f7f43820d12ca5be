//! Driver error classification: one function, by SQL Server error number
//! only (never the message, which may quote a value).
//!
//! Transient errors are worth retrying (deadlock victim, lock timeout, a
//! database in transition, the connection dropped, too many sessions);
//! everything else is definite.

use ferry_core::{Error, ErrorKind};

/// Server error numbers that are worth retrying.
const TRANSIENT_CODES: &[u32] = &[
    1205,  // chosen as deadlock victim
    1222,  // lock request time out period exceeded
    3960,  // snapshot isolation update conflict
    4060,  // cannot open database (failover in progress)
    40197, // Azure SQL: service error processing the request
    40501, // Azure SQL: service busy
    40613, // Azure SQL: database not currently available
    49918, // Azure SQL: not enough resources
    49919, // Azure SQL: too many create/update operations
    49920, // Azure SQL: too many operations in progress
    10928, // Azure SQL: resource limit reached
    10929, // Azure SQL: resource limit (min guarantee)
    233,   // no process on the other end of the pipe
    10053, // transport-level error: connection aborted
    10054, // transport-level error: connection reset
    10060, // transport-level error: timed out
    17197, // login failed: timeout during login processing
    701,   // insufficient system memory
    8645,  // timeout waiting for memory resources
    8651,  // could not perform the operation: low memory
];

/// "The object already exists" numbers: a DDL statement that failed with
/// one of these has already run (a resumed step).
pub const ALREADY_EXISTS: &[u32] = &[
    1913,  // an index or statistics with that name already exists
    2714,  // there is already an object named … in the database
    2705,  // column names in each table must be unique (column already added)
    1781,  // column already has a DEFAULT bound
    15233, // property cannot be added: it already exists (extended property)
];

/// What a server error number says about a row the target refused, or
/// `None` when it is not about a row's content.
pub fn refusal_class(code: u32) -> Option<&'static str> {
    Some(match code {
        2627 | 2601 => "duplicate key",
        547 => "CHECK or foreign key constraint violation",
        515 => "NOT NULL violation",
        3609 => "refused by a trigger",
        8115 | 8152 | 2628 | 220 | 232 | 8114 | 242 | 241 | 517 | 9455 | 6602 => "value refused",
        _ => return None,
    })
}

/// How the engine should treat a driver error.
pub fn classify(err: &tiberius::error::Error) -> ErrorKind {
    use tiberius::error::Error as E;
    match err {
        E::Server(t) => classify_code(t.code()),
        E::Io { .. } => ErrorKind::Transient,
        // The server sent the client elsewhere (Azure gateway redirect):
        // connecting again follows it.
        E::Routing { .. } => ErrorKind::Transient,
        _ => ErrorKind::Definite,
    }
}

/// Classification of a server error number.
pub fn classify_code(code: u32) -> ErrorKind {
    if TRANSIENT_CODES.contains(&code) {
        ErrorKind::Transient
    } else {
        ErrorKind::Definite
    }
}

/// The server error number, if the error came from the server.
pub fn server_code(err: &tiberius::error::Error) -> Option<u32> {
    err.code()
}

/// Wraps a driver error as [`Error::Query`]; `context` names the step and table.
pub fn query_error(context: impl Into<String>, err: tiberius::error::Error) -> Error {
    let kind = classify(&err);
    Error::query(context, kind, err)
}

/// `map_err` shorthand: `.map_err(ctx("reading the catalog of dbo.t"))`.
pub fn ctx(context: impl Into<String>) -> impl FnOnce(tiberius::error::Error) -> Error {
    let context = context.into();
    move |e| query_error(context, e)
}

/// A server error that a row's content caused, without the server's
/// message (which quotes the value: "The duplicate key value is (…)").
#[derive(Debug, thiserror::Error)]
#[error("SQL Server error {code} ({class})")]
pub struct RowRefusal {
    pub code: u32,
    pub class: &'static str,
}

/// The error of a failed load: a row refusal names the class and the
/// server's error number only; anything else keeps the driver's error.
pub fn load_error(table: &str, err: tiberius::error::Error) -> Error {
    match err
        .code()
        .and_then(|c| refusal_class(c).map(|class| (c, class)))
    {
        Some((code, class)) => Error::Refused {
            table: table.to_string(),
            column: None,
            key: None,
            reason: RowRefusal { code, class }.to_string(),
        },
        None => query_error(format!("loading table {table}"), err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_by_number() {
        for code in [1205, 1222, 3960, 40613, 10054] {
            assert_eq!(classify_code(code), ErrorKind::Transient, "{code}");
        }
        for code in [2627, 208, 547, 18456, 8152] {
            assert_eq!(classify_code(code), ErrorKind::Definite, "{code}");
        }
        let io = tiberius::error::Error::Io {
            kind: std::io::ErrorKind::ConnectionReset,
            message: "reset".into(),
        };
        assert_eq!(classify(&io), ErrorKind::Transient);
        let e = query_error("reading t", io);
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert_eq!(e.to_string(), "reading t");
        let bulk = tiberius::error::Error::BulkInput("x".into());
        assert_eq!(classify(&bulk), ErrorKind::Definite);
    }

    #[test]
    fn row_refusals_by_number_never_quote_the_server() {
        assert_eq!(refusal_class(2627), Some("duplicate key"));
        assert_eq!(refusal_class(2601), Some("duplicate key"));
        assert_eq!(refusal_class(515), Some("NOT NULL violation"));
        assert_eq!(refusal_class(1205), None);
        let text = RowRefusal {
            code: 2627,
            class: "duplicate key",
        }
        .to_string();
        assert_eq!(text, "SQL Server error 2627 (duplicate key)");
    }
}
