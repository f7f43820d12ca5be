//! Driver error classification, by SQLSTATE only (never by message text).

use ferry_core::{Error, ErrorKind};

/// Transient: connection exceptions (class 08), admin/crash shutdown
/// (57P01–57P03), serialization failure and deadlock (40001, 40P01),
/// insufficient resources (class 53), and errors without a SQLSTATE (I/O,
/// closed connection). Everything else is definite.
pub fn classify(e: &tokio_postgres::Error) -> ErrorKind {
    match e.code() {
        None => ErrorKind::Transient,
        Some(state) => classify_code(state.code()),
    }
}

fn classify_code(code: &str) -> ErrorKind {
    if code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
    {
        ErrorKind::Transient
    } else {
        ErrorKind::Definite
    }
}

/// Wraps a driver error as [`Error::Query`] with `context` (which names the table).
pub(crate) fn query_error(context: impl Into<String>, e: tokio_postgres::Error) -> Error {
    let kind = classify(&e);
    Error::query(context, kind, e)
}

/// `map_err` helper: `.map_err(ctx("reading t"))`.
pub(crate) fn ctx(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> Error {
    let context = context.into();
    move |e| query_error(context, e)
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
}
