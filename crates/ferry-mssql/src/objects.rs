//! The schema objects of a SQL Server schema that ferry does not copy:
//! views, procedures, functions, sequences, synonyms and user-defined table
//! types (triggers are named per table by the catalog). Listed by `ferry
//! plan`, counted by `ferry copy`.

use ferry_core::schema::OtherObject;
use ferry_core::Result;

use crate::catalog::{rows, text};
use crate::error::ctx;
use crate::{close, MssqlAdapter};

impl MssqlAdapter {
    /// Every view, routine, sequence and synonym of `schema` (default
    /// `dbo`), sorted by kind and name.
    pub async fn other_objects(&self, schema: Option<&str>) -> Result<Vec<OtherObject>> {
        let s = schema.unwrap_or(crate::DEFAULT_SCHEMA).to_string();
        let mut client = self.connect().await?;
        let out = rows(
            &mut client,
            "SELECT CASE o.type WHEN 'V' THEN 'view' WHEN 'P' THEN 'procedure' \
                    WHEN 'SO' THEN 'sequence' WHEN 'SN' THEN 'synonym' \
                    WHEN 'TF' THEN 'function' WHEN 'IF' THEN 'function' WHEN 'FN' THEN 'function' \
                    WHEN 'AF' THEN 'aggregate' ELSE 'function' END, \
                    QUOTENAME(SCHEMA_NAME(o.schema_id)) + N'.' + QUOTENAME(o.name) \
             FROM sys.objects o WHERE SCHEMA_NAME(o.schema_id) = @P1 AND o.is_ms_shipped = 0 \
               AND o.type IN ('V', 'P', 'SO', 'SN', 'TF', 'IF', 'FN', 'AF', 'FS', 'FT', 'PC')",
            &[&s.as_str()],
        )
        .await
        .map_err(ctx(format!("listing the other objects of schema {s}")));
        close(client).await;
        let mut objects: Vec<OtherObject> = out?
            .iter()
            .filter_map(|r| {
                Some(OtherObject {
                    kind: text(&r[0])?,
                    name: text(&r[1])?,
                })
            })
            .collect();
        // Byte-wise, not by the server's collation.
        objects.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
        Ok(objects)
    }
}
