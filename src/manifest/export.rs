//! Exported manifests (docs/PROOFS.md, "Manifest files"): every leaf of a release, one
//! line each, then its checkpoint. Written and verified as a stream, so a manifest of
//! millions of entries needs no more memory than one line.
//!
//! ```text
//! custody manifest v1
//! release <name>
//! entries <n>
//! <hex content hash> <size> <kind> <escaped path>      (n lines, leaf order)
//!                                                      (blank line)
//! <checkpoint note>
//! ```

use std::io::{BufRead, Read, Write};

use serde::Serialize;

use super::checkpoint::CheckpointNote;
use super::leaf::Leaf;
use super::merkle::{Blake3, RootBuilder};
use super::proof::{Anchor, Trust, VerifyError};
use crate::paths::EntryPath;
use crate::store::format::EntryKind;

pub const MANIFEST_HEADER: &str = "custody manifest v1";
/// Longest line accepted (a path is at most 16 KiB escaped up to 4x).
const MAX_LINE: usize = 80 * 1024;
/// Longest checkpoint note accepted at the end.
const MAX_NOTE: usize = 1 << 20;

/// The line of one leaf.
pub fn leaf_line(l: &Leaf) -> String {
    format!(
        "{} {} {} {}\n",
        hex::encode(l.hash),
        l.size,
        l.kind.name(),
        l.path.escaped()
    )
}

/// Writes a manifest from leaves in leaf order.
pub fn write_manifest(
    w: &mut dyn Write,
    release: &str,
    count: u64,
    leaves: impl Iterator<Item = crate::Result<Leaf>>,
    checkpoint: &CheckpointNote,
) -> crate::Result<u64> {
    let io = |e| crate::Error::io("manifest", "write", e);
    write!(w, "{MANIFEST_HEADER}\nrelease {release}\nentries {count}\n").map_err(io)?;
    let mut n = 0u64;
    for l in leaves {
        w.write_all(leaf_line(&l?).as_bytes()).map_err(io)?;
        n += 1;
    }
    write!(w, "\n{}", checkpoint.encode()).map_err(io)?;
    Ok(n)
}

/// A manifest that verified.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedManifest {
    pub release: String,
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub trust: Trust,
    /// Leaves whose content is the claim's, with their positions.
    pub claim_paths: Vec<(u64, EntryPath)>,
    pub claim: Option<String>,
    pub statement: String,
}

fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, n: usize) -> Result<bool, VerifyError> {
    buf.clear();
    let got = r
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)
        .map_err(|e| VerifyError::Manifest(format!("line {n}: {e}")))?;
    if got == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') {
        return Err(if buf.len() > MAX_LINE {
            VerifyError::Manifest(format!("line {n} is longer than {MAX_LINE} bytes"))
        } else {
            VerifyError::Manifest(format!("line {n} does not end in a newline"))
        });
    }
    buf.pop();
    Ok(true)
}

fn err(n: usize, what: impl std::fmt::Display) -> VerifyError {
    VerifyError::Manifest(format!("line {n}: {what}"))
}

/// Parses one leaf line without its newline, as [`verify_manifest`] reads it: only
/// the text [`leaf_line`] writes is accepted.
pub fn parse_leaf_line(line: &[u8]) -> Result<Leaf, VerifyError> {
    parse_leaf(line, 1)
}

fn parse_leaf(line: &[u8], n: usize) -> Result<Leaf, VerifyError> {
    let s = std::str::from_utf8(line).map_err(|_| err(n, "not UTF-8"))?;
    let mut f = s.splitn(4, ' ');
    let (Some(h), Some(size), Some(kind), Some(path)) = (f.next(), f.next(), f.next(), f.next())
    else {
        return Err(err(n, "expected '<hash> <size> <kind> <path>'"));
    };
    let mut hash = [0u8; 32];
    if h.len() != 64
        || h.bytes().any(|b| b.is_ascii_uppercase())
        || hex::decode_to_slice(h, &mut hash).is_err()
    {
        return Err(err(n, "hash is not 64 lower-case hex digits"));
    }
    if size.is_empty()
        || !size.bytes().all(|b| b.is_ascii_digit())
        || (size.len() > 1 && size.starts_with('0'))
    {
        return Err(err(n, "size is not a number"));
    }
    let size = size.parse().map_err(|_| err(n, "size is not a number"))?;
    let kind =
        EntryKind::from_name(kind).ok_or_else(|| err(n, format!("unknown kind {kind:?}")))?;
    let path = EntryPath::parse_escaped(path).map_err(|e| err(n, format!("bad path: {e}")))?;
    let leaf = Leaf {
        kind,
        size,
        hash,
        path,
    };
    leaf.check().map_err(|e| err(n, e))?;
    Ok(leaf)
}

fn header(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    n: usize,
    prefix: &str,
) -> Result<String, VerifyError> {
    if !read_line(r, buf, n)? {
        return Err(err(n, "manifest ends early"));
    }
    let s = std::str::from_utf8(buf).map_err(|_| err(n, "not UTF-8"))?;
    s.strip_prefix(prefix)
        .map(str::to_string)
        .ok_or_else(|| err(n, format!("expected {prefix:?}")))
}

/// Reads a manifest, recomputes its root from every leaf, and checks it against the
/// checkpoint and the anchor. `claim` is a content hash to look for.
pub fn verify_manifest(
    r: impl BufRead,
    anchor: &Anchor,
    claim: Option<[u8; 32]>,
) -> Result<VerifiedManifest, VerifyError> {
    verify_manifest_with(r, anchor, claim, &mut |_| {})
}

/// Reads every leaf of a manifest, checking its order and its root against its own
/// checkpoint (not anchored: the caller decides whom to trust).
pub fn read_leaves(
    r: impl BufRead,
    on_leaf: &mut dyn FnMut(&Leaf),
) -> Result<VerifiedManifest, VerifyError> {
    verify_manifest_with(r, &Anchor::default(), None, on_leaf)
}

/// [`verify_manifest`], handing each leaf to `on_leaf` as it is read.
pub fn verify_manifest_with(
    mut r: impl BufRead,
    anchor: &Anchor,
    claim: Option<[u8; 32]>,
    on_leaf: &mut dyn FnMut(&Leaf),
) -> Result<VerifiedManifest, VerifyError> {
    let mut buf = Vec::new();
    let mut n = 1;
    let first = header(&mut r, &mut buf, n, "")?;
    if first != MANIFEST_HEADER {
        return Err(VerifyError::UnknownFormat(first.chars().take(80).collect()));
    }
    n += 1;
    let release = header(&mut r, &mut buf, n, "release ")?;
    n += 1;
    let entries = header(&mut r, &mut buf, n, "entries ")?;
    if entries.is_empty()
        || !entries.bytes().all(|b| b.is_ascii_digit())
        || (entries.len() > 1 && entries.starts_with('0'))
    {
        return Err(err(
            n,
            "entries is not a decimal number without leading zeros",
        ));
    }
    let entries: u64 = entries
        .parse()
        .map_err(|_| err(n, "entries is not a number"))?;
    let mut b = RootBuilder::<Blake3>::new();
    let mut prev: Option<Leaf> = None;
    let mut claim_paths = Vec::new();
    for i in 0..entries {
        n += 1;
        if !read_line(&mut r, &mut buf, n)? {
            return Err(err(
                n,
                format!("manifest ends after {i} of {entries} leaves"),
            ));
        }
        let leaf = parse_leaf(&buf, n)?;
        if let Some(p) = &prev
            && p.order_key() >= leaf.order_key()
        {
            return Err(err(n, "leaves are not in (hash, path) order"));
        }
        if claim == Some(leaf.hash) {
            claim_paths.push((i, leaf.path.clone()));
        }
        b.push(leaf.hash_leaf(), |_, _, _| {});
        on_leaf(&leaf);
        prev = Some(leaf);
    }
    n += 1;
    if !read_line(&mut r, &mut buf, n)? || !buf.is_empty() {
        return Err(err(n, "expected a blank line after the leaves"));
    }
    let mut note = Vec::new();
    r.take(MAX_NOTE as u64 + 1)
        .read_to_end(&mut note)
        .map_err(|e| VerifyError::Manifest(e.to_string()))?;
    if note.len() > MAX_NOTE {
        return Err(VerifyError::Manifest("checkpoint is too large".into()));
    }
    let note = String::from_utf8(note)
        .map_err(|_| VerifyError::Manifest("checkpoint is not UTF-8".into()))?;
    let cp = CheckpointNote::parse(&note)?;
    let c = &cp.checkpoint;
    if c.release != release {
        return Err(VerifyError::Manifest(format!(
            "manifest says release {release:?}, its checkpoint {:?}",
            c.release
        )));
    }
    if c.size != entries {
        return Err(VerifyError::Manifest(format!(
            "manifest has {entries} leaves, its checkpoint says {}",
            c.size
        )));
    }
    if b.root() != c.root {
        return Err(VerifyError::Manifest(
            "the leaves do not hash to the checkpoint's root".into(),
        ));
    }
    let trust = super::proof::anchor(&cp, anchor)?;
    let root_hex = hex::encode(c.root);
    let tw = super::proof::trust_words(&trust, &root_hex);
    let statement = match claim {
        None => format!("release {release} has exactly these {entries} entries, {tw}"),
        Some(h) if claim_paths.is_empty() => format!(
            "no entry of release {release} ({entries} entries) has content b3:{}, {tw}",
            hex::encode(h)
        ),
        Some(h) => format!(
            "content b3:{} is at {} in release {release} ({entries} entries), {tw}",
            hex::encode(h),
            claim_paths
                .iter()
                .map(|(i, p)| format!("path {p} (entry {i})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Ok(VerifiedManifest {
        release,
        origin: c.origin.clone(),
        size: entries,
        root: root_hex,
        trust,
        claim: claim.map(hex::encode),
        claim_paths,
        statement,
    })
}
