//! `extract RELEASE [PATH…] --to DIR`: writes entries back out, byte-exact.
//!
//! Every file is written to a temporary name beside its target, its content checked
//! chunk by chunk and as a whole against its BLAKE3 id, and only then renamed into
//! place: a damaged store makes extract fail loudly and never leaves wrong bytes under
//! a real name. Nothing is written outside the target: entry paths are re-validated,
//! every directory on the way is checked to be a real directory (not a symlink), and
//! symlinks are created last so no later write can pass through one.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::ops::ls::parse_user_path;
use crate::paths::EntryPath;
use crate::progress::Progress;
use crate::store::format::{EntryKind, EntryRecord};
use crate::store::snapshot::Entry;
use crate::store::{Snapshot, Store};
use crate::timefmt::system_time;

/// Files handed to the parallel writers at a time.
const BATCH_FILES: usize = 512;
const BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// Permission bits restored on files and directories: setuid and setgid are dropped,
/// as tar does without -p, since leaked files must not become privileged programs.
const MODE_MASK: u32 = 0o1777;

#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub release: String,
    /// Paths to extract (with everything under them); empty for the whole release.
    pub paths: Vec<String>,
    pub to: PathBuf,
    /// Replace existing files.
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractReport {
    pub release: String,
    pub to: String,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    pub elapsed_secs: f64,
}

struct Target<'a> {
    root: PathBuf,
    force: bool,
    known_dirs: Mutex<HashSet<Vec<u8>>>,
    snap: &'a Snapshot,
    bytes: AtomicU64,
    tmp_counter: AtomicU64,
    progress: &'a dyn Progress,
}

pub fn extract(
    store: &Store,
    opts: &ExtractOptions,
    progress: &dyn Progress,
) -> Result<ExtractReport> {
    let started = Instant::now();
    let snap = store.snapshot()?;
    let rel = snap.release(&opts.release)?;
    let mut selections = opts
        .paths
        .iter()
        .map(|p| parse_user_path(Some(p)))
        .collect::<Result<Vec<_>>>()?;
    if selections.is_empty() {
        selections.push(EntryPath::default());
    }
    for s in &selections {
        if !s.is_empty() && snap.entry(rel.id(), s.as_bytes())?.is_none() {
            return Err(Error::PathNotFound {
                release: opts.release.clone(),
                path: s.to_string(),
            });
        }
    }
    fs::create_dir_all(&opts.to).ctx(&opts.to, "create target directory")?;
    let root = fs::canonicalize(&opts.to).ctx(&opts.to, "open target directory")?;
    let t = Target {
        root,
        force: opts.force,
        known_dirs: Mutex::new(HashSet::new()),
        snap: &snap,
        bytes: AtomicU64::new(0),
        tmp_counter: AtomicU64::new(0),
        progress,
    };
    if !opts.force {
        for s in &selections {
            check_conflicts(&t, rel.id(), s)?;
        }
    }
    progress.phase("extract", Some(rel.record.counts.logical_bytes));
    let mut report = ExtractReport {
        release: opts.release.clone(),
        to: t.root.display().to_string(),
        files: 0,
        dirs: 0,
        symlinks: 0,
        bytes: 0,
        elapsed_secs: 0.0,
    };
    let mut dirs: Vec<Entry> = Vec::new();
    let mut links: Vec<Entry> = Vec::new();
    let mut seen_selection: HashSet<Vec<u8>> = HashSet::new();
    for s in &selections {
        if !seen_selection.insert(s.as_bytes().to_vec()) {
            continue;
        }
        let mut batch: Vec<Entry> = Vec::new();
        let mut batch_bytes = 0u64;
        for e in snap.entries_under(rel.id(), s.as_bytes())? {
            let e = e?;
            e.path.check().map_err(|err| Error::UnsafePath {
                path: e.path.to_string(),
                reason: err.to_string(),
            })?;
            match e.record.kind {
                EntryKind::Dir => {
                    ensure_dir(&t, e.path.as_bytes())?;
                    report.dirs += 1;
                    dirs.push(e);
                }
                EntryKind::Symlink => {
                    snap.check_indexed(rel.id(), &e)?;
                    links.push(e)
                }
                // Members come back inside their archive; one is written on its own
                // only when asked for by name.
                EntryKind::Member if e.path != *s => {}
                EntryKind::File | EntryKind::Member => {
                    snap.check_indexed(rel.id(), &e)?;
                    batch_bytes += e.record.size;
                    batch.push(e);
                    if batch.len() >= BATCH_FILES || batch_bytes >= BATCH_BYTES {
                        report.files += write_batch(&t, &mut batch)?;
                        batch_bytes = 0;
                    }
                }
            }
        }
        report.files += write_batch(&t, &mut batch)?;
    }
    for l in &links {
        write_symlink(&t, l)?;
        report.symlinks += 1;
    }
    // Deepest first, so setting a parent's mtime is not undone by a child's change.
    for d in dirs.iter().rev() {
        let p = t.root.join(OsStr::from_bytes(d.path.as_bytes()));
        fs::set_permissions(&p, fs::Permissions::from_mode(d.record.mode & MODE_MASK))
            .ctx(&p, "set permissions")?;
        filetime::set_file_mtime(
            &p,
            filetime::FileTime::from_system_time(system_time(d.record.mtime_ns)),
        )
        .ctx(&p, "set modification time")?;
    }
    progress.done();
    report.bytes = t.bytes.load(Ordering::Relaxed);
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Fails on the first entry whose target already exists (before writing anything).
fn check_conflicts(t: &Target, rel: u32, sel: &EntryPath) -> Result<()> {
    for e in t.snap.entries_under(rel, sel.as_bytes())? {
        let e = e?;
        let p = t.root.join(OsStr::from_bytes(e.path.as_bytes()));
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() && e.record.kind == EntryKind::Dir => {}
            Ok(_) => return Err(Error::WouldOverwrite { path: p }),
            Err(_) => {}
        }
    }
    Ok(())
}

/// Makes sure `rel` exists under the root as a chain of real directories, creating
/// what is missing and refusing anything (a symlink, a file) in the way.
fn ensure_dir(t: &Target, rel: &[u8]) -> Result<()> {
    if rel.is_empty() || t.known_dirs.lock().is_ok_and(|k| k.contains(rel)) {
        return Ok(());
    }
    let mut cur = t.root.clone();
    let mut at = 0;
    for comp in rel.split(|&b| b == b'/') {
        let prefix = &rel[..at + comp.len()];
        at += comp.len() + 1;
        cur.push(OsStr::from_bytes(comp));
        if t.known_dirs.lock().is_ok_and(|k| k.contains(prefix)) {
            continue;
        }
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::UnsafeTarget {
                    path: t.root.join(OsStr::from_bytes(rel)),
                    at: cur,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match fs::create_dir(&cur) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !fs::symlink_metadata(&cur).is_ok_and(|m| m.is_dir()) {
                        return Err(Error::UnsafeTarget {
                            path: t.root.join(OsStr::from_bytes(rel)),
                            at: cur,
                        });
                    }
                }
                Err(e) => return Err(Error::io(&cur, "create directory", e)),
            },
            Err(e) => return Err(Error::io(&cur, "inspect", e)),
        }
        if let Ok(mut k) = t.known_dirs.lock() {
            k.insert(prefix.to_vec());
        }
    }
    Ok(())
}

fn write_batch(t: &Target, batch: &mut Vec<Entry>) -> Result<u64> {
    let n = batch.len() as u64;
    batch
        .par_iter()
        .try_for_each(|e| write_file(t, &e.path, &e.record))?;
    batch.clear();
    Ok(n)
}

fn write_file(t: &Target, path: &EntryPath, rec: &EntryRecord) -> Result<()> {
    let blob = rec
        .blob()
        .ok_or_else(|| Error::Damaged(format!("{path}: file entry without content")))?;
    ensure_dir(t, path.parent())?;
    let dest = t.root.join(OsStr::from_bytes(path.as_bytes()));
    let dir = dest.parent().unwrap_or(&t.root).to_path_buf();
    let tmp = dir.join(format!(
        ".custody-extract-{}-{}.tmp",
        std::process::id(),
        t.tmp_counter.fetch_add(1, Ordering::Relaxed)
    ));
    // Removes the temporary file unless it was renamed into place, also when a
    // panic (redb on a damaged page) unwinds through here.
    struct Tmp<'a>(&'a std::path::Path, bool);
    impl Drop for Tmp<'_> {
        fn drop(&mut self) {
            if !self.1 {
                let _ = fs::remove_file(self.0);
            }
        }
    }
    let mut guard = Tmp(&tmp, false);
    let result = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .ctx(&tmp, "create")?;
        t.snap.read_blob(&blob, &path.to_string(), |data| {
            t.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            t.progress.bytes(data.len() as u64);
            f.write_all(data).ctx(&dest, "write")
        })?;
        f.set_permissions(fs::Permissions::from_mode(rec.mode & MODE_MASK))
            .ctx(&dest, "set permissions")?;
        f.set_modified(system_time(rec.mtime_ns))
            .ctx(&dest, "set modification time")?;
        drop(f);
        match fs::symlink_metadata(&dest) {
            Ok(m) if m.is_dir() => {
                return Err(Error::WouldOverwrite { path: dest.clone() });
            }
            Ok(_) if !t.force => return Err(Error::WouldOverwrite { path: dest.clone() }),
            _ => {}
        }
        // rename replaces a symlink at `dest` itself, never what it points to.
        fs::rename(&tmp, &dest).ctx(&dest, "rename into place")
    })();
    guard.1 = result.is_ok();
    drop(guard);
    t.progress.items(1);
    result
}

fn write_symlink(t: &Target, e: &Entry) -> Result<()> {
    ensure_dir(t, e.path.parent())?;
    let dest = t.root.join(OsStr::from_bytes(e.path.as_bytes()));
    if let Ok(m) = fs::symlink_metadata(&dest) {
        if !t.force || m.is_dir() {
            return Err(Error::WouldOverwrite { path: dest });
        }
        fs::remove_file(&dest).ctx(&dest, "replace")?;
    }
    std::os::unix::fs::symlink(OsStr::from_bytes(&e.record.target), &dest)
        .ctx(&dest, "create symlink")?;
    let mtime = filetime::FileTime::from_system_time(system_time(e.record.mtime_ns));
    filetime::set_symlink_file_times(&dest, mtime, mtime).ctx(&dest, "set symlink time")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunking::ChunkParams;
    use crate::ops::ingest::{IngestOptions, ingest};
    use crate::progress::Silent;
    use crate::store::entry_block::encode_block;
    use crate::store::format::{
        BY_CONTENT, DIR_HASH, ENTRIES, content_key, content_value, entry_key,
    };

    /// A store with release "r" holding `f.txt`, plus extra raw entries written
    /// straight into the tables, as a tampered or hostile store would hold them.
    fn store_with(entries: &[(&[u8], EntryRecord)]) -> (tempfile::TempDir, Store) {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("f.txt"), b"payload").unwrap();
        let store = Store::init(&t.path().join("s.redb"), ChunkParams::default(), 1).unwrap();
        let rep = ingest(&store, &IngestOptions::new(src, "r"), &Silent).unwrap();
        let txn = store.begin_write().unwrap();
        {
            let mut rows = txn.open_table(ENTRIES).unwrap();
            let mut content = txn.open_table(BY_CONTENT).unwrap();
            for (path, rec) in entries {
                // A block of its own: the release's one other block holds only f.txt.
                let block = encode_block(&[(path.to_vec(), rec.clone())]);
                rows.insert(entry_key(rep.release_id, path).as_slice(), block.as_slice())
                    .unwrap();
                content
                    .insert(
                        content_key(rep.release_id, &rec.hash, path).as_slice(),
                        &content_value(rec.kind, rec.size)[..],
                    )
                    .unwrap();
            }
        }
        txn.commit().unwrap();
        (t, store)
    }

    fn file_like(store: &Store) -> EntryRecord {
        let snap = store.snapshot().unwrap();
        let rel = snap.release("r").unwrap();
        snap.entry(rel.id(), b"f.txt").unwrap().unwrap()
    }

    fn opts(to: &std::path::Path) -> ExtractOptions {
        ExtractOptions {
            release: "r".into(),
            paths: vec![],
            to: to.to_path_buf(),
            force: false,
        }
    }

    #[test]
    fn dot_dot_paths_are_refused() {
        let (t, store) = store_with(&[]);
        let f = file_like(&store);
        drop(store);
        let (t2, store) = store_with(&[(b"../evil", f)]);
        let out = t2.path().join("out");
        let err = extract(&store, &opts(&out), &Silent).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
        assert!(!t2.path().join("evil").exists());
        drop(t);
    }

    #[test]
    fn symlinks_cannot_redirect_later_writes() {
        let (t, store) = store_with(&[]);
        let f = file_like(&store);
        let outside = t.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        drop(store);
        let link = EntryRecord {
            kind: EntryKind::Symlink,
            size: 0,
            hash: DIR_HASH,
            target: outside.as_os_str().as_encoded_bytes().to_vec(),
            ..f.clone()
        };
        let (t2, store) = store_with(&[(b"a", link), (b"a/x", f)]);
        let out = t2.path().join("out");
        let err = extract(&store, &opts(&out), &Silent).unwrap_err();
        assert!(matches!(err, Error::WouldOverwrite { .. }), "{err}");
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            0,
            "wrote through a symlink"
        );
        assert_eq!(fs::read(out.join("a/x")).unwrap(), b"payload");
    }

    #[test]
    fn a_symlink_already_in_the_target_is_not_followed() {
        let (t, store) = store_with(&[]);
        let outside = t.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        let f = file_like(&store);
        let (t2, store2) = store_with(&[(b"d/inner.txt", f)]);
        let out = t2.path().join("out");
        fs::create_dir_all(&out).unwrap();
        std::os::unix::fs::symlink(&outside, out.join("d")).unwrap();
        let mut o = opts(&out);
        o.force = true;
        let err = extract(&store2, &o, &Silent).unwrap_err();
        assert!(matches!(err, Error::UnsafeTarget { .. }), "{err}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        drop(store);
    }
}
