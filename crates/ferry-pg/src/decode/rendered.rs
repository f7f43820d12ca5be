//! The binary `*_send` forms of the types the copy reads through a cast
//! (inet, cidr, macaddr, macaddr8, bit, varbit, timetz, tsvector to text;
//! money to numeric), rendered exactly as that cast renders them.
//!
//! The copy never sees these binary forms: its SELECT casts. A change does:
//! pgoutput sends every value of a stream in one format, binary, the format
//! every other column's decoder reads. So the sync renders them here, to
//! the same text the copy's cast gives, and the same value lands in the
//! target whichever way it came.

use std::fmt::Write as _;

use ferry_core::net::ipv6_text;

use super::value::Problem;

/// PostgreSQL's own family codes in inet_send (not the platform's AF_*).
const PGSQL_AF_INET: u8 = 2;
const PGSQL_AF_INET6: u8 = 3;

/// How one binary form is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// inet_send/cidr_send → their `::text` cast (`network_show`): the
    /// whole address, then `/bits` always (unlike `inet_out`, which leaves
    /// out a full-length mask).
    Inet,
    /// macaddr_send (6 bytes) and macaddr8_send (8) → `08:00:2b:…`.
    MacAddr,
    /// bit_send/varbit_send → `0101`.
    Bit,
    /// timetz_send → `12:00:00+05:30`.
    TimeTz,
    /// tsvectorsend → `'a':1A 'fat':2,3`.
    TsVector,
    /// cash_send (an integer of the smallest unit) → `money::numeric`
    /// text with `scale` fractional digits (the server's `lc_monetary`).
    Money { scale: u32 },
}

impl Render {
    /// The rendering for a catalog type, if it is one of these.
    pub fn for_type(name: &str, money_scale: u32) -> Option<Render> {
        Some(match name {
            "inet" | "cidr" => Render::Inet,
            "macaddr" | "macaddr8" => Render::MacAddr,
            "bit" | "varbit" => Render::Bit,
            "timetz" => Render::TimeTz,
            "tsvector" => Render::TsVector,
            "money" => Render::Money { scale: money_scale },
            _ => return None,
        })
    }

    /// Renders one non-NULL value into `out` (cleared first).
    pub fn render(self, v: &[u8], out: &mut String) -> Result<(), Problem> {
        out.clear();
        match self {
            Render::Inet => inet(v, out),
            Render::MacAddr => {
                if v.len() != 6 && v.len() != 8 {
                    return Err("a MAC address of the wrong length");
                }
                for (i, b) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(':');
                    }
                    let _ = write!(out, "{b:02x}");
                }
                Ok(())
            }
            Render::Bit => bits(v, out),
            Render::TimeTz => timetz(v, out),
            Render::TsVector => tsvector(v, out),
            Render::Money { scale } => money(v, scale, out),
        }
    }
}

fn be_u16(v: &[u8], at: usize) -> Result<u16, Problem> {
    v.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or("truncated value")
}

fn be_i32(v: &[u8], at: usize) -> Result<i32, Problem> {
    v.get(at..at + 4)
        .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or("truncated value")
}

fn be_i64(v: &[u8], at: usize) -> Result<i64, Problem> {
    v.get(at..at + 8)
        .map(|s| i64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .ok_or("truncated value")
}

/// family, bits, is_cidr, length, address: the address in full, then
/// `/bits`, as the `::text` cast the copy reads writes them.
fn inet(v: &[u8], out: &mut String) -> Result<(), Problem> {
    let [family, bits, _is_cidr, len, addr @ ..] = v else {
        return Err("truncated network address");
    };
    match (*family, usize::from(*len), addr.len()) {
        (PGSQL_AF_INET, 4, 4) => {
            let _ = write!(out, "{}.{}.{}.{}", addr[0], addr[1], addr[2], addr[3]);
        }
        (PGSQL_AF_INET6, 16, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(addr);
            out.push_str(&ipv6_text(a));
        }
        _ => return Err("a network address of an unknown family"),
    }
    let _ = write!(out, "/{bits}");
    Ok(())
}

/// bit length, then the bits, most significant first, in whole bytes.
fn bits(v: &[u8], out: &mut String) -> Result<(), Problem> {
    let n = usize::try_from(be_i32(v, 0)?).map_err(|_| "a negative bit length")?;
    let data = &v[4..];
    if data.len() * 8 < n {
        return Err("truncated bit string");
    }
    out.extend((0..n).map(|i| {
        if data[i / 8] & (0x80 >> (i % 8)) != 0 {
            '1'
        } else {
            '0'
        }
    }));
    Ok(())
}

/// µs since midnight, then the zone in seconds *west* of UTC.
fn timetz(v: &[u8], out: &mut String) -> Result<(), Problem> {
    let micros = be_i64(v, 0)?;
    let west = be_i32(v, 8)?;
    if !(0..=86_400_000_000).contains(&micros) {
        return Err("time of day out of range");
    }
    let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    let east = -i64::from(west);
    out.push(if east >= 0 { '+' } else { '-' });
    let east = east.unsigned_abs();
    let (h, m, s) = (east / 3600, east / 60 % 60, east % 60);
    let _ = write!(out, "{h:02}");
    if s != 0 {
        let _ = write!(out, ":{m:02}:{s:02}");
    } else if m != 0 {
        let _ = write!(out, ":{m:02}");
    }
    Ok(())
}

/// count; per lexeme: its text, a NUL, a position count, positions (14
/// bits of position, 2 of weight: 3 = A … 0 = D, not written).
fn tsvector(v: &[u8], out: &mut String) -> Result<(), Problem> {
    let count = be_i32(v, 0)?;
    let mut at = 4;
    for i in 0..count {
        let rest = v.get(at..).ok_or("truncated tsvector")?;
        let end = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or("truncated tsvector")?;
        let lexeme = std::str::from_utf8(&rest[..end]).map_err(|_| "a lexeme that is not UTF-8")?;
        at += end + 1;
        if i > 0 {
            out.push(' ');
        }
        out.push('\'');
        for c in lexeme.chars() {
            if c == '\'' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('\'');
        let npos = be_u16(v, at)?;
        at += 2;
        for p in 0..npos {
            let wep = be_u16(v, at)?;
            at += 2;
            out.push(if p == 0 { ':' } else { ',' });
            let _ = write!(out, "{}", wep & 0x3fff);
            match wep >> 14 {
                3 => out.push('A'),
                2 => out.push('B'),
                1 => out.push('C'),
                _ => {}
            }
        }
    }
    Ok(())
}

/// An integer count of the currency's smallest unit as a decimal with
/// `scale` fractional digits, as `money::numeric` renders it.
fn money(v: &[u8], scale: u32, out: &mut String) -> Result<(), Problem> {
    let n = be_i64(v, 0)?;
    let digits = n.unsigned_abs().to_string();
    let scale = usize::try_from(scale).map_err(|_| "money scale out of range")?;
    if n < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
        return Ok(());
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    out.push_str(int);
    out.push('.');
    out.push_str(frac);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(render: Render, v: &[u8]) -> String {
        let mut s = String::new();
        render.render(v, &mut s).unwrap();
        s
    }

    /// Byte forms laid out as PostgreSQL's `*_send` writes them, for the
    /// values of the fidelity table, with the text the copy's cast reads
    /// (the sync tests check the same against a real server).
    #[test]
    fn binary_forms_render_as_the_servers_text() {
        // `'0.0.0.0'::inet::text` is `0.0.0.0/32`: the cast always says the mask.
        assert_eq!(r(Render::Inet, &[2, 32, 0, 4, 0, 0, 0, 0]), "0.0.0.0/32");
        assert_eq!(
            r(Render::Inet, &[2, 24, 0, 4, 192, 168, 1, 5]),
            "192.168.1.5/24"
        );
        assert_eq!(r(Render::Inet, &[2, 8, 1, 4, 10, 0, 0, 0]), "10.0.0.0/8");
        assert_eq!(r(Render::Inet, &[2, 32, 1, 4, 1, 2, 3, 4]), "1.2.3.4/32");
        let mut v6 = vec![3, 64, 0, 16, 0x20, 0x01, 0x0d, 0xb8];
        v6.extend_from_slice(&[0; 11]);
        v6.push(1);
        assert_eq!(r(Render::Inet, &v6), "2001:db8::1/64");
        v6[1] = 128;
        assert_eq!(r(Render::Inet, &v6), "2001:db8::1/128");
        assert_eq!(
            r(Render::MacAddr, &[8, 0, 0x2b, 1, 2, 3]),
            "08:00:2b:01:02:03"
        );
        assert_eq!(r(Render::MacAddr, &[0xff; 8]), "ff:ff:ff:ff:ff:ff:ff:ff");
        assert_eq!(r(Render::Bit, &[0, 0, 0, 4, 0b1010_0000]), "1010");
        assert_eq!(r(Render::Bit, &[0, 0, 0, 10, 0xaa, 0x80]), "1010101010");
        assert_eq!(r(Render::Bit, &[0, 0, 0, 0]), "");
        let tz = |micros: i64, west: i32| {
            let mut v = micros.to_be_bytes().to_vec();
            v.extend_from_slice(&west.to_be_bytes());
            r(Render::TimeTz, &v)
        };
        assert_eq!(tz(0, -14 * 3600), "00:00:00+14");
        assert_eq!(tz(86_399_999_999, 14 * 3600), "23:59:59.999999-14");
        assert_eq!(tz(12 * 3_600_000_000, -(5 * 3600 + 1800)), "12:00:00+05:30");
        assert_eq!(tz(45_296_789_000, 0), "12:34:56.789+00");
        assert_eq!(tz(86_400_000_000, 0), "24:00:00+00");
        let money = |n: i64| r(Render::Money { scale: 2 }, &n.to_be_bytes());
        assert_eq!(money(i64::MIN), "-92233720368547758.08");
        assert_eq!(money(i64::MAX), "92233720368547758.07");
        assert_eq!(money(1), "0.01");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(money(0), "0.00");
    }

    #[test]
    fn tsvectors_quote_and_weigh_their_lexemes() {
        // 'a':1A 'fat':2,3 'cat' and a lexeme with a quote and a backslash.
        let mut v = 4i32.to_be_bytes().to_vec();
        v.extend_from_slice(b"a\0");
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&(1u16 | 3 << 14).to_be_bytes());
        v.extend_from_slice(b"fat\0");
        v.extend_from_slice(&2u16.to_be_bytes());
        v.extend_from_slice(&2u16.to_be_bytes());
        v.extend_from_slice(&(3u16 | 1 << 14).to_be_bytes());
        v.extend_from_slice(b"cat\0");
        v.extend_from_slice(&0u16.to_be_bytes());
        v.extend_from_slice(b"it's\\\0");
        v.extend_from_slice(&0u16.to_be_bytes());
        assert_eq!(
            r(Render::TsVector, &v),
            r"'a':1A 'fat':2,3C 'cat' 'it''s\\'"
        );
        assert_eq!(r(Render::TsVector, &0i32.to_be_bytes()), "");
    }
}
