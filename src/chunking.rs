//! Content-defined chunking with FastCDC (the `fastcdc` crate's 2020 algorithm,
//! normalization level 1), streamed through a fixed-size window so that a file of
//! any size is chunked in bounded memory.
//!
//! The parameters are part of the store format: they are written into the store's
//! meta table at `init` and every later ingest uses the stored values, because other
//! parameters would cut other chunks and lose deduplication against earlier releases.
//! docs/FORMAT.md ("Chunking") records why these defaults were chosen.

use std::io::{self, Read};
use std::ops::Range;

use fastcdc::v2020::{self, Normalization};
use serde::Serialize;

/// Default smallest chunk, bytes (`CHUNK_MIN` in docs/FORMAT.md).
pub const CHUNK_MIN: u32 = 16 * 1024;
/// Default target average chunk, bytes (`CHUNK_AVG`).
pub const CHUNK_AVG: u32 = 32 * 1024;
/// Default largest chunk, bytes (`CHUNK_MAX`).
pub const CHUNK_MAX: u32 = 128 * 1024;

/// The largest chunk any store can hold: FastCDC 2020's greatest `max` (16 MiB).
/// Readers refuse a stored chunk length above it before allocating anything.
pub const CHUNK_MAX_LIMIT: u32 = v2020::MAXIMUM_MAX as u32;

/// Bytes held in the read window; a multiple of the largest chunk so most reads cut
/// many chunks at once.
const WINDOW: usize = 4 * 1024 * 1024;

/// Chunking parameters of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChunkParams {
    pub min: u32,
    pub avg: u32,
    pub max: u32,
}

/// The parameters are outside what FastCDC 2020 accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid chunk parameters min={min} avg={avg} max={max}: need even sizes with 64 <= min <= avg <= max <= 16 MiB"
)]
pub struct BadParams {
    pub min: u32,
    pub avg: u32,
    pub max: u32,
}

impl Default for ChunkParams {
    fn default() -> Self {
        Self {
            min: CHUNK_MIN,
            avg: CHUNK_AVG,
            max: CHUNK_MAX,
        }
    }
}

impl ChunkParams {
    pub fn new(min: u32, avg: u32, max: u32) -> Result<Self, BadParams> {
        let (mi, av, ma) = (min as usize, avg as usize, max as usize);
        let ok = (v2020::MINIMUM_MIN..=v2020::MINIMUM_MAX).contains(&mi)
            && (v2020::AVERAGE_MIN..=v2020::AVERAGE_MAX).contains(&av)
            && (v2020::MAXIMUM_MIN..=v2020::MAXIMUM_MAX).contains(&ma)
            && mi <= av
            && av <= ma
            && [mi, av, ma].iter().all(|v| v % 2 == 0);
        if ok {
            Ok(Self { min, avg, max })
        } else {
            Err(BadParams { min, avg, max })
        }
    }
}

/// FastCDC cut-point finder with precomputed masks.
#[derive(Debug, Clone, Copy)]
pub struct Cutter {
    params: ChunkParams,
    mask_s: u64,
    mask_l: u64,
}

impl Cutter {
    pub fn new(params: ChunkParams) -> Self {
        let (mask_s, mask_l) = v2020::select_masks(params.avg as usize, Normalization::Level1);
        Self {
            params,
            mask_s,
            mask_l,
        }
    }

    pub fn params(&self) -> ChunkParams {
        self.params
    }

    /// Length of the next chunk at the start of `data`. The answer is final only when
    /// `data` holds at least `max` bytes or is the end of the stream.
    pub fn cut(&self, data: &[u8]) -> usize {
        let p = self.params;
        let (_, n) = v2020::cut(
            data,
            p.min as usize,
            p.avg as usize,
            p.max as usize,
            self.mask_s,
            self.mask_l,
            self.mask_s << 1,
            self.mask_l << 1,
        );
        n
    }

    /// Chunk boundaries of a whole in-memory buffer.
    pub fn ranges(&self, data: &[u8]) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let n = self.cut(&data[at..]).max(1);
            out.push(at..at + n);
            at += n;
        }
        out
    }
}

/// Reads a stream through a fixed window and hands out runs of whole chunks.
pub struct WindowChunker {
    cutter: Cutter,
    buf: Vec<u8>,
    /// Valid bytes in `buf`.
    len: usize,
    /// Start of the bytes not yet handed out.
    start: usize,
    eof: bool,
    /// Total bytes read from the stream.
    read: u64,
}

/// A run of consecutive chunks: `data` holds them back to back, `cuts` their ranges
/// within `data`.
pub struct Window<'a> {
    pub data: &'a [u8],
    pub cuts: Vec<Range<usize>>,
    /// This window ends the stream.
    pub at_end: bool,
}

impl WindowChunker {
    pub fn new(params: ChunkParams) -> Self {
        let cap = WINDOW.max(2 * params.max as usize);
        Self {
            cutter: Cutter::new(params),
            buf: vec![0u8; cap],
            len: 0,
            start: 0,
            eof: false,
            read: 0,
        }
    }

    /// Starts a new stream, keeping the buffer.
    pub fn reset(&mut self) {
        self.len = 0;
        self.start = 0;
        self.eof = false;
        self.read = 0;
    }

    /// Bytes read from the current stream so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    fn fill(&mut self, r: &mut (impl Read + ?Sized)) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.len, 0);
            self.len -= self.start;
            self.start = 0;
        }
        while !self.eof && self.len < self.buf.len() {
            match r.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.len += n;
                    self.read += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The next run of chunks, or `None` at the end of the stream.
    pub fn next_window(&mut self, r: &mut (impl Read + ?Sized)) -> io::Result<Option<Window<'_>>> {
        self.fill(r)?;
        if self.start == self.len {
            return Ok(None);
        }
        let max = self.cutter.params.max as usize;
        let begin = self.start;
        let mut at = begin;
        let mut cuts = Vec::new();
        // A cut is final only when max bytes are visible or the stream has ended.
        while at < self.len && (self.eof || self.len - at >= max) {
            let n = self.cutter.cut(&self.buf[at..self.len]).max(1);
            cuts.push(at - begin..at - begin + n);
            at += n;
        }
        self.start = at;
        Ok(Some(Window {
            data: &self.buf[begin..at],
            cuts,
            at_end: self.eof && at == self.len,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pseudo_random(n: usize, seed: u8) -> Vec<u8> {
        let mut out = vec![0u8; n];
        blake3::Hasher::new_keyed(&[seed; 32])
            .finalize_xof()
            .fill(&mut out);
        out
    }

    fn stream_cuts(data: &[u8], params: ChunkParams, read_size: usize) -> Vec<Range<usize>> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                let n = b.len().min(self.1).min(self.0.len());
                b[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut c = WindowChunker::new(params);
        let mut r = Trickle(data, read_size);
        let mut out = Vec::new();
        let mut base = 0;
        while let Some(w) = c.next_window(&mut r).unwrap() {
            for cut in &w.cuts {
                out.push(base + cut.start..base + cut.end);
            }
            base += w.data.len();
        }
        out
    }

    /// Pins the cut points of a fixed input: if a fastcdc upgrade changes them, every
    /// chunk of every existing store would stop deduplicating, so this must fail first.
    #[test]
    fn boundaries_are_pinned() {
        let data = pseudo_random(1 << 20, 7);
        let lens: Vec<usize> = Cutter::new(ChunkParams::default())
            .ranges(&data)
            .iter()
            .map(|r| r.len())
            .collect();
        assert_eq!(lens, PINNED_LENS, "FastCDC cut points changed");
        let first = ChunkId::of(&data[..lens[0]]);
        assert_eq!(first.to_string(), PINNED_FIRST_CHUNK);
    }

    use crate::id::ChunkId;
    /// Chunk lengths of `pseudo_random(1 MiB, 7)` at the default parameters, as
    /// fastcdc 5.0 (v2020, normalization level 1) cuts them.
    const PINNED_LENS: &[usize] = &[
        58242, 34168, 39808, 38024, 46049, 42082, 17699, 48727, 56026, 41783, 43585, 79363, 43372,
        37487, 40487, 40542, 18528, 36839, 69077, 22122, 35182, 43563, 61778, 54043,
    ];
    const PINNED_FIRST_CHUNK: &str =
        "5ccd00f3ae64c293fb5c830c48a0cd7d07677e9f5e06e70714bbb8bc09dc100c";

    #[test]
    fn matches_the_crate_iterator() {
        let data = pseudo_random(3 << 20, 1);
        let p = ChunkParams::default();
        let ours = Cutter::new(p).ranges(&data);
        let theirs: Vec<_> =
            v2020::FastCDC::new(&data, p.min as usize, p.avg as usize, p.max as usize)
                .map(|c| c.offset..c.offset + c.length)
                .collect();
        assert_eq!(ours, theirs);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn streaming_equals_whole_buffer(len in 0usize..600_000, seed: u8, read_size in 1usize..200_000) {
            let data = pseudo_random(len, seed);
            let p = ChunkParams::new(2048, 8192, 32768).unwrap();
            let whole = Cutter::new(p).ranges(&data);
            prop_assert_eq!(stream_cuts(&data, p, read_size), whole);
        }
    }

    #[test]
    fn rejects_bad_params() {
        assert!(ChunkParams::new(3, 8, 16).is_err());
        assert!(ChunkParams::new(4096, 2048, 8192).is_err());
        assert!(ChunkParams::new(4096, 8192, 65536).is_ok());
    }
}
