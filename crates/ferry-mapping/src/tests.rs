use super::*;
use ferry_core::{GeometryKind, RawColumn, RawType, TimeStorage};

/// The dialect of an engine (the engine crate's `dialect_of`, which this
/// crate sits below).
fn dialect(e: Engine) -> &'static dyn Dialect {
    match e {
        Engine::Postgres => &ferry_pg::PgDialect,
        Engine::MySql => &ferry_mysql::MySqlDialect,
        Engine::Sqlite => &ferry_sqlite::SqliteDialect,
        Engine::Mssql => &ferry_mssql::MssqlDialect,
    }
}

fn raw(name: &str, display: &str) -> RawType {
    RawType {
        name: name.into(),
        display: display.into(),
        ..Default::default()
    }
}

fn table(cols: Vec<(&str, RawType)>) -> RawTable {
    RawTable {
        table: TableRef::new(Some("public"), "t"),
        columns: cols
            .into_iter()
            .map(|(n, ty)| RawColumn {
                name: n.into(),
                ty,
                nullable: true,
            })
            .collect(),
        primary_key: vec![0],
        estimated_rows: None,
        schema: Default::default(),
        ..RawTable::default()
    }
}

fn plan(m: &Mappings, s: Engine, t: Engine, cols: Vec<(&str, RawType)>) -> TablePlan {
    m.plan_table(&table(cols), s, dialect(t), TableRef::new(None, "t"))
        .unwrap()
}

#[test]
fn builtin_rules_parse_and_validate() {
    Mappings::builtin().unwrap();
}

#[test]
fn numeric_picks_the_first_matching_write_rule() {
    let m = Mappings::builtin().unwrap();
    let mut n = raw("numeric", "numeric(12,2)");
    n.precision = Some(12);
    n.scale = Some(2);
    let huge = RawType {
        precision: Some(80),
        scale: Some(10),
        ..raw("numeric", "numeric(80,10)")
    };
    let p = plan(
        &m,
        Engine::Postgres,
        Engine::MySql,
        vec![("a", n), ("b", raw("numeric", "numeric")), ("c", huge)],
    );
    assert_eq!(p.columns[0].target_type, "decimal(12,2)");
    assert_eq!(p.columns[1].target_type, "decimal(65,30)");
    assert_eq!(p.columns[2].target_type, "decimal(65,30)");
}

#[test]
fn tinyint1_is_bool_unless_overridden() {
    let m = Mappings::builtin().unwrap();
    let t1 = RawType {
        display_width: Some(1),
        ..raw("tinyint", "tinyint(1)")
    };
    let p = plan(&m, Engine::MySql, Engine::Postgres, vec![("a", t1.clone())]);
    assert_eq!(p.columns[0].logical, LogicalType::Bool);
    assert_eq!(p.columns[0].target_type, "boolean");
    let m = m
        .with_overrides(
            "test.toml",
            "[[type]]\nsource_type = \"tinyint(1)\"\nlogical = \"int8\"\n",
        )
        .unwrap();
    let p = plan(&m, Engine::MySql, Engine::Postgres, vec![("a", t1)]);
    assert_eq!(p.columns[0].logical, LogicalType::Int8);
    assert_eq!(p.columns[0].target_type, "smallint");
}

#[test]
fn column_override_wins_over_type_override() {
    let m = Mappings::builtin()
        .unwrap()
        .with_overrides(
            "o.toml",
            r#"
[[type]]
source_type = "date"
conversion = "zero_date_to_null"
[[column]]
table = "t"
column = "b"
target_type = "text"
conversion = "exact"
"#,
        )
        .unwrap();
    let p = plan(
        &m,
        Engine::MySql,
        Engine::Postgres,
        vec![("a", raw("date", "date")), ("b", raw("date", "date"))],
    );
    assert_eq!(p.columns[0].conversion, Conversion::ZeroDateToNull);
    assert_eq!(p.columns[1].conversion, Conversion::Exact);
    assert_eq!(p.columns[1].target_type, "text");
}

#[test]
fn enum_and_array_render_with_engine_quoting() {
    let m = Mappings::builtin().unwrap();
    let e = RawType {
        values: vec!["a'b".into(), "c\\d".into(), "".into()],
        ..raw("enum", "enum('a''b','c\\\\d','')")
    };
    let p = plan(&m, Engine::MySql, Engine::MySql, vec![("e", e.clone())]);
    assert_eq!(p.columns[0].target_type, r"enum('a''b','c\\d','')");
    let p = plan(&m, Engine::MySql, Engine::Postgres, vec![("e", e)]);
    assert_eq!(p.columns[0].target_type, "\"t_e\"");
    let arr = RawType {
        element: Some(Box::new(raw("int4", "integer"))),
        ..raw("array", "integer[]")
    };
    let p = plan(
        &m,
        Engine::Postgres,
        Engine::Postgres,
        vec![("a", arr.clone())],
    );
    assert_eq!(p.columns[0].target_type, "integer[]");
    let p = plan(&m, Engine::Postgres, Engine::MySql, vec![("a", arr)]);
    assert_eq!(p.columns[0].target_type, "json");
}

#[test]
fn unknown_types_name_the_column() {
    let m = Mappings::builtin().unwrap();
    let err = m
        .plan_table(
            &table(vec![("h", raw("pg_lsn", "pg_lsn"))]),
            Engine::Postgres,
            dialect(Engine::MySql),
            TableRef::new(None, "t"),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("column h") && err.contains("pg_lsn"), "{err}");
}

fn spatial(name: &str, display: &str, kind: GeometryKind, srid: Option<u32>) -> RawType {
    RawType {
        spatial: Some(ferry_core::RawSpatial {
            kind,
            srid,
            geography: name == "geography",
            ..Default::default()
        }),
        ..raw(name, display)
    }
}

/// Issue 19: a POINT column refused the whole run; now every spatial type
/// has a rule, PostGIS when the target has it and bytea (with a warning)
/// when it does not.
#[test]
fn spatial_columns_follow_the_target_features() {
    let cols = || {
        vec![
            (
                "p",
                spatial("point", "point", GeometryKind::Point, Some(4326)),
            ),
            (
                "g",
                spatial("geometry", "geometry", GeometryKind::Geometry, None),
            ),
            (
                "c",
                spatial(
                    "geometrycollection",
                    "geometrycollection",
                    GeometryKind::GeometryCollection,
                    Some(0),
                ),
            ),
        ]
    };
    let m = Mappings::builtin().unwrap();
    let bare = plan(&m, Engine::MySql, Engine::Postgres, cols());
    assert!(bare.columns.iter().all(|c| c.target_type == "bytea"));
    assert_eq!(bare.schema.warnings.len(), 3, "{:?}", bare.schema.warnings);
    assert!(bare.schema.warnings[0].starts_with("column p: PostGIS is not installed"));
    let m = m.with_target_features(vec!["postgis".into()]);
    let gis = plan(&m, Engine::MySql, Engine::Postgres, cols());
    let types: Vec<&str> = gis.columns.iter().map(|c| c.target_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "geometry(point,4326)",
            "geometry(geometry)",
            "geometry(geometrycollection,0)"
        ]
    );
    assert!(gis.schema.warnings.is_empty());
    let pg = vec![
        (
            "a",
            spatial(
                "geography",
                "geography(Point,4326)",
                GeometryKind::Point,
                Some(4326),
            ),
        ),
        ("b", spatial("point", "point", GeometryKind::Point, None)),
    ];
    let my = plan(&m, Engine::Postgres, Engine::MySql, pg.clone());
    assert_eq!(my.columns[0].target_type, "point SRID 4326");
    assert_eq!(my.columns[1].target_type, "point");
    let same = plan(&m, Engine::Postgres, Engine::Postgres, pg);
    assert_eq!(same.columns[0].target_type, "geography(Point,4326)");
}

/// An OID names nothing in another database: reg* columns become text
/// even between two PostgreSQL databases, with a warning saying so.
#[test]
fn reg_types_become_text_between_postgresql_databases() {
    let m = Mappings::builtin().unwrap();
    let p = plan(
        &m,
        Engine::Postgres,
        Engine::Postgres,
        vec![("r", raw("regclass", "regclass")), ("o", raw("oid", "oid"))],
    );
    assert_eq!(p.columns[0].target_type, "text");
    assert_eq!(p.columns[1].target_type, "oid");
    assert_eq!(p.schema.warnings.len(), 1);
    assert!(
        p.schema.warnings[0].starts_with("column r: regclass becomes text: "),
        "{:?}",
        p.schema.warnings
    );
}

#[test]
fn bad_override_files_say_where() {
    let m = Mappings::builtin().unwrap();
    let e = m
        .clone()
        .with_overrides(
            "my.toml",
            "[[type]]\nsource_type = \"x\"\nlogcal = \"int8\"\n",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("my.toml") && e.contains("line 3"), "{e}");
    let e = m
        .clone()
        .with_overrides(
            "my.toml",
            "[[type]]\nsource_type = \"x\"\nconversion = \"round\"\n",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("round"), "{e}");
    let e = m
        .with_overrides(
            "my.toml",
            "[[type]]\nsource_type = \"x\"\nlogical = \"int128\"\n",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("int128"), "{e}");
}

#[test]
fn every_read_rule_reaches_every_target() {
    let m = Mappings::builtin().unwrap();
    for &s in Engine::ALL {
        for &t in Engine::ALL {
            for row in m.matrix(s, t) {
                assert!(!row.target_type.is_empty(), "{s}->{t}: {row:?}");
            }
        }
    }
}

#[test]
fn same_engine_keeps_the_declaration_but_not_domains() {
    let m = Mappings::builtin().unwrap();
    let mi = RawType {
        unsigned: true,
        ..raw("mediumint", "mediumint(8) unsigned")
    };
    let p = plan(&m, Engine::MySql, Engine::MySql, vec![("a", mi.clone())]);
    assert_eq!(p.columns[0].target_type, "mediumint(8) unsigned");
    let p = plan(&m, Engine::MySql, Engine::Postgres, vec![("a", mi)]);
    assert_eq!(p.columns[0].target_type, "bigint");
    let domain = RawType {
        user_type: Some("posint".into()),
        ..raw("int4", "posint")
    };
    let p = plan(&m, Engine::Postgres, Engine::Postgres, vec![("a", domain)]);
    assert_eq!(p.columns[0].target_type, "integer");
}

#[test]
fn text_key_columns_fit_innodb_key_limit() {
    let m = Mappings::builtin().unwrap();
    let mut t = table(vec![
        ("k", raw("text", "text")),
        ("b", raw("bytea", "bytea")),
    ]);
    t.primary_key = vec![0, 1];
    let p = m
        .plan_table(
            &t,
            Engine::Postgres,
            dialect(Engine::MySql),
            TableRef::new(None, "t"),
        )
        .unwrap();
    assert_eq!(p.columns[0].target_type, "varchar(384)");
    assert_eq!(p.columns[1].target_type, "varbinary(1536)");
}

/// Issue 19: the override the "no read rule" error suggests must work for a
/// type that has no read rule, and mark the column as read through its text
/// form. Without a logical kind the type is still refused.
#[test]
fn override_gives_a_type_without_a_read_rule_its_text_form() {
    let lsn = || raw("pg_lsn", "pg_lsn");
    let m = Mappings::builtin().unwrap();
    let no_rule = m
        .plan_table(
            &table(vec![("id", raw("int4", "integer")), ("l", lsn())]),
            Engine::Postgres,
            dialect(Engine::MySql),
            TableRef::new(None, "t"),
        )
        .unwrap_err()
        .to_string();
    assert!(no_rule.contains("no postgres read rule"), "{no_rule}");

    let by_type = Mappings::builtin()
        .unwrap()
        .with_overrides(
            "m.toml",
            "[[type]]\nsource_type = \"pg_lsn\"\nlogical = \"text\"\n",
        )
        .unwrap();
    let p = plan(
        &by_type,
        Engine::Postgres,
        Engine::MySql,
        vec![("l", lsn())],
    );
    assert_eq!(p.columns[0].logical, LogicalType::Text { max_bytes: None });
    // The only column is the key: longtext fitted to InnoDB's key limit.
    assert_eq!(p.columns[0].target_type, "varchar(768)");
    assert!(
        p.columns[0].rule.contains("text form"),
        "{}",
        p.columns[0].rule
    );

    let by_column = Mappings::builtin()
        .unwrap()
        .with_overrides(
            "m.toml",
            "[[column]]\ntable = \"t\"\ncolumn = \"l\"\nlogical = \"varchar\"\ntarget_type = \"varchar(32)\"\n",
        )
        .unwrap();
    let p = plan(
        &by_column,
        Engine::Postgres,
        Engine::MySql,
        vec![("l", lsn())],
    );
    assert_eq!(p.columns[0].target_type, "varchar(32)");

    // A conversion alone gives no kind: still refused, naming the column.
    let no_kind = Mappings::builtin()
        .unwrap()
        .with_overrides(
            "m.toml",
            "[[type]]\nsource_type = \"pg_lsn\"\nconversion = \"exact\"\n",
        )
        .unwrap();
    let err = no_kind
        .plan_table(
            &table(vec![("l", lsn())]),
            Engine::Postgres,
            dialect(Engine::MySql),
            TableRef::new(None, "t"),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("pg_lsn") && err.contains('l'), "{err}");
}

#[test]
fn sql_server_key_columns_fit_its_900_bytes() {
    let raw = RawTable {
        table: TableRef::new(Some("public"), "t"),
        columns: vec![
            RawColumn {
                name: "k".into(),
                ty: RawType {
                    name: "text".into(),
                    display: "text".into(),
                    ..RawType::default()
                },
                nullable: false,
            },
            RawColumn {
                name: "v".into(),
                ty: RawType {
                    name: "text".into(),
                    display: "text".into(),
                    ..RawType::default()
                },
                nullable: true,
            },
        ],
        primary_key: vec![0],
        ..RawTable::default()
    };
    let p = Mappings::builtin()
        .unwrap()
        .plan_table(
            &raw,
            Engine::Postgres,
            dialect(Engine::Mssql),
            TableRef::new(Some("dbo"), "t"),
        )
        .unwrap();
    assert_eq!(
        p.columns[0].target_type,
        "nvarchar(450) COLLATE Latin1_General_100_BIN2"
    );
    assert_eq!(
        p.columns[1].target_type,
        "nvarchar(max) COLLATE Latin1_General_100_BIN2"
    );
}

/// SQLite rules match the declared type's name first, then SQLite's own
/// affinity rules as patterns, in SQLite's order (`FLOATING POINT` holds
/// INT: INTEGER affinity, as SQLite says).
#[test]
fn sqlite_declared_types_fall_back_to_sqlites_affinity_rules() {
    let m = Mappings::builtin().unwrap();
    let ty = |name: &str, display: &str| RawType {
        precision: Some(10),
        scale: Some(0),
        length: Some(10),
        ..raw(name, display)
    };
    let p = plan(
        &m,
        Engine::Sqlite,
        Engine::Postgres,
        vec![
            ("a", ty("point", "POINT")),
            ("b", ty("nvarchar", "NVARCHAR(10)")),
            ("c", ty("string", "STRING")),
            ("d", ty("floating point", "FLOATING POINT")),
            ("e", ty("long blob", "LONG BLOB")),
            ("f", ty("", "")),
            ("g", ty("varchar2", "VARCHAR2(10)")),
        ],
    );
    let logical: Vec<String> = p.columns.iter().map(|c| c.logical.to_string()).collect();
    assert_eq!(
        logical,
        [
            "int64",
            "varchar(10)",
            "decimal(10,0)",
            "int64",
            "varbinary(10)",
            "text",
            "text"
        ]
    );
    assert!(
        p.columns[0].rule.contains("POINT ~ *int*"),
        "{}",
        p.columns[0].rule
    );
}

/// A date's storage form is the rule's, and an override's when given; it
/// means nothing on a column that is not a date or time.
#[test]
fn sqlite_dates_carry_their_storage_form_overridable_per_column() {
    let m = Mappings::builtin().unwrap();
    let cols = || {
        vec![
            ("d", raw("date", "DATE")),
            ("u", raw("datetime", "DATETIME")),
            ("n", raw("integer", "INTEGER")),
        ]
    };
    let p = plan(&m, Engine::Sqlite, Engine::Postgres, cols());
    assert_eq!(p.columns[0].stored_as, Some(TimeStorage::Iso8601));
    assert_eq!(p.columns[2].stored_as, None);
    let m = m
        .with_overrides(
            "m.toml",
            "[[column]]\ntable = \"t\"\ncolumn = \"u\"\nstored_as = \"unix_epoch\"\n\
             [[column]]\ntable = \"t\"\ncolumn = \"n\"\nstored_as = \"julian_day\"\n",
        )
        .unwrap();
    let p = plan(&m, Engine::Sqlite, Engine::Postgres, cols());
    assert_eq!(p.columns[1].stored_as, Some(TimeStorage::UnixEpoch));
    assert_eq!(p.columns[2].stored_as, None, "an integer is not a date");
    let bad = Mappings::builtin()
        .unwrap()
        .with_overrides(
            "m.toml",
            "[[type]]\nsource_type = \"date\"\nstored_as = \"roman\"\n",
        )
        .unwrap_err()
        .to_string();
    assert!(bad.contains("roman") && bad.contains("m.toml"), "{bad}");
}

/// Key fitting is the target dialect's: InnoDB's limit for MySQL, none for
/// SQLite or PostgreSQL (whose TEXT keys stay TEXT).
#[test]
fn key_fitting_follows_the_target_dialect() {
    let m = Mappings::builtin().unwrap();
    let mut t = table(vec![("k", raw("text", "text"))]);
    t.primary_key = vec![0];
    for (target, want) in [
        (Engine::MySql, "varchar(768)"),
        (Engine::Sqlite, "TEXT"),
        (Engine::Postgres, "text"),
    ] {
        let p = m
            .plan_table(
                &t,
                Engine::Postgres,
                dialect(target),
                TableRef::new(None, "t"),
            )
            .unwrap();
        assert_eq!(p.columns[0].target_type, want, "{target}");
    }
}
