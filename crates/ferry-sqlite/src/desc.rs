//! Declared types → [`RawType`], and the affinity SQLite gives them.
//!
//! SQLite keeps a column's declared type as written (`VARCHAR(20)`,
//! `timestamp with time zone`, `UNSIGNED BIG INT`, nothing at all) and
//! derives an *affinity* from it by substring rules. The read rules in
//! `mappings/sqlite.toml` match the base name this module extracts (lower
//! case, parameters removed, blanks collapsed); the parameters fill
//! length, precision/scale or fractional digits, whichever the logical
//! kind the rule picks will use.

use ferry_core::RawType;

/// SQLite's five affinities (datatype3.html, section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    Integer,
    Text,
    /// Also a column without a declared type: values are stored as given.
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    /// The affinity of a declared type, by SQLite's rules in SQLite's order.
    pub fn of(declared: &str) -> Affinity {
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") {
            Affinity::Integer
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Affinity::Text
        } else if t.contains("BLOB") || t.trim().is_empty() {
            Affinity::Blob
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    /// Whether text bound into such a column may be turned into a number
    /// (INTEGER, REAL and NUMERIC affinity convert well-formed numeric text).
    pub fn converts_text(self) -> bool {
        matches!(self, Affinity::Integer | Affinity::Real | Affinity::Numeric)
    }
}

/// The [`RawType`] of a declared type as `PRAGMA table_xinfo` shows it.
pub fn raw_type(declared: &str) -> RawType {
    let trimmed = declared.trim();
    let (base, params) = match trimmed.find('(') {
        Some(open) => {
            let close = trimmed[open..]
                .find(')')
                .map_or(trimmed.len(), |c| c + open);
            (&trimmed[..open], Some(&trimmed[open + 1..close]))
        }
        None => (trimmed, None),
    };
    let name = base
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let mut ty = RawType {
        name,
        display: trimmed.to_string(),
        ..RawType::default()
    };
    let numbers: Vec<u32> = params
        .map(|p| p.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_default();
    match numbers.as_slice() {
        [n] => {
            // Whichever the rule's logical kind reads: a length for
            // strings, a precision for decimals, digits for times.
            ty.length = Some(*n);
            ty.precision = Some(*n);
            ty.scale = Some(0);
            ty.fsp = u8::try_from(*n).ok().filter(|f| *f <= 6);
        }
        [p, s] => {
            ty.precision = Some(*p);
            ty.scale = Some(*s);
        }
        _ => {}
    }
    ty
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_follows_sqlites_rules_in_order() {
        for (t, a) in [
            ("INTEGER", Affinity::Integer),
            ("UNSIGNED BIG INT", Affinity::Integer),
            ("POINT", Affinity::Integer),
            ("INTERVAL", Affinity::Integer),
            ("VARCHAR(20)", Affinity::Text),
            ("DECIMAL_TEXT(30,10)", Affinity::Text),
            ("CHARINT", Affinity::Integer),
            ("", Affinity::Blob),
            ("BLOB", Affinity::Blob),
            ("DOUBLE PRECISION", Affinity::Real),
            ("FLOATING POINT", Affinity::Integer),
            ("STRING", Affinity::Numeric),
            ("DATETIME", Affinity::Numeric),
            ("TIMESTAMP WITH TIME ZONE", Affinity::Numeric),
            ("BOOLEAN", Affinity::Numeric),
        ] {
            assert_eq!(Affinity::of(t), a, "{t}");
        }
    }

    #[test]
    fn declared_types_split_into_name_and_parameters() {
        let t = raw_type("VARCHAR(20)");
        assert_eq!((t.name.as_str(), t.length), ("varchar", Some(20)));
        assert_eq!(t.display, "VARCHAR(20)");
        let t = raw_type("numeric( 12 , 2 )");
        assert_eq!((t.precision, t.scale), (Some(12), Some(2)));
        let t = raw_type("  Timestamp   With Time  Zone ");
        assert_eq!(t.name, "timestamp with time zone");
        let t = raw_type("DATETIME(3)");
        assert_eq!((t.name.as_str(), t.fsp), ("datetime", Some(3)));
        let t = raw_type("");
        assert_eq!((t.name.as_str(), t.display.as_str()), ("", ""));
        let t = raw_type("CHARACTER VARYING(255)");
        assert_eq!(
            (t.name.as_str(), t.length, t.fsp),
            ("character varying", Some(255), None)
        );
    }
}
