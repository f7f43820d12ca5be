//! The effective mapping table printed by `ferry mappings`.

use serde::Serialize;

use ferry_core::Engine;

use crate::rules::ReadRule;

use crate::rules::WriteRule;
use crate::Mappings;

/// One line of the matrix: a source type and where it lands.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MatrixRow {
    pub source_type: String,
    pub logical: String,
    /// The target's write rules for the logical type, first match wins.
    pub target_type: String,
    pub conversion: String,
    pub notes: Vec<String>,
}

pub(crate) fn build(m: &Mappings, source: Engine, target: Engine) -> Vec<MatrixRow> {
    let src = m.engine_rules(source);
    let dst = m.engine_rules(target);
    let mut rows = Vec::new();
    for r in &src.read {
        let mut source_type = shown(r);
        if let Some(w) = r.display_width {
            source_type.push_str(&format!("({w})"));
        }
        // A rule says which signedness it takes only where the engine has both.
        match r.unsigned {
            Some(true) => source_type.push_str(" unsigned"),
            Some(false) => source_type.push_str(" signed"),
            None => {}
        }
        let writes: Vec<&WriteRule> = dst
            .write
            .iter()
            .filter(|w| w.logical == r.logical)
            .collect();
        let target_type = writes
            .iter()
            .map(|w| describe(w))
            .collect::<Vec<_>>()
            .join(" | ");
        let conversion = writes
            .iter()
            .map(|w| w.conversion)
            .find(|c| c.is_lossy())
            .unwrap_or(r.conversion)
            .name()
            .to_string();
        let mut notes: Vec<String> = r.note.iter().cloned().collect();
        if let Some(s) = r.stored_as {
            notes.insert(0, format!("stored as {}", s.name()));
        }
        notes.extend(writes.iter().filter_map(|w| w.note.clone()));
        notes.extend(writes.iter().filter_map(|w| w.warning.clone()));
        rows.push(MatrixRow {
            source_type,
            logical: r.logical.clone(),
            target_type,
            conversion,
            notes,
        });
    }
    for u in &src.unsupported {
        rows.push(MatrixRow {
            source_type: u.ty.clone(),
            logical: "-".into(),
            target_type: "unsupported".into(),
            conversion: "-".into(),
            notes: vec![u.reason.clone()],
        });
    }
    rows
}

/// A read rule's type as the matrix shows it: a column declared without
/// a type has an empty type name.
fn shown(r: &ReadRule) -> String {
    if r.ty.is_empty() {
        "(no type)".to_string()
    } else {
        r.ty.clone()
    }
}

fn describe(w: &WriteRule) -> String {
    let mut conds = Vec::new();
    if let Some(v) = w.max_length {
        conds.push(format!("length ≤ {v}"));
    }
    if let Some(v) = w.max_bytes {
        conds.push(format!("bytes ≤ {v}"));
    }
    if let Some(v) = w.max_precision {
        conds.push(format!("precision ≤ {v}"));
    }
    if let Some(v) = w.max_scale {
        conds.push(format!("scale ≤ {v}"));
    }
    if let Some(v) = w.constrained {
        conds.push(if v { "constrained" } else { "unconstrained" }.into());
    }
    if let Some(v) = w.varying {
        conds.push(if v { "varying" } else { "fixed" }.into());
    }
    if let Some(v) = w.geography {
        conds.push(if v { "geography" } else { "geometry" }.into());
    }
    if let Some(f) = &w.requires {
        conds.push(format!("with {f}"));
    }
    if conds.is_empty() {
        w.ddl.clone()
    } else {
        format!("{} [{}]", w.ddl, conds.join(", "))
    }
}
