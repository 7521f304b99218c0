//! A short edit script between two byte strings, in bounded work.
//!
//! 1. The common prefix and suffix become copies (a memcmp-speed scan), so appends,
//!    truncations and single edits cost nothing more.
//! 2. A differing middle whose sides are both at most [`BYTE_DIFF_MAX`] bytes is
//!    diffed byte by byte (Myers, from `similar`), unless the [`MIN_COPY`]-byte
//!    windows the sides share could cover less than 1/16 of the claim side (an
//!    overwritten range): then that side is inserted whole, for a loss of at most
//!    that 1/16, since Myers is slowest on exactly such unrelated bytes.
//! 3. A larger middle is cut into content-defined chunks (a gear rolling hash, so cut
//!    points depend only on the 64 bytes before them and resynchronise right after an
//!    edit) whose average size grows with the input so that each side has at most
//!    `2 * TARGET_TOKENS` chunks. The chunk sequences are diffed with `similar`'s
//!    Myers, whose heuristics cap the search per split at about `sqrt(N + M)` steps.
//!    Equal chunk runs become copies; each replaced run is trimmed of its common
//!    prefix and suffix and what remains goes through steps 2–3 again, with smaller
//!    chunks, if it is at most a quarter of the range it came from and at most
//!    [`MAX_DEPTH`] levels deep; otherwise it is inserted whole. Each level reads
//!    each byte at most once, so the work is at most `MAX_DEPTH + 1` linear passes
//!    plus the bounded Myers searches.
//! 4. Byte-level diffs examine at most [`BYTE_DIFF_BUDGET`] bytes in all; past that,
//!    and past a wall-clock deadline ([`DEADLINE`], the last guard, which `similar`
//!    honours too), what is left of a differing range is inserted whole.
//! 5. Matches shorter than [`MIN_COPY`] bytes inside a byte-level diff, and copies
//!    that short between two inserts, are folded into the inserts, so coincidental
//!    one-letter matches do not fragment the script.
//!
//! The result is always correct (`edit_script(a, b).apply(a) == b`); the bounds only
//! decide how short it is.

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag, capture_diff_slices_deadline};

use super::script::{EditOp, EditScript, OpBuilder};

/// Chunk count aimed for on each side of a large middle.
pub const TARGET_TOKENS: usize = 1 << 16;
/// Smallest average chunk size.
pub const MIN_AVG_CHUNK: usize = 64;
/// Largest side of a byte-level diff.
pub const BYTE_DIFF_MAX: usize = 2048;
/// Total bytes (both sides) that byte-level diffs may examine in one call.
pub const BYTE_DIFF_BUDGET: usize = 4 << 20;
/// Copies shorter than this between two inserts are folded into them.
pub const MIN_COPY: u64 = 8;
/// Levels of chunk-level diffing below the first.
pub const MAX_DEPTH: u32 = 2;
/// Wall-clock backstop for the whole computation.
pub const DEADLINE: Duration = Duration::from_millis(500);

/// A short, correct edit script from `original` to `claim` (see the module docs for
/// how the work is bounded). Adjacent ops are merged; the script is normalized.
pub fn edit_script(original: &[u8], claim: &[u8]) -> EditScript {
    let mut d = Differ {
        a: original,
        b: claim,
        out: OpBuilder::default(),
        budget: BYTE_DIFF_BUDGET,
        deadline: Instant::now().checked_add(DEADLINE),
    };
    let p = common_prefix(original, claim);
    let s = common_suffix(&original[p..], &claim[p..]);
    d.copy(0..p);
    d.middle(p..original.len() - s, p..claim.len() - s, 0);
    d.copy(original.len() - s..original.len());
    absorb_short_copies(d.out.finish(), original)
}

struct Differ<'a> {
    a: &'a [u8],
    b: &'a [u8],
    out: OpBuilder,
    budget: usize,
    deadline: Option<Instant>,
}

impl Differ<'_> {
    fn copy(&mut self, r: Range<usize>) {
        self.out.copy(r.start as u64, r.len() as u64);
    }

    fn insert(&mut self, r: Range<usize>) {
        self.out.insert(&self.b[r]);
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() > d)
    }

    /// Diffs two ranges that have no common prefix or suffix worth trimming.
    fn middle(&mut self, ra: Range<usize>, rb: Range<usize>, depth: u32) {
        if ra.is_empty() || rb.is_empty() {
            self.insert(rb);
            return;
        }
        if ra.len() <= BYTE_DIFF_MAX && rb.len() <= BYTE_DIFF_MAX {
            if self.budget >= ra.len() + rb.len() && !self.past_deadline() {
                self.bytes(ra, rb);
            } else {
                self.insert(rb);
            }
            return;
        }
        if depth > MAX_DEPTH || self.past_deadline() {
            self.insert(rb);
            return;
        }
        let parent = ra.len().max(rb.len());
        let avg = chunk_avg(ra.len().max(rb.len()));
        let ta = tokens(self.a, ra.clone(), avg);
        let tb = tokens(self.b, rb.clone(), avg);
        let ops = capture_diff_slices_deadline(Algorithm::Myers, &ta, &tb, self.deadline);
        for op in ops {
            let (tag, oi, ni) = op.as_tag_tuple();
            let obytes = span(&ta, oi, ra.start);
            let nbytes = span(&tb, ni, rb.start);
            match tag {
                DiffTag::Equal => self.copy(obytes),
                DiffTag::Delete => {}
                DiffTag::Insert => self.insert(nbytes),
                DiffTag::Replace if obytes.len().max(nbytes.len()) <= parent / 4 => {
                    self.refine(obytes, nbytes, depth + 1)
                }
                DiffTag::Replace => self.trimmed_insert(obytes, nbytes),
            }
        }
    }

    /// A replaced range not worth diffing further: copies its common prefix and
    /// suffix and inserts the rest.
    fn trimmed_insert(&mut self, ra: Range<usize>, rb: Range<usize>) {
        let p = common_prefix(&self.a[ra.clone()], &self.b[rb.clone()]);
        let s = common_suffix(&self.a[ra.start + p..ra.end], &self.b[rb.start + p..rb.end]);
        self.copy(ra.start..ra.start + p);
        self.insert(rb.start + p..rb.end - s);
        self.copy(ra.end - s..ra.end);
    }

    /// A replaced run of chunks: trim its common prefix and suffix, diff the rest.
    fn refine(&mut self, ra: Range<usize>, rb: Range<usize>, depth: u32) {
        let p = common_prefix(&self.a[ra.clone()], &self.b[rb.clone()]);
        let s = common_suffix(&self.a[ra.start + p..ra.end], &self.b[rb.start + p..rb.end]);
        self.copy(ra.start..ra.start + p);
        self.middle(ra.start + p..ra.end - s, rb.start + p..rb.end - s, depth);
        self.copy(ra.end - s..ra.end);
    }

    /// Byte-level Myers; matches shorter than [`MIN_COPY`] are inserted instead.
    fn bytes(&mut self, ra: Range<usize>, rb: Range<usize>) {
        self.budget = self.budget.saturating_sub(ra.len() + rb.len());
        // Myers costs (N + M) x D: worst when the sides share little, as in an
        // overwritten or re-encoded range. Only runs of MIN_COPY bytes that occur on
        // both sides can become copies, so when they could cover only a sliver of the
        // claim side, inserting it whole loses at most that sliver.
        if shared_window_cover(&self.a[ra.clone()], &self.b[rb.clone()]) * 16 < rb.len() {
            self.insert(rb);
            return;
        }
        let ops = capture_diff_slices_deadline(
            Algorithm::Myers,
            &self.a[ra.clone()],
            &self.b[rb.clone()],
            self.deadline,
        );
        // Start of the claim bytes not yet emitted.
        let mut pending = rb.start;
        for op in ops {
            let (tag, oi, ni) = op.as_tag_tuple();
            if tag == DiffTag::Equal && oi.len() as u64 >= MIN_COPY {
                self.insert(pending..rb.start + ni.start);
                self.copy(ra.start + oi.start..ra.start + oi.end);
                pending = rb.start + ni.end;
            }
        }
        self.insert(pending..rb.end);
    }
}

/// A fast estimate of [`similarity_of`](super::similarity_of) for the script
/// [`edit_script`] would find: the share of the larger side made of content-defined
/// chunks that also occur on the other side. One linear pass per side, so callers
/// can rule out unrelated pairs (two pages of one template share bands of their
/// sketch but few chunks) before paying for a diff.
pub fn estimated_similarity(original: &[u8], claim: &[u8]) -> f64 {
    let max = original.len().max(claim.len());
    if max == 0 {
        return 1.0;
    }
    let p = common_prefix(original, claim);
    let s = common_suffix(&original[p..], &claim[p..]);
    let (a, b) = (&original[p..original.len() - s], &claim[p..claim.len() - s]);
    let avg = MIN_AVG_CHUNK;
    let mut seen: Vec<u64> = chunks(a, avg).into_iter().map(|(_, h)| h).collect();
    seen.sort_unstable();
    let shared: usize = chunks(b, avg)
        .into_iter()
        .filter(|(_, h)| seen.binary_search(h).is_ok())
        .map(|(r, _)| r.len())
        .sum();
    ((p + s + shared) as f64 / max as f64).min(1.0)
}

/// How many bytes of `b` lie in some [`MIN_COPY`]-byte window that also occurs in `a`:
/// an upper bound on what a byte-level diff of the two can copy.
pub(super) fn shared_window_cover(a: &[u8], b: &[u8]) -> usize {
    const W: usize = MIN_COPY as usize;
    if a.len() < W || b.len() < W {
        return 0;
    }
    let window = |d: &[u8], i: usize| {
        u64::from_le_bytes(d[i..i + W].try_into().expect("MIN_COPY is 8 bytes"))
    };
    let mut seen: Vec<u64> = (0..=a.len() - W).map(|i| window(a, i)).collect();
    seen.sort_unstable();
    let (mut covered, mut covered_to) = (0, 0);
    for i in 0..=b.len() - W {
        if seen.binary_search(&window(b, i)).is_ok() {
            let from = i.max(covered_to);
            covered += i + W - from;
            covered_to = i + W;
        }
    }
    covered
}

/// A chunk: where it is and a hash of its bytes, so that the diff hashes 8 bytes per
/// chunk instead of the chunk. Equality still compares the bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    hash: u64,
    start: usize,
    bytes: &'a [u8],
}

impl<'a> Token<'a> {
    /// `data[r]` as a token.
    pub(crate) fn new(data: &'a [u8], r: Range<usize>) -> Self {
        let bytes = &data[r.clone()];
        Token {
            hash: chunk_hash(bytes),
            start: r.start,
            bytes,
        }
    }
}

impl PartialEq for Token<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.bytes == other.bytes
    }
}

impl Eq for Token<'_> {}

impl std::hash::Hash for Token<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The chunks of `data[r]` as tokens.
fn tokens(data: &[u8], r: Range<usize>, avg: usize) -> Vec<Token<'_>> {
    let base = r.start;
    chunks(&data[r], avg)
        .into_iter()
        .map(|(c, h)| Token {
            hash: h,
            start: base + c.start,
            bytes: &data[base + c.start..base + c.end],
        })
        .collect()
}

/// Byte range covered by the tokens `idx`; empty at `base` when `idx` is empty.
fn span(tokens: &[Token], idx: Range<usize>, base: usize) -> Range<usize> {
    if idx.is_empty() {
        return base..base;
    }
    let last = &tokens[idx.end - 1];
    tokens[idx.start].start..last.start + last.bytes.len()
}

/// Folds short copies that sit between two inserts into them.
fn absorb_short_copies(s: EditScript, original: &[u8]) -> EditScript {
    let mut b = OpBuilder::default();
    for (i, op) in s.ops.iter().enumerate() {
        match op {
            EditOp::Copy { offset, len }
                if *len < MIN_COPY
                    && b.last_is_insert()
                    && matches!(s.ops.get(i + 1), Some(EditOp::Insert(_))) =>
            {
                let start = *offset as usize;
                b.insert(&original[start..start + *len as usize]);
            }
            EditOp::Copy { offset, len } => b.copy(*offset, *len),
            EditOp::Insert(d) => b.insert(d),
        }
    }
    b.finish()
}

/// Length of the common prefix, compared a block at a time.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Length of the common suffix, compared a block at a time.
pub(crate) fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[la - i - BLOCK..la - i] == b[lb - i - BLOCK..lb - i] {
        i += BLOCK;
    }
    while i < n && a[la - i - 1] == b[lb - i - 1] {
        i += 1;
    }
    i
}

/// Average chunk size for a side of `len` bytes: a power of two, at least
/// [`MIN_AVG_CHUNK`], with `len / avg <= TARGET_TOKENS`.
fn chunk_avg(len: usize) -> usize {
    len.div_ceil(TARGET_TOKENS)
        .next_power_of_two()
        .max(MIN_AVG_CHUNK)
}

/// Content-defined chunks of `data`, each with a hash of its bytes: cut after a byte
/// where the top `log2(avg)` bits of the gear hash are zero, no sooner than
/// `avg / 2` and no later than `avg * 4` bytes after the previous cut. So there are
/// at most `2 * len / avg + 1` chunks.
///
/// The gear hash after a byte depends only on the 64 bytes up to it, so hashing
/// starts 64 bytes before the first place a cut is allowed and the cut points are
/// the same as if every byte were hashed.
fn chunks(data: &[u8], avg: usize) -> Vec<(Range<usize>, u64)> {
    let (min, max) = (avg / 2, avg * 4);
    let shift = 64 - avg.trailing_zeros();
    let mut out = Vec::with_capacity(data.len() / avg + 2);
    let mut start = 0;
    while start < data.len() {
        let end = (start + max).min(data.len());
        let mut cut = end;
        let mut i = (start + min).saturating_sub(64);
        let mut h: u64 = 0;
        while i < end {
            h = (h << 1).wrapping_add(GEAR[data[i] as usize]);
            i += 1;
            if i >= start + min && h >> shift == 0 {
                cut = i;
                break;
            }
        }
        out.push((start..cut, chunk_hash(&data[start..cut])));
        start = cut;
    }
    out
}

/// A fast 64-bit hash of a chunk (8 bytes at a time, multiply-xorshift mixed).
fn chunk_hash(d: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (d.len() as u64).wrapping_mul(K);
    let mut words = d.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ b as u64).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 32)
}

/// Random 64-bit values per byte (splitmix64), fixed so that chunking is reproducible.
static GEAR: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut x: u64 = 0x6375_7374_6f64_7921; // "custody!"
    let mut i = 0;
    while i < 256 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        t[i] = z ^ (z >> 31);
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deterministic pseudo-random bytes.
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn csv(rows: usize) -> Vec<u8> {
        let mut s = String::from("id,name,agency,amount\n");
        for i in 0..rows {
            s.push_str(&format!(
                "{i},person {},agency {},{}.{:02}\n",
                i * 7919 % 10007,
                i % 13,
                i * 31 % 9000,
                i % 100
            ));
        }
        s.into_bytes()
    }

    fn check(a: &[u8], b: &[u8]) -> EditScript {
        let s = edit_script(a, b);
        assert_eq!(s.apply(a).unwrap(), b);
        assert_eq!(s, s.normalized());
        s
    }

    #[test]
    fn identical_empty_and_disjoint() {
        assert_eq!(check(b"", b"").ops, vec![]);
        assert_eq!(
            check(b"abc", b"abc").ops,
            vec![EditOp::Copy { offset: 0, len: 3 }]
        );
        assert_eq!(
            check(b"", b"xyz").ops,
            vec![EditOp::Insert(b"xyz".to_vec())]
        );
        assert_eq!(check(b"xyz", b"").ops, vec![]);
        let a = noise(100_000, 1);
        let b = noise(120_000, 2);
        let s = check(&a, &b);
        assert_eq!(s.copied_bytes(), 0);
    }

    #[test]
    fn append_and_truncate_are_one_or_two_ops() {
        let a = csv(2000);
        let mut b = a.clone();
        b.extend_from_slice(b"2000,late row,agency 0,1.00\n");
        assert_eq!(check(&a, &b).ops.len(), 2);
        assert_eq!(
            check(&a, &a[..1000]).ops,
            vec![EditOp::Copy {
                offset: 0,
                len: 1000
            }]
        );
    }

    #[test]
    fn scattered_row_edits_give_a_short_script() {
        let a = csv(50_000);
        let text = String::from_utf8(a.clone()).unwrap();
        let b = text
            .replace("17,person 7814,", "17,REDACTED,")
            .replace("24000,person", "24000,\"Smith, John\"")
            .replace("49990,", "49990x,")
            .into_bytes();
        let s = check(&a, &b);
        assert!(s.ops.len() <= 7, "{:?}", s.ops.len());
        assert!(s.inserted_bytes() < 40, "{}", s.inserted_bytes());
    }

    #[test]
    fn inserted_segment_and_overwritten_range() {
        let a = noise(3 << 20, 7);
        let seg = noise(200_000, 8);
        let mut b = a.clone();
        b.splice(1_000_000..1_000_000, seg.iter().copied());
        b[2_500_000..2_500_256].copy_from_slice(&noise(256, 9));
        b.drain(3_000_000..3_000_012);
        let s = check(&a, &b);
        assert!(s.ops.len() <= 7, "{}", s.ops.len());
        assert!(
            s.inserted_bytes() <= 200_000 + 256 + 64,
            "{}",
            s.inserted_bytes()
        );
    }

    #[test]
    fn bit_flips_far_apart() {
        let a = noise(2 << 20, 3);
        let mut b = a.clone();
        for at in [10, 700_000, 1_400_000, (2 << 20) - 10] {
            b[at] ^= 0x10;
        }
        let s = check(&a, &b);
        assert_eq!(s.inserted_bytes(), 4);
        assert_eq!(s.ops.len(), 9);
    }

    #[test]
    fn chunks_are_bounded_and_cover() {
        for len in [0, 1, 63, 64, 1000, 100_000] {
            let d = noise(len, len as u64 + 1);
            let avg = chunk_avg(len);
            let c = chunks(&d, avg);
            assert_eq!(c.iter().map(|r| r.0.len()).sum::<usize>(), len);
            assert!(c.len() <= 2 * len / avg + 1);
            assert!(c.iter().all(|r| r.0.len() <= avg * 4));
            assert!(c.iter().all(|r| r.1 == chunk_hash(&d[r.0.clone()])));
        }
        assert_eq!(chunk_avg(100 << 20), 2048);
    }

    #[test]
    fn cut_points_match_hashing_every_byte() {
        let d = noise(200_000, 42);
        for avg in [64usize, 256, 4096] {
            let (min, max, shift) = (avg / 2, avg * 4, 64 - avg.trailing_zeros());
            let mut want = Vec::new();
            let (mut h, mut start) = (0u64, 0);
            for (i, &b) in d.iter().enumerate() {
                h = (h << 1).wrapping_add(GEAR[b as usize]);
                let len = i + 1 - start;
                if (len >= min && h >> shift == 0) || len >= max {
                    want.push(start..i + 1);
                    start = i + 1;
                }
            }
            if start < d.len() {
                want.push(start..d.len());
            }
            let got: Vec<Range<usize>> = chunks(&d, avg).into_iter().map(|c| c.0).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn dense_small_edits_stay_small() {
        let a = noise(4 << 20, 11);
        let mut b = Vec::new();
        for (k, piece) in a.chunks(1000).enumerate() {
            b.extend_from_slice(piece);
            if k % 3 == 0 {
                b.extend_from_slice(b"xx");
            }
        }
        let s = check(&a, &b);
        let edits = a.len().div_ceil(3000) as u64;
        assert!(
            s.inserted_bytes() <= 2 * edits + 64,
            "{} for {edits} edits",
            s.inserted_bytes()
        );
    }

    #[test]
    fn short_copies_fold_into_inserts() {
        let s = check(
            b"the quick brown fox jumps over the dog",
            b"the quick red cat jumps over the dog",
        );
        assert_eq!(
            s.ops,
            vec![
                EditOp::Copy { offset: 0, len: 10 },
                EditOp::Insert(b"red cat".to_vec()),
                EditOp::Copy {
                    offset: 19,
                    len: 19
                }
            ]
        );
    }

    /// An original and a claim made from it by a few edits.
    fn edited_pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        let alphabet = prop_oneof![
            Just(b"ab".to_vec()),
            Just(b"abcdefgh,\n".to_vec()),
            Just((0..=255).collect::<Vec<u8>>())
        ];
        (
            alphabet,
            0usize..6000,
            any::<u64>(),
            proptest::collection::vec((any::<u8>(), 0usize..6000, 0usize..300, any::<u64>()), 0..6),
        )
            .prop_map(|(alpha, n, seed, edits)| {
                let pick = |v: u8| alpha[v as usize % alpha.len()];
                let a: Vec<u8> = noise(n, seed | 1).into_iter().map(pick).collect();
                let mut b = a.clone();
                for (kind, at, len, s) in edits {
                    let at = at.min(b.len());
                    let new: Vec<u8> = noise(len, s | 1).into_iter().map(pick).collect();
                    match kind % 3 {
                        0 => drop(b.splice(at..at, new)),
                        1 => drop(b.drain(at..(at + len).min(b.len()))),
                        _ => {
                            let end = (at + len).min(b.len());
                            b.splice(at..end, new[..end - at].iter().copied());
                        }
                    }
                }
                (a, b)
            })
    }

    proptest! {
        #[test]
        fn script_rebuilds_claim((a, b) in edited_pair()) {
            let s = edit_script(&a, &b);
            prop_assert_eq!(s.apply(&a).unwrap(), b);
            prop_assert_eq!(s.normalized(), s);
        }

        #[test]
        fn script_rebuilds_arbitrary_claim(
            a in proptest::collection::vec(any::<u8>(), 0..3000),
            b in proptest::collection::vec(any::<u8>(), 0..3000),
        ) {
            let s = edit_script(&a, &b);
            prop_assert_eq!(s.apply(&a).unwrap(), b);
        }
    }
}
