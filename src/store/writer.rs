//! Writing side of the store: packs chunks into segments and inserts blob and entry
//! rows inside a write transaction. One writer at a time; ingest drives it from a
//! single thread.

use redb::{ReadableTable, Table, WriteTransaction};

use super::format::*;
use crate::error::Result;
use crate::id::{BlobId, ChunkId};

/// The tables an ingest writes, opened once per transaction.
pub(crate) struct Tables<'t> {
    pub chunks: Table<'t, &'static [u8], &'static [u8]>,
    pub blobs: Table<'t, &'static [u8], &'static [u8]>,
    /// This ingest's entries and content rows (see [`STAGED_ENTRIES`]).
    pub staged_entries: Table<'t, &'static [u8], &'static [u8]>,
    pub staged_content: Table<'t, &'static [u8], &'static [u8]>,
    pub segments: Table<'t, u64, &'static [u8]>,
    pub segment_info: Table<'t, u64, &'static [u8]>,
    pub chunk_refs: Table<'t, &'static [u8; super::similar::CHUNK_REFS_KEY], ()>,
    pub prefixes: Table<'t, &'static [u8; super::similar::PREFIXES_KEY], ()>,
    pub sketch_bands: Table<'t, &'static [u8; super::similar::BAND_ROW_KEY], ()>,
    pub damaged: Table<'t, &'static [u8], &'static [u8]>,
}

impl<'t> Tables<'t> {
    pub fn open(txn: &'t WriteTransaction) -> Result<Self> {
        Ok(Self {
            chunks: txn.open_table(CHUNKS)?,
            blobs: txn.open_table(BLOBS)?,
            staged_entries: txn.open_table(STAGED_ENTRIES)?,
            staged_content: txn.open_table(STAGED_CONTENT)?,
            segments: txn.open_table(SEGMENTS)?,
            segment_info: txn.open_table(SEGMENT_INFO)?,
            chunk_refs: txn.open_table(super::similar::CHUNK_REFS)?,
            prefixes: txn.open_table(super::similar::PREFIXES)?,
            sketch_bands: txn.open_table(super::similar::SKETCH_BAND_ROWS)?,
            damaged: txn.open_table(DAMAGED_CHUNKS)?,
        })
    }

    pub fn has_chunk(&self, id: &ChunkId) -> Result<bool> {
        Ok(self.chunks.get(id.as_bytes().as_slice())?.is_some())
    }

    pub fn has_blob(&self, id: &BlobId) -> Result<bool> {
        Ok(self.blobs.get(id.as_bytes().as_slice())?.is_some())
    }

    /// Inserts a blob record unless it exists; true when it was new.
    pub fn put_blob(&mut self, id: &BlobId, rec: &BlobRecord) -> Result<bool> {
        if self.has_blob(id)? {
            return Ok(false);
        }
        self.blobs
            .insert(id.as_bytes().as_slice(), rec.encode(id).as_slice())?;
        Ok(true)
    }

    /// Inserts an entry and its content-index row.
    ///
    /// A member path (`a.zip!/x`) can also be a real path when a directory is named
    /// `a.zip!`. The real entry wins, whichever arrives first; only paths holding the
    /// separator pay for the check.
    pub fn put_entry(&mut self, release: u32, path: &[u8], rec: &EntryRecord) -> Result<PutEntry> {
        let key = entry_key(release, path);
        let mut outcome = PutEntry::Inserted;
        if path
            .windows(crate::paths::ARCHIVE_SEPARATOR.len())
            .any(|w| w == crate::paths::ARCHIVE_SEPARATOR)
            && let Some(old) = self.staged_entries.get(key.as_slice())?
        {
            let old = EntryRecord::decode(old.value())
                .map_err(|e| crate::Error::corrupt(format!("entry {}", path_of(path)), e))?;
            match (old.kind == EntryKind::Member, rec.kind == EntryKind::Member) {
                (false, true) => return Ok(PutEntry::Shadowed),
                (true, false) => {
                    self.staged_content
                        .remove(content_key(release, &old.hash, path).as_slice())?;
                    outcome = PutEntry::Replaced(old);
                }
                _ => {}
            }
        }
        self.staged_entries
            .insert(key.as_slice(), rec.encode().as_slice())?;
        self.staged_content.insert(
            content_key(release, &rec.hash, path).as_slice(),
            &content_value(rec.kind, rec.size)[..],
        )?;
        Ok(outcome)
    }
}

/// What `put_entry` did.
pub(crate) enum PutEntry {
    Inserted,
    /// A member entry that was there is replaced by a real entry at the same path.
    Replaced(EntryRecord),
    /// A member entry was not written: a real entry has its path.
    Shadowed,
}

/// Packs stored chunks into segment values of at most [`SEGMENT_TARGET`] bytes.
/// The open segment survives commits: it is written at each commit and rewritten,
/// larger, at the next, so no segment is left mostly empty by a commit.
pub(crate) struct SegmentPacker {
    id: u64,
    data: Vec<u8>,
    dir: Vec<SegmentDirEntry>,
    dirty: bool,
}

impl SegmentPacker {
    /// Starts after the highest existing segment.
    pub fn new(t: &Tables) -> Result<Self> {
        let next = match t.segments.last()? {
            Some((k, _)) => k.value() + 1,
            None => 0,
        };
        Ok(Self {
            id: next,
            data: Vec::with_capacity(SEGMENT_TARGET),
            dir: Vec::new(),
            dirty: false,
        })
    }

    fn packed_len(&self, extra_data: usize, extra_dir: usize) -> usize {
        self.data.len() + extra_data + (self.dir.len() + extra_dir) * SEGMENT_DIR_RECORD + 8
    }

    /// Stores a chunk unless it is already stored; true when it was new.
    pub fn put_chunk(
        &mut self,
        t: &mut Tables,
        id: &ChunkId,
        raw_len: u32,
        flags: u8,
        stored: &[u8],
    ) -> Result<bool> {
        if t.has_chunk(id)? {
            return Ok(false);
        }
        self.append(t, id, raw_len, flags, stored)?;
        Ok(true)
    }

    /// Stores a fresh copy of a chunk the index already has (whose stored bytes are
    /// damaged) and points the index at it. The old copy stays in its segment as dead
    /// bytes, which fsck ignores since nothing refers to them.
    pub fn replace_chunk(
        &mut self,
        t: &mut Tables,
        id: &ChunkId,
        raw_len: u32,
        flags: u8,
        stored: &[u8],
    ) -> Result<()> {
        let old = t
            .chunks
            .get(id.as_bytes().as_slice())?
            .and_then(|l| ChunkLoc::decode(l.value()).ok());
        self.append(t, id, raw_len, flags, stored)?;
        // The old copy's segment now holds one entry nobody reads.
        if let Some(old) = old
            && old.segment != self.id
        {
            let info = t
                .segment_info
                .get(old.segment)?
                .and_then(|v| SegmentInfo::decode(v.value()).ok());
            if let Some(mut info) = info
                && info.dead < info.chunk_count
            {
                info.dead += 1;
                t.segment_info
                    .insert(old.segment, info.encode().as_slice())?;
            }
        }
        Ok(())
    }

    fn append(
        &mut self,
        t: &mut Tables,
        id: &ChunkId,
        raw_len: u32,
        flags: u8,
        stored: &[u8],
    ) -> Result<()> {
        if !self.dir.is_empty() && self.packed_len(stored.len(), 1) > SEGMENT_TARGET {
            self.flush(t)?;
            self.id += 1;
            self.data.clear();
            self.dir.clear();
        }
        let d = SegmentDirEntry {
            id: *id,
            offset: self.data.len() as u32,
            stored_len: stored.len() as u32,
            raw_len,
            flags,
        };
        self.data.extend_from_slice(stored);
        self.dir.push(d);
        self.dirty = true;
        let loc = ChunkLoc {
            segment: self.id,
            offset: d.offset,
            stored_len: d.stored_len,
            raw_len,
            flags,
        };
        t.chunks
            .insert(id.as_bytes().as_slice(), &loc.encode()[..])?;
        Ok(())
    }

    /// Writes the open segment; call before every commit.
    pub fn flush(&mut self, t: &mut Tables) -> Result<()> {
        if self.dirty {
            // Written straight into redb's page: a segment is a megabyte, copied once.
            let trailer = segment_trailer(&self.dir);
            let len = self.data.len() + trailer.len();
            {
                let mut slot = t.segments.insert_reserve(self.id, len)?;
                let buf = slot.as_mut();
                buf[..self.data.len()].copy_from_slice(&self.data);
                buf[self.data.len()..].copy_from_slice(&trailer);
            }
            let info = SegmentInfo {
                data_len: self.data.len() as u32,
                chunk_count: self.dir.len() as u32,
                value_len: len as u32,
                dead: 0,
            };
            t.segment_info.insert(self.id, info.encode().as_slice())?;
            self.dirty = false;
        }
        Ok(())
    }
}
