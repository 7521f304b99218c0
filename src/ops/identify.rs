//! `identify FILE|DIR…`: is this claimed file authentic?
//!
//! Every claim gets one verdict:
//! - **exact**: its BLAKE3 is the content of entries in the store — every (release,
//!   path), the first release it appeared in, whether the latest release has it;
//! - **altered**: not identical, but made from a stored original — the nearest
//!   original(s) ranked by similarity, and how it was altered;
//! - **unknown**: nothing close enough.
//!
//! Finding the original uses the similarity index (`store::similar`): shared
//! chunks for large files, LSH sketches for small ones, a prefix fingerprint for
//! truncations. Each candidate is then compared byte for byte (`alter`) and only a
//! measured similarity counts. Archives are identified member by member.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::alter::{self, Alteration, EditScript};
use crate::chunking::WindowChunker;
use crate::error::{Error, IoContext, Result};
use crate::id::{BlobId, ChunkId};
use crate::paths::{EntryPath, escape_bytes};
use crate::progress::Progress;
use crate::store::format::EntryKind;
use crate::store::similar::{Candidate, IndexKeys};
use crate::store::{Snapshot, Store, prefix_range};

/// Below this similarity a candidate is not the claim's original (`ALTERED_THRESHOLD`).
/// docs/ACCURACY.md shows how it was chosen.
pub const ALTERED_THRESHOLD: f64 = 0.6;
/// Candidates compared byte for byte per claim, best evidence first.
const MAX_CANDIDATES: usize = 16;
/// Claims and originals up to this size are compared in memory.
const MAX_COMPARE_BYTES: u64 = 256 * 1024 * 1024;
/// Candidates sharing the claim's first 256 bytes read to test for a truncation.
const MAX_PREFIX_CHECKS: usize = 512;
/// Originals listed per altered claim.
const MAX_ORIGINALS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Exact,
    Altered,
    Unknown,
    /// The claim could not be read.
    Error,
}

/// Where some content appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub release: String,
    pub path: EntryPath,
    pub kind: EntryKind,
}

/// A stored original an altered claim was made from.
#[derive(Debug, Clone, Serialize)]
pub struct Original {
    pub blake3: BlobId,
    pub size: u64,
    pub similarity: f64,
    pub alteration: Alteration,
    pub occurrences: Vec<Occurrence>,
    /// The alteration report written for it (`--report-dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(skip)]
    pub script: Option<EditScript>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClaimReport {
    pub claim: String,
    pub blake3: Option<BlobId>,
    pub size: u64,
    pub verdict: Verdict,
    /// Exact: where the content is.
    pub occurrences: Vec<Occurrence>,
    pub first_release: Option<String>,
    pub in_latest: Option<bool>,
    /// Altered: nearest originals, best first.
    pub originals: Vec<Original>,
    /// Archives: the verdict of each member.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<ClaimReport>,
    /// Inclusion proof written for an exact claim (`--proof-dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClaimReport {
    fn new(claim: String) -> Self {
        Self {
            claim,
            blake3: None,
            size: 0,
            verdict: Verdict::Unknown,
            occurrences: Vec::new(),
            first_release: None,
            in_latest: None,
            originals: Vec::new(),
            members: Vec::new(),
            proof: None,
            error: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentifyReport {
    pub claims: Vec<ClaimReport>,
    pub exact: u64,
    pub altered: u64,
    pub unknown: u64,
    pub errors: u64,
    pub elapsed_secs: f64,
}

impl IdentifyReport {
    pub fn all_exact(&self) -> bool {
        self.altered == 0 && self.unknown == 0 && self.errors == 0
    }
}

#[derive(Debug, Clone, Default)]
pub struct IdentifyOptions {
    pub paths: Vec<PathBuf>,
    pub proof_dir: Option<PathBuf>,
    pub report_dir: Option<PathBuf>,
    pub threshold: Option<f64>,
}

/// Releases in log order, to name first and latest.
struct ReleaseOrder {
    ids: Vec<(u32, String)>,
}

fn claims_under(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let m = std::fs::metadata(p).ctx(p, "open claim")?;
        if m.is_dir() {
            for w in crate::walk::Walker::new(p)? {
                if let crate::walk::Walked::Item(i) = w
                    && i.kind() == crate::walk::NodeKind::File
                {
                    out.push(p.join(i.path.to_os_path()));
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn identify(
    store: &Store,
    opts: &IdentifyOptions,
    progress: &dyn Progress,
) -> Result<IdentifyReport> {
    let started = Instant::now();
    let snap = store.snapshot()?;
    let mut releases = snap.releases()?;
    releases.sort_by_key(|r| r.record.log_index);
    let order = ReleaseOrder {
        ids: releases.iter().map(|r| (r.id(), r.name.clone())).collect(),
    };
    for d in [&opts.proof_dir, &opts.report_dir].into_iter().flatten() {
        std::fs::create_dir_all(d).ctx(d, "create output directory")?;
    }
    let claims = claims_under(&opts.paths)?;
    progress.phase("identify", None);
    let threshold = opts.threshold.unwrap_or(ALTERED_THRESHOLD);
    let ctx = Ctx {
        snap: &snap,
        store,
        order: &order,
        threshold,
        opts,
    };
    let mut reports: Vec<ClaimReport> = claims
        .par_iter()
        .map(|p| {
            let r = ctx.claim_file(p);
            progress.items(1);
            r
        })
        .collect();
    reports.sort_by(|a, b| a.claim.cmp(&b.claim));
    progress.done();
    let count = |v: Verdict| reports.iter().filter(|r| r.verdict == v).count() as u64;
    Ok(IdentifyReport {
        exact: count(Verdict::Exact),
        altered: count(Verdict::Altered),
        unknown: count(Verdict::Unknown),
        errors: count(Verdict::Error),
        claims: reports,
        elapsed_secs: started.elapsed().as_secs_f64(),
    })
}

struct Ctx<'a> {
    snap: &'a Snapshot,
    store: &'a Store,
    order: &'a ReleaseOrder,
    threshold: f64,
    opts: &'a IdentifyOptions,
}

/// The content facts of a claim: its hash, chunks and index keys.
struct Scan {
    id: BlobId,
    size: u64,
    chunks: Vec<(ChunkId, u32)>,
    keys: IndexKeys,
}

fn scan(r: &mut dyn Read, params: crate::chunking::ChunkParams) -> std::io::Result<Scan> {
    let mut c = WindowChunker::new(params);
    let mut hasher = blake3::Hasher::new();
    let mut chunks = Vec::new();
    let mut keys = IndexKeys::default();
    let mut first = true;
    while let Some(w) = c.next_window(r)? {
        if first {
            keys.prefix = crate::sketch::prefix_key(w.data);
            if w.at_end {
                keys.bands = crate::sketch::band_keys(w.data);
            }
            first = false;
        }
        hasher.update(w.data);
        for cut in &w.cuts {
            chunks.push((ChunkId::of(&w.data[cut.clone()]), cut.len() as u32));
        }
    }
    Ok(Scan {
        id: BlobId::from(hasher.finalize()),
        size: c.bytes_read(),
        chunks,
        keys,
    })
}

/// Chunks and index keys of in-memory content.
pub fn scan_bytes(
    data: &[u8],
    params: crate::chunking::ChunkParams,
) -> (Vec<(ChunkId, u32)>, IndexKeys) {
    // Bytes already in memory are cut whole: the streaming chunker's 4 MiB window
    // would be allocated and zeroed again for each of a diff's added files. The keys
    // match the stream's: its first window is all of any file the sketch covers.
    let chunks = crate::chunking::Cutter::new(params)
        .ranges(data)
        .into_iter()
        .map(|r| (ChunkId::of(&data[r.clone()]), r.len() as u32))
        .collect();
    let keys = IndexKeys {
        prefix: crate::sketch::prefix_key(data),
        bands: crate::sketch::band_keys(data),
    };
    (chunks, keys)
}

impl Ctx<'_> {
    /// Every (release, path) holding `blob`, in release-log order.
    pub fn occurrences(&self, blob: &BlobId) -> Result<Vec<Occurrence>> {
        occurrences(self.snap, self.order, blob)
    }

    fn claim_file(&self, path: &Path) -> ClaimReport {
        let name = escape_bytes(path.as_os_str().as_encoded_bytes());
        let mut rep = ClaimReport::new(name);
        if let Err(e) = self.fill(path, &mut rep) {
            rep.verdict = Verdict::Error;
            rep.error = Some(e.to_string());
        }
        rep
    }

    fn fill(&self, path: &Path, rep: &mut ClaimReport) -> Result<()> {
        // The exact answer costs one hash: try it before anything else.
        let id = crate::ops::hash::hash_file(path)?;
        rep.blake3 = Some(id);
        rep.size = std::fs::metadata(path).ctx(path, "open claim")?.len();
        let occ = self.occurrences(&id)?;
        if !occ.is_empty() {
            self.exact(rep, occ)?;
            return Ok(());
        }
        let mut f = File::open(path).ctx(path, "open claim")?;
        let s = scan(&mut f, self.store.meta().chunk).ctx(path, "read claim")?;
        if s.id != id {
            return Err(Error::Invalid(format!(
                "{}: changed while being read",
                path.display()
            )));
        }
        let claim_bytes = if s.size <= MAX_COMPARE_BYTES {
            Some(std::fs::read(path).ctx(path, "read claim")?)
        } else {
            None
        };
        self.altered(
            rep,
            &s,
            claim_bytes.as_deref(),
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )?;
        if rep.verdict != Verdict::Altered
            && let Some(kind) = crate::archive::detect(
                path.as_os_str().as_encoded_bytes(),
                claim_bytes.as_deref().unwrap_or(&[]),
            )
        {
            self.members(path, kind, rep)?;
        }
        Ok(())
    }

    fn exact(&self, rep: &mut ClaimReport, occ: Vec<Occurrence>) -> Result<()> {
        rep.verdict = Verdict::Exact;
        rep.first_release = occ.first().map(|o| o.release.clone());
        let latest = self.order.ids.last().map(|(_, n)| n.clone());
        rep.in_latest = Some(occ.iter().any(|o| Some(&o.release) == latest.as_ref()));
        if let (Some(dir), Some(first)) = (&self.opts.proof_dir, occ.first()) {
            let proof = crate::ops::prove::prove(
                self.store,
                &first.release,
                crate::ops::prove::Target::Path(&first.path.escaped()),
            )?;
            let file = dir.join(format!("{}.proof", file_stem(&rep.claim)));
            std::fs::write(&file, proof.encode()).ctx(&file, "write proof")?;
            rep.proof = Some(file.display().to_string());
        }
        rep.occurrences = occ;
        Ok(())
    }

    /// Ranks candidates from the index and compares the best byte for byte.
    fn altered(
        &self,
        rep: &mut ClaimReport,
        s: &Scan,
        claim: Option<&[u8]>,
        name: String,
    ) -> Result<()> {
        let found = self.snap.similar_blobs(&s.chunks, &s.keys)?;
        // A claim that is a strict prefix of a stored blob is a cut of it, however
        // little it kept; when its first 256 bytes are a template many files share,
        // only reading those candidates finds the one it was cut from.
        let mut cut_from = std::collections::HashSet::new();
        if let Some(claim) = claim {
            let mut prefixed: Vec<&BlobId> = found
                .iter()
                .filter(|(_, c)| c.same_prefix)
                .map(|(b, _)| b)
                .collect();
            prefixed.sort();
            for b in prefixed.into_iter().take(MAX_PREFIX_CHECKS) {
                if self.snap.blob(b)?.is_some_and(|r| r.size > s.size)
                    && self.snap.read_prefix(b, claim.len())? == claim
                {
                    cut_from.insert(*b);
                }
            }
        }
        let mut ranked: Vec<(BlobId, Candidate)> =
            found.into_iter().filter(|(b, _)| *b != s.id).collect();
        // Evidence first: shared bytes (large files), then sketch bands and the prefix
        // together — a prefix shared with many files (a page template) alone is weak,
        // bands alone can be boilerplate; the original usually has both.
        ranked.sort_by(|a, b| {
            let key = |id: &BlobId, c: &Candidate| {
                (
                    cut_from.contains(id),
                    c.shared_bytes,
                    c.bands + 3 * c.same_prefix as u32,
                )
            };
            key(&b.0, &b.1).cmp(&key(&a.0, &a.1)).then(a.0.cmp(&b.0))
        });
        let mut originals = Vec::new();
        for (blob, cand) in ranked.into_iter().take(MAX_CANDIDATES) {
            let Some(rec) = self.snap.blob(&blob)? else {
                continue;
            };
            let (Some(claim), true) = (claim, rec.size <= MAX_COMPARE_BYTES) else {
                continue;
            };
            let mut orig = Vec::with_capacity(rec.size as usize);
            self.snap.read_blob(&blob, &format!("blob {blob}"), |d| {
                orig.extend_from_slice(d);
                Ok(())
            })?;
            let script = alter::edit_script(&orig, claim);
            let alteration = alter::classify_with_script(&orig, claim, &name, &script);
            let similarity = alteration.similarity;
            // A claim that is a cut of the original is that original whatever share it
            // kept, when at least the prefix fingerprint's bytes survive.
            let truncated = cand.same_prefix && alteration.kind == alter::AlterationKind::Truncated;
            if similarity >= self.threshold || truncated {
                originals.push(Original {
                    blake3: blob,
                    size: rec.size,
                    similarity,
                    alteration,
                    occurrences: self.occurrences(&blob)?,
                    report: None,
                    script: Some(script),
                });
            }
        }
        // Being exactly the first bytes of a stored file is stronger evidence than
        // any similarity score: a short cut of one page scores higher against its
        // template-sharing siblings than against the page it was cut from.
        originals.sort_by(|a, b| {
            let cut = |o: &Original| cut_from.contains(&o.blake3);
            cut(b)
                .cmp(&cut(a))
                .then(b.similarity.total_cmp(&a.similarity))
                .then(a.blake3.cmp(&b.blake3))
        });
        originals.truncate(MAX_ORIGINALS);
        originals.retain(|o| !o.occurrences.is_empty());
        if originals.is_empty() {
            rep.verdict = Verdict::Unknown;
            return Ok(());
        }
        rep.verdict = Verdict::Altered;
        if let Some(dir) = &self.opts.report_dir {
            for (i, o) in originals.iter_mut().enumerate() {
                let text = crate::ops::report::write_report(self.store, s.id, s.size, o)?;
                let file = dir.join(format!("{}.{i}.report", file_stem(&rep.claim)));
                std::fs::write(&file, text).ctx(&file, "write report")?;
                o.report = Some(file.display().to_string());
            }
        }
        rep.originals = originals;
        Ok(())
    }

    /// An archive that is neither stored nor altered: identify what is inside.
    fn members(
        &self,
        path: &Path,
        kind: crate::archive::ArchiveKind,
        rep: &mut ClaimReport,
    ) -> Result<()> {
        let mut f = File::open(path).ctx(path, "open claim")?;
        let limits = crate::archive::Limits::default();
        let mut members = Vec::new();
        let result = crate::archive::read_members(&mut f, kind, &limits, &mut |m, r| {
            let mut bytes = Vec::new();
            r.take(MAX_COMPARE_BYTES).read_to_end(&mut bytes)?;
            let mut mr = ClaimReport::new(format!("{}!/{}", rep.claim, m.path));
            mr.size = bytes.len() as u64;
            let id = BlobId::from(blake3::hash(&bytes));
            mr.blake3 = Some(id);
            let inner = (|| -> Result<()> {
                let occ = self.occurrences(&id)?;
                if !occ.is_empty() {
                    return self.exact(&mut mr, occ);
                }
                let s = scan(&mut bytes.as_slice(), self.store.meta().chunk)
                    .map_err(|e| Error::io(path, "read member", e))?;
                let name = String::from_utf8_lossy(m.path.file_name()).into_owned();
                self.altered(&mut mr, &s, Some(&bytes), name)
            })();
            if let Err(e) = inner {
                mr.verdict = Verdict::Error;
                mr.error = Some(e.to_string());
            }
            members.push(mr);
            Ok(())
        });
        match result {
            Ok(_) => {
                rep.members = members;
                let all = |v: Verdict| {
                    !rep.members.is_empty() && rep.members.iter().all(|m| m.verdict == v)
                };
                // A re-packed archive whose every member is stored is as good as exact
                // for its contents, but the archive file itself is not stored: altered.
                if all(Verdict::Exact) || rep.members.iter().any(|m| m.verdict != Verdict::Unknown)
                {
                    rep.verdict = Verdict::Altered;
                }
            }
            Err(p) => {
                rep.error = Some(format!("archive not read: {p}"));
            }
        }
        Ok(())
    }
}

/// Every (release, path) holding `blob`, in release-log order.
fn occurrences(snap: &Snapshot, order: &ReleaseOrder, blob: &BlobId) -> Result<Vec<Occurrence>> {
    let mut out = Vec::new();
    for (rel, name) in &order.ids {
        let prefix = crate::store::format::content_key(*rel, blob.as_bytes(), b"");
        let range = prefix_range(&snap.by_content, &prefix, &prefix)?;
        for row in range {
            let (k, v) = row?;
            let (_, _, path) = crate::store::format::split_content_key(k.value())
                .map_err(|e| Error::corrupt("content index key", e))?;
            let (kind, _) = crate::store::format::decode_content_value(v.value())
                .map_err(|e| Error::corrupt("content index row", e))?;
            if kind.has_blob() {
                out.push(Occurrence {
                    release: name.clone(),
                    path: EntryPath::from_raw(path.to_vec()),
                    kind,
                });
            }
        }
    }
    Ok(out)
}

fn file_stem(claim: &str) -> String {
    let base = claim.rsplit('/').next().unwrap_or(claim);
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let h = blake3::hash(claim.as_bytes()).to_hex();
    format!("{}-{}", clean.chars().take(60).collect::<String>(), &h[..8])
}

#[cfg(test)]
mod scan_tests {
    use super::*;

    #[test]
    fn bytes_in_memory_scan_as_a_stream_does() {
        let params = crate::chunking::ChunkParams::default();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..5 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        for len in [
            0,
            10,
            24,
            300,
            40_000,
            256 * 1024,
            256 * 1024 + 1,
            1 << 20,
            5 << 20,
        ] {
            let d = &data[..len];
            let s = scan(&mut &d[..], params).expect("reads from memory");
            let (chunks, keys) = scan_bytes(d, params);
            assert_eq!(chunks, s.chunks, "chunks of {len} bytes");
            assert_eq!(
                (keys.prefix, keys.bands),
                (s.keys.prefix, s.keys.bands),
                "keys of {len} bytes"
            );
        }
    }
}
