//! ferry's domain model, shared by every engine adapter and the engine.
//!
//! Nothing here talks to a database. The crate defines the hub that all
//! engines meet at: a closed set of [`LogicalType`]s, each with one fixed
//! Arrow representation ([`arrow`]), the per-table plan that the mapping
//! layer resolves before any row moves ([`plan`]), the errors every layer
//! returns ([`error`]), connection URLs that never print a password
//! ([`url`]), and the typed progress events the binary renders ([`event`]).

pub mod adapter;
pub mod arrow;
pub mod batch;
pub mod capabilities;
pub mod change;
pub mod cutover;
pub mod decimal;
pub mod dialect;
pub mod error;
pub mod event;
pub mod expr;
pub mod geometry;
pub mod hex;
pub mod interval;
pub mod net;
pub mod plan;
pub mod range;
pub mod schema;
pub mod sentkeys;
pub mod throttle;
pub mod transform;
pub mod types;
pub mod url;
pub mod zerodate;

pub use capabilities::{Capabilities, ChangeStreamKind};
pub use dialect::Dialect;
pub use error::{Error, ErrorKind, Result};
pub use plan::{
    ColumnPlan, Conversion, IfExists, RawColumn, RawSpatial, RawTable, RawType, TablePlan,
    TableRef, TimeStorage,
};
pub use types::{GeometryKind, LogicalType};
pub use url::{DbUrl, Engine, TlsMode};
