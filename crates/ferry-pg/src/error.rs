//! Driver error classification, by SQLSTATE only (never by message text).

use ferry_core::Error;

/// Classification by SQLSTATE is shared with the checkpoint store.
pub use ferry_pgconn::classify;

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

/// What a SQLSTATE says about a row the target refused, or `None` when the
/// error is not about a row's content: integrity constraints (class 23),
/// data exceptions (class 22) and exceptions raised by triggers (P0001).
fn refusal_class(code: &str) -> Option<&'static str> {
    Some(match code {
        "23505" => "duplicate key",
        "23503" => "foreign key violation",
        "23514" => "CHECK constraint violation",
        "23502" => "NOT NULL violation",
        "23P01" => "exclusion constraint violation",
        "P0001" => "refused by a trigger",
        c if c.starts_with("23") => "integrity constraint violation",
        c if c.starts_with("22") => "value refused",
        _ => return None,
    })
}

/// The error of a statement that loads rows into `table`: a row refusal
/// becomes [`Error::Refused`] (named by SQLSTATE, constraint and column,
/// never by the message, which may quote the value); anything else is
/// [`query_error`] with `context`.
pub(crate) fn load_error(table: &str, context: String, e: tokio_postgres::Error) -> Error {
    let (Some(state), Some(db)) = (e.code(), e.as_db_error()) else {
        return query_error(context, e);
    };
    let Some(class) = refusal_class(state.code()) else {
        return query_error(context, e);
    };
    let mut reason = format!("{class} ({})", state.code());
    if let Some(c) = db.constraint() {
        reason.push_str(&format!(" on constraint {c}"));
    }
    Error::Refused {
        table: table.to_string(),
        column: db.column().map(str::to_string),
        reason,
    }
}

/// `map_err` helper for [`load_error`].
pub(crate) fn load_ctx(
    table: &str,
    context: impl Into<String>,
) -> impl FnOnce(tokio_postgres::Error) -> Error {
    let (table, context) = (table.to_string(), context.into());
    move |e| load_error(&table, context, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_refusals_by_sqlstate() {
        assert_eq!(refusal_class("23505"), Some("duplicate key"));
        assert_eq!(refusal_class("23514"), Some("CHECK constraint violation"));
        assert_eq!(refusal_class("22001"), Some("value refused"));
        assert_eq!(refusal_class("P0001"), Some("refused by a trigger"));
        for c in ["08006", "42P01", "57014", "40001", "XX000"] {
            assert_eq!(refusal_class(c), None, "{c}");
        }
    }
}
