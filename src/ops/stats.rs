//! `stats`: logical and stored bytes, deduplication and compression, per release and
//! for the store, and how much each release shares with the others.

use std::collections::{HashMap, HashSet};

use redb::{ReadableTable, ReadableTableMetadata};
use serde::Serialize;

use crate::chunking::ChunkParams;
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::store::format::*;
use crate::store::{Release, Snapshot, Store};

#[derive(Debug, Clone, Serialize)]
pub struct StoreStats {
    pub path: String,
    /// Length of the store file.
    pub file_bytes: u64,
    /// Bytes the store file occupies on disk (allocated blocks; redb grows its file
    /// ahead of need, and the unused tail is sparse).
    pub disk_bytes: u64,
    pub releases: u64,
    pub entries: u64,
    pub blobs: u64,
    pub chunks: u64,
    pub segments: u64,
    /// Sum of every release's file sizes: what the releases hold, counted naively.
    pub logical_bytes: u64,
    /// Bytes of distinct chunks, uncompressed.
    pub unique_bytes: u64,
    /// Bytes of distinct chunks as stored (compressed where that helped).
    pub stored_bytes: u64,
    /// Disk bytes that are not chunk data: records, indexes, segment directories and
    /// slack, free pages.
    pub overhead_bytes: u64,
    /// logical / unique.
    pub dedup_ratio: f64,
    /// unique / stored.
    pub compression_ratio: f64,
    /// logical / disk bytes.
    pub total_ratio: f64,
    pub chunk_params: ChunkParams,
    pub zstd_level: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseStats {
    pub name: String,
    pub files: u64,
    pub logical_bytes: u64,
    /// Distinct chunk bytes the release references.
    pub unique_bytes: u64,
    /// Of those, bytes some other release also references.
    pub shared_bytes: u64,
    /// Bytes only this release references.
    pub exclusive_bytes: u64,
    /// Bytes this release stored for the first time (compressed).
    pub new_stored_bytes: u64,
}

/// What one redb table occupies, from redb's own accounting.
#[derive(Debug, Clone, Serialize)]
pub struct TableUsage {
    pub name: &'static str,
    pub rows: u64,
    /// Key and value bytes.
    pub stored_bytes: u64,
    /// B-tree page headers and offsets.
    pub metadata_bytes: u64,
    /// Unused space inside the table's pages.
    pub fragmented_bytes: u64,
}

impl TableUsage {
    pub fn total(&self) -> u64 {
        self.stored_bytes + self.metadata_bytes + self.fragmented_bytes
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub store: StoreStats,
    pub releases: Vec<ReleaseStats>,
    /// Every table but `segments` (chunk data): the store's metadata.
    pub tables: Vec<TableUsage>,
    /// Sum of `tables` per entry of every release: what the store spends on an entry
    /// besides its content.
    pub metadata_bytes_per_entry: f64,
}

fn usage(name: &'static str, t: &impl ReadableTableMetadata) -> Result<TableUsage> {
    let st = t.stats()?;
    Ok(TableUsage {
        name,
        rows: t.len()?,
        stored_bytes: st.stored_bytes(),
        metadata_bytes: st.metadata_bytes(),
        fragmented_bytes: st.fragmented_bytes(),
    })
}

fn table_usage(snap: &Snapshot) -> Result<Vec<TableUsage>> {
    let mut v = vec![
        usage("releases", &snap.releases)?,
        usage("ingests", &snap.ingests)?,
        usage("entries", &snap.entries)?,
        usage("by_content", &snap.by_content)?,
        usage("blobs", &snap.blobs)?,
        usage("chunks", &snap.chunks)?,
        usage("segment_info", &snap.segment_info)?,
        usage("log", &snap.log)?,
        usage("signed_heads", &snap.signed_heads)?,
        usage("tree_nodes", &snap.tree_nodes)?,
        usage("leaf_blocks", &snap.leaf_blocks)?,
        usage("block_starts", &snap.block_starts)?,
        usage("chunk_refs", &snap.chunk_refs)?,
        usage("prefixes", &snap.prefixes)?,
        usage("sketch_bands", &snap.sketch_bands)?,
    ];
    if let Some([e, c]) = &snap.staged {
        v.push(usage("staged_entries", e)?);
        v.push(usage("staged_content", c)?);
    }
    Ok(v)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

pub fn stats(store: &Store) -> Result<StatsReport> {
    let snap = store.snapshot()?;
    let releases = snap.releases()?;
    let mut unique = 0u64;
    let mut stored = 0u64;
    let mut raw_len: HashMap<u64, u32> = HashMap::new();
    for row in snap.chunks.iter()? {
        let (k, v) = row?;
        let loc = ChunkLoc::decode(v.value()).map_err(|e| Error::corrupt("chunk index", e))?;
        unique += loc.raw_len as u64;
        stored += loc.stored_len as u64;
        raw_len.insert(key8(k.value()), loc.raw_len);
    }
    let per_release = sharing(&snap, &releases, &raw_len)?;
    let logical: u64 = releases.iter().map(|r| r.record.counts.logical_bytes).sum();
    let entries: u64 = releases
        .iter()
        .map(|r| r.record.counts.files + r.record.counts.dirs + r.record.counts.symlinks)
        .sum();
    let (file_bytes, disk_bytes) = std::fs::metadata(store.path())
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.len(), m.blocks() * 512)
        })
        .unwrap_or((0, 0));
    let meta = store.meta();
    let tables = table_usage(&snap)?;
    let metadata: u64 = tables.iter().map(TableUsage::total).sum();
    Ok(StatsReport {
        tables,
        metadata_bytes_per_entry: ratio(metadata, entries.max(1)),
        store: StoreStats {
            path: store.path().display().to_string(),
            file_bytes,
            disk_bytes,
            releases: releases.len() as u64,
            entries,
            blobs: snap.blobs.len()?,
            chunks: snap.chunks.len()?,
            segments: snap.segments.len()?,
            logical_bytes: logical,
            unique_bytes: unique,
            stored_bytes: stored,
            overhead_bytes: disk_bytes.saturating_sub(stored),
            dedup_ratio: ratio(logical, unique),
            compression_ratio: ratio(unique, stored),
            total_ratio: ratio(logical, disk_bytes),
            chunk_params: meta.chunk,
            zstd_level: meta.zstd_level,
        },
        releases: per_release,
    })
}

/// Chunks are keyed by their first 8 bytes here: enough to tell a store's chunks
/// apart for counting (a collision would need ~2^32 chunks), at a quarter the memory.
fn key8(id: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id[..8]);
    u64::from_le_bytes(b)
}

/// Calls `f` once for each distinct chunk a release references.
fn for_each_chunk(snap: &Snapshot, rel: &Release, mut f: impl FnMut(u64)) -> Result<()> {
    let mut blobs: HashSet<BlobId> = HashSet::new();
    for e in snap.entries_with_prefix(rel.id(), b"")? {
        if let Some(b) = e?.record.blob() {
            blobs.insert(b);
        }
    }
    let mut chunks: HashSet<u64> = HashSet::new();
    for b in &blobs {
        if let Some(rec) = snap.blob(b)? {
            for c in &rec.chunks {
                if chunks.insert(key8(c.as_bytes())) {
                    f(key8(c.as_bytes()));
                }
            }
        }
    }
    Ok(())
}

fn sharing(
    snap: &Snapshot,
    releases: &[Release],
    raw_len: &HashMap<u64, u32>,
) -> Result<Vec<ReleaseStats>> {
    // How many releases reference each chunk.
    let mut refs: HashMap<u64, u32> = HashMap::new();
    for r in releases {
        for_each_chunk(snap, r, |c| *refs.entry(c).or_default() += 1)?;
    }
    let mut out = Vec::new();
    for r in releases {
        let (mut unique, mut shared) = (0u64, 0u64);
        for_each_chunk(snap, r, |c| {
            let len = raw_len.get(&c).copied().unwrap_or(0) as u64;
            unique += len;
            if refs.get(&c).copied().unwrap_or(0) > 1 {
                shared += len;
            }
        })?;
        out.push(ReleaseStats {
            name: r.name.clone(),
            files: r.record.counts.files,
            logical_bytes: r.record.counts.logical_bytes,
            unique_bytes: unique,
            shared_bytes: shared,
            exclusive_bytes: unique - shared,
            new_stored_bytes: r.record.counts.new_stored_bytes,
        });
    }
    Ok(out)
}
