//! A binary log position, `file:offset`, and the number the engine compares.
//!
//! The engine orders positions by one `u64` ([`SourceTxn::position_num`](
//! ferry_core::change::SourceTxn)): the file's sequence number (the digits
//! after its last `.`, `binlog.000042` → 42) in the high 24 bits and the
//! byte offset in the low 40. Files are numbered in the order the server
//! writes them and one file never reaches 2^40 bytes, so the number grows
//! along the stream; the difference of two positions in the same file is
//! bytes.

use std::fmt;

use ferry_core::{Error, Result};

const OFFSET_BITS: u32 = 40;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;

/// Where an event ends (or a transaction, at its commit event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPos {
    pub file: String,
    pub offset: u64,
}

impl BinlogPos {
    pub fn new(file: impl Into<String>, offset: u64) -> Self {
        BinlogPos {
            file: file.into(),
            offset,
        }
    }

    /// Parses `binlog.000042:1234`.
    pub fn parse(text: &str) -> Result<BinlogPos> {
        let bad = || {
            Error::Invalid(format!(
                "{text}: expected a binary log position such as binlog.000042:1234"
            ))
        };
        let (file, offset) = text.trim().rsplit_once(':').ok_or_else(bad)?;
        let offset: u64 = offset.parse().map_err(|_| bad())?;
        if file.is_empty() || file_sequence(file).is_none() || offset > OFFSET_MASK {
            return Err(bad());
        }
        Ok(BinlogPos::new(file, offset))
    }

    /// The comparable number (see the module docs).
    pub fn num(&self) -> u64 {
        (file_sequence(&self.file).unwrap_or(0) << OFFSET_BITS) | (self.offset & OFFSET_MASK)
    }
}

impl fmt::Display for BinlogPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)
    }
}

/// A MariaDB GTID, `domain-server-sequence` (`0-1-42`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MariaGtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl MariaGtid {
    /// Parses `0-1-42`; `None` when `text` is not one.
    pub fn parse(text: &str) -> Option<MariaGtid> {
        let mut parts = text.trim().splitn(3, '-');
        let domain = parts.next()?.parse().ok()?;
        let server = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        Some(MariaGtid {
            domain,
            server,
            seq,
        })
    }

    /// This domain's sequence number in a GTID position list
    /// (`0-1-40,1-2-7`, as `BINLOG_GTID_POS` returns it).
    pub fn seq_in(&self, list: &str) -> Option<u64> {
        list.split(',')
            .filter_map(MariaGtid::parse)
            .find(|g| g.domain == self.domain)
            .map(|g| g.seq)
    }
}

impl fmt::Display for MariaGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

/// The sequence number of a binary log file (`binlog.000042` → 42).
pub fn file_sequence(file: &str) -> Option<u64> {
    let (_, digits) = file.rsplit_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok().filter(|n| *n < (1 << 24))
}

/// Bytes between two positions when they are in the same file.
pub fn bytes_between(from: u64, to: u64) -> Option<u64> {
    (from >> OFFSET_BITS == to >> OFFSET_BITS).then(|| to.saturating_sub(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_print_and_order_across_files() {
        let a = BinlogPos::parse("binlog.000009:123456").unwrap();
        assert_eq!(a.to_string(), "binlog.000009:123456");
        let b = BinlogPos::parse("binlog.000010:4").unwrap();
        assert!(a.num() < b.num(), "a later file is later however short");
        let c = BinlogPos::parse("mysql-bin.000010:900").unwrap();
        assert_eq!(bytes_between(b.num(), c.num()), Some(896));
        assert_eq!(bytes_between(a.num(), b.num()), None);
        for bad in [
            "binlog.000009",
            "binlog:12",
            "binlog.x:1",
            ":1",
            "binlog.1:-1",
        ] {
            assert!(BinlogPos::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mariadb_gtids_parse_and_are_found_in_position_lists() {
        let g = MariaGtid::parse("0-1-42").unwrap();
        assert_eq!((g.domain, g.server, g.seq), (0, 1, 42));
        assert_eq!(g.to_string(), "0-1-42");
        assert_eq!(g.seq_in("1-5-9,0-3-40"), Some(40));
        assert_eq!(g.seq_in("1-5-9"), None);
        assert_eq!(g.seq_in(""), None);
        for bad in [
            "binlog.000001:4",
            "0-1",
            "a-b-c",
            "0-1-2-3",
            "3E11FA47-71CA:5",
        ] {
            assert!(MariaGtid::parse(bad).is_none(), "{bad}");
        }
    }
}
