//! Canonical JSON.
//!
//! Two JSON texts are equal when they denote the same document: object keys
//! are sorted (by their UTF-8 bytes) and a repeated key keeps its last value
//! (PostgreSQL `jsonb` and MySQL 8 both do); numbers are canonical decimals
//! (`1.0` = `1` = `1e0`, see [`crate::decimal`]); strings are compared after
//! unescaping (`"\u00e9"` = `"é"`); whitespace does not matter.
//!
//! The canonical form is a tagged, length-prefixed encoding, never JSON text,
//! so it needs no escaping rules of its own:
//! `n` null · `t` true · `f` false · `d` len decimal · `s` len bytes ·
//! `a` count values… · `o` count (len key, value)… — lengths and counts are
//! u64 little-endian.

use crate::decimal::{self, Decimal};

/// A parsed JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A canonical decimal's text (see [`crate::decimal`]).
    Number(Vec<u8>),
    String(String),
    Array(Vec<Json>),
    /// Sorted by key bytes; the last of repeated keys wins.
    Object(Vec<(String, Json)>),
}

/// Parses a JSON text. `None` when it is not valid JSON.
pub fn parse(text: &str) -> Option<Json> {
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.value()?;
    p.ws();
    (p.i == p.b.len()).then_some(v)
}

impl Json {
    /// Appends the canonical encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.push(b'n'),
            Json::Bool(true) => out.push(b't'),
            Json::Bool(false) => out.push(b'f'),
            Json::Number(t) => {
                out.push(b'd');
                put_bytes(out, t);
            }
            Json::String(s) => {
                out.push(b's');
                put_bytes(out, s.as_bytes());
            }
            Json::Array(items) => {
                out.push(b'a');
                put_len(out, items.len());
                for v in items {
                    v.encode(out);
                }
            }
            Json::Object(map) => {
                out.push(b'o');
                put_len(out, map.len());
                for (k, v) in map {
                    put_bytes(out, k.as_bytes());
                    v.encode(out);
                }
            }
        }
    }
}

/// The canonical text of a decimal, as a JSON number carries it.
pub fn number_text(d: &Decimal) -> Vec<u8> {
    let mut t = Vec::new();
    d.canonical_text(&mut t);
    t
}

pub(crate) fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u64::try_from(n).unwrap_or(u64::MAX).to_le_bytes());
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 512;

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8], v: Json) -> Option<Json> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Some(v)
        } else {
            None
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.b.get(self.i)? {
            b'n' => self.literal(b"null", Json::Null),
            b't' => self.literal(b"true", Json::Bool(true)),
            b'f' => self.literal(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'[' => {
                self.enter()?;
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                self.depth -= 1;
                Some(Json::Array(items))
            }
            b'{' => {
                self.enter()?;
                self.i += 1;
                let mut map: Vec<(String, Json)> = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let k = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        let v = self.value()?;
                        map.push((k, v));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                self.depth -= 1;
                // Stable sort keeps repeated keys in document order; keep the last.
                map.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                let mut out: Vec<(String, Json)> = Vec::with_capacity(map.len());
                for (k, v) in map {
                    match out.last_mut() {
                        Some(last) if last.0 == k => last.1 = v,
                        _ => out.push((k, v)),
                    }
                }
                Some(Json::Object(out))
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.b.len()
                    && matches!(
                        self.b[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                // Only ASCII was scanned, so this cannot fail.
                let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
                let mut t = Vec::new();
                if decimal::write_canonical_plain(text, &mut t) {
                    return Some(Json::Number(t));
                }
                match decimal::parse(text)? {
                    d @ Decimal::Finite { .. } => Some(Json::Number(number_text(&d))),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn string(&mut self) -> Option<String> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        // Fast path: no escapes, so the text between the quotes is the string.
        let start = self.i;
        let mut j = start;
        while j < self.b.len() && self.b[j] != b'"' && self.b[j] != b'\\' && self.b[j] >= 0x20 {
            j += 1;
        }
        if self.b.get(j) == Some(&b'"') {
            self.i = j + 1;
            return std::str::from_utf8(&self.b[start..j])
                .ok()
                .map(str::to_string);
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.b.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                // A surrogate pair.
                                if self.b.get(self.i) == Some(&b'\\')
                                    && self.b.get(self.i + 1) == Some(&b'u')
                                {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return None;
                                    }
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    return None;
                                }
                            }
                            let ch = char::from_u32(cp)?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                c => out.push(c),
            }
        }
        String::from_utf8(out).ok()
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        parse(s)
            .unwrap_or_else(|| panic!("invalid {s}"))
            .encode(&mut out);
        out
    }

    #[test]
    fn same_document_same_encoding() {
        assert_eq!(canon(r#"{"b":1,"a":2}"#), canon(r#"{ "a" : 2 , "b" : 1 }"#));
        assert_eq!(canon(r#"{"n":1.0}"#), canon(r#"{"n":1}"#));
        assert_eq!(canon(r#"{"n":1e2}"#), canon(r#"{"n":100}"#));
        assert_eq!(canon(r#"{"a":1,"a":2}"#), canon(r#"{"a":2}"#));
        assert_eq!(canon(r#""\u00e9""#), canon("\"é\""));
        assert_eq!(canon(r#""\ud83d\ude00""#), canon("\"😀\""));
        assert_eq!(canon("[1, 2]"), canon("[1,2]"));
    }

    #[test]
    fn different_documents_differ() {
        assert_ne!(canon("[1,2]"), canon("[2,1]"));
        assert_ne!(canon(r#"{"a":null}"#), canon("{}"));
        assert_ne!(canon(r#""1""#), canon("1"));
        assert_ne!(canon(r#"["a,b"]"#), canon(r#"["a","b"]"#));
        assert_ne!(canon("12345678901234567890"), canon("12345678901234567891"));
    }

    #[test]
    fn invalid_json_is_refused() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{'a':1}",
            "01x",
            "\"\u{1}\"",
            "nul",
            "[1] 2",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
