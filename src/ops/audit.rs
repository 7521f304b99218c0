//! `audit DIR --release NAME | --manifest FILE`: is this mirror complete and intact?
//!
//! Every file of the mirror (and every member of an archive in it) and every file
//! of the release ends in exactly one category. Categories pair paths one to one:
//! - **matched**: same path, same content;
//! - **moved**: the release path is gone and its content sits at a mirror path no
//!   release entry claims; **in_archive**: that path is inside an archive;
//! - **truncated**, **corrupt** (bit rot), **altered**: a damaged copy at the same
//!   path, a moved path, or found by similarity — with how it differs;
//! - **missing**: nothing of it in the mirror (`content_kept` when its content is
//!   only at paths other entries already account for);
//! - **extra**: mirror files that are none of the above.
//!
//! Mirror files are hashed in parallel. With a store, damage is classified by
//! comparing bytes; with only a manifest there are no original bytes, so damage is
//! classified by size alone and marked `heuristic`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::alter::{self, AlterationKind};
use crate::error::{Error, IoContext, Result};
use crate::id::BlobId;
use crate::paths::{ARCHIVE_SEPARATOR, EntryPath};
use crate::progress::Progress;
use crate::store::format::EntryKind;
use crate::store::{Snapshot, Store};
use crate::walk::{IssueKind, NodeKind, WalkIssue, Walked, Walker};

const MAX_COMPARE_BYTES: u64 = 256 * 1024 * 1024;
/// Similarity needed to call a mirror file an altered copy of an entry.
pub(crate) const ALTERED_SIMILARITY: f64 = 0.5;
/// ... when nothing but content links them (another name, another folder): files of
/// one kind from one source (two TeX manuals, two CSVs of one survey) can share half
/// their bytes without one being made from the other.
pub(crate) const UNRELATED_NAME_SIMILARITY: f64 = 0.9;

/// One file of the mirror, or one member of an archive in it.
#[derive(Debug, Clone)]
struct MirrorFile {
    path: EntryPath,
    hash: [u8; 32],
    size: u64,
    member: bool,
    /// For members: the archive in the mirror and the member path inside it.
    archive: Option<(PathBuf, EntryPath)>,
}

/// One file of the release.
#[derive(Debug, Clone)]
struct ReleaseFile {
    path: EntryPath,
    hash: [u8; 32],
    size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub release_path: EntryPath,
    pub mirror_path: EntryPath,
}

#[derive(Debug, Clone, Serialize)]
pub struct Damaged {
    pub release_path: EntryPath,
    pub mirror_path: EntryPath,
    pub how: String,
    pub summary: String,
    pub similarity: f64,
    /// True when classified from sizes only (manifest audits).
    pub heuristic: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    pub release_path: EntryPath,
    pub content_kept: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditSummary {
    pub release_files: u64,
    pub mirror_files: u64,
    pub matched: u64,
    pub moved: u64,
    pub in_archive: u64,
    pub truncated: u64,
    pub corrupt: u64,
    pub altered: u64,
    pub missing: u64,
    pub extra: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub mirror: String,
    pub against: String,
    pub summary: AuditSummary,
    pub matched: Vec<EntryPath>,
    pub moved: Vec<Pair>,
    pub in_archive: Vec<Pair>,
    pub truncated: Vec<Damaged>,
    pub corrupt: Vec<Damaged>,
    pub altered: Vec<Damaged>,
    pub missing: Vec<Missing>,
    pub extra: Vec<EntryPath>,
    /// Mirror files that could not be read, archives kept opaque.
    pub issues: Vec<WalkIssue>,
    pub elapsed_secs: f64,
}

impl AuditReport {
    /// True when every release file is accounted for intact.
    pub fn is_complete(&self) -> bool {
        let s = &self.summary;
        s.truncated + s.corrupt + s.altered + s.missing + s.extra == 0 && self.issues.is_empty()
    }
}

/// What the mirror is checked against.
pub enum Against<'a> {
    Release { store: &'a Store, name: &'a str },
    Manifest(&'a Path),
}

pub fn audit(dir: &Path, against: Against, progress: &dyn Progress) -> Result<AuditReport> {
    let started = Instant::now();
    let (mirror, issues) = scan_mirror(dir, progress)?;
    let (release, snap, label) = match &against {
        Against::Release { store, name } => {
            let snap = store.snapshot()?;
            let rel = snap.release(name)?;
            let mut files = Vec::new();
            for e in snap.entries_with_prefix(rel.id(), b"")? {
                let e = e?;
                if e.record.kind == EntryKind::File {
                    files.push(ReleaseFile {
                        path: e.path,
                        hash: e.record.hash,
                        size: e.record.size,
                    });
                }
            }
            (
                files,
                Some((snap, store.meta().chunk)),
                format!("release {name}"),
            )
        }
        Against::Manifest(m) => (
            manifest_files(m)?,
            None,
            format!("manifest {}", m.display()),
        ),
    };
    let mut a = Auditor {
        release,
        mirror,
        snap: snap.as_ref().map(|(s, p)| (s, *p)),
        dir: dir.to_path_buf(),
        r_used: Vec::new(),
        m_used: Vec::new(),
    };
    let mut report = a.run();
    report.mirror = dir.display().to_string();
    report.against = label;
    report.issues = issues;
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Walks and hashes the mirror, opening archives.
fn scan_mirror(dir: &Path, progress: &dyn Progress) -> Result<(Vec<MirrorFile>, Vec<WalkIssue>)> {
    progress.phase("hash mirror", None);
    let mut paths = Vec::new();
    let mut issues = Vec::new();
    for w in Walker::new(dir)? {
        match w {
            Walked::Item(i) if i.kind() == NodeKind::File => paths.push(i.path),
            Walked::Item(_) => {}
            Walked::Issue(i) => issues.push(i),
        }
    }
    let results: Vec<(Vec<MirrorFile>, Option<WalkIssue>)> = paths
        .par_iter()
        .map(|p| {
            let abs = dir.join(p.to_os_path());
            let r = hash_mirror_file(&abs, p);
            progress.items(1);
            match r {
                Ok(v) => v,
                Err(e) => (
                    Vec::new(),
                    Some(WalkIssue {
                        path: p.clone(),
                        kind: IssueKind::Unreadable,
                        message: e.to_string(),
                    }),
                ),
            }
        })
        .collect();
    let mut files = Vec::new();
    for (f, i) in results {
        files.extend(f);
        issues.extend(i);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    progress.done();
    Ok((files, issues))
}

fn hash_mirror_file(abs: &Path, rel: &EntryPath) -> Result<(Vec<MirrorFile>, Option<WalkIssue>)> {
    let id = crate::ops::hash::hash_file(abs)?;
    let size = std::fs::metadata(abs).ctx(abs, "open")?.len();
    let mut out = vec![MirrorFile {
        path: rel.clone(),
        hash: id.0,
        size,
        member: false,
        archive: None,
    }];
    let mut head = vec![0u8; 1024];
    let n = File::open(abs)
        .and_then(|mut f| f.read(&mut head))
        .ctx(abs, "read")?;
    let Some(kind) = crate::archive::detect(rel.as_bytes(), &head[..n]) else {
        return Ok((out, None));
    };
    let mut f = File::open(abs).ctx(abs, "open archive")?;
    let mut members = Vec::new();
    let res = crate::archive::read_members(
        &mut f,
        kind,
        &crate::archive::Limits::default(),
        &mut |m, r| {
            let mut h = blake3::Hasher::new();
            let n = std::io::copy(r, &mut h)?;
            let mut path = rel.as_bytes().to_vec();
            path.extend_from_slice(ARCHIVE_SEPARATOR);
            path.extend_from_slice(m.path.as_bytes());
            members.push(MirrorFile {
                path: EntryPath::from_raw(path),
                hash: *h.finalize().as_bytes(),
                size: n,
                member: true,
                archive: Some((abs.to_path_buf(), m.path.clone())),
            });
            Ok(())
        },
    );
    match res {
        Ok(_) => {
            out.extend(members);
            Ok((out, None))
        }
        Err(p) => Ok((
            out,
            Some(WalkIssue {
                path: rel.clone(),
                kind: IssueKind::ArchiveOpaque,
                message: format!("archive kept opaque: {p}"),
            }),
        )),
    }
}

/// The file entries of an exported manifest (no store): paths, hashes and sizes.
fn manifest_files(m: &Path) -> Result<Vec<ReleaseFile>> {
    let f = File::open(m).ctx(m, "open manifest")?;
    let mut files = Vec::new();
    crate::manifest::export::read_leaves(BufReader::new(f), &mut |leaf| {
        if leaf.kind == EntryKind::File {
            files.push(ReleaseFile {
                path: leaf.path.clone(),
                hash: leaf.hash,
                size: leaf.size,
            });
        }
    })
    .map_err(|e| Error::Invalid(format!("{}: {e}", m.display())))?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

struct Auditor<'a> {
    release: Vec<ReleaseFile>,
    mirror: Vec<MirrorFile>,
    snap: Option<(&'a Snapshot, crate::chunking::ChunkParams)>,
    dir: PathBuf,
    r_used: Vec<bool>,
    m_used: Vec<bool>,
}

/// How well a mirror path fits a release path: exact, then a suffix at a component
/// boundary (a moved folder, or a path inside an archive), else not at all.
fn path_fit(release: &EntryPath, mirror: &EntryPath) -> Option<u32> {
    let (r, m) = (release.as_bytes(), mirror.as_bytes());
    if r == m {
        return Some(0);
    }
    if m.len() > r.len() && m.ends_with(r) {
        let before = m[m.len() - r.len() - 1];
        if before == b'/' {
            return Some(
                1 + m[..m.len() - r.len()]
                    .iter()
                    .filter(|&&b| b == b'/')
                    .count() as u32,
            );
        }
    }
    None
}

impl Auditor<'_> {
    fn run(&mut self) -> AuditReport {
        self.r_used = vec![false; self.release.len()];
        self.m_used = vec![false; self.mirror.len()];
        let mut report = AuditReport {
            mirror: String::new(),
            against: String::new(),
            summary: AuditSummary {
                release_files: self.release.len() as u64,
                mirror_files: self.mirror.len() as u64,
                ..Default::default()
            },
            matched: Vec::new(),
            moved: Vec::new(),
            in_archive: Vec::new(),
            truncated: Vec::new(),
            corrupt: Vec::new(),
            altered: Vec::new(),
            missing: Vec::new(),
            extra: Vec::new(),
            issues: Vec::new(),
            elapsed_secs: 0.0,
        };
        let m_by_path: HashMap<&EntryPath, usize> = self
            .mirror
            .iter()
            .enumerate()
            .map(|(i, m)| (&m.path, i))
            .collect();
        let mut m_by_hash: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
        for (i, m) in self.mirror.iter().enumerate() {
            m_by_hash.entry(m.hash).or_default().push(i);
        }
        let release_paths: HashSet<&EntryPath> = self.release.iter().map(|r| &r.path).collect();
        let release_hashes: HashSet<[u8; 32]> = self.release.iter().map(|r| r.hash).collect();

        // 1. Same path, same content.
        for (ri, r) in self.release.iter().enumerate() {
            if let Some(&mi) = m_by_path.get(&r.path)
                && self.mirror[mi].hash == r.hash
            {
                self.r_used[ri] = true;
                self.m_used[mi] = true;
                report.matched.push(r.path.clone());
            }
        }
        // 2. The content elsewhere, at a mirror path no release entry claims. When
        //    several entries share content, the pairs whose paths fit best (a moved
        //    folder, a path inside an archive) are made first, across all entries.
        // Loose files first; then members, except of archives that are themselves
        // accounted for (the release's own archive, found intact): their members are
        // part of that archive, not copies of other entries.
        for members in [false, true] {
            let accounted: HashSet<Vec<u8>> = if members {
                self.accounted_archives()
            } else {
                HashSet::new()
            };
            let mut pairs: Vec<(u32, usize, usize)> = Vec::new();
            for (ri, r) in self.release.iter().enumerate() {
                if self.r_used[ri] {
                    continue;
                }
                for &mi in m_by_hash.get(&r.hash).into_iter().flatten() {
                    let m = &self.mirror[mi];
                    if m.member != members || self.m_used[mi] || release_paths.contains(&m.path) {
                        continue;
                    }
                    if members && accounted.contains(archive_of(&m.path)) {
                        continue;
                    }
                    pairs.push((path_fit(&r.path, &m.path).unwrap_or(u32::MAX), ri, mi));
                }
            }
            pairs.sort();
            for (_, ri, mi) in pairs {
                if self.r_used[ri] || self.m_used[mi] {
                    continue;
                }
                self.r_used[ri] = true;
                self.m_used[mi] = true;
                let pair = Pair {
                    release_path: self.release[ri].path.clone(),
                    mirror_path: self.mirror[mi].path.clone(),
                };
                if self.mirror[mi].member {
                    report.in_archive.push(pair);
                } else {
                    report.moved.push(pair);
                }
            }
        }
        // 3. Damaged copies where the path says they should be: the same file name at
        //    a fitting path, best fits first, each confirmed by comparing bytes.
        let accounted = self.accounted_archives();
        let mut by_name: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
        for (mi, m) in self.mirror.iter().enumerate() {
            let inside_accounted = m.member && accounted.contains(archive_of(&m.path));
            if !self.m_used[mi] && !release_hashes.contains(&m.hash) && !inside_accounted {
                by_name
                    .entry(m.path.file_name().to_vec())
                    .or_default()
                    .push(mi);
            }
        }
        let mut tries: Vec<(u32, usize, usize)> = Vec::new();
        for (ri, r) in self.release.iter().enumerate() {
            if self.r_used[ri] {
                continue;
            }
            for &mi in by_name.get(r.path.file_name()).into_iter().flatten() {
                if let Some(fit) = path_fit(&r.path, &self.mirror[mi].path) {
                    tries.push((fit, ri, mi));
                }
            }
        }
        tries.sort();
        for (_, ri, mi) in tries {
            if self.r_used[ri] || self.m_used[mi] {
                continue;
            }
            let r = self.release[ri].clone();
            if let Some(d) = self.compare(&r, mi, true) {
                self.r_used[ri] = true;
                self.m_used[mi] = true;
                push_damaged(&mut report, d);
            }
        }
        // 4. Damaged copies elsewhere, found by content similarity (store audits).
        self.by_similarity(&mut report, &release_hashes);
        // 5. What is left.
        let mirror_hashes: HashSet<[u8; 32]> = self.mirror.iter().map(|m| m.hash).collect();
        for (ri, r) in self.release.iter().enumerate() {
            if !self.r_used[ri] {
                report.missing.push(Missing {
                    release_path: r.path.clone(),
                    content_kept: mirror_hashes.contains(&r.hash),
                });
            }
        }
        for (mi, m) in self.mirror.iter().enumerate() {
            // A member of an archive is accounted for by its archive unless it was
            // paired itself; an archive whose members were paired is not "extra".
            if self.m_used[mi] || m.member {
                continue;
            }
            let mut prefix = m.path.as_bytes().to_vec();
            prefix.extend_from_slice(ARCHIVE_SEPARATOR);
            let holds_paired =
                self.mirror.iter().enumerate().any(|(j, x)| {
                    self.m_used[j] && x.member && x.path.as_bytes().starts_with(&prefix)
                });
            if !holds_paired {
                report.extra.push(m.path.clone());
            }
        }
        let s = &mut report.summary;
        s.matched = report.matched.len() as u64;
        s.moved = report.moved.len() as u64;
        s.in_archive = report.in_archive.len() as u64;
        s.truncated = report.truncated.len() as u64;
        s.corrupt = report.corrupt.len() as u64;
        s.altered = report.altered.len() as u64;
        s.missing = report.missing.len() as u64;
        s.extra = report.extra.len() as u64;
        report
    }

    /// Paths of mirror archives already paired with a release entry.
    fn accounted_archives(&self) -> HashSet<Vec<u8>> {
        self.mirror
            .iter()
            .enumerate()
            .filter(|(mi, m)| self.m_used[*mi] && !m.member)
            .map(|(_, m)| m.path.as_bytes().to_vec())
            .collect()
    }

    fn mirror_bytes(&self, mi: usize) -> Option<Vec<u8>> {
        let m = &self.mirror[mi];
        if m.size > MAX_COMPARE_BYTES {
            return None;
        }
        match &m.archive {
            None => std::fs::read(self.dir.join(m.path.to_os_path())).ok(),
            Some((archive, member)) => {
                let mut f = File::open(archive).ok()?;
                let head = {
                    let mut h = vec![0u8; 1024];
                    let n = f.read(&mut h).ok()?;
                    h.truncate(n);
                    h
                };
                let kind = crate::archive::detect(archive.as_os_str().as_encoded_bytes(), &head)?;
                let mut f = File::open(archive).ok()?;
                let mut found = None;
                let _ = crate::archive::read_members(
                    &mut f,
                    kind,
                    &crate::archive::Limits::default(),
                    &mut |mm, r| {
                        if mm.path == *member {
                            let mut v = Vec::new();
                            r.take(MAX_COMPARE_BYTES).read_to_end(&mut v)?;
                            found = Some(v);
                        }
                        Ok(())
                    },
                );
                found
            }
        }
    }

    /// Compares release file `r` with mirror file `mi`: a Damaged when it is a
    /// truncated, corrupt or altered copy. Where the path vouches (`by_path`) half the
    /// usual similarity is enough; found by content alone, a copy under another name
    /// must be nearly the same (`UNRELATED_NAME_SIMILARITY`).
    fn compare(&self, r: &ReleaseFile, mi: usize, by_path: bool) -> Option<Damaged> {
        let m = &self.mirror[mi];
        let Some((snap, _)) = self.snap else {
            // No original bytes: sizes only, and only where the path vouches.
            if !by_path {
                return None;
            }
            let how = if m.size < r.size {
                "truncated"
            } else if m.size == r.size {
                "corrupt"
            } else {
                "appended_bytes"
            };
            return Some(Damaged {
                release_path: r.path.clone(),
                mirror_path: m.path.clone(),
                how: how.into(),
                summary: format!(
                    "{} bytes where the release has {} (no store: judged by size)",
                    m.size, r.size
                ),
                similarity: 0.0,
                heuristic: true,
            });
        };
        if r.size > MAX_COMPARE_BYTES {
            return None;
        }
        let mut orig = Vec::with_capacity(r.size as usize);
        snap.read_blob(&BlobId(r.hash), &r.path.to_string(), |d| {
            orig.extend_from_slice(d);
            Ok(())
        })
        .ok()?;
        let claim = self.mirror_bytes(mi)?;
        let name = String::from_utf8_lossy(r.path.file_name()).into_owned();
        let a = alter::classify(&orig, &claim, &name);
        let ok = match a.kind {
            AlterationKind::Truncated => true,
            AlterationKind::BitFlip => true,
            _ if by_path => a.similarity >= ALTERED_SIMILARITY / 2.0,
            _ if r.path.file_name() == m.path.file_name() => a.similarity >= ALTERED_SIMILARITY,
            _ => a.similarity >= UNRELATED_NAME_SIMILARITY,
        };
        ok.then(|| Damaged {
            release_path: r.path.clone(),
            mirror_path: m.path.clone(),
            how: crate::ops::diff::how(a.kind),
            summary: a.summary,
            similarity: a.similarity,
            heuristic: false,
        })
    }

    fn by_similarity(&mut self, report: &mut AuditReport, release_hashes: &HashSet<[u8; 32]>) {
        let Some((snap, params)) = self.snap else {
            return;
        };
        let missing: HashMap<[u8; 32], Vec<usize>> = {
            let mut m: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
            for (ri, r) in self.release.iter().enumerate() {
                if !self.r_used[ri] {
                    m.entry(r.hash).or_default().push(ri);
                }
            }
            m
        };
        if missing.is_empty() {
            return;
        }
        for mi in 0..self.mirror.len() {
            if self.m_used[mi] || release_hashes.contains(&self.mirror[mi].hash) {
                continue;
            }
            let Some(bytes) = self.mirror_bytes(mi) else {
                continue;
            };
            let (chunks, keys) = crate::ops::identify::scan_bytes(&bytes, params);
            let Ok(found) = snap.similar_blobs(&chunks, &keys) else {
                continue;
            };
            let mut cands: Vec<usize> = found
                .keys()
                .filter_map(|b| missing.get(&b.0))
                .flatten()
                .copied()
                .filter(|&ri| !self.r_used[ri])
                .collect();
            cands.sort();
            for ri in cands {
                let r = self.release[ri].clone();
                if let Some(d) = self.compare(&r, mi, false) {
                    self.r_used[ri] = true;
                    self.m_used[mi] = true;
                    push_damaged(report, d);
                    break;
                }
            }
        }
    }
}

/// The archive part of a member path (`a/b.zip` of `a/b.zip!/x/y`).
fn archive_of(p: &EntryPath) -> &[u8] {
    let b = p.as_bytes();
    b.windows(ARCHIVE_SEPARATOR.len())
        .rposition(|w| w == ARCHIVE_SEPARATOR)
        .map_or(b, |i| &b[..i])
}

fn push_damaged(report: &mut AuditReport, d: Damaged) {
    match d.how.as_str() {
        "truncated" => report.truncated.push(d),
        "bit_flip" | "corrupt" => report.corrupt.push(d),
        _ => report.altered.push(d),
    }
}
