//! `log`: the append-only release log, one head per committed release, and
//! consistency proofs that show a later log only added heads to an earlier one.

use redb::ReadableTable;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::manifest::merkle::{self, Blake3, TreeHash};
use crate::manifest::proof::{ConsistencyProof, Proof};
use crate::store::Store;
use crate::store::format::ReleaseHead;
use crate::timefmt::rfc3339;

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub index: u64,
    pub release: String,
    pub root: String,
    pub entries: u64,
    pub parent_root: Option<String>,
    pub created: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    pub size: u64,
    /// Merkle root over the heads (BLAKE3 of each head's bytes as leaves).
    pub root: String,
    pub heads: Vec<LogEntry>,
}

fn heads(store: &Store) -> Result<Vec<(ReleaseHead, Vec<u8>)>> {
    let snap = store.snapshot()?;
    let mut out = Vec::new();
    for (i, row) in snap.log.iter()?.enumerate() {
        let (k, v) = row?;
        if k.value() != i as u64 {
            return Err(Error::Damaged(format!(
                "release log has a gap at position {i}"
            )));
        }
        let bytes = v.value().to_vec();
        let h = ReleaseHead::decode(&bytes)
            .map_err(|e| Error::corrupt(format!("release log head {i}"), e))?;
        out.push((h, bytes));
    }
    Ok(out)
}

fn leaf_hashes(h: &[(ReleaseHead, Vec<u8>)]) -> Vec<[u8; 32]> {
    h.iter().map(|(_, b)| Blake3::leaf(b)).collect()
}

pub fn log(store: &Store) -> Result<LogReport> {
    let h = heads(store)?;
    let root = merkle::root::<Blake3>(&leaf_hashes(&h));
    Ok(LogReport {
        size: h.len() as u64,
        root: hex::encode(root),
        heads: h
            .into_iter()
            .enumerate()
            .map(|(i, (h, _))| LogEntry {
                index: i as u64,
                release: h.name,
                root: hex::encode(h.root),
                entries: h.entries,
                parent_root: (h.parent_root != [0; 32]).then(|| hex::encode(h.parent_root)),
                created: rfc3339(h.created_ns),
            })
            .collect(),
    })
}

/// A proof that the log at `new_size` (default: now) extends the log at `old_size`.
pub fn consistency(store: &Store, old_size: u64, new_size: Option<u64>) -> Result<Proof> {
    let h = heads(store)?;
    let leaves = leaf_hashes(&h);
    let n = new_size.unwrap_or(leaves.len() as u64);
    if old_size == 0 {
        return Err(Error::Invalid(
            "a consistency proof starts from a log of at least one head".into(),
        ));
    }
    if n > leaves.len() as u64 || old_size > n {
        return Err(Error::Invalid(format!(
            "the log has {} heads; cannot prove {old_size} → {n}",
            leaves.len()
        )));
    }
    let mut mth = |a: u64, b: u64| Ok::<_, Error>(merkle::range_root::<Blake3>(&leaves, a, b));
    let path = merkle::consistency_path::<Blake3, Error>(old_size, n, &mut mth)?;
    Ok(Proof::Consistency(ConsistencyProof {
        old_size,
        old_root: merkle::root::<Blake3>(&leaves[..old_size as usize]),
        new_size: n,
        new_root: merkle::root::<Blake3>(&leaves[..n as usize]),
        path,
    }))
}
