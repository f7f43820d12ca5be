//! The file format of `mappings/*.toml` and of users' `--mapping` files,
//! parsed strictly: unknown fields, unknown logical types, unknown
//! conversions and unknown placeholders are errors with file, line and column.

use serde::Deserialize;

use ferry_core::{Conversion, Engine, Error, LogicalType, RawType, TimeStorage};

/// One engine's rules (`mappings/postgres.toml`, `mappings/mysql.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineRules {
    #[serde(default)]
    pub read: Vec<ReadRule>,
    #[serde(default)]
    pub write: Vec<WriteRule>,
    #[serde(default)]
    pub unsupported: Vec<Unsupported>,
}

/// Source engine type → logical type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadRule {
    /// The engine's type name, or a pattern where `*` stands for any run of
    /// characters (`*int*`: any declared type containing `int`, SQLite's
    /// affinity rule). The first rule that matches wins, in file order.
    #[serde(rename = "type")]
    pub ty: String,
    /// When set, the rule only matches this signedness.
    pub unsigned: Option<bool>,
    /// When set, the rule only matches this MySQL display width.
    pub display_width: Option<u32>,
    pub logical: String,
    #[serde(default)]
    pub conversion: Conversion,
    /// How an engine without temporal types holds the value (SQLite).
    pub stored_as: Option<TimeStorage>,
    pub note: Option<String>,
    /// `false`: a same-engine copy does not keep the source declaration but
    /// follows the write rules, and the plan warns with the note (an OID
    /// type names nothing in another database).
    pub keep_declaration: Option<bool>,
}

impl ReadRule {
    /// Whether this rule's type (or pattern) matches an engine type name.
    pub fn matches_name(&self, name: &str) -> bool {
        if !self.ty.contains('*') {
            return self.ty == name;
        }
        let parts: Vec<&str> = self.ty.split('*').collect();
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if !name.starts_with(first) || name.len() < first.len() + last.len() {
            return false;
        }
        let mut rest = &name[first.len()..];
        for mid in &parts[1..parts.len() - 1] {
            match rest.find(mid) {
                Some(at) => rest = &rest[at + mid.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }

    /// The type as a plan names it: the type itself, or for a pattern the
    /// declaration it matched (`decimal_text(20,4) ~ *text*`).
    pub fn shown_type(&self, ty: &RawType) -> String {
        if self.ty.contains('*') {
            let declared = if ty.display.is_empty() {
                &ty.name
            } else {
                &ty.display
            };
            format!("{declared} ~ {}", self.ty)
        } else {
            self.ty.clone()
        }
    }
}

/// Whether a logical kind is a date or time, which [`TimeStorage`] applies to.
pub(crate) fn is_temporal_kind(kind: &str) -> bool {
    matches!(kind, "date" | "time" | "timestamp" | "timestamptz")
}

/// Logical type → target DDL type; the first rule whose conditions hold wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteRule {
    pub logical: String,
    pub max_length: Option<u32>,
    pub max_bytes: Option<u64>,
    pub max_precision: Option<u32>,
    pub max_scale: Option<u32>,
    /// `true`: only types whose parameters are declared (a decimal's
    /// precision, a geometry's SRID); `false` only those without.
    pub constrained: Option<bool>,
    /// Bit strings: `true` only varying, `false` only fixed.
    pub varying: Option<bool>,
    /// Geometries: `true` only PostGIS geography, `false` only geometry.
    pub geography: Option<bool>,
    /// Only when the target database has this feature (PostgreSQL: an
    /// installed extension such as `postgis`).
    pub requires: Option<String>,
    pub ddl: String,
    #[serde(default)]
    pub conversion: Conversion,
    pub note: Option<String>,
    /// Shown as a plan warning on every column this rule decides (a
    /// fallback the user should know about).
    pub warning: Option<String>,
}

/// A source type ferry refuses, with the reason shown to the user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsupported {
    #[serde(rename = "type")]
    pub ty: String,
    pub reason: String,
}

/// A user's `--mapping` file (also the body of a `[[pair]]` in `pairs.toml`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[serde(default, rename = "type")]
    pub types: Vec<TypeOverride>,
    #[serde(default, rename = "column")]
    pub columns: Vec<ColumnOverride>,
}

/// Applies to every column whose source type matches `source_type`, either
/// the engine's base name (`datetime`) or the full declaration (`tinyint(1)`),
/// case-insensitively.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TypeOverride {
    /// Only for this source engine, when set.
    pub engine: Option<String>,
    pub source_type: String,
    /// Another logical type for the value (e.g. `int8` for a tinyint(1)).
    pub logical: Option<String>,
    /// Target DDL type, used verbatim.
    pub target_type: Option<String>,
    pub conversion: Option<Conversion>,
    /// How the source holds a date or time (SQLite: `iso8601`,
    /// `julian_day`, `unix_epoch`).
    pub stored_as: Option<TimeStorage>,
}

/// Applies to one column of one table (`table` is `name` or `schema.name`).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnOverride {
    pub table: String,
    pub column: String,
    pub logical: Option<String>,
    pub target_type: Option<String>,
    pub conversion: Option<Conversion>,
    /// How the source holds this date or time column (see [`TypeOverride`]).
    pub stored_as: Option<TimeStorage>,
}

/// `mappings/pairs.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairFile {
    #[serde(default)]
    pub pair: Vec<PairRules>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRules {
    pub source: String,
    pub target: String,
    #[serde(default, rename = "type")]
    pub types: Vec<TypeOverride>,
    #[serde(default, rename = "column")]
    pub columns: Vec<ColumnOverride>,
}

const PLACEHOLDERS: &[&str] = &[
    "length",
    "precision",
    "scale",
    "fsp",
    "values",
    "enum_type",
    "element",
    "geometry_type",
    "srid",
];

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(origin: &str, text: &str) -> Result<T, Error> {
    toml::from_str(text).map_err(|e| Error::Mapping {
        origin: origin.to_string(),
        problem: one_line(&e.to_string()),
    })
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|'))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn check_kind(origin: &str, kind: &str) -> Result<(), Error> {
    if LogicalType::KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(Error::Mapping {
            origin: origin.to_string(),
            problem: format!(
                "unknown logical type `{kind}` (known: {})",
                LogicalType::KINDS.join(", ")
            ),
        })
    }
}

pub(crate) fn check_engine(origin: &str, name: &str) -> Result<Engine, Error> {
    Engine::parse(name).ok_or_else(|| Error::Mapping {
        origin: origin.to_string(),
        problem: format!("unknown engine `{name}` ({})", Engine::names()),
    })
}

impl EngineRules {
    /// Checks every kind and placeholder, and that every logical type a read
    /// rule can produce has a write rule (so every source type maps somewhere).
    pub(crate) fn validate(&self, origin: &str) -> Result<(), Error> {
        for r in &self.read {
            check_kind(origin, &r.logical)?;
            if r.stored_as.is_some() && !is_temporal_kind(&r.logical) {
                return Err(Error::Mapping {
                    origin: origin.to_string(),
                    problem: format!(
                        "read rule `{}`: stored_as applies to date, time and timestamp kinds, not {}",
                        r.ty, r.logical
                    ),
                });
            }
        }
        for w in &self.write {
            check_kind(origin, &w.logical)?;
            check_template(origin, &w.ddl)?;
        }
        for kind in LogicalType::KINDS {
            if !self.write.iter().any(|w| w.logical == *kind) {
                return Err(Error::Mapping {
                    origin: origin.to_string(),
                    problem: format!("no write rule for logical type `{kind}`"),
                });
            }
        }
        Ok(())
    }
}

fn check_template(origin: &str, ddl: &str) -> Result<(), Error> {
    let mut rest = ddl;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| Error::Mapping {
            origin: origin.to_string(),
            problem: format!("unclosed `{{` in ddl `{ddl}`"),
        })?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(Error::Mapping {
                origin: origin.to_string(),
                problem: format!(
                    "unknown placeholder `{{{name}}}` in ddl `{ddl}` (known: {})",
                    PLACEHOLDERS.join(", ")
                ),
            });
        }
        rest = &after[close + 1..];
    }
    Ok(())
}
