//! Well-known binary for spatial values, in the three spellings ferry meets:
//!
//! - **EWKB**, PostGIS's binary form (`geometry_send`, `ST_AsEWKB`): OGC WKB
//!   whose type word carries flags (Z `0x80000000`, M `0x40000000`, SRID
//!   `0x20000000`), the SRID as a `u32` after the outer type word;
//! - **MySQL's internal format** (what a geometry column holds and sends):
//!   the SRID as 4 little-endian bytes, then plain 2D WKB;
//! - **ISO WKB** (Z as type + 1000, M + 2000, ZM + 3000), which is read too.
//!
//! The hub carries every spatial value as *canonical EWKB*: little-endian
//! everywhere, the SRID flag and SRID on the outer header exactly when the
//! SRID is not 0, Z/M as PostGIS's flags on every header, an empty point's
//! coordinates as the one quiet NaN. Decoders write it, encoders read it,
//! and `verify` compares it, so two engines' bytes for one geometry are
//! equal exactly when the geometries are: byte order and the SRID spelling
//! are normalised, a moved vertex is not.
//!
//! The walk is structural: every count is checked against the bytes left,
//! coordinates are copied bit for bit (only their byte order changes), and
//! trailing bytes are refused. No geometry library is involved, because the
//! job is a byte-exact re-spelling, not geometry (the crates for WKB read
//! into their own coordinate models and write ISO WKB without PostGIS's
//! SRID header). Problems describe the value's class, never its content.

/// What is wrong with a value, never including it.
pub type Problem = &'static str;

const FLAG_Z: u32 = 0x8000_0000;
const FLAG_M: u32 = 0x4000_0000;
const FLAG_SRID: u32 = 0x2000_0000;
const FLAG_BBOX: u32 = 0x1000_0000;
/// The quiet NaN PostGIS writes for an empty point's coordinates.
const EMPTY_COORD: u64 = 0x7ff8_0000_0000_0000;
/// Deeper nesting than this is refused rather than recursed into.
const MAX_DEPTH: usize = 32;

/// What the walk saw in one value: enough for an encoder to decide whether
/// its target can hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// The outer geometry's type code (1 point … 7 collection; PostGIS's
    /// curves and surfaces are 8–17).
    pub code: u32,
    pub srid: u32,
    pub z: bool,
    pub m: bool,
    /// The whole value is empty (`POINT EMPTY`, `GEOMETRYCOLLECTION EMPTY`…).
    pub empty: bool,
    /// Some part other than a geometry collection is empty (MySQL has only
    /// `GEOMETRYCOLLECTION EMPTY`).
    pub empty_part: bool,
    /// Some part is a curve or surface type (codes above 7).
    pub curved: bool,
    /// Some coordinate is NaN or infinite (an empty point's NaNs aside).
    pub non_finite: bool,
}

/// Rewrites an (E)WKB or ISO WKB value, in either byte order, as canonical
/// EWKB into `out` (appended).
pub fn to_canonical(wkb: &[u8], out: &mut Vec<u8>) -> Result<Shape, Problem> {
    let mut r = Reader { b: wkb, at: 0 };
    let shape = walk(&mut r, out, Spelling::Canonical, None)?;
    r.finish()?;
    Ok(shape)
}

/// Canonical EWKB of a value in MySQL's internal format (SRID, then WKB).
pub fn from_mysql(internal: &[u8], out: &mut Vec<u8>) -> Result<Shape, Problem> {
    let (srid, wkb) = internal
        .split_first_chunk::<4>()
        .ok_or("malformed geometry: shorter than its SRID")?;
    let srid = u32::from_le_bytes(*srid);
    let mut r = Reader { b: wkb, at: 0 };
    let shape = walk(&mut r, out, Spelling::Canonical, Some(srid))?;
    r.finish()?;
    Ok(shape)
}

/// MySQL's internal format of a canonical (or any) EWKB value, appended to
/// `out`. Refuses what MySQL and MariaDB cannot hold as the same geometry:
/// Z or M coordinates, curves and surfaces, empty parts other than
/// `GEOMETRYCOLLECTION EMPTY` (MariaDB would store the bytes but read an
/// empty point as `POINT(0 0)`), NaN or infinite coordinates.
pub fn to_mysql(ewkb: &[u8], out: &mut Vec<u8>) -> Result<Shape, Problem> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut r = Reader { b: ewkb, at: 0 };
    let shape = walk(&mut r, out, Spelling::Plain, None)?;
    r.finish()?;
    if shape.z || shape.m {
        return Err("geometry with Z or M coordinates: MySQL geometries are 2D");
    }
    if shape.curved {
        return Err(
            "curve or surface geometry type (CIRCULARSTRING, TIN…) that MySQL does not have",
        );
    }
    if shape.empty_part {
        return Err("empty geometry: MySQL has no empty geometry but GEOMETRYCOLLECTION EMPTY");
    }
    if shape.non_finite {
        return Err("geometry with a NaN or infinite coordinate, which MySQL refuses");
    }
    out[start..start + 4].copy_from_slice(&shape.srid.to_le_bytes());
    Ok(shape)
}

/// The coordinates of a 2D, non-empty point (for PostgreSQL's `point`).
pub fn point_xy(ewkb: &[u8]) -> Result<(f64, f64, Shape), Problem> {
    let mut canon = Vec::with_capacity(ewkb.len());
    let shape = to_canonical(ewkb, &mut canon)?;
    if shape.code != 1 {
        return Err("not a POINT: PostgreSQL's point holds points only");
    }
    if shape.z || shape.m {
        return Err("point with Z or M coordinates: PostgreSQL's point is 2D");
    }
    if shape.empty {
        return Err("POINT EMPTY: PostgreSQL's point has no empty value");
    }
    // Canonical: byte order, type word, [SRID], x, y.
    let coords = &canon[canon.len() - 16..];
    let f = |b: &[u8]| f64::from_le_bytes(b.try_into().unwrap_or_default());
    Ok((f(&coords[..8]), f(&coords[8..]), shape))
}

/// Canonical EWKB of a 2D point with SRID 0 (PostgreSQL's `point`).
pub fn point_ewkb(x: f64, y: f64, out: &mut Vec<u8>) {
    out.push(1);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&x.to_le_bytes());
    out.extend_from_slice(&y.to_le_bytes());
}

/// Canonical EWKB with its SRID replaced (`0` removes it), for a lossy
/// `drop_srid` the user chose. `canonical` must be canonical EWKB.
pub fn with_srid(canonical: &[u8], srid: u32, out: &mut Vec<u8>) -> Result<(), Problem> {
    let word = canonical
        .get(1..5)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or("malformed geometry: truncated header")?;
    let body = if word & FLAG_SRID != 0 { 9 } else { 5 };
    let rest = canonical
        .get(body..)
        .ok_or("malformed geometry: truncated header")?;
    out.push(1);
    if srid == 0 {
        out.extend_from_slice(&(word & !FLAG_SRID).to_le_bytes());
    } else {
        out.extend_from_slice(&(word | FLAG_SRID).to_le_bytes());
        out.extend_from_slice(&srid.to_le_bytes());
    }
    out.extend_from_slice(rest);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Spelling {
    /// Canonical EWKB (flags, outer SRID).
    Canonical,
    /// Plain WKB type codes, no SRID (MySQL's body; 2D is checked after).
    Plain,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Problem> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or("malformed geometry: truncated")?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn left(&self) -> usize {
        self.b.len() - self.at
    }

    fn u32(&mut self, le: bool) -> Result<u32, Problem> {
        let s: [u8; 4] = self.take(4)?.try_into().map_err(|_| "truncated")?;
        Ok(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }

    fn f64_bits(&mut self, le: bool) -> Result<u64, Problem> {
        let s: [u8; 8] = self.take(8)?.try_into().map_err(|_| "truncated")?;
        Ok(if le {
            u64::from_le_bytes(s)
        } else {
            u64::from_be_bytes(s)
        })
    }

    fn finish(&self) -> Result<(), Problem> {
        if self.left() == 0 {
            Ok(())
        } else {
            Err("malformed geometry: bytes after its end")
        }
    }
}

/// How a type code's body is laid out.
enum Layout {
    Point,
    /// A count, then that many points (LineString, CircularString).
    Points,
    /// A count of rings, each a count and points (Polygon, Triangle).
    Rings,
    /// A count, then that many geometries with headers of their own.
    Parts,
}

fn layout(code: u32) -> Result<Layout, Problem> {
    Ok(match code {
        1 => Layout::Point,
        2 | 8 => Layout::Points,
        3 | 17 => Layout::Rings,
        4..=7 | 9..=12 | 15 | 16 => Layout::Parts,
        _ => return Err("malformed geometry: unknown geometry type code"),
    })
}

/// One geometry header as read.
#[derive(Clone, Copy)]
struct Header {
    code: u32,
    /// The body's byte order.
    le: bool,
    srid: Option<u32>,
    z: bool,
    m: bool,
}

/// One geometry (header and body) from `r` into `out`. `outer_srid` is the
/// SRID MySQL's prefix gave (top level only).
fn walk(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    spelling: Spelling,
    outer_srid: Option<u32>,
) -> Result<Shape, Problem> {
    let h = header(r, 0, None)?;
    if outer_srid.is_some() && h.srid.is_some() {
        return Err("malformed geometry: an SRID both before and inside the WKB");
    }
    let mut shape = Shape {
        code: h.code,
        srid: outer_srid.or(h.srid).unwrap_or(0),
        z: h.z,
        m: h.m,
        ..Shape::default()
    };
    put_header(out, spelling, &h, Some(shape.srid));
    body(r, out, spelling, &h, 0, &mut shape)?;
    Ok(shape)
}

/// Reads a header; `parent` is the enclosing geometry's, whose dimensions
/// a part must share.
fn header(r: &mut Reader<'_>, depth: usize, parent: Option<&Header>) -> Result<Header, Problem> {
    let le = match r.take(1)?[0] {
        0 => false,
        1 => true,
        _ => return Err("malformed geometry: unknown byte order mark"),
    };
    let word = r.u32(le)?;
    if word & FLAG_BBOX != 0 {
        return Err("malformed geometry: a bounding box flag");
    }
    let flags = word & (FLAG_Z | FLAG_M | FLAG_SRID);
    let base = word & !flags;
    // ISO WKB spells dimensions in the thousands: 1001 is POINT Z.
    let (code, iso_z, iso_m) = match base / 1000 {
        0 => (base, false, false),
        1 => (base % 1000, true, false),
        2 => (base % 1000, false, true),
        3 => (base % 1000, true, true),
        _ => return Err("malformed geometry: unknown geometry type code"),
    };
    if flags != 0 && base >= 1000 {
        return Err("malformed geometry: both EWKB and ISO dimension markers");
    }
    let srid = if word & FLAG_SRID != 0 {
        if depth > 0 {
            return Err("malformed geometry: an SRID on a part");
        }
        Some(r.u32(le)?)
    } else {
        None
    };
    let h = Header {
        code,
        le,
        srid,
        z: iso_z || word & FLAG_Z != 0,
        m: iso_m || word & FLAG_M != 0,
    };
    if parent.is_some_and(|p| (p.z, p.m) != (h.z, h.m)) {
        return Err("malformed geometry: parts with other dimensions than the whole");
    }
    Ok(h)
}

fn put_header(out: &mut Vec<u8>, spelling: Spelling, h: &Header, srid: Option<u32>) {
    out.push(1);
    match spelling {
        Spelling::Canonical => {
            let mut word = h.code;
            if h.z {
                word |= FLAG_Z;
            }
            if h.m {
                word |= FLAG_M;
            }
            let srid = srid.filter(|&s| s != 0);
            if srid.is_some() {
                word |= FLAG_SRID;
            }
            out.extend_from_slice(&word.to_le_bytes());
            if let Some(s) = srid {
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        Spelling::Plain => out.extend_from_slice(&h.code.to_le_bytes()),
    }
}

/// The body of the geometry `h` heads; `depth` 0 is the whole value.
fn body(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    spelling: Spelling,
    h: &Header,
    depth: usize,
    shape: &mut Shape,
) -> Result<(), Problem> {
    if depth > MAX_DEPTH {
        return Err("malformed geometry: nested too deeply");
    }
    let le = h.le;
    shape.curved |= h.code > 7;
    let n_dims = 2 + usize::from(h.z) + usize::from(h.m);
    let point_bytes = n_dims * 8;
    let empty = match layout(h.code)? {
        Layout::Point => {
            let mut bits = [0u64; 4];
            for b in bits.iter_mut().take(n_dims) {
                *b = r.f64_bits(le)?;
            }
            let empty = bits[..n_dims].iter().all(|&b| f64::from_bits(b).is_nan());
            for &b in &bits[..n_dims] {
                let b = if empty { EMPTY_COORD } else { b };
                shape.non_finite |= !empty && !f64::from_bits(b).is_finite();
                out.extend_from_slice(&b.to_le_bytes());
            }
            empty
        }
        Layout::Points => {
            let n = count(r, le, point_bytes)?;
            out.extend_from_slice(&u32_of(n).to_le_bytes());
            points(r, out, le, n * n_dims, shape)?;
            n == 0
        }
        Layout::Rings => {
            let rings = count(r, le, 4)?;
            out.extend_from_slice(&u32_of(rings).to_le_bytes());
            for _ in 0..rings {
                let n = count(r, le, point_bytes)?;
                out.extend_from_slice(&u32_of(n).to_le_bytes());
                points(r, out, le, n * n_dims, shape)?;
            }
            rings == 0
        }
        Layout::Parts => {
            // A part is at least a byte order mark and a type word.
            let n = count(r, le, 5)?;
            out.extend_from_slice(&u32_of(n).to_le_bytes());
            for _ in 0..n {
                let part = header(r, depth + 1, Some(h))?;
                put_header(out, spelling, &part, None);
                body(r, out, spelling, &part, depth + 1, shape)?;
            }
            n == 0
        }
    };
    if empty && h.code != 7 {
        shape.empty_part = true;
    }
    if depth == 0 {
        shape.empty = empty;
    }
    Ok(())
}

/// A count whose items (each at least `item_bytes`) must fit in what is left.
fn count(r: &mut Reader<'_>, le: bool, item_bytes: usize) -> Result<usize, Problem> {
    let n = usize::try_from(r.u32(le)?).map_err(|_| "malformed geometry: count too large")?;
    if n.checked_mul(item_bytes).is_none_or(|b| b > r.left()) {
        return Err("malformed geometry: a count larger than the bytes left");
    }
    Ok(n)
}

fn points(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    le: bool,
    coords: usize,
    shape: &mut Shape,
) -> Result<(), Problem> {
    for _ in 0..coords {
        let b = r.f64_bits(le)?;
        shape.non_finite |= !f64::from_bits(b).is_finite();
        out.extend_from_slice(&b.to_le_bytes());
    }
    Ok(())
}

fn u32_of(n: usize) -> u32 {
    // Counts were read as u32 and only ever copied.
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
