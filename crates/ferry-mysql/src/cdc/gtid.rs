//! `--until` a MariaDB GTID: the binary log position where that
//! transaction ends, found in the server's own logs.
//!
//! The engine stops a sync at a position number; a GTID names a
//! transaction instead. MariaDB can say which GTIDs precede a position
//! (`BINLOG_GTID_POS(file, offset)`), not the other way round, so the file
//! holding the GTID is the newest one whose start precedes it (one
//! `BINLOG_GTID_POS` per file, newest first), and `SHOW BINLOG EVENTS` of
//! that file alone gives the transaction's commit event and its end. A GTID
//! not in the logs yet, or purged, is an error naming the source's GTID
//! position; nothing waits for a future one.
//!
//! MySQL's GTIDs (`uuid:n`) are not read: the server has no
//! `BINLOG_GTID_POS`, and no MySQL 8 server was at hand to test another
//! way. `--until file:offset` works on both.

use ferry_core::{Error, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::position::{BinlogPos, MariaGtid};
use crate::error::ctx;
use crate::Flavor;

/// Where the transaction `gtid` ends in the source's binary log.
pub(super) async fn gtid_end(
    conn: &mut Conn,
    flavor: Flavor,
    gtid: MariaGtid,
) -> Result<BinlogPos> {
    if flavor != Flavor::MariaDb {
        return Err(Error::Invalid(format!(
            "--until {gtid}: a MariaDB GTID, but the source is MySQL; give a binary log \
             position (file:offset)"
        )));
    }
    let files: Vec<Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(ctx("listing the binary logs"))?;
    let files: Vec<String> = files.iter().filter_map(|r| r.get(0)).collect();
    let now: Option<String> = conn
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .map_err(ctx("reading the source's GTID position"))?;
    let now = now.unwrap_or_default();
    if gtid.seq_in(&now).is_none_or(|s| s < gtid.seq) {
        return Err(Error::Invalid(format!(
            "--until {gtid}: not in the source's binary log yet (its GTID position is {})",
            shown(&now)
        )));
    }
    let mut holder = None;
    for file in files.iter().rev() {
        let before: Option<String> = conn
            .exec_first("SELECT BINLOG_GTID_POS(?, 4)", (file,))
            .await
            .map_err(ctx(format!(
                "reading the GTID position at the start of {file}"
            )))?;
        let before = before.unwrap_or_default();
        if gtid.seq_in(&before).is_none_or(|s| s < gtid.seq) {
            holder = Some(file.clone());
            break;
        }
    }
    let Some(file) = holder else {
        return Err(Error::Invalid(format!(
            "--until {gtid}: purged from the source's binary logs (the oldest, {}, starts after it)",
            files.first().map_or("none", String::as_str)
        )));
    };
    let events: Vec<Row> = conn
        .query(format!(
            "SHOW BINLOG EVENTS IN '{}'",
            file.replace('\'', "''")
        ))
        .await
        .map_err(ctx(format!("reading the events of {file}")))?;
    match transaction_end(&events, &gtid) {
        Some(end) => Ok(BinlogPos::new(file, end)),
        None => Err(Error::Invalid(format!(
            "--until {gtid}: no such transaction in {file}, where that sequence number of domain \
             {} is written (another server id?)",
            gtid.domain
        ))),
    }
}

fn shown(list: &str) -> &str {
    if list.is_empty() {
        "empty"
    } else {
        list
    }
}

/// The end (`End_log_pos`) of the transaction `gtid` among `SHOW BINLOG
/// EVENTS` rows (`Log_name, Pos, Event_type, Server_id, End_log_pos,
/// Info`): its `Xid` or `COMMIT` event, or for a standalone statement
/// (DDL: `GTID 0-1-5` without BEGIN) the statement's own event.
fn transaction_end(rows: &[Row], gtid: &MariaGtid) -> Option<u64> {
    let events: Vec<(String, u64, String)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>(2).unwrap_or_default(),
                r.get::<u64, _>(4).unwrap_or(0),
                r.get::<String, _>(5).unwrap_or_default(),
            )
        })
        .collect();
    end_in(&events, gtid)
}

/// [`transaction_end`] over `(Event_type, End_log_pos, Info)`.
fn end_in(events: &[(String, u64, String)], gtid: &MariaGtid) -> Option<u64> {
    let name = gtid.to_string();
    let at = events
        .iter()
        .position(|(kind, _, info)| kind == "Gtid" && info.split_whitespace().any(|w| w == name))?;
    let grouped = events[at].2.trim_start().starts_with("BEGIN");
    let rest = &events[at + 1..];
    if !grouped {
        return rest.first().map(|e| e.1);
    }
    rest.iter()
        .find(|(kind, _, info)| kind == "Xid" || (kind == "Query" && info.trim() == "COMMIT"))
        .map(|e| e.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, end: u64, info: &str) -> (String, u64, String) {
        (kind.into(), end, info.into())
    }

    #[test]
    fn a_transaction_ends_at_its_commit_and_a_statement_at_itself() {
        let log = vec![
            ev("Format_desc", 256, "Server ver: 10.11"),
            ev("Gtid", 300, "BEGIN GTID 0-1-41"),
            ev("Table_map", 350, "table_id: 1"),
            ev("Write_rows_v1", 400, "flags: STMT_END_F"),
            ev("Xid", 431, "COMMIT /* xid=7 */"),
            ev("Gtid", 473, "GTID 0-1-42"),
            ev("Query", 560, "CREATE TABLE t (a int)"),
            ev("Gtid", 600, "BEGIN GTID 0-1-43"),
            ev("Query", 700, "INSERT INTO myisam_t VALUES (1)"),
            ev("Query", 760, "COMMIT"),
        ];
        let g = |s| MariaGtid::parse(s).unwrap();
        assert_eq!(end_in(&log, &g("0-1-41")), Some(431));
        assert_eq!(end_in(&log, &g("0-1-42")), Some(560));
        assert_eq!(end_in(&log, &g("0-1-43")), Some(760));
        assert_eq!(end_in(&log, &g("0-2-41")), None, "another server's GTID");
        assert_eq!(end_in(&log, &g("0-1-4")), None, "no prefix match");
    }
}
