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
}
