//! PostgreSQL `numeric` binary format ↔ canonical decimal text.
//!
//! Wire layout (`numeric_send`): `ndigits i16, weight i16, sign u16,
//! dscale u16`, then `ndigits` base-10000 digits (i16). The value is
//! `Σ digit[i] · 10000^(weight − i)`; `dscale` is the number of decimal
//! digits shown after the point. Text is PostgreSQL's own output form so
//! values compare equal to `numeric::text` on the server.

use bytes::{BufMut, BytesMut};
use ferry_core::decimal::{split_plain, PlainDecimal};

const POS: u16 = 0x0000;
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;
/// Largest display scale the format can carry.
const MAX_DSCALE: usize = 0x3FFF;

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

/// Appends the text form of a binary numeric to `out`.
pub fn numeric_to_text(b: &[u8], out: &mut String) -> Result<(), &'static str> {
    if b.len() < 8 {
        return Err("truncated numeric");
    }
    let ndigits = usize::try_from(be_i16(b, 0)).map_err(|_| "bad numeric digit count")?;
    let weight = i32::from(be_i16(b, 2));
    let sign = u16::from_be_bytes([b[4], b[5]]);
    let dscale = usize::from(u16::from_be_bytes([b[6], b[7]]) & 0x3FFF);
    if b.len() != 8 + 2 * ndigits {
        return Err("numeric length does not match its digit count");
    }
    match sign {
        NAN => {
            out.push_str("NaN");
            return Ok(());
        }
        PINF => {
            out.push_str("Infinity");
            return Ok(());
        }
        NINF => {
            out.push_str("-Infinity");
            return Ok(());
        }
        POS | NEG => {}
        _ => return Err("bad numeric sign"),
    }
    let digit = |i: i32| -> Result<u16, &'static str> {
        if i < 0 {
            return Ok(0);
        }
        let i = usize::try_from(i).map_err(|_| "bad numeric")?;
        if i >= ndigits {
            return Ok(0);
        }
        let d = be_i16(b, 8 + 2 * i);
        u16::try_from(d)
            .ok()
            .filter(|&d| d < 10000)
            .ok_or("numeric digit out of range")
    };
    if sign == NEG {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let d = digit(i)?;
            if i == 0 {
                push_u16(out, d, false);
            } else {
                push_u16(out, d, true);
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut written = 0;
        let mut i = weight + 1;
        while written < dscale {
            let d = digit(i)?;
            let s = [d / 1000, d / 100 % 10, d / 10 % 10, d % 10];
            for x in s.iter().take((dscale - written).min(4)) {
                out.push(char::from(b'0' + u8::try_from(*x).unwrap_or(0)));
            }
            written += 4;
            i += 1;
        }
    }
    Ok(())
}

fn push_u16(out: &mut String, d: u16, pad: bool) {
    let s = [d / 1000, d / 100 % 10, d / 10 % 10, d % 10];
    let mut started = pad;
    for (k, x) in s.iter().enumerate() {
        if *x != 0 || k == 3 {
            started = true;
        }
        if started {
            out.push(char::from(b'0' + u8::try_from(*x).unwrap_or(0)));
        }
    }
}

/// A decimal text split into its parts, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalText<'a> {
    NaN,
    Infinity,
    NegInfinity,
    Finite {
        negative: bool,
        /// Integer digits without leading zeros (may be empty).
        int: &'a [u8],
        /// Fraction digits as written (trailing zeros kept: they set dscale).
        frac: &'a [u8],
    },
}

impl DecimalText<'_> {
    /// Fraction digits without trailing zeros.
    pub fn significant_frac(&self) -> usize {
        match self {
            DecimalText::Finite { frac, .. } => {
                frac.len() - frac.iter().rev().take_while(|&&c| c == b'0').count()
            }
            _ => 0,
        }
    }
}

/// Parses `-?digits[.digits]`, `NaN`, `Infinity`, `-Infinity`.
pub fn parse_decimal(s: &str) -> Result<DecimalText<'_>, &'static str> {
    match s {
        "NaN" => return Ok(DecimalText::NaN),
        "Infinity" | "+Infinity" => return Ok(DecimalText::Infinity),
        "-Infinity" => return Ok(DecimalText::NegInfinity),
        _ => {}
    }
    let Some(PlainDecimal {
        negative,
        int,
        frac,
        ..
    }) = split_plain(s)
    else {
        return Err("not a decimal number");
    };
    let lead = int.iter().take_while(|&&c| c == b'0').count();
    Ok(DecimalText::Finite {
        negative,
        int: &int[lead..],
        frac,
    })
}

/// Writes the binary numeric for `d` into `buf`.
pub fn put_numeric(buf: &mut BytesMut, d: &DecimalText<'_>) -> Result<(), &'static str> {
    let (negative, int, frac) = match *d {
        DecimalText::NaN => return put_special(buf, NAN),
        DecimalText::Infinity => return put_special(buf, PINF),
        DecimalText::NegInfinity => return put_special(buf, NINF),
        DecimalText::Finite {
            negative,
            int,
            frac,
        } => (negative, int, frac),
    };
    if frac.len() > MAX_DSCALE {
        return Err("too many fraction digits for numeric");
    }
    let pad_left = (4 - int.len() % 4) % 4;
    let int_groups = (int.len() + pad_left) / 4;
    let frac_groups = frac.len().div_ceil(4);
    let digit_at = |p: usize| -> u16 {
        let c = if p < pad_left {
            b'0'
        } else if p - pad_left < int.len() {
            int[p - pad_left]
        } else {
            let q = p - pad_left - int.len();
            frac.get(q).copied().unwrap_or(b'0')
        };
        u16::from(c - b'0')
    };
    let group = |g: usize| -> u16 {
        let p = g * 4;
        digit_at(p) * 1000 + digit_at(p + 1) * 100 + digit_at(p + 2) * 10 + digit_at(p + 3)
    };
    let total = int_groups + frac_groups;
    let first = (0..total).find(|&g| group(g) != 0);
    let dscale = u16::try_from(frac.len()).map_err(|_| "too many fraction digits")?;
    let Some(first) = first else {
        // Zero: no digits, weight 0, positive (PostgreSQL has no negative zero).
        buf.put_i16(0);
        buf.put_i16(0);
        buf.put_u16(POS);
        buf.put_u16(dscale);
        return Ok(());
    };
    let last = (0..total).rev().find(|&g| group(g) != 0).unwrap_or(first);
    let ndigits = i16::try_from(last - first + 1).map_err(|_| "too many digits for numeric")?;
    let weight = i64::try_from(int_groups).unwrap_or(i64::MAX)
        - 1
        - i64::try_from(first).unwrap_or(i64::MAX);
    let weight = i16::try_from(weight).map_err(|_| "too many digits for numeric")?;
    buf.put_i16(ndigits);
    buf.put_i16(weight);
    buf.put_u16(if negative { NEG } else { POS });
    buf.put_u16(dscale);
    for g in first..=last {
        buf.put_u16(group(g));
    }
    Ok(())
}

fn put_special(buf: &mut BytesMut, sign: u16) -> Result<(), &'static str> {
    buf.put_i16(0);
    buf.put_i16(0);
    buf.put_u16(sign);
    buf.put_u16(0);
    Ok(())
}

/// Writes an integer as a binary numeric (dscale 0).
pub fn put_numeric_int(buf: &mut BytesMut, v: i128) {
    let negative = v < 0;
    let mut m = v.unsigned_abs();
    let mut groups = [0u16; 10];
    let mut n = 0;
    while m > 0 {
        groups[n] = u16::try_from(m % 10000).unwrap_or(0);
        m /= 10000;
        n += 1;
    }
    let weight = i16::try_from(n).unwrap_or(0) - 1;
    // Trailing (least significant) zero groups are dropped.
    let low = groups[..n].iter().take_while(|&&g| g == 0).count();
    let ndigits = n - low;
    buf.put_i16(i16::try_from(ndigits).unwrap_or(0));
    buf.put_i16(if ndigits == 0 { 0 } else { weight });
    buf.put_u16(if negative { NEG } else { POS });
    buf.put_u16(0);
    for g in groups[low..n].iter().rev() {
        buf.put_u16(*g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> String {
        let mut buf = BytesMut::new();
        put_numeric(&mut buf, &parse_decimal(s).unwrap()).unwrap();
        let mut out = String::new();
        numeric_to_text(&buf, &mut out).unwrap();
        out
    }

    #[test]
    fn numeric_text_roundtrips_exactly() {
        for s in [
            "0",
            "0.0",
            "-0.5",
            "1",
            "10000",
            "12345.6789",
            "0.00001",
            "100000000",
            "-1234567890.0000000001",
            "123456789012345678901234567890.123456789",
            "99999999999999999999999999999999999999999",
            "NaN",
            "Infinity",
            "-Infinity",
            "20",
            "17.685",
            "15.334",
            "1.10",
        ] {
            assert_eq!(roundtrip(s), s);
        }
        let tiny = format!("0.{}1", "0".repeat(129));
        assert_eq!(roundtrip(&tiny), tiny);
        assert_eq!(roundtrip("-0"), "0");
        assert_eq!(roundtrip("007.50"), "7.50");
    }

    #[test]
    fn numeric_binary_matches_postgres_layout() {
        // 12345.678 as numeric_send: ndigits 3, weight 1, pos, dscale 3, [1, 2345, 6780]
        let mut buf = BytesMut::new();
        put_numeric(&mut buf, &parse_decimal("12345.678").unwrap()).unwrap();
        assert_eq!(
            &buf[..],
            &[0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
        // 0.5: ndigits 1, weight -1, [5000]
        let mut buf = BytesMut::new();
        put_numeric(&mut buf, &parse_decimal("0.5").unwrap()).unwrap();
        assert_eq!(&buf[..], &[0, 1, 0xff, 0xff, 0, 0, 0, 1, 0x13, 0x88]);
    }

    #[test]
    fn integers_as_numeric() {
        for v in [0i128, 1, 10000, 18446744073709551615, -42, 100000000] {
            let mut buf = BytesMut::new();
            put_numeric_int(&mut buf, v);
            let mut out = String::new();
            numeric_to_text(&buf, &mut out).unwrap();
            assert_eq!(out, v.to_string());
            let mut other = BytesMut::new();
            put_numeric(&mut other, &parse_decimal(&v.to_string()).unwrap()).unwrap();
            assert_eq!(buf, other, "{v}");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_decimal("1e5").is_err());
        assert!(parse_decimal("").is_err());
        assert!(parse_decimal("-").is_err());
        assert!(parse_decimal("1.2.3").is_err());
    }
}
