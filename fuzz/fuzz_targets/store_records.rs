//! Every decoder of the store's records and of manifest leaves, on the same bytes:
//! no panic, and bytes that decode are exactly the encoding of the decoded value.
#![no_main]

use custody::id::{BlobId, ChunkId};
use custody::manifest::leaf::Leaf;
use custody::store::format::*;
use custody::store::snapshot::decode_chunk;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let b = data;
    if let Ok(r) = EntryRecord::decode(b) {
        assert_eq!(r.encode(), b);
    }
    if let Ok(r) = ReleaseRecord::decode(b) {
        assert_eq!(r.encode(), b);
    }
    if let Ok(r) = ReleaseHead::decode(b) {
        assert_eq!(r.encode(), b);
    }
    if let Ok(r) = IngestRecord::decode(b) {
        assert_eq!(r.encode(), b);
    }
    if let Ok(r) = ChunkLoc::decode(b) {
        assert_eq!(r.encode(), b);
    }
    if let Ok(r) = SegmentInfo::decode(b) {
        assert_eq!(r.encode(), b);
    }
    if let Ok((k, n)) = decode_content_value(b) {
        assert_eq!(content_value(k, n), b);
    }
    if let Ok((d, dir)) = parse_segment(b) {
        assert_eq!(finish_segment(d, &dir), b);
    }
    if let Ok(l) = Leaf::decode(b) {
        assert_eq!(l.encode(), b);
    }
    if let Ok((rel, path)) = split_entry_key(b) {
        assert_eq!(entry_key(rel, path), b);
    }
    if let Ok((rel, h, path)) = split_content_key(b) {
        assert_eq!(content_key(rel, &h, path), b);
    }
    // Blob records decode against the blob's id: take it from the input's head.
    if b.len() >= 32 {
        let id = BlobId(b[..32].try_into().unwrap());
        let rest = &b[32..];
        if let Ok(r) = BlobRecord::decode(&id, rest) {
            assert_eq!(r.encode(&id), rest);
        }
    }
    // Stored chunk bytes, as zstd or raw, with the length the directory claims.
    if b.len() >= 4 {
        let raw_len = u32::from_le_bytes(b[..4].try_into().unwrap()) % (1 << 20);
        let stored = &b[4..];
        for flags in [0, CHUNK_FLAG_ZSTD] {
            let d = SegmentDirEntry {
                id: ChunkId([0; 32]),
                offset: 0,
                stored_len: stored.len() as u32,
                raw_len,
                flags,
            };
            let _ = decode_chunk(&d.id, &d, stored);
        }
    }
});
