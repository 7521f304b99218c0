//! Progress reporting, passed into long operations so the CLI can draw bars while the
//! library itself never prints.

/// Receives progress of a long operation. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// A phase begins; `total` is in bytes when known.
    fn phase(&self, _name: &str, _total: Option<u64>) {}
    /// Bytes processed in the current phase.
    fn bytes(&self, _n: u64) {}
    /// Items (files, entries, chunks) processed in the current phase.
    fn items(&self, _n: u64) {}
    /// The operation is over.
    fn done(&self) {}
}

/// Progress that goes nowhere (tests, `--quiet`, non-terminal stderr).
pub struct Silent;

impl Progress for Silent {}
