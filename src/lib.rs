//! custody: content-addressed, deduplicated storage for leaked document archives,
//! with provenance.
//!
//! Data flow of an ingest: [`walk`] a tree → [`chunking`] (FastCDC) → BLAKE3 ids
//! ([`id`]) → [`store`] (zstd-compressed chunks packed in segments of a redb file) →
//! a release whose entries commit last. Every command is a function in [`ops`] that
//! returns a typed report; nothing in the library prints.

pub mod alter;
pub mod archive;
pub mod chunking;
pub mod codec;
pub mod error;
pub mod id;
pub mod manifest;
pub mod ops;
pub mod panics;
pub mod paths;
#[cfg(test)]
mod paths_props;
pub mod progress;
#[cfg(test)]
mod prop_support;
pub mod sketch;
pub mod store;
pub mod timefmt;
pub mod walk;

pub use error::{Error, Result};
