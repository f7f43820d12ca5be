//! MySQL/MariaDB as a change source for `ferry sync`: ROW-format binary
//! log events read as a replica would (COM_BINLOG_DUMP through mysql_async's
//! `binlog` feature), from the position the copy's snapshot recorded.
//!
//! Before anything streams, the server's settings are checked, each failing
//! one named with its fix: the binary log on, `binlog_format = ROW`,
//! `binlog_row_image = FULL` (the before image carries the key of an update
//! or delete; the after image every column), a server id, no compressed or
//! partial-JSON events. ferry's replica connection registers with a server
//! id of its own (the source URL's `server_id=N`, else one derived from the
//! stream name, so a restarted sync replaces its dead predecessor's
//! connection rather than adding one). A start file the server no longer
//! has is an error: the changes in it are gone.

mod ddl;
mod gtid;
pub mod position;
mod source;
pub mod value;

pub use position::BinlogPos;
pub use source::MySqlChangeSource;

use ferry_core::range::SnapshotPosition;
use ferry_core::{DbUrl, Error, Result, TablePlan};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::ctx;
use crate::{disconnect, Flavor, MySqlAdapter};

/// What the server's settings must be for its changes to be read, as
/// `(variable, value)` pairs as `SHOW GLOBAL VARIABLES` gives them; each
/// problem is one sentence naming the setting and its fix.
pub fn setting_problems(settings: &[(String, String)]) -> Vec<String> {
    let get = |name: &str| {
        settings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut out = Vec::new();
    let on = |v: Option<&str>| v.is_some_and(|v| v.eq_ignore_ascii_case("ON") || v == "1");
    if !on(get("log_bin")) {
        out.push(
            "the binary log is off (log_bin=OFF): start the server with --log-bin".to_string(),
        );
    }
    match get("binlog_format") {
        Some(f) if f.eq_ignore_ascii_case("ROW") => {}
        f => out.push(format!(
            "binlog_format is {}: ferry sync needs ROW (SET GLOBAL binlog_format = 'ROW', and in \
             the server's configuration)",
            f.unwrap_or("unknown")
        )),
    }
    match get("binlog_row_image") {
        Some(f) if f.eq_ignore_ascii_case("FULL") => {}
        f => out.push(format!(
            "binlog_row_image is {}: ferry sync needs FULL (SET GLOBAL binlog_row_image = 'FULL')",
            f.unwrap_or("unknown")
        )),
    }
    if !matches!(get("server_id"), Some(v) if v != "0") {
        out.push("server_id is 0: give the server a non-zero server_id".to_string());
    }
    if on(get("log_bin_compress")) {
        out.push(
            "log_bin_compress is ON: ferry sync cannot read compressed events; turn it off"
                .to_string(),
        );
    }
    if get("binlog_row_value_options").is_some_and(|v| !v.is_empty()) {
        out.push(
            "binlog_row_value_options is PARTIAL_JSON: ferry sync needs whole JSON values \
             (SET GLOBAL binlog_row_value_options = '')"
                .to_string(),
        );
    }
    out
}

/// Checks the server's settings (see [`setting_problems`]); one error line
/// lists every problem.
pub async fn check_source(conn: &mut Conn, _flavor: Flavor) -> Result<()> {
    let settings: Vec<(String, String)> = conn
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', \
             'binlog_row_image', 'server_id', 'log_bin_compress', 'binlog_row_value_options')",
        )
        .await
        .map_err(ctx("reading the source's binary log settings"))?;
    let problems = setting_problems(&settings);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the source cannot stream its changes to ferry sync: {}",
        problems.join("; ")
    )))
}

/// Fails with a clear line when `start`'s file is no longer on the server.
pub async fn start_file_present(conn: &mut Conn, start: &BinlogPos) -> Result<()> {
    let files: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(ctx("listing the source's binary logs"))?;
    let names: Vec<String> = files
        .into_iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect();
    if names.contains(&start.file) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the source no longer has binary log {} (oldest: {}): it was purged, so the changes \
         since {start} are gone; copy the tables again, and keep binary logs longer than copy \
         plus sync take (binlog_expire_logs_seconds)",
        start.file,
        names.first().map_or("none", String::as_str)
    )))
}

/// The server id ferry's replica connection registers with: the source
/// URL's `server_id`, else one derived from the stream name in
/// 2^30..2^31, a range real replicas rarely use.
pub fn server_id(url: &DbUrl, stream: &str) -> Result<u32> {
    if let Some(v) = url.param("server_id") {
        return v
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::Invalid(format!("server_id={v}: expected 1 to 4294967295")));
    }
    // FNV-1a: stable across runs and builds, unlike the std hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in stream.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    Ok(0x4000_0000 | (h & 0x3fff_ffff))
}

/// Every column of a table in ordinal order, with its character set (the
/// shape of a logged row).
pub async fn table_columns(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> Result<Vec<(String, Option<String>)>> {
    conn.exec(
        "SELECT COLUMN_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (db, table),
    )
    .await
    .map_err(ctx(format!("reading the columns of {db}.{table}")))
}

impl MySqlAdapter {
    /// Before `ferry copy --cdc-slot`: the server can stream changes, and
    /// every table's changes can be read (keyless tables are refused by the
    /// engine), so a copy meant to be followed fails before it starts.
    pub async fn prepare_change_stream(&self, _stream: &str, plans: &[TablePlan]) -> Result<()> {
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        let checked = async {
            check_source(&mut conn, flavor).await?;
            for plan in plans {
                let db = self.schema_of(&plan.source).to_string();
                let columns = table_columns(&mut conn, &db, &plan.source.name).await?;
                for c in &plan.columns {
                    let charset = columns
                        .iter()
                        .find(|(n, _)| *n == c.name)
                        .and_then(|(_, cs)| cs.as_deref());
                    value::BinlogColumn::for_column(&c.raw, charset).map_err(|reason| {
                        Error::UnsupportedType {
                            table: plan.source.to_string(),
                            column: c.name.clone(),
                            ty: c.source_type.clone(),
                            reason,
                        }
                    })?;
                }
            }
            Ok(())
        }
        .await;
        disconnect(conn).await;
        checked
    }

    /// The end of the binary log now (`--until now`): every transaction
    /// committed so far ends at or before it.
    pub async fn current_position(&self) -> Result<(String, u64)> {
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        let pos = log_end(&mut conn, flavor).await;
        disconnect(conn).await;
        let pos = pos?;
        Ok((pos.to_string(), pos.num()))
    }

    /// The position a sync stops at for `--until TEXT`: a binary log
    /// position (`binlog.000042:1234`) as it is, or a MariaDB GTID
    /// (`0-1-42`) as the end of that transaction (see [`gtid`]).
    pub async fn until_position(&self, text: &str) -> Result<BinlogPos> {
        if let Ok(pos) = BinlogPos::parse(text) {
            return Ok(pos);
        }
        let Some(g) = position::MariaGtid::parse(text) else {
            return Err(Error::Invalid(format!(
                "--until {text}: expected a binary log position such as binlog.000042:1234 or a \
                 MariaDB GTID such as 0-1-42"
            )));
        };
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        let end = gtid::gtid_end(&mut conn, flavor, g).await;
        disconnect(conn).await;
        end
    }

    /// Where a sync starts after a copy whose snapshot is `snapshot`.
    pub fn snapshot_start(&self, snapshot: &SnapshotPosition) -> Result<String> {
        match snapshot {
            SnapshotPosition::MySqlBinlog {
                file: Some(file),
                position: Some(offset),
                ..
            } => Ok(BinlogPos::new(file.clone(), *offset).to_string()),
            other => Err(Error::Bug(format!(
                "a MySQL sync cannot start from snapshot position {other:?}"
            ))),
        }
    }
}

/// The binary log's end: `SHOW BINARY LOG STATUS` (MySQL 8.2+, the only
/// name in 8.4) or `SHOW MASTER STATUS` (MariaDB, older MySQL).
async fn log_end(conn: &mut Conn, flavor: Flavor) -> Result<BinlogPos> {
    let row: Option<mysql_async::Row> = match flavor {
        Flavor::MySql => match conn.query_first("SHOW BINARY LOG STATUS").await {
            Ok(r) => r,
            Err(_) => conn
                .query_first("SHOW MASTER STATUS")
                .await
                .map_err(ctx("reading the binary log position"))?,
        },
        Flavor::MariaDb => conn
            .query_first("SHOW MASTER STATUS")
            .await
            .map_err(ctx("reading the binary log position"))?,
    };
    let Some(row) = row else {
        return Err(Error::Invalid(
            "the source's binary log is off (log_bin=OFF): start the server with --log-bin".into(),
        ));
    };
    let file: Option<String> = row.get(0);
    let offset: Option<u64> = row.get(1);
    match (file, offset) {
        (Some(f), Some(o)) => Ok(BinlogPos::new(f, o)),
        _ => Err(Error::Bug("SHOW MASTER STATUS without a position".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_wrong_setting_is_named_with_its_fix() {
        let good = s(&[
            ("log_bin", "ON"),
            ("binlog_format", "ROW"),
            ("binlog_row_image", "FULL"),
            ("server_id", "1"),
            ("log_bin_compress", "OFF"),
        ]);
        assert!(setting_problems(&good).is_empty());
        let bad = s(&[
            ("log_bin", "OFF"),
            ("binlog_format", "MIXED"),
            ("binlog_row_image", "MINIMAL"),
            ("server_id", "0"),
            ("log_bin_compress", "ON"),
            ("binlog_row_value_options", "PARTIAL_JSON"),
        ]);
        let p = setting_problems(&bad);
        assert_eq!(p.len(), 6, "{p:?}");
        assert!(p[0].contains("log_bin=OFF") && p[0].contains("--log-bin"));
        assert!(p[1].contains("MIXED") && p[1].contains("ROW"));
        assert!(p[2].contains("MINIMAL") && p[2].contains("FULL"));
        assert!(p[3].contains("server_id"));
    }

    #[test]
    fn server_ids_are_stable_and_stay_out_of_the_usual_range() {
        let url = DbUrl::parse("mysql://u@h/db").unwrap();
        let a = server_id(&url, "move_app").unwrap();
        assert_eq!(a, server_id(&url, "move_app").unwrap());
        assert_ne!(a, server_id(&url, "move_other").unwrap());
        assert!((0x4000_0000..0x8000_0000).contains(&a));
        let given = DbUrl::parse("mysql://u@h/db?server_id=77").unwrap();
        assert_eq!(server_id(&given, "x").unwrap(), 77);
        assert!(
            DbUrl::parse("mysql://u@h/db?server_id=0").is_err(),
            "refused when parsed"
        );
    }
}
