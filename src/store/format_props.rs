//! Property tests of the store's record encodings (`format.rs`): every record
//! round-trips, no input makes a decoder panic, and each encoding is canonical: bytes
//! that decode at all are exactly the encoding of what they decode to, so one value
//! has one encoding and a changed byte is either refused or changes the value.

use std::fmt::Debug;

use proptest::prelude::*;

use super::entry_block::*;
use super::format::*;
use super::snapshot::decode_chunk;
use crate::codec::DecodeError;
use crate::id::{BlobId, ChunkId};
use crate::prop_support::{apply_damage, bytes, cases, damage, edit, mutate};

/// Decoding `b` either fails or gives a value whose encoding is `b`.
fn canonical<T: Debug>(
    b: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
    encode: impl Fn(&T) -> Vec<u8>,
) -> Result<(), TestCaseError> {
    if let Ok(v) = decode(b) {
        prop_assert_eq!(
            encode(&v),
            b.to_vec(),
            "{:?} decodes from bytes that are not its encoding",
            v
        );
    }
    Ok(())
}

fn kind() -> impl Strategy<Value = EntryKind> {
    prop_oneof![
        Just(EntryKind::File),
        Just(EntryKind::Dir),
        Just(EntryKind::Symlink),
        Just(EntryKind::Member)
    ]
}

fn chunk_loc() -> impl Strategy<Value = ChunkLoc> {
    (
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        0u8..=1,
    )
        .prop_map(|(segment, offset, stored_len, raw_len, flags)| ChunkLoc {
            segment,
            offset,
            stored_len,
            raw_len,
            flags,
        })
}

fn entry() -> impl Strategy<Value = EntryRecord> {
    (
        kind(),
        any::<u32>(),
        any::<i64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<i64>(),
        bytes(300),
    )
        .prop_map(
            |(kind, mode, mtime_ns, size, hash, inode, ctime_ns, target)| EntryRecord {
                kind,
                mode,
                mtime_ns,
                size,
                hash,
                inode,
                ctime_ns,
                target,
            },
        )
}

/// Entries as a block holds them: ascending paths over a small alphabet, so that
/// neighbours share prefixes of every length, and records with and without a hash
/// and a target.
fn block() -> impl Strategy<Value = Vec<(Vec<u8>, EntryRecord)>> {
    let path = proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'/'), Just(0xff)], 1..12);
    let rec = (
        entry(),
        prop_oneof![Just(DIR_HASH), any::<[u8; 32]>()],
        prop_oneof![Just(Vec::new()), bytes(40)],
    )
        .prop_map(|(r, hash, target)| EntryRecord { hash, target, ..r });
    proptest::collection::btree_map(path, rec, 1..24).prop_map(|m| m.into_iter().collect())
}

/// A blob and its recipe: any chunks, the one-chunk self recipe, or the blob's own id
/// among others.
fn blob() -> impl Strategy<Value = (BlobId, BlobRecord)> {
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        proptest::collection::vec(any::<[u8; 32]>(), 0..12),
        0u8..3,
    )
        .prop_map(|(id, size, mut chunks, shape)| {
            match shape {
                0 => {}
                1 => chunks = vec![id],
                _ => chunks.push(id),
            }
            (
                BlobId(id),
                BlobRecord {
                    size,
                    chunks: chunks.into_iter().map(ChunkId).collect(),
                },
            )
        })
}

fn release_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_+@:][A-Za-z0-9._+@:-]{0,30}"
}

fn counts() -> impl Strategy<Value = ReleaseCounts> {
    any::<[u64; 10]>().prop_map(|c| ReleaseCounts {
        files: c[0],
        dirs: c[1],
        symlinks: c[2],
        logical_bytes: c[3],
        new_chunks: c[4],
        new_raw_bytes: c[5],
        new_stored_bytes: c[6],
        skipped: c[7],
        members: c[8],
        member_bytes: c[9],
    })
}

fn release() -> impl Strategy<Value = ReleaseRecord> {
    (
        any::<u32>(),
        any::<i64>(),
        proptest::option::of(release_name()),
        bytes(100),
        counts(),
        any::<[u8; 32]>(),
        any::<u64>(),
    )
        .prop_map(
            |(id, created_ns, parent, source, counts, root, log_index)| ReleaseRecord {
                id,
                created_ns,
                parent,
                source,
                counts,
                root,
                log_index,
            },
        )
}

fn head() -> impl Strategy<Value = ReleaseHead> {
    (
        release_name(),
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<i64>(),
    )
        .prop_map(
            |(name, root, entries, parent_root, created_ns)| ReleaseHead {
                name,
                root,
                entries,
                parent_root,
                created_ns,
            },
        )
}

fn ingest() -> impl Strategy<Value = IngestRecord> {
    (
        any::<u32>(),
        any::<i64>(),
        proptest::option::of(release_name()),
        bytes(100),
        any::<[u64; 3]>(),
        proptest::collection::vec(any::<u32>(), 0..20),
    )
        .prop_map(
            |(id, started_ns, parent, source, n, stale_ids)| IngestRecord {
                id,
                started_ns,
                parent,
                source,
                new_chunks: n[0],
                new_raw_bytes: n[1],
                new_stored_bytes: n[2],
                stale_ids,
            },
        )
}

fn segment_info() -> impl Strategy<Value = SegmentInfo> {
    // Dead copies are at most the directory's count; half the cases have none.
    (any::<[u32; 3]>(), any::<u32>(), any::<bool>()).prop_map(|(v, d, some)| SegmentInfo {
        data_len: v[0],
        chunk_count: v[1],
        value_len: v[2],
        dead: if some && v[1] > 0 { 1 + d % v[1] } else { 0 },
    })
}

/// A segment's data and a directory pointing anywhere inside it (ranges may overlap;
/// parse_segment checks bounds, not layout).
fn segment() -> impl Strategy<Value = (Vec<u8>, Vec<SegmentDirEntry>)> {
    bytes(300).prop_flat_map(|data| {
        let n = data.len() as u32;
        let dir_entry = (
            any::<[u8; 32]>(),
            0..=n,
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
        )
            .prop_map(move |(id, offset, len, raw_len, flags)| SegmentDirEntry {
                id: ChunkId(id),
                offset,
                stored_len: if n - offset == 0 {
                    0
                } else {
                    len % (n - offset + 1)
                },
                raw_len,
                flags,
            });
        (Just(data), proptest::collection::vec(dir_entry, 0..8))
    })
}

fn enc_entry(r: &EntryRecord) -> Vec<u8> {
    r.encode()
}
fn enc_release(r: &ReleaseRecord) -> Vec<u8> {
    r.encode()
}
fn enc_head(r: &ReleaseHead) -> Vec<u8> {
    r.encode()
}
fn enc_ingest(r: &IngestRecord) -> Vec<u8> {
    r.encode()
}
fn enc_loc(r: &ChunkLoc) -> Vec<u8> {
    r.encode().to_vec()
}
fn enc_info(r: &SegmentInfo) -> Vec<u8> {
    r.encode().to_vec()
}
fn enc_content_value(v: &(EntryKind, u64)) -> Vec<u8> {
    content_value(v.0, v.1).to_vec()
}
fn parse_seg(b: &[u8]) -> Result<(Vec<u8>, Vec<SegmentDirEntry>), DecodeError> {
    parse_segment(b).map(|(d, dir)| (d.to_vec(), dir))
}
fn enc_seg(s: &(Vec<u8>, Vec<SegmentDirEntry>)) -> Vec<u8> {
    finish_segment(&s.0, &s.1)
}

/// Every decoder of this module, on the same bytes.
fn all_canonical(b: &[u8], blob_id: &BlobId) -> Result<(), TestCaseError> {
    canonical(b, EntryRecord::decode, enc_entry)?;
    canonical(b, ReleaseRecord::decode, enc_release)?;
    canonical(b, ReleaseHead::decode, enc_head)?;
    canonical(b, IngestRecord::decode, enc_ingest)?;
    canonical(b, ChunkLoc::decode, enc_loc)?;
    canonical(b, SegmentInfo::decode, enc_info)?;
    canonical(b, decode_content_value, enc_content_value)?;
    canonical(b, parse_seg, enc_seg)?;
    for first in [&b""[..], b"a", b"a/\xff"] {
        canonical(b, |b| decode_block(first, b), |v| encode_block(v))?;
    }
    canonical(b, |b| BlobRecord::decode(blob_id, b), |r| r.encode(blob_id))?;
    if let Ok((rel, path)) = split_entry_key(b) {
        prop_assert_eq!(entry_key(rel, path), b.to_vec());
    }
    if let Ok((rel, hash, path)) = split_content_key(b) {
        prop_assert_eq!(content_key(rel, &hash, path), b.to_vec());
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn chunk_locs_round_trip(x in chunk_loc(), e in edit()) {
        prop_assert_eq!(ChunkLoc::decode(&x.encode()).unwrap(), x);
        if let Some(m) = mutate(&x.encode(), &e) {
            canonical(&m, ChunkLoc::decode, enc_loc)?;
        }
    }

    #[test]
    fn entries_round_trip(x in entry(), e in edit(), d in damage()) {
        prop_assert_eq!(EntryRecord::decode(&x.encode()).unwrap(), x.clone());
        if let Some(m) = mutate(&x.encode(), &e) {
            canonical(&m, EntryRecord::decode, enc_entry)?;
        }
        canonical(&apply_damage(&x.encode(), &d), EntryRecord::decode, enc_entry)?;
    }

    #[test]
    fn entry_blocks_round_trip(x in block(), e in edit(), d in damage()) {
        let first = x[0].0.clone();
        let enc = encode_block(&x);
        prop_assert_eq!(decode_block(&first, &enc).unwrap(), x.clone());
        let dec = |b: &[u8]| decode_block(&first, b);
        if let Some(m) = mutate(&enc, &e) {
            canonical(&m, dec, |v| encode_block(v))?;
        }
        canonical(&apply_damage(&enc, &d), dec, |v| encode_block(v))?;
    }

    /// Blocks as ingest cuts them: each within the budget unless it is one entry,
    /// and together every entry once, in order.
    #[test]
    fn block_builder_cuts_within_budget(x in block(), big in 0usize..3) {
        let x: Vec<_> = x
            .into_iter()
            .map(|(p, r)| (p, EntryRecord { target: vec![7; big * 1500], ..r }))
            .collect();
        let mut b = BlockBuilder::default();
        let mut blocks = Vec::new();
        for (p, r) in &x {
            blocks.extend(b.push(p, r));
        }
        blocks.extend(b.finish());
        let mut all = Vec::new();
        for (first, value) in &blocks {
            let got = decode_block(first, value).unwrap();
            prop_assert!(4 + first.len() + value.len() <= ENTRY_BLOCK_BUDGET || got.len() == 1);
            prop_assert_eq!(&got[0].0, first);
            all.extend(got);
        }
        prop_assert_eq!(all, x);
    }

    #[test]
    fn blobs_round_trip((id, x) in blob(), e in edit(), d in damage()) {
        let enc = x.encode(&id);
        prop_assert_eq!(BlobRecord::decode(&id, &enc).unwrap(), x);
        let dec = |b: &[u8]| BlobRecord::decode(&id, b);
        let enc_with = |r: &BlobRecord| r.encode(&id);
        if let Some(m) = mutate(&enc, &e) {
            canonical(&m, dec, enc_with)?;
        }
        canonical(&apply_damage(&enc, &d), dec, enc_with)?;
    }

    #[test]
    fn releases_round_trip(x in release(), e in edit(), d in damage()) {
        prop_assert_eq!(ReleaseRecord::decode(&x.encode()).unwrap(), x.clone());
        if let Some(m) = mutate(&x.encode(), &e) {
            canonical(&m, ReleaseRecord::decode, enc_release)?;
        }
        canonical(&apply_damage(&x.encode(), &d), ReleaseRecord::decode, enc_release)?;
    }

    #[test]
    fn heads_round_trip(x in head(), e in edit(), d in damage()) {
        prop_assert_eq!(ReleaseHead::decode(&x.encode()).unwrap(), x.clone());
        if let Some(m) = mutate(&x.encode(), &e) {
            canonical(&m, ReleaseHead::decode, enc_head)?;
        }
        canonical(&apply_damage(&x.encode(), &d), ReleaseHead::decode, enc_head)?;
    }

    #[test]
    fn ingests_round_trip(x in ingest(), e in edit(), d in damage()) {
        prop_assert_eq!(IngestRecord::decode(&x.encode()).unwrap(), x.clone());
        if let Some(m) = mutate(&x.encode(), &e) {
            canonical(&m, IngestRecord::decode, enc_ingest)?;
        }
        canonical(&apply_damage(&x.encode(), &d), IngestRecord::decode, enc_ingest)?;
    }

    #[test]
    fn segment_infos_round_trip(x in segment_info(), e in edit()) {
        prop_assert_eq!(SegmentInfo::decode(&x.encode()).unwrap(), x);
        if let Some(m) = mutate(&x.encode(), &e) {
            canonical(&m, SegmentInfo::decode, enc_info)?;
        }
    }

    #[test]
    fn segments_round_trip((data, dir) in segment(), e in edit(), d in damage()) {
        let seg = finish_segment(&data, &dir);
        let (d2, dir2) = parse_segment(&seg).unwrap();
        prop_assert_eq!(d2, &data[..]);
        prop_assert_eq!(&dir2, &dir);
        prop_assert_eq!(segment_trailer(&dir).len(), dir.len() * SEGMENT_DIR_RECORD + 8);
        if let Some(m) = mutate(&seg, &e) {
            canonical(&m, parse_seg, enc_seg)?;
        }
        canonical(&apply_damage(&seg, &d), parse_seg, enc_seg)?;
    }

    #[test]
    fn keys_and_content_values_round_trip(
        rel: u32,
        hash: [u8; 32],
        path in bytes(60),
        k in kind(),
        size: u64,
        e in edit(),
    ) {
        let ek = entry_key(rel, &path);
        prop_assert_eq!(split_entry_key(&ek).unwrap(), (rel, &path[..]));
        let ck = content_key(rel, &hash, &path);
        prop_assert_eq!(split_content_key(&ck).unwrap(), (rel, hash, &path[..]));
        // Keys of one release sort by (hash, path), the manifest's leaf order.
        prop_assert!(ck.starts_with(&rel.to_le_bytes()));
        let v = content_value(k, size);
        prop_assert_eq!(decode_content_value(&v).unwrap(), (k, size));
        if let Some(m) = mutate(&v, &e) {
            canonical(&m, decode_content_value, enc_content_value)?;
        }
    }

    /// Arbitrary bytes, and arbitrary bytes of each record's exact length (which get
    /// past the length checks), never panic any decoder and are canonical when they
    /// decode.
    #[test]
    fn arbitrary_bytes_are_refused_or_canonical(
        b in prop_oneof![
            bytes(200),
            proptest::collection::vec(any::<u8>(), CHUNK_LOC_LEN),
            proptest::collection::vec(any::<u8>(), SEGMENT_INFO_LEN),
            proptest::collection::vec(any::<u8>(), 9),
            proptest::collection::vec(any::<u8>(), 13..=13),
        ],
        id: [u8; 32],
    ) {
        all_canonical(&b, &BlobId(id))?;
    }

    #[test]
    fn entry_kind_codes_and_names(c: u8, name in "[a-z]{0,8}") {
        if let Ok(k) = EntryKind::from_code(c) {
            prop_assert_eq!(k.code(), c);
            prop_assert_eq!(EntryKind::from_name(k.name()), Some(k));
        }
        if let Some(k) = EntryKind::from_name(&name) {
            prop_assert_eq!(k.name(), name.as_str());
        }
    }

    #[test]
    fn release_names_check_without_panicking(s in crate::prop_support::text(200)) {
        if check_release_name(&s).is_ok() {
            prop_assert!(!s.is_empty() && s.len() <= 128 && s.is_ascii());
        }
    }

    /// Stored chunk bytes, damaged or not, come back as the chunk or as an error.
    #[test]
    fn decode_chunk_never_panics(
        data in bytes(2000),
        d in damage(),
        compress: bool,
        lie_about_len in proptest::option::of(0u32..100_000),
    ) {
        let id = ChunkId::of(&data);
        let stored = if compress { zstd::bulk::compress(&data, 1).unwrap() } else { data.clone() };
        let entry = SegmentDirEntry {
            id,
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len: data.len() as u32,
            flags: if compress { CHUNK_FLAG_ZSTD } else { 0 },
        };
        prop_assert_eq!(decode_chunk(&id, &entry, &stored).unwrap(), data.clone());
        let damaged = apply_damage(&stored, &d);
        let entry = SegmentDirEntry { raw_len: lie_about_len.unwrap_or(entry.raw_len), ..entry };
        if let Ok(got) = decode_chunk(&id, &entry, &damaged) {
            prop_assert_eq!(got, data);
        }
    }
}

/// A blob whose recipe is its own id as the only chunk is written with the self
/// flag; the long form of the same recipe must not decode too.
#[test]
fn one_chunk_recipe_has_one_encoding() {
    let id = BlobId([7; 32]);
    let rec = BlobRecord {
        size: 5,
        chunks: vec![id.as_chunk()],
    };
    let short = rec.encode(&id);
    assert_eq!(short.len(), 13);
    let mut long = 5u64.to_le_bytes().to_vec();
    long.push(0);
    long.extend_from_slice(&1u32.to_le_bytes());
    long.extend_from_slice(&id.0);
    assert!(BlobRecord::decode(&id, &long).is_err());
    assert_eq!(BlobRecord::decode(&id, &short).unwrap(), rec);
}

/// The longest symlink target an entry holds (u16 length).
#[test]
fn longest_symlink_target_round_trips() {
    let r = EntryRecord {
        kind: EntryKind::Symlink,
        mode: 0o120777,
        mtime_ns: 0,
        size: 65535,
        hash: [1; 32],
        inode: 1,
        ctime_ns: 0,
        target: vec![b'x'; 65535],
    };
    assert_eq!(EntryRecord::decode(&r.encode()).unwrap(), r);
}
