//! Type mappings as data.
//!
//! The rules in `mappings/` say *what* maps to *what*: source engine type →
//! logical type (read rules), logical type → target DDL type (write rules),
//! rare pair exceptions (`pairs.toml`) and the user's per-type and per-column
//! overrides (`--mapping FILE`). The Rust here only matches and renders; how a
//! value is converted is the adapters' closed set of decoders and encoders.
//!
//! The built-in files are embedded at build time and validated on every start
//! ([`Mappings::builtin`]); a user's file is validated the same way before any
//! row moves.

mod matrix;
mod rules;

use std::collections::HashMap;

use ferry_core::dialect::{Dialect, KeyLimit, KeyWidth};
use ferry_core::{
    ColumnPlan, Conversion, Engine, Error, LogicalType, RawTable, RawType, TablePlan, TableRef,
};

pub use matrix::MatrixRow;
pub use rules::{ColumnOverride, EngineRules, Overrides, PairFile, TypeOverride};

const PAIR_RULES: &str = include_str!("../../../mappings/pairs.toml");

/// The effective rule set: built-in engine rules, pair exceptions, user overrides.
#[derive(Debug, Clone)]
pub struct Mappings {
    engines: HashMap<Engine, EngineRules>,
    pairs: Vec<(Engine, Engine, Overrides)>,
    user: Overrides,
    /// Where the user's overrides came from, for error lines.
    user_origins: Vec<String>,
    /// What the target database has that write rules may `require`
    /// (PostgreSQL: its installed extensions).
    target_features: Vec<String>,
}

impl Mappings {
    /// The embedded rules of every engine (the URL table's
    /// [`Engine::mapping_rules`]), validated.
    pub fn builtin() -> Result<Self, Error> {
        let mut engines = HashMap::new();
        for &engine in Engine::ALL {
            let (origin, text) = engine.mapping_rules();
            let rules: EngineRules = rules::parse(origin, text)?;
            rules.validate(origin)?;
            engines.insert(engine, rules);
        }
        let pair_file: PairFile = rules::parse("mappings/pairs.toml", PAIR_RULES)?;
        let mut pairs = Vec::new();
        for p in pair_file.pair {
            let origin = "mappings/pairs.toml";
            let s = rules::check_engine(origin, &p.source)?;
            let t = rules::check_engine(origin, &p.target)?;
            let o = Overrides {
                types: p.types,
                columns: p.columns,
            };
            validate_overrides(origin, &o)?;
            pairs.push((s, t, o));
        }
        Ok(Mappings {
            engines,
            pairs,
            user: Overrides::default(),
            user_origins: Vec::new(),
            target_features: Vec::new(),
        })
    }

    /// The features the target database has (see [`Mappings::target_features`]):
    /// write rules that `require` one apply only when it is here.
    pub fn with_target_features(mut self, features: Vec<String>) -> Self {
        self.target_features = features;
        self
    }

    /// The target database's features the rules were given.
    pub fn target_features(&self) -> &[String] {
        &self.target_features
    }

    /// Adds a user's override file (TOML text; `origin` names it in errors).
    pub fn with_overrides(self, origin: &str, text: &str) -> Result<Self, Error> {
        let o: Overrides = rules::parse(origin, text)?;
        self.with_override_values(origin, o)
    }

    /// Adds overrides already parsed (a job file's inline `[[type]]`,
    /// `[[column]]` and `[[table.column]]`), validated as a file's are.
    pub fn with_override_values(mut self, origin: &str, o: Overrides) -> Result<Self, Error> {
        validate_overrides(origin, &o)?;
        if !o.types.is_empty() || !o.columns.is_empty() {
            self.user_origins.push(origin.to_string());
        }
        self.user.types.extend(o.types);
        self.user.columns.extend(o.columns);
        Ok(self)
    }

    /// The files the user's overrides came from, joined for an error line.
    pub fn user_origin(&self) -> Option<String> {
        (!self.user_origins.is_empty()).then(|| self.user_origins.join(", "))
    }

    /// The user's `[[column]]` overrides for `table` that name a column it
    /// does not have: a typo that would otherwise be silently ignored.
    pub fn unknown_override_columns<'a>(
        &'a self,
        table: &TableRef,
        columns: &[&str],
    ) -> Vec<&'a ColumnOverride> {
        self.user
            .columns
            .iter()
            .filter(|c| table_matches(&c.table, table) && !columns.contains(&c.column.as_str()))
            .collect()
    }

    pub fn engine_rules(&self, engine: Engine) -> &EngineRules {
        &self.engines[&engine]
    }

    /// Resolves a source table into a plan for `target_table` on the
    /// engine of dialect `target`.
    ///
    /// Per column, in increasing priority: the source engine's read rule, the
    /// target engine's write rule, a pair exception, a user type override, a
    /// user column override. Fails on the first column that has no rule,
    /// naming table, column and type. The target's dialect quotes names in
    /// the DDL of enum types and fits key columns into its key limit.
    pub fn plan_table(
        &self,
        raw: &RawTable,
        source: Engine,
        target_dialect: &dyn Dialect,
        target_table: TableRef,
    ) -> Result<TablePlan, Error> {
        let target = target_dialect.engine();
        let mut columns = Vec::with_capacity(raw.columns.len());
        let mut warnings = Vec::new();
        for col in &raw.columns {
            let table = raw.table.to_string();
            let unsupported = |reason: String| Error::UnsupportedType {
                table: table.clone(),
                column: col.name.clone(),
                ty: col.ty.display.clone(),
                reason,
            };
            // A type without a read rule is not refused yet: an override may
            // name its kind, and the reader then takes the value's text form.
            let read = self.read_rule(source, &col.ty);
            let keep = read
                .as_ref()
                .map_or(true, |r| r.keep_declaration.unwrap_or(true));
            let (mut kind, mut conversion, mut rule, mut stored_as) = match &read {
                Ok(r) => (
                    r.logical.clone(),
                    r.conversion,
                    format!("{source}.{} → {}", r.shown_type(&col.ty), r.logical),
                    r.stored_as,
                ),
                Err(_) => (
                    String::new(),
                    Conversion::Exact,
                    format!("{source}.{} read as its text form", col.ty.name),
                    None,
                ),
            };
            let mut target_type = None;
            // Overrides, lowest priority first; later ones win field by field.
            let pair_overrides = self
                .pairs
                .iter()
                .filter(|(s, t, _)| *s == source && *t == target)
                .map(|(_, _, o)| o);
            for o in pair_overrides.chain(std::iter::once(&self.user)) {
                for t in &o.types {
                    let engine_ok = t
                        .engine
                        .as_deref()
                        .map(|e| Engine::parse(e) == Some(source))
                        .unwrap_or(true);
                    if engine_ok && type_matches(&t.source_type, &col.ty) {
                        apply(
                            &mut kind,
                            &mut target_type,
                            &mut conversion,
                            &t.logical,
                            &t.target_type,
                            t.conversion,
                        );
                        stored_as = t.stored_as.or(stored_as);
                        rule.push_str(&format!(" (type override {})", t.source_type));
                    }
                }
                for c in &o.columns {
                    if table_matches(&c.table, &raw.table) && c.column == col.name {
                        apply(
                            &mut kind,
                            &mut target_type,
                            &mut conversion,
                            &c.logical,
                            &c.target_type,
                            c.conversion,
                        );
                        stored_as = c.stored_as.or(stored_as);
                        rule.push_str(" (column override)");
                    }
                }
            }
            if kind.is_empty() {
                let reason = read.err().unwrap_or_default();
                return Err(unsupported(reason));
            }
            if read.is_err() {
                rule.push_str(&format!(" → {kind}"));
            }
            let mut logical = self
                .logical_from(source, &kind, &col.ty)
                .map_err(unsupported)?;
            // The enum error value as a real label: first, where index 0 sorts.
            let empty_label = conversion == Conversion::EnumErrorToEmptyLabel;
            if let (true, LogicalType::Enum { values, .. }) = (empty_label, &mut logical) {
                if !values.iter().any(String::is_empty) {
                    values.insert(0, String::new());
                }
            }
            // How a date or time is held only means something for one.
            let stored_as = stored_as.filter(|_| rules::is_temporal_kind(&kind));
            if let Some(s) = stored_as {
                rule.push_str(&format!(" stored as {}", s.name()));
            }
            let target_type = match target_type {
                Some(t) => t,
                // Same engine: keep the declaration exactly as the DBA wrote it.
                None if source == target
                    && keep
                    && !empty_label
                    && keeps_declaration(&logical, &col.ty) =>
                {
                    rule.push_str(" (declaration kept)");
                    col.ty.display.clone()
                }
                None => {
                    let write = self.write_rule(target, &logical);
                    let ddl = self.render_write(target_dialect, &logical, &target_table, &col.name);
                    if conversion == Conversion::Exact {
                        conversion = write.map_or(Conversion::Exact, |w| w.conversion);
                    }
                    if let Some(w) = write.and_then(|w| w.warning.as_deref()) {
                        warnings.push(format!("column {}: {w}", col.name));
                    }
                    if source == target && !keep {
                        let why = read.as_ref().ok().and_then(|r| r.note.as_deref());
                        warnings.push(format!(
                            "column {}: {} becomes {ddl}{}",
                            col.name,
                            col.ty.display,
                            why.map(|n| format!(": {n}")).unwrap_or_default()
                        ));
                    }
                    ddl
                }
            };
            columns.push(ColumnPlan {
                name: col.name.clone(),
                expr: None,
                source_type: col.ty.display.clone(),
                raw: col.ty.clone(),
                logical,
                nullable: col.nullable,
                conversion,
                target_type,
                rule,
                stored_as,
            });
        }
        if let Some(limit) = target_dialect.key_limit() {
            fit_key(&mut columns, &raw.primary_key, target_dialect, limit);
        }
        Ok(TablePlan {
            source: raw.table.clone(),
            target: target_table,
            columns,
            primary_key: raw.primary_key.clone(),
            estimated_rows: raw.estimated_rows,
            schema: ferry_core::schema::SchemaPlan {
                warnings,
                ..Default::default()
            },
            row_filter: None,
            own_rows_only: raw.own_rows_only,
            reshape: None,
        })
    }

    /// The read rule for a raw type (the first that matches, in file
    /// order), or why there is none.
    fn read_rule(&self, engine: Engine, ty: &RawType) -> Result<&rules::ReadRule, String> {
        let rules = &self.engines[&engine];
        if let Some(u) = rules.unsupported.iter().find(|u| u.ty == ty.name) {
            return Err(u.reason.clone());
        }
        rules
            .read
            .iter()
            .find(|r| {
                r.matches_name(&ty.name)
                    && r.unsigned.is_none_or(|u| u == ty.unsigned)
                    && r.display_width.is_none_or(|w| Some(w) == ty.display_width)
            })
            .ok_or_else(|| format!("no {engine} read rule for type `{}`", ty.name))
    }

    /// Builds the logical type of kind `kind` with parameters from the catalog.
    fn logical_from(
        &self,
        engine: Engine,
        kind: &str,
        ty: &RawType,
    ) -> Result<LogicalType, String> {
        use LogicalType as L;
        let fsp = ty.fsp.unwrap_or(6).min(6);
        Ok(match kind {
            "bool" => L::Bool,
            "int8" => L::Int8,
            "int16" => L::Int16,
            "int32" => L::Int32,
            "int64" => L::Int64,
            "uint8" => L::UInt8,
            "uint16" => L::UInt16,
            "uint32" => L::UInt32,
            "uint64" => L::UInt64,
            "float32" => L::Float32,
            "float64" => L::Float64,
            "decimal" => L::Decimal {
                precision: ty.precision,
                scale: ty.precision.map(|_| ty.scale.unwrap_or(0)),
            },
            "money" => L::Money,
            "char" => L::Char { length: ty.length },
            "varchar" => L::Varchar { length: ty.length },
            "text" => L::Text {
                max_bytes: ty.max_bytes,
            },
            "binary" => L::Binary { length: ty.length },
            "varbinary" => L::VarBinary {
                length: ty.length,
                max_bytes: ty.max_bytes,
            },
            "date" => L::Date,
            "time" => L::Time { precision: fsp },
            "timetz" => L::TimeTz,
            "timestamp" => L::Timestamp { precision: fsp },
            "timestamptz" => L::TimestampTz { precision: fsp },
            "duration" => L::Duration { precision: fsp },
            "interval" => L::Interval,
            "year" => L::Year,
            "uuid" => L::Uuid,
            "json" => L::Json,
            "jsonb" => L::Jsonb,
            "enum" => L::Enum {
                name: ty.user_type.clone(),
                values: ty.values.clone(),
            },
            "set" => L::Set {
                values: ty.values.clone(),
            },
            "bit" => L::Bit {
                length: ty.length,
                varying: ty.name == "varbit",
            },
            "inet" => L::Inet,
            "cidr" => L::Cidr,
            "macaddr" => L::MacAddr,
            "macaddr8" => L::MacAddr8,
            "tsvector" => L::TsVector,
            "xml" => L::Xml,
            "geometry" => {
                let spatial = ty.spatial.unwrap_or_default();
                L::Geometry {
                    subtype: spatial.kind,
                    srid: spatial.srid,
                    geography: spatial.geography,
                }
            }
            "array" => {
                let el = ty
                    .element
                    .as_deref()
                    .ok_or("array type without an element type")?;
                let el_kind = self.read_rule(engine, el)?.logical.clone();
                if el_kind == "array" {
                    return Err("arrays of arrays are not supported".into());
                }
                L::Array {
                    element: Box::new(self.logical_from(engine, &el_kind, el)?),
                }
            }
            other => return Err(format!("unknown logical type `{other}`")),
        })
    }

    /// The write rule that decides `logical` on `target`: the first whose
    /// conditions hold (the target's features included).
    fn write_rule(&self, target: Engine, logical: &LogicalType) -> Option<&rules::WriteRule> {
        let rules = &self.engines[&target];
        rules
            .write
            .iter()
            .find(|w| {
                w.logical == logical.kind()
                    && conditions_hold(w, logical)
                    && w.requires
                        .as_ref()
                        .is_none_or(|f| self.target_features.contains(f))
            })
            // validate() guarantees a rule per kind; the last one is unconditional by convention.
            .or_else(|| {
                rules
                    .write
                    .iter()
                    .rev()
                    .find(|w| w.logical == logical.kind())
            })
    }

    /// Renders the target DDL type of `logical` by the write rules of the
    /// engine of dialect `target` (which quotes any names in it).
    pub fn render_write(
        &self,
        target: &dyn Dialect,
        logical: &LogicalType,
        table: &TableRef,
        column: &str,
    ) -> String {
        match self.write_rule(target.engine(), logical) {
            Some(rule) => render_template(&rule.ddl, target, logical, table, column, self),
            None => logical.kind().to_string(),
        }
    }

    /// The effective matrix for `ferry mappings`.
    pub fn matrix(&self, source: Engine, target: Engine) -> Vec<MatrixRow> {
        matrix::build(self, source, target)
    }
}

/// The value of one override field over an earlier one.
fn apply(
    kind: &mut String,
    target_type: &mut Option<String>,
    conversion: &mut Conversion,
    logical: &Option<String>,
    tt: &Option<String>,
    conv: Option<Conversion>,
) {
    if let Some(l) = logical {
        *kind = l.clone();
    }
    if let Some(t) = tt {
        *target_type = Some(t.clone());
    }
    if let Some(c) = conv {
        *conversion = c;
    }
}

fn validate_overrides(origin: &str, o: &Overrides) -> Result<(), Error> {
    for t in &o.types {
        if let Some(e) = &t.engine {
            rules::check_engine(origin, e)?;
        }
        if let Some(l) = &t.logical {
            rules::check_kind(origin, l)?;
        }
    }
    for c in &o.columns {
        if let Some(l) = &c.logical {
            rules::check_kind(origin, l)?;
        }
    }
    Ok(())
}

/// Fits the primary key into a target's key limit (InnoDB: 3072 bytes,
/// TEXT/BLOB only through a prefix). Key columns whose target type needs a
/// prefix become bounded strings sharing the budget (a prefix would make
/// the key stricter than the source's); a longer value is refused with its
/// key by the sink rather than truncated. The target's dialect says each
/// type's width and how a narrowed string type is spelled.
fn fit_key(columns: &mut [ColumnPlan], key: &[usize], target: &dyn Dialect, limit: KeyLimit) {
    let lobs: Vec<usize> = key
        .iter()
        .copied()
        .filter(|&i| target.key_width(&columns[i].target_type) == KeyWidth::NeedsPrefix)
        .collect();
    if lobs.is_empty() {
        return;
    }
    // Bytes the other key columns already take (a generous 8 each).
    let others = u32::try_from(key.len() - lobs.len()).unwrap_or(0) * 8;
    let share = limit.bytes.saturating_sub(others) / u32::try_from(lobs.len()).unwrap_or(1);
    // Key bytes one character takes in a narrowed text column.
    let char_bytes = match target.key_width(&target.narrowed_string_type(false, 1)) {
        KeyWidth::Bytes(b) if b > 0 => b,
        _ => 1,
    };
    for i in lobs {
        let c = &mut columns[i];
        let binary = target.key_counts_bytes(&c.target_type);
        c.target_type = if binary {
            target.narrowed_string_type(true, share)
        } else {
            target.narrowed_string_type(false, share / char_bytes)
        };
        c.rule
            .push_str(&format!(" (key column: {} key length limit)", limit.owner));
    }
}

/// Whether a same-engine copy can reuse the source declaration verbatim.
/// Not for PostgreSQL domains (the target has no such domain; the base type
/// is used) nor MariaDB JSON (its declaration reads `longtext`; the json rule
/// restores the validity check).
fn keeps_declaration(logical: &LogicalType, ty: &RawType) -> bool {
    let domain = ty.user_type.is_some() && !matches!(logical, LogicalType::Enum { .. });
    // A column declared without a type (SQLite) stays without one.
    let declared = !ty.display.is_empty() || ty.name.is_empty();
    declared && !domain && ty.name != "json"
}

fn type_matches(pattern: &str, ty: &RawType) -> bool {
    pattern.eq_ignore_ascii_case(&ty.name) || pattern.eq_ignore_ascii_case(&ty.display)
}

fn table_matches(pattern: &str, t: &TableRef) -> bool {
    pattern == t.name || pattern == t.to_string()
}

fn conditions_hold(w: &rules::WriteRule, t: &LogicalType) -> bool {
    let (precision, scale) = match t {
        LogicalType::Decimal { precision, scale } => (*precision, *scale),
        _ => (None, None),
    };
    let max_bytes = match t {
        LogicalType::Text { max_bytes } | LogicalType::VarBinary { max_bytes, .. } => *max_bytes,
        _ => None,
    };
    let varying = match t {
        LogicalType::Bit { varying, .. } => Some(*varying),
        _ => None,
    };
    let (declared, geography) = match t {
        LogicalType::Geometry {
            srid, geography, ..
        } => (srid.is_some(), Some(*geography)),
        _ => (precision.is_some(), None),
    };
    w.max_length
        .is_none_or(|m| t.length().is_some_and(|l| l <= m))
        && w.max_bytes
            .is_none_or(|m| max_bytes.is_some_and(|b| b <= m))
        && w.max_precision
            .is_none_or(|m| precision.is_some_and(|p| p <= m))
        && w.max_scale.is_none_or(|m| scale.is_some_and(|s| s <= m))
        && w.constrained.is_none_or(|c| c == declared)
        && w.varying.is_none_or(|v| Some(v) == varying)
        && w.geography.is_none_or(|g| Some(g) == geography)
}

fn render_template(
    ddl: &str,
    target: &dyn Dialect,
    t: &LogicalType,
    table: &TableRef,
    column: &str,
    m: &Mappings,
) -> String {
    let mut out = ddl.to_string();
    let mut set = |name: &str, value: String| {
        out = out.replace(&format!("{{{name}}}"), &value);
    };
    if let Some(l) = t.length() {
        set("length", l.to_string());
    }
    if let LogicalType::Decimal {
        precision: Some(p),
        scale,
    } = t
    {
        set("precision", p.to_string());
        set("scale", scale.unwrap_or(0).to_string());
    }
    if let Some(f) = t.fsp() {
        set("fsp", f.to_string());
    }
    match t {
        LogicalType::Enum { values, name } => {
            set("values", quote_list(target, values));
            let type_name = match name {
                Some(n) => n
                    .split('.')
                    .map(|p| target.quote_ident(p))
                    .collect::<Vec<_>>()
                    .join("."),
                None => target.quote_ident(&format!("{}_{column}", table.name)),
            };
            set("enum_type", type_name);
        }
        LogicalType::Set { values } => set("values", quote_list(target, values)),
        LogicalType::Array { element } => {
            set("element", m.render_write(target, element, table, column));
        }
        LogicalType::Geometry { subtype, srid, .. } => {
            set("geometry_type", subtype.name().to_string());
            if let Some(s) = srid {
                set("srid", s.to_string());
            }
        }
        _ => {}
    }
    out
}

/// Enum and set labels in write rules, quoted by the target's dialect.
fn quote_list(target: &dyn Dialect, values: &[String]) -> String {
    values
        .iter()
        .map(|v| target.quote_literal(v))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
