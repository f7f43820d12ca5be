//! The schema objects of a MySQL/MariaDB database that ferry does not copy:
//! views, stored functions and procedures, and events (triggers are named
//! per table by the catalog). Listed by `ferry plan`, counted by `ferry copy`.

use mysql_async::prelude::Queryable;
use mysql_async::Row;

use ferry_core::schema::OtherObject;
use ferry_core::Result;

use crate::error::ctx;
use crate::{disconnect, MySqlAdapter};

impl MySqlAdapter {
    /// Every view, routine and event of `schema` (default: the URL's
    /// database), sorted by kind and name.
    pub async fn other_objects(&self, schema: Option<&str>) -> Result<Vec<OtherObject>> {
        let db = schema.unwrap_or(&self.url().database).to_string();
        let mut conn = self.connect().await?;
        let rows: Vec<Row> = conn
            .exec(
                "SELECT 'view', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? \
                 UNION ALL \
                 SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES \
                   WHERE ROUTINE_SCHEMA = ? \
                 UNION ALL \
                 SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
                (db.clone(), db.clone(), db.clone()),
            )
            .await
            .map_err(ctx(format!("listing the other objects of {db}")))?;
        disconnect(conn).await;
        let mut out: Vec<OtherObject> = rows
            .into_iter()
            .filter_map(|mut r| {
                let kind: Option<String> = r.take(0);
                let name: Option<String> = r.take(1);
                Some(OtherObject {
                    kind: kind?,
                    name: name?,
                })
            })
            .collect();
        // Byte-wise, not by the server's collation.
        out.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
        Ok(out)
    }
}
