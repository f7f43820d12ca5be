//! Driver error classification, by SQLSTATE only (never by message text).

use ferry_core::sentkeys::SentKeys;
use ferry_core::{Error, TablePlan};

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

/// The error of a statement that loads rows into `plan.target`: a row
/// refusal becomes [`Error::Refused`] (named by SQLSTATE, constraint and
/// column, never by the message, which may quote the value), with the
/// row's key when COPY's error context names its line and `sent` still
/// holds it; anything else is [`query_error`] with `context`.
pub(crate) fn load_error(
    plan: &TablePlan,
    sent: Option<&SentKeys>,
    context: String,
    e: tokio_postgres::Error,
) -> Error {
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
    let position = db.where_().and_then(|w| copy_position(w, plan));
    let column = db
        .column()
        .map(str::to_string)
        .or_else(|| position.as_ref().and_then(|p| p.1.clone()));
    let key = match (position, sent) {
        (Some((line, _)), Some(sent)) => Some(sent.describe(line)),
        _ => None,
    };
    Error::Refused {
        table: plan.target.to_string(),
        column,
        key,
        reason,
    }
}

/// The line (row, 1-based) and plan column a COPY error context names:
/// `COPY t, line 3, column c: …` (a context line among others when a
/// trigger or a domain check raised the error). Only a name that is one of
/// the plan's columns is taken, so nothing else of the text is echoed.
pub(crate) fn copy_position(where_: &str, plan: &TablePlan) -> Option<(u64, Option<String>)> {
    let line = where_.lines().find(|l| l.starts_with("COPY "))?;
    let at = line.find(", line ")? + ", line ".len();
    let rest = &line[at..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let row: u64 = rest[..digits].parse().ok()?;
    let column = rest[digits..].strip_prefix(", column ").and_then(|named| {
        plan.columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| {
                named.starts_with(n) && matches!(named[n.len()..].chars().next(), None | Some(':'))
            })
            .max_by_key(|n| n.len())
            .map(str::to_string)
    });
    Some((row, column))
}

/// `map_err` helper for [`load_error`].
pub(crate) fn load_ctx<'a>(
    plan: &'a TablePlan,
    sent: Option<&'a SentKeys>,
    context: impl Into<String>,
) -> impl FnOnce(tokio_postgres::Error) -> Error + 'a {
    let context = context.into();
    move |e| load_error(plan, sent, context, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_context_names_line_and_plan_column() {
        let col = |name: &str| ferry_core::ColumnPlan {
            name: name.into(),
            ..Default::default()
        };
        let plan = TablePlan {
            columns: vec![col("id"), col("v"), col("v: x")],
            ..TablePlan::default()
        };
        assert_eq!(
            copy_position("COPY t, line 3, column v: \"secret\"", &plan),
            Some((3, Some("v".into())))
        );
        assert_eq!(
            copy_position("COPY t, line 12, column v: x", &plan),
            Some((12, Some("v: x".into())))
        );
        assert_eq!(
            copy_position(
                "PL/pgSQL function f() line 3 at RAISE\nCOPY t, line 2",
                &plan
            ),
            Some((2, None))
        );
        assert_eq!(
            copy_position("COPY t, line 2, column nope", &plan),
            Some((2, None))
        );
        assert_eq!(copy_position("SQL statement", &plan), None);
    }

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
