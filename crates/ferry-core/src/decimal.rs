//! Plain decimal text, `[+-]digits[.digits]`, split into its parts.
//!
//! Decimals travel through Arrow as text (the hub keeps every digit), and
//! the PostgreSQL encoder, the MySQL reader and encoder, and verify all need
//! to take that text apart. They must agree on what counts as a plain
//! decimal, so the grammar is written once here; each caller adds its own
//! stricter rules (MySQL's `-?digits[.digits]`) on top.

/// The parts of a plain decimal, borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainDecimal<'a> {
    pub negative: bool,
    /// Integer digits as written (leading zeros kept; may be empty: `.5`).
    pub int: &'a [u8],
    /// Fraction digits as written (trailing zeros kept; may be empty: `5.`).
    pub frac: &'a [u8],
    /// Whether the text has a decimal point (`5.` has one, `5` not).
    pub point: bool,
    /// Whether the text starts with an explicit `+`.
    pub plus: bool,
}

/// Splits `[+-]digits[.digits]`; integer or fraction digits may be missing,
/// not both. `None` for anything else: exponents, specials, other bytes.
pub fn split_plain(s: &str) -> Option<PlainDecimal<'_>> {
    let b = s.as_bytes();
    let (negative, plus, body) = match b.first() {
        Some(b'-') => (true, false, &b[1..]),
        Some(b'+') => (false, true, &b[1..]),
        _ => (false, false, b),
    };
    let (int, frac, point) = match body.iter().position(|&c| c == b'.') {
        Some(p) => (&body[..p], &body[p + 1..], true),
        None => (body, &body[body.len()..], false),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    Some(PlainDecimal {
        negative,
        int,
        frac,
        point,
        plus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_plain_forms() {
        let d = split_plain("-012.340").unwrap();
        assert_eq!(
            (d.negative, d.int, d.frac),
            (true, &b"012"[..], &b"340"[..])
        );
        assert!(d.point && !d.plus);
        let d = split_plain("+.5").unwrap();
        assert_eq!(
            (d.negative, d.int, d.frac, d.plus),
            (false, &b""[..], &b"5"[..], true)
        );
        let d = split_plain("7").unwrap();
        assert!(!d.point && d.frac.is_empty());
        assert!(split_plain("5.").unwrap().point);
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "", "-", "+", ".", "1e5", "1.2.3", "NaN", "Infinity", " 1", "1 ", "١",
        ] {
            assert_eq!(split_plain(bad), None, "{bad}");
        }
    }
}
