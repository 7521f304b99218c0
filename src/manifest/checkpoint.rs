//! Release heads as C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint):
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//! release <name>
//! created <RFC 3339 time>
//! parent <name> <parent root, base64>      (only for a release with a parent)
//! ```
//!
//! The body is the text of a signed note (`note.rs`). An unsigned body is still a
//! valid checkpoint; only a signature, or a root obtained elsewhere, makes it trusted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::note::{Note, NoteError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint: {0}")]
    Malformed(&'static str),
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A parsed release checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
    pub release: String,
    pub created: String,
    pub parent: Option<(String, [u8; 32])>,
}

/// The default origin for a release: `custody/<release>`.
pub fn default_origin(release: &str) -> String {
    format!("custody/{release}")
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form custody writes: shape checked here, range by
/// humantime.
fn is_rfc3339_seconds(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
        && humantime::parse_rfc3339(s).is_ok()
}

fn b64_hash(s: &str) -> Option<[u8; 32]> {
    let v = B64.decode(s).ok()?;
    v.try_into().ok()
}

impl Checkpoint {
    /// The checkpoint body (note text).
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\nrelease {}\ncreated {}\n",
            self.origin,
            self.size,
            B64.encode(self.root),
            self.release,
            self.created
        );
        if let Some((name, root)) = &self.parent {
            s.push_str(&format!("parent {name} {}\n", B64.encode(root)));
        }
        s
    }

    /// Parses a checkpoint body.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let mut lines = text.lines();
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(CheckpointError::Malformed("no origin line"))?
            .to_string();
        let size_line = lines
            .next()
            .ok_or(CheckpointError::Malformed("no size line"))?;
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(CheckpointError::Malformed("size is not a decimal number"));
        }
        let size: u64 = size_line
            .parse()
            .map_err(|_| CheckpointError::Malformed("size is not a decimal number"))?;
        let root = lines
            .next()
            .and_then(b64_hash)
            .ok_or(CheckpointError::Malformed("root is not 32 bytes of base64"))?;
        let (mut release, mut created, mut parent) = (None, None, None);
        for l in lines {
            if let Some(r) = l.strip_prefix("release ") {
                crate::store::format::check_release_name(r).map_err(CheckpointError::Malformed)?;
                if release.replace(r.to_string()).is_some() {
                    return Err(CheckpointError::Malformed("two release lines"));
                }
            } else if let Some(c) = l.strip_prefix("created ") {
                if !is_rfc3339_seconds(c) {
                    return Err(CheckpointError::Malformed(
                        "created is not YYYY-MM-DDTHH:MM:SSZ",
                    ));
                }
                if created.replace(c.to_string()).is_some() {
                    return Err(CheckpointError::Malformed("two created lines"));
                }
            } else if let Some(p) = l.strip_prefix("parent ") {
                let (name, root) = p.split_once(' ').ok_or(CheckpointError::Malformed(
                    "parent line needs a name and a root",
                ))?;
                crate::store::format::check_release_name(name)
                    .map_err(CheckpointError::Malformed)?;
                let root = b64_hash(root).ok_or(CheckpointError::Malformed(
                    "parent root is not 32 bytes of base64",
                ))?;
                if parent.replace((name.to_string(), root)).is_some() {
                    return Err(CheckpointError::Malformed("two parent lines"));
                }
            }
            // Other extension lines are allowed by the checkpoint format and ignored.
        }
        Ok(Self {
            origin,
            size,
            root,
            release: release.ok_or(CheckpointError::Malformed("no release line"))?,
            created: created.ok_or(CheckpointError::Malformed("no created line"))?,
            parent,
        })
    }
}

/// A checkpoint as it travels in proofs and manifests: the note (possibly with no
/// signatures) and its parsed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointNote {
    pub note: Note,
    pub checkpoint: Checkpoint,
}

impl CheckpointNote {
    pub fn unsigned(c: Checkpoint) -> Result<Self, CheckpointError> {
        Ok(Self {
            note: Note::unsigned(&c.body())?,
            checkpoint: c,
        })
    }

    /// Parses a checkpoint with or without signature lines.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let note = if text.contains("\n\n") {
            Note::parse(text)?
        } else {
            Note::unsigned(text)?
        };
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        Ok(Self { note, checkpoint })
    }

    pub fn encode(&self) -> String {
        self.note.encode()
    }
}
