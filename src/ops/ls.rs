//! `ls RELEASE [PATH]`: the entries of a directory of a release, or of one entry.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths::EntryPath;
use crate::store::Store;
use crate::store::format::EntryKind;
use crate::store::snapshot::Entry;
use crate::timefmt::rfc3339;

/// One listed entry.
#[derive(Debug, Clone, Serialize)]
pub struct LsEntry {
    pub path: EntryPath,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub mtime: String,
    #[serde(skip)]
    pub mtime_ns: i64,
    /// Content id (files) — what `b3sum` prints for the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl From<Entry> for LsEntry {
    fn from(e: Entry) -> Self {
        let r = e.record;
        Self {
            kind: r.kind,
            size: r.size,
            mode: r.mode,
            mtime: rfc3339(r.mtime_ns),
            mtime_ns: r.mtime_ns,
            blob: r.blob().map(|b| b.to_string()),
            target: (r.kind == EntryKind::Symlink).then(|| crate::paths::escape_bytes(&r.target)),
            path: e.path,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LsReport {
    pub release: String,
    pub path: EntryPath,
    pub entries: Vec<LsEntry>,
}

/// Parses a user-given path inside a release: escapes as `ls` prints them, no
/// leading or trailing slash needed. `None` or "" or "/" is the top level.
pub fn parse_user_path(p: Option<&str>) -> Result<EntryPath> {
    let p = p.unwrap_or("").trim_matches('/');
    if p.is_empty() || p == "." {
        return Ok(EntryPath::default());
    }
    // People type paths: accept any valid escaping, not only the canonical one.
    crate::paths::unescape_bytes(p)
        .and_then(EntryPath::new)
        .map_err(|e| Error::Invalid(format!("bad path {p:?}: {e}")))
}

pub fn ls(store: &Store, release: &str, path: Option<&str>, recursive: bool) -> Result<LsReport> {
    let snap = store.snapshot()?;
    let rel = snap.release(release)?;
    let dir = parse_user_path(path)?;
    let not_found = || Error::PathNotFound {
        release: release.to_string(),
        path: dir.to_string(),
    };
    if !dir.is_empty() {
        let e = snap
            .entry(rel.id(), dir.as_bytes())?
            .ok_or_else(not_found)?;
        if e.kind != EntryKind::Dir {
            return Ok(LsReport {
                release: release.to_string(),
                entries: vec![LsEntry::from(Entry {
                    path: dir.clone(),
                    record: e,
                })],
                path: dir,
            });
        }
    }
    let entries = if recursive {
        snap.entries_under(rel.id(), dir.as_bytes())?
            .filter(|e| !matches!(e, Ok(e) if e.path == dir))
            .map(|e| e.map(LsEntry::from))
            .collect::<Result<Vec<_>>>()?
    } else {
        snap.children(rel.id(), dir.as_bytes())?
            .into_iter()
            .map(LsEntry::from)
            .collect()
    };
    Ok(LsReport {
        release: release.to_string(),
        path: dir,
        entries,
    })
}
