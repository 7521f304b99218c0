//! The store: one redb file holding chunks, blobs, releases and their entries.
//!
//! Processes share a store the way redb's `SingleWriter` mode allows: one process
//! writes (an ingest), any number read (ls, extract, fsck...) at the same time and see
//! each commit as it lands. A second writer is refused at once.

pub mod entry_block;
pub mod format;
#[cfg(test)]
mod format_props;
pub mod pages;
pub mod repack;
pub mod similar;
pub mod snapshot;
pub mod tree;
pub mod upgrade;
pub mod walk;
pub mod writer;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{
    Builder, ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadableDatabase,
    ReadableTable, StorageError, WriteTransaction,
};

use crate::chunking::ChunkParams;
use crate::error::{Error, IoContext, Result};
use format::*;
pub use snapshot::{Release, Snapshot};

/// Environment variable naming the store (`CUSTODY_STORE`).
pub const STORE_ENV: &str = "CUSTODY_STORE";

/// redb page cache per open store. Small on purpose: chunk data is read once and
/// streamed, so a large cache only inflates memory.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Default zstd level for new stores. Level 1, measured against 3 and 6 on the full
/// benchmark corpus (docs/PERFORMANCE.md): leaks are mostly already-compressed PDFs
/// and images, and on 32 KiB chunks level 3 stored 0.3% less for 40% more compression
/// time.
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// The default store location: `$XDG_DATA_HOME/custody/store.redb`, else
/// `~/.local/share/custody/store.redb`, else `./custody.redb`.
pub fn default_store_path() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("custody/store.redb");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/custody/store.redb");
    }
    PathBuf::from("custody.redb")
}

/// Parameters fixed when a store is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoreMeta {
    pub format_version: u32,
    pub chunk: ChunkParams,
    pub zstd_level: i32,
    pub created_ns: i64,
}

enum Db {
    Writable(Database),
    ReadOnly(ReadOnlyDatabase),
}

/// An open store.
pub struct Store {
    path: PathBuf,
    db: Db,
    meta: StoreMeta,
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn builder() -> Builder {
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    b.set_cache_size(CACHE_BYTES);
    b
}

fn map_open_error(path: &Path, e: DatabaseError) -> Error {
    match e {
        DatabaseError::DatabaseAlreadyOpen => Error::StoreInUse(path.to_path_buf()),
        DatabaseError::Storage(StorageError::Io(io)) => {
            if io.kind() == std::io::ErrorKind::InvalidData {
                Error::NotAStore {
                    path: path.to_path_buf(),
                    reason: io.to_string(),
                }
            } else {
                Error::io(path, "open store", io)
            }
        }
        DatabaseError::Storage(StorageError::Corrupted(msg)) => Error::NotAStore {
            path: path.to_path_buf(),
            reason: format!("damaged database file: {msg}"),
        },
        DatabaseError::UpgradeRequired(v) => Error::NotAStore {
            path: path.to_path_buf(),
            reason: format!("redb file format {v} needs an upgrade"),
        },
        other => Error::Db(other.into()),
    }
}

fn check_exists(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(Error::NotAStore {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::StoreMissing(path.to_path_buf()))
        }
        Err(e) => Err(Error::io(path, "open store", e)),
    }
}

impl Store {
    /// Creates a new, empty store. Its directory is made owner-only (0700) when custody
    /// creates it, and the file is 0600: leaks hold personal data.
    pub fn init(path: &Path, chunk: ChunkParams, zstd_level: i32) -> Result<Store> {
        if path.exists() {
            return Err(Error::StoreExists(path.to_path_buf()));
        }
        if !(1..=22).contains(&zstd_level) {
            return Err(Error::Invalid(format!(
                "zstd level {zstd_level} is outside 1..=22"
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .ctx(dir, "create store directory")?;
        }
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .ctx(path, "create store")?;
        let db = builder()
            .create(path)
            .map_err(|e| map_open_error(path, e))?;
        let meta = StoreMeta {
            format_version: FORMAT_VERSION,
            chunk,
            zstd_level,
            created_ns: now_ns(),
        };
        let txn = db.begin_write()?;
        {
            let mut m = txn.open_table(META)?;
            m.insert(meta_key::FORMAT_VERSION, &FORMAT_VERSION.to_le_bytes()[..])?;
            m.insert(meta_key::CHUNK_MIN, &chunk.min.to_le_bytes()[..])?;
            m.insert(meta_key::CHUNK_AVG, &chunk.avg.to_le_bytes()[..])?;
            m.insert(meta_key::CHUNK_MAX, &chunk.max.to_le_bytes()[..])?;
            m.insert(meta_key::COMPRESSION, &b"zstd"[..])?;
            m.insert(meta_key::ZSTD_LEVEL, &zstd_level.to_le_bytes()[..])?;
            m.insert(meta_key::CREATED, &meta.created_ns.to_le_bytes()[..])?;
            m.insert(meta_key::NEXT_RELEASE_ID, &1u32.to_le_bytes()[..])?;
            // Every table exists from the start, so readers never meet a missing one.
            txn.open_table(SEGMENTS)?;
            txn.open_table(SEGMENT_INFO)?;
            txn.open_table(CHUNKS)?;
            txn.open_table(BLOBS)?;
            txn.open_table(RELEASES)?;
            txn.open_table(INGESTS)?;
            txn.open_table(ENTRIES)?;
            txn.open_table(BY_CONTENT)?;
            txn.open_table(STAGED_ENTRIES)?;
            txn.open_table(STAGED_CONTENT)?;
            txn.open_table(LOG)?;
            txn.open_table(SIGNED_HEADS)?;
            txn.open_table(DAMAGED_CHUNKS)?;
            txn.open_table(tree::TREE_NODES)?;
            txn.open_table(tree::LEAF_BLOCKS)?;
            txn.open_table(tree::BLOCK_STARTS)?;
            txn.open_table(similar::CHUNK_REFS)?;
            txn.open_table(similar::PREFIXES)?;
            txn.open_table(similar::SKETCH_BAND_ROWS)?;
        }
        txn.commit()?;
        Ok(Store {
            path: path.to_path_buf(),
            db: Db::Writable(db),
            meta,
        })
    }

    /// Opens a store for reading; works while another process ingests into it.
    pub fn open(path: &Path) -> Result<Store> {
        check_exists(path)?;
        let db = match builder().open_read_only(path) {
            Ok(db) => db,
            // After a crash the file needs redb's recovery, which only a writer can do.
            Err(DatabaseError::RepairAborted) => {
                drop(builder().open(path).map_err(|e| map_open_error(path, e))?);
                builder()
                    .open_read_only(path)
                    .map_err(|e| map_open_error(path, e))?
            }
            Err(e) => return Err(map_open_error(path, e)),
        };
        let meta = read_meta(path, &db)?;
        Ok(Store {
            path: path.to_path_buf(),
            db: Db::ReadOnly(db),
            meta,
        })
    }

    /// Opens a store for writing; fails at once with [`Error::StoreInUse`] when another
    /// process is writing.
    pub fn open_writable(path: &Path) -> Result<Store> {
        check_exists(path)?;
        let db = builder().open(path).map_err(|e| map_open_error(path, e))?;
        let meta = read_meta(path, &db)?;
        Ok(Store {
            path: path.to_path_buf(),
            db: Db::Writable(db),
            meta,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    /// A consistent read view of the last commit.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let txn = match &self.db {
            Db::Writable(d) => d.begin_read()?,
            Db::ReadOnly(d) => d.begin_read()?,
        };
        Snapshot::new(txn)
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTransaction> {
        match &self.db {
            Db::Writable(d) => {
                let mut t = d.begin_write()?;
                // Record allocator state at each commit so reopening after a kill is
                // instant instead of a walk over the whole file.
                t.set_quick_repair(true);
                Ok(t)
            }
            Db::ReadOnly(_) => Err(Error::Invalid(
                "store was opened read-only; this operation writes".into(),
            )),
        }
    }

    /// Chunks an earlier `fsck --read-data` found damaged and no ingest has yet
    /// stored again.
    pub fn damaged_chunks(&self) -> Result<std::collections::HashSet<crate::id::ChunkId>> {
        let txn = match &self.db {
            Db::Writable(d) => d.begin_read()?,
            Db::ReadOnly(d) => d.begin_read()?,
        };
        let t = match txn.open_table(DAMAGED_CHUNKS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Default::default()),
            Err(e) => return Err(e.into()),
        };
        let mut out = std::collections::HashSet::new();
        for row in t.iter()? {
            let (k, _) = row?;
            if let Some(id) = crate::id::ChunkId::from_slice(k.value()) {
                out.insert(id);
            }
        }
        Ok(out)
    }

    /// Replaces the damaged-chunk list with `ids`: what a full read of the data found
    /// now. Needs a writable store.
    pub fn record_damaged(&self, ids: &[crate::id::ChunkId]) -> Result<()> {
        let txn = self.begin_write()?;
        {
            let mut t = txn.open_table(DAMAGED_CHUNKS)?;
            t.retain(|_, _| false)?;
            let now = now_ns().to_le_bytes();
            for id in ids {
                t.insert(id.as_bytes().as_slice(), now.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Allocates the next release id.
    pub(crate) fn next_release_id(txn: &WriteTransaction) -> Result<u32> {
        let mut m = txn.open_table(META)?;
        let id = match m.get(meta_key::NEXT_RELEASE_ID)? {
            Some(v) => {
                let b: [u8; 4] = v
                    .value()
                    .try_into()
                    .map_err(|_| Error::Damaged("meta next_release_id is not 4 bytes".into()))?;
                u32::from_le_bytes(b)
            }
            None => return Err(Error::Damaged("meta has no next_release_id".into())),
        };
        let next = id
            .checked_add(1)
            .ok_or_else(|| Error::Invalid("release ids exhausted".into()))?;
        m.insert(meta_key::NEXT_RELEASE_ID, &next.to_le_bytes()[..])?;
        Ok(id)
    }
}

/// The store's meta, refusing a format this build does not read.
fn read_meta(path: &Path, db: &impl ReadableDatabase) -> Result<StoreMeta> {
    let meta = read_meta_any(path, db)?;
    if meta.format_version != FORMAT_VERSION {
        return Err(Error::UpgradeNeeded {
            path: path.to_path_buf(),
            found: meta.format_version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(meta)
}

/// The store's meta, whatever its format version.
fn read_meta_any(path: &Path, db: &impl ReadableDatabase) -> Result<StoreMeta> {
    let txn = db.begin_read()?;
    let m = match txn.open_table(META) {
        Ok(m) => m,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Err(Error::NotAStore {
                path: path.to_path_buf(),
                reason: "a redb database without custody's meta table".into(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let get = |k: &str| -> Result<Vec<u8>> {
        m.get(k)?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| Error::NotAStore {
                path: path.to_path_buf(),
                reason: format!("meta table has no {k}"),
            })
    };
    let u32_of = |k: &str| -> Result<u32> {
        let v = get(k)?;
        let b: [u8; 4] = v.as_slice().try_into().map_err(|_| Error::NotAStore {
            path: path.to_path_buf(),
            reason: format!("meta {k} is not 4 bytes"),
        })?;
        Ok(u32::from_le_bytes(b))
    };
    let version = u32_of(meta_key::FORMAT_VERSION)?;
    // A later format may keep other meta: refuse it before reading on.
    if version != FORMAT_VERSION && !upgrade::can_upgrade(version) {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let chunk = ChunkParams::new(
        u32_of(meta_key::CHUNK_MIN)?,
        u32_of(meta_key::CHUNK_AVG)?,
        u32_of(meta_key::CHUNK_MAX)?,
    )
    .map_err(|e| Error::NotAStore {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let compression = get(meta_key::COMPRESSION)?;
    if compression != b"zstd" {
        return Err(Error::NotAStore {
            path: path.to_path_buf(),
            reason: format!(
                "unknown compression {:?}",
                String::from_utf8_lossy(&compression)
            ),
        });
    }
    let zstd_level = u32_of(meta_key::ZSTD_LEVEL)? as i32;
    let created = get(meta_key::CREATED)?;
    let created_ns = i64::from_le_bytes(created.as_slice().try_into().unwrap_or([0; 8]));
    Ok(StoreMeta {
        format_version: version,
        chunk,
        zstd_level,
        created_ns,
    })
}

/// The smallest key greater than every key starting with `prefix`, or `None` when
/// there is none (all bytes 0xff).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut v = prefix.to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return Some(v);
        }
    }
    None
}

/// The rows of `table` from key `from` on whose keys start with `prefix` (`from`
/// itself starts with it, or is it).
pub(crate) fn prefix_range<'t>(
    table: &'t impl redb::ReadableTable<&'static [u8], &'static [u8]>,
    from: &[u8],
    prefix: &[u8],
) -> Result<redb::Range<'t, &'static [u8], &'static [u8]>> {
    Ok(match prefix_end(prefix) {
        Some(end) => table.range(from..end.as_slice())?,
        None => table.range(from..)?,
    })
}

/// Deletes every key of `table` that starts with `prefix`.
pub(crate) fn delete_prefix(table: &mut redb::Table<&[u8], &[u8]>, prefix: &[u8]) -> Result<()> {
    match prefix_end(prefix) {
        Some(end) => table.retain_in::<&[u8], _>(prefix..end.as_slice(), |_, _| false)?,
        None => table.retain_in::<&[u8], _>(prefix.., |_, _| false)?,
    }
    Ok(())
}

/// What the rows of a staging table become in the committed table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packing {
    /// The same rows (`by_content`).
    Rows,
    /// Entry blocks (`entries`, docs/FORMAT.md).
    EntryBlocks,
}

/// Moves release `release`'s rows from staging table `from` into `to` (see
/// [`STAGED_ENTRIES`]): one ascending run through a cursor, which redb packs into
/// full pages, then the staged rows are deleted. `to` must hold none of the
/// release's rows. Returns the staged rows moved.
pub(crate) fn move_staged(
    from: &mut redb::Table<&[u8], &[u8]>,
    to: &mut redb::Table<&[u8], &[u8]>,
    release: u32,
    packing: Packing,
) -> Result<u64> {
    let prefix = release.to_le_bytes();
    let mut moved = 0u64;
    {
        let rows = prefix_range(from, &prefix, &prefix)?;
        let mut cursor = to.lower_bound_mut(std::ops::Bound::Included(&prefix[..]))?;
        let mut put = |k: &[u8], v: &[u8]| -> Result<()> {
            cursor.insert_before(k, v).map_err(redb::Error::from)?;
            Ok(())
        };
        let mut blocks = entry_block::BlockBuilder::default();
        for row in rows {
            let (k, v) = row?;
            moved += 1;
            if packing == Packing::Rows {
                put(k.value(), v.value())?;
                continue;
            }
            let (_, path) =
                split_entry_key(k.value()).map_err(|e| Error::corrupt("staged entry key", e))?;
            let rec = EntryRecord::decode(v.value())
                .map_err(|e| Error::corrupt(format!("staged entry {}", path_of(path)), e))?;
            if let Some((first, block)) = blocks.push(path, &rec) {
                put(&entry_key(release, &first), &block)?;
            }
        }
        if let Some((first, block)) = blocks.finish() {
            put(&entry_key(release, &first), &block)?;
        }
        cursor.close()?;
    }
    delete_prefix(from, &prefix)?;
    Ok(moved)
}

/// Reads a release record by name inside a write transaction.
pub(crate) fn release_in_txn(txn: &WriteTransaction, name: &str) -> Result<Option<ReleaseRecord>> {
    let t = txn.open_table(RELEASES)?;
    let v = t.get(name)?;
    match v {
        Some(v) => {
            Ok(Some(ReleaseRecord::decode(v.value()).map_err(|e| {
                Error::corrupt(format!("release {name:?}"), e)
            })?))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_missing_a_table_says_so() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("store.redb");
        drop(Store::init(&p, ChunkParams::default(), 1).unwrap());
        // As a store made before the similarity tables existed.
        let db = redb::Database::open(&p).unwrap();
        let w = db.begin_write().unwrap();
        w.delete_table(similar::CHUNK_REFS).unwrap();
        w.commit().unwrap();
        drop(db);
        let s = Store::open(&p).unwrap();
        let e = s.snapshot().err().expect("a missing table is an error");
        let msg = e.to_string();
        assert!(msg.contains("table chunk_refs is missing"), "{msg}");
    }

    /// A store from before the staging tables reads as it did, and its next ingest
    /// creates them and commits a packed, checkable release.
    #[test]
    fn a_store_without_staging_tables_reads_and_ingests() {
        use crate::ops::ingest::{IngestOptions, ingest};
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("store.redb");
        let src = t.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("a.txt"), b"first file").unwrap();
        std::fs::write(src.join("b.txt"), b"second file").unwrap();
        drop(Store::init(&p, ChunkParams::default(), 1).unwrap());
        let db = redb::Database::open(&p).unwrap();
        let w = db.begin_write().unwrap();
        w.delete_table(STAGED_ENTRIES).unwrap();
        w.delete_table(STAGED_CONTENT).unwrap();
        w.commit().unwrap();
        drop(db);

        let store = Store::open_writable(&p).unwrap();
        assert!(store.snapshot().unwrap().staged.is_none());
        ingest(
            &store,
            &IngestOptions::new(src, "r"),
            &crate::progress::Silent,
        )
        .unwrap();
        let snap = store.snapshot().unwrap();
        assert!(snap.staged.is_some());
        let r = snap.release("r").unwrap();
        let names: Vec<String> = snap
            .entries_with_prefix(r.id(), b"")
            .unwrap()
            .map(|e| e.unwrap().path.to_string())
            .collect();
        assert_eq!(names, vec!["a.txt", "b.txt"]);
        let report = crate::ops::fsck::fsck(&store, true, &crate::progress::Silent).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    }

    #[test]
    fn prefix_end_increments() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }

    #[test]
    fn init_then_open_reads_meta_and_refuses_second_writer() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sub/store.redb");
        let s = Store::init(&p, ChunkParams::default(), 3).unwrap();
        assert_eq!(s.meta().chunk, ChunkParams::default());
        assert!(matches!(
            Store::open_writable(&p),
            Err(Error::StoreInUse(_))
        ));
        // A reader works beside the writer.
        let r = Store::open(&p).unwrap();
        assert_eq!(r.meta().zstd_level, 3);
        drop(s);
        assert!(matches!(
            Store::init(&p, ChunkParams::default(), 3),
            Err(Error::StoreExists(_))
        ));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(p.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }

    #[test]
    fn refuses_unknown_version_and_foreign_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("s.redb");
        let s = Store::init(&p, ChunkParams::default(), 3).unwrap();
        {
            let txn = s.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(meta_key::FORMAT_VERSION, &99u32.to_le_bytes()[..])
                .unwrap();
            txn.commit().unwrap();
        }
        drop(s);
        match Store::open(&p) {
            Err(Error::UnsupportedVersion { found: 99, .. }) => {}
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a store of an unknown version"),
        }
        let junk = t.path().join("junk");
        fs::write(&junk, vec![7u8; 10000]).unwrap();
        assert!(matches!(Store::open(&junk), Err(Error::NotAStore { .. })));
        assert!(matches!(
            Store::open(&t.path().join("nope")),
            Err(Error::StoreMissing(_))
        ));
    }
}
