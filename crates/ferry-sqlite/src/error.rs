//! SQLite error classification: one function, by result code only.
//!
//! SQLite is a library, so "transient" means another connection holds a
//! lock (`SQLITE_BUSY`, `SQLITE_LOCKED`) or the file system hiccupped
//! (`SQLITE_IOERR`, `SQLITE_PROTOCOL`); everything else (a full disk, a
//! file that is not a database, a constraint) is definite.

use ferry_core::{Error, ErrorKind};
use rusqlite::ffi;

/// Primary result codes worth retrying.
const TRANSIENT_CODES: &[i32] = &[
    ffi::SQLITE_BUSY,
    ffi::SQLITE_LOCKED,
    ffi::SQLITE_IOERR,
    ffi::SQLITE_PROTOCOL,
];

/// The (extended) result code of a driver error, if SQLite gave one.
pub fn result_code(e: &rusqlite::Error) -> Option<(i32, i32)> {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => Some((f.extended_code & 0xff, f.extended_code)),
        _ => None,
    }
}

/// How the engine should treat a driver error.
pub fn classify(e: &rusqlite::Error) -> ErrorKind {
    match result_code(e) {
        Some((primary, _)) if TRANSIENT_CODES.contains(&primary) => ErrorKind::Transient,
        _ => ErrorKind::Definite,
    }
}

/// What an extended result code says about a row the target refused, or
/// `None` when it is not about a row's content.
pub fn refusal_class(extended: i32) -> Option<&'static str> {
    Some(match extended {
        ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => "duplicate key",
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "foreign key violation",
        ffi::SQLITE_CONSTRAINT_CHECK => "CHECK constraint violation",
        ffi::SQLITE_CONSTRAINT_NOTNULL => "NOT NULL violation",
        ffi::SQLITE_CONSTRAINT_TRIGGER => "refused by a trigger",
        ffi::SQLITE_CONSTRAINT_DATATYPE => "value refused by a STRICT column",
        ffi::SQLITE_MISMATCH => "value refused (datatype mismatch)",
        _ => return None,
    })
}

/// Wraps a driver error as [`Error::Query`]; `context` names the step and table.
pub fn query_error(context: impl Into<String>, e: rusqlite::Error) -> Error {
    let kind = classify(&e);
    Error::query(context, kind, e)
}

/// `map_err` shorthand: `.map_err(ctx("reading the catalog of t"))`.
pub fn ctx(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
    let context = context.into();
    move |e| query_error(context, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(extended: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(extended), None)
    }

    #[test]
    fn classification_by_code() {
        for code in [
            ffi::SQLITE_BUSY,
            ffi::SQLITE_BUSY_SNAPSHOT,
            ffi::SQLITE_LOCKED,
            ffi::SQLITE_IOERR_SHORT_READ,
        ] {
            assert_eq!(classify(&failure(code)), ErrorKind::Transient, "{code}");
        }
        for code in [
            ffi::SQLITE_CONSTRAINT_UNIQUE,
            ffi::SQLITE_NOTADB,
            ffi::SQLITE_FULL,
            ffi::SQLITE_READONLY,
        ] {
            assert_eq!(classify(&failure(code)), ErrorKind::Definite, "{code}");
        }
        assert_eq!(
            refusal_class(ffi::SQLITE_CONSTRAINT_CHECK),
            Some("CHECK constraint violation")
        );
        assert_eq!(refusal_class(ffi::SQLITE_BUSY), None);
    }
}
