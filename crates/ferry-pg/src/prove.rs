//! Proving DDL without leaving it behind: PostgreSQL's DDL is
//! transactional, so `ferry plan` runs every statement a copy would run
//! inside one transaction and rolls it back.

use ferry_core::Result;

use crate::error::ctx;
use crate::schema::first_words;
use crate::PgAdapter;

impl PgAdapter {
    /// Runs `statements` in order inside one transaction that is always
    /// rolled back. `Ok(None)`: every statement ran. `Ok(Some((i, e)))`: the
    /// server refused statement `i` with `e` (whose context names the
    /// statement's first words). `Err`: the proof itself could not run (no
    /// connection). Nothing is left behind either way: the transaction never
    /// commits, and a dropped connection rolls it back on the server.
    pub async fn try_ddl_rolled_back(
        &self,
        statements: &[String],
    ) -> Result<Option<(usize, ferry_core::Error)>> {
        let client = self.connect().await?;
        client
            .batch_execute("BEGIN")
            .await
            .map_err(ctx("starting the DDL proof"))?;
        let mut failed = None;
        for (i, s) in statements.iter().enumerate() {
            if let Err(e) = client.batch_execute(s).await {
                failed = Some((i, ctx(format!("the target refused {}", first_words(s)))(e)));
                break;
            }
        }
        client
            .batch_execute("ROLLBACK")
            .await
            .map_err(ctx("rolling the DDL proof back"))?;
        Ok(failed)
    }
}
