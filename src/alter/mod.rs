//! How a claimed file differs from a stored original.
//!
//! When someone hands us a file that claims to be a document of a leak and it is not
//! byte-identical to any stored original, the interesting question is *how* it was
//! altered: cut short, a bit flipped in transit, rows of a spreadsheet redacted, a
//! comment slipped into a JPEG, an incremental update appended to a PDF.
//!
//! - [`script`]: edit scripts (copy ranges of the original, insert new bytes), their
//!   application (in memory or streaming) and a strict text encoding that anyone can
//!   check against the two files.
//! - [`diff`]: computes a short edit script between two byte strings in bounded time.
//! - [`classify`](mod@classify): names the alteration ([`AlterationKind`]) with a one-sentence
//!   summary in the file's own terms and structured detail; the format-aware
//!   verdicts (PDF updates, CSV rows, JPEG segments, PNG chunks) are in `by_format`.
//! - [`formats`]: the minimal, bounds-checked readers of CSV, JPEG, PNG and PDF that
//!   classification needs.
//! - [`changes`] and [`words`]: the change list of a script and the wording of
//!   summaries (numbers with thousands separators, lists, previews).

mod by_format;
pub mod changes;
pub mod classify;
pub mod diff;
pub mod formats;
pub mod script;
#[cfg(test)]
mod script_props;
pub mod words;

pub use classify::{Alteration, AlterationKind, classify, classify_with_script, similarity_of};
pub use script::{EditOp, EditScript, ScriptError, edit_script};

#[cfg(test)]
mod tests;
