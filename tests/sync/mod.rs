//! `ferry sync` (issue 11): changes committed after `copy --cdc-slot` reach
//! the target exactly once, from PostgreSQL and from MariaDB, into both.

mod dirty;
mod follow;
mod legacy;
mod mysql;
mod pg;
mod status;
mod types;
mod workload;

use ferry_core::{DbUrl, Engine};
use ferry_testkit::{mysql_exec, mysql_rows, pg_exec, pg_rows};

use crate::util::{ferry, Run};

/// `ferry sync` quietly with these flags.
pub(crate) fn sync(source: &DbUrl, target: &DbUrl, extra: &[&str]) -> Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["sync", "--source", &s, "--target", &t, "--quiet"];
    args.extend_from_slice(extra);
    ferry(&args)
}

/// `ferry verify` of `tables` finds no difference.
pub(crate) fn verify_equal(source: &DbUrl, target: &DbUrl, tables: &str) {
    let (s, t) = (source.expose(), target.expose());
    let run = ferry(&["verify", "--source", &s, "--target", &t, "--tables", tables]);
    assert_eq!(run.code, 0, "verify:\n{}", run.all_output());
}

/// Replication slots of this name on a PostgreSQL source.
pub(crate) async fn slots(url: &DbUrl, slot: &str) -> usize {
    pg_rows(
        url,
        &format!("SELECT 1 FROM pg_replication_slots WHERE slot_name = '{slot}'"),
    )
    .await
    .len()
}

/// A database of either engine, for tests that run in every direction.
#[derive(Clone)]
pub(crate) enum Db {
    Pg(DbUrl),
    My(DbUrl),
}

impl Db {
    pub(crate) fn of(url: &DbUrl) -> Db {
        match url.engine {
            Engine::Postgres => Db::Pg(url.clone()),
            Engine::MySql => Db::My(url.clone()),
            Engine::Sqlite | Engine::Mssql => {
                unreachable!("the sync tests read PostgreSQL and MariaDB change streams")
            }
        }
    }

    pub(crate) fn url(&self) -> &DbUrl {
        match self {
            Db::Pg(u) | Db::My(u) => u,
        }
    }

    pub(crate) async fn exec(&self, sql: &str) {
        match self {
            Db::Pg(u) => pg_exec(u, sql).await,
            Db::My(u) => mysql_exec(u, sql).await,
        }
    }

    pub(crate) async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Db::Pg(u) => pg_rows(u, sql).await,
            Db::My(u) => mysql_rows(u, sql).await,
        }
    }

    /// The bank's total, as text.
    pub(crate) async fn total(&self) -> Option<String> {
        self.rows("SELECT SUM(bal) FROM acct").await[0][0].clone()
    }
}
