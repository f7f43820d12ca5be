//! information_schema → [`RawTable`].
//!
//! The catalog reports what the server says, nothing more: `name` is
//! `DATA_TYPE` in lower case (so the read rules in `mappings/mysql.toml`
//! match it), `display` is `COLUMN_TYPE`. Two things need care:
//! - enum/set labels are parsed from `COLUMN_TYPE`, where they are quoted
//!   SQL literals that may contain commas, parentheses, doubled quotes and
//!   backslash escapes;
//! - MariaDB's JSON is `LONGTEXT` plus a `json_valid(`col`)` CHECK; such a
//!   column is reported as `json` so both servers follow the same rule.

use ferry_core::adapter::Catalog;
use ferry_core::{Error, GeometryKind, RawColumn, RawSpatial, RawTable, RawType, Result, TableRef};
use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

use crate::error::ctx;
use crate::{disconnect, Flavor, MySqlAdapter};

impl Catalog for MySqlAdapter {
    async fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableRef>> {
        let db = schema.unwrap_or(&self.url().database).to_string();
        let mut conn = self.connect().await?;
        let rows: Vec<Row> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
                (db.clone(),),
            )
            .await
            .map_err(ctx(format!("listing the tables of {db}")))?;
        disconnect(conn).await;
        let mut names: Vec<String> = rows
            .into_iter()
            .filter_map(|mut r| text(r.take(0)))
            .collect();
        // Sorted here, byte-wise, rather than by the server's collation.
        names.sort();
        Ok(names
            .into_iter()
            .map(|n| TableRef::new(schema, &n))
            .collect())
    }

    async fn describe(&self, table: &TableRef) -> Result<RawTable> {
        let db = self.schema_of(table).to_string();
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        let what = format!("reading the catalog of {table}");

        let tables: Vec<Row> = conn
            .exec(
                "SELECT TABLE_ROWS FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'",
                (db.clone(), table.name.clone()),
            )
            .await
            .map_err(ctx(what.clone()))?;
        let Some(mut trow) = tables.into_iter().next() else {
            disconnect(conn).await;
            return Err(Error::MissingTable {
                table: table.to_string(),
                database: db,
            });
        };
        let estimated_rows = uint(trow.take(0));

        let rows: Vec<Row> = conn
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, \
                        CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, \
                        DATETIME_PRECISION, CHARACTER_SET_NAME \
                 FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (db.clone(), table.name.clone()),
            )
            .await
            .map_err(ctx(what.clone()))?;

        let json_columns: Vec<String> = if flavor == Flavor::MariaDb {
            let checks: Vec<Row> = conn
                .exec(
                    "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                     WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
                    (db.clone(), table.name.clone()),
                )
                .await
                .map_err(ctx(what.clone()))?;
            checks
                .into_iter()
                .filter_map(|mut r| text(r.take(0)))
                .collect()
        } else {
            Vec::new()
        };

        let pk_rows: Vec<Row> = conn
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
                 ORDER BY ORDINAL_POSITION",
                (db.clone(), table.name.clone()),
            )
            .await
            .map_err(ctx(what.clone()))?;
        // A `json_valid(col)` check is what makes a MariaDB column JSON (see above).
        let names: Vec<String> = rows
            .iter()
            .filter_map(|r| r.get_opt::<String, _>(0).and_then(|v| v.ok()))
            .collect();
        // A partitioned table is read whole through its name (every
        // partition's rows, once) and created as a plain table: said, since
        // the target loses the partitioning.
        let partitions: Vec<Row> = conn
            .exec(
                "SELECT MIN(PARTITION_METHOD), COUNT(DISTINCT PARTITION_NAME) \
                 FROM information_schema.PARTITIONS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL",
                (db.clone(), table.name.clone()),
            )
            .await
            .map_err(ctx(what.clone()))?;
        let notes: Vec<String> = partitions
            .into_iter()
            .filter_map(|mut r| {
                let method = text(r.take(0))?;
                let count = uint(r.take(1)).unwrap_or(0);
                Some(format!(
                    "partitioned ({method}, {count} partitions): copied as a plain table"
                ))
            })
            .collect();
        let srids = column_srids(&mut conn, flavor, &db, table).await;
        let schema = crate::schema::read(&mut conn, flavor, &db, table, &names).await;
        disconnect(conn).await;
        let (schema, srids) = (schema?, srids?);

        let mut columns = Vec::with_capacity(rows.len());
        for mut r in rows {
            let info = ColumnInfo {
                name: text(r.take(0)).unwrap_or_default(),
                data_type: text(r.take(1)).unwrap_or_default(),
                column_type: text(r.take(2)).unwrap_or_default(),
                nullable: text(r.take(3)).is_some_and(|s| s.eq_ignore_ascii_case("YES")),
                char_length: uint(r.take(4)),
                precision: uint(r.take(5)),
                scale: uint(r.take(6)),
                fsp: uint(r.take(7)),
                charset: text(r.take(8)).map(|c| c.to_ascii_lowercase()),
            };
            let is_json = json_columns
                .iter()
                .any(|clause| is_json_check(clause, &info.name));
            let mut ty = raw_type(&info, is_json).map_err(|problem| Error::UnsupportedType {
                table: table.to_string(),
                column: info.name.clone(),
                ty: info.column_type.clone(),
                reason: problem,
            })?;
            if let Some(spatial) = ty.spatial.as_mut() {
                spatial.srid = srids
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(&info.name))
                    .map(|(_, s)| *s);
                // COLUMN_TYPE leaves the SRID out on both servers; the
                // declaration a same-engine copy keeps must not.
                if let Some(srid) = spatial.srid {
                    ty.display = format!("{} SRID {srid}", ty.display);
                }
            }
            columns.push(RawColumn {
                name: info.name,
                ty,
                nullable: info.nullable,
            });
        }
        let mut primary_key = Vec::new();
        for mut r in pk_rows {
            let name = text(r.take(0)).unwrap_or_default();
            let idx = columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| {
                    Error::Bug(format!(
                        "primary key column {name} of {table} not in COLUMNS"
                    ))
                })?;
            primary_key.push(idx);
        }
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

    /// Creates a `LIMIT 0` temporary table from `SELECT (expr) FROM table`
    /// (no row is read; a temporary table is the session's own, is never
    /// written to the binary log in row format, and is allowed on a
    /// read-only server) and reads its one column as the catalog reads a
    /// column, so enum labels, lengths, precision and character set are
    /// exactly the server's. Needs the CREATE TEMPORARY TABLES privilege.
    async fn describe_exprs(
        &self,
        table: &TableRef,
        exprs: &[String],
    ) -> Result<Vec<std::result::Result<RawType, String>>> {
        let mut conn = self.connect().await?;
        let out = describe_exprs(self, &mut conn, table, exprs).await;
        disconnect(conn).await;
        out
    }
}

async fn describe_exprs(
    adapter: &MySqlAdapter,
    conn: &mut mysql_async::Conn,
    table: &TableRef,
    exprs: &[String],
) -> Result<Vec<std::result::Result<RawType, String>>> {
    let what = format!("describing an expression over table {table}");
    let from = adapter.qualified(table);
    let probe = "`ferry_expr_probe`";
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        let sql =
            format!("CREATE TEMPORARY TABLE {probe} AS SELECT ({e}) AS `c` FROM {from} LIMIT 0");
        match conn.query_drop(sql).await {
            Ok(()) => {}
            // The server refused the statement: the expression's fault.
            Err(mysql_async::Error::Server(s)) => {
                out.push(Err(s.message.clone()));
                continue;
            }
            Err(e) => return Err(crate::error::query_error(what, e)),
        }
        let rows: Vec<Row> = conn
            .query(format!("SHOW FULL COLUMNS FROM {probe}"))
            .await
            .map_err(ctx(what.clone()))?;
        conn.query_drop(format!("DROP TEMPORARY TABLE {probe}"))
            .await
            .map_err(ctx(what.clone()))?;
        let Some(mut row) = rows.into_iter().next() else {
            out.push(Err("the expression gives no column".into()));
            continue;
        };
        let column_type = text(row.take(1)).unwrap_or_default();
        let collation = text(row.take(2));
        let charset = match collation {
            Some(c) => conn
                .exec_first::<String, _, _>(
                    "SELECT CHARACTER_SET_NAME FROM information_schema.COLLATIONS \
                     WHERE COLLATION_NAME = ?",
                    (c,),
                )
                .await
                .map_err(ctx(what.clone()))?
                .map(|c| c.to_ascii_lowercase()),
            None => None,
        };
        let info = column_info(&column_type, charset);
        out.push(raw_type(&info, false));
    }
    Ok(out)
}

/// A [`ColumnInfo`] from a `SHOW COLUMNS` type (`varchar(101)`,
/// `decimal(13,2) unsigned`, `datetime(3)`), which is `COLUMN_TYPE`.
pub fn column_info(column_type: &str, charset: Option<String>) -> ColumnInfo {
    let lower = column_type.to_ascii_lowercase();
    let data_type = lower
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_string();
    let args: Vec<u64> = match (lower.find('('), lower.find(')')) {
        (Some(o), Some(c)) if c > o && !matches!(data_type.as_str(), "enum" | "set") => lower
            [o + 1..c]
            .split(',')
            .filter_map(|a| a.trim().parse().ok())
            .collect(),
        _ => Vec::new(),
    };
    let first = args.first().copied();
    let mut info = ColumnInfo {
        name: "c".into(),
        data_type: data_type.clone(),
        column_type: column_type.to_string(),
        nullable: true,
        charset,
        ..ColumnInfo::default()
    };
    match data_type.as_str() {
        "char" | "varchar" | "binary" | "varbinary" => info.char_length = first,
        "bit" => info.precision = first,
        "decimal" => {
            info.precision = first;
            info.scale = Some(args.get(1).copied().unwrap_or(0));
        }
        "time" | "datetime" | "timestamp" => info.fsp = Some(first.unwrap_or(0)),
        _ => {}
    }
    info
}

/// The SRID each spatial column of `table` declares, by column name. MySQL
/// 8 keeps it in `COLUMNS.SRS_ID` (NULL: any SRID; `SRID 0` is a real
/// constraint); MariaDB in `GEOMETRY_COLUMNS.SRID`, where 0 is also what a
/// column without `REF_SYSTEM_ID` shows, so 0 there means none.
async fn column_srids(
    conn: &mut mysql_async::Conn,
    flavor: Flavor,
    db: &str,
    table: &TableRef,
) -> Result<Vec<(String, u32)>> {
    let sql = match flavor {
        Flavor::MySql => {
            "SELECT COLUMN_NAME, SRS_ID FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND SRS_ID IS NOT NULL"
        }
        Flavor::MariaDb => {
            "SELECT G_GEOMETRY_COLUMN, SRID FROM information_schema.GEOMETRY_COLUMNS \
             WHERE G_TABLE_SCHEMA = ? AND G_TABLE_NAME = ? AND SRID <> 0"
        }
    };
    let rows: Vec<Row> = conn
        .exec(sql, (db.to_string(), table.name.clone()))
        .await
        .map_err(ctx(format!("reading the spatial columns of {table}")))?;
    Ok(rows
        .into_iter()
        .filter_map(|mut r| {
            let name = text(r.take(0))?;
            let srid = uint(r.take(1)).and_then(|s| u32::try_from(s).ok())?;
            Some((name, srid))
        })
        .collect())
}

/// One row of information_schema.COLUMNS.
#[derive(Debug, Clone, Default)]
pub struct ColumnInfo {
    pub name: String,
    pub data_type: String,
    pub column_type: String,
    pub nullable: bool,
    pub char_length: Option<u64>,
    pub precision: Option<u64>,
    pub scale: Option<u64>,
    pub fsp: Option<u64>,
    /// CHARACTER_SET_NAME, lower case (text, enum and set columns).
    pub charset: Option<String>,
}

/// Builds the [`RawType`] of one catalog column. `is_json` says MariaDB
/// declared it JSON (a `json_valid` check on a `LONGTEXT`).
pub fn raw_type(info: &ColumnInfo, is_json: bool) -> std::result::Result<RawType, String> {
    let name = info.data_type.to_ascii_lowercase();
    let display = info.column_type.clone();
    let lower_display = display.to_ascii_lowercase();
    let mut ty = RawType {
        name: name.clone(),
        display,
        unsigned: lower_display.contains(" unsigned"),
        max_bytes: tier_max_bytes(&name),
        charset: info.charset.clone(),
        ..RawType::default()
    };
    let u32_of = |v: Option<u64>| v.and_then(|v| u32::try_from(v).ok());
    match name.as_str() {
        "char" | "varchar" | "binary" | "varbinary" => ty.length = u32_of(info.char_length),
        "bit" => ty.length = u32_of(info.precision),
        "decimal" => {
            ty.precision = u32_of(info.precision);
            ty.scale = u32_of(info.scale);
        }
        "time" | "datetime" | "timestamp" => {
            ty.fsp = info.fsp.and_then(|v| u8::try_from(v).ok()).or(Some(0));
        }
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => {
            ty.display_width = display_width(&lower_display);
        }
        "enum" | "set" => ty.values = parse_labels(&info.column_type)?,
        spatial if GeometryKind::parse(spatial).is_some() => {
            ty.spatial = GeometryKind::parse(spatial).map(|kind| RawSpatial {
                kind,
                ..RawSpatial::default()
            });
        }
        "longtext" if is_json => ty.name = "json".to_string(),
        _ => {}
    }
    Ok(ty)
}

/// The storage ceiling in bytes of MySQL's text and blob tiers, by `DATA_TYPE`.
/// The mapping layer uses it to fill `Text { max_bytes }` / `VarBinary { max_bytes }`.
pub fn tier_max_bytes(data_type: &str) -> Option<u64> {
    match data_type {
        "tinytext" | "tinyblob" => Some(255),
        "text" | "blob" => Some(65_535),
        "mediumtext" | "mediumblob" => Some(16_777_215),
        "longtext" | "longblob" => Some(4_294_967_295),
        _ => None,
    }
}

/// `tinyint(1) unsigned` → 1.
fn display_width(column_type: &str) -> Option<u32> {
    let open = column_type.find('(')?;
    let close = column_type[open..].find(')')? + open;
    column_type[open + 1..close].trim().parse().ok()
}

/// Whether a MariaDB CHECK clause is the one it adds for a JSON column `column`.
fn is_json_check(clause: &str, column: &str) -> bool {
    let want = format!("json_valid({})", crate::quote_ident(column));
    clause.trim().eq_ignore_ascii_case(&want)
}

/// Parses the labels of `enum('a','b')` / `set(...)` as `COLUMN_TYPE` shows
/// them: each label is a single-quoted literal where `''` is a quote and a
/// backslash starts an escape. Labels may be empty and may contain commas,
/// parentheses and leading spaces, so this walks the literal, never splits.
pub fn parse_labels(column_type: &str) -> std::result::Result<Vec<String>, String> {
    let bad = |why: &str| format!("cannot parse the labels of `{column_type}`: {why}");
    let open = column_type.find('(').ok_or_else(|| bad("no `(`"))?;
    let mut chars = column_type[open + 1..].chars().peekable();
    let mut labels = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            Some('\'') => {}
            Some(')') if labels.is_empty() => return Ok(labels),
            _ => return Err(bad("expected a quoted label")),
        }
        let mut label = String::new();
        loop {
            match chars.next() {
                None => return Err(bad("unterminated label")),
                Some('\'') => {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        label.push('\'');
                    } else {
                        break;
                    }
                }
                Some('\\') => match chars.next() {
                    None => return Err(bad("unterminated escape")),
                    Some('0') => label.push('\0'),
                    Some('n') => label.push('\n'),
                    Some('r') => label.push('\r'),
                    Some('t') => label.push('\t'),
                    Some('b') => label.push('\u{8}'),
                    Some('Z') => label.push('\u{1a}'),
                    Some(c) => label.push(c),
                },
                Some(c) => label.push(c),
            }
        }
        labels.push(label);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            Some(',') => continue,
            Some(')') => return Ok(labels),
            _ => return Err(bad("expected `,` or `)` after a label")),
        }
    }
}

/// A catalog value as text (information_schema sends strings, or numbers
/// through the binary protocol).
pub(crate) fn text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// A catalog value as an unsigned number.
pub(crate) fn uint(v: Option<Value>) -> Option<u64> {
    match v? {
        Value::Int(i) => u64::try_from(i).ok(),
        Value::UInt(u) => Some(u),
        Value::Bytes(b) => std::str::from_utf8(&b).ok()?.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_labels_awkward() {
        let labels =
            parse_labels(r#"enum('x,y','it''s','b\\s',' lead','','(p)','t"q','ASCII(TAR)')"#)
                .unwrap();
        assert_eq!(
            labels,
            vec![
                "x,y",
                "it's",
                r"b\s",
                " lead",
                "",
                "(p)",
                "t\"q",
                "ASCII(TAR)"
            ]
        );
        assert_eq!(parse_labels("set('a','b')").unwrap(), vec!["a", "b"]);
        assert_eq!(parse_labels("set('')").unwrap(), vec![""]);
        assert_eq!(
            parse_labels("enum('      8058','ASCII,EXCE')").unwrap(),
            vec!["      8058", "ASCII,EXCE"]
        );
        assert_eq!(parse_labels("enum('a'')b')").unwrap(), vec!["a')b"]);
        assert!(parse_labels("enum('a").is_err());
        assert!(parse_labels("enum(a)").is_err());
    }

    #[test]
    fn show_columns_types_read_as_the_catalog_reads_them() {
        let t = raw_type(&column_info("decimal(13,2) unsigned", None), false).unwrap();
        assert_eq!(
            (t.name.as_str(), t.precision, t.scale, t.unsigned),
            ("decimal", Some(13), Some(2), true)
        );
        let t = raw_type(&column_info("varchar(101)", Some("utf8mb4".into())), false).unwrap();
        assert_eq!(
            (t.length, t.charset.as_deref()),
            (Some(101), Some("utf8mb4"))
        );
        let t = raw_type(&column_info("datetime(3)", None), false).unwrap();
        assert_eq!(t.fsp, Some(3));
        let t = raw_type(&column_info("enum('a,b','c')", None), false).unwrap();
        assert_eq!(t.values, vec!["a,b", "c"]);
        let t = raw_type(&column_info("int(1)", None), false).unwrap();
        assert_eq!((t.name.as_str(), t.display_width), ("int", Some(1)));
    }

    #[test]
    fn raw_types() {
        let info = |dt: &str, ct: &str| ColumnInfo {
            name: "c".into(),
            data_type: dt.into(),
            column_type: ct.into(),
            ..ColumnInfo::default()
        };
        let t = raw_type(&info("tinyint", "tinyint(1)"), false).unwrap();
        assert_eq!((t.display_width, t.unsigned), (Some(1), false));
        let t = raw_type(&info("bigint", "bigint(20) unsigned"), false).unwrap();
        assert_eq!((t.display_width, t.unsigned), (Some(20), true));
        let t = raw_type(&info("int", "int unsigned"), false).unwrap();
        assert_eq!((t.display_width, t.unsigned), (None, true));
        let t = raw_type(&info("longtext", "longtext"), true).unwrap();
        assert_eq!(t.name, "json");
        let t = raw_type(&info("longtext", "longtext"), false).unwrap();
        assert_eq!(
            (t.name.as_str(), t.max_bytes),
            ("longtext", Some(4_294_967_295))
        );
        let t = raw_type(&info("tinyblob", "tinyblob"), false).unwrap();
        assert_eq!(t.max_bytes, Some(255));
        assert!(is_json_check("json_valid(`j`)", "j"));
        assert!(!is_json_check("json_valid(`j`) and 1", "j"));
        assert_eq!(tier_max_bytes("mediumblob"), Some(16_777_215));
    }
}
