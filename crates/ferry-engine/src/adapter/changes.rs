//! The change streams of `ferry sync`: a source's stream and a target's
//! apply session, dispatched to the engines whose capabilities declare them.

use super::*;

/// A change stream being read (`ferry sync`); see [`ferry_core::change`].
pub enum ChangeSource {
    Pg(ferry_pg::cdc::PgChangeSource),
    MySql(ferry_mysql::cdc::MySqlChangeSource),
}

/// An apply session on a sync target.
pub enum ChangeSink {
    Pg(ferry_pg::apply::PgApply),
    MySql(ferry_mysql::apply::MySqlApply),
}

/// `what` on an engine whose capabilities declare no change stream.
fn no_change_stream(a: &Adapter, what: &str) -> Error {
    Error::Invalid(format!(
        "{what} needs a change stream, which {} does not have",
        a.engine().product()
    ))
}

impl Adapter {
    /// Before a copy meant to be followed takes its snapshot: what the
    /// engine's change stream needs from the source (PostgreSQL: the
    /// replica-identity check and the publication; MySQL: the binary log
    /// settings), so a copy that could not be followed fails first.
    pub async fn prepare_change_stream(&self, slot: &str, plans: &[TablePlan]) -> Result<()> {
        match self {
            Adapter::Pg(a) => a.prepare_change_stream(slot, plans).await,
            Adapter::MySql(a) => a.prepare_change_stream(slot, plans).await,
            Adapter::Sqlite(_) | Adapter::Mssql(_) => {
                Err(no_change_stream(self, "a copy to be followed"))
            }
        }
    }

    /// Starts reading the changes of stream `slot` after `after` (where
    /// every earlier change is in the target: its stored position, or the
    /// copy's snapshot). See [`ferry_core::change`].
    pub async fn open_change_source(
        &self,
        slot: &str,
        plans: Vec<TablePlan>,
        after: Option<&str>,
    ) -> Result<ChangeSource> {
        Ok(match self {
            Adapter::Pg(a) => {
                ChangeSource::Pg(ferry_pg::cdc::PgChangeSource::open(a, slot, plans, after).await?)
            }
            Adapter::MySql(a) => ChangeSource::MySql(
                ferry_mysql::cdc::MySqlChangeSource::open(a, slot, plans, after).await?,
            ),
            Adapter::Sqlite(_) | Adapter::Mssql(_) => {
                return Err(no_change_stream(self, "ferry sync from this source"))
            }
        })
    }

    /// The source's current log position (`--until now`): text and number.
    pub async fn current_position(&self) -> Result<(String, u64)> {
        match self {
            Adapter::Pg(a) => a.current_position().await,
            Adapter::MySql(a) => a.current_position().await,
            Adapter::Sqlite(_) | Adapter::Mssql(_) => {
                Err(no_change_stream(self, "ferry sync from this source"))
            }
        }
    }

    /// Drops what the stream keeps on the source (a PostgreSQL slot and its
    /// publication); nothing on engines whose log is not kept for ferry.
    pub async fn drop_change_stream(&self, slot: &str) -> Result<()> {
        match self {
            Adapter::Pg(a) => a.drop_change_stream(slot).await,
            Adapter::MySql(_) | Adapter::Sqlite(_) | Adapter::Mssql(_) => Ok(()),
        }
    }

    /// Opens an apply session for `plans` on this target; `job` names the
    /// sync whose position it stores (`None`: a repair, which stores none).
    pub async fn open_change_sink(
        &self,
        plans: &[TablePlan],
        job: Option<&str>,
    ) -> Result<ChangeSink> {
        Ok(match self {
            Adapter::Pg(a) => ChangeSink::Pg(a.open_apply(plans, job).await?),
            Adapter::MySql(a) => ChangeSink::MySql(a.open_apply(plans, job).await?),
            Adapter::Sqlite(_) | Adapter::Mssql(_) => {
                return Err(no_change_stream(self, "ferry sync into this target"))
            }
        })
    }

    /// Where a sync starts after a copy whose snapshot sat at `snapshot`,
    /// in this source's position notation.
    pub fn snapshot_start(&self, snapshot: &ferry_core::range::SnapshotPosition) -> Result<String> {
        use ferry_core::range::SnapshotPosition;
        match (self, snapshot) {
            (
                Adapter::Pg(_),
                SnapshotPosition::PgSlot {
                    consistent_point, ..
                },
            ) => Ok(consistent_point.clone()),
            (Adapter::MySql(a), p) => a.snapshot_start(p),
            (_, other) => Err(Error::Bug(format!(
                "a sync cannot start from snapshot position {other:?}"
            ))),
        }
    }

    /// The position number a sync stops at for `--until TEXT`: a position
    /// in this source's notation, or what the engine resolves to one (a
    /// MariaDB GTID becomes the end of its transaction).
    pub async fn until_position(&self, text: &str) -> Result<u64> {
        match self {
            Adapter::MySql(a) => a.until_position(text).await.map(|p| p.num()),
            _ => self.parse_position(text),
        }
    }

    /// Reads a position in this source's notation (`--until`) as the number
    /// [`SourceTxn::position_num`](ferry_core::change::SourceTxn) uses.
    pub fn parse_position(&self, text: &str) -> Result<u64> {
        match self {
            Adapter::Pg(_) => ferry_pg::cdc::pgoutput::parse_lsn(text).ok_or_else(|| {
                Error::Invalid(format!("--until {text}: expected an LSN such as 0/16B3748"))
            }),
            Adapter::MySql(_) => ferry_mysql::cdc::BinlogPos::parse(text)
                .map(|p| p.num())
                .map_err(|_| {
                    Error::Invalid(format!(
                        "--until {text}: expected a binary log position such as binlog.000042:1234"
                    ))
                }),
            Adapter::Sqlite(_) | Adapter::Mssql(_) => {
                Err(no_change_stream(self, "ferry sync from this source"))
            }
        }
    }

    /// Log bytes from position `from` to `to` (numbers as
    /// [`parse_position`](Self::parse_position) gives them), when the
    /// engine can tell (a MySQL distance across files is unknown).
    pub fn bytes_between(&self, from: u64, to: u64) -> Option<u64> {
        match self {
            Adapter::Pg(_) => Some(to.saturating_sub(from)),
            Adapter::MySql(_) => ferry_mysql::cdc::position::bytes_between(from, to),
            Adapter::Sqlite(_) | Adapter::Mssql(_) => None,
        }
    }
}

impl ChangeSource {
    pub async fn next(
        &mut self,
        idle: std::time::Duration,
    ) -> Result<ferry_core::change::SourceEvent> {
        match self {
            ChangeSource::Pg(s) => s.next(idle).await,
            ChangeSource::MySql(s) => s.next(idle).await,
        }
    }

    /// Everything up to `position` is durable on the target.
    pub fn confirm(&mut self, position: u64) {
        match self {
            ChangeSource::Pg(s) => s.confirm(position),
            ChangeSource::MySql(s) => s.confirm(position),
        }
    }

    pub async fn close(self) -> Result<()> {
        match self {
            ChangeSource::Pg(s) => s.close().await,
            ChangeSource::MySql(s) => s.close().await,
        }
    }
}

impl ChangeSink {
    pub async fn stored_position(&mut self) -> Result<Option<String>> {
        match self {
            ChangeSink::Pg(s) => s.stored_position().await,
            ChangeSink::MySql(s) => s.stored_position().await,
        }
    }

    /// Applies `txns` as one target transaction, with the last one's position.
    pub async fn apply(&mut self, txns: &[ferry_core::change::SourceTxn]) -> Result<()> {
        match self {
            ChangeSink::Pg(s) => s.apply(txns).await,
            ChangeSink::MySql(s) => s.apply(txns).await,
        }
    }
}
