//! `ingest DIR --release NAME`: walk → read → chunk → hash → skip stored chunks →
//! compress new ones in parallel → one writer packs and commits in batches → the
//! release record commits last, so a release exists whole or not at all.
//!
//! Entries are written under the release's id while the ingest runs, but nothing
//! refers to that id until the final commit adds the release record; an `ingests`
//! row names the run meanwhile. A rerun after a kill finds that row, takes the killed
//! run's entries as its unchanged-file cache, skips every chunk already stored, and
//! removes the killed run's entries when it commits.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use rayon::prelude::*;
use redb::ReadableTable;
use serde::Serialize;

use crate::chunking::WindowChunker;
use crate::error::{Error, IoContext, Result};
use crate::id::{BlobId, ChunkId};
use crate::paths::{EntryPath, escape_bytes};
use crate::progress::Progress;
use crate::store::format::*;
use crate::store::repack::{Repacked, RowCounts};
use crate::store::writer::{PutEntry, SegmentPacker, Tables};
use crate::store::{Packing, Snapshot, Store, delete_prefix, move_staged, now_ns, release_in_txn};
use crate::walk::{IssueKind, NodeKind, NodeStat, WalkIssue, WalkItem, Walked, Walker};

/// Commit after this many stored bytes...
const COMMIT_BYTES: u64 = 256 * 1024 * 1024;
/// ...or this many entries...
const COMMIT_ENTRIES: u64 = 100_000;
/// ...or this long, whichever comes first: bounds the work a kill can lose.
const COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// Environment variable overriding [`COMMIT_INTERVAL`] in milliseconds (tests use it
/// to make kills land between commits; docs/CLI.md lists it).
pub const COMMIT_INTERVAL_ENV: &str = "CUSTODY_COMMIT_INTERVAL_MS";

fn commit_interval() -> Duration {
    std::env::var(COMMIT_INTERVAL_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(COMMIT_INTERVAL)
}
/// Bytes of chunk data in flight between readers and the writer. Large enough that
/// readers keep going while the writer waits for a commit's fsync (the disk writes
/// ~300 MB/s; a commit of 256 MiB takes most of a second), small enough to keep
/// memory bounded.
const IN_FLIGHT_BYTES: u64 = 64 * 1024 * 1024;
/// How often a file that keeps changing while read is re-read.
const READ_ATTEMPTS: usize = 3;

/// What to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub source: PathBuf,
    pub release: String,
    pub parent: Option<String>,
    /// Hash every file even when the unchanged-file cache says it is unchanged.
    pub reread: bool,
    /// Index the members of zip and tar files as entries (`a.zip!/inner`). Off, an
    /// archive is one opaque file, as in a backup tool.
    pub index_members: bool,
}

impl IngestOptions {
    /// An ingest of `source` as release `release` at the defaults: no parent (the
    /// unchanged-file cache then comes from the previous release of the same
    /// directory), files the cache vouches for are not read again, and archive
    /// members are indexed.
    pub fn new(source: impl Into<PathBuf>, release: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            release: release.into(),
            parent: None,
            reread: false,
            index_members: true,
        }
    }

    /// The same, with release `parent` as the unchanged-file cache and parent.
    pub fn with_parent(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub release: String,
    pub release_id: u32,
    pub parent: Option<String>,
    pub source: String,
    /// This run finished an ingest that an earlier, killed run had started.
    pub resumed: bool,
    /// The release whose entries served as the unchanged-file cache.
    pub cache_from: Option<String>,
    pub counts: ReleaseCounts,
    /// Files taken from the cache without reading them.
    pub files_unchanged: u64,
    /// Files read and hashed in this run, and their bytes.
    pub files_read: u64,
    pub bytes_read: u64,
    /// Chunks stored by this run (the release's `new_chunks` also counts killed runs).
    pub chunks_stored_now: u64,
    /// Chunks that `fsck --read-data` had found damaged and this run stored again
    /// from the source's intact bytes.
    pub chunks_repaired: u64,
    /// Merkle root of the release's manifest, hex.
    pub root: String,
    /// Seconds spent computing the root and storing the tree in the final commit.
    pub root_secs: f64,
    /// Tables rewritten after the release was committed, to drop the slack random
    /// inserts left (store/repack.rs).
    pub repacked: Vec<Repacked>,
    /// Why that rewrite failed, if it did. The release is committed either way;
    /// the store is only larger than it need be.
    pub repack_error: Option<String>,
    /// Seconds the packing took (with its commit), or deciding it was not needed.
    pub repack_secs: f64,
    pub issues: Vec<WalkIssue>,
    pub elapsed_secs: f64,
}

impl IngestReport {
    /// True when some file the user asked for could not be stored (exit code 3).
    pub fn has_data_loss(&self) -> bool {
        self.issues.iter().any(|i| i.kind.is_data_loss())
    }
}

/// A byte budget shared by the readers (who take) and the writer (who gives back):
/// bounds the memory held by messages without bounding their count.
struct Budget {
    used: Mutex<u64>,
    freed: std::sync::Condvar,
    cap: u64,
}

impl Budget {
    fn new(cap: u64) -> Self {
        Self {
            used: Mutex::new(0),
            freed: std::sync::Condvar::new(),
            cap,
        }
    }

    /// Waits until `n` bytes fit (a message larger than the whole budget still goes
    /// through once nothing else is in flight), or the ingest is aborting.
    fn take(&self, n: u64, abort: &AtomicBool) {
        let Ok(mut used) = self.used.lock() else {
            return;
        };
        while *used > 0 && *used + n > self.cap && !abort.load(Ordering::Relaxed) {
            used = match self.freed.wait_timeout(used, Duration::from_millis(100)) {
                Ok((g, _)) => g,
                Err(_) => return,
            };
        }
        *used += n;
    }

    fn give(&self, n: u64) {
        if let Ok(mut used) = self.used.lock() {
            *used = used.saturating_sub(n);
            self.freed.notify_all();
        }
    }
}

/// A blob as a reader found it: its record and the similarity-index keys that let
/// `identify` find it from an altered copy.
pub(crate) struct NewBlob {
    pub id: BlobId,
    pub rec: BlobRecord,
    pub keys: crate::store::similar::IndexKeys,
}

enum Msg {
    Chunk {
        id: ChunkId,
        raw_len: u32,
        flags: u8,
        stored: Vec<u8>,
    },
    Entry {
        path: EntryPath,
        rec: EntryRecord,
        blob: Option<Box<NewBlob>>,
    },
    /// Every item was processed: commit the release.
    Finish,
}

struct Shared<'a> {
    store: &'a Store,
    generation: AtomicU64,
    /// Chunks the writer has taken since its last commit: not yet visible to
    /// snapshots, but sure to be in the store once any later message commits.
    seen: Mutex<HashSet<ChunkId>>,
    cache_ids: Vec<u32>,
    reread: bool,
    index_members: bool,
    /// Chunks recorded damaged by fsck: stored again when a file brings them.
    damaged: HashSet<ChunkId>,
    healed: Mutex<HashSet<ChunkId>>,
    issues: Mutex<Vec<WalkIssue>>,
    zstd_level: i32,
    store_file: Option<(u64, u64)>,
    abort: AtomicBool,
    budget: Budget,
    files_unchanged: AtomicU64,
    files_read: AtomicU64,
    bytes_read: AtomicU64,
    progress: &'a dyn Progress,
}

impl Shared<'_> {
    fn is_healed(&self, id: &ChunkId) -> bool {
        self.healed.lock().map(|h| h.contains(id)).unwrap_or(false)
    }

    fn issue(&self, path: &EntryPath, kind: IssueKind, message: impl Into<String>) {
        if let Ok(mut v) = self.issues.lock() {
            v.push(WalkIssue {
                path: path.clone(),
                kind,
                message: message.into(),
            });
        }
    }
}

impl Msg {
    /// What the message holds in memory, for the budget.
    fn weight(&self) -> u64 {
        match self {
            Msg::Chunk { stored, .. } => stored.capacity() as u64 + 64,
            Msg::Entry { path, rec, blob } => {
                (path.len() + rec.target.len() + 128) as u64
                    + blob.as_ref().map_or(0, |b| 32 * b.rec.chunks.len() as u64)
            }
            Msg::Finish => 0,
        }
    }
}

fn send(sh: &Shared, tx: &Sender<Msg>, m: Msg) -> Result<()> {
    sh.budget.take(m.weight(), &sh.abort);
    tx.send(m).map_err(|_| {
        sh.abort.store(true, Ordering::Relaxed);
        Error::Invalid("the store writer stopped".into())
    })
}

/// Per-thread state of a reader.
struct Worker {
    tx: Sender<Msg>,
    generation: u64,
    snap: Snapshot,
    chunker: WindowChunker,
}

impl Worker {
    fn new(sh: &Shared, tx: Sender<Msg>) -> Result<Self> {
        Ok(Self {
            tx,
            generation: sh.generation.load(Ordering::Acquire),
            snap: sh.store.snapshot()?,
            chunker: WindowChunker::new(sh.store.meta().chunk),
        })
    }

    fn send(&self, sh: &Shared, m: Msg) -> Result<()> {
        send(sh, &self.tx, m)
    }

    /// Moves to the newest commit so chunks stored since are seen as stored.
    fn refresh(&mut self, sh: &Shared) -> Result<()> {
        let g = sh.generation.load(Ordering::Acquire);
        if g != self.generation {
            self.snap = sh.store.snapshot()?;
            self.generation = g;
        }
        Ok(())
    }
}

/// Runs an ingest; see the module docs.
pub fn ingest(
    store: &Store,
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestReport> {
    ingest_inner(store, opts, progress).map_err(|e| e.in_store(store.path()))
}

fn ingest_inner(
    store: &Store,
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestReport> {
    let started = Instant::now();
    check_release_name(&opts.release).map_err(|reason| Error::BadReleaseName {
        name: opts.release.clone(),
        reason,
    })?;
    let source = std::fs::canonicalize(&opts.source).ctx(&opts.source, "open source directory")?;
    if !source.is_dir() {
        return Err(Error::io(
            &source,
            "open source directory",
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    crate::walk::raise_fd_limit();
    let plan = begin(store, opts, &source)?;
    // A resumed run cannot tell its rows from the killed run's: it looks at every
    // table.
    let rows_before = match plan.resumed {
        true => None,
        false => Some(RowCounts::of(&store.snapshot()?)?),
    };
    let walker = Walker::new(&source)?;
    let store_file = std::fs::metadata(store.path())
        .ok()
        .map(|m| (m.dev(), m.ino()));

    let (tx, rx) = unbounded::<Msg>();
    let shared = Shared {
        store,
        generation: AtomicU64::new(0),
        seen: Mutex::new(HashSet::new()),
        cache_ids: plan.cache_ids.clone(),
        reread: opts.reread,
        index_members: opts.index_members,
        damaged: store.damaged_chunks()?,
        healed: Mutex::new(HashSet::new()),
        issues: Mutex::new(Vec::new()),
        zstd_level: store.meta().zstd_level,
        store_file,
        abort: AtomicBool::new(false),
        budget: Budget::new(IN_FLIGHT_BYTES),
        files_unchanged: AtomicU64::new(0),
        files_read: AtomicU64::new(0),
        bytes_read: AtomicU64::new(0),
        progress,
    };
    progress.phase("ingest", None);

    let (walk_result, writer_result) = std::thread::scope(|s| {
        let writer = s.spawn(|| write_loop(&shared, &rx, &opts.release, &plan));
        let walk_result = walker.par_bridge().try_for_each_init(
            || Worker::new(&shared, tx.clone()),
            |worker, walked| {
                let worker = match worker {
                    Ok(w) => w,
                    Err(e) => return Err(Error::Invalid(format!("cannot read store: {e}"))),
                };
                if shared.abort.load(Ordering::Relaxed) {
                    return Err(Error::Invalid("ingest aborted".into()));
                }
                process(&shared, worker, walked)
            },
        );
        // Every reader's sender is gone now; `Finish` goes last, then closing the
        // channel lets the writer commit what it has and stop.
        if walk_result.is_ok() {
            let _ = send(&shared, &tx, Msg::Finish);
        } else {
            shared.abort.store(true, Ordering::Relaxed);
        }
        drop(tx);
        (walk_result, writer.join())
    });
    progress.done();
    let writer_result = match writer_result {
        Ok(r) => r,
        Err(_) => Err(Error::Invalid("the store writer panicked".into())),
    };
    // The writer's failure (disk full, I/O) is the cause of any reader failure.
    let totals = writer_result?;
    walk_result?;
    let totals = totals.ok_or_else(|| Error::Invalid("ingest stopped before finishing".into()))?;
    // Its own transaction: the release stands even if this one runs out of disk.
    let repack_started = Instant::now();
    let (repacked, repack_error) = match repack(store, rows_before) {
        Ok(r) => (r, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };

    let mut issues = shared.issues.into_inner().unwrap_or_default();
    issues.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(IngestReport {
        release: opts.release.clone(),
        release_id: plan.record.id,
        parent: opts.parent.clone(),
        source: escape_bytes(source.as_os_str().as_encoded_bytes()),
        resumed: plan.resumed,
        cache_from: plan.cache_from,
        counts: totals.counts,
        files_unchanged: shared.files_unchanged.into_inner(),
        files_read: shared.files_read.into_inner(),
        bytes_read: shared.bytes_read.into_inner(),
        chunks_stored_now: totals.chunks_now,
        chunks_repaired: totals.repaired,
        root: hex::encode(totals.root),
        root_secs: totals.root_secs,
        repacked,
        repack_error,
        repack_secs: repack_started.elapsed().as_secs_f64(),
        issues,
        elapsed_secs: started.elapsed().as_secs_f64(),
    })
}

fn repack(store: &Store, rows_before: Option<RowCounts>) -> Result<Vec<Repacked>> {
    let txn = store.begin_write()?;
    let done = crate::store::repack::repack_slack(&txn, rows_before)?;
    if done.is_empty() {
        txn.abort()?;
    } else {
        txn.commit()?;
    }
    Ok(done)
}

struct Plan {
    record: IngestRecord,
    cache_ids: Vec<u32>,
    cache_from: Option<String>,
    resumed: bool,
}

/// First transaction: checks names, allocates the release id and records the run.
fn begin(store: &Store, opts: &IngestOptions, source: &Path) -> Result<Plan> {
    let source_bytes = source.as_os_str().as_encoded_bytes().to_vec();
    let txn = store.begin_write()?;
    if release_in_txn(&txn, &opts.release)?.is_some() {
        return Err(Error::ReleaseExists(opts.release.clone()));
    }
    let parent = match &opts.parent {
        Some(p) => Some(release_in_txn(&txn, p)?.ok_or_else(|| Error::ReleaseNotFound(p.clone()))?),
        None => None,
    };
    let previous = {
        let t = txn.open_table(INGESTS)?;
        let v = t.get(opts.release.as_str())?;
        match v {
            Some(v) => Some(
                IngestRecord::decode(v.value())
                    .map_err(|e| Error::corrupt(format!("pending ingest {:?}", opts.release), e))?,
            ),
            None => None,
        }
    };
    let id = Store::next_release_id(&txn)?;
    let mut record = IngestRecord {
        id,
        started_ns: now_ns(),
        parent: opts.parent.clone(),
        source: source_bytes.clone(),
        ..Default::default()
    };
    let mut cache_ids = Vec::new();
    let resumed = previous.is_some();
    if let Some(prev) = previous {
        record.new_chunks = prev.new_chunks;
        record.new_raw_bytes = prev.new_raw_bytes;
        record.new_stored_bytes = prev.new_stored_bytes;
        record.stale_ids = prev.stale_ids.clone();
        record.stale_ids.push(prev.id);
        cache_ids.extend(record.stale_ids.iter().rev());
    }
    // The unchanged-file cache: the named parent, else the newest release of the
    // same directory (as restic picks its parent snapshot).
    let cache_release = match (&opts.parent, parent) {
        (Some(name), Some(rec)) => Some((name.clone(), rec)),
        _ => {
            let t = txn.open_table(RELEASES)?;
            let mut best: Option<(String, ReleaseRecord)> = None;
            for row in t.iter()? {
                let (k, v) = row?;
                let rec = ReleaseRecord::decode(v.value())
                    .map_err(|e| Error::corrupt(format!("release {:?}", k.value()), e))?;
                if rec.source == source_bytes && best.as_ref().is_none_or(|(_, b)| rec.id > b.id) {
                    best = Some((k.value().to_string(), rec));
                }
            }
            best
        }
    };
    let cache_from = cache_release.map(|(name, rec)| {
        cache_ids.push(rec.id);
        name
    });
    txn.open_table(INGESTS)?
        .insert(opts.release.as_str(), record.encode().as_slice())?;
    txn.commit()?;
    Ok(Plan {
        record,
        cache_ids,
        cache_from,
        resumed,
    })
}

fn process(sh: &Shared, w: &mut Worker, walked: Walked) -> Result<()> {
    let item = match walked {
        Walked::Issue(i) => {
            if let Ok(mut v) = sh.issues.lock() {
                v.push(i);
            }
            return Ok(());
        }
        Walked::Item(i) => i,
    };
    let st = &item.stat;
    let base = EntryRecord {
        kind: EntryKind::Dir,
        mode: st.mode,
        mtime_ns: st.mtime_ns,
        size: 0,
        hash: DIR_HASH,
        inode: st.inode,
        ctime_ns: st.ctime_ns,
        target: Vec::new(),
    };
    match item.kind() {
        NodeKind::Dir => w.send(
            sh,
            Msg::Entry {
                path: item.path,
                rec: base,
                blob: None,
            },
        ),
        NodeKind::Symlink => {
            let rec = EntryRecord {
                kind: EntryKind::Symlink,
                size: item.target.len() as u64,
                hash: *blake3::hash(&item.target).as_bytes(),
                target: item.target.clone(),
                ..base
            };
            w.send(
                sh,
                Msg::Entry {
                    path: item.path,
                    rec,
                    blob: None,
                },
            )
        }
        NodeKind::Special(what) => {
            sh.issue(&item.path, IssueKind::Special, format!("{what} skipped"));
            Ok(())
        }
        NodeKind::File => {
            if sh.store_file == Some((st.dev, st.inode)) {
                sh.issue(
                    &item.path,
                    IssueKind::StoreFile,
                    "the store itself, skipped",
                );
                return Ok(());
            }
            w.refresh(sh)?;
            if !sh.reread
                && let Some((rec, from)) = cached(sh, w, &item)?
            {
                sh.files_unchanged.fetch_add(1, Ordering::Relaxed);
                sh.progress.items(1);
                // An unchanged archive keeps the members indexed last time.
                let members = match sh.index_members {
                    true => cached_members(w, from, &item.path)?,
                    false => Vec::new(),
                };
                w.send(
                    sh,
                    Msg::Entry {
                        path: item.path,
                        rec,
                        blob: None,
                    },
                )?;
                for (path, rec) in members {
                    w.send(
                        sh,
                        Msg::Entry {
                            path,
                            rec,
                            blob: None,
                        },
                    )?;
                }
                return Ok(());
            }
            read_file(sh, w, &item)
        }
    }
}

/// The cached entry for an unchanged file: same size, mtime, ctime and inode.
/// True when a stored file has a chunk fsck found damaged: it must be read again so
/// that its intact bytes repair the store.
fn holds_damage(sh: &Shared, w: &Worker, rec: &EntryRecord) -> Result<bool> {
    if sh.damaged.is_empty() {
        return Ok(false);
    }
    let Some(blob) = w.snap.blob(&BlobId(rec.hash))? else {
        return Ok(false);
    };
    Ok(blob.chunks.iter().any(|c| sh.damaged.contains(c)))
}

fn cached(sh: &Shared, w: &Worker, item: &WalkItem) -> Result<Option<(EntryRecord, u32)>> {
    let st = &item.stat;
    for &id in &sh.cache_ids {
        if let Some(rec) = w.snap.entry(id, item.path.as_bytes())?
            && rec.kind == EntryKind::File
            && rec.size == st.size
            && rec.mtime_ns == st.mtime_ns
            && rec.ctime_ns == st.ctime_ns
            && rec.inode == st.inode
            && !holds_damage(sh, w, &rec)?
        {
            return Ok(Some((
                EntryRecord {
                    mode: st.mode,
                    ..rec
                },
                id,
            )));
        }
    }
    Ok(None)
}

/// The member entries of the archive at `path` in release `from`.
fn cached_members(
    w: &Worker,
    from: u32,
    path: &EntryPath,
) -> Result<Vec<(EntryPath, EntryRecord)>> {
    let mut prefix = path.as_bytes().to_vec();
    prefix.extend_from_slice(crate::paths::ARCHIVE_SEPARATOR);
    let mut out = Vec::new();
    // Most files are not archives: answer them from the block just looked up.
    if !w.snap.has_entries_with_prefix(from, &prefix)? {
        return Ok(out);
    }
    for e in w.snap.entries_with_prefix(from, &prefix)? {
        let e = e?;
        if e.record.kind == EntryKind::Member {
            out.push((e.path, e.record));
        }
    }
    Ok(out)
}

/// Indexes the members of an archive just stored: each becomes an entry of its own
/// (`archive!/member`), its content deduplicated with everything else. Any problem
/// keeps the archive opaque: a warning, and no member entries.
fn archive_members(
    sh: &Shared,
    w: &mut Worker,
    item: &WalkItem,
) -> Result<Vec<(EntryPath, EntryRecord, NewBlob)>> {
    let head = {
        let mut h = vec![0u8; 1024];
        let n = match item
            .open()
            .and_then(|mut f| std::io::Read::read(&mut f, &mut h))
        {
            Ok(n) => n,
            Err(_) => return Ok(Vec::new()),
        };
        h.truncate(n);
        h
    };
    let Some(kind) = crate::archive::detect(item.path.as_bytes(), &head) else {
        return Ok(Vec::new());
    };
    let mut f = match item.open() {
        Ok(f) => f,
        Err(_) => return Ok(Vec::new()),
    };
    let mut members = Vec::new();
    let mut fatal = None;
    let result = crate::archive::read_members(
        &mut f,
        kind,
        &crate::archive::Limits::default(),
        &mut |m, r| match chunk_file(sh, w, r) {
            Ok(blob) => {
                let mut p = item.path.as_bytes().to_vec();
                p.extend_from_slice(crate::paths::ARCHIVE_SEPARATOR);
                p.extend_from_slice(m.path.as_bytes());
                let rec = EntryRecord {
                    kind: EntryKind::Member,
                    mode: m.mode,
                    mtime_ns: m.mtime_ns,
                    size: blob.rec.size,
                    hash: blob.id.0,
                    inode: 0,
                    ctime_ns: 0,
                    target: Vec::new(),
                };
                members.push((EntryPath::from_raw(p), rec, blob));
                Ok(())
            }
            Err(ReadError::Io(e)) => Err(e),
            Err(ReadError::Fatal(e)) => {
                fatal = Some(e);
                Err(std::io::Error::other("the store writer stopped"))
            }
        },
    );
    if let Some(e) = fatal {
        return Err(e);
    }
    match result {
        Ok(_) => Ok(members),
        Err(p) => {
            sh.issue(
                &item.path,
                IssueKind::ArchiveOpaque,
                format!("archive kept as a plain file: {p}"),
            );
            Ok(Vec::new())
        }
    }
}

fn fstat(f: &std::fs::File) -> std::io::Result<NodeStat> {
    Ok(NodeStat::from_stat(&rustix::fs::fstat(f)?))
}

fn read_file(sh: &Shared, w: &mut Worker, item: &WalkItem) -> Result<()> {
    let path = &item.path;
    for attempt in 1..=READ_ATTEMPTS {
        let mut f = match item.open() {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                sh.issue(
                    path,
                    IssueKind::Vanished,
                    "vanished before it could be read",
                );
                return Ok(());
            }
            Err(e) => {
                sh.issue(path, IssueKind::Unreadable, format!("cannot open: {e}"));
                return Ok(());
            }
        };
        let before = match fstat(&f) {
            Ok(s) if s.kind() == NodeKind::File => s,
            Ok(_) => {
                sh.issue(
                    path,
                    IssueKind::Changed,
                    "replaced by a non-file while walking",
                );
                return Ok(());
            }
            Err(e) => {
                sh.issue(path, IssueKind::Unreadable, format!("cannot stat: {e}"));
                return Ok(());
            }
        };
        let blob = match chunk_file(sh, w, &mut f) {
            Ok(r) => r,
            Err(ReadError::Io(e)) => {
                sh.issue(path, IssueKind::Unreadable, format!("read failed: {e}"));
                return Ok(());
            }
            Err(ReadError::Fatal(e)) => return Err(e),
        };
        let after = fstat(&f).unwrap_or(before);
        let stable = after.size == before.size
            && after.mtime_ns == before.mtime_ns
            && after.ctime_ns == before.ctime_ns
            && blob.rec.size == after.size;
        if !stable && attempt < READ_ATTEMPTS {
            continue;
        }
        if !stable {
            sh.issue(
                path,
                IssueKind::Changed,
                format!(
                    "kept changing while read ({READ_ATTEMPTS} attempts); stored the last read"
                ),
            );
        }
        sh.files_read.fetch_add(1, Ordering::Relaxed);
        sh.progress.items(1);
        let rec = EntryRecord {
            kind: EntryKind::File,
            mode: after.mode,
            mtime_ns: after.mtime_ns,
            size: blob.rec.size,
            hash: blob.id.0,
            inode: after.inode,
            // A changed file must not look unchanged to the next ingest's cache.
            ctime_ns: if stable { after.ctime_ns } else { i64::MIN },
            target: Vec::new(),
        };
        let members = match sh.index_members {
            true => archive_members(sh, w, item)?,
            false => Vec::new(),
        };
        w.send(
            sh,
            Msg::Entry {
                path: path.clone(),
                rec,
                blob: Some(Box::new(blob)),
            },
        )?;
        for (path, rec, blob) in members {
            w.send(
                sh,
                Msg::Entry {
                    path,
                    rec,
                    blob: Some(Box::new(blob)),
                },
            )?;
        }
        return Ok(());
    }
    Ok(())
}

enum ReadError {
    /// The file could not be read: a warning, the ingest goes on.
    Io(std::io::Error),
    /// The store or writer failed: the ingest stops.
    Fatal(Error),
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd at the store's level, or the raw bytes when compression does not shrink them.
fn compress(data: &[u8], level: i32) -> (u8, Vec<u8>) {
    let out = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::new(level).ok();
        }
        c.as_mut().and_then(|c| c.compress(data).ok())
    });
    match out {
        Some(mut z) if z.len() < data.len() => {
            // The buffer was sized for the worst case; give back what it did not use.
            z.shrink_to_fit();
            (CHUNK_FLAG_ZSTD, z)
        }
        _ => (0, data.to_vec()),
    }
}

/// One chunk of a file: its id, and its stored form when the store lacks it.
struct ChunkOut {
    id: ChunkId,
    stored: Option<(u8, Vec<u8>)>,
    raw_len: u32,
}

/// Chunks, hashes and (where new) compresses one stream, sending new chunks to the
/// writer; returns the blob it makes.
fn chunk_file(
    sh: &Shared,
    w: &mut Worker,
    f: &mut dyn std::io::Read,
) -> std::result::Result<NewBlob, ReadError> {
    w.chunker.reset();
    let mut hasher = blake3::Hasher::new();
    let mut recipe = Vec::new();
    let mut first = true;
    let mut single: Option<ChunkId> = None;
    let mut keys = crate::store::similar::IndexKeys::default();
    let Worker {
        snap, chunker, tx, ..
    } = w;
    loop {
        let window = match chunker.next_window(f) {
            Ok(Some(w)) => w,
            Ok(None) => break,
            Err(e) => return Err(ReadError::Io(e)),
        };
        let whole_file = first && window.cuts.len() == 1 && window.at_end;
        if first {
            keys.prefix = crate::sketch::prefix_key(window.data);
            // Small files share few chunks with their altered copies: sketch them
            // (band_keys ignores files over SKETCH_MAX_BYTES).
            if window.at_end {
                keys.bands = crate::sketch::band_keys(window.data);
            }
        }
        first = false;
        let work = |r: &std::ops::Range<usize>| -> Result<ChunkOut> {
            let data = &window.data[r.clone()];
            let id = ChunkId::of(data);
            let known = if sh.damaged.contains(&id) {
                sh.is_healed(&id)
            } else {
                sh.seen.lock().map(|s| s.contains(&id)).unwrap_or(false) || snap.has_chunk(&id)?
            };
            Ok(ChunkOut {
                id,
                stored: (!known).then(|| compress(data, sh.zstd_level)),
                raw_len: data.len() as u32,
            })
        };
        let results: Vec<Result<_>> = if window.cuts.len() == 1 {
            vec![work(&window.cuts[0])]
        } else {
            window.cuts.par_iter().map(work).collect()
        };
        let n = window.data.len() as u64;
        if !whole_file {
            hasher.update(window.data);
        }
        for r in results {
            let ChunkOut {
                id,
                stored,
                raw_len,
            } = r.map_err(ReadError::Fatal)?;
            if let Some((flags, stored)) = stored {
                send(
                    sh,
                    tx,
                    Msg::Chunk {
                        id,
                        raw_len,
                        flags,
                        stored,
                    },
                )
                .map_err(ReadError::Fatal)?;
            }
            recipe.push(id);
            if whole_file {
                single = Some(id);
            }
        }
        sh.bytes_read.fetch_add(n, Ordering::Relaxed);
        sh.progress.bytes(n);
    }
    let size = chunker.bytes_read();
    // A file that is one chunk already has its hash: the chunk's.
    let id = match single {
        Some(id) => id.as_blob(),
        None => BlobId::from(hasher.finalize()),
    };
    Ok(NewBlob {
        id,
        rec: BlobRecord {
            size,
            chunks: recipe,
        },
        keys,
    })
}

struct Totals {
    counts: ReleaseCounts,
    chunks_now: u64,
    repaired: u64,
    root: [u8; 32],
    root_secs: f64,
}

/// The single writer: takes messages, packs chunks, commits in batches, and commits
/// the release when `Finish` arrives. Returns `None` when the readers stopped early.
fn write_loop(sh: &Shared, rx: &Receiver<Msg>, name: &str, plan: &Plan) -> Result<Option<Totals>> {
    let rel = plan.record.id;
    let mut ingest_rec = plan.record.clone();
    let mut counts = ReleaseCounts::default();
    let mut chunks_now = 0u64;
    let mut repaired = 0u64;
    let mut packer: Option<SegmentPacker> = None;
    let interval = commit_interval();
    loop {
        let txn = match sh.store.begin_write() {
            Ok(t) => t,
            Err(e) => {
                sh.abort.store(true, Ordering::Relaxed);
                return Err(e);
            }
        };
        let mut finished = false;
        let mut closed = false;
        let mut built = None;
        let step = (|| -> Result<()> {
            let mut t = Tables::open(&txn)?;
            let packer = match &mut packer {
                Some(p) => p,
                None => packer.insert(SegmentPacker::new(&t)?),
            };
            let mut began = Instant::now();
            let mut bytes = 0u64;
            let mut entries = 0u64;
            let mut messages = 0u64;
            loop {
                let left = interval.saturating_sub(began.elapsed());
                let msg = match rx.recv_timeout(left) {
                    Ok(m) => m,
                    // Nothing to commit yet (a slow read): keep waiting.
                    Err(RecvTimeoutError::Timeout) if messages == 0 => {
                        began = Instant::now();
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        closed = true;
                        break;
                    }
                };
                messages += 1;
                sh.budget.give(msg.weight());
                match msg {
                    Msg::Chunk {
                        id,
                        raw_len,
                        flags,
                        stored,
                    } => {
                        // A chunk fsck found damaged is written again, once, and
                        // the index moved to the new copy.
                        let heal = sh.damaged.contains(&id) && !sh.is_healed(&id);
                        if heal {
                            packer.replace_chunk(&mut t, &id, raw_len, flags, &stored)?;
                            t.damaged.remove(id.as_bytes().as_slice())?;
                            if let Ok(mut h) = sh.healed.lock() {
                                h.insert(id);
                            }
                            repaired += 1;
                            bytes += stored.len() as u64;
                        } else if packer.put_chunk(&mut t, &id, raw_len, flags, &stored)? {
                            ingest_rec.new_chunks += 1;
                            ingest_rec.new_raw_bytes += raw_len as u64;
                            ingest_rec.new_stored_bytes += stored.len() as u64;
                            chunks_now += 1;
                            bytes += stored.len() as u64;
                            if let Ok(mut s) = sh.seen.lock() {
                                s.insert(id);
                            }
                        }
                    }
                    Msg::Entry { path, rec, blob } => {
                        if let Some(b) = &blob
                            && t.put_blob(&b.id, &b.rec)?
                        {
                            t.put_similar(&b.id, &b.rec, &b.keys)?;
                        }
                        match t.put_entry(rel, path.as_bytes(), &rec)? {
                            PutEntry::Shadowed => {
                                sh.issue(
                                    &path,
                                    IssueKind::ArchiveOpaque,
                                    "archive member not indexed: a real file has the same path",
                                );
                                continue;
                            }
                            PutEntry::Replaced(old) => {
                                counts.members -= 1;
                                counts.member_bytes -= old.size;
                                sh.issue(
                                    &path,
                                    IssueKind::ArchiveOpaque,
                                    "archive member not indexed: a real file has the same path",
                                );
                            }
                            PutEntry::Inserted => {}
                        }
                        match rec.kind {
                            EntryKind::File => {
                                counts.files += 1;
                                counts.logical_bytes += rec.size;
                            }
                            EntryKind::Dir => counts.dirs += 1,
                            EntryKind::Symlink => counts.symlinks += 1,
                            EntryKind::Member => {
                                counts.members += 1;
                                counts.member_bytes += rec.size;
                            }
                        }
                        entries += 1;
                    }
                    Msg::Finish => {
                        finished = true;
                        break;
                    }
                }
                if bytes >= COMMIT_BYTES || entries >= COMMIT_ENTRIES || began.elapsed() >= interval
                {
                    break;
                }
            }
            packer.flush(&mut t)?;
            drop(t);
            if finished {
                built = Some(finish_release(&txn, name, &ingest_rec, counts, sh)?);
            } else {
                txn.open_table(INGESTS)?
                    .insert(name, ingest_rec.encode().as_slice())?;
            }
            Ok(())
        })();
        if let Err(e) = step {
            sh.abort.store(true, Ordering::Relaxed);
            return Err(e);
        }
        if let Err(e) = txn.commit() {
            sh.abort.store(true, Ordering::Relaxed);
            return Err(e.into());
        }
        sh.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut s) = sh.seen.lock() {
            s.clear();
        }
        if finished {
            counts.new_chunks = ingest_rec.new_chunks;
            counts.new_raw_bytes = ingest_rec.new_raw_bytes;
            counts.new_stored_bytes = ingest_rec.new_stored_bytes;
            counts.skipped = skipped(sh);
            let (root, root_secs) = built.unwrap_or(([0; 32], 0.0));
            return Ok(Some(Totals {
                counts,
                chunks_now,
                repaired,
                root,
                root_secs,
            }));
        }
        if closed {
            return Ok(None);
        }
    }
}

fn skipped(sh: &Shared) -> u64 {
    sh.issues
        .lock()
        .map(|v| v.iter().filter(|i| i.kind != IssueKind::Changed).count() as u64)
        .unwrap_or(0)
}

/// Adds the release record, drops the run's `ingests` row and any killed runs'
/// entries, all in the transaction that commits the last batch.
fn finish_release(
    txn: &redb::WriteTransaction,
    name: &str,
    rec: &IngestRecord,
    mut counts: ReleaseCounts,
    sh: &Shared,
) -> Result<([u8; 32], f64)> {
    {
        let mut entries = txn.open_table(ENTRIES)?;
        let mut by_content = txn.open_table(BY_CONTENT)?;
        let mut staged_entries = txn.open_table(STAGED_ENTRIES)?;
        let mut staged_content = txn.open_table(STAGED_CONTENT)?;
        // Killed runs' rows: staged, or (stores from before staging) in place.
        for id in &rec.stale_ids {
            for t in [
                &mut entries,
                &mut by_content,
                &mut staged_entries,
                &mut staged_content,
            ] {
                delete_prefix(t, &id.to_le_bytes())?;
            }
        }
        move_staged(
            &mut staged_entries,
            &mut entries,
            rec.id,
            Packing::EntryBlocks,
        )?;
        move_staged(&mut staged_content, &mut by_content, rec.id, Packing::Rows)?;
    }
    counts.new_chunks = rec.new_chunks;
    counts.new_raw_bytes = rec.new_raw_bytes;
    counts.new_stored_bytes = rec.new_stored_bytes;
    counts.skipped = skipped(sh);
    let tree_started = Instant::now();
    let tree = crate::store::tree::build(txn, rec.id)?;
    let root_secs = tree_started.elapsed().as_secs_f64();
    let entries = counts.files + counts.dirs + counts.symlinks + counts.members;
    if tree.size != entries {
        return Err(Error::Damaged(format!(
            "release {name}: {entries} entries but {} manifest leaves",
            tree.size
        )));
    }
    let parent_root = match &rec.parent {
        Some(p) => release_in_txn(txn, p)?.map(|r| r.root).unwrap_or([0; 32]),
        None => [0; 32],
    };
    let created_ns = now_ns();
    let log_index = {
        let mut log = txn.open_table(LOG)?;
        let next = match log.last()? {
            Some((k, _)) => k.value() + 1,
            None => 0,
        };
        let head = ReleaseHead {
            name: name.to_string(),
            root: tree.root,
            entries,
            parent_root,
            created_ns,
        };
        log.insert(next, head.encode().as_slice())?;
        next
    };
    let release = ReleaseRecord {
        id: rec.id,
        created_ns,
        parent: rec.parent.clone(),
        source: rec.source.clone(),
        counts,
        root: tree.root,
        log_index,
    };
    txn.open_table(RELEASES)?
        .insert(name, release.encode().as_slice())?;
    txn.open_table(INGESTS)?.remove(name)?;
    Ok((tree.root, root_secs))
}
