//! A read view of one commit: release lookup, entries, blobs and verified chunk reads.

use std::collections::HashMap;

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable};

use super::entry_block::{BlockReader, decode_block};
use super::format::*;
use super::prefix_range;
use crate::error::{Error, Result};
use crate::id::{BlobId, ChunkId};
use crate::paths::EntryPath;

/// A committed release: its name and record.
#[derive(Debug, Clone)]
pub struct Release {
    pub name: String,
    pub record: ReleaseRecord,
}

impl Release {
    pub fn id(&self) -> u32 {
        self.record.id
    }
}

/// What is wrong with a chunk that could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkFault {
    #[error("chunk is not in the chunk index")]
    NotIndexed,
    #[error("chunk index record is damaged: {0}")]
    BadIndex(String),
    #[error("segment {0} is missing")]
    SegmentMissing(u64),
    #[error("chunk lies outside segment {0}")]
    OutOfSegment(u64),
    #[error("stored bytes do not decompress: {0}")]
    Decompress(String),
    #[error("recorded length {0} is larger than any chunk (at most {max} bytes)", max = crate::chunking::CHUNK_MAX_LIMIT)]
    TooLarge(u32),
    #[error("decompressed to {got} bytes, expected {want}")]
    Length { got: usize, want: u32 },
    #[error("content hash is {0}, not the chunk id")]
    Hash(ChunkId),
}

/// One entry read from a release.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: EntryPath,
    pub record: EntryRecord,
}

/// Entries of one release in path order, read block by block (see
/// [`Snapshot::entries_with_prefix`]). Stops at the first error.
pub struct EntryCursor<'s> {
    blocks: redb::Range<'s, &'static [u8], &'static [u8]>,
    /// Entries before this path are skipped (they share its block).
    from: Vec<u8>,
    /// The first path without this prefix ends the walk.
    prefix: Vec<u8>,
    block: Option<BlockReader<Vec<u8>>>,
    /// The open block's first path, for messages.
    first: Vec<u8>,
    /// The last path read, which the next block's first path must follow.
    last: Vec<u8>,
    done: bool,
}

impl EntryCursor<'_> {
    /// The next entry of the open block at or after `from`, if any.
    fn next_in_block(&mut self) -> Result<Option<Entry>> {
        let Some(reader) = &mut self.block else {
            return Ok(None);
        };
        loop {
            let Some((path, record)) = reader.next_entry().map_err(|e| {
                Error::corrupt(format!("entry block at {}", path_of(&self.first)), e)
            })?
            else {
                self.block = None;
                return Ok(None);
            };
            self.last.clear();
            self.last.extend_from_slice(path);
            if path >= self.from.as_slice() {
                return Ok(Some(Entry {
                    path: EntryPath::from_raw(path.to_vec()),
                    record,
                }));
            }
        }
    }

    fn open(&mut self, k: &[u8], v: &[u8]) -> Result<()> {
        let (_, first) = split_entry_key(k).map_err(|e| Error::corrupt("entry key", e))?;
        if !self.last.is_empty() && first <= self.last.as_slice() {
            return Err(Error::Damaged(format!(
                "entry block at {}: it overlaps the block before it",
                path_of(first)
            )));
        }
        self.block = Some(BlockReader::new(first, v.to_vec()));
        self.first = first.to_vec();
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Entry>> {
        loop {
            if let Some(e) = self.next_in_block()? {
                if !e.path.as_bytes().starts_with(&self.prefix) {
                    return Ok(None);
                }
                return Ok(Some(e));
            }
            match self.blocks.next() {
                None => return Ok(None),
                Some(row) => {
                    let (k, v) = row?;
                    self.open(k.value(), v.value())?;
                }
            }
        }
    }
}

impl Iterator for EntryCursor<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.done {
            return None;
        }
        let got = self.step();
        if !matches!(got, Ok(Some(_))) {
            self.done = true;
        }
        got.transpose()
    }
}

/// A row of a `&[u8]`-keyed table as redb returns it.
type Row<'a> = (
    redb::AccessGuard<'a, &'static [u8]>,
    redb::AccessGuard<'a, &'static [u8]>,
);

/// The entry block a lookup decoded last (see [`Snapshot::entry`]).
struct LastBlock {
    release: u32,
    entries: Vec<(Vec<u8>, EntryRecord)>,
}

impl LastBlock {
    /// Whether `path` lies between the block's first and last paths, where no other
    /// block can hold it.
    fn covers(&self, release: u32, path: &[u8]) -> bool {
        match (self.entries.first(), self.entries.last()) {
            (Some((first, _)), Some((last, _))) => {
                self.release == release && first.as_slice() <= path && path <= last.as_slice()
            }
            _ => false,
        }
    }

    fn position(&self, path: &[u8]) -> usize {
        self.entries.partition_point(|(p, _)| p.as_slice() < path)
    }
}

/// Read view; see the module docs.
pub struct Snapshot {
    _txn: ReadTransaction,
    last_block: std::sync::Mutex<Option<LastBlock>>,
    pub(crate) releases: ReadOnlyTable<&'static str, &'static [u8]>,
    pub(crate) ingests: ReadOnlyTable<&'static str, &'static [u8]>,
    pub(crate) entries: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) by_content: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) blobs: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) chunks: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) segments: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) segment_info: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) log: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) signed_heads: ReadOnlyTable<&'static str, &'static [u8]>,
    pub(crate) tree_nodes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) leaf_blocks: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) block_starts: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) chunk_refs: ReadOnlyTable<&'static [u8; super::similar::CHUNK_REFS_KEY], ()>,
    pub(crate) prefixes: ReadOnlyTable<&'static [u8; super::similar::PREFIXES_KEY], ()>,
    pub(crate) sketch_bands: ReadOnlyTable<&'static [u8; super::similar::BAND_ROW_KEY], ()>,
    /// Unfinished ingests' rows; absent in a store no build with staging has
    /// written to yet.
    pub(crate) staged: Option<[ReadOnlyTable<&'static [u8], &'static [u8]>; 2]>,
}

/// Opens a table every store has: one that is missing means the file was made by a
/// development build from before that table existed, or lost its table tree.
fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: redb::TableDefinition<K, V>,
) -> Result<ReadOnlyTable<K, V>> {
    match txn.open_table(def) {
        Err(redb::TableError::TableDoesNotExist(name)) => Err(Error::Damaged(format!(
            "table {name} is missing (a store made by an early development build, or a damaged file); create a new store and ingest again"
        ))),
        other => Ok(other?),
    }
}

impl Snapshot {
    pub(crate) fn new(txn: ReadTransaction) -> Result<Self> {
        Ok(Self {
            releases: open(&txn, RELEASES)?,
            ingests: open(&txn, INGESTS)?,
            entries: open(&txn, ENTRIES)?,
            by_content: open(&txn, BY_CONTENT)?,
            blobs: open(&txn, BLOBS)?,
            chunks: open(&txn, CHUNKS)?,
            segments: open(&txn, SEGMENTS)?,
            segment_info: open(&txn, SEGMENT_INFO)?,
            log: open(&txn, LOG)?,
            signed_heads: open(&txn, SIGNED_HEADS)?,
            tree_nodes: open(&txn, super::tree::TREE_NODES)?,
            leaf_blocks: open(&txn, super::tree::LEAF_BLOCKS)?,
            block_starts: open(&txn, super::tree::BLOCK_STARTS)?,
            chunk_refs: open(&txn, super::similar::CHUNK_REFS)?,
            prefixes: open(&txn, super::similar::PREFIXES)?,
            sketch_bands: open(&txn, super::similar::SKETCH_BAND_ROWS)?,
            staged: match (
                txn.open_table(STAGED_ENTRIES),
                txn.open_table(STAGED_CONTENT),
            ) {
                (Ok(e), Ok(c)) => Some([e, c]),
                (Err(redb::TableError::TableDoesNotExist(_)), _)
                | (_, Err(redb::TableError::TableDoesNotExist(_))) => None,
                (Err(e), _) | (_, Err(e)) => return Err(e.into()),
            },
            last_block: std::sync::Mutex::new(None),
            _txn: txn,
        })
    }

    /// All committed releases, in creation order.
    pub fn releases(&self) -> Result<Vec<Release>> {
        let mut out = Vec::new();
        for row in self.releases.iter()? {
            let (k, v) = row?;
            let name = k.value().to_string();
            let record = ReleaseRecord::decode(v.value())
                .map_err(|e| Error::corrupt(format!("release {name:?}"), e))?;
            out.push(Release { name, record });
        }
        out.sort_by_key(|r| r.record.id);
        Ok(out)
    }

    /// Release names by id, for turning index hits into names.
    pub fn release_names(&self) -> Result<HashMap<u32, String>> {
        Ok(self
            .releases()?
            .into_iter()
            .map(|r| (r.record.id, r.name))
            .collect())
    }

    pub fn release(&self, name: &str) -> Result<Release> {
        match self.releases.get(name)? {
            Some(v) => Ok(Release {
                name: name.to_string(),
                record: ReleaseRecord::decode(v.value())
                    .map_err(|e| Error::corrupt(format!("release {name:?}"), e))?,
            }),
            None => Err(Error::ReleaseNotFound(name.to_string())),
        }
    }

    /// Ingests that started and have not committed, by release name.
    pub fn pending_ingests(&self) -> Result<Vec<(String, IngestRecord)>> {
        let mut out = Vec::new();
        for row in self.ingests.iter()? {
            let (k, v) = row?;
            let name = k.value().to_string();
            let rec = IngestRecord::decode(v.value())
                .map_err(|e| Error::corrupt(format!("pending ingest {name:?}"), e))?;
            out.push((name, rec));
        }
        Ok(out)
    }

    /// The block of `release` that would hold `path`: the last whose first path is
    /// at most `path`. Returns its key's path and its value.
    fn block_at(&self, release: u32, path: &[u8]) -> Result<Option<Row<'_>>> {
        let key = entry_key(release, path);
        let Some(row) = self.entries.range::<&[u8]>(..=key.as_slice())?.next_back() else {
            return Ok(None);
        };
        let (k, v) = row?;
        let (rel, _) = split_entry_key(k.value()).map_err(|e| Error::corrupt("entry key", e))?;
        Ok((rel == release).then_some((k, v)))
    }

    pub fn entry(&self, release: u32, path: &[u8]) -> Result<Option<EntryRecord>> {
        Ok(self
            .in_block(release, path, |es, i| {
                es.get(i).filter(|(p, _)| p == path).map(|(_, r)| r.clone())
            })?
            .flatten())
    }

    /// Whether any entry of `release` has a path starting with `prefix`.
    pub fn has_entries_with_prefix(&self, release: u32, prefix: &[u8]) -> Result<bool> {
        let near = self.in_block(release, prefix, |es, i| {
            es.get(i).map(|(p, _)| p.starts_with(prefix))
        })?;
        match near.flatten() {
            Some(found) => Ok(found),
            // Past the end of its block: the answer is in the next one.
            None => Ok(self.entries_with_prefix(release, prefix)?.next().is_some()),
        }
    }

    /// Runs `f` on the decoded block that would hold `path` and the index of its first
    /// entry at or after `path`; `None` when no block of `release` starts at or
    /// before `path`. The block is kept for the next call: ingest looks paths up in
    /// walk order, so most lookups land in the block the last one decoded.
    fn in_block<T>(
        &self,
        release: u32,
        path: &[u8],
        f: impl FnOnce(&[(Vec<u8>, EntryRecord)], usize) -> T,
    ) -> Result<Option<T>> {
        let mut last = self.last_block.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = last.as_ref().filter(|b| b.covers(release, path)) {
            return Ok(Some(f(&b.entries, b.position(path))));
        }
        let Some((k, v)) = self.block_at(release, path)? else {
            return Ok(None);
        };
        let (_, first) = split_entry_key(k.value()).map_err(|e| Error::corrupt("entry key", e))?;
        let entries = decode_block(first, v.value())
            .map_err(|e| Error::corrupt(format!("entry block at {}", path_of(first)), e))?;
        let b = last.insert(LastBlock { release, entries });
        Ok(Some(f(&b.entries, b.position(path))))
    }

    /// Entries of `release` from path `from` on whose paths start with `prefix`
    /// (`from` starts with it, or is it), in path byte order.
    fn entries_from(&self, release: u32, from: &[u8], prefix: &[u8]) -> Result<EntryCursor<'_>> {
        let start = match self.block_at(release, from)? {
            Some((k, _)) => k.value().to_vec(),
            None => entry_key(release, from),
        };
        Ok(EntryCursor {
            blocks: prefix_range(&self.entries, &start, &entry_key(release, prefix))?,
            from: from.to_vec(),
            prefix: prefix.to_vec(),
            block: None,
            first: Vec::new(),
            last: Vec::new(),
            done: false,
        })
    }

    /// Entries of a release whose path starts with the byte prefix `prefix`, in path
    /// byte order. Pass `b""` for all entries.
    pub fn entries_with_prefix(
        &self,
        release: u32,
        prefix: &[u8],
    ) -> Result<impl Iterator<Item = Result<Entry>> + '_> {
        self.entries_from(release, prefix, prefix)
    }

    /// The entry at `dir` (if any) and everything below it.
    pub fn entries_under(
        &self,
        release: u32,
        dir: &[u8],
    ) -> Result<impl Iterator<Item = Result<Entry>> + '_> {
        let owned = dir.to_vec();
        Ok(self
            .entries_with_prefix(release, dir)?
            .filter(move |e| match e {
                Ok(e) => e.path.starts_with_dir(&owned),
                Err(_) => true,
            }))
    }

    /// Direct children of `dir` ("" for the top level), skipping over the contents of
    /// subdirectories with a seek instead of a scan.
    pub fn children(&self, release: u32, dir: &[u8]) -> Result<Vec<Entry>> {
        let mut prefix = dir.to_vec();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        let mut out = Vec::new();
        let mut from = prefix.clone();
        loop {
            let mut cursor = self.entries_from(release, &from, &prefix)?;
            // Within a block the next entries are already decoded: walk them before
            // seeking again.
            let mut next_from = None;
            for e in cursor.by_ref() {
                let e = e?;
                let rest = &e.path.as_bytes()[prefix.len()..];
                match rest.iter().position(|&b| b == b'/') {
                    None => out.push(e),
                    Some(i) => {
                        // Inside a child directory: jump past all of it ("name/" → "name0").
                        let mut skip = e.path.as_bytes()[..prefix.len() + i].to_vec();
                        skip.push(b'/' + 1);
                        next_from = Some(skip);
                        break;
                    }
                }
            }
            match next_from {
                Some(f) => from = f,
                None => break,
            }
        }
        Ok(out)
    }

    /// Checks an entry against the release's content index, which holds its path,
    /// content hash, kind and size a second time: a record damaged on disk (a flipped
    /// byte in a path or hash that redb does not notice on a read) disagrees with it.
    /// Writers of files call this before writing anything under the entry's name.
    pub fn check_indexed(&self, release: u32, e: &Entry) -> Result<()> {
        let key = content_key(release, &e.record.hash, e.path.as_bytes());
        let agrees = match self.by_content.get(key.as_slice())? {
            Some(v) => decode_content_value(v.value())
                .is_ok_and(|(kind, size)| kind == e.record.kind && size == e.record.size),
            None => false,
        };
        if agrees {
            Ok(())
        } else {
            Err(Error::Damaged(format!(
                "entry {}: its record disagrees with the release's content index, so its name or content is damaged; nothing was written for it (run `custody fsck --read-data`)",
                e.path
            )))
        }
    }

    pub fn blob(&self, id: &BlobId) -> Result<Option<BlobRecord>> {
        match self.blobs.get(id.as_bytes().as_slice())? {
            Some(v) => Ok(Some(
                BlobRecord::decode(id, v.value())
                    .map_err(|e| Error::corrupt(format!("blob {id}"), e))?,
            )),
            None => Ok(None),
        }
    }

    pub fn has_chunk(&self, id: &ChunkId) -> Result<bool> {
        Ok(self.chunks.get(id.as_bytes().as_slice())?.is_some())
    }

    /// Reads a chunk back and proves it is the chunk asked for.
    pub fn read_chunk(&self, id: &ChunkId) -> Result<std::result::Result<Vec<u8>, ChunkFault>> {
        let loc = match self.chunks.get(id.as_bytes().as_slice())? {
            Some(v) => match ChunkLoc::decode(v.value()) {
                Ok(l) => l,
                Err(e) => return Ok(Err(ChunkFault::BadIndex(e.to_string()))),
            },
            None => return Ok(Err(ChunkFault::NotIndexed)),
        };
        let Some(seg) = self.segments.get(loc.segment)? else {
            return Ok(Err(ChunkFault::SegmentMissing(loc.segment)));
        };
        let seg = seg.value();
        let start = loc.offset as usize;
        let Some(stored) = start
            .checked_add(loc.stored_len as usize)
            .and_then(|end| seg.get(start..end))
        else {
            return Ok(Err(ChunkFault::OutOfSegment(loc.segment)));
        };
        Ok(decode_chunk(id, &loc_as_dir(id, &loc), stored))
    }

    /// The first `n` bytes of a blob (fewer if it is shorter), each chunk verified.
    pub fn read_prefix(&self, id: &BlobId, n: usize) -> Result<Vec<u8>> {
        let rec = self
            .blob(id)?
            .ok_or_else(|| Error::Damaged(format!("blob {id} is missing")))?;
        let mut out = Vec::with_capacity(n.min(rec.size as usize));
        for c in &rec.chunks {
            if out.len() >= n {
                break;
            }
            let data = self
                .read_chunk(c)?
                .map_err(|f| Error::Damaged(format!("blob {id}: chunk {c}: {f}")))?;
            out.extend_from_slice(&data);
        }
        out.truncate(n);
        Ok(out)
    }

    /// Streams a blob's bytes to `sink`, chunk by chunk, each chunk verified before it
    /// is handed over, and the whole content's hash checked at the end.
    pub fn read_blob(
        &self,
        id: &BlobId,
        what: &str,
        mut sink: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let rec = self
            .blob(id)?
            .ok_or_else(|| Error::Damaged(format!("{what}: blob {id} is missing")))?;
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        for c in &rec.chunks {
            let data = self
                .read_chunk(c)?
                .map_err(|f| Error::Damaged(format!("{what}: chunk {c}: {f}")))?;
            hasher.update(&data);
            total += data.len() as u64;
            sink(&data)?;
        }
        let got = BlobId::from(hasher.finalize());
        if got != *id || total != rec.size {
            return Err(Error::IntegrityMismatch {
                path: what.to_string(),
                expected: *id,
                actual: got,
            });
        }
        Ok(())
    }
}

fn loc_as_dir(id: &ChunkId, loc: &ChunkLoc) -> SegmentDirEntry {
    SegmentDirEntry {
        id: *id,
        offset: loc.offset,
        stored_len: loc.stored_len,
        raw_len: loc.raw_len,
        flags: loc.flags,
    }
}

/// Turns a chunk's stored bytes back into its content and checks its hash.
pub fn decode_chunk(
    id: &ChunkId,
    d: &SegmentDirEntry,
    stored: &[u8],
) -> std::result::Result<Vec<u8>, ChunkFault> {
    // The lengths come from the store file: bound them before allocating.
    if d.raw_len > crate::chunking::CHUNK_MAX_LIMIT {
        return Err(ChunkFault::TooLarge(d.raw_len));
    }
    let data = if d.flags & CHUNK_FLAG_ZSTD != 0 {
        let mut out = Vec::with_capacity(d.raw_len as usize);
        let mut dec =
            zstd::bulk::Decompressor::new().map_err(|e| ChunkFault::Decompress(e.to_string()))?;
        dec.decompress_to_buffer(stored, &mut out)
            .map_err(|e| ChunkFault::Decompress(e.to_string()))?;
        out
    } else {
        stored.to_vec()
    };
    if data.len() != d.raw_len as usize {
        return Err(ChunkFault::Length {
            got: data.len(),
            want: d.raw_len,
        });
    }
    let got = ChunkId::of(&data);
    if got != *id {
        return Err(ChunkFault::Hash(got));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: ChunkId, stored: &[u8], raw_len: u32, flags: u8) -> SegmentDirEntry {
        SegmentDirEntry {
            id,
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len,
            flags,
        }
    }

    #[test]
    fn a_lying_raw_length_is_refused_before_allocating() {
        let raw = vec![7u8; 4096];
        let id = ChunkId::of(&raw);
        let frame = zstd::bulk::compress(&raw, 1).unwrap();
        // The true length decodes.
        let d = entry(id, &frame, raw.len() as u32, CHUNK_FLAG_ZSTD);
        assert_eq!(decode_chunk(&id, &d, &frame).unwrap(), raw);
        // A length of 4 GiB - 1 would reserve that much before decompressing.
        for flags in [CHUNK_FLAG_ZSTD, 0] {
            let d = entry(id, &frame, u32::MAX, flags);
            assert_eq!(
                decode_chunk(&id, &d, &frame),
                Err(ChunkFault::TooLarge(u32::MAX))
            );
        }
        let just_over = crate::chunking::CHUNK_MAX_LIMIT + 1;
        let d = entry(id, &frame, just_over, CHUNK_FLAG_ZSTD);
        assert_eq!(
            decode_chunk(&id, &d, &frame),
            Err(ChunkFault::TooLarge(just_over))
        );
        // Within the limit but still a lie: the frame decodes to fewer bytes.
        let d = entry(id, &frame, 8192, CHUNK_FLAG_ZSTD);
        assert!(matches!(
            decode_chunk(&id, &d, &frame),
            Err(ChunkFault::Length {
                got: 4096,
                want: 8192
            })
        ));
    }

    /// A release spanning many entry blocks reads back the same through every reader:
    /// walks, lookups in either order (the kept block, and a fresh one), listings
    /// and prefix checks, and a block that overlaps its neighbour is an error, not a
    /// misordered listing.
    #[test]
    fn entries_across_many_blocks_read_back() {
        use crate::ops::ingest::{IngestOptions, ingest};
        use redb::ReadableTableMetadata;
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        for (dir, n) in [("a", 1500), ("b/sub", 1500)] {
            std::fs::create_dir_all(src.join(dir)).unwrap();
            for i in 0..n {
                let p = src
                    .join(dir)
                    .join(format!("file-with-a-longer-name-{i:05}.txt"));
                std::fs::write(p, format!("{dir} {i}")).unwrap();
            }
        }
        std::fs::write(src.join("c.txt"), b"c").unwrap();
        let store = super::super::Store::init(
            &t.path().join("s.redb"),
            crate::chunking::ChunkParams::default(),
            1,
        )
        .unwrap();
        let rel = ingest(
            &store,
            &IngestOptions::new(src, "r"),
            &crate::progress::Silent,
        )
        .unwrap()
        .release_id;
        let snap = store.snapshot().unwrap();
        assert!(
            snap.entries.len().unwrap() > 20,
            "the release spans many blocks"
        );

        let all: Vec<Entry> = snap
            .entries_with_prefix(rel, b"")
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(all.len(), 3000 + 4);
        assert!(all.windows(2).all(|w| w[0].path < w[1].path));
        for e in all.iter().chain(all.iter().rev()) {
            let got = snap.entry(rel, e.path.as_bytes()).unwrap();
            assert_eq!(got.as_ref(), Some(&e.record), "{}", e.path);
        }
        for absent in [
            &b"0"[..],
            b"a/file",
            b"a/file-with-a-longer-name-00001.txt0",
            b"zzz",
        ] {
            assert_eq!(snap.entry(rel, absent).unwrap(), None);
        }
        let names = |v: Vec<Entry>| {
            v.into_iter()
                .map(|e| e.path.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(snap.children(rel, b"").unwrap()), ["a", "b", "c.txt"]);
        assert_eq!(names(snap.children(rel, b"b").unwrap()), ["b/sub"]);
        assert_eq!(snap.children(rel, b"b/sub").unwrap().len(), 1500);
        let under = snap
            .entries_with_prefix(rel, b"b/sub/file-with-a-longer-name-01")
            .unwrap();
        assert_eq!(under.count(), 500);
        assert!(snap.has_entries_with_prefix(rel, b"a/").unwrap());
        assert!(!snap.has_entries_with_prefix(rel, b"a/x").unwrap());
        assert!(!snap.has_entries_with_prefix(rel, b"c.txt!/").unwrap());
        drop(snap);

        // A block whose first path falls inside the block before it.
        let e = &all[10];
        let block = super::super::entry_block::encode_block(&[(
            [e.path.as_bytes(), b"x"].concat(),
            e.record.clone(),
        )]);
        let txn = store.begin_write().unwrap();
        txn.open_table(ENTRIES)
            .unwrap()
            .insert(
                entry_key(rel, &[e.path.as_bytes(), b"x"].concat()).as_slice(),
                block.as_slice(),
            )
            .unwrap();
        txn.commit().unwrap();
        let snap = store.snapshot().unwrap();
        let err = snap
            .entries_with_prefix(rel, b"")
            .unwrap()
            .find_map(|e| e.err())
            .expect("an overlapping block is an error");
        assert!(err.to_string().contains("overlaps"), "{err}");
    }
}
