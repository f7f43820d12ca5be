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
    // The value: the column, or a job's derived expression (read plans
    // only); the result keeps the plan's column name either way.
    let a = quote_ident(&col.name);
    let c = match &col.expr {
        Some(e) => format!("({e})"),
        None => a.clone(),
    };
    let raw = col.raw.name.as_str();
    match raw {
        "money" if !is_text(&col.logical) => format!("CAST({c} AS decimal(19,4)) AS {a}"),
        "smallmoney" if !is_text(&col.logical) => format!("CAST({c} AS decimal(10,4)) AS {a}"),
        // The SRID (4 bytes, big-endian) and the value's WKB with its Z and
        // M: the decoder makes canonical EWKB of them.
        "geography" | "geometry" if matches!(col.logical, LogicalType::Geometry { .. }) => {
            format!("CAST({c}.STSrid AS binary(4)) + {c}.AsBinaryZM() AS {a}")
        }
        "hierarchyid" | "geography" | "geometry" => format!("{c}.ToString() AS {a}"),
        _ if is_text(&col.logical) && !is_string_type(raw) => {
            if is_temporal(raw) {
                format!("CONVERT(nvarchar(64), {c}, 126) AS {a}")
            } else if matches!(raw, "float" | "real") {
                // Style 3: the digits that round-trip (SQL Server 2016+).
                format!("CONVERT(nvarchar(64), {c}, 3) AS {a}")
            } else {
                format!("CONVERT(nvarchar(max), {c}) AS {a}")
            }
        }
        _ if col.expr.is_some() => format!("{c} AS {a}"),
        _ => a,
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

    /// A job's derived column (issue 16) is selected as its expression
    /// under the planned name, with the type's own reading around it.
    #[test]
    fn a_derived_column_is_its_expression_under_the_plan_name() {
        let mut c = col(
            "full_name",
            "nvarchar",
            LogicalType::Text { max_bytes: None },
        );
        c.expr = Some("[first] + N' ' + [last]".into());
        assert_eq!(select_expr(&c), "([first] + N' ' + [last]) AS [full_name]");
        let mut m = col(
            "total",
            "money",
            LogicalType::Decimal {
                precision: Some(19),
                scale: Some(4),
            },
        );
        m.expr = Some("[a] * 2".into());
        assert_eq!(
            select_expr(&m),
            "CAST(([a] * 2) AS decimal(19,4)) AS [total]"
        );
        assert_eq!(
            select_expr(&col("plain", "int", LogicalType::Int32)),
            "[plain]"
        );
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
