//! Similarity sketches: how custody finds the original of an altered small file
//! without scanning every blob.
//!
//! A file is cut into content-defined sub-blocks (~64 bytes, a gear hash like
//! FastCDC's, so an edit only disturbs the sub-blocks around it); its feature set is
//! the sub-blocks' hashes. A MinHash of `SKETCH_HASHES` values estimates the Jaccard
//! similarity of two feature sets; LSH groups the values into `SKETCH_BANDS` bands of
//! `SKETCH_ROWS`, and two files land in a common band with probability
//! 1 − (1 − s^rows)^bands (s = similarity): ~0.99 at s = 0.9, ~0.92 at 0.8, ~0.59 at
//! 0.6. Each band is one index row, so a lookup is `SKETCH_BANDS` range reads.
//!
//! Truncated copies keep a fraction of the original's features, so a separate
//! prefix fingerprint (the first `PREFIX_LEN` bytes) finds those.

/// Sub-block cut mask: a cut where the gear hash's low 6 bits are zero (~64 bytes).
const SUB_MASK: u64 = (1 << 6) - 1;
const SUB_MIN: usize = 16;
const SUB_MAX: usize = 512;

/// Number of MinHash values (`SKETCH_HASHES`), bands (`SKETCH_BANDS`) and values per
/// band (`SKETCH_ROWS`).
pub const SKETCH_HASHES: usize = 16;
pub const SKETCH_BANDS: usize = 4;
pub const SKETCH_ROWS: usize = SKETCH_HASHES / SKETCH_BANDS;

/// Files smaller than this have too few sub-blocks for a meaningful sketch.
pub const SKETCH_MIN_BYTES: u64 = 64;
/// Files larger than this are found through shared chunks instead.
pub const SKETCH_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Bytes hashed for the prefix fingerprint (`PREFIX_LEN`).
pub const PREFIX_LEN: usize = 256;

/// A 64-bit mixer (SplitMix64 finaliser): cheap, and good enough to make the 16
/// MinHash permutations independent.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^ (x >> 31)
}

fn gear(b: u8) -> u64 {
    mix(b as u64 ^ 0x9e3779b97f4a7c15)
}

/// Hashes of the content-defined sub-blocks of `data`.
pub fn features(data: &[u8]) -> Vec<u64> {
    let table: [u64; 256] = std::array::from_fn(|i| gear(i as u8));
    let mut out = Vec::with_capacity(data.len() / 48 + 1);
    let mut start = 0;
    let mut h: u64 = 0;
    let mut acc: u64 = 0xcbf29ce484222325;
    for (i, &b) in data.iter().enumerate() {
        h = (h << 1).wrapping_add(table[b as usize]);
        acc = (acc ^ b as u64).wrapping_mul(0x100000001b3);
        let len = i + 1 - start;
        if (len >= SUB_MIN && h & SUB_MASK == 0) || len >= SUB_MAX {
            out.push(mix(acc ^ len as u64));
            start = i + 1;
            acc = 0xcbf29ce484222325;
        }
    }
    if start < data.len() {
        out.push(mix(acc ^ (data.len() - start) as u64));
    }
    out
}

/// The MinHash sketch of a feature set.
pub fn minhash(features: &[u64]) -> [u64; SKETCH_HASHES] {
    let mut mins = [u64::MAX; SKETCH_HASHES];
    for &f in features {
        for (i, m) in mins.iter_mut().enumerate() {
            let v = mix(f ^ (0x5851f42d4c957f2d_u64.wrapping_mul(i as u64 + 1)));
            if v < *m {
                *m = v;
            }
        }
    }
    mins
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
    Some(bands(&minhash(&features(data))))
}

/// Fingerprint of the first `PREFIX_LEN` bytes, for finding what a truncated copy
/// was cut from; `None` for shorter data.
pub fn prefix_key(data: &[u8]) -> Option<[u8; 16]> {
    let head = data.get(..PREFIX_LEN)?;
    let h = blake3::Hasher::new_derive_key("custody prefix fingerprint v1")
        .update(head)
        .finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.as_bytes()[..16]);
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
        let sa = minhash(&features(&a));
        assert!(estimate(&sa, &minhash(&features(&edited))) > 0.7);
        let b = text(4000, 2);
        assert!(estimate(&sa, &minhash(&features(&b))) < 0.3);
        assert!(!band_keys(&b).unwrap().iter().zip(&ka).any(|(x, y)| x == y));
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
        assert_eq!(features(b""), Vec::<u64>::new());
        let a = text(100, 5);
        assert_eq!(features(&a), features(&a));
        assert!(features(&a).len() >= a.len() / SUB_MAX);
    }
}
