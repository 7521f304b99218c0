//! Similarity sketches: how custody finds the original of an altered small file
//! without scanning every blob.
//!
//! A file's features are its overlapping 8-byte shingles, so even a file of a few
//! hundred bytes has hundreds of them and an edit disturbs only the shingles it
//! touches. A one-permutation MinHash (each feature hashed once, into one of
//! `SKETCH_HASHES` bins, the minimum kept per bin; empty bins borrow from the next)
//! estimates the Jaccard similarity of two files' shingle sets. LSH groups the bins
//! into `SKETCH_BANDS` bands of `SKETCH_ROWS`; two files land in a common band with
//! probability 1 − (1 − s^rows)^bands (s = similarity): ~0.98 at s = 0.7, ~0.82 at
//! 0.5, ~0.43 at 0.3. Each band is one index row, so a lookup is `SKETCH_BANDS`
//! range reads, and every candidate is then compared byte for byte.
//!
//! Truncated copies keep a fraction of the original's shingles, so a separate
//! prefix fingerprint (the first `PREFIX_LEN` bytes) finds those.

/// Shingle width in bytes.
const SHINGLE: usize = 8;

/// Number of MinHash bins (`SKETCH_HASHES`), bands (`SKETCH_BANDS`) and bins per band
/// (`SKETCH_ROWS`).
pub const SKETCH_HASHES: usize = 12;
pub const SKETCH_BANDS: usize = 6;
pub const SKETCH_ROWS: usize = SKETCH_HASHES / SKETCH_BANDS;

/// Files smaller than this have too few shingles for a meaningful sketch.
pub const SKETCH_MIN_BYTES: u64 = 24;
/// Files larger than this are found through shared chunks instead. Twice the
/// largest chunk, so that a file cut into one chunk and an edited copy cut into two
/// (or the other way round) are both sketched: with no chunk in common, the sketch
/// is what links them.
pub const SKETCH_MAX_BYTES: u64 = 256 * 1024;
/// Bytes hashed for the prefix fingerprint (`PREFIX_LEN`).
pub const PREFIX_LEN: usize = 256;

/// Bytes of the prefix fingerprint: it only nominates candidates, which are then
/// compared byte for byte, so 64 bits are plenty.
pub const PREFIX_KEY_LEN: usize = 8;

/// A 64-bit mixer (SplitMix64 finaliser).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^ (x >> 31)
}

/// Hashes of the overlapping `SHINGLE`-byte windows of `data` (one feature for
/// shorter data), computed as they are consumed: ingest sketches every small file,
/// and collecting them first cost a tenth of its CPU time.
fn feature_iter(data: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let short = (data.len() < SHINGLE).then(|| {
        mix(data
            .iter()
            .fold(data.len() as u64, |a, &b| (a << 8) | b as u64))
    });
    short.into_iter().chain(data.windows(SHINGLE).map(|w| {
        let mut b = [0u8; SHINGLE];
        b.copy_from_slice(w);
        mix(u64::from_le_bytes(b) ^ 0x9e3779b97f4a7c15)
    }))
}

/// Hashes of the overlapping `SHINGLE`-byte windows of `data`.
#[cfg(test)]
fn features(data: &[u8]) -> Vec<u64> {
    feature_iter(data).collect()
}

/// The one-permutation MinHash of a feature set: the top bits choose a bin, the
/// rest compete for the bin's minimum.
pub fn minhash(features: impl IntoIterator<Item = u64>) -> [u64; SKETCH_HASHES] {
    let mut mins = [u64::MAX; SKETCH_HASHES];
    for f in features {
        let bin = ((f >> 32) % SKETCH_HASHES as u64) as usize;
        let v = f & 0xffff_ffff;
        if v < mins[bin] {
            mins[bin] = v;
        }
    }
    // Densify: an empty bin takes the next non-empty bin's value (rotating), mixed
    // with the distance so that two empty bins do not look alike by accident.
    let Some(first_filled) = (0..SKETCH_HASHES).find(|&i| mins[i] != u64::MAX) else {
        return mins;
    };
    let mut out = mins;
    for (i, m) in out.iter_mut().enumerate() {
        if *m == u64::MAX {
            let (dist, src) = (1..=SKETCH_HASHES)
                .map(|d| (d, (i + d) % SKETCH_HASHES))
                .find(|&(_, j)| mins[j] != u64::MAX)
                .unwrap_or((0, first_filled));
            *m = mix(mins[src] ^ ((dist as u64) << 40));
        }
    }
    out
}

/// The band keys of a sketch: one 8-byte value per band.
pub fn bands(sketch: &[u64; SKETCH_HASHES]) -> [u64; SKETCH_BANDS] {
    std::array::from_fn(|b| {
        let rows = &sketch[b * SKETCH_ROWS..(b + 1) * SKETCH_ROWS];
        rows.iter()
            .fold(0x6a09e667f3bcc909u64 ^ b as u64, |acc, &r| mix(acc ^ r))
    })
}

/// Band keys for `data`, or `None` when it is outside the sketched size range.
pub fn band_keys(data: &[u8]) -> Option<[u64; SKETCH_BANDS]> {
    let n = data.len() as u64;
    if !(SKETCH_MIN_BYTES..=SKETCH_MAX_BYTES).contains(&n) {
        return None;
    }
    Some(bands(&minhash(feature_iter(data))))
}

/// Fingerprint of the first `PREFIX_LEN` bytes, for finding what a truncated copy
/// was cut from; `None` for shorter data.
pub fn prefix_key(data: &[u8]) -> Option<[u8; PREFIX_KEY_LEN]> {
    let head = data.get(..PREFIX_LEN)?;
    let h = blake3::Hasher::new_derive_key("custody prefix fingerprint v1")
        .update(head)
        .finalize();
    let mut out = [0u8; PREFIX_KEY_LEN];
    out.copy_from_slice(&h.as_bytes()[..PREFIX_KEY_LEN]);
    Some(out)
}

/// Estimated Jaccard similarity of two sketches.
pub fn estimate(a: &[u64; SKETCH_HASHES], b: &[u64; SKETCH_HASHES]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / SKETCH_HASHES as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize, seed: u8) -> Vec<u8> {
        let words = [
            "officer", "report", "county", "2020", "case", "alert", "name", "id",
        ];
        let r = crate::ops::demo::pseudo_random(&format!("sketch {seed}"), n);
        let mut out = Vec::new();
        for (i, b) in r.iter().enumerate() {
            out.extend_from_slice(words[*b as usize % words.len()].as_bytes());
            out.push(if i % 9 == 8 { b'\n' } else { b',' });
        }
        out
    }

    #[test]
    fn small_edits_keep_bands_unrelated_files_do_not() {
        let a = text(4000, 1);
        let mut edited = a.clone();
        edited.splice(5000..5010, b"REDACTED".iter().copied());
        edited.extend_from_slice(b"\nextra,row,here\n");
        let (ka, ke) = (band_keys(&a).unwrap(), band_keys(&edited).unwrap());
        assert!(
            ka.iter().zip(&ke).any(|(x, y)| x == y),
            "an edited copy shares no band"
        );
        let sa = minhash(features(&a));
        assert!(estimate(&sa, &minhash(features(&edited))) > 0.7);
        // Text from another source (here: other words) shares few 8-byte shingles.
        let b: Vec<u8> = crate::ops::demo::pseudo_random("other", 30000)
            .iter()
            .map(|x| b'a' + x % 26)
            .collect();
        assert!(estimate(&sa, &minhash(features(&b))) < 0.3);
        assert!(!band_keys(&b).unwrap().iter().zip(&ka).any(|(x, y)| x == y));
    }

    /// Band keys are stored in `sketch_bands`: the same bytes must give the same keys
    /// in every build (values from the build before features were streamed).
    #[test]
    fn band_keys_are_pinned() {
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 % 7 + b'a')
            .collect();
        assert_eq!(
            band_keys(&data),
            Some([
                17656590411462058053,
                12231318943399596461,
                5553245215815170824,
                11709240081100108557,
                4607785624275974451,
                16767212445356390786
            ])
        );
        assert_eq!(
            band_keys(&data[..30]),
            Some([
                4622121853167768047,
                14306884298395118272,
                8269563159198474060,
                7824037105524617411,
                10447309424279803504,
                10405805662771497966
            ])
        );
    }

    #[test]
    fn prefix_keys_match_for_truncations() {
        let a = text(2000, 3);
        assert_eq!(prefix_key(&a), prefix_key(&a[..PREFIX_LEN + 10]));
        assert_eq!(prefix_key(&a[..100]), None);
        assert_ne!(prefix_key(&a), prefix_key(&text(2000, 4)));
    }

    #[test]
    fn features_are_deterministic_and_cover_all_bytes() {
        assert_eq!(features(b"").len(), 1);
        let a = text(100, 5);
        assert_eq!(features(&a), features(&a));
        assert_eq!(features(&a).len(), a.len() - SHINGLE + 1);
    }
}
