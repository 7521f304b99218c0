//! The similarity index: how an altered copy finds its original without a scan.
//!
//! Three tables, written once per new blob, each keyed so that a lookup is a
//! prefix range read. Keys are fixed-width and values empty, so a row costs its key
//! bytes and nothing else (redb stores no lengths for fixed-width types):
//!
//! - `chunk_refs`: chunk id prefix (8) ‖ blob id prefix (8) — for blobs of two or
//!   more chunks, every chunk they use. A large file that was appended to, edited or
//!   cut still shares most of its chunks with the original.
//! - `prefixes`: prefix fingerprint (8) ‖ blob id prefix (8) — the first 256 bytes
//!   (`sketch::prefix_key`), so a truncated copy finds what it was cut from.
//! - `sketch_bands`: band (1) ‖ band key's low 32 bits (4, LE) ‖ blob id prefix (8)
//!   — the LSH bands of blobs up to 256 KiB (`sketch::band_keys`).
//!
//! Ids and keys are shortened because the index only nominates candidates: a hit is
//! resolved to full blob ids with a range read of `blobs`, and every candidate is
//! compared byte for byte before anything is said about it. A shortened key that
//! collides costs a wasted comparison, never a wrong answer; at 64 bits for ids
//! that is about one in 10^7 for a store of 10^6 blobs, and a 32-bit band key
//! nominates a stray blob about once in 10^4 band lookups at that size.

use std::collections::HashMap;

use redb::{ReadableTable, TableDefinition};

use super::format::BlobRecord;
use super::prefix_range;
use super::snapshot::Snapshot;
use super::writer::Tables;
use crate::error::Result;
use crate::id::{BlobId, ChunkId};
use crate::sketch::SKETCH_BANDS;

/// Bytes of a blob id kept in index keys.
pub const BLOB_PREFIX_LEN: usize = 8;
/// Bytes of a chunk id kept in `chunk_refs` keys.
pub const CHUNK_PREFIX_LEN: usize = 8;
/// Bytes of the prefix fingerprint (`sketch::prefix_key`).
pub const FINGERPRINT_LEN: usize = crate::sketch::PREFIX_KEY_LEN;
/// Bytes of a band key kept in `sketch_bands` keys (the low bits, little-endian).
pub const BAND_KEY_LEN: usize = 4;

/// Bytes before the blob prefix in a key of each index table.
const CHUNK_REFS_HEAD: usize = CHUNK_PREFIX_LEN;
const PREFIXES_HEAD: usize = FINGERPRINT_LEN;
const BAND_HEAD: usize = 1 + BAND_KEY_LEN;

/// Key widths of the three tables.
pub const CHUNK_REFS_KEY: usize = CHUNK_REFS_HEAD + BLOB_PREFIX_LEN;
pub const PREFIXES_KEY: usize = PREFIXES_HEAD + BLOB_PREFIX_LEN;
pub const BAND_ROW_KEY: usize = BAND_HEAD + BLOB_PREFIX_LEN;

pub const CHUNK_REFS: TableDefinition<&[u8; CHUNK_REFS_KEY], ()> =
    TableDefinition::new("chunk_refs");
pub const PREFIXES: TableDefinition<&[u8; PREFIXES_KEY], ()> = TableDefinition::new("prefixes");
pub const SKETCH_BAND_ROWS: TableDefinition<&[u8; BAND_ROW_KEY], ()> =
    TableDefinition::new("sketch_bands");

/// Postings read per index key by [`Snapshot::similar_blobs`]: a key shared by more
/// blobs than this (a template's band) is boilerplate, and reading all of it would
/// cost more than the evidence is worth.
pub const MAX_HITS_PER_KEY: usize = 4096;

/// The first [`BLOB_PREFIX_LEN`] bytes of a blob id, as index keys hold them.
pub type BlobPrefix = [u8; BLOB_PREFIX_LEN];

/// `id`'s [`BlobPrefix`].
pub fn blob_prefix(id: &BlobId) -> BlobPrefix {
    let mut p = [0u8; BLOB_PREFIX_LEN];
    p.copy_from_slice(&id.0[..BLOB_PREFIX_LEN]);
    p
}

/// What a reader computed for a new blob besides its recipe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKeys {
    pub prefix: Option<[u8; FINGERPRINT_LEN]>,
    pub bands: Option<[u64; SKETCH_BANDS]>,
}

/// The `chunk_refs` head of a chunk.
fn chunk_head(c: &ChunkId) -> [u8; CHUNK_REFS_HEAD] {
    let mut h = [0u8; CHUNK_REFS_HEAD];
    h.copy_from_slice(&c.as_bytes()[..CHUNK_REFS_HEAD]);
    h
}

/// The `sketch_bands` head of band `band` with key `key`.
fn band_head(band: usize, key: u64) -> [u8; BAND_HEAD] {
    let mut k = [0u8; BAND_HEAD];
    k[0] = band as u8;
    k[1..].copy_from_slice(&key.to_le_bytes()[..BAND_KEY_LEN]);
    k
}

/// An index key: `head` followed by a blob prefix.
fn index_key<const N: usize>(head: &[u8], blob: &BlobPrefix) -> [u8; N] {
    debug_assert_eq!(head.len() + BLOB_PREFIX_LEN, N);
    let mut k = [0u8; N];
    k[..head.len()].copy_from_slice(head);
    k[head.len()..].copy_from_slice(blob);
    k
}

/// Rows of an index table filed under `head`, as a key range.
fn head_range<const N: usize>(head: &[u8]) -> ([u8; N], [u8; N]) {
    let (mut lo, mut hi) = ([0u8; N], [0xffu8; N]);
    lo[..head.len()].copy_from_slice(head);
    hi[..head.len()].copy_from_slice(head);
    (lo, hi)
}

impl Tables<'_> {
    /// Indexes a blob that was just stored for the first time.
    pub fn put_similar(&mut self, id: &BlobId, rec: &BlobRecord, keys: &IndexKeys) -> Result<()> {
        let blob = blob_prefix(id);
        if rec.chunks.len() > 1 {
            let mut seen = std::collections::HashSet::new();
            for c in &rec.chunks {
                if seen.insert(*c) {
                    self.chunk_refs
                        .insert(&index_key(&chunk_head(c), &blob), ())?;
                }
            }
        }
        if let Some(p) = &keys.prefix {
            self.prefixes.insert(&index_key(p, &blob), ())?;
        }
        if let Some(bands) = &keys.bands {
            for (i, b) in bands.iter().enumerate() {
                self.sketch_bands
                    .insert(&index_key(&band_head(i, *b), &blob), ())?;
            }
        }
        Ok(())
    }
}

/// A candidate original and the evidence that led to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// Bytes of shared chunks (large files).
    pub shared_bytes: u64,
    /// LSH bands in common (small files).
    pub bands: u32,
    /// The claim's first 256 bytes are the candidate's.
    pub same_prefix: bool,
}

impl Candidate {
    /// Adds `other`'s evidence for the same candidate to this.
    fn add(&mut self, other: &Candidate) {
        self.shared_bytes += other.shared_bytes;
        self.bands += other.bands;
        self.same_prefix |= other.same_prefix;
    }
}

impl Snapshot {
    /// The blobs whose ids start with `p` (one, but for a collision of 64 bits).
    pub fn resolve_prefix(&self, p: &BlobPrefix) -> Result<Vec<BlobId>> {
        let range = prefix_range(&self.blobs, p, p)?;
        let mut out = Vec::new();
        for row in range {
            let (k, _) = row?;
            if let Some(id) = BlobId::from_slice(k.value()) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Blob-id prefixes filed under `head` in an index table. Resolving a prefix to
    /// its blob costs a B-tree seek, and a key boilerplate shares (a page template's
    /// sketch band) is filed under thousands of blobs, so callers resolve only the
    /// candidates they keep.
    fn index_hits<const N: usize>(
        &self,
        table: &redb::ReadOnlyTable<&'static [u8; N], ()>,
        head: &[u8],
        limit: usize,
    ) -> Result<Vec<BlobPrefix>> {
        let (lo, hi) = head_range::<N>(head);
        let mut out = Vec::new();
        for row in table.range::<&[u8; N]>(&lo..=&hi)?.take(limit) {
            let (k, _) = row?;
            if let Ok(p) = BlobPrefix::try_from(&k.value()[head.len()..]) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Blobs that may be what a claim was made from, with their evidence. `chunks`
    /// are the claim's (id, length) in order; `keys` its index keys.
    pub fn similar_blobs(
        &self,
        chunks: &[(ChunkId, u32)],
        keys: &IndexKeys,
    ) -> Result<HashMap<BlobId, Candidate>> {
        let mut out: HashMap<BlobId, Candidate> = HashMap::new();
        for (p, c) in self.similar_prefixes(chunks, keys, MAX_HITS_PER_KEY)? {
            for id in self.resolve_prefix(&p)? {
                out.entry(id).or_default().add(&c);
            }
        }
        Ok(out)
    }

    /// [`similar_blobs`](Self::similar_blobs) by blob-id prefix, unresolved: for a
    /// caller that knows which blobs it wants ([`resolve_prefix`](Self::resolve_prefix)
    /// gives the others).
    /// At most `per_key` blobs are taken from each key's postings (in id order).
    pub fn similar_prefixes(
        &self,
        chunks: &[(ChunkId, u32)],
        keys: &IndexKeys,
        per_key: usize,
    ) -> Result<HashMap<BlobPrefix, Candidate>> {
        let mut out: HashMap<BlobPrefix, Candidate> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for (c, len) in chunks {
            if !seen.insert(*c) {
                continue;
            }
            // A chunk that is a whole blob (one-chunk files) is found by its id.
            if self.blobs.get(c.as_bytes().as_slice())?.is_some() {
                out.entry(blob_prefix(&c.as_blob()))
                    .or_default()
                    .shared_bytes += *len as u64;
            }
            for b in self.index_hits(&self.chunk_refs, &chunk_head(c), per_key)? {
                out.entry(b).or_default().shared_bytes += *len as u64;
            }
        }
        if let Some(p) = &keys.prefix {
            for b in self.index_hits(&self.prefixes, p, per_key)? {
                out.entry(b).or_default().same_prefix = true;
            }
        }
        if let Some(bands) = &keys.bands {
            for (i, key) in bands.iter().enumerate() {
                for b in self.index_hits(&self.sketch_bands, &band_head(i, *key), per_key)? {
                    out.entry(b).or_default().bands += 1;
                }
            }
        }
        Ok(out)
    }

    /// The similarity index joined with itself, restricted to two sets of blobs:
    /// for each blob of `claims`, the blobs of `originals` that
    /// [`similar_prefixes`](Self::similar_prefixes) would give as candidates for it,
    /// with the same evidence, taking at most `per_key` postings of each key as
    /// originals. One ordered pass over each index table; no content is read or
    /// sketched, so a claim that shares no key with any original costs nothing.
    /// Keys are the blobs' [`BlobPrefix`]es.
    pub fn similar_pairs(
        &self,
        claims: &[BlobId],
        originals: &[BlobId],
        per_key: usize,
    ) -> Result<HashMap<BlobPrefix, HashMap<BlobPrefix, Candidate>>> {
        let claims: HashMap<BlobPrefix, BlobId> =
            claims.iter().map(|id| (blob_prefix(id), *id)).collect();
        let originals: HashMap<BlobPrefix, BlobId> =
            originals.iter().map(|id| (blob_prefix(id), *id)).collect();
        let sides = JoinSides {
            claims: &claims,
            originals: &originals,
            per_key,
        };
        let ((chunks, prefixes), bands) = rayon::join(
            || {
                rayon::join(
                    || sides.join(&self.chunk_refs, CHUNK_REFS_HEAD, Evidence::Chunk(self)),
                    || sides.join(&self.prefixes, PREFIXES_HEAD, Evidence::Prefix),
                )
            },
            || sides.join(&self.sketch_bands, BAND_HEAD, Evidence::Band),
        );
        let mut out: HashMap<BlobPrefix, HashMap<BlobPrefix, Candidate>> = HashMap::new();
        for part in [chunks?, prefixes?, bands?] {
            for ((c, o), e) in part {
                out.entry(c).or_default().entry(o).or_default().add(&e);
            }
        }
        Ok(out)
    }

    /// Number of rows in the similarity tables, for stats.
    pub fn similar_rows(&self) -> Result<u64> {
        use redb::ReadableTableMetadata;
        Ok(self.chunk_refs.len()? + self.prefixes.len()? + self.sketch_bands.len()?)
    }
}

/// What a shared key of one index table says about a pair.
#[derive(Clone, Copy)]
enum Evidence<'s> {
    /// `chunk_refs`: the chunk's bytes are shared (its length is looked up).
    Chunk(&'s Snapshot),
    Prefix,
    Band,
}

/// The two blob sets of [`Snapshot::similar_pairs`].
struct JoinSides<'a> {
    claims: &'a HashMap<BlobPrefix, BlobId>,
    originals: &'a HashMap<BlobPrefix, BlobId>,
    per_key: usize,
}

type PairEvidence = HashMap<(BlobPrefix, BlobPrefix), Candidate>;

impl JoinSides<'_> {
    /// One pass over `table`, whose keys are a `head_len`-byte index key and a
    /// blob prefix: every key's postings are split into the claims and the
    /// originals among them, and each (claim, original) pair gets the evidence.
    fn join<const N: usize>(
        &self,
        table: &redb::ReadOnlyTable<&'static [u8; N], ()>,
        head_len: usize,
        evidence: Evidence,
    ) -> Result<PairEvidence> {
        let mut out = PairEvidence::new();
        let mut head: Vec<u8> = Vec::new();
        let mut postings = 0usize;
        let (mut claims, mut originals): (Vec<BlobPrefix>, Vec<BlobPrefix>) = (vec![], vec![]);
        for row in table.iter()? {
            let (k, _) = row?;
            let key: &[u8] = k.value();
            let (h, p) = key.split_at(head_len);
            let Ok(p) = BlobPrefix::try_from(p) else {
                continue;
            };
            if h != head.as_slice() {
                self.pair_up(&head, &claims, &originals, evidence, &mut out)?;
                head.clear();
                head.extend_from_slice(h);
                postings = 0;
                claims.clear();
                originals.clear();
                // A blob of one chunk has that chunk's id: it holds the chunk
                // without a `chunk_refs` row (`similar_prefixes` checks `blobs`).
                // Here the chunk is known by its prefix, which is then also the
                // blob's; whether the blob is a chunk is looked up.
                if let Evidence::Chunk(snap) = evidence
                    && let Ok(whole) = BlobPrefix::try_from(h)
                {
                    if let Some(id) = self.claims.get(&whole)
                        && snap.chunks.get(id.as_bytes().as_slice())?.is_some()
                    {
                        claims.push(whole);
                    }
                    if let Some(id) = self.originals.get(&whole)
                        && snap.chunks.get(id.as_bytes().as_slice())?.is_some()
                    {
                        originals.push(whole);
                    }
                }
            }
            // A claim holds the key whatever its place among the postings; an
            // original counts only among the first `per_key`, as a lookup reads.
            if self.claims.contains_key(&p) {
                claims.push(p);
            }
            if postings < self.per_key && self.originals.contains_key(&p) {
                originals.push(p);
            }
            postings += 1;
        }
        self.pair_up(&head, &claims, &originals, evidence, &mut out)?;
        Ok(out)
    }

    fn pair_up(
        &self,
        head: &[u8],
        claims: &[BlobPrefix],
        originals: &[BlobPrefix],
        evidence: Evidence,
        out: &mut PairEvidence,
    ) -> Result<()> {
        if claims.is_empty() || originals.is_empty() {
            return Ok(());
        }
        // The chunk is known by its id's prefix: the first chunk with that prefix
        // is it, but for a collision of 64 bits.
        let shared = match evidence {
            Evidence::Chunk(snap) => match prefix_range(&snap.chunks, head, head)?.next() {
                Some(row) => {
                    super::format::ChunkLoc::decode(row?.1.value()).map_or(0, |l| l.raw_len as u64)
                }
                None => 0,
            },
            _ => 0,
        };
        for c in claims {
            for o in originals {
                if c == o {
                    continue;
                }
                let e = out.entry((*c, *o)).or_default();
                match evidence {
                    Evidence::Chunk(_) => e.shared_bytes += shared,
                    Evidence::Prefix => e.same_prefix = true,
                    Evidence::Band => e.bands += 1,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::chunking::ChunkParams;
    use crate::ops::demo::pseudo_random;
    use crate::ops::ingest::{IngestOptions, ingest};
    use crate::progress::Silent;
    use crate::store::Store;

    fn text(label: &str, n: usize) -> Vec<u8> {
        let words = [
            "report", "officer", "county", "bulletin", "suspect", "vehicle", "date",
        ];
        let r = pseudo_random(label, n);
        let mut out = Vec::new();
        for b in r {
            out.extend_from_slice(words[b as usize % words.len()].as_bytes());
            out.push(if b % 11 == 0 { b'\n' } else { b' ' });
            if out.len() >= n {
                break;
            }
        }
        out
    }

    fn put(dir: &std::path::Path, name: &str, data: &[u8]) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    }

    /// Blob ids of a release's files.
    fn blobs_of(snap: &Snapshot, release: &str) -> HashSet<BlobId> {
        let r = snap.release(release).unwrap();
        snap.entries_with_prefix(r.id(), b"")
            .unwrap()
            .filter_map(|e| e.unwrap().record.blob())
            .collect()
    }

    /// The join gives each claim exactly what a lookup of that claim gives, among the
    /// originals: on small files sharing sketch bands and prefixes (template pages
    /// and edited copies), large files sharing chunks, and a file that is one chunk
    /// of a large one.
    #[test]
    fn the_join_agrees_with_a_lookup_per_claim() {
        let t = tempfile::tempdir().unwrap();
        let (r1, r2) = (t.path().join("r1"), t.path().join("r2"));
        let header = text("template header", 400);
        let page = |i: usize| [header.clone(), text(&format!("page {i}"), 3000)].concat();
        for i in 0..6 {
            put(&r1, &format!("page{i}.html"), &page(i));
        }
        let mut edited = page(0);
        edited[2000] ^= 1;
        put(&r2, "renamed.html", &edited);
        let mut sibling = page(1);
        sibling.extend_from_slice(b"appended line\n");
        put(&r2, "page1.html", &sibling);
        put(&r2, "new.html", &page(9));
        let big = pseudo_random("big", 900 << 10);
        put(&r1, "big.bin", &big);
        let mut grown = big.clone();
        grown.splice(450 << 10..450 << 10, pseudo_random("insert", 5000));
        put(&r2, "big2.bin", &grown);

        let store = Store::init(&t.path().join("s.redb"), ChunkParams::default(), 1).unwrap();
        ingest(&store, &IngestOptions::new(&r1, "r1"), &Silent).unwrap();
        // A file whose content is exactly the big file's first chunk.
        let snap = store.snapshot().unwrap();
        let first = snap
            .blob(&BlobId(*blake3::hash(&big).as_bytes()))
            .unwrap()
            .unwrap()
            .chunks[0];
        assert!(snap.blob(&first.as_blob()).unwrap().is_none());
        put(&r2, "piece.bin", &snap.read_chunk(&first).unwrap().unwrap());
        drop(snap);
        ingest(&store, &IngestOptions::new(&r2, "r2"), &Silent).unwrap();

        let snap = store.snapshot().unwrap();
        let (b1, b2) = (blobs_of(&snap, "r1"), blobs_of(&snap, "r2"));
        let originals: Vec<BlobId> = b1.difference(&b2).copied().collect();
        let claims: Vec<BlobId> = b2.difference(&b1).copied().collect();
        let wanted: HashSet<BlobPrefix> = originals.iter().map(blob_prefix).collect();
        let params = store.meta().chunk;
        for per_key in [256, 2] {
            let joined = snap.similar_pairs(&claims, &originals, per_key).unwrap();
            let mut pairs = 0;
            for c in &claims {
                let mut data = Vec::new();
                snap.read_blob(c, "claim", |d| {
                    data.extend_from_slice(d);
                    Ok(())
                })
                .unwrap();
                let (chunks, keys) = crate::ops::identify::scan_bytes(&data, params);
                let looked_up: HashMap<BlobPrefix, Candidate> = snap
                    .similar_prefixes(&chunks, &keys, per_key)
                    .unwrap()
                    .into_iter()
                    .filter(|(p, _)| wanted.contains(p))
                    .collect();
                let got = joined.get(&blob_prefix(c)).cloned().unwrap_or_default();
                assert_eq!(got, looked_up, "claim {c}, per_key {per_key}");
                pairs += got.len();
            }
            // The tree links every kind of evidence; the comparison is not vacuous.
            let all: Vec<&Candidate> = joined.values().flat_map(|m| m.values()).collect();
            assert!(pairs >= 4, "{joined:?}");
            assert!(all.iter().any(|c| c.bands > 0));
            assert!(all.iter().any(|c| c.same_prefix));
            assert!(all.iter().any(|c| c.shared_bytes > 0));
        }
    }
}
