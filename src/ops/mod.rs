//! One module per command; each returns a typed report.

pub mod audit;
pub mod cat;
pub mod demo;
pub mod diff;
pub mod extract;
pub mod fsck;
pub mod hash;
pub mod head;
pub mod identify;
pub mod ingest;
pub mod log;
pub mod ls;
pub mod prove;
pub mod releases;
pub mod report;
#[cfg(test)]
mod report_props;
pub mod stats;
pub mod verify;
