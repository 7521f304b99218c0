//! A read view of one commit: release lookup, entries, blobs and verified chunk reads.

use std::collections::HashMap;

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable};

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

/// Read view; see the module docs.
pub struct Snapshot {
    _txn: ReadTransaction,
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
    pub(crate) chunk_refs: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) prefixes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    pub(crate) sketch_bands: ReadOnlyTable<&'static [u8], &'static [u8]>,
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

    pub fn entry(&self, release: u32, path: &[u8]) -> Result<Option<EntryRecord>> {
        match self.entries.get(entry_key(release, path).as_slice())? {
            Some(v) => {
                Ok(Some(EntryRecord::decode(v.value()).map_err(|e| {
                    Error::corrupt(format!("entry {}", path_of(path)), e)
                })?))
            }
            None => Ok(None),
        }
    }

    /// Entries of a release whose path starts with the byte prefix `prefix`, in path
    /// byte order. Pass `b""` for all entries.
    pub fn entries_with_prefix(
        &self,
        release: u32,
        prefix: &[u8],
    ) -> Result<impl Iterator<Item = Result<Entry>> + '_> {
        let start = entry_key(release, prefix);
        let range = prefix_range(&self.entries, &start, &start)?;
        Ok(range.map(|row| {
            let (k, v) = row?;
            let (_, path) =
                split_entry_key(k.value()).map_err(|e| Error::corrupt("entry key", e))?;
            let record = EntryRecord::decode(v.value())
                .map_err(|e| Error::corrupt(format!("entry {}", path_of(path)), e))?;
            Ok(Entry {
                path: EntryPath::from_raw(path.to_vec()),
                record,
            })
        }))
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
        let full_prefix = entry_key(release, &prefix);
        let mut out = Vec::new();
        let mut from = full_prefix.clone();
        loop {
            let mut range = prefix_range(&self.entries, &from, &full_prefix)?;
            let Some(row) = range.next() else { break };
            let (k, v) = row?;
            let key = k.value();
            let (_, path) = split_entry_key(key).map_err(|e| Error::corrupt("entry key", e))?;
            let rest = &path[prefix.len()..];
            match rest.iter().position(|&b| b == b'/') {
                None => {
                    let record = EntryRecord::decode(v.value())
                        .map_err(|e| Error::corrupt(format!("entry {}", path_of(path)), e))?;
                    out.push(Entry {
                        path: EntryPath::from_raw(path.to_vec()),
                        record,
                    });
                    from = key.to_vec();
                    from.push(0);
                }
                Some(i) => {
                    // Inside a child directory: jump past all of it ("name/" → "name0").
                    let mut skip = entry_key(release, &path[..prefix.len() + i]);
                    skip.push(b'/' + 1);
                    from = skip;
                }
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
}
