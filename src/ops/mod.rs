//! One module per command; each returns a typed report.

pub mod cat;
pub mod demo;
pub mod extract;
pub mod fsck;
pub mod hash;
pub mod ingest;
pub mod ls;
pub mod releases;
pub mod stats;
