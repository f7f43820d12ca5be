//! Legacy character sets: read as raw bytes, decoded by ferry with the
//! server's own table, never through a lossy conversion.
//!
//! A session in `utf8mb4` makes the server convert every text value out of
//! its column's character set, and a byte sequence without a Unicode mapping
//! (gbk `A380`) becomes `?` without a word; verify reading through the same
//! conversion would call the copy equal. So a column in any character set
//! other than the UTF-8 family is selected as `CAST(col AS BINARY)` and
//! decoded here; a sequence without a mapping is refused (with table,
//! column, key and character set, by the reader).
//!
//! The table is the server's own: when a run first meets a character set,
//! one query asks the server to convert every 1- and 2-byte sequence (and
//! EUC-JP's 3-byte `8F xx yy`) to utf8mb4, about 41 000 rows in ~30 ms. A
//! sequence maps when the server makes exactly one character of it that is
//! neither its `?` (unless the byte is `?`) nor U+FFFD (which MariaDB's
//! tis620 and big5 tables use for "no character"). Why not a crate's tables:
//! measured against MariaDB 10.11, the WHATWG tables of `encoding_rs` (the
//! well-kept choice) differ from the server's in 17 of the 23 character sets
//! both know, e.g. gbk (WHATWG maps 0x80 and the user-defined areas, 2 277
//! sequences MySQL leaves unmapped), big5 (267 sequences mapped to other
//! characters, 4 877 HKSCS ones MySQL lacks), sjis (`815F` is U+005C in
//! MySQL, U+FF3C in WHATWG), ujis (381 differ), latin5 (MySQL's
//! 0x80–0x9F are C1 controls, WHATWG's windows-1254 letters) and cp1250,
//! cp1256, cp1257, greek, tis620 (bytes MySQL leaves unmapped). A table
//! read from the server is exact for that server, MySQL 8's included, with
//! no exception lists to keep.
//!
//! UCS-2, UTF-16 (big and little endian) and UTF-32 are Unicode: decoded by
//! their definition (an unpaired surrogate, a code point past U+10FFFF, or
//! any surrogate in UCS-2 is refused).
//!
//! The same tables encode the way in: text for an existing column in such a
//! character set (appending into a latin1 column) is encoded by ferry, and
//! a character the set cannot hold is refused with its key, where the
//! server would have stored `?`. Where several sequences decode to one
//! character (cp932's NEC and IBM duplicates), the first in byte order is
//! written.
//!
//! MySQL 8's gb18030 is read like the others for its 1- and 2-byte
//! sequences; its 4-byte sequences are refused (not decoded yet). Untested:
//! no MySQL 8 server here.

use std::collections::HashMap;
use std::sync::OnceLock;

use ferry_core::{Error, ErrorKind, Result};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::ctx;

/// What is wrong with a value, without the value.
pub type Problem = String;

const NONE: u32 = u32::MAX;

/// Whether text in `charset` must be read as raw bytes and decoded by ferry:
/// every character set but the UTF-8 family (which converts to utf8mb4
/// losslessly) and `binary` (bytes already).
pub fn reads_raw(charset: &str) -> bool {
    !matches!(charset, "utf8mb4" | "utf8mb3" | "utf8" | "binary")
}

/// Whether values for a column in `charset` must be encoded by ferry
/// (ferry's text is UTF-8; the load is `CHARACTER SET binary`).
pub fn writes_encoded(charset: &str) -> bool {
    !matches!(charset, "utf8mb4" | "binary")
}

/// One character set: how its bytes become text and back.
pub struct Charset {
    name: String,
    kind: Kind,
}

impl std::fmt::Debug for Charset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Charset({})", self.name)
    }
}

enum Kind {
    /// utf8mb3: UTF-8 without 4-byte characters (encoding only).
    Utf8mb3,
    /// UTF-16 (UCS-2 when `bmp_only`), big endian unless `little_endian`.
    Utf16 {
        little_endian: bool,
        bmp_only: bool,
    },
    Utf32,
    /// The server's table.
    Table(Box<Table>),
}

struct Table {
    /// Byte → code point, or [`NONE`].
    single: Vec<u32>,
    /// `(lead − 0x80) × 256 + trail` → code point, or [`NONE`] (empty when
    /// the set has no 2-byte sequences).
    double: Vec<u32>,
    /// EUC's `8F xx yy` with xx, yy in A1…FE: `(xx − 0xA1) × 94 + (yy − 0xA1)`.
    triple: Vec<u32>,
    /// The set has 4-byte sequences ferry does not decode (gb18030).
    has_four_byte: bool,
    /// Character → bytes, built on first use (the way in).
    inverse: OnceLock<HashMap<char, Vec<u8>>>,
}

impl Table {
    fn ascii_compatible(&self) -> bool {
        (0..0x80u32).all(|b| self.single[b as usize] == b)
    }

    fn inverse(&self) -> &HashMap<char, Vec<u8>> {
        self.inverse.get_or_init(|| {
            let mut out = HashMap::new();
            let mut add = |cp: u32, bytes: Vec<u8>| {
                if let Some(c) = char::from_u32(cp) {
                    out.entry(c).or_insert(bytes);
                }
            };
            for (b, &cp) in self.single.iter().enumerate() {
                add(cp, vec![u8::try_from(b).unwrap_or(0)]);
            }
            for (i, &cp) in self.double.iter().enumerate() {
                let lead = u8::try_from(0x80 + i / 256).unwrap_or(0);
                add(cp, vec![lead, u8::try_from(i % 256).unwrap_or(0)]);
            }
            for (i, &cp) in self.triple.iter().enumerate() {
                let (a, b) = (0xA1 + i / 94, 0xA1 + i % 94);
                add(
                    cp,
                    vec![
                        0x8F,
                        u8::try_from(a).unwrap_or(0),
                        u8::try_from(b).unwrap_or(0),
                    ],
                );
            }
            out
        })
    }
}

impl Charset {
    /// The character set's name as MySQL spells it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether ASCII bytes mean ASCII here, so a value written in ASCII
    /// (numbers, dates, UUIDs) needs no encoding.
    pub fn ascii_compatible(&self) -> bool {
        match &self.kind {
            Kind::Utf8mb3 => true,
            Kind::Utf16 { .. } | Kind::Utf32 => false,
            Kind::Table(t) => t.ascii_compatible(),
        }
    }

    fn unmapped(&self) -> Problem {
        format!(
            "byte sequence without a Unicode mapping in MySQL's {} character set \
             (the server would show it as '?')",
            self.name
        )
    }

    /// Appends the text of `bytes` to `out`; a sequence without a Unicode
    /// mapping is refused (`out` then holds a prefix).
    pub fn decode_into(&self, bytes: &[u8], out: &mut String) -> Result<(), Problem> {
        match &self.kind {
            Kind::Utf8mb3 => {
                out.push_str(std::str::from_utf8(bytes).map_err(|_| self.unmapped())?);
                Ok(())
            }
            Kind::Utf16 {
                little_endian,
                bmp_only,
            } => {
                if !bytes.len().is_multiple_of(2) {
                    return Err(self.unmapped());
                }
                let units = bytes.chunks_exact(2).map(|u| {
                    let pair = [u[0], u[1]];
                    if *little_endian {
                        u16::from_le_bytes(pair)
                    } else {
                        u16::from_be_bytes(pair)
                    }
                });
                if *bmp_only && units.clone().any(|u| (0xD800..0xE000).contains(&u)) {
                    return Err(self.unmapped());
                }
                for c in char::decode_utf16(units) {
                    out.push(c.map_err(|_| self.unmapped())?);
                }
                Ok(())
            }
            Kind::Utf32 => {
                if !bytes.len().is_multiple_of(4) {
                    return Err(self.unmapped());
                }
                for u in bytes.chunks_exact(4) {
                    let cp = u32::from_be_bytes([u[0], u[1], u[2], u[3]]);
                    out.push(char::from_u32(cp).ok_or_else(|| self.unmapped())?);
                }
                Ok(())
            }
            Kind::Table(t) => self.decode_table(t, bytes, out),
        }
    }

    fn decode_table(&self, t: &Table, bytes: &[u8], out: &mut String) -> Result<(), Problem> {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let mut cp = NONE;
            let mut len = 1;
            // Longest sequence first, as the server reads a multi-byte lead.
            if b >= 0x80 && !t.double.is_empty() && i + 1 < bytes.len() {
                cp = t.double[usize::from(b - 0x80) * 256 + usize::from(bytes[i + 1])];
                len = 2;
            }
            if cp == NONE && b == 0x8F && !t.triple.is_empty() && i + 2 < bytes.len() {
                let (x, y) = (bytes[i + 1], bytes[i + 2]);
                if (0xA1..=0xFE).contains(&x) && (0xA1..=0xFE).contains(&y) {
                    cp = t.triple[usize::from(x - 0xA1) * 94 + usize::from(y - 0xA1)];
                    len = 3;
                }
            }
            if cp == NONE {
                cp = t.single[usize::from(b)];
                len = 1;
            }
            match char::from_u32(cp) {
                Some(c) => out.push(c),
                None if t.has_four_byte
                    && b >= 0x81
                    && bytes.get(i + 1).is_some_and(|n| n.is_ascii_digit()) =>
                {
                    return Err(format!(
                        "4-byte {} sequence, which ferry does not decode yet",
                        self.name
                    ))
                }
                None => return Err(self.unmapped()),
            }
            i += len;
        }
        Ok(())
    }

    /// Appends `s` encoded in this character set; a character it cannot
    /// hold is refused.
    pub fn encode_into(&self, s: &str, out: &mut Vec<u8>) -> Result<(), Problem> {
        let cannot = || {
            format!(
                "character that MySQL's {} character set cannot hold (the server would store '?')",
                self.name
            )
        };
        match &self.kind {
            Kind::Utf8mb3 => {
                if s.chars().any(|c| c.len_utf8() > 3) {
                    return Err(cannot());
                }
                out.extend_from_slice(s.as_bytes());
            }
            Kind::Utf16 {
                little_endian,
                bmp_only,
            } => {
                for c in s.chars() {
                    if *bmp_only && c.len_utf16() > 1 {
                        return Err(cannot());
                    }
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.extend_from_slice(&if *little_endian {
                            u.to_le_bytes()
                        } else {
                            u.to_be_bytes()
                        });
                    }
                }
            }
            Kind::Utf32 => {
                for c in s.chars() {
                    out.extend_from_slice(&u32::from(c).to_be_bytes());
                }
            }
            Kind::Table(t) => {
                let ascii = t.ascii_compatible();
                for c in s.chars() {
                    if ascii && c.is_ascii() {
                        out.push(u8::try_from(c).unwrap_or(b'?'));
                        continue;
                    }
                    out.extend_from_slice(t.inverse().get(&c).ok_or_else(cannot)?);
                }
            }
        }
        Ok(())
    }

    /// Reads `name`'s table from the server `conn` is on (see the module docs).
    pub async fn load(conn: &mut Conn, name: &str) -> Result<Charset> {
        let kind = match name {
            "utf8mb3" | "utf8" => Kind::Utf8mb3,
            "ucs2" => Kind::Utf16 {
                little_endian: false,
                bmp_only: true,
            },
            "utf16" => Kind::Utf16 {
                little_endian: false,
                bmp_only: false,
            },
            "utf16le" => Kind::Utf16 {
                little_endian: true,
                bmp_only: false,
            },
            "utf32" => Kind::Utf32,
            _ => Kind::Table(Box::new(load_table(conn, name).await?)),
        };
        Ok(Charset {
            name: name.to_string(),
            kind,
        })
    }
}

/// A character set name safe to splice into SQL (the catalog's own names
/// are lower-case letters, digits and `_`).
fn checked_name(name: &str) -> Result<&str> {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(name)
    } else {
        Err(Error::Bug(format!(
            "unexpected character set name {name:?}"
        )))
    }
}

/// The code point the server makes of `input` in one character, or [`NONE`].
fn one_char(input: &[u8], converted: &[u8]) -> u32 {
    let Ok(s) = std::str::from_utf8(converted) else {
        return NONE;
    };
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some('\u{FFFD}'), None) => NONE,
        (Some('?'), None) if input != b"?" => NONE,
        (Some(c), None) => u32::from(c),
        _ => NONE,
    }
}

async fn load_table(conn: &mut Conn, name: &str) -> Result<Table> {
    let name = checked_name(name)?;
    let what = format!("reading MySQL's {name} character set table");
    let maxlen: Option<u32> = conn
        .exec_first(
            "SELECT MAXLEN FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = ?",
            (name,),
        )
        .await
        .map_err(ctx(what.clone()))?;
    let maxlen = maxlen.ok_or_else(|| Error::Query {
        context: what.clone(),
        kind: ErrorKind::Definite,
        source: format!("the server has no character set {name}").into(),
    })?;
    let bytes = "n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 255)";
    let conv = |input: &str| format!("CONVERT(CONVERT({input} USING {name}) USING utf8mb4)");
    let mut single = vec![NONE; 256];
    let rows: Vec<(usize, Vec<u8>)> = conn
        .query(format!(
            "WITH RECURSIVE {bytes} SELECT i, {} FROM n",
            conv("CHAR(i)")
        ))
        .await
        .map_err(ctx(what.clone()))?;
    for (i, out) in rows {
        if let (Some(slot), Ok(b)) = (single.get_mut(i), u8::try_from(i)) {
            *slot = one_char(&[b], &out);
        }
    }
    let mut double = Vec::new();
    if maxlen >= 2 {
        double = vec![NONE; 128 * 256];
        let rows: Vec<(usize, usize, Vec<u8>)> = conn
            .query(format!(
                "WITH RECURSIVE {bytes} SELECT a.i, b.i, {} FROM n a JOIN n b WHERE a.i >= 128",
                conv("CONCAT(CHAR(a.i), CHAR(b.i))")
            ))
            .await
            .map_err(ctx(what.clone()))?;
        for (a, b, out) in rows {
            let (Ok(x), Ok(y)) = (u8::try_from(a), u8::try_from(b)) else {
                continue;
            };
            if let Some(slot) = double.get_mut((a - 128) * 256 + b) {
                *slot = one_char(&[x, y], &out);
            }
        }
    }
    let mut triple = Vec::new();
    if maxlen == 3 {
        triple = vec![NONE; 94 * 94];
        let rows: Vec<(usize, usize, Vec<u8>)> = conn
            .query(format!(
                "WITH RECURSIVE n(i) AS (SELECT 161 UNION ALL SELECT i + 1 FROM n WHERE i < 254) \
                 SELECT a.i, b.i, {} FROM n a JOIN n b",
                conv("CONCAT(CHAR(143), CHAR(a.i), CHAR(b.i))")
            ))
            .await
            .map_err(ctx(what))?;
        for (a, b, out) in rows {
            let (Ok(x), Ok(y)) = (u8::try_from(a), u8::try_from(b)) else {
                continue;
            };
            if let Some(slot) = triple.get_mut((a - 161) * 94 + (b - 161)) {
                *slot = one_char(&[0x8F, x, y], &out);
            }
        }
    }
    Ok(Table {
        single,
        double,
        triple,
        has_four_byte: maxlen >= 4,
        inverse: OnceLock::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin1_like() -> Charset {
        let mut single: Vec<u32> = (0..256).collect();
        single[0x80] = 0x20AC;
        single[0x81] = NONE;
        Charset {
            name: "test".into(),
            kind: Kind::Table(Box::new(Table {
                single,
                double: Vec::new(),
                triple: Vec::new(),
                has_four_byte: false,
                inverse: OnceLock::new(),
            })),
        }
    }

    #[test]
    fn table_decodes_and_refuses_without_replacing() {
        let cs = latin1_like();
        let mut s = String::new();
        cs.decode_into(b"a\x80\xe9", &mut s).unwrap();
        assert_eq!(s, "a€é");
        let e = cs.decode_into(b"x\x81", &mut String::new()).unwrap_err();
        assert!(e.contains("test character set"), "{e}");
        let mut out = Vec::new();
        cs.encode_into("a€é", &mut out).unwrap();
        assert_eq!(out, b"a\x80\xe9");
        assert!(cs.encode_into("😀", &mut Vec::new()).is_err());
        assert!(cs.ascii_compatible());
    }

    #[test]
    fn double_byte_sequences_take_priority_over_single_bytes() {
        let mut double = vec![NONE; 128 * 256];
        double[(0xA3 - 0x80) * 256 + 0xA1] = 0xFF01;
        let mut single: Vec<u32> = (0..128).collect();
        single.resize(256, NONE);
        let cs = Charset {
            name: "gbk".into(),
            kind: Kind::Table(Box::new(Table {
                single,
                double,
                triple: Vec::new(),
                has_four_byte: false,
                inverse: OnceLock::new(),
            })),
        };
        let mut s = String::new();
        cs.decode_into(b"\xa3\xa1!", &mut s).unwrap();
        assert_eq!(s, "！!");
        // gbk A380: a well-formed pair the server's table leaves unmapped.
        assert!(cs.decode_into(b"\xa3\x80", &mut String::new()).is_err());
        assert!(cs.decode_into(b"\xa3", &mut String::new()).is_err());
        let mut out = Vec::new();
        cs.encode_into("！", &mut out).unwrap();
        assert_eq!(out, b"\xa3\xa1");
    }

    #[test]
    fn unicode_sets_by_definition() {
        let cs = |name: &str, kind| Charset {
            name: name.into(),
            kind,
        };
        let utf16 = cs(
            "utf16",
            Kind::Utf16 {
                little_endian: false,
                bmp_only: false,
            },
        );
        let mut s = String::new();
        utf16
            .decode_into(&[0x00, 0xE9, 0xD8, 0x3D, 0xDE, 0x00], &mut s)
            .unwrap();
        assert_eq!(s, "é😀");
        assert!(utf16
            .decode_into(&[0xD8, 0x00], &mut String::new())
            .is_err());
        let ucs2 = cs(
            "ucs2",
            Kind::Utf16 {
                little_endian: false,
                bmp_only: true,
            },
        );
        assert!(ucs2
            .decode_into(&[0xD8, 0x3D, 0xDE, 0x00], &mut String::new())
            .is_err());
        assert!(ucs2.encode_into("😀", &mut Vec::new()).is_err());
        let utf32 = cs("utf32", Kind::Utf32);
        let mut out = Vec::new();
        utf32.encode_into("😀", &mut out).unwrap();
        assert_eq!(out, [0, 1, 0xF6, 0]);
        assert!(utf32
            .decode_into(&[0, 0x11, 0, 0], &mut String::new())
            .is_err());
        let mb3 = cs("utf8mb3", Kind::Utf8mb3);
        assert!(mb3.encode_into("😀", &mut Vec::new()).is_err());
        assert!(!utf16.ascii_compatible());
        assert!(reads_raw("latin1") && reads_raw("ascii") && !reads_raw("utf8mb3"));
    }
}
