//! What copy and verify say about a table that did not get through: shared
//! by both, so neither depends on the other for it.

use serde::Serialize;

use ferry_core::TableRef;

/// A table that did not copy (or compare), and why: one line, no values,
/// no passwords.
#[derive(Debug, Clone, Serialize)]
pub struct TableFailure {
    pub table: TableRef,
    pub error: String,
}
