//! Issue 19, spatial types: MySQL/MariaDB geometry columns and PostGIS
//! geometry/geography (and PostgreSQL's own point) through real servers,
//! both ways and same-engine. Each copy is checked by `ferry verify` and by
//! the servers' own bytes (`HEX(ST_AsBinary(..))`, `ST_AsEWKB`, `ST_SRID`,
//! MariaDB `HEX(col)`), never by ferry's decoders.
//!
//! PostGIS must be installed (scripts/ensure-servers.sh): a missing
//! extension fails these tests, it does not skip them.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{copy_ok, ferry};

type Rows = Vec<Vec<Option<String>>>;

fn verify(source: &DbUrl, target: &DbUrl, extra: &[&str]) -> crate::util::Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["verify", "--source", &s, "--target", &t];
    args.extend_from_slice(extra);
    ferry(&args)
}

fn verify_ok(source: &DbUrl, target: &DbUrl, extra: &[&str]) {
    let run = verify(source, target, extra);
    assert_eq!(run.code, 0, "ferry verify failed:\n{}", run.all_output());
}

/// A fresh PostgreSQL database with PostGIS.
async fn postgis_database() -> DbUrl {
    let pg = pg_database().await;
    pg_exec(&pg, "CREATE EXTENSION postgis").await;
    pg
}

const MARIADB_SPATIAL: &str = "CREATE TABLE places ( \
    id int PRIMARY KEY, \
    p point REF_SYSTEM_ID=4326, \
    l linestring, \
    pg polygon REF_SYSTEM_ID=3857, \
    mp multipoint, \
    ml multilinestring, \
    mpg multipolygon REF_SYSTEM_ID=4326, \
    gc geometrycollection, \
    g geometry); \
  INSERT INTO places VALUES \
  (1, ST_GeomFromText('POINT(-71.0603 42.3583)', 4326), \
      ST_GeomFromText('LINESTRING(0 0, 1.5 1, 2 -3.25)'), \
      ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 3 2, 3 3, 2 2))', 3857), \
      ST_GeomFromText('MULTIPOINT(1 1, 2 2)'), \
      ST_GeomFromText('MULTILINESTRING((0 0, 1 1), (2 2, 3 3))'), \
      ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))', 4326), \
      ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))'), \
      ST_GeomFromText('POINT(1113194.9 5012341.7)', 3857)), \
  (2, ST_GeomFromText('POINT(0 0)', 4326), NULL, NULL, NULL, NULL, NULL, \
      ST_GeomFromText('GEOMETRYCOLLECTION EMPTY'), \
      ST_GeomFromText('GEOMETRYCOLLECTION EMPTY', 4326)), \
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      ST_GeomFromText('LINESTRING(1e300 -1e-300, 0.1 0.2)', 0)), \
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";

const SPATIAL_COLUMNS: &[&str] = &["p", "l", "pg", "mp", "ml", "mpg", "gc", "g"];

/// Per column: little-endian WKB and SRID, as MariaDB itself renders them.
async fn mariadb_wkb(url: &DbUrl, table: &str, columns: &[&str]) -> Rows {
    let exprs: Vec<String> = columns
        .iter()
        .map(|c| format!("HEX(ST_AsBinary(`{c}`)), ST_SRID(`{c}`)"))
        .collect();
    mysql_rows(
        url,
        &format!("SELECT id, {} FROM {table} ORDER BY id", exprs.join(", ")),
    )
    .await
}

/// The same, as PostGIS renders it (`cast` turns a column into geometry).
async fn postgis_wkb(url: &DbUrl, table: &str, columns: &[&str], cast: &str) -> Rows {
    let exprs: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "upper(encode(ST_AsBinary(\"{c}\"{cast}, 'NDR'), 'hex')), ST_SRID(\"{c}\"{cast})::text"
            )
        })
        .collect();
    pg_rows(
        url,
        &format!(
            "SELECT id::text, {} FROM {table} ORDER BY id",
            exprs.join(", ")
        ),
    )
    .await
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_string())).collect()
}

/// Before: "spatial types are not supported yet" refused the whole run.
#[tokio::test]
async fn mariadb_geometries_reach_postgis_with_their_srid_and_verify() {
    let (my, pg) = (mysql_database().await, postgis_database().await);
    mysql_exec(&my, MARIADB_SPATIAL).await;
    copy_ok(&my, &pg, &[]);
    assert_eq!(
        mariadb_wkb(&my, "places", SPATIAL_COLUMNS).await,
        postgis_wkb(&pg, "places", SPATIAL_COLUMNS, "").await
    );
    // MariaDB's own bytes (SRID, then WKB) against PostGIS's EWKB.
    assert_eq!(
        mysql_rows(&my, "SELECT HEX(p), HEX(g) FROM places WHERE id = 1").await,
        vec![some(&[
            "E61000000101000000B9FC87F4DBC351C012143FC6DC2D4540",
            "110F00000101000000666666E66AFC3041CDCCCC6CDD1E5341",
        ])]
    );
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT upper(encode(ST_AsEWKB(p), 'hex')), upper(encode(ST_AsEWKB(g), 'hex')) \
             FROM places WHERE id = 1"
        )
        .await,
        vec![some(&[
            "0101000020E6100000B9FC87F4DBC351C012143FC6DC2D4540",
            "0101000020110F0000666666E66AFC3041CDCCCC6CDD1E5341",
        ])]
    );
    let types = pg_rows(
        &pg,
        "SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) \
         FROM pg_attribute WHERE attrelid = 'places'::regclass AND attnum > 1",
    )
    .await;
    assert_eq!(
        types,
        vec![some(&[
            "geometry(Point,4326), geometry(LineString), geometry(Polygon,3857), \
             geometry(MultiPoint), geometry(MultiLineString), geometry(MultiPolygon,4326), \
             geometry(GeometryCollection), geometry"
        ])]
    );
    verify_ok(&my, &pg, &[]);
    // A moved vertex is a difference, named by key and column.
    pg_exec(
        &pg,
        "UPDATE places SET l = ST_SetPoint(l, 1, ST_MakePoint(1.5, 1.0000001)) WHERE id = 1",
    )
    .await;
    let run = verify(&my, &pg, &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("differs: id=1 in l\n"),
        "{}",
        run.stdout
    );
}

const POSTGIS_SPATIAL: &str = "CREATE TABLE shapes ( \
    id integer PRIMARY KEY, \
    p geometry(Point, 4326), \
    g geometry, \
    mpg geometry(MultiPolygon, 3857), \
    gc geometry(GeometryCollection), \
    geo geography(Point, 4326), \
    pt point); \
  INSERT INTO shapes VALUES \
  (1, 'SRID=4326;POINT(-71.0603 42.3583)', 'SRID=3857;LINESTRING(0 0, 1 1)', \
      'SRID=3857;MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))', \
      'GEOMETRYCOLLECTION(POINT(1 2), POLYGON((0 0, 1 0, 1 1, 0 0)))', \
      'SRID=4326;POINT(2.3522 48.8566)', '(1.5,-2.25)'), \
  (2, 'SRID=4326;POINT(0 0)', 'POINT(1 2)', NULL, 'GEOMETRYCOLLECTION EMPTY', NULL, NULL), \
  (3, NULL, 'SRID=4326;GEOMETRYCOLLECTION EMPTY', NULL, NULL, NULL, '(0,0)'), \
  (4, NULL, NULL, NULL, NULL, NULL, NULL)";

/// Before: PostGIS columns had no read rule ("no postgres read rule for
/// type `geometry`").
#[tokio::test]
async fn postgis_geometry_geography_and_point_reach_mariadb_and_verify() {
    let (pg, my) = (postgis_database().await, mysql_database().await);
    pg_exec(&pg, POSTGIS_SPATIAL).await;
    copy_ok(&pg, &my, &[]);
    let cols = ["p", "g", "mpg", "gc", "geo"];
    let mut source = postgis_wkb(&pg, "shapes", &cols, "::geometry").await;
    // PostgreSQL's point has no SRID: as a geometry it is SRID 0.
    let points = pg_rows(
        &pg,
        "SELECT upper(encode(ST_AsBinary(pt::geometry, 'NDR'), 'hex')), \
         (CASE WHEN pt IS NULL THEN NULL ELSE 0 END)::text FROM shapes ORDER BY id",
    )
    .await;
    for (row, p) in source.iter_mut().zip(points) {
        row.extend(p);
    }
    let mut all = cols.to_vec();
    all.push("pt");
    assert_eq!(source, mariadb_wkb(&my, "shapes", &all).await);
    let srids = mysql_rows(
        &my,
        "SELECT G_GEOMETRY_COLUMN, SRID FROM information_schema.GEOMETRY_COLUMNS \
         WHERE G_TABLE_SCHEMA = DATABASE() AND G_TABLE_NAME = 'shapes' ORDER BY G_GEOMETRY_COLUMN",
    )
    .await;
    assert_eq!(
        srids,
        vec![
            some(&["g", "0"]),
            some(&["gc", "0"]),
            some(&["geo", "4326"]),
            some(&["mpg", "3857"]),
            some(&["p", "4326"]),
            some(&["pt", "0"]),
        ]
    );
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'shapes' AND COLUMN_NAME <> 'id' \
             ORDER BY ORDINAL_POSITION"
        )
        .await,
        vec![
            some(&["p", "point"]),
            some(&["g", "geometry"]),
            some(&["mpg", "multipolygon"]),
            some(&["gc", "geometrycollection"]),
            some(&["geo", "point"]),
            some(&["pt", "point"]),
        ]
    );
    verify_ok(&pg, &my, &[]);
    // And back: MariaDB → PostGIS gives the same bytes again.
    let back = postgis_database().await;
    copy_ok(&my, &back, &[]);
    assert_eq!(
        postgis_wkb(&pg, "shapes", &cols, "::geometry").await,
        postgis_wkb(&back, "shapes", &cols, "::geometry").await
    );
}

/// 3D/M geometries, empty points and curves have no MySQL counterpart: the
/// pre-flight counts them and the copy stops before creating anything; with
/// --allow-unclean the writer refuses the value with one line naming table,
/// column and key.
#[tokio::test]
async fn postgis_z_m_and_empty_points_are_refused_into_mariadb_by_key() {
    for (value, why) in [
        ("'POINT Z (1 2 3)'", "Z or M"),
        ("'POINTM(1 2 3)'", "Z or M"),
        ("'POINT EMPTY'", "empty geometry"),
        ("'LINESTRING EMPTY'", "empty geometry"),
        ("'CIRCULARSTRING(0 0, 1 1, 2 0)'", "curve"),
    ] {
        let (pg, my) = (postgis_database().await, mysql_database().await);
        pg_exec(
            &pg,
            &format!(
                "CREATE TABLE solid (id integer PRIMARY KEY, g geometry); \
                 INSERT INTO solid VALUES (1, 'POINT(1 2)'), (7, {value})"
            ),
        )
        .await;
        let (s, t) = (pg.expose(), my.expose());
        let run = ferry(&["copy", "--source", &s, "--target", &t, "--quiet"]);
        assert_ne!(run.code, 0, "{value}: {}", run.all_output());
        assert!(
            run.stderr
                .contains("table public.solid column g: 1 geometries with Z/M")
                && run.stderr.contains("first at id=7"),
            "{value}: {}",
            run.stderr
        );
        assert_eq!(
            mysql_rows(
                &my,
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
            )
            .await,
            vec![some(&["0"])],
            "{value}: the pre-flight stops the copy before any DDL"
        );
        let run = ferry(&[
            "copy",
            "--source",
            &s,
            "--target",
            &t,
            "--quiet",
            "--allow-unclean",
        ]);
        assert_ne!(run.code, 0, "{value}: {}", run.all_output());
        let line = run.stderr.clone();
        assert!(
            line.contains("solid") && line.contains("column g") && line.contains("id=7"),
            "{value}: {line}"
        );
        assert!(line.contains(why), "{value}: {line}");
        assert!(
            !line.contains(&value[1..value.len() - 1]),
            "no cell values in errors: {line}"
        );
        // The run created the table, so a failure on its data drops it
        // again (issue 17): nothing of the table stays.
        assert_eq!(
            mysql_rows(
                &my,
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'solid'"
            )
            .await,
            vec![some(&["0"])],
            "{value}: nothing of the table stays"
        );
    }
}

/// PostgreSQL → PostgreSQL keeps every PostGIS value exactly: Z/M, empty
/// points, curves, geography, the typmods.
#[tokio::test]
async fn postgis_to_postgis_keeps_everything() {
    let (src, dst) = (postgis_database().await, postgis_database().await);
    pg_exec(
        &src,
        "CREATE TABLE world (id integer PRIMARY KEY, g geometry, z geometry(PointZ, 4326), \
           m geometry(LineStringM), geo geography, pt point); \
         INSERT INTO world VALUES \
         (1, 'CIRCULARSTRING(0 0, 1 1, 2 0)', 'SRID=4326;POINT Z (1 2 3)', 'LINESTRINGM(0 0 1, 1 1 2)', \
             'POINT(2.3522 48.8566)', '(1,2)'), \
         (2, 'POINT EMPTY', 'SRID=4326;POINT Z EMPTY', 'LINESTRINGM EMPTY', \
             'SRID=4326;MULTIPOLYGON EMPTY', NULL), \
         (3, 'SRID=3857;TIN(((0 0 0, 0 1 0, 1 1 0, 0 0 0)))', NULL, NULL, NULL, '(-0,1e-300)'), \
         (4, NULL, NULL, NULL, NULL, NULL)",
    )
    .await;
    copy_ok(&src, &dst, &[]);
    let q = "SELECT id, encode(ST_AsEWKB(g), 'hex'), encode(ST_AsEWKB(z), 'hex'), \
             encode(ST_AsEWKB(m), 'hex'), encode(geography_send(geo), 'hex'), encode(point_send(pt), 'hex') \
             FROM world ORDER BY id";
    assert_eq!(pg_rows(&src, q).await, pg_rows(&dst, q).await);
    let types = "SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) \
                 FROM pg_attribute WHERE attrelid = 'world'::regclass AND attnum > 0";
    assert_eq!(pg_rows(&src, types).await, pg_rows(&dst, types).await);
    verify_ok(&src, &dst, &[]);
}

/// MariaDB → MariaDB keeps the stored bytes and the column SRIDs.
#[tokio::test]
async fn mariadb_to_mariadb_keeps_bytes_and_column_srids() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    mysql_exec(&src, MARIADB_SPATIAL).await;
    copy_ok(&src, &dst, &[]);
    let cols: Vec<String> = SPATIAL_COLUMNS
        .iter()
        .map(|c| format!("HEX(`{c}`)"))
        .collect();
    let q = format!("SELECT id, {} FROM places ORDER BY id", cols.join(", "));
    assert_eq!(mysql_rows(&src, &q).await, mysql_rows(&dst, &q).await);
    let srids = "SELECT G_GEOMETRY_COLUMN, SRID FROM information_schema.GEOMETRY_COLUMNS \
                 WHERE G_TABLE_SCHEMA = DATABASE() ORDER BY G_GEOMETRY_COLUMN";
    assert_eq!(mysql_rows(&src, srids).await, mysql_rows(&dst, srids).await);
    verify_ok(&src, &dst, &[]);
}

/// Without PostGIS in the target database: EWKB (SRID kept) in bytea, and
/// the plan says so.
#[tokio::test]
async fn without_postgis_geometries_land_as_ewkb_in_bytea_with_a_warning() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, MARIADB_SPATIAL).await;
    let (s, t) = (my.expose(), pg.expose());
    let plan = ferry(&["plan", "--source", &s, "--target", &t]);
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    assert!(
        plan.all_output()
            .contains("column p: PostGIS is not installed in the target database"),
        "{}",
        plan.all_output()
    );
    copy_ok(&my, &pg, &[]);
    // SRID 0: EWKB is plain WKB; SRID 4326: the flag and the SRID, then the body.
    let wkb = mysql_rows(
        &my,
        "SELECT HEX(ST_AsBinary(l)), HEX(ST_AsBinary(p)) FROM places WHERE id = 1",
    )
    .await;
    let body = wkb[0][1].clone().unwrap()[10..].to_string();
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT upper(encode(l, 'hex')), upper(encode(p, 'hex')), pg_typeof(p)::text \
             FROM places WHERE id = 1"
        )
        .await,
        vec![vec![
            wkb[0][0].clone(),
            Some(format!("0101000020E6100000{body}")),
            Some("bytea".into()),
        ]]
    );
    verify_ok(&my, &pg, &[]);
}

/// PostgreSQL's own point where the user asks for it; an SRID is only left
/// behind with drop_srid.
#[tokio::test]
async fn a_mapping_override_lands_points_in_postgresql_point() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        "CREATE TABLE stops (id int PRIMARY KEY, at point, gps point REF_SYSTEM_ID=4326); \
         INSERT INTO stops VALUES (1, POINT(1.5, -2), ST_GeomFromText('POINT(7 8)', 4326)), \
         (2, NULL, NULL)",
    )
    .await;
    let mapping = tempfile::NamedTempFile::new().unwrap();
    let write = |text: &str| std::fs::write(mapping.path(), text).unwrap();
    let m = mapping.path().to_str().unwrap();
    write(
        "[[column]]\ntable = \"stops\"\ncolumn = \"at\"\ntarget_type = \"point\"\n\
         [[column]]\ntable = \"stops\"\ncolumn = \"gps\"\ntarget_type = \"point\"\n",
    );
    let (s, t) = (my.expose(), pg.expose());
    let refused = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--mapping",
        m,
    ]);
    assert_ne!(refused.code, 0, "{}", refused.all_output());
    assert!(
        refused.stderr.contains("column gps") && refused.stderr.contains("drop_srid"),
        "{}",
        refused.stderr
    );
    pg_exec(&pg, "DROP TABLE IF EXISTS stops").await;
    write(
        "[[column]]\ntable = \"stops\"\ncolumn = \"at\"\ntarget_type = \"point\"\n\
         [[column]]\ntable = \"stops\"\ncolumn = \"gps\"\ntarget_type = \"point\"\n\
         conversion = \"drop_srid\"\n",
    );
    copy_ok(&my, &pg, &["--mapping", m]);
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT id::text, at::text, gps::text, pg_typeof(at)::text FROM stops ORDER BY id"
        )
        .await,
        vec![
            vec![
                Some("1".into()),
                Some("(1.5,-2)".into()),
                Some("(7,8)".into()),
                Some("point".into())
            ],
            vec![Some("2".into()), None, None, Some("point".into())],
        ]
    );
    verify_ok(&my, &pg, &["--mapping", m]);
}

/// SQLite has no spatial type: a geometry lands as canonical EWKB in a
/// BLOB (the value's SRID in its header, Z/M and empties kept), the plan
/// warns, and verify compares the geometries canonically.
#[tokio::test]
async fn postgis_geometries_land_in_sqlite_as_ewkb_blobs_and_verify() {
    let (pg, file) = (
        postgis_database().await,
        ferry_testkit::sqlite_database().await,
    );
    pg_exec(
        &pg,
        "CREATE TABLE shapes (id integer PRIMARY KEY, g geometry, p geometry(Point, 4326), z geometry(PointZ)); \
         INSERT INTO shapes VALUES \
         (1, 'LINESTRING(0 0, 1 1)', 'SRID=4326;POINT(2.3522 48.8566)', 'POINT Z (1 2 3)'), \
         (2, 'SRID=3857;POLYGON((0 0, 1 0, 1 1, 0 0))', NULL, 'POINT Z EMPTY'), \
         (3, NULL, NULL, NULL)",
    )
    .await;
    let (s, t) = (pg.expose(), file.expose());
    let plan = ferry(&["plan", "--source", &s, "--target", &t]);
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    assert!(
        plan.all_output()
            .contains("column p: SQLite has no spatial type: the geometry is stored as EWKB"),
        "{}",
        plan.all_output()
    );
    copy_ok(&pg, &file, &[]);
    let source = pg_rows(
        &pg,
        "SELECT id::text, encode(ST_AsEWKB(g, 'NDR'), 'hex'), encode(ST_AsEWKB(p, 'NDR'), 'hex'), \
         encode(ST_AsEWKB(z, 'NDR'), 'hex') FROM shapes ORDER BY id",
    )
    .await;
    let target = ferry_testkit::sqlite_rows(&file, "SELECT id, g, p, z FROM shapes ORDER BY id");
    assert_eq!(source, target);
    assert_eq!(
        ferry_testkit::sqlite3_rows(
            &file,
            "SELECT group_concat(type, ',') FROM pragma_table_info('shapes') WHERE name <> 'id'"
        ),
        vec![some(&["BLOB,BLOB,BLOB"])]
    );
    verify_ok(&pg, &file, &[]);
}
