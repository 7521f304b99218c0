//! `diff A B`: what changed between two releases.
//!
//! A merge of both releases' entries in path order classifies every path; content
//! lookups (`by_content`) pair removed and added paths. Categories pair paths one to
//! one, as a person reading the diff would:
//! - **modified**: the same path with other content, and how (`alter`);
//! - **renamed**: a removed path and an added path with the same content;
//! - **duplicated**: an added path whose content was already at a path that remains;
//! - **renamed_modified**: a removed and an added path whose contents are similar;
//! - **added** / **removed**: the rest (`content_kept` marks removed content that is
//!   still elsewhere in B).
//!
//! Archive members are diffed inside their archive's modification. Work is a merge
//! over sorted indexes plus lookups, never all-pairs.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use std::time::Instant;

use serde::Serialize;

use crate::alter::{self, AlterationKind};
use crate::error::Result;
use crate::id::BlobId;
use crate::paths::EntryPath;
use crate::store::format::{EntryKind, EntryRecord};
use crate::store::similar::{BlobPrefix, Candidate, blob_prefix};
use crate::store::snapshot::Entry;
use crate::store::{Release, Snapshot, Store};

/// Files compared byte for byte to describe a modification; larger ones are
/// described by the chunks they share.
const MAX_DETAIL_BYTES: u64 = 64 * 1024 * 1024;
/// Removed files diffed against one added file to find it renamed and modified.
const MAX_RENAME_CANDIDATES: usize = 8;
/// Postings read per index key when looking for the file an added one was made
/// from. identify reads up to 4,096 to find one original among a template's pages;
/// a diff asks this for every added file, and a renamed-and-modified pair that
/// shares only bands common to hundreds of files cannot be told from its siblings.
const RENAME_HITS_PER_KEY: usize = 256;
/// How far below a bar the chunk estimate of a pair may be and the pair still be
/// diffed: chunks around each edit do not match though most of their bytes do.
const ESTIMATE_MARGIN: f64 = 0.2;
/// Similarity needed to call a removed/added pair renamed and modified: audit's bars,
/// for the same reason. A file moved to another folder under its own name needs half
/// its bytes in common; under another name it must be nearly the same, since two
/// generated pages or two examples of one package share most of their boilerplate
/// without one being made from the other.
use crate::ops::audit::{
    ALTERED_SIMILARITY as RENAME_SAME_NAME, UNRELATED_NAME_SIMILARITY as RENAME_OTHER_NAME,
};

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub added: u64,
    pub removed: u64,
    pub modified: u64,
    pub renamed: u64,
    pub renamed_modified: u64,
    pub duplicated: u64,
    pub unchanged: u64,
    /// Modified files whose change was described (all of them unless limited by
    /// [`DiffOptions::details`]).
    pub modified_described: u64,
    pub dirs_added: u64,
    pub dirs_removed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Added {
    pub path: EntryPath,
    pub size: u64,
    pub blake3: BlobId,
}

#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub path: EntryPath,
    pub size: u64,
    pub blake3: BlobId,
    /// The content is still in B, at a path other entries hold.
    pub content_kept: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Renamed {
    pub from: EntryPath,
    pub to: EntryPath,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duplicated {
    pub path: EntryPath,
    pub same_as: EntryPath,
}

/// How one file changed.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub kind: AlterationKind,
    /// The corpus vocabulary: appended_bytes, csv_rows_edited, ..., zip_member_replaced.
    pub how: String,
    pub summary: String,
    pub similarity: f64,
    /// Byte ranges of the new file that are not copied from the old one.
    pub new_ranges: Vec<(u64, u64)>,
    /// Member-level changes of an archive.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberChange {
    pub member: EntryPath,
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Modified {
    pub path: EntryPath,
    pub old: BlobId,
    pub new: BlobId,
    pub old_size: u64,
    pub new_size: u64,
    /// How the file changed; `None` past [`DiffOptions::details`].
    pub change: Option<Change>,
}

/// What a diff computes beyond the categories, which are always complete.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Describe (read both versions, diff, classify) only the first this many
    /// modified files in path order; `None` describes all. Describing costs two blob
    /// reads and a byte diff per file: milliseconds each, minutes for the tens of
    /// thousands a release of a million files can change, against seconds for the
    /// categories.
    pub details: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenamedModified {
    pub from: EntryPath,
    pub to: EntryPath,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub a: String,
    pub b: String,
    pub summary: Summary,
    pub added: Vec<Added>,
    pub removed: Vec<Removed>,
    pub modified: Vec<Modified>,
    pub renamed: Vec<Renamed>,
    pub renamed_modified: Vec<RenamedModified>,
    pub duplicated: Vec<Duplicated>,
    pub elapsed_secs: f64,
    /// Where the time went, in order.
    pub timings: Timings,
}

/// Seconds spent in each step of a diff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// The merge of both releases' entries in path order.
    pub merge_secs: f64,
    /// Pairing renames and duplicates by content.
    pub same_content_secs: f64,
    /// Joining the similarity index over the added and removed files' blobs.
    pub similar_index_secs: f64,
    /// Reading and diffing the candidate pairs that join found.
    pub similar_secs: f64,
    /// Describing modified files.
    pub describe_secs: f64,
}

fn is_content(e: &EntryRecord) -> bool {
    matches!(e.kind, EntryKind::File | EntryKind::Symlink)
}

/// [`diff_with`] describing every modified file.
pub fn diff(store: &Store, a: &str, b: &str) -> Result<DiffReport> {
    diff_with(store, a, b, DiffOptions::default())
}

pub fn diff_with(store: &Store, a: &str, b: &str, opts: DiffOptions) -> Result<DiffReport> {
    let started = Instant::now();
    let snap = store.snapshot()?;
    let (ra, rb) = (snap.release(a)?, snap.release(b)?);
    let mut summary = Summary {
        added: 0,
        removed: 0,
        modified: 0,
        renamed: 0,
        renamed_modified: 0,
        duplicated: 0,
        unchanged: 0,
        modified_described: 0,
        dirs_added: 0,
        dirs_removed: 0,
    };
    let mut removed: Vec<Entry> = Vec::new();
    let mut added: Vec<Entry> = Vec::new();
    let mut modified_pairs: Vec<(Entry, Entry)> = Vec::new();

    // Merge both releases' entries in path order.
    let mut ia = snap.entries_with_prefix(ra.id(), b"")?.peekable();
    let mut ib = snap.entries_with_prefix(rb.id(), b"")?.peekable();
    loop {
        let order = match (ia.peek(), ib.peek()) {
            (None, None) => break,
            (Some(Err(_)), _) | (_, Some(Err(_))) => {
                // Surface the error.
                if let Some(Err(e)) = ia.next() {
                    return Err(e);
                }
                if let Some(Err(e)) = ib.next() {
                    return Err(e);
                }
                continue;
            }
            (Some(Ok(x)), Some(Ok(y))) => x.path.cmp(&y.path),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                let x = ia.next().transpose()?.expect("peeked");
                match x.record.kind {
                    EntryKind::Dir => summary.dirs_removed += 1,
                    EntryKind::Member => {}
                    _ => removed.push(x),
                }
            }
            std::cmp::Ordering::Greater => {
                let y = ib.next().transpose()?.expect("peeked");
                match y.record.kind {
                    EntryKind::Dir => summary.dirs_added += 1,
                    EntryKind::Member => {}
                    _ => added.push(y),
                }
            }
            std::cmp::Ordering::Equal => {
                let x = ia.next().transpose()?.expect("peeked");
                let y = ib.next().transpose()?.expect("peeked");
                if x.record.kind == EntryKind::Member
                    || !is_content(&x.record) && !is_content(&y.record)
                {
                    continue;
                }
                if x.record.hash == y.record.hash && x.record.kind == y.record.kind {
                    summary.unchanged += 1;
                } else {
                    modified_pairs.push((x, y));
                }
            }
        }
    }

    let mut timings = Timings::default();
    let mut lap = started;
    let mut split = || {
        let now = Instant::now();
        let secs = now.duration_since(lap).as_secs_f64();
        lap = now;
        secs
    };
    timings.merge_secs = split();

    // Renames: removed and added paths with the same content, paired in path order.
    let mut removed_by_hash: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
    for (i, e) in removed.iter().enumerate() {
        removed_by_hash.entry(e.record.hash).or_default().push(i);
    }
    for v in removed_by_hash.values_mut() {
        v.reverse();
    }
    let mut removed_used = vec![false; removed.len()];
    let mut report_renamed = Vec::new();
    let mut report_dup = Vec::new();
    let mut still_added = Vec::new();
    for y in added {
        if let Some(i) = removed_by_hash
            .get_mut(&y.record.hash)
            .and_then(|v| v.pop())
        {
            removed_used[i] = true;
            report_renamed.push(Renamed {
                from: removed[i].path.clone(),
                to: y.path,
            });
        } else if let Some(src) = remaining_copy(&snap, &ra, &rb, &y)? {
            report_dup.push(Duplicated {
                path: y.path,
                same_as: src,
            });
        } else {
            still_added.push(y);
        }
    }
    let mut still_removed: Vec<Entry> = removed
        .into_iter()
        .zip(removed_used)
        .filter(|(_, used)| !used)
        .map(|(e, _)| e)
        .collect();

    timings.same_content_secs = split();

    // Renamed and modified: an added file similar to a removed one. Finding and
    // diffing the candidates is independent per added file, so it runs in parallel;
    // pairing then goes in path order, each added file taking its most similar
    // removed file that no earlier one took.
    let mut report_rm = Vec::new();
    if !still_added.is_empty() && !still_removed.is_empty() {
        let removed_hashes: HashMap<BlobPrefix, usize> = still_removed
            .iter()
            .enumerate()
            .filter(|(_, e)| e.record.kind == EntryKind::File)
            .map(|(i, e)| (blob_prefix(&BlobId(e.record.hash)), i))
            .collect();
        // Which removed files each added one shares index keys with: one pass over
        // the index, so only added files with a candidate are read.
        let blob_ids = |v: &[Entry]| -> Vec<BlobId> {
            v.iter()
                .filter(|e| e.record.kind == EntryKind::File)
                .map(|e| BlobId(e.record.hash))
                .collect()
        };
        let pairs = snap.similar_pairs(
            &blob_ids(&still_added),
            &blob_ids(&still_removed),
            RENAME_HITS_PER_KEY,
        )?;
        timings.similar_index_secs = split();
        let similar: Vec<Vec<(usize, Change)>> = still_added
            .par_iter()
            .map(|y| {
                let Some(found) = pairs.get(&blob_prefix(&BlobId(y.record.hash))) else {
                    return Ok(Vec::new());
                };
                similar_removed(&snap, y, found, &removed_hashes, &still_removed)
            })
            .collect::<Result<_>>()?;
        let mut taken = vec![false; still_removed.len()];
        let mut keep_added = Vec::new();
        for (y, candidates) in still_added.into_iter().zip(similar) {
            match candidates.into_iter().find(|(i, _)| !taken[*i]) {
                Some((i, change)) => {
                    taken[i] = true;
                    report_rm.push(RenamedModified {
                        from: still_removed[i].path.clone(),
                        to: y.path,
                        change,
                    });
                }
                None => keep_added.push(y),
            }
        }
        still_added = keep_added;
        still_removed = still_removed
            .into_iter()
            .zip(taken)
            .filter(|(_, t)| !t)
            .map(|(e, _)| e)
            .collect();
    }

    let mut report_removed = Vec::new();
    for e in still_removed {
        let kept = content_in(&snap, &rb, &e.record.hash)?;
        report_removed.push(Removed {
            path: e.path,
            size: e.record.size,
            blake3: BlobId(e.record.hash),
            content_kept: kept,
        });
    }
    let report_added: Vec<Added> = still_added
        .into_iter()
        .map(|e| Added {
            path: e.path,
            size: e.record.size,
            blake3: BlobId(e.record.hash),
        })
        .collect();
    timings.similar_secs = split();
    // Describing a modification reads and diffs both versions: the costly part of a
    // diff when many files changed, and independent per file.
    let report_modified: Vec<Modified> = modified_pairs
        .par_iter()
        .enumerate()
        .map(|(i, (x, y))| {
            let described = opts.details.is_none_or(|n| i < n);
            Ok(Modified {
                path: y.path.clone(),
                old: BlobId(x.record.hash),
                new: BlobId(y.record.hash),
                old_size: x.record.size,
                new_size: y.record.size,
                change: match described {
                    true => Some(describe_change(&snap, &ra, &rb, x, y)?),
                    false => None,
                },
            })
        })
        .collect::<Result<_>>()?;
    timings.describe_secs = split();
    summary.added = report_added.len() as u64;
    summary.removed = report_removed.len() as u64;
    summary.modified = report_modified.len() as u64;
    summary.modified_described = report_modified
        .iter()
        .filter(|m| m.change.is_some())
        .count() as u64;
    summary.renamed = report_renamed.len() as u64;
    summary.renamed_modified = report_rm.len() as u64;
    summary.duplicated = report_dup.len() as u64;
    Ok(DiffReport {
        a: a.to_string(),
        b: b.to_string(),
        summary,
        added: report_added,
        removed: report_removed,
        modified: report_modified,
        renamed: report_renamed,
        renamed_modified: report_rm,
        duplicated: report_dup,
        elapsed_secs: started.elapsed().as_secs_f64(),
        timings,
    })
}

/// Whether release `r` holds content `hash` anywhere.
fn content_in(snap: &Snapshot, r: &Release, hash: &[u8; 32]) -> Result<bool> {
    Ok(!paths_with(snap, r, hash, 1)?.is_empty())
}

/// Up to `limit` paths of `r` holding `hash`, in path order.
fn paths_with(
    snap: &Snapshot,
    r: &Release,
    hash: &[u8; 32],
    limit: usize,
) -> Result<Vec<EntryPath>> {
    let prefix = crate::store::format::content_key(r.id(), hash, b"");
    let range = crate::store::prefix_range(&snap.by_content, &prefix, &prefix)?;
    let mut out = Vec::new();
    for row in range.take(limit) {
        let (k, _) = row?;
        if let Ok((_, _, p)) = crate::store::format::split_content_key(k.value()) {
            out.push(EntryPath::from_raw(p.to_vec()));
        }
    }
    Ok(out)
}

/// A path of A with this content that B still holds with the same content.
fn remaining_copy(
    snap: &Snapshot,
    a: &Release,
    b: &Release,
    y: &Entry,
) -> Result<Option<EntryPath>> {
    for p in paths_with(snap, a, &y.record.hash, 64)? {
        if let Some(e) = snap.entry(b.id(), p.as_bytes())?
            && e.hash == y.record.hash
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

fn read_all(snap: &Snapshot, id: &BlobId, size: u64) -> Result<Option<Vec<u8>>> {
    if size > MAX_DETAIL_BYTES {
        return Ok(None);
    }
    let mut v = Vec::with_capacity(size as usize);
    snap.read_blob(id, &format!("blob {id}"), |d| {
        v.extend_from_slice(d);
        Ok(())
    })?;
    Ok(Some(v))
}

/// The corpus word for a kind of change.
pub fn how(kind: AlterationKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "edited".into())
}

fn byte_change(old: &[u8], new: &[u8], name: &str) -> Change {
    // One edit script serves both the classification and the changed ranges.
    let script = alter::edit_script(old, new);
    let a = alter::classify_with_script(old, new, name, &script);
    let mut ranges = Vec::new();
    let mut at = 0u64;
    for op in &script.ops {
        match op {
            alter::EditOp::Copy { len, .. } => at += len,
            alter::EditOp::Insert(b) => {
                ranges.push((at, b.len() as u64));
                at += b.len() as u64;
            }
        }
    }
    Change {
        kind: a.kind,
        how: how(a.kind),
        summary: a.summary,
        similarity: a.similarity,
        new_ranges: ranges,
        members: Vec::new(),
    }
}

fn describe_change(
    snap: &Snapshot,
    ra: &Release,
    rb: &Release,
    x: &Entry,
    y: &Entry,
) -> Result<Change> {
    let name = String::from_utf8_lossy(y.path.file_name()).into_owned();
    let members = member_changes(snap, ra, rb, &y.path)?;
    let (old, new) = (BlobId(x.record.hash), BlobId(y.record.hash));
    let mut change = match (
        x.record
            .blob()
            .and_then(|_| read_all(snap, &old, x.record.size).transpose())
            .transpose()?,
        y.record
            .blob()
            .and_then(|_| read_all(snap, &new, y.record.size).transpose())
            .transpose()?,
    ) {
        (Some(o), Some(n)) => byte_change(&o, &n, &name),
        _ => Change {
            kind: AlterationKind::Edited,
            how: "edited".into(),
            summary: format!("{} → {} bytes", x.record.size, y.record.size),
            similarity: 0.0,
            new_ranges: Vec::new(),
            members: Vec::new(),
        },
    };
    if !members.is_empty() {
        let replaced = members.iter().filter(|m| m.change == "modified").count();
        if replaced > 0 && members.iter().all(|m| m.change == "modified") {
            change.how = "zip_member_replaced".into();
            change.summary = format!(
                "archive member{} {} replaced",
                if replaced == 1 { "" } else { "s" },
                members
                    .iter()
                    .map(|m| m.member.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        } else {
            change.how = "archive_members_changed".into();
            change.summary = format!("{} archive members changed", members.len());
        }
        change.members = members;
    }
    Ok(change)
}

/// Members of the archive at `path` in A and B, compared.
fn member_changes(
    snap: &Snapshot,
    ra: &Release,
    rb: &Release,
    path: &EntryPath,
) -> Result<Vec<MemberChange>> {
    let mut prefix = path.as_bytes().to_vec();
    prefix.extend_from_slice(crate::paths::ARCHIVE_SEPARATOR);
    let collect = |r: &Release| -> Result<BTreeMap<EntryPath, EntryRecord>> {
        let mut m = BTreeMap::new();
        for e in snap.entries_with_prefix(r.id(), &prefix)? {
            let e = e?;
            if e.record.kind == EntryKind::Member {
                m.insert(
                    EntryPath::from_raw(e.path.as_bytes()[prefix.len()..].to_vec()),
                    e.record,
                );
            }
        }
        Ok(m)
    };
    let (a, b) = (collect(ra)?, collect(rb)?);
    let mut out = Vec::new();
    for (p, x) in &a {
        match b.get(p) {
            None => out.push(MemberChange {
                member: p.clone(),
                change: "removed",
                summary: None,
            }),
            Some(y) if y.hash != x.hash => {
                let name = String::from_utf8_lossy(p.file_name()).into_owned();
                let summary = match (
                    read_all(snap, &BlobId(x.hash), x.size)?,
                    read_all(snap, &BlobId(y.hash), y.size)?,
                ) {
                    (Some(o), Some(n)) => Some(alter::classify(&o, &n, &name).summary),
                    _ => None,
                };
                out.push(MemberChange {
                    member: p.clone(),
                    change: "modified",
                    summary,
                });
            }
            _ => {}
        }
    }
    for p in b.keys() {
        if !a.contains_key(p) {
            out.push(MemberChange {
                member: p.clone(),
                change: "added",
                summary: None,
            });
        }
    }
    Ok(out)
}

/// Whether a candidate pair's index evidence justifies reading both files. Under
/// the same name, any shared key does (the bar is half the bytes). Under another
/// name the bar is 0.9: two files that similar have a shingle Jaccard J of about 0.8
/// or more, a band matches with probability J², so they share at least two of the
/// six bands with probability 0.975 at J = 0.8 and more above it. A pair sharing one
/// band is most often two pages of one template: at a million files those were 99%
/// of the pairs read and none was a renamed file. Shared chunks or, for files too
/// large to sketch, the same first 256 bytes also count.
fn worth_reading(c: &Candidate, same_name: bool, old_size: u64, new_size: u64) -> bool {
    let sketched =
        |n: u64| (crate::sketch::SKETCH_MIN_BYTES..=crate::sketch::SKETCH_MAX_BYTES).contains(&n);
    same_name
        || c.shared_bytes > 0
        || c.bands >= 2
        || (c.same_prefix && (c.bands >= 1 || !sketched(old_size) || !sketched(new_size)))
}

/// The removed files similar enough to added file `y` to call it renamed and
/// modified, most similar first. `found` are the removed blobs sharing index keys
/// with `y`, with the evidence.
fn similar_removed(
    snap: &Snapshot,
    y: &Entry,
    found: &HashMap<BlobPrefix, Candidate>,
    removed: &HashMap<BlobPrefix, usize>,
    removed_entries: &[Entry],
) -> Result<Vec<(usize, Change)>> {
    if y.record.kind != EntryKind::File {
        return Ok(Vec::new());
    }
    let same_name = |i: usize| removed_entries[i].path.file_name() == y.path.file_name();
    let bar_for = |i: usize| match same_name(i) {
        true => RENAME_SAME_NAME,
        false => RENAME_OTHER_NAME,
    };
    // Similarity is the share of the larger file copied from the other, so it is at
    // most the ratio of their sizes: pairs too unequal in size are never read.
    let could_reach = |i: usize| {
        let (a, b) = (removed_entries[i].record.size, y.record.size);
        a.min(b) as f64 >= bar_for(i) * a.max(b) as f64
    };
    let mut found: Vec<(usize, &Candidate)> = found
        .iter()
        .filter_map(|(p, c)| removed.get(p).map(|&i| (i, c)))
        .filter(|(i, c)| {
            could_reach(*i)
                && worth_reading(
                    c,
                    same_name(*i),
                    removed_entries[*i].record.size,
                    y.record.size,
                )
        })
        .collect();
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let Some(new) = read_all(snap, &BlobId(y.record.hash), y.record.size)? else {
        return Ok(Vec::new());
    };
    // Strongest evidence first, as identify ranks; template pages share bands with
    // many siblings, so only the best few are diffed.
    found.sort_by(|(ia, a), (ib, b)| {
        let key = |c: &&Candidate| (c.shared_bytes, c.bands + 3 * c.same_prefix as u32);
        key(b).cmp(&key(a)).then(ia.cmp(ib))
    });
    let name = String::from_utf8_lossy(y.path.file_name()).into_owned();
    let mut out = Vec::new();
    for (i, _) in found.into_iter().take(MAX_RENAME_CANDIDATES) {
        let old_entry = &removed_entries[i];
        let Some(old) = read_all(snap, &BlobId(old_entry.record.hash), old_entry.record.size)?
        else {
            continue;
        };
        // Chunks in common bound what a diff can copy, give or take the bytes
        // around each edit, so a pair well short of the bar is not diffed.
        if alter::diff::estimated_similarity(&old, &new) < bar_for(i) - ESTIMATE_MARGIN {
            continue;
        }
        let c = byte_change(&old, &new, &name);
        if c.similarity >= bar_for(i) {
            out.push((i, c));
        }
    }
    out.sort_by(|(ia, a), (ib, b)| b.similarity.total_cmp(&a.similarity).then(ia.cmp(ib)));
    Ok(out)
}
