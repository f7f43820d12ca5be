//! Lower-case hex text of bytes, and the UUID text form built on it.
//!
//! `ferry copy` writes a UUID into a text column in this form, range bounds
//! render UUID keys with it, and `ferry verify` parses UUID text back to
//! compare it: these must agree byte for byte on every engine, so the form
//! has one definition here.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the lower-case hex of `bytes`: two digits a byte, no prefix.
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// The lower-case hex of `bytes` (row hashes in reports, byte keys in messages).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    ascii_string(out)
}

/// Appends the lower-case `8-4-4-4-12` text of 16 bytes in RFC 4122 order,
/// without allocating (the copy hot path).
pub fn push_uuid_text(out: &mut Vec<u8>, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        push_hex(out, std::slice::from_ref(b));
    }
}

/// The lower-case `8-4-4-4-12` text of 16 bytes in RFC 4122 order.
pub fn uuid_text(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(36);
    push_uuid_text(&mut out, bytes);
    ascii_string(out)
}

/// Each byte's value as a hex digit (either case), or 0xff.
const NIBBLE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i: u8 = 0;
    while i < 10 {
        t[(b'0' + i) as usize] = i;
        i += 1;
    }
    let mut i: u8 = 0;
    while i < 6 {
        t[(b'a' + i) as usize] = 10 + i;
        t[(b'A' + i) as usize] = 10 + i;
        i += 1;
    }
    t
};

/// The byte of two hex digits, or `None`.
fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let (h, l) = (NIBBLE[usize::from(hi)], NIBBLE[usize::from(lo)]);
    ((h | l) != 0xff && h < 16 && l < 16).then_some((h << 4) | l)
}

/// Decodes hex digits (either case) into `out`, which must be exactly half
/// as long as `digits`; `None` on any other length or a non-hex digit.
pub fn decode_hex(digits: &[u8], out: &mut [u8]) -> Option<()> {
    if digits.len() != out.len() * 2 {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *o = hex_pair(pair[0], pair[1])?;
    }
    Some(())
}

/// Where each byte of a UUID starts in its `8-4-4-4-12` text.
const UUID_POS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// Parses a UUID written `8-4-4-4-12` (hyphens exactly there) or as 32 hex
/// digits, in either case. Any other spelling is `None`: verify treats such
/// text as not a UUID rather than guessing.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    let mut out = [0u8; 16];
    match b.len() {
        36 => {
            if [8, 13, 18, 23].iter().any(|&p| b[p] != b'-') {
                return None;
            }
            for (o, &p) in out.iter_mut().zip(&UUID_POS) {
                *o = hex_pair(b[p], b[p + 1])?;
            }
        }
        32 => decode_hex(b, &mut out)?,
        _ => return None,
    }
    Some(out)
}

/// Only ASCII digits and hyphens are ever pushed, so this cannot fail.
fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: [u8; 16] = [
        0x6b, 0x07, 0x5b, 0x82, 0xec, 0x44, 0x11, 0xe5, 0x80, 0xdc, 0x00, 0x15, 0x5d, 0x0a, 0xbc,
        0x54,
    ];

    #[test]
    fn uuid_text_round_trips() {
        let s = "6b075b82-ec44-11e5-80dc-00155d0abc54";
        assert_eq!(uuid_text(&U), s);
        assert_eq!(parse_uuid(s), Some(U));
        assert_eq!(parse_uuid(&s.to_uppercase()), Some(U));
        assert_eq!(parse_uuid(&s.replace('-', "")), Some(U));
    }

    #[test]
    fn parse_uuid_refuses_other_spellings() {
        for bad in [
            "",
            "nope",
            "6b075b82ec44-11e5-80dc-00155d0abc54-",
            "6b075b82-ec44-11e5-80dc-00155d0abc5g",
            "{6b075b82-ec44-11e5-80dc-00155d0abc54}",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_is_lower_case_without_prefix() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(hex(&[]), "");
        let mut out = [0u8; 3];
        assert_eq!(decode_hex(b"00ABff", &mut out), Some(()));
        assert_eq!(out, [0x00, 0xab, 0xff]);
        assert_eq!(decode_hex(b"0", &mut out), None);
    }
}
