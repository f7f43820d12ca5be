//! Proving DDL without leaving it behind. MySQL's DDL commits implicitly,
//! so `ferry plan` cannot roll it back: it runs the statements a copy would
//! run in a scratch database of its own, created for the proof and dropped
//! afterwards (the account needs CREATE and DROP on it).

use mysql_async::prelude::Queryable;

use ferry_core::Result;

use crate::error::ctx;
use crate::MySqlAdapter;

/// The scratch database's name: recognisable, and unique per process and instant.
fn scratch_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("ferry_prove_{}_{nanos:x}", std::process::id())
}

fn first_words(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl MySqlAdapter {
    /// Creates an empty scratch database and returns its name. An account
    /// without CREATE fails here, and the caller says the DDL was not proven.
    pub async fn create_scratch_database(&self) -> Result<String> {
        let name = scratch_name();
        let mut conn = self.connect().await?;
        let res = conn
            .query_drop(format!("CREATE DATABASE `{name}`"))
            .await
            .map_err(ctx("creating a scratch database to prove the DDL"));
        let _ = conn.disconnect().await;
        res.map(|()| name)
    }

    /// Runs `statements` in order in `database` (unqualified names land
    /// there). `Ok(None)`: every statement ran; `Ok(Some((i, e)))`: the
    /// server refused statement `i`.
    pub async fn try_ddl_in(
        &self,
        database: &str,
        statements: &[String],
    ) -> Result<Option<(usize, ferry_core::Error)>> {
        let mut conn = self.connect().await?;
        conn.query_drop(format!("USE `{database}`"))
            .await
            .map_err(ctx("entering the scratch database"))?;
        let mut failed = None;
        for (i, s) in statements.iter().enumerate() {
            if let Err(e) = conn.query_drop(s).await {
                failed = Some((i, ctx(format!("the target refused {}", first_words(s)))(e)));
                break;
            }
        }
        let _ = conn.disconnect().await;
        Ok(failed)
    }

    /// Drops a scratch database made by [`create_scratch_database`](Self::create_scratch_database).
    pub async fn drop_scratch_database(&self, database: &str) -> Result<()> {
        let mut conn = self.connect().await?;
        let res = conn
            .query_drop(format!("DROP DATABASE IF EXISTS `{database}`"))
            .await
            .map_err(ctx("dropping the scratch database of the DDL proof"));
        let _ = conn.disconnect().await;
        res
    }
}
