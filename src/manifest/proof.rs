//! Proof files (docs/PROOFS.md): inclusion, absence and release-log consistency, as
//! text, and their verification with no store. A proof carries its leaf or leaves,
//! their audit paths, and the release checkpoint (signed or not); a verifier anchors
//! it with a trusted verifier key or a trusted root.

use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use super::checkpoint::{CheckpointError, CheckpointNote};
use super::leaf::Leaf;
use super::merkle::{self, Blake3, ProofError};
use super::note::{NoteError, VerifierKey};
use crate::paths::EntryPath;
use crate::store::format::EntryKind;

pub const INCLUSION_HEADER: &str = "custody inclusion proof v1";
pub const ABSENCE_HEADER: &str = "custody absence proof v1";
pub const CONSISTENCY_HEADER: &str = "custody log consistency proof v1";
/// Proof files larger than this are refused before parsing: a real one is ~2 KB.
pub const MAX_PROOF_BYTES: usize = 1 << 20;
/// Audit paths longer than this cannot be real (a tree of 2^64 leaves has 64).
const MAX_PATH_HASHES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a custody proof (first line is {0:?})")]
    UnknownFormat(String),
    #[error("line {line}: {reason}")]
    Parse { line: usize, reason: String },
    #[error("proof is larger than {MAX_PROOF_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("signature: {0}")]
    Note(#[from] NoteError),
    #[error("Merkle proof does not verify: {0}")]
    Merkle(#[from] ProofError),
    #[error("the checkpoint's root {got} is not the trusted root {want}")]
    UntrustedRoot { got: String, want: String },
    #[error("the claimed file has content {got}, but the proof is about {want}")]
    ClaimMismatch { got: String, want: String },
    #[error("absence proof is inconsistent: {0}")]
    Absence(&'static str),
    #[error("manifest: {0}")]
    Manifest(String),
}

fn parse_err(line: usize, reason: impl Into<String>) -> VerifyError {
    VerifyError::Parse {
        line,
        reason: reason.into(),
    }
}

/// A leaf and where it sits, with its audit path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenLeaf {
    pub index: u64,
    pub leaf: Leaf,
    pub path: Vec<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub leaf: ProvenLeaf,
    pub checkpoint: CheckpointNote,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceProof {
    pub absent: [u8; 32],
    pub left: Option<ProvenLeaf>,
    pub right: Option<ProvenLeaf>,
    pub checkpoint: CheckpointNote,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub old_root: [u8; 32],
    pub new_size: u64,
    pub new_root: [u8; 32],
    pub path: Vec<[u8; 32]>,
}

/// Any proof file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    Inclusion(InclusionProof),
    Absence(AbsenceProof),
    Consistency(ConsistencyProof),
}

fn leaf_line(tag: &str, p: &ProvenLeaf) -> String {
    let mut s = format!(
        "{tag} {} {} {} {} {}\n",
        p.index,
        p.leaf.kind.name(),
        p.leaf.size,
        hex::encode(p.leaf.hash),
        p.leaf.path.escaped()
    );
    for h in &p.path {
        let _ = writeln!(s, "{}", B64.encode(h));
    }
    s
}

impl Proof {
    pub fn encode(&self) -> String {
        match self {
            Proof::Inclusion(p) => format!(
                "{INCLUSION_HEADER}\n{}\n{}",
                leaf_line("leaf", &p.leaf),
                p.checkpoint.encode()
            ),
            Proof::Absence(p) => {
                let mut s = format!("{ABSENCE_HEADER}\nabsent {}\n", hex::encode(p.absent));
                if let Some(l) = &p.left {
                    s.push_str(&leaf_line("left", l));
                }
                if let Some(r) = &p.right {
                    s.push_str(&leaf_line("right", r));
                }
                s.push('\n');
                s.push_str(&p.checkpoint.encode());
                s
            }
            Proof::Consistency(p) => {
                let mut s = format!(
                    "{CONSISTENCY_HEADER}\nold {} {}\nnew {} {}\n",
                    p.old_size,
                    B64.encode(p.old_root),
                    p.new_size,
                    B64.encode(p.new_root)
                );
                for h in &p.path {
                    let _ = writeln!(s, "{}", B64.encode(h));
                }
                s
            }
        }
    }

    pub fn parse(text: &str) -> Result<Proof, VerifyError> {
        if text.len() > MAX_PROOF_BYTES {
            return Err(VerifyError::TooLarge);
        }
        // One text form only: \n line ends, a final newline, no other control
        // characters (a CR would otherwise slip through `lines()`).
        if let Some(i) = text.find(|c: char| c.is_control() && c != '\n') {
            return Err(parse_err(
                text[..i].matches('\n').count() + 1,
                "control character (only \\n line ends are allowed)",
            ));
        }
        if !text.ends_with('\n') {
            return Err(parse_err(
                text.matches('\n').count() + 1,
                "the file does not end in a newline",
            ));
        }
        let (head, note) = match text.find("\n\n") {
            Some(i) => (&text[..i + 1], Some(&text[i + 2..])),
            None => (text, None),
        };
        let mut lines: Lines = head.lines().enumerate().map(number as NumberFn).peekable();
        let (_, first) = lines
            .next()
            .ok_or_else(|| VerifyError::UnknownFormat(String::new()))?;
        match first {
            INCLUSION_HEADER => {
                let leaf = parse_leaf(&mut lines, "leaf")?
                    .ok_or_else(|| parse_err(2, "expected a 'leaf' line"))?;
                expect_end(&mut lines)?;
                let checkpoint = parse_note(note)?;
                Ok(Proof::Inclusion(InclusionProof { leaf, checkpoint }))
            }
            ABSENCE_HEADER => {
                let (n, l) = lines
                    .next()
                    .ok_or_else(|| parse_err(2, "expected an 'absent' line"))?;
                let absent = l
                    .strip_prefix("absent ")
                    .and_then(hex32)
                    .ok_or_else(|| parse_err(n, "expected 'absent <64 hex digits>'"))?;
                let left = parse_leaf(&mut lines, "left")?;
                let right = parse_leaf(&mut lines, "right")?;
                expect_end(&mut lines)?;
                let checkpoint = parse_note(note)?;
                Ok(Proof::Absence(AbsenceProof {
                    absent,
                    left,
                    right,
                    checkpoint,
                }))
            }
            CONSISTENCY_HEADER => {
                if note.is_some() {
                    return Err(parse_err(0, "unexpected empty line"));
                }
                let mut size_root = |tag: &str| -> Result<(u64, [u8; 32]), VerifyError> {
                    let (n, l) = lines
                        .next()
                        .ok_or_else(|| parse_err(0, format!("expected a '{tag}' line")))?;
                    let rest = l
                        .strip_prefix(tag)
                        .and_then(|r| r.strip_prefix(' '))
                        .ok_or_else(|| parse_err(n, format!("expected '{tag} <size> <root>'")))?;
                    let (size, root) = rest
                        .split_once(' ')
                        .ok_or_else(|| parse_err(n, "expected a size and a root"))?;
                    Ok((
                        parse_u64(size).ok_or_else(|| parse_err(n, "size is not a number"))?,
                        b64_32(root)
                            .ok_or_else(|| parse_err(n, "root is not 32 bytes of base64"))?,
                    ))
                };
                let (old_size, old_root) = size_root("old")?;
                let (new_size, new_root) = size_root("new")?;
                let path = parse_hashes(&mut lines)?;
                expect_end(&mut lines)?;
                Ok(Proof::Consistency(ConsistencyProof {
                    old_size,
                    old_root,
                    new_size,
                    new_root,
                    path,
                }))
            }
            other => Err(VerifyError::UnknownFormat(other.chars().take(80).collect())),
        }
    }
}

type Lines<'a> =
    std::iter::Peekable<std::iter::Map<std::iter::Enumerate<std::str::Lines<'a>>, NumberFn<'a>>>;
type NumberFn<'a> = fn((usize, &'a str)) -> (usize, &'a str);

/// Line numbers from 1.
fn number(x: (usize, &str)) -> (usize, &str) {
    (x.0 + 1, x.1)
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

fn b64_32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 44 {
        return None;
    }
    B64.decode(s).ok()?.try_into().ok()
}

fn parse_kind(s: &str) -> Option<EntryKind> {
    EntryKind::from_name(s)
}

/// `<tag> <index> <kind> <size> <hex hash> <escaped path>` then base64 hashes.
fn parse_leaf<'a>(lines: &mut Lines<'a>, tag: &str) -> Result<Option<ProvenLeaf>, VerifyError> {
    let Some(&(n, l)) = lines.peek() else {
        return Ok(None);
    };
    let Some(rest) = l.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) else {
        return Ok(None);
    };
    lines.next();
    let mut f = rest.splitn(5, ' ');
    let (Some(index), Some(kind), Some(size), Some(hash), Some(path)) =
        (f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return Err(parse_err(
            n,
            format!("expected '{tag} <index> <kind> <size> <hash> <path>'"),
        ));
    };
    let leaf = Leaf {
        kind: parse_kind(kind).ok_or_else(|| parse_err(n, format!("unknown kind {kind:?}")))?,
        size: parse_u64(size).ok_or_else(|| parse_err(n, "size is not a number"))?,
        hash: hex32(hash).ok_or_else(|| parse_err(n, "hash is not 64 lower-case hex digits"))?,
        path: EntryPath::parse_escaped(path).map_err(|e| parse_err(n, format!("bad path: {e}")))?,
    };
    leaf.check().map_err(|e| parse_err(n, e))?;
    let index = parse_u64(index).ok_or_else(|| parse_err(n, "index is not a number"))?;
    let path = parse_hashes(lines)?;
    Ok(Some(ProvenLeaf { index, leaf, path }))
}

fn parse_hashes(lines: &mut Lines<'_>) -> Result<Vec<[u8; 32]>, VerifyError> {
    let mut out = Vec::new();
    while let Some(&(n, l)) = lines.peek() {
        if l.contains(' ') {
            break;
        }
        lines.next();
        if out.len() == MAX_PATH_HASHES {
            return Err(parse_err(n, "audit path is too long"));
        }
        out.push(b64_32(l).ok_or_else(|| parse_err(n, "audit hash is not 32 bytes of base64"))?);
    }
    Ok(out)
}

fn expect_end(lines: &mut Lines<'_>) -> Result<(), VerifyError> {
    match lines.next() {
        None => Ok(()),
        Some((n, l)) => Err(parse_err(
            n,
            format!(
                "unexpected line {:?}",
                l.chars().take(60).collect::<String>()
            ),
        )),
    }
}

fn parse_note(note: Option<&str>) -> Result<CheckpointNote, VerifyError> {
    let note = note.ok_or_else(|| parse_err(0, "no checkpoint after the blank line"))?;
    Ok(CheckpointNote::parse(note)?)
}

/// What a proof is anchored to.
#[derive(Debug, Clone, Default)]
pub struct Anchor {
    /// Trusted verifier keys: at least one must have signed the checkpoint.
    pub keys: Vec<VerifierKey>,
    /// A trusted root: the checkpoint's root must be this.
    pub root: Option<[u8; 32]>,
}

/// How the verified statement is anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "detail")]
pub enum Trust {
    /// Signed by these trusted keys.
    SignedBy(Vec<String>),
    /// The root is the one the user gave.
    Root,
    /// Nothing vouches for the root: the proof is only consistent with it.
    Unanchored,
}

/// What a verified proof establishes.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub kind: &'static str,
    pub release: Option<String>,
    pub origin: Option<String>,
    pub root: String,
    pub size: u64,
    pub trust: Trust,
    /// For inclusion: the content, path and position proven.
    pub content: Option<String>,
    pub path: Option<EntryPath>,
    pub index: Option<u64>,
    /// The claim file's content id matched the proof.
    pub claim_checked: bool,
    /// One sentence saying what was proven.
    pub statement: String,
}

pub(crate) fn anchor(c: &CheckpointNote, a: &Anchor) -> Result<Trust, VerifyError> {
    if let Some(r) = &a.root
        && *r != c.checkpoint.root
    {
        return Err(VerifyError::UntrustedRoot {
            got: hex::encode(c.checkpoint.root),
            want: hex::encode(r),
        });
    }
    if !a.keys.is_empty() {
        return Ok(Trust::SignedBy(c.note.verify(&a.keys)?));
    }
    Ok(if a.root.is_some() {
        Trust::Root
    } else {
        Trust::Unanchored
    })
}

pub(crate) fn trust_words(t: &Trust, root_hex: &str) -> String {
    match t {
        Trust::SignedBy(names) => {
            format!("whose root {root_hex} was signed by {}", names.join(", "))
        }
        Trust::Root => format!("whose root {root_hex} is the root you trusted"),
        Trust::Unanchored => format!(
            "whose root is {root_hex} — NOT ANCHORED: nothing vouches for that root (pass --vkey or --root)"
        ),
    }
}

fn check_leaf(p: &ProvenLeaf, size: u64, root: &[u8; 32]) -> Result<(), VerifyError> {
    Ok(merkle::verify_inclusion::<Blake3>(
        p.index,
        size,
        &p.leaf.hash_leaf(),
        &p.path,
        root,
    )?)
}

/// Verifies a proof; `claim` is the BLAKE3 of a claimed file, when one was given.
pub fn verify(
    proof: &Proof,
    trusted: &Anchor,
    claim: Option<[u8; 32]>,
) -> Result<Verified, VerifyError> {
    match proof {
        Proof::Inclusion(p) => {
            let c = &p.checkpoint.checkpoint;
            check_leaf(&p.leaf, c.size, &c.root)?;
            if let Some(h) = claim
                && h != p.leaf.leaf.hash
            {
                return Err(VerifyError::ClaimMismatch {
                    got: hex::encode(h),
                    want: hex::encode(p.leaf.leaf.hash),
                });
            }
            let trust = anchor(&p.checkpoint, trusted)?;
            let root_hex = hex::encode(c.root);
            let l = &p.leaf.leaf;
            let statement = format!(
                "{} b3:{} ({} bytes) is at path {} in release {} (entry {} of {}) {}",
                if l.kind == EntryKind::File {
                    "content"
                } else {
                    l.kind.name()
                },
                hex::encode(l.hash),
                l.size,
                l.path,
                c.release,
                p.leaf.index,
                c.size,
                trust_words(&trust, &root_hex)
            );
            Ok(Verified {
                kind: "inclusion",
                release: Some(c.release.clone()),
                origin: Some(c.origin.clone()),
                root: root_hex,
                size: c.size,
                trust,
                content: Some(hex::encode(l.hash)),
                path: Some(l.path.clone()),
                index: Some(p.leaf.index),
                claim_checked: claim.is_some(),
                statement,
            })
        }
        Proof::Absence(p) => {
            let c = &p.checkpoint.checkpoint;
            if let Some(h) = claim
                && h != p.absent
            {
                return Err(VerifyError::ClaimMismatch {
                    got: hex::encode(h),
                    want: hex::encode(p.absent),
                });
            }
            check_absence(p, c.size, &c.root)?;
            let trust = anchor(&p.checkpoint, trusted)?;
            let root_hex = hex::encode(c.root);
            let statement = format!(
                "no entry of release {} ({} entries) has content b3:{} {}",
                c.release,
                c.size,
                hex::encode(p.absent),
                trust_words(&trust, &root_hex)
            );
            Ok(Verified {
                kind: "absence",
                release: Some(c.release.clone()),
                origin: Some(c.origin.clone()),
                root: root_hex,
                size: c.size,
                trust,
                content: Some(hex::encode(p.absent)),
                path: None,
                index: None,
                claim_checked: claim.is_some(),
                statement,
            })
        }
        Proof::Consistency(p) => {
            merkle::verify_consistency::<Blake3>(
                p.old_size,
                p.new_size,
                &p.old_root,
                &p.new_root,
                &p.path,
            )?;
            let trust = match trusted.root {
                Some(r) if r == p.new_root => Trust::Root,
                Some(r) => {
                    return Err(VerifyError::UntrustedRoot {
                        got: hex::encode(p.new_root),
                        want: hex::encode(r),
                    });
                }
                None => Trust::Unanchored,
            };
            let statement = format!(
                "the release log of {} heads with root {} extends the log of {} heads with root {}: releases were only added{}",
                p.new_size,
                hex::encode(p.new_root),
                p.old_size,
                hex::encode(p.old_root),
                if trust == Trust::Root {
                    " (new root trusted)"
                } else {
                    " — NOT ANCHORED: compare both roots with ones published"
                }
            );
            Ok(Verified {
                kind: "log-consistency",
                release: None,
                origin: None,
                root: hex::encode(p.new_root),
                size: p.new_size,
                trust,
                content: None,
                path: None,
                index: None,
                claim_checked: false,
                statement,
            })
        }
    }
}

fn check_absence(p: &AbsenceProof, size: u64, root: &[u8; 32]) -> Result<(), VerifyError> {
    if size == 0 {
        if p.left.is_some() || p.right.is_some() {
            return Err(VerifyError::Absence(
                "an empty release has no leaves to show",
            ));
        }
        // Only the empty tree has size 0: without this any root could claim it.
        if *root != <Blake3 as super::merkle::TreeHash>::empty() {
            return Err(VerifyError::Absence(
                "size 0, but the root is not the empty tree's",
            ));
        }
        return Ok(());
    }
    match (&p.left, &p.right) {
        (None, None) => return Err(VerifyError::Absence("no neighbouring leaves given")),
        (Some(l), Some(r)) => {
            if l.index.checked_add(1) != Some(r.index) {
                return Err(VerifyError::Absence(
                    "left and right leaves are not adjacent",
                ));
            }
        }
        (None, Some(r)) => {
            if r.index != 0 {
                return Err(VerifyError::Absence(
                    "without a left leaf, the right leaf must be the first",
                ));
            }
        }
        (Some(l), None) => {
            if l.index.checked_add(1) != Some(size) {
                return Err(VerifyError::Absence(
                    "without a right leaf, the left leaf must be the last",
                ));
            }
        }
    }
    if let Some(l) = &p.left {
        if l.leaf.hash >= p.absent {
            return Err(VerifyError::Absence(
                "the left leaf's hash is not below the absent hash",
            ));
        }
        check_leaf(l, size, root)?;
    }
    if let Some(r) = &p.right {
        if r.leaf.hash <= p.absent {
            return Err(VerifyError::Absence(
                "the right leaf's hash is not above the absent hash",
            ));
        }
        check_leaf(r, size, root)?;
    }
    Ok(())
}
