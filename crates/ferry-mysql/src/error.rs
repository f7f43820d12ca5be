//! Driver error classification: one function, by server error number only.
//!
//! Transient errors are worth retrying (lock waits, deadlocks, a server going
//! away, too many connections, network trouble); everything else is definite.

use ferry_core::{Error, ErrorKind};

/// Server error numbers that are worth retrying.
const TRANSIENT_CODES: &[u16] = &[
    1205, // ER_LOCK_WAIT_TIMEOUT
    1213, // ER_LOCK_DEADLOCK
    1053, // ER_SERVER_SHUTDOWN
    1927, // ER_CONNECTION_KILLED (MariaDB)
    2006, // CR_SERVER_GONE_ERROR
    2013, // CR_SERVER_LOST
    1040, // ER_CON_COUNT_ERROR
    1158, // ER_NET_READ_ERROR
    1159, // ER_NET_READ_INTERRUPTED
    1160, // ER_NET_ERROR_ON_WRITE
    1161, // ER_NET_WRITE_INTERRUPTED
];

/// Server error numbers meaning `LOAD DATA LOCAL` is disabled on one side.
pub const LOCAL_INFILE_REFUSED: &[u16] = &[
    1148, // ER_NOT_ALLOWED_COMMAND
    3948, // ER_CLIENT_LOCAL_FILES_DISABLED (MySQL 8)
    4166, // ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB)
];

/// What a server error or warning number says about a row the target
/// refused, or `None` when it is not about a row's content. Under LOAD DATA
/// LOCAL (which behaves as IGNORE) most of these arrive as warnings.
pub fn refusal_class(code: u16) -> Option<&'static str> {
    Some(match code {
        1062 | 1586 => "duplicate key",
        1216 | 1452 => "foreign key violation",
        3819 | 4025 => "CHECK constraint violation",
        1048 | 1263 => "NOT NULL violation",
        1644 => "refused by a trigger",
        1264 | 1265 | 1292 | 1366 | 1367 | 1406 | 1411 | 1690 => "value refused",
        _ => return None,
    })
}

/// How the engine should treat a driver error.
pub fn classify(err: &mysql_async::Error) -> ErrorKind {
    match err {
        mysql_async::Error::Server(s) => classify_code(s.code),
        mysql_async::Error::Io(_) => ErrorKind::Transient,
        mysql_async::Error::Driver(d) => match d {
            mysql_async::DriverError::ConnectionClosed
            | mysql_async::DriverError::PoolDisconnected
            | mysql_async::DriverError::PacketOutOfOrder
            | mysql_async::DriverError::UnexpectedPacket { .. } => ErrorKind::Transient,
            _ => ErrorKind::Definite,
        },
        mysql_async::Error::Other(_) | mysql_async::Error::Url(_) => ErrorKind::Definite,
    }
}

/// Classification of a server error number.
pub fn classify_code(code: u16) -> ErrorKind {
    if TRANSIENT_CODES.contains(&code) {
        ErrorKind::Transient
    } else {
        ErrorKind::Definite
    }
}

/// The server error number, if the error came from the server.
pub fn server_code(err: &mysql_async::Error) -> Option<u16> {
    match err {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

/// Wraps a driver error as [`Error::Query`]; `context` names the step and table.
pub fn query_error(context: impl Into<String>, err: mysql_async::Error) -> Error {
    let kind = classify(&err);
    Error::query(context, kind, err)
}

/// `map_err` shorthand: `.map_err(ctx("reading the catalog of db.t"))`.
pub fn ctx(context: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> Error {
    let context = context.into();
    move |e| query_error(context, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: "m".into(),
            state: "HY000".into(),
        })
    }

    #[test]
    fn row_refusals_by_code() {
        assert_eq!(refusal_class(1062), Some("duplicate key"));
        assert_eq!(refusal_class(4025), Some("CHECK constraint violation"));
        assert_eq!(refusal_class(1452), Some("foreign key violation"));
        for code in [1205, 1146, 1261, 1262, 1148, 2013] {
            assert_eq!(refusal_class(code), None, "{code}");
        }
    }

    #[test]
    fn classification_by_code() {
        for code in [
            1205, 1213, 1053, 1927, 2006, 2013, 1040, 1158, 1159, 1160, 1161,
        ] {
            assert_eq!(classify(&server(code)), ErrorKind::Transient, "{code}");
        }
        for code in [1062, 1146, 1264, 1366, 1148] {
            assert_eq!(classify(&server(code)), ErrorKind::Definite, "{code}");
        }
        let io = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )));
        assert_eq!(classify(&io), ErrorKind::Transient);
        let closed = mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed);
        assert_eq!(classify(&closed), ErrorKind::Transient);
        let e = query_error("reading t", server(1213));
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert_eq!(e.to_string(), "reading t");
    }
}
