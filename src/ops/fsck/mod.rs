//! `fsck [--read-data]`: proves the store is whole, or says exactly what is damaged
//! and which releases and paths the damage reaches.
//!
//! The structural check reads only records: every entry's blob exists with the
//! entry's size, the content index agrees with the entries row for row, every
//! release's counts add up, every recipe's chunks exist and sum to the blob's size,
//! and every chunk lies inside its segment. `--read-data` also decompresses and hashes
//! every chunk (segment by segment, in parallel) and every multi-chunk blob.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use redb::{Key, ReadOnlyTable, ReadableTable, ReadableTableMetadata, Value};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::id::{BlobId, ChunkId};
use crate::paths::EntryPath;
use crate::progress::Progress;
use crate::store::entry_block::decode_block;
use crate::store::format::*;
use crate::store::snapshot::decode_chunk;
use crate::store::walk::CheckedWalk;
use crate::store::{Snapshot, Store};

/// Paths listed per problem; the rest are counted.
const AFFECTED_LIST_MAX: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A chunk's stored bytes do not give back its content.
    DamagedChunk,
    /// A recipe names a chunk the store does not have.
    MissingChunk,
    /// A blob's chunks do not add up to its content.
    DamagedBlob,
    /// An entry names content the store does not have.
    MissingBlob,
    /// A record does not decode.
    BadRecord,
    /// Two tables disagree.
    IndexMismatch,
    /// A release's stored counts differ from its entries.
    CountMismatch,
    /// Entries of a release id that neither exists nor is being ingested.
    Orphan,
    /// A segment is damaged or inconsistent with its size record.
    BadSegment,
    /// A release's recomputed Merkle root, tree nodes or log head disagree with
    /// what is recorded.
    RootMismatch,
    /// The database itself could not be read.
    Database,
}

/// An entry reached by a problem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Affected {
    pub release: String,
    pub path: EntryPath,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// What is damaged, e.g. `chunk 3f2a…` or `release "r1"`.
    pub object: String,
    pub detail: String,
    /// Release entries whose content this problem damages (first few).
    pub affected: Vec<Affected>,
    /// How many entries in all.
    pub affected_total: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FsckReport {
    pub read_data: bool,
    pub releases: u64,
    pub entries: u64,
    pub blobs: u64,
    pub chunks: u64,
    pub segments: u64,
    /// Bytes decompressed and hashed by `--read-data`.
    pub bytes_verified: u64,
    /// Database pages whose redb checksums were verified (every page but the
    /// chunk-data leaves of `segments`).
    pub pages_verified: u64,
    /// Why the page check did not run to the end (the store kept changing under it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_check_skipped: Option<String>,
    /// Ingests that were interrupted; their entries are not checked as releases.
    pub unfinished_ingests: Vec<String>,
    pub problems: Vec<Problem>,
    /// Chunks whose stored bytes are damaged or missing: what an ingest of a tree
    /// that still holds the files will store again (see [`record_damage`]).
    pub repairable_chunks: Vec<ChunkId>,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Names of releases reached by any problem.
    pub fn damaged_releases(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .problems
            .iter()
            .flat_map(|p| p.affected.iter().map(|a| a.release.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Every row of `table`, walked so that a damaged B-tree ends the walk (see
/// [`CheckedWalk`]); [`Findings::walked`] records why it ended early.
fn walk<'a, K: Key + 'static, V: Value + 'static>(
    name: &'static str,
    table: &'a ReadOnlyTable<K, V>,
) -> Result<CheckedWalk<'a, K, V>> {
    Ok(CheckedWalk::new(name, table.iter()?))
}

/// What the checks found, before affected paths are looked up.
#[derive(Default)]
struct Findings {
    problems: Vec<Problem>,
    /// Damaged or missing chunks, with why.
    bad_chunks: BTreeMap<ChunkId, (ProblemKind, String)>,
    /// Blobs damaged other than through a bad chunk.
    bad_blobs: BTreeMap<BlobId, (ProblemKind, String)>,
}

impl Findings {
    /// Records that a walk over a table did not reach its end.
    fn walked<K: Key + 'static, V: Value + 'static>(&mut self, walk: &CheckedWalk<'_, K, V>) {
        if let Some(why) = walk.stopped() {
            self.add(
                ProblemKind::Database,
                format!("table {}", walk.table()),
                why,
            );
        }
    }

    fn add(&mut self, kind: ProblemKind, object: impl Into<String>, detail: impl Into<String>) {
        self.add_affecting(kind, object, detail, Vec::new());
    }

    fn add_affecting(
        &mut self,
        kind: ProblemKind,
        object: impl Into<String>,
        detail: impl Into<String>,
        affected: Vec<Affected>,
    ) {
        self.problems.push(Problem {
            kind,
            object: object.into(),
            detail: detail.into(),
            affected_total: affected.len() as u64,
            affected,
        });
    }
}

pub fn fsck(store: &Store, read_data: bool, progress: &dyn Progress) -> Result<FsckReport> {
    let snap = store.snapshot()?;
    let mut report = FsckReport {
        read_data,
        ..Default::default()
    };
    let mut f = Findings::default();
    // redb may panic on a page it cannot parse; that is damage to report, not a crash.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        check_all(&snap, read_data, progress, &mut report, &mut f)
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => f.add(ProblemKind::Database, "store", e.to_string()),
        Err(panic) => {
            let msg = crate::panics::take_store_panic()
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            f.add(
                ProblemKind::Database,
                "store",
                format!("database structure is damaged: {msg}"),
            );
        }
    }
    if !f.bad_chunks.is_empty() || !f.bad_blobs.is_empty() {
        // Best effort: the tables needed to name paths may be what is damaged; the
        // problems are reported either way.
        let (mut by_chunk, mut by_blob) = catch_unwind(AssertUnwindSafe(|| attribute(&snap, &f)))
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        crate::panics::take_store_panic();
        for (c, (kind, why)) in std::mem::take(&mut f.bad_chunks) {
            if matches!(kind, ProblemKind::DamagedChunk | ProblemKind::MissingChunk) {
                report.repairable_chunks.push(c);
            }
            let affected = by_chunk.remove(&c).unwrap_or_default();
            push_limited(&mut f, kind, format!("chunk {c}"), why, affected);
        }
        for (b, (kind, why)) in std::mem::take(&mut f.bad_blobs) {
            let affected = by_blob.remove(&b).unwrap_or_default();
            push_limited(&mut f, kind, format!("blob {b}"), why, affected);
        }
    }
    // Every page of the database against redb's checksums (listed after the
    // findings that name releases and paths): damage to bytes no record check
    // recomputes (an entry's mtime, a key, a branch page). A `segments` leaf holds
    // chunk data, which `--read-data` verifies chunk by chunk against its id; what
    // else it holds is either checked there too (the directory) or never read (dead
    // copies a repairing ingest replaced, which keep their damage, and healing must
    // leave fsck clean). So those leaves are not read here, which keeps this check
    // to the metadata's share of the file.
    progress.phase("check pages", None);
    let pages = crate::store::pages::check_file(store.path(), &["segments"])?;
    report.pages_verified = pages.pages.iter().filter(|p| p.used > 0).count() as u64;
    report.page_check_skipped = pages.skipped;
    for p in pages.problems {
        f.add(ProblemKind::Database, "store file", p);
    }
    report.problems = f.problems;
    progress.done();
    Ok(report)
}

/// After a full read (`fsck --read-data`), makes the store's list of damaged chunks
/// what the read found, so that the next ingest of a tree holding the affected files
/// reads them again and stores intact copies. Returns false, recording nothing, when
/// another process is writing to the store.
pub fn record_damage(path: &std::path::Path, report: &FsckReport) -> Result<bool> {
    if !report.read_data {
        return Ok(false);
    }
    let store = match Store::open_writable(path) {
        Ok(s) => s,
        Err(Error::StoreInUse(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    // Nothing to forget and nothing to record: leave the store untouched.
    if report.repairable_chunks.is_empty() && store.damaged_chunks()?.is_empty() {
        return Ok(true);
    }
    store.record_damaged(&report.repairable_chunks)?;
    Ok(true)
}

fn check_all(
    snap: &Snapshot,
    read_data: bool,
    progress: &dyn Progress,
    report: &mut FsckReport,
    f: &mut Findings,
) -> Result<()> {
    progress.phase("check records", None);
    // Releases and unfinished ingests.
    let mut committed: HashMap<u32, (String, ReleaseRecord)> = HashMap::new();
    let mut rows = walk("releases", &snap.releases)?;
    for (k, v) in rows.by_ref() {
        let name = k.value().to_string();
        match ReleaseRecord::decode(v.value()) {
            Ok(r) => {
                if let Some((other, _)) = committed.get(&r.id) {
                    f.add(
                        ProblemKind::IndexMismatch,
                        format!("release {name:?}"),
                        format!("shares id {} with release {other:?}", r.id),
                    );
                }
                committed.insert(r.id, (name, r));
            }
            Err(e) => f.add(
                ProblemKind::BadRecord,
                format!("release {name:?}"),
                e.to_string(),
            ),
        }
    }
    f.walked(&rows);
    report.releases = committed.len() as u64;
    let mut pending: HashSet<u32> = HashSet::new();
    let mut rows = walk("ingests", &snap.ingests)?;
    for (k, v) in rows.by_ref() {
        let name = k.value().to_string();
        match IngestRecord::decode(v.value()) {
            Ok(r) => {
                pending.insert(r.id);
                pending.extend(r.stale_ids.iter().copied());
                report.unfinished_ingests.push(name);
            }
            Err(e) => f.add(
                ProblemKind::BadRecord,
                format!("unfinished ingest {name:?}"),
                e.to_string(),
            ),
        }
    }
    f.walked(&rows);

    let indexed = check_entries(snap, &committed, &pending, report, f)?;
    check_staged(snap, &pending, f)?;
    check_trees(snap, &committed, f)?;
    check_content_index(snap, &committed, &pending, &indexed, f)?;
    let infos = check_segments_info(snap, f)?;
    check_chunks(snap, &infos, report, f)?;
    check_blobs(snap, report, f)?;
    if read_data {
        read_all_data(snap, &infos, progress, report, f)?;
    }
    Ok(())
}

#[derive(Default, Clone, Copy)]
struct Tally {
    files: u64,
    dirs: u64,
    symlinks: u64,
    bytes: u64,
    members: u64,
    member_bytes: u64,
    rows: u64,
    /// Entries whose content-index row exists.
    indexed: u64,
}

/// The checks of one entry of release `(id, name)` against the blob and content
/// index tables.
fn check_entry(
    snap: &Snapshot,
    (rel, rname): (u32, &str),
    path: &[u8],
    rec: &EntryRecord,
    t: &mut Tally,
    missing_blobs: &mut BTreeMap<BlobId, Vec<Affected>>,
    f: &mut Findings,
) -> Result<()> {
    let at = || Affected {
        release: rname.to_string(),
        path: path_of(path),
    };
    t.rows += 1;
    match rec.kind {
        EntryKind::File => {
            t.files += 1;
            t.bytes += rec.size;
        }
        EntryKind::Dir => t.dirs += 1,
        EntryKind::Symlink => t.symlinks += 1,
        EntryKind::Member => {
            t.members += 1;
            t.member_bytes += rec.size;
        }
    }
    if let Some(blob) = rec.blob() {
        match snap.blobs.get(blob.as_bytes().as_slice())? {
            None => missing_blobs.entry(blob).or_default().push(at()),
            Some(b) => match BlobRecord::decode(&blob, b.value()) {
                Ok(b) if b.size != rec.size => f.add_affecting(
                    ProblemKind::IndexMismatch,
                    format!("entry {}", path_of(path)),
                    format!("entry size {} but blob {blob} has {}", rec.size, b.size),
                    vec![at()],
                ),
                _ => {}
            },
        }
    }
    let ck = content_key(rel, &rec.hash, path);
    let row = snap.by_content.get(ck.as_slice())?;
    t.indexed += u64::from(row.is_some());
    match row {
        None => f.add_affecting(
            ProblemKind::IndexMismatch,
            format!("entry {}", path_of(path)),
            "missing from the content index",
            vec![at()],
        ),
        Some(v) => match decode_content_value(v.value()) {
            Ok((kind, size)) if kind == rec.kind && size == rec.size => {}
            Ok(_) => f.add_affecting(
                ProblemKind::IndexMismatch,
                format!("entry {}", path_of(path)),
                "content index disagrees with the entry's kind or size",
                vec![at()],
            ),
            Err(e) => f.add_affecting(
                ProblemKind::BadRecord,
                format!("content index row of {}", path_of(path)),
                e.to_string(),
                vec![at()],
            ),
        },
    }
    Ok(())
}

/// Returns, per release, how many entries have their content-index row.
fn check_entries(
    snap: &Snapshot,
    committed: &HashMap<u32, (String, ReleaseRecord)>,
    pending: &HashSet<u32>,
    report: &mut FsckReport,
    f: &mut Findings,
) -> Result<HashMap<u32, u64>> {
    let mut tallies: HashMap<u32, Tally> = HashMap::new();
    let mut orphans: BTreeMap<u32, u64> = BTreeMap::new();
    let mut missing_blobs: BTreeMap<BlobId, Vec<Affected>> = BTreeMap::new();
    let mut rows = walk("entries", &snap.entries)?;
    // The last path of the block before, in its release: blocks must not overlap, or
    // a lookup would miss the entries of one of them.
    let mut last: Option<(u32, Vec<u8>)> = None;
    for (k, v) in rows.by_ref() {
        let (rel, first) = match split_entry_key(k.value()) {
            Ok(x) => x,
            Err(e) => {
                f.add(ProblemKind::BadRecord, "entry key", e.to_string());
                continue;
            }
        };
        let block = decode_block(first, v.value());
        let Some((rname, _)) = committed.get(&rel) else {
            if !pending.contains(&rel) {
                *orphans.entry(rel).or_default() += block.map_or(1, |b| b.len() as u64);
            }
            continue;
        };
        let at = |path: &[u8]| Affected {
            release: rname.clone(),
            path: path_of(path),
        };
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                f.add_affecting(
                    ProblemKind::BadRecord,
                    format!("entry block at {}", path_of(first)),
                    format!("{e}; the block's entries cannot be read"),
                    vec![at(first)],
                );
                continue;
            }
        };
        if let Some((lrel, lpath)) = &last
            && *lrel == rel
            && first <= lpath.as_slice()
        {
            f.add_affecting(
                ProblemKind::BadRecord,
                format!("entry block at {}", path_of(first)),
                format!(
                    "it overlaps the block before it, which ends at {}",
                    path_of(lpath)
                ),
                vec![at(first)],
            );
        }
        last = block.last().map(|(p, _)| (rel, p.clone()));
        for (path, rec) in &block {
            report.entries += 1;
            let t = tallies.entry(rel).or_default();
            check_entry(snap, (rel, rname), path, rec, t, &mut missing_blobs, f)?;
        }
    }
    f.walked(&rows);
    for (blob, affected) in missing_blobs {
        f.add_affecting(
            ProblemKind::MissingBlob,
            format!("blob {blob}"),
            "entries name content the store does not have",
            affected,
        );
    }
    for (id, n) in orphans {
        f.add(
            ProblemKind::Orphan,
            format!("release id {id}"),
            format!("{n} entries of a release that does not exist"),
        );
    }
    for (id, (name, rec)) in committed {
        let t = tallies.get(id).copied().unwrap_or_default();
        let c = &rec.counts;
        let got = (
            t.files,
            t.dirs,
            t.symlinks,
            t.bytes,
            t.members,
            t.member_bytes,
        );
        let want = (
            c.files,
            c.dirs,
            c.symlinks,
            c.logical_bytes,
            c.members,
            c.member_bytes,
        );
        if got != want {
            f.add(
                ProblemKind::CountMismatch,
                format!("release {name:?}"),
                format!(
                    "record says {} files, {} dirs, {} symlinks, {} bytes, {} members; entries hold {}, {}, {}, {}, {}",
                    c.files, c.dirs, c.symlinks, c.logical_bytes, c.members, t.files, t.dirs, t.symlinks, t.bytes, t.members
                ),
            );
        }
    }
    Ok(tallies.into_iter().map(|(id, t)| (id, t.indexed)).collect())
}

/// Each release's Merkle root is recomputed from its entries and compared with the
/// recorded root, its stored tree nodes, and its head in the release log.
fn check_trees(
    snap: &Snapshot,
    committed: &HashMap<u32, (String, ReleaseRecord)>,
    f: &mut Findings,
) -> Result<()> {
    let mut by_log: BTreeMap<u64, &str> = BTreeMap::new();
    for (id, (name, rec)) in committed {
        for p in crate::store::tree::check(snap, *id, &rec.root, rec.entries())? {
            f.add(ProblemKind::RootMismatch, format!("release {name:?}"), p);
        }
        if let Some(other) = by_log.insert(rec.log_index, name) {
            f.add(
                ProblemKind::IndexMismatch,
                format!("release {name:?}"),
                format!("shares log position {} with {other:?}", rec.log_index),
            );
        }
        match snap.log.get(rec.log_index)? {
            None => f.add(
                ProblemKind::IndexMismatch,
                format!("release {name:?}"),
                format!("its head is not in the release log at {}", rec.log_index),
            ),
            Some(v) => match ReleaseHead::decode(v.value()) {
                Ok(h) if h.name == *name && h.root == rec.root && h.entries == rec.entries() => {}
                Ok(_) => f.add(
                    ProblemKind::RootMismatch,
                    format!("release {name:?}"),
                    "its head in the release log has another name, root or size",
                ),
                Err(e) => f.add(
                    ProblemKind::BadRecord,
                    format!("release log head {}", rec.log_index),
                    e.to_string(),
                ),
            },
        }
    }
    let log_len = snap.log.len()?;
    if log_len != committed.len() as u64 {
        f.add(
            ProblemKind::IndexMismatch,
            "release log",
            format!("{log_len} heads for {} releases", committed.len()),
        );
    }
    Ok(())
}

/// Staged rows belong to unfinished ingests; any other release's are left over.
fn check_staged(snap: &Snapshot, pending: &HashSet<u32>, f: &mut Findings) -> Result<()> {
    let Some(tables) = &snap.staged else {
        return Ok(());
    };
    for (name, table) in ["staged_entries", "staged_content"].into_iter().zip(tables) {
        let mut orphans: BTreeMap<u32, u64> = BTreeMap::new();
        let mut rows = walk(name, table)?;
        for (k, _) in rows.by_ref() {
            // Both tables' keys start with the release id, as entry keys do.
            match split_entry_key(k.value()).map(|(rel, _)| rel) {
                Ok(rel) if pending.contains(&rel) => {}
                Ok(rel) => *orphans.entry(rel).or_default() += 1,
                Err(_) => f.add(
                    ProblemKind::BadRecord,
                    format!("{name} key"),
                    "shorter than a release id",
                ),
            }
        }
        f.walked(&rows);
        for (id, n) in orphans {
            f.add(
                ProblemKind::Orphan,
                format!("release id {id}"),
                format!("{n} rows in {name} of an ingest that is not in progress"),
            );
        }
    }
    Ok(())
}

/// Every content-index row must have its entry (the reverse was checked per entry).
/// Every content-index row must belong to an entry. The entries' own check found
/// `indexed[release]` distinct rows of each release; a release with just that many
/// rows has no others, and only a release with more is searched row by row to name
/// them (a lookup per row would cost a block decode each).
fn check_content_index(
    snap: &Snapshot,
    committed: &HashMap<u32, (String, ReleaseRecord)>,
    pending: &HashSet<u32>,
    indexed: &HashMap<u32, u64>,
    f: &mut Findings,
) -> Result<()> {
    let mut rows_of: HashMap<u32, u64> = HashMap::new();
    let mut rows = walk("by_content", &snap.by_content)?;
    for (k, _) in rows.by_ref() {
        let (rel, _, path) = match split_content_key(k.value()) {
            Ok(x) => x,
            Err(e) => {
                f.add(ProblemKind::BadRecord, "content index key", e.to_string());
                continue;
            }
        };
        if pending.contains(&rel) {
            continue;
        }
        if !committed.contains_key(&rel) {
            f.add(
                ProblemKind::Orphan,
                format!("content index row for {}", path_of(path)),
                format!("release id {rel} does not exist"),
            );
            continue;
        }
        *rows_of.entry(rel).or_default() += 1;
    }
    f.walked(&rows);
    for (rel, n) in rows_of {
        if n == indexed.get(&rel).copied().unwrap_or(0) {
            continue;
        }
        let Some((rname, _)) = committed.get(&rel) else {
            continue;
        };
        let prefix = rel.to_le_bytes();
        let range = crate::store::prefix_range(&snap.by_content, &prefix, &prefix)?;
        let mut rows = CheckedWalk::new("by_content", range);
        for (k, _) in rows.by_ref() {
            let Ok((_, hash, path)) = split_content_key(k.value()) else {
                continue;
            };
            let ok = match snap.entry(rel, path) {
                Ok(Some(e)) => e.hash == hash,
                _ => false,
            };
            if !ok {
                f.add_affecting(
                    ProblemKind::IndexMismatch,
                    format!("content index row for {}", path_of(path)),
                    "no entry with that path and content",
                    vec![Affected {
                        release: rname.clone(),
                        path: path_of(path),
                    }],
                );
            }
        }
    }
    Ok(())
}

fn check_segments_info(snap: &Snapshot, f: &mut Findings) -> Result<HashMap<u64, SegmentInfo>> {
    let mut infos = HashMap::new();
    let mut rows = walk("segment_info", &snap.segment_info)?;
    for (k, v) in rows.by_ref() {
        match SegmentInfo::decode(v.value()) {
            Ok(i) => {
                infos.insert(k.value(), i);
            }
            Err(e) => f.add(
                ProblemKind::BadRecord,
                format!("segment {} size record", k.value()),
                e.to_string(),
            ),
        }
    }
    f.walked(&rows);
    let segments = snap.segments.len()?;
    if segments != infos.len() as u64 {
        f.add(
            ProblemKind::IndexMismatch,
            "segments",
            format!("{segments} segments but {} size records", infos.len()),
        );
    }
    Ok(infos)
}

fn check_chunks(
    snap: &Snapshot,
    infos: &HashMap<u64, SegmentInfo>,
    report: &mut FsckReport,
    f: &mut Findings,
) -> Result<()> {
    let mut per_segment: HashMap<u64, u32> = HashMap::new();
    let mut rows = walk("chunks", &snap.chunks)?;
    for (k, v) in rows.by_ref() {
        report.chunks += 1;
        let Some(id) = ChunkId::from_slice(k.value()) else {
            f.add(ProblemKind::BadRecord, "chunk index key", "not 32 bytes");
            continue;
        };
        let loc = match ChunkLoc::decode(v.value()) {
            Ok(l) => l,
            Err(e) => {
                f.bad_chunks.insert(
                    id,
                    (ProblemKind::BadRecord, format!("chunk index record: {e}")),
                );
                continue;
            }
        };
        *per_segment.entry(loc.segment).or_default() += 1;
        match infos.get(&loc.segment) {
            None => {
                f.bad_chunks.insert(
                    id,
                    (
                        ProblemKind::MissingChunk,
                        format!("its segment {} is missing", loc.segment),
                    ),
                );
            }
            Some(i) if (loc.offset as u64 + loc.stored_len as u64) > i.data_len as u64 => {
                f.bad_chunks.insert(
                    id,
                    (
                        ProblemKind::DamagedChunk,
                        format!("lies outside segment {}", loc.segment),
                    ),
                );
            }
            _ => {}
        }
    }
    report.segments = infos.len() as u64;
    if rows.stopped().is_some() {
        // The per-segment counts below would only repeat that the index was not
        // read to the end.
        f.walked(&rows);
        return Ok(());
    }
    for (seg, info) in infos {
        let n = per_segment.get(seg).copied().unwrap_or(0);
        if n != info.chunk_count - info.dead {
            f.add(
                ProblemKind::IndexMismatch,
                format!("segment {seg}"),
                format!(
                    "holds {} live chunks but the chunk index points {n} into it",
                    info.chunk_count - info.dead
                ),
            );
        }
    }
    Ok(())
}

fn check_blobs(snap: &Snapshot, report: &mut FsckReport, f: &mut Findings) -> Result<()> {
    let mut rows = walk("blobs", &snap.blobs)?;
    for (k, v) in rows.by_ref() {
        report.blobs += 1;
        let Some(id) = BlobId::from_slice(k.value()) else {
            f.add(ProblemKind::BadRecord, "blob key", "not 32 bytes");
            continue;
        };
        let rec = match BlobRecord::decode(&id, v.value()) {
            Ok(r) => r,
            Err(e) => {
                f.bad_blobs
                    .insert(id, (ProblemKind::BadRecord, format!("blob record: {e}")));
                continue;
            }
        };
        let mut total = 0u64;
        for c in &rec.chunks {
            match snap.chunks.get(c.as_bytes().as_slice())? {
                Some(l) => {
                    if let Ok(l) = ChunkLoc::decode(l.value()) {
                        total += l.raw_len as u64;
                    }
                }
                None => {
                    f.bad_chunks.insert(
                        *c,
                        (ProblemKind::MissingChunk, "not in the chunk index".into()),
                    );
                }
            }
        }
        if total != rec.size && rec.chunks.iter().all(|c| !f.bad_chunks.contains_key(c)) {
            f.bad_blobs.insert(
                id,
                (
                    ProblemKind::DamagedBlob,
                    format!("chunks add up to {total} bytes, blob has {}", rec.size),
                ),
            );
        }
    }
    f.walked(&rows);
    Ok(())
}

fn read_all_data(
    snap: &Snapshot,
    infos: &HashMap<u64, SegmentInfo>,
    progress: &dyn Progress,
    report: &mut FsckReport,
    f: &mut Findings,
) -> Result<()> {
    let total: u64 = infos.values().map(|i| i.value_len as u64).sum();
    progress.phase("read data", Some(total));
    // The walk stops at a damaged branch page (see `CheckedWalk`); the
    // segments after it are reported as not read rather than read again.
    let mut segments = walk("segments", &snap.segments)?;
    let results: Vec<Result<(u64, SegmentCheck)>> = segments
        .by_ref()
        .map(|(k, v)| (k.value(), v.value().to_vec()))
        .par_bridge()
        .map(|(seg, value)| {
            progress.bytes(value.len() as u64);
            Ok((seg, verify_segment(snap, seg, &value, infos.get(&seg))?))
        })
        .collect();
    f.walked(&segments);
    let mut verified_indexed = 0u64;
    for r in results {
        let (seg, check) = r?;
        report.bytes_verified += check.bytes;
        verified_indexed += check.indexed;
        for (id, kind, why) in check.bad {
            f.bad_chunks.insert(id, (kind, why));
        }
        for p in check.problems {
            f.add(ProblemKind::BadSegment, format!("segment {seg}"), p);
        }
    }
    // A chunk the index places where no segment directory has it was not verified
    // above: read those one by one.
    if verified_indexed < report.chunks {
        let mut rows = walk("chunks", &snap.chunks)?;
        for (k, _) in rows.by_ref() {
            if let Some(id) = ChunkId::from_slice(k.value())
                && !f.bad_chunks.contains_key(&id)
                && let Err(fault) = snap.read_chunk(&id)?
            {
                f.bad_chunks
                    .insert(id, (ProblemKind::DamagedChunk, fault.to_string()));
            }
        }
        f.walked(&rows);
    }
    // Blobs of several chunks: the whole content must hash to the blob id.
    progress.phase("read blobs", None);
    let mut multi = Vec::new();
    let mut rows = walk("blobs", &snap.blobs)?;
    for (k, v) in rows.by_ref() {
        if let Some(id) = BlobId::from_slice(k.value())
            && let Ok(rec) = BlobRecord::decode(&id, v.value())
            && rec.chunks.len() > 1
            && !rec.chunks.iter().any(|c| f.bad_chunks.contains_key(c))
        {
            multi.push(id);
        }
    }
    f.walked(&rows);
    let bad: Vec<(BlobId, String)> = multi
        .par_iter()
        .filter_map(|id| {
            let r = snap.read_blob(id, &format!("blob {id}"), |d| {
                progress.bytes(d.len() as u64);
                Ok(())
            });
            r.err().map(|e| (*id, e.to_string()))
        })
        .collect();
    for (id, why) in bad {
        f.bad_blobs.insert(id, (ProblemKind::DamagedBlob, why));
    }
    Ok(())
}

/// What reading one segment found.
#[derive(Default)]
struct SegmentCheck {
    bad: Vec<(ChunkId, ProblemKind, String)>,
    problems: Vec<String>,
    /// Bytes decompressed and verified.
    bytes: u64,
    /// Verified chunks that the chunk index points at exactly.
    indexed: u64,
}

fn verify_segment(
    snap: &Snapshot,
    seg: u64,
    value: &[u8],
    info: Option<&SegmentInfo>,
) -> Result<SegmentCheck> {
    let mut bad = Vec::new();
    let mut problems = Vec::new();
    let (data, dir) = match parse_segment(value) {
        Ok(x) => x,
        Err(e) => {
            problems.push(format!("unreadable directory: {e}"));
            // Every chunk the index places here is lost.
            let mut rows = walk("chunks", &snap.chunks)?;
            for (k, v) in rows.by_ref() {
                if let (Some(id), Ok(l)) =
                    (ChunkId::from_slice(k.value()), ChunkLoc::decode(v.value()))
                    && l.segment == seg
                {
                    bad.push((
                        id,
                        ProblemKind::DamagedChunk,
                        format!("segment {seg} is damaged"),
                    ));
                }
            }
            problems.extend(rows.stopped().map(str::to_string));
            return Ok(SegmentCheck {
                bad,
                problems,
                ..Default::default()
            });
        }
    };
    if let Some(i) = info
        && (i.value_len as usize != value.len()
            || i.data_len as usize != data.len()
            || i.chunk_count as usize != dir.len())
    {
        problems.push("size record does not match the segment".into());
    }
    let mut bytes = 0u64;
    let mut indexed = 0u64;
    for d in &dir {
        let stored = &data[d.offset as usize..(d.offset + d.stored_len) as usize];
        let is_indexed = snap
            .chunks
            .get(d.id.as_bytes().as_slice())?
            .and_then(|l| ChunkLoc::decode(l.value()).ok())
            .is_some_and(|l| {
                l.segment == seg
                    && l.offset == d.offset
                    && l.stored_len == d.stored_len
                    && l.raw_len == d.raw_len
                    && l.flags == d.flags
            });
        match decode_chunk(&d.id, d, stored) {
            Ok(raw) => bytes += raw.len() as u64,
            // A copy the index no longer points at (replaced by a repairing ingest)
            // holds nothing anyone reads; the indexed copy is checked on its own.
            Err(_) if !is_indexed => {}
            Err(fault) => bad.push((d.id, ProblemKind::DamagedChunk, fault.to_string())),
        }
        if is_indexed {
            indexed += 1;
        }
    }
    Ok(SegmentCheck {
        bad,
        problems,
        bytes,
        indexed,
    })
}

type AffectedMaps = (
    HashMap<ChunkId, Vec<Affected>>,
    HashMap<BlobId, Vec<Affected>>,
);

/// The releases and paths that each bad chunk and blob reaches.
fn attribute(snap: &Snapshot, f: &Findings) -> Result<AffectedMaps> {
    let names = snap.release_names()?;
    // Blobs reached by each bad chunk.
    let mut chunk_blobs: BTreeMap<ChunkId, Vec<BlobId>> = BTreeMap::new();
    if !f.bad_chunks.is_empty() {
        // A walk that stops early was reported by `check_blobs`; the paths named
        // here are then the ones it reached.
        for (k, v) in walk("blobs", &snap.blobs)? {
            if let Some(id) = BlobId::from_slice(k.value())
                && let Ok(rec) = BlobRecord::decode(&id, v.value())
            {
                for c in rec.chunks.iter().collect::<HashSet<_>>() {
                    if f.bad_chunks.contains_key(c) {
                        chunk_blobs.entry(*c).or_default().push(id);
                    }
                }
            }
        }
    }
    let paths_of = |blob: &BlobId| -> Result<Vec<Affected>> {
        let mut out = Vec::new();
        for (rel, name) in &names {
            let prefix = content_key(*rel, blob.as_bytes(), b"");
            let range = crate::store::prefix_range(&snap.by_content, &prefix, &prefix)?;
            for (k, _) in CheckedWalk::new("by_content", range) {
                if let Ok((_, _, path)) = split_content_key(k.value()) {
                    out.push(Affected {
                        release: name.clone(),
                        path: path_of(path),
                    });
                }
            }
        }
        Ok(out)
    };
    let mut by_chunk = HashMap::new();
    for c in f.bad_chunks.keys() {
        let mut affected = Vec::new();
        for b in chunk_blobs.get(c).into_iter().flatten() {
            affected.extend(paths_of(b)?);
        }
        by_chunk.insert(*c, affected);
    }
    let mut by_blob = HashMap::new();
    for b in f.bad_blobs.keys() {
        by_blob.insert(*b, paths_of(b)?);
    }
    Ok((by_chunk, by_blob))
}

fn push_limited(
    f: &mut Findings,
    kind: ProblemKind,
    object: String,
    detail: String,
    mut affected: Vec<Affected>,
) {
    affected.sort();
    affected.dedup();
    let total = affected.len() as u64;
    affected.truncate(AFFECTED_LIST_MAX);
    f.problems.push(Problem {
        kind,
        object,
        detail,
        affected,
        affected_total: total,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunking::ChunkParams;
    use crate::ops::ingest::{IngestOptions, ingest};
    use crate::progress::Silent;
    use crate::store::tree::{TREE_NODES, node_key};

    fn store_with_600_entries() -> (tempfile::TempDir, Store, u32) {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        for i in 0..600 {
            std::fs::write(src.join(format!("f{i:03}")), format!("content {i}\n")).unwrap();
        }
        let store = Store::init(&t.path().join("s.redb"), ChunkParams::default(), 1).unwrap();
        let id = ingest(&store, &IngestOptions::new(src, "r"), &Silent)
            .unwrap()
            .release_id;
        (t, store, id)
    }

    #[test]
    fn a_damaged_tree_node_is_found() {
        let (_t, store, id) = store_with_600_entries();
        assert!(fsck(&store, false, &Silent).unwrap().is_clean());
        let txn = store.begin_write().unwrap();
        txn.open_table(TREE_NODES)
            .unwrap()
            .insert(&node_key(id, 8, 1)[..], &[7u8; 32][..])
            .unwrap();
        txn.commit().unwrap();
        let r = fsck(&store, false, &Silent).unwrap();
        assert!(
            r.problems
                .iter()
                .any(|p| p.kind == ProblemKind::RootMismatch && p.detail.contains("tree node 8/1")),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn a_rewritten_release_root_is_found() {
        let (_t, store, _) = store_with_600_entries();
        let txn = store.begin_write().unwrap();
        {
            let mut t = txn.open_table(RELEASES).unwrap();
            let mut rec = ReleaseRecord::decode(t.get("r").unwrap().unwrap().value()).unwrap();
            rec.root[0] ^= 1;
            t.insert("r", rec.encode().as_slice()).unwrap();
        }
        txn.commit().unwrap();
        let r = fsck(&store, false, &Silent).unwrap();
        let details: Vec<&str> = r.problems.iter().map(|p| p.detail.as_str()).collect();
        assert!(
            details.iter().any(|d| d.contains("recomputed root")),
            "{details:?}"
        );
        assert!(
            details.iter().any(|d| d.contains("release log")),
            "{details:?}"
        );
    }

    #[test]
    fn a_content_row_without_an_entry_is_named() {
        let (_t, store, id) = store_with_600_entries();
        let txn = store.begin_write().unwrap();
        txn.open_table(BY_CONTENT)
            .unwrap()
            .insert(
                content_key(id, &[9u8; 32], b"ghost").as_slice(),
                &content_value(EntryKind::File, 5)[..],
            )
            .unwrap();
        txn.commit().unwrap();
        let r = fsck(&store, false, &Silent).unwrap();
        let found: Vec<_> = r
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::IndexMismatch)
            .map(|p| p.object.as_str())
            .collect();
        assert_eq!(
            found,
            vec!["content index row for ghost"],
            "{:?}",
            r.problems
        );
    }

    /// A block whose first path falls inside the block before it hides entries from
    /// lookups; fsck says so.
    #[test]
    fn overlapping_entry_blocks_are_found() {
        let (_t, store, id) = store_with_600_entries();
        let snap = store.snapshot().unwrap();
        let rec = snap.entry(id, b"f001").unwrap().unwrap();
        drop(snap);
        let txn = store.begin_write().unwrap();
        let block = crate::store::entry_block::encode_block(&[(b"f0005".to_vec(), rec)]);
        txn.open_table(ENTRIES)
            .unwrap()
            .insert(entry_key(id, b"f0005").as_slice(), block.as_slice())
            .unwrap();
        txn.commit().unwrap();
        let r = fsck(&store, false, &Silent).unwrap();
        assert!(
            r.problems
                .iter()
                .any(|p| p.object == "entry block at f0005" && p.detail.contains("overlaps")),
            "{:?}",
            r.problems
        );
    }
}
