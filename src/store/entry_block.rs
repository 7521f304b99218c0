//! Entry blocks, the values of `entries` (docs/FORMAT.md): a run of consecutive
//! entries of one release, paths front-coded against the previous path and
//! integers as varints. The block's key holds its first path.
//!
//! Why blocks: one row per entry cost ~137 bytes at a million files, half of it the
//! path written out in full and redb's per-row overhead. Leak paths share long
//! prefixes (`agency/files/DDF/...`), and a block of a page's worth of entries pays
//! the key and the row overhead once.

use crate::codec::{Dec, DecodeError, Enc};
use crate::id::HASH_LEN;

use super::format::{DIR_HASH, EntryKind, EntryRecord};

/// Largest key plus value of a block, bytes (`ENTRY_BLOCK_BUDGET`): a block is
/// closed before an entry that would take it past this, so most blocks fill one 4 KiB
/// redb leaf page with room for the page header and the row's offsets. A single
/// entry larger than this makes a block of its own.
pub const ENTRY_BLOCK_BUDGET: usize = 4096 - 64;

/// Entry head flag: a hash follows (`ENTRY_HAS_HASH`). Clear exactly when the hash
/// is all zeros (`DIR_HASH`).
pub const ENTRY_HAS_HASH: u8 = 0x08;
/// Entry head flag: a symlink target follows (`ENTRY_HAS_TARGET`). Clear exactly
/// when the target is empty.
pub const ENTRY_HAS_TARGET: u8 = 0x10;
const KIND_MASK: u8 = 0x07;

/// Appends one entry to a block's value. `prev` is the previous entry's path, or
/// `None` for the block's first entry, whose path is the key's and is not repeated.
fn encode_entry(out: &mut Enc, prev: Option<&[u8]>, path: &[u8], r: &EntryRecord) {
    if let Some(prev) = prev {
        let shared = common_prefix(prev, path);
        out.varint(shared as u64)
            .varint((path.len() - shared) as u64)
            .raw(&path[shared..]);
    }
    let mut head = r.kind.code();
    if r.hash != DIR_HASH {
        head |= ENTRY_HAS_HASH;
    }
    if !r.target.is_empty() {
        head |= ENTRY_HAS_TARGET;
    }
    out.u8(head)
        .varint(u64::from(r.mode))
        .i64(r.mtime_ns)
        .varint(r.size);
    if r.hash != DIR_HASH {
        out.hash(&r.hash);
    }
    out.varint(r.inode).i64(r.ctime_ns);
    if !r.target.is_empty() {
        out.varint(r.target.len() as u64).raw(&r.target);
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The value of a block holding `entries`, which must be in strictly ascending path
/// order; its key's path is the first entry's.
pub fn encode_block(entries: &[(Vec<u8>, EntryRecord)]) -> Vec<u8> {
    let mut e = Enc::new();
    let mut prev: Option<&[u8]> = None;
    for (path, rec) in entries {
        encode_entry(&mut e, prev, path, rec);
        prev = Some(path);
    }
    e.finish()
}

/// Builds blocks from entries given in ascending path order, closing each at
/// [`ENTRY_BLOCK_BUDGET`].
#[derive(Default)]
pub struct BlockBuilder {
    first: Vec<u8>,
    last: Vec<u8>,
    value: Enc,
    len: usize,
}

impl BlockBuilder {
    /// Adds an entry; returns the finished block (first path, value) when this entry
    /// did not fit in the open one and starts the next.
    pub fn push(&mut self, path: &[u8], rec: &EntryRecord) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut done = None;
        if self.len > 0 {
            let before = self.value.as_slice().len();
            encode_entry(&mut self.value, Some(&self.last), path, rec);
            if 4 + self.first.len() + self.value.as_slice().len() <= ENTRY_BLOCK_BUDGET {
                self.len += 1;
                self.last.clear();
                self.last.extend_from_slice(path);
                return None;
            }
            // Over budget: the entry starts the next block instead.
            self.value.truncate(before);
            done = self.finish();
        }
        encode_entry(&mut self.value, None, path, rec);
        self.first = path.to_vec();
        self.last = path.to_vec();
        self.len = 1;
        done
    }

    /// The open block, if any entry is in it.
    pub fn finish(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.len == 0 {
            return None;
        }
        self.len = 0;
        let value = std::mem::take(&mut self.value).finish();
        Some((std::mem::take(&mut self.first), value))
    }
}

/// Reads a block's entries in order. Each path must be greater than the one before
/// it and share exactly its common prefix with it, so a block has one encoding.
/// Holds the value as any byte container: borrowed by [`decode_block`], owned by a
/// cursor that outlives the database read that gave it.
pub struct BlockReader<B> {
    value: B,
    at: usize,
    path: Vec<u8>,
    started: bool,
}

impl<B: AsRef<[u8]>> BlockReader<B> {
    pub fn new(first_path: &[u8], value: B) -> Self {
        Self {
            value,
            at: 0,
            path: first_path.to_vec(),
            started: false,
        }
    }

    /// The next entry, or `None` at the end of the block.
    pub fn next_entry(&mut self) -> Result<Option<(&[u8], EntryRecord)>, DecodeError> {
        let rest = &self.value.as_ref()[self.at..];
        let mut d = Dec::new(rest);
        let rec = read_entry(&mut d, &mut self.path, self.started)?;
        self.at += rest.len() - d.remaining();
        self.started = true;
        Ok(rec.map(|r| (self.path.as_slice(), r)))
    }
}

/// Reads one entry from `d`, updating `path` from the previous entry's path (or, for
/// the first entry of a block, `started` false, leaving the key's path); `None` at
/// the end of the block.
fn read_entry(
    d: &mut Dec,
    path: &mut Vec<u8>,
    started: bool,
) -> Result<Option<EntryRecord>, DecodeError> {
    if started {
        if d.remaining() == 0 {
            return Ok(None);
        }
        let shared = d.varint_len()?;
        let n = d.varint_len()?;
        let suffix = d.raw(n)?;
        let ascends = match (path.get(shared), suffix.first()) {
            (_, None) => false,
            (None, Some(_)) => shared == path.len(),
            (Some(p), Some(s)) => s > p,
        };
        if !ascends {
            return Err(DecodeError::Invalid(
                "entry block paths are not front-coded in ascending order",
            ));
        }
        path.truncate(shared);
        path.extend_from_slice(suffix);
    } else if d.remaining() == 0 {
        return Err(DecodeError::Invalid("entry block is empty"));
    }
    let head = d.u8()?;
    if head & !(KIND_MASK | ENTRY_HAS_HASH | ENTRY_HAS_TARGET) != 0 {
        return Err(DecodeError::Unknown {
            what: "entry head bits",
            value: head as u64,
        });
    }
    let kind = EntryKind::from_code(head & KIND_MASK)?;
    let mode = d.varint32()?;
    let mtime_ns = d.i64()?;
    let size = d.varint()?;
    let hash = if head & ENTRY_HAS_HASH != 0 {
        let h = d.hash()?;
        if h == DIR_HASH {
            return Err(DecodeError::Invalid(
                "an all-zero hash is written by a clear hash flag",
            ));
        }
        h
    } else {
        [0u8; HASH_LEN]
    };
    let inode = d.varint()?;
    let ctime_ns = d.i64()?;
    let target = if head & ENTRY_HAS_TARGET != 0 {
        let n = d.varint_len()?;
        if n == 0 {
            return Err(DecodeError::Invalid(
                "an empty target is written by a clear target flag",
            ));
        }
        d.raw(n)?
    } else {
        &[]
    };
    Ok(Some(EntryRecord {
        kind,
        mode,
        mtime_ns,
        size,
        hash,
        inode,
        ctime_ns,
        target: target.to_vec(),
    }))
}

/// Every entry of a block, with its path.
pub fn decode_block(
    first_path: &[u8],
    value: &[u8],
) -> Result<Vec<(Vec<u8>, EntryRecord)>, DecodeError> {
    let mut r = BlockReader::new(first_path, value);
    let mut out = Vec::new();
    while let Some((p, rec)) = r.next_entry()? {
        out.push((p.to_vec(), rec));
    }
    Ok(out)
}
