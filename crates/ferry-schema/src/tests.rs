//! Translation of whole tables, without a server.
use ferry_core::schema::{
    CheckDef, ColumnSchema, ForeignKeyDef, GeneratedDef, IndexDef, IndexPart, TableSchema,
};
use ferry_core::{RawColumn, RawType};
use ferry_mapping::Mappings;

use crate::{translate, RawTable, TablePlan, TableRef};
use ferry_core::Dialect;
use ferry_mysql::MySqlDialect;
use ferry_pg::PgDialect;

fn col(name: &str, ty: &str, display: &str) -> RawColumn {
    RawColumn {
        name: name.into(),
        ty: RawType {
            name: ty.into(),
            display: display.into(),
            ..RawType::default()
        },
        nullable: name != "id",
    }
}

fn plan_pg_to_mysql(raws: &[RawTable]) -> Vec<TablePlan> {
    let m = Mappings::builtin().unwrap();
    let mut plans: Vec<TablePlan> = raws
        .iter()
        .map(|r| {
            m.plan_table(
                r,
                PgDialect.engine(),
                &MySqlDialect,
                TableRef::new(None, &r.table.name),
            )
            .unwrap()
        })
        .collect();
    translate(raws, &mut plans, &PgDialect, &MySqlDialect);
    plans
}

#[test]
fn pg_table_to_mysql_statements() {
    let parent = RawTable {
        table: TableRef::new(Some("public"), "parent"),
        columns: vec![col("id", "int4", "integer")],
        primary_key: vec![0],
        ..RawTable::default()
    };
    let child = RawTable {
        table: TableRef::new(Some("public"), "child"),
        columns: vec![
            col("id", "int4", "integer"),
            col("parent_id", "int4", "integer"),
            col("code", "text", "text"),
            col("twice", "int4", "integer"),
            col("note", "text", "text"),
        ],
        primary_key: vec![0],
        schema: TableSchema {
            comment: Some("kids".into()),
            columns: vec![
                ColumnSchema {
                    name: "id".into(),
                    auto_increment: true,
                    next_value: Some(42),
                    ..ColumnSchema::default()
                },
                ColumnSchema {
                    name: "parent_id".into(),
                    default: Some("0".into()),
                    ..ColumnSchema::default()
                },
                ColumnSchema {
                    name: "twice".into(),
                    generated: Some(GeneratedDef {
                        expr: "parent_id * 2".into(),
                        stored: true,
                    }),
                    ..ColumnSchema::default()
                },
            ],
            indexes: vec![
                IndexDef {
                    name: "child_code_key".into(),
                    unique: true,
                    constraint: true,
                    parts: vec![IndexPart {
                        column: Some("code".into()),
                        ..IndexPart::default()
                    }],
                    method: "btree".into(),
                    predicate: None,
                },
                IndexDef {
                    name: "child_note_idx".into(),
                    parts: vec![IndexPart {
                        column: Some("note".into()),
                        ..IndexPart::default()
                    }],
                    method: "btree".into(),
                    ..IndexDef::default()
                },
            ],
            foreign_keys: vec![ForeignKeyDef {
                name: "child_parent_fk".into(),
                columns: vec!["parent_id".into()],
                ref_table: TableRef::new(Some("public"), "parent"),
                ref_columns: vec!["id".into()],
                on_delete: "CASCADE".into(),
                on_update: "NO ACTION".into(),
                extra: Some("DEFERRABLE".into()),
            }],
            checks: vec![CheckDef {
                name: "child_code_check".into(),
                expr: "code ~ '^a'".into(),
            }],
            ..TableSchema::default()
        },
        ..RawTable::default()
    };
    let plans = plan_pg_to_mysql(&[parent, child]);
    let p = &plans[1];
    // The generated column is not copied, and is created in its place.
    assert_eq!(
        p.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["id", "parent_id", "code", "note"]
    );
    assert_eq!(p.schema.generated[0].position, 3);
    assert_eq!(
        p.schema.generated[0].definition,
        "`twice` int GENERATED ALWAYS AS (`parent_id` * 2) STORED"
    );
    let body = p.create_table_body(|s| MySqlDialect.quote_ident(s));
    assert_eq!(body[0], "`id` int NOT NULL AUTO_INCREMENT");
    assert_eq!(body[1], "`parent_id` int DEFAULT 0");
    assert_eq!(
        body[3],
        "`twice` int GENERATED ALWAYS AS (`parent_id` * 2) STORED"
    );
    // A unique TEXT key becomes VARCHAR within InnoDB's budget; a plain index takes a prefix.
    assert_eq!(p.columns[2].target_type, "varchar(768)");
    assert_eq!(
        p.schema.post_data,
        vec![
            "CREATE UNIQUE INDEX `child_code_key` ON `child` (`code`)",
            "CREATE INDEX `child_note_idx` ON `child` (`note`(768))",
        ]
    );
    assert_eq!(
        p.schema.foreign_keys,
        vec!["ALTER TABLE `child` ADD CONSTRAINT `child_parent_fk` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`) ON DELETE CASCADE"]
    );
    assert_eq!(
        p.schema.sequences,
        vec!["ALTER TABLE `child` AUTO_INCREMENT = 42"]
    );
    assert_eq!(p.schema.table_options, " COMMENT='kids'");
    let warnings = p.schema.warnings.join("\n");
    assert!(
        warnings.contains("check constraint child_code_check"),
        "{warnings}"
    );
    assert!(
        warnings.contains("child_parent_fk: DEFERRABLE"),
        "{warnings}"
    );
    assert!(p.schema.errors.is_empty());
}

#[test]
fn foreign_keys_to_tables_not_copied_are_warnings() {
    let t = RawTable {
        table: TableRef::new(Some("public"), "t"),
        columns: vec![col("id", "int4", "integer")],
        primary_key: vec![0],
        schema: TableSchema {
            foreign_keys: vec![ForeignKeyDef {
                name: "t_fk".into(),
                columns: vec!["id".into()],
                ref_table: TableRef::new(Some("public"), "elsewhere"),
                ref_columns: vec!["id".into()],
                on_delete: "NO ACTION".into(),
                on_update: "NO ACTION".into(),
                extra: None,
            }],
            ..TableSchema::default()
        },
        ..RawTable::default()
    };
    let plans = plan_pg_to_mysql(&[t]);
    assert!(plans[0].schema.foreign_keys.is_empty());
    assert!(plans[0].schema.warnings[0].contains("t_fk references public.elsewhere"));
}

/// PostgreSQL → SQL Server through the neutral description: identity,
/// defaults, a computed column in T-SQL's spelling, CHECKs, comments as
/// extended properties, and indexes SQL Server cannot build (a non-unique
/// index on an `nvarchar(max)`: no prefix or expression indexes) named in
/// a warning, a unique one narrowed into the 900-byte key.
#[test]
fn pg_table_to_sql_server_statements() {
    use ferry_mssql::MssqlDialect;
    let t = RawTable {
        table: TableRef::new(Some("public"), "t"),
        columns: vec![
            col("id", "int4", "integer"),
            col("qty", "int4", "integer"),
            col("total", "int4", "integer"),
            col("at", "timestamp", "timestamp without time zone"),
            col("body", "text", "text"),
            col("email", "text", "text"),
        ],
        primary_key: vec![0],
        schema: TableSchema {
            comment: Some("it's a table".into()),
            columns: vec![
                ColumnSchema {
                    name: "id".into(),
                    auto_increment: true,
                    next_value: Some(7),
                    ..ColumnSchema::default()
                },
                ColumnSchema {
                    name: "qty".into(),
                    default: Some("1".into()),
                    ..ColumnSchema::default()
                },
                ColumnSchema {
                    name: "total".into(),
                    generated: Some(GeneratedDef {
                        expr: "(qty * 2)".into(),
                        stored: true,
                    }),
                    ..ColumnSchema::default()
                },
                ColumnSchema {
                    name: "at".into(),
                    default: Some("now()".into()),
                    comment: Some("when".into()),
                    ..ColumnSchema::default()
                },
                ColumnSchema {
                    name: "body".into(),
                    ..ColumnSchema::default()
                },
                ColumnSchema {
                    name: "email".into(),
                    ..ColumnSchema::default()
                },
            ],
            indexes: vec![
                IndexDef {
                    name: "t_body_idx".into(),
                    parts: vec![IndexPart {
                        column: Some("body".into()),
                        ..IndexPart::default()
                    }],
                    method: "btree".into(),
                    ..IndexDef::default()
                },
                IndexDef {
                    name: "t_email_key".into(),
                    unique: true,
                    constraint: true,
                    parts: vec![IndexPart {
                        column: Some("email".into()),
                        ..IndexPart::default()
                    }],
                    method: "btree".into(),
                    ..IndexDef::default()
                },
            ],
            checks: vec![CheckDef {
                name: "t_qty_check".into(),
                expr: "(qty > 0)".into(),
            }],
            ..TableSchema::default()
        },
        ..RawTable::default()
    };
    let m = Mappings::builtin().unwrap();
    let mut plans = vec![m
        .plan_table(
            &t,
            PgDialect.engine(),
            &MssqlDialect,
            TableRef::new(Some("dbo"), "t"),
        )
        .unwrap()];
    translate(&[t], &mut plans, &PgDialect, &MssqlDialect);
    let p = &plans[0];
    let sp = &p.schema;
    let all = [
        sp.column_suffix.join("|"),
        sp.generated
            .iter()
            .map(|g| g.definition.clone())
            .collect::<Vec<_>>()
            .join("|"),
        sp.after_create.join("|"),
        sp.post_data.join("|"),
        sp.sequences.join("|"),
        sp.warnings.join("|"),
    ];
    let [suffix, generated, after, post, seq, warnings] = &all;
    assert!(suffix.contains(" IDENTITY(1,1)"), "{suffix}");
    assert!(suffix.contains(" DEFAULT 1"), "{suffix}");
    assert!(suffix.contains("DEFAULT sysdatetime()"), "{suffix}");
    assert_eq!(generated, "[total] AS (([qty] * 2)) PERSISTED");
    assert!(
        after.contains("sp_addextendedproperty") && after.contains("N'it''s a table'"),
        "{after}"
    );
    assert!(after.contains("@level2name = N'at'"), "{after}");
    assert!(post.contains("CHECK (([qty] > 0))"), "{post}");
    assert!(
        post.contains("ADD CONSTRAINT [t_email_key] UNIQUE ([email])"),
        "{post}"
    );
    assert!(!post.contains("t_body_idx"), "{post}");
    assert!(
        warnings.contains("t_body_idx") && warnings.contains("no prefix or expression indexes"),
        "{warnings}"
    );
    assert!(
        seq.contains("DBCC CHECKIDENT") && seq.contains("= 7"),
        "{seq}"
    );
    let email = p.columns.iter().find(|c| c.name == "email").unwrap();
    assert!(
        email.target_type.starts_with("nvarchar(450)"),
        "{}",
        email.target_type
    );
}
