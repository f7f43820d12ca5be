//! Identifier limits and collisions.
//!
//! PostgreSQL cuts identifiers at 63 bytes (silently, so two long names can
//! become one); MySQL refuses names over 64 characters. A name too long for
//! the target is shortened deterministically: cut at a character boundary
//! and suffixed with `_` and 8 hex digits of a hash of the whole name, so the
//! same source always gives the same target name and two long names sharing
//! a prefix stay apart. Every shortened or renamed name is checked against the
//! names already taken in its namespace.
//!
//! Case: ferry never folds case. Names are kept exactly as the source catalog
//! spells them and always quoted, so `Customer` stays `Customer` (in
//! PostgreSQL it must then be quoted in queries). MySQL compares column and
//! index names without regard to case, so names that differ only in case
//! collide there and are reported.

use std::collections::HashSet;

use ferry_core::Dialect;

/// `name`, shortened deterministically when it does not fit `dialect`'s
/// identifier limit.
pub fn shorten(dialect: &dyn Dialect, name: &str) -> String {
    let fits = |n: &str| dialect.identifier_fits(n);
    if fits(name) {
        return name.to_string();
    }
    // The low 32 bits of the hash: 8 hex digits are plenty to keep names apart.
    let suffix = format!("_{:08x}", fnv1a(name) & 0xffff_ffff);
    let mut out = String::new();
    for c in name.chars() {
        out.push(c);
        if !fits(&format!("{out}{suffix}")) {
            out.pop();
            break;
        }
    }
    out.push_str(&suffix);
    out
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A set of names taken in one target namespace (a PostgreSQL schema's
/// relations, a MySQL table's indexes, a MySQL database's constraints).
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    taken: HashSet<String>,
    case_insensitive: bool,
}

impl Namespace {
    /// An empty namespace; `ignore_case` when the engine compares these
    /// names without regard to case.
    pub fn new(ignore_case: bool) -> Self {
        Namespace {
            taken: HashSet::new(),
            case_insensitive: ignore_case,
        }
    }

    /// A namespace that compares names exactly (PostgreSQL; MySQL tables on
    /// case-sensitive file systems).
    pub fn exact() -> Self {
        Namespace::default()
    }

    fn key(&self, name: &str) -> String {
        if self.case_insensitive {
            name.to_lowercase()
        } else {
            name.to_string()
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(&self.key(name))
    }

    /// Takes `name` if free and returns true.
    pub fn take(&mut self, name: &str) -> bool {
        let k = self.key(name);
        self.taken.insert(k)
    }

    /// Claims a name for an object: `wanted` (shortened to fit) when free,
    /// else `<qualifier>_<wanted>`, else that with a numeric suffix. Returns
    /// the name and whether it differs from `wanted`.
    pub fn claim(
        &mut self,
        dialect: &dyn Dialect,
        wanted: &str,
        qualifier: &str,
    ) -> (String, bool) {
        let first = shorten(dialect, wanted);
        if self.take(&first) {
            return (first.clone(), first != wanted);
        }
        let second = shorten(dialect, &format!("{qualifier}_{wanted}"));
        if self.take(&second) {
            return (second, true);
        }
        for n in 2.. {
            let candidate = shorten(dialect, &format!("{qualifier}_{wanted}_{n}"));
            if self.take(&candidate) {
                return (candidate, true);
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_mysql::MySqlDialect;
    use ferry_pg::PgDialect;

    #[test]
    fn shortening_is_deterministic_and_fits() {
        let long = "a".repeat(64);
        let pg = shorten(&PgDialect, &long);
        assert_eq!(pg.len(), 63);
        assert_eq!(pg, shorten(&PgDialect, &long));
        assert_eq!(shorten(&MySqlDialect, &long), long);
        let other = format!("{}b", "a".repeat(63));
        assert_ne!(shorten(&PgDialect, &other), pg);
        // Multi-byte characters are never cut in half.
        let wide = "é".repeat(40);
        let s = shorten(&PgDialect, &wide);
        assert!(s.len() <= 63 && s.starts_with("éé"), "{s}");
        assert_eq!(shorten(&PgDialect, "short"), "short");
    }

    #[test]
    fn namespaces_detect_collisions() {
        let mut ns = Namespace::new(true);
        assert_eq!(ns.claim(&MySqlDialect, "idx", "t"), ("idx".into(), false));
        assert_eq!(ns.claim(&MySqlDialect, "IDX", "t"), ("t_IDX".into(), true));
        assert_eq!(
            ns.claim(&MySqlDialect, "idx", "t"),
            ("t_idx_2".into(), true)
        );
        let mut pg = Namespace::new(false);
        assert!(pg.take("a"));
        assert!(pg.take("A"));
    }
}
