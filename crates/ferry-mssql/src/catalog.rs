//! `sys.*` → [`RawTable`].
//!
//! The catalog reports what the server says: `RawType::name` is the base
//! system type as `sys.types` names it (`nvarchar`, `datetime2`,
//! `uniqueidentifier`; `timestamp` for rowversion; an alias type's base
//! type, the alias itself in `user_type`), so the read rules in
//! `mappings/mssql.toml` match it. Lengths are characters for
//! `nchar`/`nvarchar` (UTF-16 code units: `max_length / 2`), bytes for the
//! others; `(max)` types have no length and a `max_bytes` of 2³¹ − 1.
//! `money` is reported as `decimal(19,4)` and `smallmoney` as
//! `decimal(10,4)` in precision and scale, which is what they hold.

use ferry_core::adapter::Catalog;
use ferry_core::{Error, RawColumn, RawTable, RawType, Result, TableRef};
use tiberius::ColumnData;

use crate::error::ctx;
use crate::{close, qualified, schema_of, Client, MssqlAdapter};

/// The ceiling of SQL Server's large value types, in bytes.
pub const MAX_BYTES: u64 = 2_147_483_647;

/// Runs a parameterised query and returns the first result's rows.
pub(crate) async fn rows(
    client: &mut Client,
    sql: &str,
    params: &[&dyn tiberius::ToSql],
) -> tiberius::Result<Vec<Vec<ColumnData<'static>>>> {
    let rows = client.query(sql, params).await?.into_first_result().await?;
    Ok(rows.into_iter().map(|r| r.into_iter().collect()).collect())
}

/// A catalog value as text.
pub(crate) fn text(v: &ColumnData<'_>) -> Option<String> {
    if crate::decode::is_null(v) {
        return None;
    }
    crate::decode::text_of(v).ok()
}

/// A catalog value as an integer.
pub(crate) fn int(v: &ColumnData<'_>) -> Option<i64> {
    match v {
        ColumnData::U8(Some(x)) => Some(i64::from(*x)),
        ColumnData::I16(Some(x)) => Some(i64::from(*x)),
        ColumnData::I32(Some(x)) => Some(i64::from(*x)),
        ColumnData::I64(Some(x)) => Some(*x),
        ColumnData::Bit(Some(b)) => Some(i64::from(*b)),
        ColumnData::Numeric(Some(n)) => i64::try_from(n.value()).ok().filter(|_| n.scale() == 0),
        ColumnData::String(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn flag(v: &ColumnData<'_>) -> bool {
    int(v).is_some_and(|n| n != 0)
}

impl Catalog for MssqlAdapter {
    async fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableRef>> {
        let s = schema.unwrap_or(crate::DEFAULT_SCHEMA).to_string();
        let mut client = self.connect().await?;
        let out = rows(
            &mut client,
            "SELECT t.name FROM sys.tables t WHERE SCHEMA_NAME(t.schema_id) = @P1 \
             AND t.is_ms_shipped = 0",
            &[&s.as_str()],
        )
        .await
        .map_err(ctx(format!("listing the tables of schema {s}")));
        close(client).await;
        let mut names: Vec<String> = out?.iter().filter_map(|r| text(&r[0])).collect();
        // Byte-wise, not by the server's collation.
        names.sort();
        Ok(names
            .into_iter()
            .map(|n| TableRef::new(Some(&s), &n))
            .collect())
    }

    async fn describe(&self, table: &TableRef) -> Result<RawTable> {
        let mut client = self.connect().await?;
        let out = describe(&mut client, table).await;
        close(client).await;
        out
    }

    async fn describe_exprs(
        &self,
        table: &TableRef,
        exprs: &[String],
    ) -> Result<Vec<std::result::Result<RawType, String>>> {
        let mut client = self.connect().await?;
        let out = describe_exprs(&mut client, table, exprs).await;
        close(client).await;
        out
    }
}

/// The type of each of `exprs` over `table`, as SQL Server describes the
/// first result set of `SELECT (expr) FROM table` without running it
/// (`sys.dm_exec_describe_first_result_set`); a statement it cannot
/// describe gives its error message.
pub(crate) async fn describe_exprs(
    client: &mut Client,
    table: &TableRef,
    exprs: &[String],
) -> Result<Vec<std::result::Result<RawType, String>>> {
    let from = qualified(table);
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        let stmt = format!("SELECT ({e}) FROM {from}");
        let found = rows(
            client,
            "SELECT TYPE_NAME(system_type_id), max_length, precision, scale, is_nullable, \
                    error_message \
             FROM sys.dm_exec_describe_first_result_set(@P1, NULL, 0)",
            &[&stmt.as_str()],
        )
        .await
        .map_err(ctx(format!("describing an expression over table {table}")))?;
        let Some(r) = found.first() else {
            out.push(Err("the expression gives no value".into()));
            continue;
        };
        if let Some(message) = text(&r[5]) {
            out.push(Err(message));
            continue;
        }
        let Some(base_type) = text(&r[0]) else {
            out.push(Err("SQL Server gives the expression no type".into()));
            continue;
        };
        out.push(Ok(raw_type(&ColumnInfo {
            name: String::new(),
            base_type,
            alias: None,
            max_length: int(&r[1]).unwrap_or(0),
            precision: int(&r[2]).unwrap_or(0),
            scale: int(&r[3]).unwrap_or(0),
            nullable: flag(&r[4]),
        })));
    }
    Ok(out)
}

/// One row of `sys.columns` with its type.
#[derive(Debug, Clone, Default)]
pub struct ColumnInfo {
    pub name: String,
    /// The base system type (`nvarchar` for `sysname` and an alias of it).
    pub base_type: String,
    /// The alias type, schema-qualified, when the column uses one.
    pub alias: Option<String>,
    pub max_length: i64,
    pub precision: i64,
    pub scale: i64,
    pub nullable: bool,
}

/// Builds the [`RawType`] of one catalog column.
pub fn raw_type(info: &ColumnInfo) -> RawType {
    let name = info.base_type.to_ascii_lowercase();
    let u32_of = |v: i64| u32::try_from(v).ok();
    let mut ty = RawType {
        name: name.clone(),
        display: name.clone(),
        user_type: info.alias.clone(),
        ..RawType::default()
    };
    let len_display = |n: Option<u32>| n.map_or("max".to_string(), |n| n.to_string());
    match name.as_str() {
        "char" | "varchar" | "binary" | "varbinary" => {
            ty.length = (info.max_length >= 0)
                .then(|| u32_of(info.max_length))
                .flatten();
            if ty.length.is_none() {
                ty.max_bytes = Some(MAX_BYTES);
            }
            ty.display = format!("{name}({})", len_display(ty.length));
        }
        "nchar" | "nvarchar" => {
            ty.length = (info.max_length >= 0)
                .then(|| u32_of(info.max_length / 2))
                .flatten();
            if ty.length.is_none() {
                ty.max_bytes = Some(MAX_BYTES);
            }
            ty.display = format!("{name}({})", len_display(ty.length));
        }
        "text" | "ntext" | "image" | "xml" => ty.max_bytes = Some(MAX_BYTES),
        "decimal" | "numeric" => {
            ty.precision = u32_of(info.precision);
            ty.scale = u32_of(info.scale);
            ty.display = format!("{name}({},{})", info.precision, info.scale);
        }
        "money" => {
            ty.precision = Some(19);
            ty.scale = Some(4);
        }
        "smallmoney" => {
            ty.precision = Some(10);
            ty.scale = Some(4);
        }
        "time" | "datetime2" | "datetimeoffset" => {
            ty.fsp = u8::try_from(info.scale).ok();
            ty.display = format!("{name}({})", info.scale);
        }
        "datetime" => ty.fsp = Some(3),
        "smalldatetime" => ty.fsp = Some(0),
        "timestamp" => {
            // rowversion: 8 bytes the server sets, not a date.
            ty.length = Some(8);
            ty.display = "rowversion".into();
        }
        // float(n ≤ 24) is real (sys.types says so already; a belt for
        // catalogs that report the declaration).
        "float" if info.precision > 0 && info.precision <= 24 => ty.name = "real".into(),
        "geometry" | "geography" => {
            // No typmod: any subtype, any SRID, each value with its own.
            ty.spatial = Some(ferry_core::plan::RawSpatial {
                geography: name == "geography",
                ..ferry_core::plan::RawSpatial::default()
            });
        }
        _ => {}
    }
    if let Some(alias) = &info.alias {
        ty.display = format!("{alias} ({})", ty.display);
    }
    ty
}

/// The table's `OBJECT_ID` argument: `[schema].[name]`.
pub(crate) fn object_name(table: &TableRef) -> String {
    qualified(table)
}

/// Describes one table on an open session.
pub(crate) async fn describe(client: &mut Client, table: &TableRef) -> Result<RawTable> {
    let what = format!("reading the catalog of {table}");
    let obj = object_name(table);
    let exists = rows(
        client,
        "SELECT OBJECT_ID(@P1, 'U'), (SELECT SUM(p.rows) FROM sys.partitions p \
         WHERE p.object_id = OBJECT_ID(@P1, 'U') AND p.index_id IN (0, 1))",
        &[&obj.as_str()],
    )
    .await
    .map_err(ctx(what.clone()))?;
    let Some(first) = exists.first().filter(|r| int(&r[0]).is_some()) else {
        return Err(Error::MissingTable {
            table: table.to_string(),
            database: schema_of(table).to_string(),
        });
    };
    let estimated_rows = int(&first[1]).and_then(|n| u64::try_from(n).ok());

    let cols = rows(
        client,
        "SELECT c.name, COALESCE(TYPE_NAME(t.system_type_id), t.name), \
                CASE WHEN t.is_user_defined = 1 AND t.is_assembly_type = 0 \
                     THEN SCHEMA_NAME(t.schema_id) + N'.' + t.name END, \
                c.max_length, c.precision, c.scale, c.is_nullable \
         FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id \
         WHERE c.object_id = OBJECT_ID(@P1) ORDER BY c.column_id",
        &[&obj.as_str()],
    )
    .await
    .map_err(ctx(what.clone()))?;
    let mut columns = Vec::with_capacity(cols.len());
    for r in &cols {
        let info = ColumnInfo {
            name: text(&r[0]).unwrap_or_default(),
            base_type: text(&r[1]).unwrap_or_default(),
            alias: text(&r[2]),
            max_length: int(&r[3]).unwrap_or(0),
            precision: int(&r[4]).unwrap_or(0),
            scale: int(&r[5]).unwrap_or(0),
            nullable: flag(&r[6]),
        };
        columns.push(RawColumn {
            ty: raw_type(&info),
            name: info.name,
            nullable: info.nullable,
        });
    }

    let pk = rows(
        client,
        "SELECT c.name FROM sys.indexes i \
         JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
         JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id \
         WHERE i.object_id = OBJECT_ID(@P1) AND i.is_primary_key = 1 ORDER BY ic.key_ordinal",
        &[&obj.as_str()],
    )
    .await
    .map_err(ctx(what.clone()))?;
    let mut primary_key = Vec::new();
    for r in &pk {
        let name = text(&r[0]).unwrap_or_default();
        let idx = columns.iter().position(|c| c.name == name).ok_or_else(|| {
            Error::Bug(format!(
                "primary key column {name} of {table} not in sys.columns"
            ))
        })?;
        primary_key.push(idx);
    }
    let (schema, notes) = crate::schema::read(client, table, &columns).await?;
    // Computed columns stay among the columns: the schema translator takes
    // out those it recreates from their expression, and copies the others
    // as plain columns.
    Ok(RawTable {
        table: table.clone(),
        columns,
        primary_key,
        estimated_rows,
        schema,
        notes,
        ..RawTable::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(t: &str, len: i64, p: i64, s: i64) -> ColumnInfo {
        ColumnInfo {
            name: "c".into(),
            base_type: t.into(),
            max_length: len,
            precision: p,
            scale: s,
            ..ColumnInfo::default()
        }
    }

    #[test]
    fn raw_types_as_sys_types_gives_them() {
        let t = raw_type(&info("nvarchar", 80, 0, 0));
        assert_eq!((t.length, t.display.as_str()), (Some(40), "nvarchar(40)"));
        let t = raw_type(&info("nvarchar", -1, 0, 0));
        assert_eq!((t.length, t.max_bytes), (None, Some(MAX_BYTES)));
        assert_eq!(t.display, "nvarchar(max)");
        let t = raw_type(&info("varbinary", -1, 0, 0));
        assert_eq!(t.display, "varbinary(max)");
        let t = raw_type(&info("decimal", 17, 38, 38));
        assert_eq!((t.precision, t.scale), (Some(38), Some(38)));
        let t = raw_type(&info("datetime2", 8, 27, 7));
        assert_eq!((t.fsp, t.display.as_str()), (Some(7), "datetime2(7)"));
        let t = raw_type(&info("money", 8, 19, 4));
        assert_eq!((t.precision, t.scale), (Some(19), Some(4)));
        let t = raw_type(&info("timestamp", 8, 0, 0));
        assert_eq!(
            (t.name.as_str(), t.display.as_str()),
            ("timestamp", "rowversion")
        );
        let t = raw_type(&info("float", 4, 24, 0));
        assert_eq!(t.name, "real");
        let t = raw_type(&ColumnInfo {
            alias: Some("dbo.Phone".into()),
            ..info("varchar", 20, 0, 0)
        });
        assert_eq!(t.user_type.as_deref(), Some("dbo.Phone"));
        assert_eq!(t.display, "dbo.Phone (varchar(20))");
    }
}
