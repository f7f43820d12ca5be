//! Parsers of PostgreSQL's canonical text forms into the binary `*_recv`
//! formats, for types the hub carries as text (timetz, inet, cidr, macaddr,
//! macaddr8, bit, varbit, tsvector, the one-byte `"char"`, and hstore as
//! the JSON object its cast gives). They write straight into the COPY
//! buffer; only hstore allocates (its JSON is parsed first). Ranges are
//! `crate::range`.

use bytes::{BufMut, BytesMut};

type Problem = &'static str;

fn digits(s: &[u8]) -> Result<i64, Problem> {
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return Err("malformed number");
    }
    Ok(s.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0')))
}

/// `HH:MM:SS[.ffffff]` → µs since midnight (up to 24:00:00).
pub fn parse_time(s: &str) -> Result<i64, Problem> {
    let b = s.as_bytes();
    let mut parts = b.splitn(3, |&c| c == b':');
    let h = digits(parts.next().ok_or("malformed time")?)?;
    let m = digits(parts.next().ok_or("malformed time")?)?;
    let sec_part = parts.next().unwrap_or(b"0");
    let (sec, frac) = match sec_part.iter().position(|&c| c == b'.') {
        Some(p) => (&sec_part[..p], &sec_part[p + 1..]),
        None => (sec_part, &sec_part[sec_part.len()..]),
    };
    let sec = digits(sec)?;
    if frac.len() > 6 || !frac.iter().all(u8::is_ascii_digit) {
        return Err("time has more than 6 fractional digits");
    }
    let mut micros = 0i64;
    for i in 0..6 {
        micros = micros * 10 + frac.get(i).map_or(0, |&c| i64::from(c - b'0'));
    }
    if m > 59 || sec > 60 {
        return Err("time field out of range");
    }
    let total = ((h * 60 + m) * 60 + sec) * 1_000_000 + micros;
    if total > 86_400_000_000 {
        return Err("time out of range");
    }
    Ok(total)
}

/// `12:00:00+05:30` → timetz_recv: µs (i64) then the zone in seconds west of UTC (i32).
pub fn put_timetz(buf: &mut BytesMut, s: &str) -> Result<(), Problem> {
    let at = s
        .rfind(['+', '-'])
        .ok_or("time with time zone without an offset")?;
    let time = parse_time(&s[..at])?;
    let sign: i64 = if s.as_bytes()[at] == b'-' { -1 } else { 1 };
    let mut off = 0i64;
    let mut n = 0;
    for (i, part) in s[at + 1..].split(':').enumerate() {
        if i > 2 || part.len() != 2 {
            return Err("malformed time zone offset");
        }
        off = off * 60 + digits(part.as_bytes())?;
        n = i + 1;
    }
    for _ in n..3 {
        off *= 60;
    }
    if off > 15 * 3600 + 59 * 60 + 59 {
        return Err("time zone offset out of range");
    }
    buf.put_i64(time);
    buf.put_i32(i32::try_from(-sign * off).map_err(|_| "time zone offset out of range")?);
    Ok(())
}

/// `addr[/bits]` → inet_recv/cidr_recv: family, bits, is_cidr, length, address bytes.
pub fn put_inet(buf: &mut BytesMut, s: &str, cidr: bool) -> Result<(), Problem> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().map_err(|_| "malformed network address")?;
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => u8::try_from(digits(b.as_bytes())?).map_err(|_| "bad netmask")?,
        None => max,
    };
    if bits > max {
        return Err("netmask longer than the address");
    }
    match ip {
        std::net::IpAddr::V4(v4) => {
            buf.put_u8(2);
            buf.put_u8(bits);
            buf.put_u8(u8::from(cidr));
            buf.put_u8(4);
            buf.put_slice(&v4.octets());
        }
        std::net::IpAddr::V6(v6) => {
            buf.put_u8(3);
            buf.put_u8(bits);
            buf.put_u8(u8::from(cidr));
            buf.put_u8(16);
            buf.put_slice(&v6.octets());
        }
    }
    Ok(())
}

/// `08:00:2b:01:02:03` (6 bytes) or the 8-byte form → raw bytes.
pub fn put_mac(buf: &mut BytesMut, s: &str, len: usize) -> Result<(), Problem> {
    let mut out = [0u8; 8];
    let mut n = 0;
    let mut half: Option<u8> = None;
    for c in s.bytes() {
        if matches!(c, b':' | b'-' | b'.') {
            continue;
        }
        let v = char::from(c).to_digit(16).ok_or("malformed MAC address")?;
        let v = u8::try_from(v).map_err(|_| "malformed MAC address")?;
        match half.take() {
            None => half = Some(v),
            Some(h) => {
                if n >= len {
                    return Err("MAC address has the wrong length");
                }
                out[n] = h << 4 | v;
                n += 1;
            }
        }
    }
    if n != len || half.is_some() {
        return Err("MAC address has the wrong length");
    }
    buf.put_slice(&out[..len]);
    Ok(())
}

/// `0101…` → bit_recv/varbit_recv: bit count (i32) then the bits, MSB first.
/// `fixed` is `bit(n)`'s length; `max` is `bit varying(n)`'s.
pub fn put_bits(
    buf: &mut BytesMut,
    s: &str,
    fixed: Option<usize>,
    max: Option<usize>,
) -> Result<(), Problem> {
    let n = s.len();
    if fixed.is_some_and(|f| f != n) {
        return Err("bit string length does not match the target bit(n)");
    }
    if max.is_some_and(|m| n > m) {
        return Err("bit string longer than the target bit varying(n)");
    }
    buf.put_i32(i32::try_from(n).map_err(|_| "bit string too long")?);
    let mut byte = 0u8;
    for (i, c) in s.bytes().enumerate() {
        let bit = match c {
            b'0' => 0,
            b'1' => 1,
            _ => return Err("bit string has a character other than 0 and 1"),
        };
        byte |= bit << (7 - i % 8);
        if i % 8 == 7 {
            buf.put_u8(byte);
            byte = 0;
        }
    }
    if n & 7 != 0 {
        buf.put_u8(byte);
    }
    Ok(())
}

/// `'a':1A,2 'b''c' 'd'` → tsvector_recv: lexeme count (i32); per lexeme the
/// NUL-terminated text, a position count (u16) and positions (u16, weight in
/// the top two bits: A=3, B=2, C=1, D=0).
pub fn put_tsvector(buf: &mut BytesMut, s: &str) -> Result<(), Problem> {
    let b = s.as_bytes();
    let count_at = buf.len();
    buf.put_i32(0);
    let mut count = 0i32;
    let mut i = 0;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        // Lexeme.
        if b[i] == b'\'' {
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err("unterminated lexeme in tsvector"),
                    Some(b'\'') if b.get(i + 1) == Some(&b'\'') => {
                        buf.put_u8(b'\'');
                        i += 2;
                    }
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let c = *b.get(i + 1).ok_or("unterminated lexeme in tsvector")?;
                        buf.put_u8(c);
                        i += 2;
                    }
                    Some(0) => return Err("NUL byte in tsvector"),
                    Some(&c) => {
                        buf.put_u8(c);
                        i += 1;
                    }
                }
            }
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' && b[i] != b':' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            let mut j = start;
            while j < i.min(b.len()) {
                if b[j] == b'\\' {
                    j += 1;
                }
                if let Some(&c) = b.get(j) {
                    buf.put_u8(c);
                }
                j += 1;
            }
        }
        buf.put_u8(0);
        // Positions.
        let npos_at = buf.len();
        buf.put_u16(0);
        let mut npos = 0u16;
        if b.get(i) == Some(&b':') {
            i += 1;
            loop {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let pos = digits(&b[start..i])?;
                if !(1..=16383).contains(&pos) {
                    return Err("tsvector position out of range");
                }
                let weight: u16 = match b.get(i) {
                    Some(b'A' | b'a') => 3,
                    Some(b'B' | b'b') => 2,
                    Some(b'C' | b'c') => 1,
                    Some(b'D' | b'd') => 0,
                    _ => {
                        i -= 1;
                        0
                    }
                };
                i += 1;
                buf.put_u16(weight << 14 | u16::try_from(pos).unwrap_or(0));
                npos += 1;
                if b.get(i) == Some(&b',') {
                    i += 1;
                } else {
                    break;
                }
            }
        }
        buf[npos_at..npos_at + 2].copy_from_slice(&npos.to_be_bytes());
        count += 1;
        if i < b.len() && b[i] != b' ' {
            return Err("malformed tsvector");
        }
    }
    buf[count_at..count_at + 4].copy_from_slice(&count.to_be_bytes());
    Ok(())
}

/// `"char"` text (as `"char"::text` renders it in PostgreSQL 15+: one ASCII
/// character, `\ooo` for a byte above 0x7f, empty for the zero byte) →
/// charrecv's one byte.
pub fn put_char1(buf: &mut BytesMut, s: &str) -> Result<(), Problem> {
    let b = s.as_bytes();
    let byte = match b {
        [] => 0,
        [c] if c.is_ascii() => *c,
        [b'\\', o @ ..] if o.len() == 3 && o.iter().all(|c| (b'0'..=b'7').contains(c)) => {
            let v = o.iter().fold(0u32, |a, &c| a * 8 + u32::from(c - b'0'));
            u8::try_from(v)
                .ok()
                .filter(|v| *v > 0x7f)
                .ok_or("malformed \"char\" escape")?
        }
        _ => return Err("more than one byte for a \"char\" column"),
    };
    buf.put_u8(byte);
    Ok(())
}

/// A JSON object of strings and nulls (what `hstore::json` gives) →
/// hstore_recv: a pair count, then per pair the key and the value (or -1
/// for NULL), each length-prefixed. The server sorts and checks the keys.
pub fn put_hstore(buf: &mut BytesMut, json: &str) -> Result<(), Problem> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|_| "hstore value is not valid JSON")?;
    let obj = v.as_object().ok_or("hstore value is not a JSON object")?;
    buf.put_i32(i32::try_from(obj.len()).map_err(|_| "hstore with too many pairs")?);
    let len = |s: &str| i32::try_from(s.len()).map_err(|_| "hstore text too long");
    for (k, v) in obj {
        buf.put_i32(len(k)?);
        buf.put_slice(k.as_bytes());
        match v {
            serde_json::Value::Null => buf.put_i32(-1),
            serde_json::Value::String(s) => {
                buf.put_i32(len(s)?);
                buf.put_slice(s.as_bytes());
            }
            _ => return Err("hstore value has a value that is neither text nor NULL"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_char() {
        assert_eq!(bytes(|b| put_char1(b, "x")), [b'x']);
        assert_eq!(bytes(|b| put_char1(b, "")), [0]);
        assert_eq!(bytes(|b| put_char1(b, "\\")), [b'\\']);
        assert_eq!(bytes(|b| put_char1(b, "\\200")), [0x80]);
        assert_eq!(bytes(|b| put_char1(b, "\\377")), [0xff]);
        assert!(put_char1(&mut BytesMut::new(), "ab").is_err());
        assert!(put_char1(&mut BytesMut::new(), "é").is_err());
    }

    #[test]
    fn hstore_from_its_json() {
        let b = bytes(|b| put_hstore(b, r#"{"a": "1", "n": null}"#));
        let mut want = vec![0, 0, 0, 2];
        want.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 1, b'1']);
        want.extend_from_slice(&[0, 0, 0, 1, b'n', 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(b, want);
        assert_eq!(bytes(|b| put_hstore(b, "{}")), [0, 0, 0, 0]);
        assert!(put_hstore(&mut BytesMut::new(), "[1]").is_err());
        assert!(put_hstore(&mut BytesMut::new(), r#"{"a": 1}"#).is_err());
    }

    fn bytes(f: impl FnOnce(&mut BytesMut) -> Result<(), Problem>) -> Vec<u8> {
        let mut buf = BytesMut::new();
        f(&mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn timetz_offsets_are_seconds_west() {
        let b = bytes(|b| put_timetz(b, "12:00:00+05:30"));
        assert_eq!(&b[..8], &(12 * 3600 * 1_000_000i64).to_be_bytes());
        assert_eq!(&b[8..], &(-19800i32).to_be_bytes());
        let b = bytes(|b| put_timetz(b, "23:59:59.999999-08"));
        assert_eq!(&b[..8], &86_399_999_999i64.to_be_bytes());
        assert_eq!(&b[8..], &28800i32.to_be_bytes());
        let b = bytes(|b| put_timetz(b, "24:00:00+00"));
        assert_eq!(&b[..8], &86_400_000_000i64.to_be_bytes());
        assert!(put_timetz(&mut BytesMut::new(), "12:00:00").is_err());
        assert_eq!(parse_time("04:05:06.5").unwrap(), 14_706_500_000);
    }

    #[test]
    fn inet_and_cidr() {
        assert_eq!(
            bytes(|b| put_inet(b, "192.168.0.1", false)),
            [2, 32, 0, 4, 192, 168, 0, 1]
        );
        assert_eq!(
            bytes(|b| put_inet(b, "10.0.0.0/8", true)),
            [2, 8, 1, 4, 10, 0, 0, 0]
        );
        let v6 = bytes(|b| put_inet(b, "2001:db8::1/64", false));
        assert_eq!(&v6[..4], &[3, 64, 0, 16]);
        assert_eq!(v6.len(), 20);
        assert!(put_inet(&mut BytesMut::new(), "1.2.3.4/33", false).is_err());
    }

    #[test]
    fn mac_addresses() {
        assert_eq!(
            bytes(|b| put_mac(b, "08:00:2b:01:02:03", 6)),
            [8, 0, 0x2b, 1, 2, 3]
        );
        assert_eq!(
            bytes(|b| put_mac(b, "08:00:2b:ff:fe:01:02:03", 8)),
            [8, 0, 0x2b, 0xff, 0xfe, 1, 2, 3]
        );
        assert!(put_mac(&mut BytesMut::new(), "08:00:2b:01:02", 6).is_err());
    }

    #[test]
    fn bit_strings() {
        assert_eq!(
            bytes(|b| put_bits(b, "101", None, None)),
            [0, 0, 0, 3, 0xa0]
        );
        assert_eq!(
            bytes(|b| put_bits(b, "111111110", None, None)),
            [0, 0, 0, 9, 0xff, 0]
        );
        assert_eq!(bytes(|b| put_bits(b, "", None, None)), [0, 0, 0, 0]);
        assert!(put_bits(&mut BytesMut::new(), "10", Some(3), None).is_err());
        assert!(put_bits(&mut BytesMut::new(), "102", None, None).is_err());
    }

    #[test]
    fn tsvector_text_to_binary() {
        let b = bytes(|b| put_tsvector(b, "'a':1A,2 'b''c' 'd\\\\e':3"));
        let mut want = vec![0, 0, 0, 3];
        want.extend_from_slice(b"a\0");
        want.extend_from_slice(&[0, 2, 0xC0, 1, 0, 2]);
        want.extend_from_slice(b"b'c\0");
        want.extend_from_slice(&[0, 0]);
        want.extend_from_slice(b"d\\e\0");
        want.extend_from_slice(&[0, 1, 0, 3]);
        assert_eq!(b, want);
        assert_eq!(bytes(|b| put_tsvector(b, "")), [0, 0, 0, 0]);
        assert!(put_tsvector(&mut BytesMut::new(), "'abc").is_err());
    }
}
