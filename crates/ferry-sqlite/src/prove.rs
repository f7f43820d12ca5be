//! Proving DDL without leaving it behind: SQLite's DDL is transactional,
//! so `ferry plan` runs every statement a copy would run inside one
//! transaction and rolls it back. A target file that does not exist yet
//! is not created for the proof: the statements run in an empty in-memory
//! database instead, which is what the file would be.

use ferry_core::Result;
use rusqlite::Connection;

use crate::error::ctx;
use crate::{blocking, SqliteAdapter};

fn first_words(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl SqliteAdapter {
    /// Runs `statements` in order inside one transaction that is always
    /// rolled back. `Ok(None)`: every statement ran; `Ok(Some((i, e)))`:
    /// SQLite refused statement `i`.
    pub async fn try_ddl_rolled_back(
        &self,
        statements: &[String],
    ) -> Result<Option<(usize, ferry_core::Error)>> {
        let statements = statements.to_vec();
        let me = self.clone();
        blocking(move || {
            let conn = if me.exists() {
                me.open_write()?
            } else {
                Connection::open_in_memory().map_err(ctx("opening a scratch database"))?
            };
            conn.execute_batch("BEGIN")
                .map_err(ctx("starting the DDL proof"))?;
            let mut failed = None;
            for (i, s) in statements.iter().enumerate() {
                if let Err(e) = conn.execute_batch(s) {
                    failed = Some((i, ctx(format!("the target refused {}", first_words(s)))(e)));
                    break;
                }
            }
            conn.execute_batch("ROLLBACK")
                .map_err(ctx("rolling the DDL proof back"))?;
            Ok(failed)
        })
        .await
    }
}
