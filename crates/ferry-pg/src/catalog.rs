//! Catalog introspection from `pg_catalog`.
//!
//! Produces [`RawType`]s in the vocabulary of `mappings/postgres.toml`: the
//! base `typname` after resolving domains, `enum` for every enum type (labels
//! in `enumsortorder`), `array` for every array type (with the element's
//! `RawType`). Parameters come from the column's typmod, never from data.

use ferry_core::adapter::Catalog;
use ferry_core::{Error, GeometryKind, RawColumn, RawSpatial, RawTable, RawType, Result, TableRef};
use tokio_postgres::types::Oid;
use tokio_postgres::Client;

use crate::error::ctx;
use crate::{schema_of, PgAdapter};

impl Catalog for PgAdapter {
    /// Tables an extension owns (PostGIS's `spatial_ref_sys`) are the
    /// extension's: `CREATE EXTENSION` on the target makes them.
    async fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableRef>> {
        let schema = schema.unwrap_or("public");
        let client = self.connect().await?;
        let rows = client
            .query(
                "SELECT c.relname::text FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                   WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid \
                   AND d.deptype = 'e') \
                 ORDER BY c.relname COLLATE \"C\"",
                &[&schema],
            )
            .await
            .map_err(ctx(format!("listing tables of schema {schema}")))?;
        Ok(rows
            .iter()
            .map(|r| TableRef::new(Some(schema), r.get::<_, &str>(0)))
            .collect())
    }

    async fn describe(&self, table: &TableRef) -> Result<RawTable> {
        let client = self.connect().await?;
        describe(&client, table, &self.url.database).await
    }

    /// Prepares `SELECT (expr) FROM table` (never executed): the row
    /// description gives the result's type OID and typmod, resolved as a
    /// column's (domains, enums, arrays, precision, length).
    async fn describe_exprs(
        &self,
        table: &TableRef,
        exprs: &[String],
    ) -> Result<Vec<std::result::Result<RawType, String>>> {
        let client = self.connect().await?;
        let from = crate::qualified(table);
        let mut out = Vec::with_capacity(exprs.len());
        for e in exprs {
            let stmt = match client.prepare(&format!("SELECT ({e}) FROM {from}")).await {
                Ok(stmt) => stmt,
                Err(err) => match err.as_db_error() {
                    // The server refused the statement: the expression's fault.
                    Some(db) => {
                        out.push(Err(db.message().to_string()));
                        continue;
                    }
                    None => {
                        return Err(crate::error::query_error(
                            format!("describing an expression over table {table}"),
                            err,
                        ))
                    }
                },
            };
            let Some(col) = stmt.columns().first() else {
                out.push(Err("the expression gives no value".into()));
                continue;
            };
            let (oid, typmod) = (col.type_().oid(), col.type_modifier());
            let display: String = client
                .query_one("SELECT pg_catalog.format_type($1, $2)", &[&oid, &typmod])
                .await
                .map_err(ctx(format!("describing an expression over table {table}")))?
                .get(0);
            let (ty, _) = resolve(&client, oid, typmod, display, table).await?;
            out.push(Ok(ty));
        }
        Ok(out)
    }
}

/// One `pg_type` row.
struct PgType {
    name: String,
    schema: String,
    typtype: i8,
    category: i8,
    elem: Oid,
    base: Oid,
    typmod: i32,
    not_null: bool,
}

async fn load_type(client: &Client, oid: Oid, table: &TableRef) -> Result<PgType> {
    let row = client
        .query_one(
            "SELECT t.typname::text, n.nspname::text, t.typtype, t.typcategory, t.typelem, \
             t.typbasetype, t.typtypmod, t.typnotnull \
             FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.oid = $1",
            &[&oid],
        )
        .await
        .map_err(ctx(format!("describing a column type of table {table}")))?;
    Ok(PgType {
        name: row.get(0),
        schema: row.get(1),
        typtype: row.get(2),
        category: row.get(3),
        elem: row.get(4),
        base: row.get(5),
        typmod: row.get(6),
        not_null: row.get(7),
    })
}

fn user_name(t: &PgType) -> String {
    if t.schema == "public" || t.schema == "pg_catalog" {
        t.name.clone()
    } else {
        format!("{}.{}", t.schema, t.name)
    }
}

/// Resolves `oid` (with the column's `typmod`) into a `RawType`; returns
/// whether a domain on the way forbids NULL.
async fn resolve(
    client: &Client,
    mut oid: Oid,
    mut typmod: i32,
    display: String,
    table: &TableRef,
) -> Result<(RawType, bool)> {
    let mut raw = RawType {
        display,
        ..RawType::default()
    };
    let mut not_null = false;
    // Domains: follow to the base type, keeping the outermost domain's name.
    let mut ty = load_type(client, oid, table).await?;
    let mut depth = 0;
    while ty.typtype == b'd' as i8 && depth < 32 {
        if raw.user_type.is_none() {
            raw.user_type = Some(user_name(&ty));
        }
        not_null |= ty.not_null;
        if typmod < 0 {
            typmod = ty.typmod;
        }
        oid = ty.base;
        ty = load_type(client, oid, table).await?;
        depth += 1;
    }
    if ty.typtype == b'e' as i8 {
        raw.name = "enum".into();
        raw.user_type = Some(user_name(&ty));
        let rows = client
            .query(
                "SELECT enumlabel::text FROM pg_catalog.pg_enum WHERE enumtypid = $1 \
                 ORDER BY enumsortorder",
                &[&oid],
            )
            .await
            .map_err(ctx(format!("reading enum labels for table {table}")))?;
        raw.values = rows.iter().map(|r| r.get(0)).collect();
    } else if ty.category == b'A' as i8 && ty.elem != 0 {
        raw.name = "array".into();
        let display = client
            .query_one(
                "SELECT pg_catalog.format_type($1, $2)",
                &[&ty.elem, &typmod],
            )
            .await
            .map_err(ctx(format!(
                "describing an array element type of table {table}"
            )))?
            .get::<_, String>(0);
        let (element, _) = Box::pin(resolve(client, ty.elem, typmod, display, table)).await?;
        raw.element = Some(Box::new(element));
    } else {
        raw.name = ty.name;
        apply_typmod(&mut raw, typmod);
    }
    Ok((raw, not_null))
}

/// Fills length/precision/scale/fsp from a typmod, per base type.
pub(crate) fn apply_typmod(raw: &mut RawType, typmod: i32) {
    let m = (typmod >= 0).then_some(typmod);
    match raw.name.as_str() {
        "varchar" | "bpchar" => raw.length = m.and_then(|m| u32::try_from(m - 4).ok()),
        "bit" | "varbit" => raw.length = m.and_then(|m| u32::try_from(m).ok()),
        // The internal one-byte "char" (not bpchar): always exactly one.
        "char" => raw.length = Some(1),
        "numeric" => {
            if let Some(m) = m {
                let v = m - 4;
                raw.precision = u32::try_from((v >> 16) & 0xffff).ok();
                // PostgreSQL 15 allows a negative scale (stored as 11-bit signed).
                let scale = ((v & 0x7ff) ^ 1024) - 1024;
                raw.scale = u32::try_from(scale).ok();
            }
        }
        "time" | "timetz" | "timestamp" | "timestamptz" => {
            raw.fsp = Some(m.and_then(|m| u8::try_from(m).ok()).unwrap_or(6));
        }
        "interval" => {
            let p = m.map(|m| m & 0xffff).filter(|&p| p != 0xffff);
            raw.fsp = Some(p.and_then(|p| u8::try_from(p).ok()).unwrap_or(6));
        }
        "geometry" | "geography" => {
            raw.spatial = Some(postgis_typmod(typmod, raw.name == "geography"));
        }
        // PostgreSQL's own point: 2D, no SRID.
        "point" => {
            raw.spatial = Some(RawSpatial {
                kind: GeometryKind::Point,
                ..RawSpatial::default()
            })
        }
        _ => {}
    }
}

/// A PostGIS typmod: subtype in bits 2–7, Z and M in bits 1 and 0, the
/// SRID (signed, 21 bits) from bit 8. SRID 0 constrains nothing.
pub(crate) fn postgis_typmod(typmod: i32, geography: bool) -> RawSpatial {
    if typmod < 0 {
        return RawSpatial {
            geography,
            ..RawSpatial::default()
        };
    }
    let srid = ((typmod & 0x0fff_ff00) - (typmod & 0x1000_0000)) >> 8;
    let code = u32::try_from((typmod & 0xfc) >> 2).unwrap_or(0);
    RawSpatial {
        kind: GeometryKind::from_wkb_code(code).unwrap_or_default(),
        srid: u32::try_from(srid).ok().filter(|&s| s != 0),
        geography,
        z: typmod & 2 != 0,
        m: typmod & 1 != 0,
    }
}

pub(crate) async fn describe(
    client: &Client,
    table: &TableRef,
    database: &str,
) -> Result<RawTable> {
    let schema = schema_of(table);
    let found = client
        .query_opt(
            "SELECT c.oid, c.reltuples::float8, c.relkind FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            &[&schema, &table.name],
        )
        .await
        .map_err(ctx(format!("looking up table {table}")))?;
    let Some(found) = found else {
        return Err(Error::MissingTable {
            table: table.to_string(),
            database: database.to_string(),
        });
    };
    let rel: Oid = found.get(0);
    let reltuples: f64 = found.get(1);
    let partitioned = found.get::<_, i8>(2) == b'p' as i8;
    let rows = client
        .query(
            "SELECT a.attname::text, a.atttypid, a.atttypmod, a.attnotnull, \
             pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnum::int4 \
             FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&rel],
        )
        .await
        .map_err(ctx(format!("reading the columns of table {table}")))?;
    let mut columns = Vec::with_capacity(rows.len());
    let mut attnums = Vec::with_capacity(rows.len());
    for r in &rows {
        let name: String = r.get(0);
        let oid: Oid = r.get(1);
        let typmod: i32 = r.get(2);
        let attnotnull: bool = r.get(3);
        let display: String = r.get(4);
        attnums.push(r.get::<_, i32>(5));
        let (ty, domain_not_null) = resolve(client, oid, typmod, display, table).await?;
        columns.push(RawColumn {
            name,
            ty,
            nullable: !(attnotnull || domain_not_null),
        });
    }
    let pk_rows = client
        .query(
            "SELECT k.attnum::int4 FROM pg_catalog.pg_index i, \
             unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
             WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
            &[&rel],
        )
        .await
        .map_err(ctx(format!("reading the primary key of table {table}")))?;
    let primary_key = pk_rows
        .iter()
        .filter_map(|r| {
            let n: i32 = r.get(0);
            attnums.iter().position(|&a| a == n)
        })
        .collect();
    let estimated_rows = (reltuples >= 0.0).then(|| {
        // reltuples is an estimate already; rounding is intended.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = reltuples.round() as u64;
        n
    });
    let named: Vec<(i32, String)> = attnums
        .iter()
        .zip(&columns)
        .map(|(&a, c)| (a, c.name.clone()))
        .collect();
    let schema = crate::schema::read(client, rel, table, &named).await?;
    let (own_rows_only, notes, children) = descendants(client, rel, partitioned, table).await?;
    Ok(RawTable {
        table: table.clone(),
        columns,
        primary_key,
        estimated_rows,
        schema,
        own_rows_only,
        notes,
        inherited_by: if own_rows_only { children } else { Vec::new() },
    })
}

/// How the tables deriving from `rel` are copied: whether reads of `rel`
/// take only its own rows, and the plan note saying so.
///
/// The rule: an inheritance child is a table of its own (listed, copied
/// with its own columns), so its parent is read `FROM ONLY` and each row is
/// copied once, with the table it was inserted into. A partition is not a
/// table of its own (never listed): its rows are copied as the partitioned
/// table's, which is read without `ONLY` (it holds no rows itself).
async fn descendants(
    client: &Client,
    rel: Oid,
    partitioned: bool,
    table: &TableRef,
) -> Result<(bool, Vec<String>, Vec<TableRef>)> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_inherits i \
             JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE i.inhparent = $1 ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"",
            &[&rel],
        )
        .await
        .map_err(ctx(format!(
            "reading the tables inheriting from table {table}"
        )))?;
    if rows.is_empty() {
        return Ok((false, Vec::new(), Vec::new()));
    }
    let own = schema_of(table);
    let children: Vec<TableRef> = rows
        .iter()
        .map(|r| TableRef {
            schema: Some(r.get::<_, &str>(0).to_string()),
            name: r.get::<_, &str>(1).to_string(),
        })
        .collect();
    let names: Vec<String> = rows
        .iter()
        .map(|r| {
            let (schema, name): (&str, &str) = (r.get(0), r.get(1));
            if schema == own {
                name.to_string()
            } else {
                format!("{schema}.{name}")
            }
        })
        .collect();
    let names = names.join(", ");
    Ok(if partitioned {
        let note = format!("partitioned: partitions {names} copied as rows of this one table");
        (false, vec![note], children)
    } else {
        let note =
            format!("inherits: parent of {names}: copied with ONLY, children as their own tables");
        (true, vec![note], children)
    })
}

#[cfg(test)]
mod typmod_tests {
    use super::*;

    /// Typmods PostGIS 3.3 gave for these declarations.
    #[test]
    fn postgis_typmods() {
        let t = postgis_typmod(1_107_460, false); // geometry(Point,4326)
        assert_eq!(
            (t.kind, t.srid, t.z, t.m),
            (GeometryKind::Point, Some(4326), false, false)
        );
        let t = postgis_typmod(987_402, false); // geometry(LineStringZ,3857)
        assert_eq!(
            (t.kind, t.srid, t.z, t.m),
            (GeometryKind::LineString, Some(3857), true, false)
        );
        let t = postgis_typmod(5, false); // geometry(PointM)
        assert_eq!(
            (t.kind, t.srid, t.z, t.m),
            (GeometryKind::Point, None, false, true)
        );
        let t = postgis_typmod(1_107_480, true); // geography(MultiPolygon,4326)
        assert_eq!(
            (t.kind, t.srid, t.geography),
            (GeometryKind::MultiPolygon, Some(4326), true)
        );
        assert_eq!(postgis_typmod(-1, false), RawSpatial::default());
        assert_eq!(postgis_typmod(0, false), RawSpatial::default());
    }
}
