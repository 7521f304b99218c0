//! Tables, keys and records of the store, exactly as docs/FORMAT.md specifies them.
//! Constant names match the spec's names. Every integer is little-endian.

use redb::TableDefinition;

use crate::codec::{Dec, DecodeError, Enc};
use crate::id::{BlobId, ChunkId, HASH_LEN};
use crate::paths::EntryPath;

/// Store format version this build reads and writes (`FORMAT_VERSION`).
pub const FORMAT_VERSION: u32 = 3;

/// Largest segment value, bytes (`SEGMENT_TARGET`): just under a power of two,
/// because redb rounds each value's allocation up to a power-of-two number of pages,
/// and no larger than needed, because redb reads a whole value to give any part of
/// it: a chunk read at random costs one segment read (docs/FORMAT.md).
pub const SEGMENT_TARGET: usize = 256 * 1024 - 1024;

/// Magic at the end of every segment (`SEGMENT_MAGIC`).
pub const SEGMENT_MAGIC: &[u8; 4] = b"CSG1";

/// Bytes of one segment directory record (`SEGMENT_DIR_RECORD`).
pub const SEGMENT_DIR_RECORD: usize = HASH_LEN + 4 + 4 + 4 + 1;

/// Chunk flag: the stored bytes are a zstd frame (`CHUNK_FLAG_ZSTD`).
pub const CHUNK_FLAG_ZSTD: u8 = 0x01;

/// Blob flag: the recipe is the blob id itself, a one-chunk blob (`BLOB_FLAG_SELF`).
pub const BLOB_FLAG_SELF: u8 = 0x01;

pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub const SEGMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("segments");
pub const SEGMENT_INFO: TableDefinition<u64, &[u8]> = TableDefinition::new("segment_info");
pub const CHUNKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chunks");
pub const BLOBS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blobs");
pub const RELEASES: TableDefinition<&str, &[u8]> = TableDefinition::new("releases");
pub const INGESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("ingests");
pub const ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entries");
pub const BY_CONTENT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("by_content");
pub const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
pub const SIGNED_HEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("signed_heads");
/// An ingest's entries and content-index rows until its release commits, in the
/// formats of `entries` and `by_content`. The final commit moves them over in key
/// order, which lets redb pack those tables' pages full; rows written in arrival
/// order leave pages about half full. Rows of a killed ingest stay here until an
/// ingest of the same name removes them.
pub const STAGED_ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("staged_entries");
pub const STAGED_CONTENT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("staged_content");
/// Chunks `fsck --read-data` found damaged, awaiting a fresh copy from an ingest.
/// Key chunk id, value i64 ns when found.
pub const DAMAGED_CHUNKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("damaged_chunks");

/// Keys of the meta table.
pub mod meta_key {
    pub const FORMAT_VERSION: &str = "format_version";
    pub const CHUNK_MIN: &str = "chunk_min";
    pub const CHUNK_AVG: &str = "chunk_avg";
    pub const CHUNK_MAX: &str = "chunk_max";
    pub const COMPRESSION: &str = "compression";
    pub const ZSTD_LEVEL: &str = "zstd_level";
    pub const CREATED: &str = "created";
    pub const NEXT_RELEASE_ID: &str = "next_release_id";
}

/// Where a chunk's stored bytes are (value of CHUNKS, `CHUNK_LOC_LEN` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLoc {
    pub segment: u64,
    pub offset: u32,
    pub stored_len: u32,
    pub raw_len: u32,
    pub flags: u8,
}

pub const CHUNK_LOC_LEN: usize = 8 + 4 + 4 + 4 + 1;

impl ChunkLoc {
    pub fn encode(&self) -> [u8; CHUNK_LOC_LEN] {
        let mut e = Enc::with_capacity(CHUNK_LOC_LEN);
        e.u64(self.segment)
            .u32(self.offset)
            .u32(self.stored_len)
            .u32(self.raw_len)
            .u8(self.flags);
        let mut out = [0u8; CHUNK_LOC_LEN];
        out.copy_from_slice(e.as_slice());
        out
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let loc = Self {
            segment: d.u64()?,
            offset: d.u32()?,
            stored_len: d.u32()?,
            raw_len: d.u32()?,
            flags: d.u8()?,
        };
        d.end()?;
        if loc.flags & !CHUNK_FLAG_ZSTD != 0 {
            return Err(DecodeError::Unknown {
                what: "chunk flags",
                value: loc.flags as u64,
            });
        }
        Ok(loc)
    }

    pub fn is_compressed(&self) -> bool {
        self.flags & CHUNK_FLAG_ZSTD != 0
    }
}

/// A blob: its size and ordered chunk recipe (value of BLOBS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    pub size: u64,
    pub chunks: Vec<ChunkId>,
}

impl BlobRecord {
    pub fn encode(&self, id: &BlobId) -> Vec<u8> {
        let self_recipe = self.chunks.len() == 1 && self.chunks[0].0 == id.0;
        let mut e = Enc::with_capacity(
            13 + if self_recipe {
                0
            } else {
                32 * self.chunks.len()
            },
        );
        e.u64(self.size);
        if self_recipe {
            e.u8(BLOB_FLAG_SELF).u32(0);
        } else {
            e.u8(0).u32(self.chunks.len() as u32);
            for c in &self.chunks {
                e.hash(&c.0);
            }
        }
        e.finish()
    }

    pub fn decode(id: &BlobId, b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let size = d.u64()?;
        let flags = d.u8()?;
        let count = d.u32()? as usize;
        let chunks = match flags {
            BLOB_FLAG_SELF if count == 0 => vec![id.as_chunk()],
            0 => {
                if d.remaining() != count * HASH_LEN {
                    return Err(DecodeError::Invalid(
                        "blob recipe length does not match count",
                    ));
                }
                let chunks: Vec<ChunkId> = (0..count)
                    .map(|_| d.hash().map(ChunkId))
                    .collect::<Result<_, _>>()?;
                // That recipe is written with BLOB_FLAG_SELF: one form per recipe.
                if chunks.len() == 1 && chunks[0].0 == id.0 {
                    return Err(DecodeError::Invalid(
                        "a blob that is its one chunk must use BLOB_FLAG_SELF",
                    ));
                }
                chunks
            }
            _ => {
                return Err(DecodeError::Unknown {
                    what: "blob flags",
                    value: flags as u64,
                });
            }
        };
        d.end()?;
        Ok(Self { size, chunks })
    }
}

/// Kind of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A file inside an archive of the release, at `archive/path.zip!/inner/path`.
    Member,
}

impl EntryKind {
    pub fn code(self) -> u8 {
        match self {
            EntryKind::File => 1,
            EntryKind::Dir => 2,
            EntryKind::Symlink => 3,
            EntryKind::Member => 4,
        }
    }

    pub fn from_code(c: u8) -> Result<Self, DecodeError> {
        Ok(match c {
            1 => EntryKind::File,
            2 => EntryKind::Dir,
            3 => EntryKind::Symlink,
            4 => EntryKind::Member,
            _ => {
                return Err(DecodeError::Unknown {
                    what: "entry kind",
                    value: c as u64,
                });
            }
        })
    }

    /// Files and archive members have content (a blob).
    pub fn has_blob(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Member)
    }

    /// Parses the name used in text formats.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "file" => EntryKind::File,
            "dir" => EntryKind::Dir,
            "symlink" => EntryKind::Symlink,
            "member" => EntryKind::Member,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Member => "member",
        }
    }
}

/// The content hash a directory carries: it has no content (`DIR_HASH`).
pub const DIR_HASH: [u8; HASH_LEN] = [0u8; HASH_LEN];

/// One entry of a release: a staged row's value as `encode` writes it, and one entry
/// of an entry block (`entry_block`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    pub kind: EntryKind,
    /// Unix permission bits and file type bits as `lstat` gave them.
    pub mode: u32,
    pub mtime_ns: i64,
    /// File or member: content length. Symlink: target length. Dir: 0.
    pub size: u64,
    /// File: blob id. Symlink: BLAKE3 of the target bytes. Dir: [`DIR_HASH`].
    pub hash: [u8; HASH_LEN],
    /// Source inode and ctime, for the unchanged-file cache of later ingests.
    pub inode: u64,
    pub ctime_ns: i64,
    /// Symlink target bytes (empty otherwise).
    pub target: Vec<u8>,
}

impl EntryRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(71 + self.target.len());
        e.u8(self.kind.code())
            .u32(self.mode)
            .i64(self.mtime_ns)
            .u64(self.size)
            .hash(&self.hash)
            .u64(self.inode)
            .i64(self.ctime_ns)
            .bytes16(&self.target);
        e.finish()
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let r = Self {
            kind: EntryKind::from_code(d.u8()?)?,
            mode: d.u32()?,
            mtime_ns: d.i64()?,
            size: d.u64()?,
            hash: d.hash()?,
            inode: d.u64()?,
            ctime_ns: d.i64()?,
            target: d.bytes16()?.to_vec(),
        };
        d.end()?;
        Ok(r)
    }

    pub fn blob(&self) -> Option<BlobId> {
        self.kind.has_blob().then_some(BlobId(self.hash))
    }
}

/// Key of ENTRIES: release id, then the path bytes.
pub fn entry_key(release: u32, path: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + path.len());
    k.extend_from_slice(&release.to_le_bytes());
    k.extend_from_slice(path);
    k
}

/// Splits an ENTRIES key.
pub fn split_entry_key(k: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    let mut d = Dec::new(k);
    let rel = d.u32()?;
    Ok((rel, d.rest()))
}

/// Key of BY_CONTENT: release id, content hash, path. Ordered by (hash, path) within a
/// release, which is also the manifest's leaf order.
pub fn content_key(release: u32, hash: &[u8; HASH_LEN], path: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + HASH_LEN + path.len());
    k.extend_from_slice(&release.to_le_bytes());
    k.extend_from_slice(hash);
    k.extend_from_slice(path);
    k
}

/// Splits a BY_CONTENT key into (release, hash, path).
pub fn split_content_key(k: &[u8]) -> Result<(u32, [u8; HASH_LEN], &[u8]), DecodeError> {
    let mut d = Dec::new(k);
    let rel = d.u32()?;
    let h = d.hash()?;
    Ok((rel, h, d.rest()))
}

/// Value of BY_CONTENT: what a manifest leaf needs besides hash and path.
pub fn content_value(kind: EntryKind, size: u64) -> [u8; 9] {
    let mut v = [0u8; 9];
    v[0] = kind.code();
    v[1..].copy_from_slice(&size.to_le_bytes());
    v
}

pub fn decode_content_value(b: &[u8]) -> Result<(EntryKind, u64), DecodeError> {
    let mut d = Dec::new(b);
    let kind = EntryKind::from_code(d.u8()?)?;
    let size = d.u64()?;
    d.end()?;
    Ok((kind, size))
}

/// Per-release counters, kept in the release record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseCounts {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Sum of file sizes.
    pub logical_bytes: u64,
    /// Chunks this release stored for the first time, their raw and stored bytes.
    pub new_chunks: u64,
    pub new_raw_bytes: u64,
    pub new_stored_bytes: u64,
    /// Files skipped with a warning (unreadable, vanished, special).
    pub skipped: u64,
    /// Files inside archives, indexed as entries of their own, and their bytes.
    pub members: u64,
    pub member_bytes: u64,
}

/// A committed release (value of RELEASES, keyed by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub id: u32,
    pub created_ns: i64,
    pub parent: Option<String>,
    /// The ingested directory, as bytes.
    pub source: Vec<u8>,
    pub counts: ReleaseCounts,
    /// Merkle root of the release's manifest (docs/PROOFS.md).
    pub root: [u8; 32],
    /// Position of this release's head in the release log.
    pub log_index: u64,
}

impl ReleaseRecord {
    /// Leaves in the release's manifest: one per entry.
    pub fn entries(&self) -> u64 {
        self.counts.files + self.counts.dirs + self.counts.symlinks + self.counts.members
    }
}

impl ReleaseRecord {
    pub fn encode(&self) -> Vec<u8> {
        let c = &self.counts;
        let mut e = Enc::with_capacity(128 + self.source.len());
        e.u32(self.id)
            .i64(self.created_ns)
            .bytes16(self.parent.as_deref().unwrap_or("").as_bytes())
            .bytes32(&self.source)
            .u64(c.files)
            .u64(c.dirs)
            .u64(c.symlinks)
            .u64(c.logical_bytes)
            .u64(c.new_chunks)
            .u64(c.new_raw_bytes)
            .u64(c.new_stored_bytes)
            .u64(c.skipped)
            .u64(c.members)
            .u64(c.member_bytes)
            .hash(&self.root)
            .u64(self.log_index);
        e.finish()
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let id = d.u32()?;
        let created_ns = d.i64()?;
        let parent = decode_name(d.bytes16()?)?;
        let source = d.bytes32()?.to_vec();
        let counts = ReleaseCounts {
            files: d.u64()?,
            dirs: d.u64()?,
            symlinks: d.u64()?,
            logical_bytes: d.u64()?,
            new_chunks: d.u64()?,
            new_raw_bytes: d.u64()?,
            new_stored_bytes: d.u64()?,
            skipped: d.u64()?,
            members: d.u64()?,
            member_bytes: d.u64()?,
        };
        let root = d.hash()?;
        let log_index = d.u64()?;
        d.end()?;
        Ok(Self {
            id,
            created_ns,
            parent,
            source,
            counts,
            root,
            log_index,
        })
    }
}

/// Version byte of a release head (`HEAD_VERSION`).
pub const HEAD_VERSION: u8 = 1;

/// A release head: a leaf of the release log (value of LOG, keyed by position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseHead {
    pub name: String,
    pub root: [u8; 32],
    pub entries: u64,
    /// The parent's root, or all zeros when there is no parent.
    pub parent_root: [u8; 32],
    pub created_ns: i64,
}

impl ReleaseHead {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::new();
        e.u8(HEAD_VERSION)
            .bytes16(self.name.as_bytes())
            .hash(&self.root)
            .u64(self.entries)
            .hash(&self.parent_root)
            .i64(self.created_ns);
        e.finish()
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let v = d.u8()?;
        if v != HEAD_VERSION {
            return Err(DecodeError::Unknown {
                what: "release head version",
                value: v as u64,
            });
        }
        let name = decode_name(d.bytes16()?)?.ok_or(DecodeError::Invalid("empty release name"))?;
        let h = Self {
            name,
            root: d.hash()?,
            entries: d.u64()?,
            parent_root: d.hash()?,
            created_ns: d.i64()?,
        };
        d.end()?;
        Ok(h)
    }
}

/// An ingest that has started but not committed its release (value of INGESTS).
/// Rewritten at every commit of the ingest, so a rerun after a kill knows what the
/// killed run stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IngestRecord {
    /// Release id the entries of this run are written under.
    pub id: u32,
    pub started_ns: i64,
    pub parent: Option<String>,
    pub source: Vec<u8>,
    /// Chunks stored so far by this ingest and its killed predecessors.
    pub new_chunks: u64,
    pub new_raw_bytes: u64,
    pub new_stored_bytes: u64,
    /// Ids of killed earlier runs whose entries are removed when this one commits.
    pub stale_ids: Vec<u32>,
}

fn decode_name(b: &[u8]) -> Result<Option<String>, DecodeError> {
    if b.is_empty() {
        return Ok(None);
    }
    String::from_utf8(b.to_vec())
        .map(Some)
        .map_err(|_| DecodeError::Invalid("release name is not UTF-8"))
}

impl IngestRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::new();
        e.u32(self.id)
            .i64(self.started_ns)
            .bytes16(self.parent.as_deref().unwrap_or("").as_bytes())
            .bytes32(&self.source)
            .u64(self.new_chunks)
            .u64(self.new_raw_bytes)
            .u64(self.new_stored_bytes)
            .u32(self.stale_ids.len() as u32);
        for id in &self.stale_ids {
            e.u32(*id);
        }
        e.finish()
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let id = d.u32()?;
        let started_ns = d.i64()?;
        let parent = decode_name(d.bytes16()?)?;
        let source = d.bytes32()?.to_vec();
        let new_chunks = d.u64()?;
        let new_raw_bytes = d.u64()?;
        let new_stored_bytes = d.u64()?;
        let n = d.u32()? as usize;
        if d.remaining() != n * 4 {
            return Err(DecodeError::Invalid(
                "stale id list length does not match count",
            ));
        }
        let stale_ids = (0..n).map(|_| d.u32()).collect::<Result<_, _>>()?;
        d.end()?;
        Ok(Self {
            id,
            started_ns,
            parent,
            source,
            new_chunks,
            new_raw_bytes,
            new_stored_bytes,
            stale_ids,
        })
    }
}

/// Size facts of one segment (value of SEGMENT_INFO, `SEGMENT_INFO_LEN` bytes), so that
/// the structural check can test every chunk location without reading segment data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Bytes of chunk data at the start of the segment value.
    pub data_len: u32,
    /// Chunks in the segment's directory.
    pub chunk_count: u32,
    /// Length of the whole segment value (data, directory, trailer).
    pub value_len: u32,
    /// Directory entries the chunk index no longer points at: damaged copies that a
    /// repairing ingest replaced with a copy in a later segment.
    pub dead: u32,
}

/// Length of a `SegmentInfo` without dead copies; with some it has a fourth `u32`.
pub const SEGMENT_INFO_LEN: usize = 12;

impl SegmentInfo {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(SEGMENT_INFO_LEN + 4);
        e.u32(self.data_len)
            .u32(self.chunk_count)
            .u32(self.value_len);
        if self.dead > 0 {
            e.u32(self.dead);
        }
        e.as_slice().to_vec()
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let mut s = Self {
            data_len: d.u32()?,
            chunk_count: d.u32()?,
            value_len: d.u32()?,
            dead: 0,
        };
        if b.len() > SEGMENT_INFO_LEN {
            s.dead = d.u32()?;
            // One encoding per value: no dead copies is written as 12 bytes.
            if s.dead == 0 || s.dead > s.chunk_count {
                return Err(DecodeError::Invalid("segment info dead count"));
            }
        }
        d.end()?;
        Ok(s)
    }
}

/// One chunk in a segment's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentDirEntry {
    pub id: ChunkId,
    pub offset: u32,
    pub stored_len: u32,
    pub raw_len: u32,
    pub flags: u8,
}

/// Splits a segment value into its data area and directory.
pub fn parse_segment(b: &[u8]) -> Result<(&[u8], Vec<SegmentDirEntry>), DecodeError> {
    if b.len() < 8 || &b[b.len() - 4..] != SEGMENT_MAGIC {
        return Err(DecodeError::Invalid("segment magic missing"));
    }
    let count = u32::from_le_bytes([
        b[b.len() - 8],
        b[b.len() - 7],
        b[b.len() - 6],
        b[b.len() - 5],
    ]) as usize;
    let dir_len = count
        .checked_mul(SEGMENT_DIR_RECORD)
        .filter(|&n| n <= b.len() - 8)
        .ok_or(DecodeError::Invalid(
            "segment directory larger than segment",
        ))?;
    let data_end = b.len() - 8 - dir_len;
    let mut d = Dec::new(&b[data_end..b.len() - 8]);
    let mut dir = Vec::with_capacity(count);
    for _ in 0..count {
        let e = SegmentDirEntry {
            id: ChunkId(d.hash()?),
            offset: d.u32()?,
            stored_len: d.u32()?,
            raw_len: d.u32()?,
            flags: d.u8()?,
        };
        if (e.offset as usize)
            .checked_add(e.stored_len as usize)
            .is_none_or(|end| end > data_end)
        {
            return Err(DecodeError::Invalid(
                "segment directory points past the data",
            ));
        }
        dir.push(e);
    }
    Ok((&b[..data_end], dir))
}

/// The directory and trailer that follow a segment's data.
pub fn segment_trailer(dir: &[SegmentDirEntry]) -> Vec<u8> {
    let mut e = Enc::with_capacity(dir.len() * SEGMENT_DIR_RECORD + 8);
    for d in dir {
        e.hash(&d.id.0)
            .u32(d.offset)
            .u32(d.stored_len)
            .u32(d.raw_len)
            .u8(d.flags);
    }
    e.u32(dir.len() as u32).raw(SEGMENT_MAGIC);
    e.finish()
}

/// A whole segment value: data, then directory and trailer.
pub fn finish_segment(data: &[u8], dir: &[SegmentDirEntry]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.extend_from_slice(&segment_trailer(dir));
    v
}

/// Checks a release name: 1 to 128 characters from `A-Za-z0-9._-+@:`, not starting
/// with `.` or `-`, so names are safe as file names, arguments and checkpoint lines.
pub fn check_release_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 128 {
        return Err("must be 1 to 128 characters");
    }
    if name.starts_with('.') || name.starts_with('-') {
        return Err("must not start with '.' or '-'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-+@:".contains(&b))
    {
        return Err("may only use letters, digits and . _ - + @ :");
    }
    Ok(())
}

/// Converts a path from an entry key for messages.
pub fn path_of(b: &[u8]) -> EntryPath {
    EntryPath::from_raw(b.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry() -> impl Strategy<Value = EntryRecord> {
        (
            prop_oneof![
                Just(EntryKind::File),
                Just(EntryKind::Dir),
                Just(EntryKind::Symlink),
                Just(EntryKind::Member)
            ],
            any::<u32>(),
            any::<i64>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<i64>(),
            proptest::collection::vec(any::<u8>(), 0..100),
        )
            .prop_map(
                |(kind, mode, mtime_ns, size, hash, inode, ctime_ns, target)| EntryRecord {
                    kind,
                    mode,
                    mtime_ns,
                    size,
                    hash,
                    inode,
                    ctime_ns,
                    target,
                },
            )
    }

    proptest! {
        #[test]
        fn entry_round_trips(e in entry()) {
            prop_assert_eq!(EntryRecord::decode(&e.encode()).unwrap(), e);
        }

        #[test]
        fn blob_round_trips(size: u64, ids in proptest::collection::vec(any::<[u8; 32]>(), 0..20), id: [u8; 32]) {
            let b = BlobRecord { size, chunks: ids.into_iter().map(ChunkId).collect() };
            let id = BlobId(id);
            prop_assert_eq!(BlobRecord::decode(&id, &b.encode(&id)).unwrap(), b);
        }

        #[test]
        fn release_round_trips(id: u32, created: i64, parent in proptest::option::of("[a-z0-9]{1,20}"), source in proptest::collection::vec(any::<u8>(), 0..50), files: u64, bytes: u64) {
            let r = ReleaseRecord { id, created_ns: created, parent, source, counts: ReleaseCounts { files, logical_bytes: bytes, ..Default::default() }, root: [7; 32], log_index: files };
            prop_assert_eq!(ReleaseRecord::decode(&r.encode()).unwrap(), r);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = EntryRecord::decode(&b);
            let _ = BlobRecord::decode(&BlobId([1; 32]), &b);
            let _ = ReleaseRecord::decode(&b);
            let _ = IngestRecord::decode(&b);
            let _ = ChunkLoc::decode(&b);
            let _ = parse_segment(&b);
            let _ = decode_content_value(&b);
            let _ = SegmentInfo::decode(&b);
            let _ = ReleaseHead::decode(&b);
            let _ = split_content_key(&b);
        }

        #[test]
        fn segment_round_trips(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..100), 0..10)) {
            let mut data = Vec::new();
            let mut dir = Vec::new();
            for c in &chunks {
                dir.push(SegmentDirEntry { id: ChunkId::of(c), offset: data.len() as u32, stored_len: c.len() as u32, raw_len: c.len() as u32, flags: 0 });
                data.extend_from_slice(c);
            }
            let seg = finish_segment(&data, &dir);
            let (d2, dir2) = parse_segment(&seg).unwrap();
            prop_assert_eq!(d2, &data[..]);
            prop_assert_eq!(dir2, dir);
        }
    }

    #[test]
    fn release_names() {
        assert!(check_release_name("blueleaks-2020-06-19").is_ok());
        assert!(check_release_name("mirror@ddosecrets:v2").is_ok());
        for bad in ["", "-x", ".x", "a b", "a/b", "é"] {
            assert!(check_release_name(bad).is_err(), "{bad}");
        }
    }
}
