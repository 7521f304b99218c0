//! `prove`, `prove-absent` and `manifest export`: proofs and manifests made from the
//! store, each carrying the release's checkpoint (signed when `head sign` was run).

use std::io::Write;

use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::manifest::checkpoint::{Checkpoint, CheckpointNote, default_origin};
use crate::manifest::export::write_manifest;
use crate::manifest::leaf::Leaf;
use crate::manifest::proof::{AbsenceProof, InclusionProof, Proof, ProvenLeaf};
use crate::ops::ls::parse_user_path;
use crate::store::format::{decode_content_value, split_content_key};
use crate::store::tree::{Neighbours, StoredTree};
use crate::store::{Release, Snapshot, Store, prefix_range};
use crate::timefmt::rfc3339;

/// The unsigned checkpoint of a release, with the given origin.
pub fn release_checkpoint(
    snap: &Snapshot,
    rel: &Release,
    origin: Option<&str>,
) -> Result<Checkpoint> {
    let parent = match &rel.record.parent {
        Some(p) => Some((p.clone(), snap.release(p)?.record.root)),
        None => None,
    };
    Ok(Checkpoint {
        origin: origin
            .map(str::to_string)
            .unwrap_or_else(|| default_origin(&rel.name)),
        size: rel.record.entries(),
        root: rel.record.root,
        release: rel.name.clone(),
        created: rfc3339(rel.record.created_ns),
        parent,
    })
}

/// The checkpoint proofs of this release carry: the signed head stored by
/// `head sign`, or else the unsigned checkpoint.
pub fn checkpoint_for(snap: &Snapshot, rel: &Release) -> Result<CheckpointNote> {
    if let Some(v) = snap.signed_heads.get(rel.name.as_str())? {
        let text = std::str::from_utf8(v.value())
            .map_err(|_| Error::Damaged(format!("signed head of {:?} is not UTF-8", rel.name)))?;
        let cp = CheckpointNote::parse(text)
            .map_err(|e| Error::Damaged(format!("signed head of {:?}: {e}", rel.name)))?;
        if cp.checkpoint.root != rel.record.root || cp.checkpoint.size != rel.record.entries() {
            return Err(Error::Damaged(format!(
                "signed head of {:?} does not match the release's root",
                rel.name
            )));
        }
        return Ok(cp);
    }
    CheckpointNote::unsigned(release_checkpoint(snap, rel, None)?)
        .map_err(|e| Error::Invalid(e.to_string()))
}

fn tree<'s>(snap: &'s Snapshot, rel: &Release) -> StoredTree<'s> {
    StoredTree::new(snap, rel.id(), rel.record.entries())
}

fn proven(t: &StoredTree, index: u64, leaf: Leaf) -> Result<ProvenLeaf> {
    Ok(ProvenLeaf {
        index,
        path: t.inclusion(index)?,
        leaf,
    })
}

/// What to prove present.
pub enum Target<'a> {
    Path(&'a str),
    Hash(BlobId),
}

/// An inclusion proof for an entry (by path) or for content (its first entry).
pub fn prove(store: &Store, release: &str, target: Target) -> Result<Proof> {
    let snap = store.snapshot()?;
    let rel = snap.release(release)?;
    let t = tree(&snap, &rel);
    let (index, leaf) = match target {
        Target::Path(p) => {
            let path = parse_user_path(Some(p))?;
            let e = snap
                .entry(rel.id(), path.as_bytes())?
                .ok_or_else(|| Error::PathNotFound {
                    release: release.to_string(),
                    path: path.to_string(),
                })?;
            let i = t.index_of(&e.hash, path.as_bytes())?.ok_or_else(|| {
                Error::Damaged(format!("{path} is missing from the release's tree"))
            })?;
            let leaf = t.leaf(i)?;
            if leaf.path != path {
                return Err(Error::Damaged(format!(
                    "tree position of {path} holds {}",
                    leaf.path
                )));
            }
            (i, leaf)
        }
        Target::Hash(h) => t.first_with_hash(h.as_bytes())?.ok_or_else(|| {
            Error::Invalid(format!(
                "release {release:?} has no entry with content {h}; `prove-absent` proves that"
            ))
        })?,
    };
    Ok(Proof::Inclusion(InclusionProof {
        leaf: proven(&t, index, leaf)?,
        checkpoint: checkpoint_for(&snap, &rel)?,
    }))
}

/// A proof that no entry of the release has content `hash`.
pub fn prove_absent(store: &Store, release: &str, hash: BlobId) -> Result<Proof> {
    let snap = store.snapshot()?;
    let rel = snap.release(release)?;
    let t = tree(&snap, &rel);
    let (left, right) = match t.neighbours(hash.as_bytes())? {
        Neighbours::Present => {
            return Err(Error::Invalid(format!(
                "release {release:?} does contain content {hash}: absence cannot be proven (see `prove --hash`)"
            )));
        }
        Neighbours::Absent { left, right } => (left, right),
    };
    let left = left.map(|(i, l)| proven(&t, i, l)).transpose()?;
    let right = right.map(|(i, l)| proven(&t, i, l)).transpose()?;
    Ok(Proof::Absence(AbsenceProof {
        absent: hash.0,
        left,
        right,
        checkpoint: checkpoint_for(&snap, &rel)?,
    }))
}

/// Writes the release's manifest; returns the number of leaves.
pub fn export_manifest(store: &Store, release: &str, out: &mut dyn Write) -> Result<u64> {
    let snap = store.snapshot()?;
    let rel = snap.release(release)?;
    let cp = checkpoint_for(&snap, &rel)?;
    let prefix = rel.id().to_le_bytes();
    let range = prefix_range(&snap.by_content, &prefix, &prefix)?;
    let leaves = range.map(|row| -> Result<Leaf> {
        let (k, v) = row?;
        let (_, hash, path) =
            split_content_key(k.value()).map_err(|e| Error::corrupt("content index key", e))?;
        let (kind, size) =
            decode_content_value(v.value()).map_err(|e| Error::corrupt("content index row", e))?;
        Ok(Leaf {
            kind,
            size,
            hash,
            path: crate::paths::EntryPath::from_raw(path.to_vec()),
        })
    });
    write_manifest(out, release, rel.record.entries(), leaves, &cp)
}
