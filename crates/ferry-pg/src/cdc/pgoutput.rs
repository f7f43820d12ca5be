//! A parser of pgoutput (protocol version 1) messages, the payload of the
//! replication stream's XLogData.
//!
//! Written here rather than taken from a crate: the format is small and
//! stable, and the apply needs the low-level tuple cells (an unchanged
//! TOAST value `u` must stay distinguishable from NULL `n`, which
//! higher-level decoders blur). Values arrive in binary (`binary 'true'`),
//! the `*_send` format the copy's decoders already read.

/// An LSN as the server counts it (a byte position in the WAL).
pub type Lsn = u64;

/// One cell of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    /// An out-of-line value the change did not touch: the target keeps its own.
    UnchangedToast,
    Text(Vec<u8>),
    Binary(Vec<u8>),
}

/// A column of a relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelColumn {
    /// Part of the replica identity (the key DELETE and UPDATE are sent by).
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
}

/// A decoded pgoutput message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Begin {
        final_lsn: Lsn,
        /// Commit time, µs since 2000-01-01 UTC.
        commit_time: i64,
        xid: u32,
    },
    Commit {
        commit_lsn: Lsn,
        end_lsn: Lsn,
        commit_time: i64,
    },
    Relation {
        oid: u32,
        namespace: String,
        name: String,
        /// `d` default (the key), `n` nothing, `f` full, `i` an index.
        replica_identity: u8,
        columns: Vec<RelColumn>,
    },
    Insert {
        oid: u32,
        new: Vec<Cell>,
    },
    Update {
        oid: u32,
        /// The old key (`K`) or whole old row (`O`) when the key changed or
        /// the identity is FULL; `None` when the key stayed.
        old: Option<Vec<Cell>>,
        new: Vec<Cell>,
    },
    Delete {
        oid: u32,
        /// Key columns (`K`, other cells `Null` meaning "not sent") or the
        /// whole old row (`O`).
        old: Vec<Cell>,
    },
    Truncate {
        oids: Vec<u32>,
    },
    /// Origin, Type and logical messages: nothing to apply.
    Other(u8),
}

/// Reads a message; the error says what was malformed.
pub fn parse(data: &[u8]) -> Result<Message, String> {
    let mut r = Reader { data, at: 0 };
    let tag = r.u8()?;
    let m = match tag {
        b'B' => Message::Begin {
            final_lsn: r.u64()?,
            commit_time: r.i64()?,
            xid: r.u32()?,
        },
        b'C' => {
            let _flags = r.u8()?;
            Message::Commit {
                commit_lsn: r.u64()?,
                end_lsn: r.u64()?,
                commit_time: r.i64()?,
            }
        }
        b'R' => {
            let oid = r.u32()?;
            let namespace = r.string()?;
            let name = r.string()?;
            let replica_identity = r.u8()?;
            let n = r.u16()?;
            let mut columns = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let flags = r.u8()?;
                columns.push(RelColumn {
                    key: flags & 1 == 1,
                    name: r.string()?,
                    type_oid: r.u32()?,
                    typmod: r.i64_32()?,
                });
            }
            Message::Relation {
                oid,
                namespace,
                name,
                replica_identity,
                columns,
            }
        }
        b'I' => {
            let oid = r.u32()?;
            r.expect(b'N')?;
            Message::Insert {
                oid,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let oid = r.u32()?;
            let mut old = None;
            let mut kind = r.u8()?;
            if kind == b'K' || kind == b'O' {
                old = Some(r.tuple()?);
                kind = r.u8()?;
            }
            if kind != b'N' {
                return Err(format!("update: expected N, got {kind:#04x}"));
            }
            Message::Update {
                oid,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let oid = r.u32()?;
            let kind = r.u8()?;
            if kind != b'K' && kind != b'O' {
                return Err(format!("delete: expected K or O, got {kind:#04x}"));
            }
            Message::Delete {
                oid,
                old: r.tuple()?,
            }
        }
        b'T' => {
            let n = r.u32()?;
            let _options = r.u8()?;
            let oids = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
            Message::Truncate { oids }
        }
        other => Message::Other(other),
    };
    Ok(m)
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| format!("message ends early at byte {}", self.at))?;
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn expect(&mut self, b: u8) -> Result<(), String> {
        let got = self.u8()?;
        if got == b {
            Ok(())
        } else {
            Err(format!("expected {:?}, got {got:#04x}", b as char))
        }
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i64_32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn string(&mut self) -> Result<String, String> {
        let rest = &self.data[self.at..];
        let n = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or("unterminated string")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.at += n + 1;
        Ok(s)
    }
    fn tuple(&mut self) -> Result<Vec<Cell>, String> {
        let n = self.u16()?;
        let mut cells = Vec::with_capacity(n as usize);
        for _ in 0..n {
            cells.push(match self.u8()? {
                b'n' => Cell::Null,
                b'u' => Cell::UnchangedToast,
                kind @ (b't' | b'b') => {
                    let len = self.u32()? as usize;
                    let v = self.take(len)?.to_vec();
                    if kind == b't' {
                        Cell::Text(v)
                    } else {
                        Cell::Binary(v)
                    }
                }
                other => return Err(format!("unknown tuple cell kind {other:#04x}")),
            });
        }
        Ok(cells)
    }
}

/// `X/Y` text form of an LSN.
pub fn format_lsn(lsn: Lsn) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Parses the `X/Y` text form.
pub fn parse_lsn(s: &str) -> Option<Lsn> {
    let (hi, lo) = s.trim().split_once('/')?;
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    (hi <= 0xFFFF_FFFF && lo <= 0xFFFF_FFFF).then_some((hi << 32) | lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Vec<Message> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let bytes: Vec<u8> = (0..l.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
                    .collect();
                parse(&bytes).expect("parses")
            })
            .collect()
    }

    fn int(v: i32) -> Cell {
        Cell::Binary(v.to_be_bytes().to_vec())
    }

    #[test]
    fn real_pgoutput_bytes_decode() {
        let m = fixture(include_str!("fixtures/basic.hex"));
        assert_eq!(m.len(), 14);
        assert!(matches!(m[0], Message::Begin { .. }));
        let Message::Relation {
            namespace,
            name,
            replica_identity,
            columns,
            ..
        } = &m[1]
        else {
            panic!("{:?}", m[1])
        };
        assert_eq!(
            (namespace.as_str(), name.as_str(), *replica_identity),
            ("public", "fx", b'd')
        );
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "v", "big", "n"]);
        assert!(columns[0].key && !columns[1].key);
        assert_eq!(columns[0].type_oid, 23);
        let Message::Insert { new, .. } = &m[2] else {
            panic!()
        };
        assert_eq!(new[0], int(1));
        assert_eq!(new[1], Cell::Binary(b"a".to_vec()));
        assert!(matches!(&new[2], Cell::Binary(v) if v.len() == 5000));
        let Message::Insert { new, .. } = &m[3] else {
            panic!()
        };
        assert_eq!(new[2..], [Cell::Null, Cell::Null]);
        let Message::Commit {
            commit_lsn,
            end_lsn,
            ..
        } = m[4]
        else {
            panic!()
        };
        assert!(end_lsn > commit_lsn);
        // An update that leaves the out-of-line value alone sends `u`, not NULL.
        let Message::Update { old, new, .. } = &m[6] else {
            panic!()
        };
        assert_eq!(old, &None);
        assert_eq!(new[1], Cell::Binary(b"c".to_vec()));
        assert_eq!(new[2], Cell::UnchangedToast);
        // A key change sends the old key; non-key cells are "not sent".
        let Message::Update { old, new, .. } = &m[9] else {
            panic!()
        };
        assert_eq!(
            old.as_deref().unwrap(),
            [int(2), Cell::Null, Cell::Null, Cell::Null]
        );
        assert_eq!(new[0], int(3));
        let Message::Delete { old, .. } = &m[12] else {
            panic!()
        };
        assert_eq!(old[0], int(1));
    }

    #[test]
    fn truncated_messages_are_errors() {
        assert!(parse(&[b'B', 0, 0]).is_err());
        assert!(parse(&[b'I', 0, 0, 0, 1, b'N', 0, 1, b't', 0, 0, 0, 9, 1]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn lsn_text_round_trips() {
        assert_eq!(parse_lsn("7/546833A8"), Some(0x7_5468_33A8));
        assert_eq!(format_lsn(0x7_5468_33A8), "7/546833A8");
        assert_eq!(parse_lsn("nonsense"), None);
    }
}
