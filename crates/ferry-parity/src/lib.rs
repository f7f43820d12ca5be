//! Parity verification without drivers: canonical value encoding, row hashes,
//! chunk digests and the narrowing of differences.
//!
//! `ferry verify` reads each side with that side's own adapter (so each value
//! arrives in Arrow as its own engine describes it), then normalises every
//! value by the *pair* of logical types of its column ([`rule`]) into one
//! engine-independent, type-tagged, length-prefixed encoding ([`canon`]).
//! Rows are hashed with blake3 (128 bits per row); chunks of rows in binary
//! key order get an ordered digest, and differing chunks are narrowed by
//! split and re-hash to exact keys ([`digest`]).
//!
//! The encoding is **version 1**; its full specification is
//! `docs/parity-encoding.md` and the golden vectors in this crate's tests pin
//! it. A change to any byte of it must bump the version in the blake3
//! derivation contexts ([`canon::ROW_CONTEXT`], [`canon::CHUNK_CONTEXT`]).

pub mod canon;
pub mod decimal;
pub mod digest;
pub mod json;
pub mod rule;

pub use canon::{ColumnCodec, EncodedBatch, RowHash, Side, TableCodec};
pub use digest::{Aligned, ChunkDigest, DigestBuilder, Multiset};
pub use rule::{column_rule, ColumnRule, Domain, SideFlags};

/// The version of the canonical encoding.
pub const ENCODING_VERSION: u32 = 1;

/// Lower-case hex of bytes (row hashes in reports).
pub use ferry_core::hex::hex;

#[cfg(test)]
mod golden;
