//! A release's Merkle tree, kept in the store so a proof costs a few lookups instead
//! of a pass over the whole manifest.
//!
//! The leaves are the release's `by_content` rows in key order. Kept besides them:
//! every complete, aligned subtree of 2^`BLOCK_LEVEL` leaves or more (`tree_nodes`),
//! and, for every block of 2^`BLOCK_LEVEL` leaves, the key of its first leaf, both
//! ways (`leaf_blocks`: block number → key, `block_starts`: key → block number).
//! Anything below a block is recomputed from the block's leaves (at most 256 rows).

use std::cell::RefCell;
use std::collections::HashMap;

use redb::{TableDefinition, WriteTransaction};

use super::format::*;
use super::prefix_range;
use super::snapshot::Snapshot;
use super::walk::CheckedWalk;
use crate::error::{Error, Result};
use crate::manifest::leaf::Leaf;
use crate::manifest::merkle::{self, Blake3, RootBuilder, TreeHash, split_point};
use crate::paths::EntryPath;

/// Subtrees of 2^BLOCK_LEVEL leaves and larger are stored (`BLOCK_LEVEL`).
pub const BLOCK_LEVEL: u32 = 8;
/// Leaves per block (`BLOCK_LEAVES`).
pub const BLOCK_LEAVES: u64 = 1 << BLOCK_LEVEL;

pub const TREE_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tree_nodes");
pub const LEAF_BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("leaf_blocks");
pub const BLOCK_STARTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("block_starts");

/// Key of `tree_nodes`: release id, level, index (all little-endian).
pub fn node_key(release: u32, level: u32, index: u64) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[..4].copy_from_slice(&release.to_le_bytes());
    k[4] = level as u8;
    k[5..].copy_from_slice(&index.to_le_bytes());
    k
}

/// Key of `leaf_blocks`: release id, block number.
pub fn block_key(release: u32, block: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&release.to_le_bytes());
    k[4..].copy_from_slice(&block.to_le_bytes());
    k
}

fn leaf_from_row(key: &[u8], value: &[u8]) -> Result<Leaf> {
    let (_, hash, path) =
        split_content_key(key).map_err(|e| Error::corrupt("content index key", e))?;
    let (kind, size) = decode_content_value(value)
        .map_err(|e| Error::corrupt(format!("content index row of {}", path_of(path)), e))?;
    Ok(Leaf {
        kind,
        size,
        hash,
        path: EntryPath::from_raw(path.to_vec()),
    })
}

/// What building a release's tree produced.
#[derive(Debug, Clone, Copy)]
pub struct BuiltTree {
    pub root: [u8; 32],
    pub size: u64,
}

/// Computes the release's root from its `by_content` rows and stores the nodes and
/// block keys proofs need. Runs inside the transaction that commits the release.
pub(crate) fn build(txn: &WriteTransaction, release: u32) -> Result<BuiltTree> {
    let by_content = txn.open_table(BY_CONTENT)?;
    let mut nodes = txn.open_table(TREE_NODES)?;
    let mut blocks = txn.open_table(LEAF_BLOCKS)?;
    let mut starts = txn.open_table(BLOCK_STARTS)?;
    let prefix = release.to_le_bytes();
    let range = prefix_range(&by_content, &prefix, &prefix)?;
    let mut b = RootBuilder::<Blake3>::new();
    let mut pending: Vec<(u32, u64, [u8; 32])> = Vec::new();
    for row in range {
        let (k, v) = row?;
        let key = k.value();
        let leaf = leaf_from_row(key, v.value())?;
        let index = b.len();
        if index % BLOCK_LEAVES == 0 {
            let block = index / BLOCK_LEAVES;
            blocks.insert(&block_key(release, block)[..], &key[4..])?;
            starts.insert(key, &block.to_le_bytes()[..])?;
        }
        b.push(leaf.hash_leaf(), |level, idx, h| {
            if level >= BLOCK_LEVEL {
                pending.push((level, idx, *h));
            }
        });
        for (level, idx, h) in pending.drain(..) {
            nodes.insert(&node_key(release, level, idx)[..], &h[..])?;
        }
    }
    Ok(BuiltTree {
        root: b.root(),
        size: b.len(),
    })
}

/// Read access to one release's tree.
pub struct StoredTree<'s> {
    snap: &'s Snapshot,
    release: u32,
    size: u64,
    blocks: RefCell<HashMap<u64, Vec<Leaf>>>,
}

impl<'s> StoredTree<'s> {
    pub fn new(snap: &'s Snapshot, release: u32, size: u64) -> Self {
        Self {
            snap,
            release,
            size,
            blocks: RefCell::new(HashMap::new()),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The leaves of block `block`, read from the content index.
    fn block(&self, block: u64) -> Result<Vec<Leaf>> {
        if let Some(b) = self.blocks.borrow().get(&block) {
            return Ok(b.clone());
        }
        let start = self
            .snap
            .leaf_blocks
            .get(&block_key(self.release, block)[..])?
            .ok_or_else(|| {
                Error::Damaged(format!(
                    "release id {}: leaf block {block} is missing",
                    self.release
                ))
            })?;
        let mut from = self.release.to_le_bytes().to_vec();
        from.extend_from_slice(start.value());
        let range = prefix_range(&self.snap.by_content, &from, &self.release.to_le_bytes())?;
        let want = BLOCK_LEAVES.min(self.size - block * BLOCK_LEAVES) as usize;
        let mut leaves = Vec::with_capacity(want);
        for row in range.take(want) {
            let (k, v) = row?;
            leaves.push(leaf_from_row(k.value(), v.value())?);
        }
        if leaves.len() != want {
            return Err(Error::Damaged(format!(
                "release id {}: block {block} has {} leaves, expected {want}",
                self.release,
                leaves.len()
            )));
        }
        self.blocks.borrow_mut().insert(block, leaves.clone());
        Ok(leaves)
    }

    /// Leaf number `index`.
    pub fn leaf(&self, index: u64) -> Result<Leaf> {
        let b = self.block(index / BLOCK_LEAVES)?;
        Ok(b[(index % BLOCK_LEAVES) as usize].clone())
    }

    /// Root of leaves `[a, b)`.
    pub fn mth(&self, a: u64, b: u64) -> Result<[u8; 32]> {
        let n = b - a;
        if n == 0 {
            return Ok(Blake3::empty());
        }
        if n.is_power_of_two() && a % n == 0 {
            let level = n.trailing_zeros();
            if level >= BLOCK_LEVEL {
                let v = self
                    .snap
                    .tree_nodes
                    .get(&node_key(self.release, level, a >> level)[..])?
                    .ok_or_else(|| {
                        Error::Damaged(format!(
                            "release id {}: tree node {level}/{} is missing",
                            self.release,
                            a >> level
                        ))
                    })?;
                return <[u8; 32]>::try_from(v.value()).map_err(|_| {
                    Error::Damaged(format!(
                        "release id {}: tree node is not 32 bytes",
                        self.release
                    ))
                });
            }
        }
        if a / BLOCK_LEAVES == (b - 1) / BLOCK_LEAVES {
            let block = a / BLOCK_LEAVES;
            let leaves = self.block(block)?;
            let base = block * BLOCK_LEAVES;
            let hashes: Vec<[u8; 32]> = leaves[(a - base) as usize..(b - base) as usize]
                .iter()
                .map(Leaf::hash_leaf)
                .collect();
            return Ok(merkle::root::<Blake3>(&hashes));
        }
        let k = split_point(n);
        Ok(Blake3::node(&self.mth(a, a + k)?, &self.mth(a + k, b)?))
    }

    /// The audit path of leaf `index`.
    pub fn inclusion(&self, index: u64) -> Result<Vec<[u8; 32]>> {
        merkle::inclusion_path::<Blake3, Error>(index, self.size, &mut |a, b| self.mth(a, b))
    }

    /// The position of the leaf with this content hash and path.
    pub fn index_of(&self, hash: &[u8; 32], path: &[u8]) -> Result<Option<u64>> {
        let key = content_key(self.release, hash, path);
        let lo = self.release.to_le_bytes();
        let mut floor = self
            .snap
            .block_starts
            .range::<&[u8]>(&lo[..]..=key.as_slice())?;
        let Some(row) = floor.next_back() else {
            return Ok(None);
        };
        let (start, block) = row?;
        let block: [u8; 8] = block
            .value()
            .try_into()
            .map_err(|_| Error::Damaged("block number is not 8 bytes".into()))?;
        let block = u64::from_le_bytes(block);
        let start = start.value().to_vec();
        let range = self
            .snap
            .by_content
            .range::<&[u8]>(start.as_slice()..=key.as_slice())?;
        for (offset, row) in range.enumerate() {
            let (k, _) = row?;
            if k.value() == key.as_slice() {
                return Ok(Some(block * BLOCK_LEAVES + offset as u64));
            }
        }
        Ok(None)
    }

    /// First leaf whose content hash is `hash` (index and leaf).
    pub fn first_with_hash(&self, hash: &[u8; 32]) -> Result<Option<(u64, Leaf)>> {
        let prefix = content_key(self.release, hash, b"");
        let mut range = prefix_range(&self.snap.by_content, &prefix, &prefix)?;
        let Some(row) = range.next() else {
            return Ok(None);
        };
        let (k, v) = row?;
        let leaf = leaf_from_row(k.value(), v.value())?;
        let index = self
            .index_of(&leaf.hash, leaf.path.as_bytes())?
            .ok_or_else(|| Error::Damaged("a content index row has no place in its tree".into()))?;
        Ok(Some((index, leaf)))
    }

    /// The leaves just before and just after where `hash` would sit. Fails when a leaf
    /// has that hash.
    pub fn neighbours(&self, hash: &[u8; 32]) -> Result<Neighbours> {
        if self.first_with_hash(hash)?.is_some() {
            return Ok(Neighbours::Present);
        }
        let at = content_key(self.release, hash, b"");
        let lo = self.release.to_le_bytes();
        let left = {
            let mut r = self
                .snap
                .by_content
                .range::<&[u8]>(&lo[..]..at.as_slice())?;
            match r.next_back() {
                Some(row) => {
                    let (k, v) = row?;
                    Some(leaf_from_row(k.value(), v.value())?)
                }
                None => None,
            }
        };
        let left = match left {
            Some(l) => {
                let i = self.index_of(&l.hash, l.path.as_bytes())?.ok_or_else(|| {
                    Error::Damaged("a content index row has no place in its tree".into())
                })?;
                Some((i, l))
            }
            None => None,
        };
        let right_index = left.as_ref().map_or(0, |(i, _)| i + 1);
        let right = if right_index < self.size {
            Some((right_index, self.leaf(right_index)?))
        } else {
            None
        };
        Ok(Neighbours::Absent { left, right })
    }
}

/// Where an absent hash would sit.
#[derive(Debug, Clone)]
pub enum Neighbours {
    /// Some leaf has the hash: absence cannot be proven.
    Present,
    Absent {
        left: Option<(u64, Leaf)>,
        right: Option<(u64, Leaf)>,
    },
}

/// Recomputes a release's root from its content index and compares it, and every
/// stored node and block key, with what the store holds. Returns what disagrees.
pub fn check(
    snap: &Snapshot,
    release: u32,
    want_root: &[u8; 32],
    want_size: u64,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let prefix = release.to_le_bytes();
    let range = prefix_range(&snap.by_content, &prefix, &prefix)?;
    let mut b = RootBuilder::<Blake3>::new();
    let mut made: Vec<(u32, u64, [u8; 32])> = Vec::new();
    let mut rows = CheckedWalk::new("by_content", range);
    for (k, v) in rows.by_ref() {
        let key = k.value();
        let leaf = match leaf_from_row(key, v.value()) {
            Ok(l) => l,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let index = b.len();
        if index % BLOCK_LEAVES == 0 {
            let block = index / BLOCK_LEAVES;
            let stored = snap.leaf_blocks.get(&block_key(release, block)[..])?;
            if stored.as_ref().map(|s| s.value()) != Some(&key[4..]) {
                problems.push(format!(
                    "leaf block {block} does not start where the content index says"
                ));
            }
            let back = snap.block_starts.get(key)?;
            if back.as_ref().map(|s| s.value()) != Some(&block.to_le_bytes()[..]) {
                problems.push(format!("block start index of block {block} is wrong"));
            }
        }
        b.push(leaf.hash_leaf(), |level, idx, h| {
            if level >= BLOCK_LEVEL {
                made.push((level, idx, *h));
            }
        });
        for (level, idx, h) in made.drain(..) {
            let stored = snap.tree_nodes.get(&node_key(release, level, idx)[..])?;
            if stored.as_ref().map(|s| s.value()) != Some(&h[..]) {
                problems.push(format!("tree node {level}/{idx} is missing or wrong"));
            }
        }
    }
    problems.extend(rows.stopped().map(str::to_string));
    if b.len() != want_size {
        problems.push(format!(
            "{} manifest leaves, the release record says {want_size}",
            b.len()
        ));
    }
    if b.root() != *want_root {
        problems.push(format!(
            "recomputed root {} differs from the recorded root {}",
            hex::encode(b.root()),
            hex::encode(want_root)
        ));
    }
    Ok(problems)
}
