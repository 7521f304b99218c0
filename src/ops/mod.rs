//! One module per command; each returns a typed report.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

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

/// Reads a small input file (a key, a signed head, a report) as UTF-8, refusing one of
/// more than `limit` bytes with `"{path}: {too_large}"`. The limit applies to the bytes
/// actually read, not to the size `stat` reports, so `/dev/zero`, a FIFO, a `/proc`
/// file or a file that grows while read cannot make custody read without bound.
pub fn read_small_text(
    path: &Path,
    limit: u64,
    op: &'static str,
    too_large: &str,
) -> Result<String> {
    let f = std::fs::File::open(path).ctx(path, op)?;
    if f.metadata().ctx(path, op)?.len() > limit {
        return Err(Error::Invalid(format!("{}: {too_large}", path.display())));
    }
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes).ctx(path, op)?;
    if bytes.len() as u64 > limit {
        return Err(Error::Invalid(format!("{}: {too_large}", path.display())));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::io(
            path,
            op,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
        )
    })
}
