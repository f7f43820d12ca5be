//! What the reader selects for each column, decided once per table from
//! the catalog type (`RawType::name`, as `sys.types` names it) and the
//! column's logical type.
//!
//! Most columns are selected as they are. The exceptions, each a
//! documented rule of `mappings/mssql.toml`:
//! - `money` / `smallmoney` as `decimal(19,4)` / `decimal(10,4)`:
//!   tiberius decodes `money` into an `f64`, which cannot hold every
//!   value (922337203685477.5807 is not a double);
//! - `hierarchyid` as its path text (`/1/3/`), `ToString()`;
//! - `geometry` / `geography` as their SRID then `AsBinaryZM()` (WKB with
//!   Z and M), which the decoder turns into the hub's canonical EWKB;
//! - a column the user mapped to text (`logical = "varchar"` on a
//!   `datetimeoffset`, `sql_variant`, `geography`…) as SQL Server's own
//!   text: ISO 8601 (style 126) for dates and times, `ToString()` for the
//!   CLR types, `CONVERT(nvarchar(max), …)` otherwise.

use ferry_core::{ColumnPlan, LogicalType};

use crate::quote_ident;

/// Whether a logical type travels as text (Arrow `Utf8`), excluding
/// decimals.
fn is_text(t: &LogicalType) -> bool {
    use LogicalType as L;
    matches!(
        t,
        L::Char { .. }
            | L::Varchar { .. }
            | L::Text { .. }
            | L::Xml
            | L::Json
            | L::Jsonb
            | L::Enum { .. }
            | L::TimeTz
            | L::Inet
            | L::Cidr
            | L::MacAddr
            | L::MacAddr8
            | L::TsVector
            | L::Bit { .. }
    )
}

/// Whether a `sys.types` name is a character type (read as it is).
pub fn is_string_type(name: &str) -> bool {
    matches!(
        name,
        "char" | "varchar" | "nchar" | "nvarchar" | "text" | "ntext" | "sysname" | "xml"
    )
}

fn is_temporal(name: &str) -> bool {
    matches!(
        name,
        "date" | "time" | "datetime" | "datetime2" | "smalldatetime" | "datetimeoffset"
    )
}

/// The select-list item for one column.
pub fn select_expr(col: &ColumnPlan) -> String {
    let c = quote_ident(&col.name);
    let raw = col.raw.name.as_str();
    match raw {
        "money" if !is_text(&col.logical) => format!("CAST({c} AS decimal(19,4)) AS {c}"),
        "smallmoney" if !is_text(&col.logical) => format!("CAST({c} AS decimal(10,4)) AS {c}"),
        // The SRID (4 bytes, big-endian) and the value's WKB with its Z and
        // M: the decoder makes canonical EWKB of them.
        "geography" | "geometry" if matches!(col.logical, LogicalType::Geometry { .. }) => {
            format!("CAST({c}.STSrid AS binary(4)) + {c}.AsBinaryZM() AS {c}")
        }
        "hierarchyid" | "geography" | "geometry" => format!("{c}.ToString() AS {c}"),
        _ if is_text(&col.logical) && !is_string_type(raw) => {
            if is_temporal(raw) {
                format!("CONVERT(nvarchar(64), {c}, 126) AS {c}")
            } else if matches!(raw, "float" | "real") {
                // Style 3: the digits that round-trip (SQL Server 2016+).
                format!("CONVERT(nvarchar(64), {c}, 3) AS {c}")
            } else {
                format!("CONVERT(nvarchar(max), {c}) AS {c}")
            }
        }
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::RawType;

    fn col(name: &str, raw: &str, logical: LogicalType) -> ColumnPlan {
        ColumnPlan {
            name: name.into(),
            raw: RawType {
                name: raw.into(),
                ..RawType::default()
            },
            logical,
            ..ColumnPlan::default()
        }
    }

    #[test]
    fn money_is_read_as_an_exact_decimal() {
        let dec = LogicalType::Decimal {
            precision: Some(19),
            scale: Some(4),
        };
        assert_eq!(
            select_expr(&col("m", "money", dec.clone())),
            "CAST([m] AS decimal(19,4)) AS [m]"
        );
        assert_eq!(
            select_expr(&col("s", "smallmoney", dec)),
            "CAST([s] AS decimal(10,4)) AS [s]"
        );
        // Why: tiberius's own money decoding is a double, and a double
        // cannot hold money's largest value.
        let largest: f64 = "922337203685477.5807".parse().unwrap();
        assert_ne!(format!("{largest}"), "922337203685477.5807");
    }

    #[test]
    fn text_forms_of_other_types() {
        let v = LogicalType::Varchar { length: None };
        assert_eq!(
            select_expr(&col("h", "hierarchyid", v.clone())),
            "[h].ToString() AS [h]"
        );
        assert_eq!(
            select_expr(&col("d", "datetimeoffset", v.clone())),
            "CONVERT(nvarchar(64), [d], 126) AS [d]"
        );
        assert_eq!(
            select_expr(&col("v", "sql_variant", v.clone())),
            "CONVERT(nvarchar(max), [v]) AS [v]"
        );
        assert_eq!(select_expr(&col("n", "nvarchar", v)), "[n]");
        assert_eq!(select_expr(&col("i", "int", LogicalType::Int32)), "[i]");
    }
}
