//! Byte strings the servers themselves wrote (PostGIS `geometry_send` /
//! `ST_AsEWKB`, MariaDB `HEX(col)`), re-spelled and compared.

use super::*;

fn unhex(s: &str) -> Vec<u8> {
    let s = s.as_bytes();
    let mut out = vec![0; s.len() / 2];
    crate::hex::decode_hex(s, &mut out).expect("test hex");
    out
}

fn canon(wkb: &str) -> (String, Shape) {
    let mut out = Vec::new();
    let shape = to_canonical(&unhex(wkb), &mut out).expect("canonical");
    (crate::hex::hex(&out), shape)
}

#[test]
fn postgis_ewkb_is_already_canonical() {
    for ewkb in [
        // SRID=3857;POINT(1 2)
        "0101000020110f0000000000000000f03f0000000000000040",
        // SRID=3857;LINESTRING Z (1 2 3, 4 5 6)
        "01020000a0110f000002000000000000000000f03f00000000000000400000000000000840000000000000104000000000000014400000000000001840",
        // POINTM(1 2 3)
        "0101000040000000000000f03f00000000000000400000000000000840",
        // GEOMETRYCOLLECTION EMPTY
        "010700000000000000",
        // SRID=4326;MULTIPOLYGON EMPTY
        "0106000020e610000000000000",
    ] {
        assert_eq!(canon(ewkb).0, ewkb);
    }
    let (_, s) = canon("01020000a0110f000002000000000000000000f03f00000000000000400000000000000840000000000000104000000000000014400000000000001840");
    assert_eq!(
        (s.code, s.srid, s.z, s.m, s.empty),
        (2, 3857, true, false, false)
    );
}

#[test]
fn big_endian_and_iso_wkb_become_little_endian_ewkb() {
    // XDR POINT(1 2)
    let (c, _) = canon("00000000013ff00000000000004000000000000000");
    assert_eq!(c, "0101000000000000000000f03f0000000000000040");
    // ISO POINT Z (1 2 3), little-endian
    let (c, s) = canon("01e9030000000000000000f03f00000000000000400000000000000840");
    assert_eq!(
        c,
        "0101000080000000000000f03f00000000000000400000000000000840"
    );
    assert!(s.z && !s.m);
    // XDR EWKB with SRID 4326
    let (c, s) = canon("0020000001000010e63ff00000000000004000000000000000");
    assert_eq!(s.srid, 4326);
    assert_eq!(c, "0101000020e6100000000000000000f03f0000000000000040");
}

#[test]
fn mysql_internal_format_both_ways() {
    // MariaDB: ST_GeomFromText('POINT(5 6)', 3857)
    let internal = unhex("110F0000010100000000000000000014400000000000001840");
    let mut ewkb = Vec::new();
    let shape = from_mysql(&internal, &mut ewkb).unwrap();
    assert_eq!(shape.srid, 3857);
    assert_eq!(
        crate::hex::hex(&ewkb),
        "0101000020110f000000000000000014400000000000001840"
    );
    let mut back = Vec::new();
    to_mysql(&ewkb, &mut back).unwrap();
    assert_eq!(back, internal);
    // SRID 0: no SRID in the EWKB.
    let internal = unhex("000000000101000000000000000000F03F0000000000000040");
    let mut ewkb = Vec::new();
    from_mysql(&internal, &mut ewkb).unwrap();
    assert_eq!(
        crate::hex::hex(&ewkb),
        "0101000000000000000000f03f0000000000000040"
    );
    // A geometry collection with parts keeps its parts' headers plain.
    let gc = "000000000107000000020000000101000000000000000000f03f000000000000f03f01020000000200000000000000000000000000000000000000000000000000f03f000000000000f03f";
    let mut ewkb = Vec::new();
    from_mysql(&unhex(gc), &mut ewkb).unwrap();
    let mut back = Vec::new();
    to_mysql(&ewkb, &mut back).unwrap();
    assert_eq!(crate::hex::hex(&back), gc);
}

#[test]
fn what_mysql_cannot_hold_is_refused_by_class() {
    let refused = |ewkb: &str| to_mysql(&unhex(ewkb), &mut Vec::new()).unwrap_err();
    assert!(refused("01020000a0110f000002000000000000000000f03f00000000000000400000000000000840000000000000104000000000000014400000000000001840").contains("Z or M"));
    assert!(
        refused("0101000040000000000000f03f00000000000000400000000000000840").contains("Z or M")
    );
    // SRID=4326;POINT EMPTY
    assert!(refused("0101000020e6100000000000000000f87f000000000000f87f").contains("empty"));
    assert!(refused("0106000020e610000000000000").contains("empty"));
    // CIRCULARSTRING(0 0, 1 1, 2 0)
    assert!(refused("01080000000300000000000000000000000000000000000000000000000000f03f000000000000f03f00000000000000400000000000000000").contains("curve"));
    // POINT(NaN 1)
    assert!(refused("0101000000000000000000f87f000000000000f03f").contains("NaN"));
    // GEOMETRYCOLLECTION EMPTY is MySQL's own.
    let mut out = Vec::new();
    to_mysql(&unhex("010700000000000000"), &mut out).unwrap();
    assert_eq!(crate::hex::hex(&out), "00000000010700000000000000");
}

#[test]
fn malformed_values_are_refused_without_their_bytes() {
    for bad in [
        "",
        "02",
        "0101000000000000000000f03f",
        // One byte after the point.
        "0101000000000000000000f03f000000000000f03f00",
        // A linestring claiming more points than it has.
        "0102000000ffffffff",
        // Unknown type code.
        "0163000000",
        // A bounding-box flag.
        "0101000010000000000000f03f000000000000f03f",
    ] {
        let e = to_canonical(&unhex(bad), &mut Vec::new()).unwrap_err();
        assert!(e.starts_with("malformed geometry"), "{bad}: {e}");
    }
    assert!(from_mysql(&unhex("0000"), &mut Vec::new()).is_err());
}

#[test]
fn a_moved_vertex_changes_the_canonical_bytes() {
    let a = canon("0101000020110f0000000000000000f03f0000000000000040").0;
    let b = canon("0101000020110f0000000000000000f03f0100000000000040").0;
    assert_ne!(a, b);
    // The same point spelled big-endian is the same value.
    let c = canon("0020000001000010e63ff00000000000004000000000000000").0;
    let d = canon("0101000020e6100000000000000000f03f0000000000000040").0;
    assert_eq!(c, d);
}

#[test]
fn points_for_postgresql_point_and_srid_replacement() {
    let mut e = Vec::new();
    point_ewkb(1.5, -2.0, &mut e);
    let (x, y, s) = point_xy(&e).unwrap();
    assert_eq!((x, y, s.srid), (1.5, -2.0, 0));
    assert!(point_xy(&unhex("010700000000000000")).is_err());
    assert!(point_xy(&unhex("0101000020e6100000000000000000f87f000000000000f87f")).is_err());
    let mut with = Vec::new();
    with_srid(&e, 4326, &mut with).unwrap();
    assert_eq!(canon(&crate::hex::hex(&with)).1.srid, 4326);
    let mut without = Vec::new();
    with_srid(&with, 0, &mut without).unwrap();
    assert_eq!(without, e);
}
