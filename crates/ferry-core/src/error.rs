//! Errors shared by every layer below the binary.
//!
//! Each error carries where it happened (table, column, key) and knows its
//! [`ErrorKind`], so the engine can retry a range on a transient failure and
//! stop a table on a definite one. Messages never contain cell values (keys
//! excepted) or passwords; driver errors stay attached as `source`, never
//! stringified into the message.

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the engine should react to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth retrying: a dropped connection, a deadlock, a server restart.
    Transient,
    /// Retrying will fail the same way: bad input, a value the target refuses.
    Definite,
    /// A broken invariant inside ferry.
    Bug,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid connection URL `{url}`: {reason}")]
    Url { url: String, reason: String },

    /// `url` is already redacted.
    #[error("cannot connect to {url}")]
    Connect {
        url: String,
        kind: ErrorKind,
        #[source]
        source: BoxError,
    },

    /// A statement failed; `context` says which step, naming the table.
    #[error("{context}")]
    Query {
        context: String,
        kind: ErrorKind,
        #[source]
        source: BoxError,
    },

    #[error("table {table} not found in {database}")]
    MissingTable { table: String, database: String },

    #[error("table {table} column {column}: unsupported type {ty}: {reason}")]
    UnsupportedType {
        table: String,
        column: String,
        ty: String,
        reason: String,
    },

    /// A value the target (or the hub) cannot hold. `problem` describes the
    /// value's class ("NaN", "zero date", "out of DATETIME range"), never the value.
    #[error("table {table} column {column} key {key}: {problem}")]
    Value {
        table: String,
        column: String,
        key: String,
        problem: String,
    },

    /// The target refused a row of a statement for something it holds (a
    /// duplicate key, a CHECK or foreign key, a trigger, a domain, a
    /// value). `reason` is built from the server's error code and the names
    /// it reports (constraint, column), never from its message, which may
    /// quote the value. `key` is the row's key when the sink could tell the
    /// row (PostgreSQL's COPY names its line, MySQL's warnings some rows);
    /// otherwise the copy finds it by writing the range again in pieces
    /// (see `--on-error reject`).
    #[error("table {table}{}: the target refused a row: {reason}", refused_where(.column, .key))]
    Refused {
        table: String,
        /// The column, when the server names one (a NOT NULL violation, a
        /// value COPY could not take).
        column: Option<String>,
        /// The refused row's key, when known.
        key: Option<String>,
        reason: String,
    },

    /// A row fails one of the job's checks. Names the check and the key,
    /// never a value.
    #[error("table {table} key {key}: the row fails check {check}")]
    Check {
        table: String,
        check: String,
        key: String,
    },

    /// The snapshot every range of the run reads from is gone: the source
    /// server restarted, or the session holding the snapshot ended. Ranges
    /// not yet copied cannot be read from it; a re-run resumes from a new one.
    #[error(
        "table {table}: the source snapshot is gone (did the source server restart?); \
         re-run the same command to resume from a new snapshot"
    )]
    SnapshotLost { table: String },

    #[error("table {table} already exists in the target (choose --if-exists truncate or append)")]
    TargetExists { table: String },

    #[error("table {table}: {problem}")]
    Table { table: String, problem: String },

    #[error("mapping {origin}: {problem}")]
    Mapping { origin: String, problem: String },

    /// Input the job itself carries that cannot run: a bad job file, a flag
    /// combination, a plan that is not clean. The text is the whole line.
    #[error("{0}")]
    Invalid(String),

    #[error("internal error: {0}")]
    Bug(String),
}

/// ` column c key id=3` for [`Error::Refused`], each part when known.
fn refused_where(column: &Option<String>, key: &Option<String>) -> String {
    let mut out = String::new();
    if let Some(c) = column {
        out.push_str(&format!(" column {c}"));
    }
    if let Some(k) = key {
        out.push_str(&format!(" key {k}"));
    }
    out
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Connect { kind, .. } | Error::Query { kind, .. } => *kind,
            Error::Bug(_) => ErrorKind::Bug,
            _ => ErrorKind::Definite,
        }
    }

    /// Shorthand for a [`Error::Query`] whose kind the adapter has classified.
    pub fn query(context: impl Into<String>, kind: ErrorKind, source: impl Into<BoxError>) -> Self {
        Error::Query {
            context: context.into(),
            kind,
            source: source.into(),
        }
    }

    pub fn value(
        table: impl std::fmt::Display,
        column: impl Into<String>,
        key: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Error::Value {
            table: table.to_string(),
            column: column.into(),
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// Renders an error and its whole `source` chain on one line, the form the
/// binary prints.
pub fn chain_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        // Drivers often repeat their inner error in their own message.
        if !s.is_empty() && !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    // …and some repeat their own prefix ("Input/output error: Input/output
    // error: …"): consecutive equal segments are said once.
    let mut line = String::with_capacity(out.len());
    let mut last = None;
    for segment in out.replace('\n', " ").split(": ") {
        if last != Some(segment) {
            if last.is_some() {
                line.push_str(": ");
            }
            line.push_str(segment);
        }
        last = Some(segment);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_line_says_each_cause_once_on_one_line() {
        let io = std::io::Error::other("Input/output error: broken pipe");
        let e = Error::query("loading t", ErrorKind::Transient, io);
        assert_eq!(chain_line(&e), "loading t: Input/output error: broken pipe");
        let e = Error::query(
            "reading t",
            ErrorKind::Definite,
            std::io::Error::other("Input/output error: Input/output error: reset\nby peer"),
        );
        assert_eq!(
            chain_line(&e),
            "reading t: Input/output error: reset by peer"
        );
    }
}
