//! Index key parts for each target, and InnoDB's key limits.
//!
//! InnoDB cannot index TEXT/BLOB without a prefix and caps a key at 3072
//! bytes (utf8mb4 counts 4 bytes a character). For a MySQL target:
//! - a unique key (or the primary key) over TEXT/BLOB columns turns those
//!   columns into VARCHAR/VARBINARY sharing the budget — a prefix would make
//!   the key stricter than the source's — and the value pre-flight counts the
//!   values longer than that (see the engine's preflight);
//! - a non-unique index uses prefixes instead, keeping the column's type;
//! - a unique key over declared columns wider than the budget cannot be
//!   built: that is an error naming the index.
//!
//! MySQL prefix indexes become PostgreSQL expression indexes on
//! `left(column, n)`, which index exactly the same prefix (and enforce the
//! same uniqueness); the way back recognises that form.

/// InnoDB's key limit for utf8mb4 with the DYNAMIC row format.
pub const KEY_BYTES: u32 = 3072;

/// Bytes a MySQL column of `target_type` takes in a key. `None`: TEXT/BLOB,
/// needs a prefix; `Some(u32::MAX)`: cannot be indexed at all (JSON, geometry).
pub fn mysql_key_bytes(target_type: &str) -> Option<u32> {
    let t = target_type.to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    let arg = t
        .find('(')
        .and_then(|o| t[o + 1..].split([',', ')']).next())
        .and_then(|n| n.trim().parse::<u32>().ok());
    Some(match base {
        "tinyint" | "year" => 1,
        "smallint" | "enum" => 2,
        "mediumint" | "date" => 3,
        "int" | "integer" | "float" => 4,
        "bigint" | "double" | "datetime" | "timestamp" | "bit" | "set" => 8,
        "time" => 6,
        "decimal" | "numeric" => arg.unwrap_or(10) / 2 + 1,
        "char" | "varchar" => arg.unwrap_or(1).saturating_mul(4),
        "binary" | "varbinary" => arg.unwrap_or(1),
        "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob" | "mediumblob"
        | "longblob" => return None,
        "json" | "geometry" | "point" => u32::MAX,
        _ => 8,
    })
}

/// Whether a MySQL type is binary (prefix lengths count bytes, not characters).
pub fn mysql_is_binary(target_type: &str) -> bool {
    let t = target_type.to_ascii_lowercase();
    t.contains("blob") || t.contains("binary")
}

/// Recognises a PostgreSQL `left(col, n)` index expression as (column, n).
pub fn pg_left_prefix(expr: &str, columns: &[String]) -> Option<(String, u32)> {
    let e = expr.trim();
    let e = e
        .strip_prefix("\"left\"(")
        .or_else(|| e.strip_prefix("left("))?;
    let e = e.strip_suffix(')')?;
    let (col, n) = e.rsplit_once(',')?;
    let n: u32 = n.trim().parse().ok()?;
    let col = col.trim();
    let col = match col.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(q) => q.replace("\"\"", "\""),
        None => col.to_string(),
    };
    columns.contains(&col).then_some((col, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(mysql_key_bytes("varchar(768)"), Some(3072));
        assert_eq!(mysql_key_bytes("bigint unsigned"), Some(8));
        assert_eq!(mysql_key_bytes("longtext"), None);
        assert_eq!(mysql_key_bytes("decimal(65,30)"), Some(33));
        assert_eq!(mysql_key_bytes("json"), Some(u32::MAX));
        assert!(mysql_is_binary("varbinary(10)") && !mysql_is_binary("varchar(3)"));
    }

    #[test]
    fn left_prefix() {
        let cols = vec!["name".to_string(), "Odd \"c\"".to_string()];
        assert_eq!(
            pg_left_prefix("\"left\"(name, 10)", &cols),
            Some(("name".into(), 10))
        );
        assert_eq!(
            pg_left_prefix("left(\"Odd \"\"c\"\"\", 3)", &cols),
            Some(("Odd \"c\"".into(), 3))
        );
        assert_eq!(pg_left_prefix("lower(name)", &cols), None);
        assert_eq!(pg_left_prefix("left(other, 3)", &cols), None);
    }
}
