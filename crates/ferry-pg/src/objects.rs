//! The schema objects of a PostgreSQL schema that ferry does not copy:
//! views, materialized views, foreign tables, routines and sequences no
//! column owns. Listed by `ferry plan`, counted by `ferry copy`.

use ferry_core::schema::OtherObject;
use ferry_core::Result;

use crate::error::ctx;
use crate::PgAdapter;

impl PgAdapter {
    /// Every object of `schema` (default `public`) that is not a base or
    /// partitioned table and that no table owns, sorted by kind and name.
    /// Objects that belong to an extension are the extension's, not the
    /// application's, and are left out; so is ferry's own trigger function.
    pub async fn other_objects(&self, schema: Option<&str>) -> Result<Vec<OtherObject>> {
        let schema = schema.unwrap_or("public");
        let client = self.connect().await?;
        let rows = client
            .query(
                "SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' \
                        WHEN 'f' THEN 'foreign table' ELSE 'sequence' END, \
                        quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND (c.relkind IN ('v', 'm', 'f') \
                   OR (c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid \
                          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))) \
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e \
                        WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e') \
                 UNION ALL \
                 SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' \
                        WHEN 'w' THEN 'window function' ELSE 'function' END, \
                        quote_ident(n.nspname) || '.' || quote_ident(p.proname) \
                          || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' \
                 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                 WHERE n.nspname = $1 AND p.proname <> 'ferry_on_update_timestamp' \
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e \
                        WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e') \
                 ORDER BY 1, 2",
                &[&schema],
            )
            .await
            .map_err(ctx(format!("listing the other objects of schema {schema}")))?;
        Ok(rows
            .iter()
            .map(|r| OtherObject {
                kind: r.get::<_, String>(0),
                name: r.get::<_, String>(1),
            })
            .collect())
    }
}
