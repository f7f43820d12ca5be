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

/// Appends the canonical encoding of the JSON text `text` — exactly what
/// `parse(text)` then [`Json::encode`] would append — without building a
/// tree: strings are unescaped, numbers canonicalised and members counted
/// straight into `out`, and an object's members, written in document
/// order, are reordered in place only when their keys are not already
/// sorted. The scratch space is kept per thread, so a column of JSON
/// values costs no allocation per value. Returns `false`, with `out` as it
/// was, when `text` is not JSON.
pub fn encode_text(text: &str, out: &mut Vec<u8>) -> bool {
    thread_local! {
        static SCRATCH: std::cell::RefCell<(Vec<Member>, Vec<u8>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    let start = out.len();
    let ok = SCRATCH.with(|cell| {
        let Ok(mut scratch) = cell.try_borrow_mut() else {
            // Re-entered (cannot happen: nothing here calls back); use fresh space.
            return encode_with(text, out, &mut Vec::new(), &mut Vec::new());
        };
        let (members, tmp) = &mut *scratch;
        members.clear();
        encode_with(text, out, members, tmp)
    });
    if !ok {
        out.truncate(start);
    }
    ok
}

fn encode_with(
    text: &str,
    out: &mut Vec<u8>,
    members: &mut Vec<Member>,
    tmp: &mut Vec<u8>,
) -> bool {
    let mut w = Writer {
        p: Parser {
            b: text.as_bytes(),
            i: 0,
            depth: 0,
        },
        out,
        members,
        tmp,
    };
    if w.value().is_none() {
        return false;
    }
    w.p.ws();
    w.p.i == w.p.b.len()
}

/// An object member already written to the output: its key's bytes
/// (without the length prefix) and its whole encoding (key and value), as
/// offsets into the output.
#[derive(Debug, Clone, Copy)]
struct Member {
    key: (usize, usize),
    span: (usize, usize),
}

/// [`Parser`]'s grammar, writing the canonical encoding as it reads.
struct Writer<'a, 'o> {
    p: Parser<'a>,
    out: &'o mut Vec<u8>,
    members: &'o mut Vec<Member>,
    tmp: &'o mut Vec<u8>,
}

impl Writer<'_, '_> {
    /// Reserves a u64 length or count, to be filled by [`Self::patch`].
    fn reserve(&mut self) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0u8; 8]);
        at
    }

    fn patch(&mut self, at: usize, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.out[at..at + 8].copy_from_slice(&n.to_le_bytes());
    }

    fn literal(&mut self, word: &[u8], tag: u8) -> Option<()> {
        if self.p.b[self.p.i..].starts_with(word) {
            self.p.i += word.len();
            self.out.push(tag);
            Some(())
        } else {
            None
        }
    }

    fn value(&mut self) -> Option<()> {
        self.p.ws();
        match *self.p.b.get(self.p.i)? {
            b'n' => self.literal(b"null", b'n'),
            b't' => self.literal(b"true", b't'),
            b'f' => self.literal(b"false", b'f'),
            b'"' => {
                self.out.push(b's');
                self.string()
            }
            b'[' => {
                self.p.enter()?;
                self.p.i += 1;
                self.out.push(b'a');
                let count = self.reserve();
                let mut n = 0;
                if !self.p.eat(b']') {
                    loop {
                        self.value()?;
                        n += 1;
                        if self.p.eat(b']') {
                            break;
                        }
                        if !self.p.eat(b',') {
                            return None;
                        }
                    }
                }
                self.p.depth -= 1;
                self.patch(count, n);
                Some(())
            }
            b'{' => self.object(),
            b'-' | b'0'..=b'9' => {
                let start = self.p.i;
                while self.p.i < self.p.b.len()
                    && matches!(
                        self.p.b[self.p.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.p.i += 1;
                }
                // Only ASCII was scanned, so this cannot fail.
                let text = std::str::from_utf8(&self.p.b[start..self.p.i]).ok()?;
                self.out.push(b'd');
                let len = self.reserve();
                if !decimal::write_canonical_plain(text, self.out) {
                    match decimal::parse(text)? {
                        d @ Decimal::Finite { .. } => d.canonical_text(self.out),
                        _ => return None,
                    }
                }
                let n = self.out.len() - len - 8;
                self.patch(len, n);
                Some(())
            }
            _ => None,
        }
    }

    fn object(&mut self) -> Option<()> {
        self.p.enter()?;
        self.p.i += 1;
        self.out.push(b'o');
        let count = self.reserve();
        let base = self.members.len();
        if !self.p.eat(b'}') {
            loop {
                self.p.ws();
                let span_start = self.out.len();
                let key_start = span_start + 8;
                self.string()?;
                let key_end = self.out.len();
                if !self.p.eat(b':') {
                    return None;
                }
                self.value()?;
                self.members.push(Member {
                    key: (key_start, key_end),
                    span: (span_start, self.out.len()),
                });
                if self.p.eat(b'}') {
                    break;
                }
                if !self.p.eat(b',') {
                    return None;
                }
            }
        }
        self.p.depth -= 1;
        let n = self.order_members(base);
        self.members.truncate(base);
        self.patch(count, n);
        Some(())
    }

    /// Puts the members from `base` on in key order (by bytes), the last of
    /// repeated keys kept, as `parse` does; returns how many remain. Members
    /// already in strictly increasing key order (the usual case) stay where
    /// they are.
    fn order_members(&mut self, base: usize) -> usize {
        let (out, members) = (&mut *self.out, &mut self.members[base..]);
        let key = |m: &Member| &out[m.key.0..m.key.1];
        if members.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
            return members.len();
        }
        let region = members[0].span.0;
        self.tmp.clear();
        self.tmp.extend_from_slice(&out[region..]);
        let tmp = &*self.tmp;
        let key = |m: &Member| &tmp[m.key.0 - region..m.key.1 - region];
        // Stable: repeated keys stay in document order, the last one wins.
        members.sort_by(|a, b| key(a).cmp(key(b)));
        out.truncate(region);
        let mut kept = 0;
        for (i, m) in members.iter().enumerate() {
            if members.get(i + 1).is_some_and(|next| key(next) == key(m)) {
                continue;
            }
            out.extend_from_slice(&tmp[m.span.0 - region..m.span.1 - region]);
            kept += 1;
        }
        kept
    }

    /// A string at the cursor: its unescaped bytes, length-prefixed.
    fn string(&mut self) -> Option<()> {
        let b = self.p.b;
        if b.get(self.p.i) != Some(&b'"') {
            return None;
        }
        self.p.i += 1;
        let len = self.reserve();
        let start = self.out.len();
        loop {
            // The run up to the next quote, escape or control byte, at once.
            let run = b[self.p.i..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .unwrap_or(b.len() - self.p.i);
            self.out.extend_from_slice(&b[self.p.i..self.p.i + run]);
            self.p.i += run;
            let c = *b.get(self.p.i)?;
            self.p.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *b.get(self.p.i)?;
                    self.p.i += 1;
                    match e {
                        b'"' => self.out.push(b'"'),
                        b'\\' => self.out.push(b'\\'),
                        b'/' => self.out.push(b'/'),
                        b'b' => self.out.push(0x08),
                        b'f' => self.out.push(0x0c),
                        b'n' => self.out.push(b'\n'),
                        b'r' => self.out.push(b'\r'),
                        b't' => self.out.push(b'\t'),
                        b'u' => {
                            let ch = self.p.escaped_char()?;
                            let mut buf = [0u8; 4];
                            self.out
                                .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                // A control byte inside a string.
                _ => return None,
            }
        }
        let n = self.out.len() - start;
        self.patch(len, n);
        Some(())
    }
}

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
                            let ch = self.escaped_char()?;
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

    /// The character of a `\\u` escape whose `u` was just read (a
    /// surrogate pair takes a second escape); `None` for a lone surrogate.
    fn escaped_char(&mut self) -> Option<char> {
        let mut cp = self.hex4()?;
        if (0xD800..0xDC00).contains(&cp) {
            if self.b.get(self.i) == Some(&b'\\') && self.b.get(self.i + 1) == Some(&b'u') {
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
        char::from_u32(cp)
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

    /// The tree-free encoder gives exactly the tree's bytes, and refuses
    /// exactly what the parser refuses.
    #[test]
    fn encode_text_matches_the_tree() {
        let check = |s: &str| {
            let mut fast = vec![0xAA];
            let ok = encode_text(s, &mut fast);
            match parse(s) {
                Some(j) => {
                    let mut tree = vec![0xAA];
                    j.encode(&mut tree);
                    assert!(ok, "{s:?} refused");
                    assert_eq!(fast, tree, "{s:?}");
                }
                None => {
                    assert!(!ok, "{s:?} accepted");
                    assert_eq!(fast, vec![0xAA], "{s:?}: output left as it was");
                }
            }
        };
        for s in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2,"b":{"z":[1,{"y":2,"x":3,"y":4}],"a":null}}"#,
            r#"{"bb":1,"a":2,"b":3,"a":{"c":1},"":[]}"#,
            r#"[{"k":1.50,"s":"t\u00e9\n","a":[7,true,null]},-0.0,1e2,"\ud83d\ude00"]"#,
            r#"{"k":"a\"b\\c\/d\b\f\r\t"}"#,
            "  [ 1 , 2 ]  ",
            "12345678901234567890.000",
            "{}",
            "[]",
            "\"\"",
            // Refused alike:
            "",
            "{",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "\"\u{1}\"",
            r#""\ud800""#,
            r#""\x""#,
            "nul",
            "[1] 2",
            "NaN",
        ] {
            check(s);
        }
        // Random documents: nested objects with repeated and unsorted keys.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % u64::try_from(n).unwrap()).unwrap()
        };
        fn doc(next: &mut dyn FnMut(usize) -> usize, depth: u32, out: &mut String) {
            let keys = ["a", "b", "ab", "ba", "é", "", "k\\\"q", "\\u0041"];
            let scalars = [
                "null", "true", "false", "0", "-1.50", "2e3", "007", "1.0E-2", "-0",
            ];
            match if depth > 3 { next(3) } else { next(5) } {
                0 => out.push_str(scalars[next(9)]),
                1 => out.push_str(&format!("\"{}\"", keys[next(8)])),
                2 => out.push_str("\"t\\u00e9\\n\""),
                3 => {
                    out.push('[');
                    for i in 0..next(4) {
                        if i > 0 {
                            out.push(',');
                        }
                        doc(next, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => {
                    out.push('{');
                    for i in 0..next(5) {
                        if i > 0 {
                            out.push_str(" , ");
                        }
                        out.push_str(&format!("\"{}\":", keys[next(8)]));
                        doc(next, depth + 1, out);
                    }
                    out.push('}');
                }
            }
        }
        for _ in 0..2000 {
            let mut s = String::new();
            doc(&mut next, 0, &mut s);
            check(&s);
        }
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
