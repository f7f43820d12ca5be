//! Canonical decimals.
//!
//! A decimal is canonicalised to `digits × 10^exponent` with no leading or
//! trailing zeros in `digits`, so `1.50`, `1.5`, `15e-1` and `0001.5` are one
//! value and `-0`, `0.000` and `0e7` are all zero. The canonical text is
//! `[-]<digits>e<exponent>` (`15e-1`, `1e2`, `0e0`); PostgreSQL's specials
//! stay `NaN`, `Infinity` and `-Infinity`.

use std::cmp::Ordering;

use ferry_core::decimal::{split_plain, PlainDecimal};

/// A decimal in canonical parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decimal {
    Finite {
        negative: bool,
        /// ASCII digits, no leading or trailing zeros; empty for zero.
        digits: Vec<u8>,
        exponent: i64,
    },
    NaN,
    Infinity,
    NegInfinity,
}

/// Writes the canonical text of a plain decimal (`[+-]digits[.digits]`, the
/// form both engines send) straight into `out`, without allocating. `false`
/// (nothing written) for anything else: exponents, specials, malformed text.
pub fn write_canonical_plain(s: &str, out: &mut Vec<u8>) -> bool {
    // Unsigned integers (JSON numbers, scale-0 decimals): one pass.
    let b = s.as_bytes();
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        match b.iter().position(|&d| d != b'0') {
            None => out.extend_from_slice(b"0e0"),
            Some(first) => {
                let last = b.iter().rposition(|&d| d != b'0').unwrap_or(first);
                out.extend_from_slice(&b[first..=last]);
                out.push(b'e');
                write_i64(out, i64::try_from(b.len() - 1 - last).unwrap_or(0));
            }
        }
        return true;
    }
    let Some(PlainDecimal {
        negative,
        int,
        frac,
        ..
    }) = split_plain(s)
    else {
        return false;
    };
    // The digits are int ‖ frac; positions below index that concatenation.
    let total = int.len() + frac.len();
    let at = |i: usize| {
        if i < int.len() {
            int[i]
        } else {
            frac[i - int.len()]
        }
    };
    let Some(first) = (0..total).find(|&i| at(i) != b'0') else {
        out.extend_from_slice(b"0e0");
        return true;
    };
    let last = (0..total).rev().find(|&i| at(i) != b'0').unwrap_or(first);
    if negative {
        out.push(b'-');
    }
    // digits[first..=last], as at most two slices (no per-digit pushes).
    if first < int.len() {
        out.extend_from_slice(&int[first..int.len().min(last + 1)]);
    }
    if last >= int.len() {
        out.extend_from_slice(&frac[first.saturating_sub(int.len())..=last - int.len()]);
    }
    // value = digits[first..=last] × 10^(total - 1 - last - frac.len())
    let exponent =
        i64::try_from(total - 1 - last).unwrap_or(0) - i64::try_from(frac.len()).unwrap_or(0);
    out.push(b'e');
    write_i64(out, exponent);
    true
}

/// Appends `n` in decimal without allocating.
fn write_i64(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + u8::try_from(m % 10).unwrap_or(0);
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Parses `[+-]digits[.digits][e[+-]digits]` (also `.5`, `5.`), or the specials.
/// `None` when the text is not a decimal.
pub fn parse(s: &str) -> Option<Decimal> {
    match s {
        "NaN" | "nan" => return Some(Decimal::NaN),
        "Infinity" | "+Infinity" | "inf" => return Some(Decimal::Infinity),
        "-Infinity" | "-inf" => return Some(Decimal::NegInfinity),
        _ => {}
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        negative = b[i] == b'-';
        i += 1;
    }
    let mut digits = Vec::new();
    let mut exponent: i64 = 0;
    let mut seen_digit = false;
    while i < b.len() && b[i].is_ascii_digit() {
        digits.push(b[i]);
        seen_digit = true;
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            digits.push(b[i]);
            exponent -= 1;
            seen_digit = true;
            i += 1;
        }
    }
    if !seen_digit {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let mut eneg = false;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            eneg = b[i] == b'-';
            i += 1;
        }
        let start = i;
        let mut e: i64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent = exponent.saturating_add(if eneg { -e } else { e });
    }
    if i != b.len() {
        return None;
    }
    let first = digits.iter().position(|&d| d != b'0');
    let Some(first) = first else {
        return Some(Decimal::Finite {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        });
    };
    let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(first);
    let trailing = digits.len() - 1 - last;
    exponent = exponent.saturating_add(i64::try_from(trailing).unwrap_or(i64::MAX));
    Some(Decimal::Finite {
        negative,
        digits: digits[first..=last].to_vec(),
        exponent,
    })
}

impl Decimal {
    /// An integer as a canonical decimal.
    pub fn from_int(v: i128) -> Decimal {
        let mut buf = Vec::new();
        let negative = v < 0;
        let mut s = v.unsigned_abs().to_string().into_bytes();
        if v == 0 {
            return Decimal::Finite {
                negative: false,
                digits: buf,
                exponent: 0,
            };
        }
        let mut exponent = 0i64;
        while s.last() == Some(&b'0') {
            s.pop();
            exponent += 1;
        }
        buf.extend_from_slice(&s);
        Decimal::Finite {
            negative,
            digits: buf,
            exponent,
        }
    }

    /// The canonical text: `[-]<digits>e<exponent>`, `0e0`, or a special.
    pub fn canonical_text(&self, out: &mut Vec<u8>) {
        match self {
            Decimal::Finite {
                negative,
                digits,
                exponent,
            } => {
                if digits.is_empty() {
                    out.extend_from_slice(b"0e0");
                    return;
                }
                if *negative {
                    out.push(b'-');
                }
                out.extend_from_slice(digits);
                out.push(b'e');
                write_i64(out, *exponent);
            }
            Decimal::NaN => out.extend_from_slice(b"NaN"),
            Decimal::Infinity => out.extend_from_slice(b"Infinity"),
            Decimal::NegInfinity => out.extend_from_slice(b"-Infinity"),
        }
    }

    /// An order-preserving byte encoding (numeric order; `-Infinity` lowest,
    /// then negatives, zero, positives, `Infinity`, `NaN` highest as in
    /// PostgreSQL).
    pub fn put_key(&self, out: &mut Vec<u8>) {
        match self {
            Decimal::NegInfinity => out.push(0x00),
            Decimal::Infinity => out.push(0xE0),
            Decimal::NaN => out.push(0xF0),
            Decimal::Finite { digits, .. } if digits.is_empty() => out.push(0x80),
            Decimal::Finite {
                negative,
                digits,
                exponent,
            } => {
                // value = 0.d1d2… × 10^adjusted
                let len = i64::try_from(digits.len()).unwrap_or(i64::MAX);
                let adjusted = exponent.saturating_add(len);
                let e = (adjusted as u64) ^ (1u64 << 63);
                if *negative {
                    out.push(0x40);
                    out.extend_from_slice(&(!e).to_be_bytes());
                    out.extend(digits.iter().map(|d| !d));
                    out.push(0xFF);
                } else {
                    out.push(0xC0);
                    out.extend_from_slice(&e.to_be_bytes());
                    out.extend_from_slice(digits);
                    out.push(0x00);
                }
            }
        }
    }
}

/// Numeric order of two canonical decimals (used by tests of the key encoding).
pub fn compare(a: &Decimal, b: &Decimal) -> Ordering {
    let (mut ka, mut kb) = (Vec::new(), Vec::new());
    a.put_key(&mut ka);
    b.put_key(&mut kb);
    ka.cmp(&kb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        let mut out = Vec::new();
        parse(s).expect(s).canonical_text(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canon("1.50"), "15e-1");
        assert_eq!(canon("1.5"), "15e-1");
        assert_eq!(canon("0001.5000"), "15e-1");
        assert_eq!(canon("-0"), "0e0");
        assert_eq!(canon("-0.000"), "0e0");
        assert_eq!(canon("100"), "1e2");
        assert_eq!(canon("1e2"), "1e2");
        assert_eq!(canon("1.0E+2"), "1e2");
        assert_eq!(canon("-0.001"), "-1e-3");
        assert_eq!(canon(".5"), "5e-1");
        assert_eq!(canon("NaN"), "NaN");
        assert_eq!(canon("-Infinity"), "-Infinity");
        assert!(parse("1.2.3").is_none());
        assert!(parse("").is_none());
        assert!(parse("e5").is_none());
        let mut out = Vec::new();
        Decimal::from_int(-1200).canonical_text(&mut out);
        assert_eq!(out, b"-12e2");
    }

    #[test]
    fn plain_fast_path_matches_the_parser() {
        for s in [
            "1.50",
            "-0",
            "0.000",
            "100",
            "-0.001",
            ".5",
            "5.",
            "0001.5000",
            "-12345678901234567890.0123456789",
            "+7",
            "10.01",
            "0.10",
            "100.00100",
            "-120.0340",
            "12.",
            "000.000100",
            "7000000000000000000000000",
            "0",
            "000",
            "120",
            "0012",
            "5",
        ] {
            let mut fast = Vec::new();
            assert!(write_canonical_plain(s, &mut fast), "{s}");
            assert_eq!(String::from_utf8(fast).unwrap(), canon(s), "{s}");
        }
        for s in ["1e2", "NaN", "", ".", "1.2.3", "-", "a"] {
            assert!(!write_canonical_plain(s, &mut Vec::new()), "{s}");
        }
    }

    #[test]
    fn key_order_is_numeric() {
        let ordered = [
            "-Infinity",
            "-100",
            "-12.5",
            "-12.25",
            "-1",
            "-0.123",
            "-0.12",
            "0",
            "0.12",
            "0.123",
            "1",
            "9.99",
            "10",
            "12345678901234567890123456789",
            "Infinity",
            "NaN",
        ];
        for w in ordered.windows(2) {
            let (a, b) = (parse(w[0]).unwrap(), parse(w[1]).unwrap());
            assert_eq!(compare(&a, &b), Ordering::Less, "{} < {}", w[0], w[1]);
        }
    }
}
