//! `ferry sync` (issue 11): changes committed after `copy --cdc-slot` reach
//! the target exactly once, from PostgreSQL and from MariaDB, into both.

mod mysql;
mod pg;

use ferry_core::DbUrl;
use ferry_testkit::pg_rows;

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
