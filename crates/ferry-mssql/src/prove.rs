//! Proving DDL without leaving it behind: SQL Server's DDL is
//! transactional, so `ferry plan` runs the statements a copy would run in
//! a transaction it rolls back.

use ferry_core::Result;

use crate::error::ctx;
use crate::{close, simple, MssqlAdapter};

fn first_words(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl MssqlAdapter {
    /// Runs `statements` in order inside one transaction that is rolled
    /// back. `Ok(None)`: every statement ran; `Ok(Some((i, e)))`: the server
    /// refused statement `i`. Nothing is left behind: the transaction never
    /// commits, and a closed session rolls it back on the server.
    pub async fn try_ddl_rolled_back(
        &self,
        statements: &[String],
    ) -> Result<Option<(usize, ferry_core::Error)>> {
        let mut client = self.connect().await?;
        simple(&mut client, "BEGIN TRANSACTION")
            .await
            .map_err(ctx("starting the DDL proof"))?;
        let mut failed = None;
        for (i, s) in statements.iter().enumerate() {
            if let Err(e) = simple(&mut client, s).await {
                failed = Some((i, ctx(format!("the target refused {}", first_words(s)))(e)));
                break;
            }
        }
        // XACT_ABORT has ended the transaction on a failure already.
        let _ = simple(&mut client, "IF @@TRANCOUNT > 0 ROLLBACK").await;
        close(client).await;
        Ok(failed)
    }
}
