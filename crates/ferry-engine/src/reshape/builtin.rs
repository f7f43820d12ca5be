//! How each [`Builtin`] changes an Arrow column: the one implementation
//! every copy, verify and sync runs, so a value is transformed the same way
//! whoever reads it. The semantics are documented on [`Builtin`]; these
//! functions hold to them value by value (NULL stays NULL).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{new_null_array, Array, ArrayRef, StringArray};
use arrow_schema::DataType;
use sha2::{Digest, Sha256};

use ferry_core::transform::Builtin;

/// `array` after `b`. The planner checked the column's type
/// ([`Builtin::output`]); an array of another Arrow type is a bug.
pub fn apply(b: Builtin, array: &ArrayRef) -> Result<ArrayRef, String> {
    if b == Builtin::NullOut {
        return Ok(new_null_array(array.data_type(), array.len()));
    }
    if b == Builtin::HashSha256 {
        return Ok(match array.data_type() {
            DataType::Utf8 => Arc::new(
                array
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(|s| sha256_hex(s.as_bytes())))
                    .collect::<StringArray>(),
            ),
            DataType::Binary => Arc::new(
                array
                    .as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(sha256_hex))
                    .collect::<StringArray>(),
            ),
            other => return Err(format!("hash_sha256 on a {other} column")),
        });
    }
    let Some(text) = array.as_string_opt::<i32>() else {
        return Err(format!("{b} on a {} column", array.data_type()));
    };
    let out: StringArray = match b {
        Builtin::MaskEmail => text.iter().map(|v| v.map(mask_email)).collect(),
        Builtin::TruncateTo(n) => text.iter().map(|v| v.map(|s| truncate(s, n))).collect(),
        Builtin::Lower => text.iter().map(|v| v.map(str::to_lowercase)).collect(),
        Builtin::Upper => text.iter().map(|v| v.map(str::to_uppercase)).collect(),
        Builtin::Trim => text.iter().map(|v| v.map(str::trim)).collect(),
        Builtin::NullOut | Builtin::HashSha256 => unreachable!("handled above"),
    };
    Ok(Arc::new(out))
}

/// See [`Builtin::MaskEmail`]: the first character and everything from
/// the last `@` stay; every other character becomes one `*`.
pub fn mask_email(s: &str) -> String {
    let (local, domain) = match s.rfind('@') {
        Some(at) => s.split_at(at),
        None => (s, ""),
    };
    let mut out = String::with_capacity(s.len());
    let mut chars = local.chars();
    if !domain.is_empty() {
        if let Some(first) = chars.next() {
            out.push(first);
        }
    }
    out.extend(chars.map(|_| '*'));
    out.push_str(domain);
    out
}

/// The first `n` characters (Unicode scalar values) of `s`; a cut always
/// falls between two characters, never inside a UTF-8 sequence.
pub fn truncate(s: &str, n: u32) -> &str {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    ferry_core::hex::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(b: Builtin, values: &[Option<&str>]) -> Vec<Option<String>> {
        let input: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
        let out = apply(b, &input).unwrap();
        out.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn one(b: Builtin, v: &str) -> String {
        texts(b, &[Some(v)])[0].clone().unwrap()
    }

    #[test]
    fn mask_email_keeps_the_first_character_and_the_domain() {
        assert_eq!(
            one(Builtin::MaskEmail, "jane.doe@example.com"),
            "j*******@example.com"
        );
        // The last @ starts the domain; a quoted local part may hold one.
        assert_eq!(one(Builtin::MaskEmail, "\"a@b\"@x.org"), "\"****@x.org");
        assert_eq!(one(Builtin::MaskEmail, "@x.org"), "@x.org");
        assert_eq!(one(Builtin::MaskEmail, "no-at-sign"), "**********");
        assert_eq!(one(Builtin::MaskEmail, ""), "");
        // Characters, not bytes: 4-byte UTF-8 and combining marks are one
        // `*` each, so the length in characters is kept.
        assert_eq!(one(Builtin::MaskEmail, "😀😀x@😀.io"), "😀**@😀.io");
        assert_eq!(one(Builtin::MaskEmail, "e\u{301}a@b.c"), "e**@b.c");
        assert_eq!(texts(Builtin::MaskEmail, &[None]), vec![None]);
    }

    #[test]
    fn truncate_counts_characters_and_never_splits_utf8() {
        assert_eq!(one(Builtin::TruncateTo(3), "abcdef"), "abc");
        assert_eq!(one(Builtin::TruncateTo(3), "ab"), "ab");
        assert_eq!(one(Builtin::TruncateTo(0), "ab"), "");
        assert_eq!(one(Builtin::TruncateTo(2), "😀😁😂"), "😀😁");
        // A combining mark is a character of its own.
        assert_eq!(one(Builtin::TruncateTo(1), "e\u{301}x"), "e");
        assert_eq!(one(Builtin::TruncateTo(2), "e\u{301}x"), "e\u{301}");
        assert_eq!(one(Builtin::TruncateTo(5), ""), "");
    }

    #[test]
    fn case_and_trim_are_unicode() {
        assert_eq!(one(Builtin::Lower, "ÀBC Σ"), "àbc σ");
        assert_eq!(one(Builtin::Lower, "İ"), "i\u{307}");
        assert_eq!(one(Builtin::Upper, "straße"), "STRASSE");
        assert_eq!(one(Builtin::Upper, "😀a"), "😀A");
        assert_eq!(one(Builtin::Trim, "\u{a0}\t x y \n\u{3000}"), "x y");
        assert_eq!(one(Builtin::Trim, ""), "");
        assert_eq!(
            texts(Builtin::Lower, &[None, Some("")]),
            vec![None, Some(String::new())]
        );
    }

    #[test]
    fn hash_is_sha256_hex_of_the_utf8_bytes() {
        assert_eq!(
            one(Builtin::HashSha256, ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            one(Builtin::HashSha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let bin: ArrayRef = Arc::new(arrow_array::BinaryArray::from(vec![
            Some(&b"abc"[..]),
            None,
        ]));
        let out = apply(Builtin::HashSha256, &bin).unwrap();
        assert_eq!(
            out.as_string::<i32>().value(0),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(out.is_null(1));
    }

    #[test]
    fn null_out_keeps_the_type() {
        let ints: ArrayRef = Arc::new(arrow_array::Int32Array::from(vec![1, 2]));
        let out = apply(Builtin::NullOut, &ints).unwrap();
        assert_eq!((out.data_type(), out.null_count()), (&DataType::Int32, 2));
        assert!(apply(Builtin::Lower, &ints).is_err());
    }
}
