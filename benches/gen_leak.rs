//! gen-leak: a fast, deterministic generator of BlueLeaks-shaped trees (issue 7).
//!
//! BlueLeaks (2020) is ~269 GB in ~1M files from ~200 agencies: HTML pages, CSV
//! tables, PDFs, images and a few huge videos. This builds trees of that shape, at any
//! number of files, for ingest/diff/fsck benchmarks:
//!
//! ```text
//! cargo run --release --example gen-leak -- release DIR --files N [--seed S] [--big K]
//!     [--big-size BYTES] [--copies]
//! cargo run --release --example gen-leak -- derive FROM TO [--seed S] [--percent P]
//! ```
//!
//! `release` writes `DIR` and `DIR.gen.json` (counts, sizes, dedup, a zstd-1 sample);
//! `derive` writes `TO`, `TO.gen.json` and `TO.changes.json` (every removed, renamed,
//! modified and added path, to score a diff against).
//!
//! Shape: agency folders `agencyNNN-city` of skewed sizes, each with
//! `files/Documents/<id>/*.pdf|doc|txt`, `files/Images/<id>/*.jpg`, `pages/*.html`,
//! `tables/*.csv`, `images/*.jpg`, and `files/Videos/<id>/*.mp4` for the `--big` files.
//! A few % of names have spaces or non-ASCII UTF-8, about 1 in 5,000 has bytes that
//! are not UTF-8. Sizes are log-normal (median 20 KiB, 90% between ~2 and ~200 KiB)
//! plus `--big` files of `--big-size` bytes. mtimes lie in 2015–2020.
//!
//! Content is generated per file from its own seed, never sliced from a shared pool, so
//! distinct files share no chunk (only boilerplate of a few hundred bytes: HTML head,
//! PDF and JPEG headers, CSV header rows). Text is drawn from a fixed, Zipf-weighted
//! vocabulary of ~4,000 words and compresses ~3x with zstd -1; JPEGs are random
//! bytes; videos alternate text and random 1 MiB blocks.
//!
//! Each content appears at 1–4 paths (mean 2.5), usually in different agencies. Copies
//! are hard links unless `--copies`: custody's walk does not look at link counts, so
//! an ingest treats every link as a separate file whose content equals the others'
//! (and dedups them), exactly as it would real copies. Everything is a function of the
//! seed (and, for `derive`, of FROM's file list), so the same command gives the same
//! tree on the same platform.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use custody::paths::escape_bytes;
use rayon::prelude::*;
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(name = "gen-leak", about = "Generate BlueLeaks-shaped test trees")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build release 1: DIR (must not exist or be empty) and DIR.gen.json.
    Release {
        dir: PathBuf,
        /// Number of files (paths), big files and copies included.
        #[arg(long)]
        files: u64,
        #[arg(long, default_value_t = 2020)]
        seed: u64,
        /// Number of huge files (videos) in the tail.
        #[arg(long, default_value_t = 8)]
        big: u64,
        /// Size of each huge file, in bytes.
        #[arg(long, default_value_t = 128 << 20)]
        big_size: u64,
        /// Write duplicates as real copies instead of hard links.
        #[arg(long)]
        copies: bool,
        /// Number of agency folders.
        #[arg(long, default_value_t = 200)]
        agencies: usize,
        /// Median file size in bytes (log-normal).
        #[arg(long, default_value_t = 20 * 1024)]
        median: u64,
        /// Standard deviation of ln(size).
        #[arg(long, default_value_t = 1.4)]
        sigma: f64,
        /// Generate and hash every content but write nothing (generation speed
        /// without the disk).
        #[arg(long)]
        dry_run: bool,
    },
    /// Build release 2 from release 1: TO, TO.gen.json and TO.changes.json.
    Derive {
        from: PathBuf,
        to: PathBuf,
        #[arg(long, default_value_t = 2021)]
        seed: u64,
        /// Percent of files removed, and again renamed, modified, and added.
        #[arg(long, default_value_t = 3.0)]
        percent: f64,
    },
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Release {
            dir,
            files,
            seed,
            big,
            big_size,
            copies,
            agencies,
            median,
            sigma,
            dry_run,
        } => release(&ReleaseArgs {
            dir,
            files,
            seed,
            big,
            big_size,
            copies,
            agencies: agencies.max(1),
            median: median.max(1),
            sigma,
            dry_run,
        }),
        Cmd::Derive {
            from,
            to,
            seed,
            percent,
        } => derive(&from, &to, seed, percent),
    };
    if let Err(e) = r {
        eprintln!("gen-leak: {e}");
        std::process::exit(2);
    }
}

// ---------------------------------------------------------------------------------
// Randomness: splitmix64 to seed, wyrand to stream.

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A seed derived from two numbers.
fn mix(a: u64, b: u64) -> u64 {
    splitmix(a ^ splitmix(b ^ 0x6A09_E667_F3BC_C909))
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(splitmix(seed))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xA076_1D64_78BD_642F);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xE703_7ED1_A0B4_28DB);
        (t >> 64) as u64 ^ t as u64
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in lo..=hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        let start = out.len();
        out.resize(start + n, 0);
        let mut chunks = out[start..].chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next().to_le_bytes();
        let k = rest.len();
        rest.copy_from_slice(&last[..k]);
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            xs.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------
// Vocabulary: common words of police documents, then generated words, shorter ones
// more frequent; a 64K-slot table samples ranks with Zipf-Mandelbrot weights.

const VOCAB_SIZE: usize = 4096;
const PHRASES: usize = 1024;

#[rustfmt::skip]
const COMMON: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "for", "on", "that", "was", "with", "by",
    "as", "at", "be", "this", "from", "or", "an", "are", "it", "not", "were", "has", "have",
    "been", "will", "may", "all", "any", "which", "their", "his", "her", "he", "she",
    "they", "who", "these", "other", "after", "during", "within", "police", "officer",
    "officers", "report", "suspect", "vehicle", "incident", "department", "information",
    "law", "enforcement", "county", "state", "federal", "investigation", "case", "subject",
    "unit", "threat", "intelligence", "bulletin", "agency", "center", "fusion", "public",
    "safety", "security", "criminal", "arrest", "weapon", "drug", "gang", "task", "force",
    "homeland", "training", "community", "event", "protest", "alert", "local", "office",
    "city", "area", "reported", "identified", "unknown", "male", "female", "street",
    "avenue", "road", "highway", "date", "time", "number", "phone", "email", "address",
    "name", "location", "approximately", "please", "contact", "regarding", "following",
    "additional", "sheriff", "deputy", "detective", "sergeant", "patrol", "warrant",
    "evidence", "witness", "victim", "property", "stolen", "firearm", "narcotics",
    "suspicious", "activity", "analyst", "sensitive", "unclassified", "official", "use",
    "only", "distribution", "partners", "request", "assistance", "attached", "photo",
    "description", "height", "weight", "hair", "eyes", "license", "plate", "registered",
    "owner", "last", "seen", "wearing", "black", "white", "blue", "red", "silver", "gray",
    "dark", "light", "north", "south", "east", "west",
];

#[rustfmt::skip]
const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "ch", "cl", "cr", "dr", "fl", "gr", "pl", "pr", "sh", "sl", "st", "str", "th", "tr", "", "",
];
#[rustfmt::skip]
const VOWELS: &[&str] = &[
    "a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ee", "io", "ou", "y",
];
#[rustfmt::skip]
const CODAS: &[&str] = &[
    "n", "r", "s", "t", "l", "m", "nd", "nt", "rt", "st", "ck", "ng", "x", "ss",
];

struct Vocab {
    text: Vec<u8>,
    spans: Vec<(u32, u32)>,
    zipf: Vec<u16>,
    /// Words followed by a space, padded to 16 bytes, and their lengths: `text` copies
    /// them with one fixed-size move instead of a memmove call per word.
    padded: Vec<[u8; 16]>,
    padded_len: Vec<u8>,
    /// Stock phrases of 2–5 words ("for official use only"), followed by a space and
    /// padded to 64 bytes.
    phrases: Vec<[u8; 64]>,
    phrase_len: Vec<u8>,
}

impl Vocab {
    fn word(&self, i: usize) -> &[u8] {
        let (o, l) = self.spans[i];
        &self.text[o as usize..(o + l) as usize]
    }
}

fn vocab() -> &'static Vocab {
    static V: OnceLock<Vocab> = OnceLock::new();
    V.get_or_init(|| {
        let mut seen = HashSet::new();
        let mut words: Vec<String> = Vec::new();
        for w in COMMON {
            if seen.insert(w.to_string()) {
                words.push(w.to_string());
            }
        }
        // Fixed seed: the vocabulary is the same for every tree and every --seed.
        let mut rng = Rng::new(0x0B1E_1EA4_5000_0001);
        let mut made = Vec::new();
        while words.len() + made.len() < VOCAB_SIZE {
            let syllables = 1 + rng.below(3) + u64::from(rng.below(4) == 0);
            let mut w = String::new();
            for _ in 0..syllables {
                w += rng.pick(ONSETS);
                w += rng.pick(VOWELS);
                if rng.chance(0.4) {
                    w += rng.pick(CODAS);
                }
            }
            if (2..=14).contains(&w.len()) && seen.insert(w.clone()) {
                made.push(w);
            }
        }
        made.sort_by_key(|w| w.len());
        words.extend(made);
        let mut text = Vec::new();
        let mut spans = Vec::new();
        for w in &words {
            spans.push((text.len() as u32, w.len() as u32));
            text.extend_from_slice(w.as_bytes());
        }
        let weights: Vec<f64> = (0..words.len()).map(|r| 1.0 / (r as f64 + 2.7)).collect();
        let total: f64 = weights.iter().sum();
        let mut zipf = Vec::with_capacity(1 << 16);
        let (mut rank, mut cum) = (0usize, weights[0] / total);
        for slot in 0..(1usize << 16) {
            let x = (slot as f64 + 0.5) / 65536.0;
            while x > cum && rank + 1 < words.len() {
                rank += 1;
                cum += weights[rank] / total;
            }
            zipf.push(rank as u16);
        }
        let (mut padded, mut padded_len) = (Vec::new(), Vec::new());
        for &(o, l) in &spans {
            let mut p = [b' '; 16];
            p[..l as usize].copy_from_slice(&text[o as usize..(o + l) as usize]);
            padded.push(p);
            padded_len.push(l as u8 + 1);
        }
        let (mut phrases, mut phrase_len) = (Vec::new(), Vec::new());
        while phrases.len() < PHRASES {
            let mut p = Vec::new();
            for _ in 0..rng.range(2, 5) {
                let (o, l) = spans[zipf[rng.below(1 << 16) as usize] as usize];
                p.extend_from_slice(&text[o as usize..(o + l) as usize]);
                p.push(b' ');
            }
            if p.len() <= 64 {
                let mut a = [b' '; 64];
                a[..p.len()].copy_from_slice(&p);
                phrases.push(a);
                phrase_len.push(p.len() as u8);
            }
        }
        Vocab {
            text,
            spans,
            zipf,
            padded,
            padded_len,
            phrases,
            phrase_len,
        }
    })
}

/// Appends `n` vocabulary words separated by `sep`, each capitalized if `caps`.
fn words(rng: &mut Rng, out: &mut Vec<u8>, n: usize, sep: &[u8], caps: bool) {
    let v = vocab();
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        // Names and titles use the whole vocabulary, not just the frequent words.
        let w = if rng.chance(0.8) {
            v.zipf[rng.below(1 << 16) as usize] as usize
        } else {
            rng.below(v.spans.len() as u64) as usize
        };
        let at = out.len();
        out.extend_from_slice(v.word(w));
        if caps {
            out[at] = out[at].to_ascii_uppercase();
        }
    }
}

fn push_num(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 && buf.len() - i >= width {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_date(rng: &mut Rng, out: &mut Vec<u8>) {
    push_num(out, rng.range(2015, 2020), 4);
    out.push(b'-');
    push_num(out, rng.range(1, 12), 2);
    out.push(b'-');
    push_num(out, rng.range(1, 28), 2);
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) of Unix time `t`.
fn push_datetime(out: &mut Vec<u8>, t: u64) {
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = t / 86_400 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    let s = t % 86_400;
    push_num(out, y, 4);
    out.push(b'-');
    push_num(out, m, 2);
    out.push(b'-');
    push_num(out, d, 2);
    out.push(b' ');
    push_num(out, s / 3600, 2);
    out.push(b':');
    push_num(out, s / 60 % 60, 2);
    out.push(b':');
    push_num(out, s % 60, 2);
}

/// Pseudo-text (sentences and paragraphs) appended until `out.len() == end`.
fn text(rng: &mut Rng, out: &mut Vec<u8>, end: usize) {
    let v = vocab();
    let mut pos = out.len();
    let (mut bits, mut left) = (0u64, 0u32);
    while pos < end {
        let r = rng.next();
        let n = 4 + (r % 16) as usize;
        let extra_at = ((r >> 8) % n as u64) as usize;
        let extra = (r >> 16) & 15;
        let phrase_bits = rng.next();
        let start = pos;
        for i in 0..n {
            if left == 0 {
                bits = rng.next();
                left = 4;
            }
            let w = v.zipf[(bits & 0xffff) as usize] as usize;
            bits >>= 16;
            left -= 1;
            if out.len() < pos + 128 {
                out.resize(pos + 128 + (end.saturating_sub(pos)).min(1 << 16), 0);
            }
            // 3/8 of the tokens are stock phrases, the rest single words; each is
            // followed by a space.
            if (phrase_bits >> (3 * i)) & 7 < 3 {
                let p = w % PHRASES;
                out[pos..pos + 64].copy_from_slice(&v.phrases[p]);
                pos += v.phrase_len[p] as usize;
            } else {
                out[pos..pos + 16].copy_from_slice(&v.padded[w]);
                pos += v.padded_len[w] as usize;
            }
            if i == extra_at && extra < 4 {
                out.truncate(pos - 1);
                match extra {
                    0 => out.push(b','),
                    1 => {
                        out.extend_from_slice(b" #");
                        push_num(out, rng.below(100_000), 5);
                    }
                    2 => {
                        out.extend_from_slice(b" on ");
                        push_date(rng, out);
                    }
                    _ => {
                        out.push(b' ');
                        push_num(out, rng.below(1000), 1);
                    }
                }
                out.push(b' ');
                pos = out.len();
            }
        }
        if out.len() < pos + 2 {
            out.resize(pos + 2, 0);
        }
        out[start] = out[start].to_ascii_uppercase();
        out[pos - 1] = b'.';
        if (r >> 24) & 7 == 0 {
            out[pos] = b'\n';
            out[pos + 1] = b'\n';
            pos += 2;
        } else {
            out[pos] = b' ';
            pos += 1;
        }
    }
    out.truncate(end);
}

// ---------------------------------------------------------------------------------
// File kinds and their contents.

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Kind {
    Pdf,
    Doc,
    Txt,
    Html,
    Csv,
    Jpg,
    Video,
    /// Derive only: a file of FROM with an unknown extension.
    Bin,
}

/// Share of each kind among files that are not `--big`, in percent.
const KIND_MIX: &[(Kind, u64)] = &[
    (Kind::Pdf, 30),
    (Kind::Doc, 6),
    (Kind::Txt, 4),
    (Kind::Html, 24),
    (Kind::Csv, 14),
    (Kind::Jpg, 22),
];

impl Kind {
    fn ext(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Doc => "doc",
            Kind::Txt => "txt",
            Kind::Html => "html",
            Kind::Csv => "csv",
            Kind::Jpg => "jpg",
            Kind::Video => "mp4",
            Kind::Bin => "bin",
        }
    }
    fn of_path(p: &[u8]) -> Kind {
        let name = p.rsplit(|&b| b == b'/').next().unwrap_or(p);
        let ext = match name.iter().rposition(|&b| b == b'.') {
            Some(i) => name[i + 1..].to_ascii_lowercase(),
            None => Vec::new(),
        };
        match ext.as_slice() {
            b"pdf" => Kind::Pdf,
            b"doc" | b"docx" => Kind::Doc,
            b"txt" => Kind::Txt,
            b"html" | b"htm" => Kind::Html,
            b"csv" => Kind::Csv,
            b"jpg" | b"jpeg" => Kind::Jpg,
            b"mp4" => Kind::Video,
            _ => Kind::Bin,
        }
    }
    fn is_text(self) -> bool {
        matches!(
            self,
            Kind::Pdf | Kind::Doc | Kind::Txt | Kind::Html | Kind::Csv
        )
    }
    fn random(rng: &mut Rng) -> Kind {
        let mut x = rng.below(100);
        for &(k, p) in KIND_MIX {
            if x < p {
                return k;
            }
            x -= p;
        }
        Kind::Pdf
    }
}

const MIN_SIZE: u64 = 300;
const MAX_SIZE: u64 = 64 << 20;
/// Big files are written in blocks of this size, alternately text and random.
const BLOCK: usize = 1 << 20;

fn lognormal(rng: &mut Rng, median: u64, sigma: f64) -> u64 {
    let x = median as f64 * (sigma * rng.normal()).exp();
    (x.round() as u64).clamp(MIN_SIZE, MAX_SIZE)
}

/// The content of a file of `kind`, about `size` bytes (exactly, except CSV, which
/// ends on a row), from its own seed.
fn content(kind: Kind, size: u64, seed: u64) -> Vec<u8> {
    let size = size as usize;
    let mut out = Vec::with_capacity(size + 512);
    let rng = &mut Rng::new(seed);
    match kind {
        Kind::Pdf => pdf(rng, &mut out, size),
        Kind::Doc => {
            out.extend_from_slice(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1");
            rng.fill(&mut out, 56);
            while out.len() < size {
                let end = (out.len() + 4096).min(size);
                text(rng, &mut out, end);
                rng.fill(&mut out, 48);
            }
            out.truncate(size);
        }
        Kind::Txt => {
            words(rng, &mut out, 6, b" ", true);
            out.extend_from_slice(b"\n\n");
            text(rng, &mut out, size);
        }
        Kind::Html => html(rng, &mut out, size),
        Kind::Csv => csv(rng, &mut out, size),
        Kind::Jpg => {
            out.extend_from_slice(
                b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00",
            );
            rng.fill(&mut out, size.saturating_sub(22));
            out.extend_from_slice(b"\xff\xd9");
            out.truncate(size);
        }
        Kind::Video | Kind::Bin => {
            let mut i = 0;
            while out.len() < size {
                big_block(seed, i, &mut out);
                i += 1;
            }
            out.truncate(size);
        }
    }
    out
}

/// Block `i` of a big file: even blocks text, odd blocks random, each from its own seed.
fn big_block(seed: u64, i: u64, out: &mut Vec<u8>) {
    let rng = &mut Rng::new(mix(seed, i));
    let end = out.len() + BLOCK;
    if i == 0 {
        out.extend_from_slice(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41");
    }
    if i % 2 == 0 {
        text(rng, out, end);
    } else {
        rng.fill(out, BLOCK);
    }
}

fn pdf(rng: &mut Rng, out: &mut Vec<u8>, size: usize) {
    out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Title (");
    words(rng, out, 6, b" ", true);
    out.extend_from_slice(b") /Producer (Microsoft Word 2016) /CreationDate (D:");
    push_num(out, rng.range(2015, 2020), 4);
    push_num(out, rng.range(1, 12), 2);
    push_num(out, rng.range(1, 28), 2);
    push_num(out, rng.below(240_000), 6);
    out.extend_from_slice(b") >>\nendobj\n");
    const TAIL: &[u8] = b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    let body_end = size.saturating_sub(TAIL.len());
    let mut obj = 2;
    while out.len() < body_end {
        push_num(out, obj, 1);
        obj += 1;
        let len = rng.range(512, 16384) as usize;
        if rng.chance(0.15) {
            out.extend_from_slice(b" 0 obj\n<< /Filter /FlateDecode /Length ");
            push_num(out, len as u64, 1);
            out.extend_from_slice(b" >>\nstream\n");
            rng.fill(out, len);
        } else {
            out.extend_from_slice(b" 0 obj\n<< /Length ");
            push_num(out, len as u64, 1);
            out.extend_from_slice(b" >>\nstream\nBT /F1 11 Tf\n");
            let end = out.len() + len;
            let mut y = 720;
            while out.len() < end {
                out.extend_from_slice(b"72 ");
                push_num(out, y, 1);
                out.extend_from_slice(b" Td (");
                let e = out.len() + 60 + rng.below(30) as usize;
                text(rng, out, e);
                out.extend_from_slice(b") Tj\n");
                y = if y < 80 { 720 } else { y - 14 };
            }
            out.extend_from_slice(b"ET");
        }
        out.extend_from_slice(b"\nendstream\nendobj\n");
    }
    out.truncate(body_end);
    out.extend_from_slice(TAIL);
    out.truncate(size);
}

const HTML_HEAD: &[u8] = b"</title>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<link rel=\"stylesheet\" href=\"/css/site.css\">
<script src=\"/js/jquery-1.12.4.min.js\"></script>
<script src=\"/js/site.js\"></script>
</head>
<body>
<div id=\"header\"><a href=\"/Home.html\"><img src=\"/images/logo.png\" alt=\"Logo\"></a>
<ul class=\"nav\"><li><a href=\"/Home.html\">Home</a></li><li><a href=\"/Bulletins.html\">Bulletins</a></li><li><a href=\"/Documents.html\">Documents</a></li><li><a href=\"/Contact.html\">Contact Us</a></li></ul></div>
<div id=\"content\">
";
const HTML_FOOT: &[u8] = b"</div>
<div id=\"footer\">This site is for official use only. Unauthorized access is prohibited.</div>
</body>
</html>
";

fn html(rng: &mut Rng, out: &mut Vec<u8>, size: usize) {
    out.extend_from_slice(b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<title>");
    words(rng, out, 5, b" ", true);
    out.extend_from_slice(HTML_HEAD);
    let body_end = size.saturating_sub(HTML_FOOT.len());
    while out.len() < body_end {
        match rng.below(10) {
            0..=6 => {
                out.extend_from_slice(b"<h2>");
                words(rng, out, 4, b" ", true);
                out.extend_from_slice(b"</h2>\n<p>");
                let e = out.len() + rng.range(200, 2000) as usize;
                text(rng, out, e);
                out.extend_from_slice(b"</p>\n");
            }
            7 | 8 => {
                out.extend_from_slice(b"<table class=\"grid\">\n");
                for _ in 0..rng.range(2, 12) {
                    out.extend_from_slice(b"<tr><td>");
                    push_date(rng, out);
                    out.extend_from_slice(b"</td><td>");
                    words(rng, out, 3, b" ", true);
                    out.extend_from_slice(b"</td><td>");
                    push_num(out, rng.below(100_000), 1);
                    out.extend_from_slice(b"</td></tr>\n");
                }
                out.extend_from_slice(b"</table>\n");
            }
            _ => {
                out.extend_from_slice(b"<ul class=\"links\">\n");
                for _ in 0..rng.range(2, 10) {
                    out.extend_from_slice(b"<li><a href=\"/files/Documents/");
                    push_num(out, rng.range(10_000, 999_999), 1);
                    out.push(b'/');
                    words(rng, out, 2, b"_", true);
                    out.extend_from_slice(b".pdf\">");
                    words(rng, out, 4, b" ", true);
                    out.extend_from_slice(b"</a></li>\n");
                }
                out.extend_from_slice(b"</ul>\n");
            }
        }
    }
    out.truncate(body_end);
    out.extend_from_slice(HTML_FOOT);
    out.truncate(size);
}

#[derive(Clone, Copy)]
enum Col {
    Id,
    First,
    Last,
    Email,
    Phone,
    Date,
    DateTime,
    Word,
    State,
    Zip,
    Text,
    Status,
    Amount,
    Count,
    Url,
    Ip,
    Lat,
    Lon,
    Code,
}

const COLUMNS: &[(&str, Col)] = &[
    ("ID", Col::Id),
    ("FirstName", Col::First),
    ("LastName", Col::Last),
    ("Email", Col::Email),
    ("Phone", Col::Phone),
    ("DateCreated", Col::DateTime),
    ("DateOfBirth", Col::Date),
    ("Agency", Col::Word),
    ("City", Col::Word),
    ("State", Col::State),
    ("ZipCode", Col::Zip),
    ("Notes", Col::Text),
    ("Status", Col::Status),
    ("Amount", Col::Amount),
    ("Count", Col::Count),
    ("Title", Col::Text),
    ("Description", Col::Text),
    ("URL", Col::Url),
    ("IPAddress", Col::Ip),
    ("Latitude", Col::Lat),
    ("Longitude", Col::Lon),
    ("CaseNumber", Col::Code),
    ("BadgeNumber", Col::Count),
    ("LastLogin", Col::DateTime),
    ("Subject", Col::Text),
    ("Category", Col::Status),
];

#[rustfmt::skip]
const STATES: &[&str] = &[
    "TX", "CA", "NY", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "AZ", "CO",
];
#[rustfmt::skip]
const STATUSES: &[&str] = &[
    "Open", "Closed", "Pending", "Active", "Inactive", "Approved", "Denied", "Archived",
];
const DOMAINS: &[&str] = &["gov", "us", "org", "com", "net"];

fn csv(rng: &mut Rng, out: &mut Vec<u8>, size: usize) {
    let mut cols = vec![Col::Id];
    out.extend_from_slice(COLUMNS[0].0.as_bytes());
    let want = rng.range(4, 11) as f64 / (COLUMNS.len() - 1) as f64;
    for &(name, c) in &COLUMNS[1..] {
        if rng.chance(want) {
            cols.push(c);
            out.push(b',');
            out.extend_from_slice(name.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    let mut id = rng.range(1, 500_000);
    while out.len() < size {
        csv_row(rng, &cols, id, out);
        id += rng.range(1, 3);
    }
}

/// The columns of a CSV file, from its header row (unknown names are text).
fn csv_columns(data: &[u8]) -> Vec<Col> {
    let line = data.split(|&b| b == b'\n').next().unwrap_or(b"");
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.split(|&b| b == b',')
        .map(|name| {
            COLUMNS
                .iter()
                .find(|(n, _)| n.as_bytes() == name)
                .map(|&(_, c)| c)
                .unwrap_or(Col::Text)
        })
        .collect()
}

fn csv_row(rng: &mut Rng, cols: &[Col], id: u64, out: &mut Vec<u8>) {
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match c {
            Col::Id => push_num(out, id, 1),
            Col::First | Col::Last | Col::Word => words(rng, out, 1, b"", true),
            Col::Email => {
                words(rng, out, 2, b".", false);
                out.push(b'@');
                words(rng, out, 1, b"", false);
                out.push(b'.');
                out.extend_from_slice(rng.pick(DOMAINS).as_bytes());
            }
            Col::Phone => {
                out.push(b'(');
                push_num(out, rng.range(200, 999), 3);
                out.extend_from_slice(b") ");
                push_num(out, rng.range(200, 999), 3);
                out.push(b'-');
                push_num(out, rng.below(10_000), 4);
            }
            Col::Date => push_date(rng, out),
            Col::DateTime => {
                // Rows are in time order, like a log.
                let span = R1_TIMES.1 - R1_TIMES.0;
                let t = R1_TIMES.0 + (id * 1811 + rng.below(1800)) % span;
                push_datetime(out, t);
            }
            Col::State => out.extend_from_slice(rng.pick(STATES).as_bytes()),
            Col::Zip => push_num(out, rng.range(10_000, 99_999), 5),
            Col::Text => {
                out.push(b'"');
                let at = out.len();
                let end = at + rng.range(10, 200) as usize;
                text(rng, out, end);
                for b in &mut out[at..] {
                    if *b == b'\n' {
                        *b = b' ';
                    }
                }
                out.push(b'"');
            }
            Col::Status => out.extend_from_slice(rng.pick(STATUSES).as_bytes()),
            Col::Amount => {
                push_num(out, rng.below(10_000), 1);
                out.push(b'.');
                push_num(out, rng.below(100), 2);
            }
            Col::Count => push_num(out, rng.below(5000), 1),
            Col::Url => {
                out.extend_from_slice(b"https://www.");
                words(rng, out, 1, b"", false);
                out.extend_from_slice(b".gov/");
                words(rng, out, 2, b"/", false);
            }
            Col::Ip => {
                for k in 0..4 {
                    if k > 0 {
                        out.push(b'.');
                    }
                    push_num(out, rng.below(256), 1);
                }
            }
            Col::Lat | Col::Lon => {
                if matches!(c, Col::Lon) {
                    out.push(b'-');
                }
                push_num(out, rng.range(25, 120), 1);
                out.push(b'.');
                push_num(out, rng.below(10_000), 4);
            }
            Col::Code => {
                out.extend_from_slice(rng.pick(&["SAR", "CR", "INC", "RFI", "TIP"]).as_bytes());
                out.push(b'-');
                push_num(out, rng.range(15, 20), 2);
                out.push(b'-');
                push_num(out, rng.below(100_000), 5);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

// ---------------------------------------------------------------------------------
// Names.

#[rustfmt::skip]
const CITY_A: &[&str] = &[
    "spring", "river", "oak", "cedar", "lake", "fair", "green", "maple", "pine", "west", "north",
    "east", "south", "clear", "rock", "sand", "elm", "ash", "bay", "mill",
];
#[rustfmt::skip]
const CITY_B: &[&str] = &[
    "field", "side", "dale", "ville", "ton", "wood", "view", "port", "ford", "brook",
];
#[rustfmt::skip]
const PAGE_NAMES: &[&str] = &[
    "Home", "AboutUs", "Contact", "Documents", "Bulletins", "Events", "Training", "Alerts",
    "Links", "Login", "Register", "Search", "News", "Calendar", "Resources", "FAQ",
    "Partners", "Reports", "Requests", "Tips", "Members", "Gallery", "Downloads",
    "Announcements", "Programs", "Services", "Careers", "Privacy", "Terms", "Sitemap",
    "Products", "Updates", "Situational", "Wanted", "Missing", "Cyber", "Terrorism",
    "Gangs", "Narcotics", "Fraud", "Border", "Maritime", "Aviation", "Infrastructure",
    "Health", "Schools", "Officers", "Leadership", "History", "Mission",
];
#[rustfmt::skip]
const TABLE_NAMES: &[&str] = &[
    "Documents", "Users", "Incidents", "Bulletins", "Requests", "Contacts", "Events",
    "Vehicles", "Persons", "Agencies", "Alerts", "Messages", "Logins", "Cases", "Tips",
    "Uploads", "Registrations", "Subscriptions", "Surveys", "Courses", "Attendees",
    "Locations", "Products", "Comments", "Tags", "Categories", "Pages", "Links", "Groups",
    "Permissions", "AuditLog", "EmailQueue", "Sessions", "Settings", "Feedback", "Reports",
];
#[rustfmt::skip]
const UNICODE_BITS: &[&str] = &[
    "_Informe_Policía", "_Müller", "_Señal", "_Straße", "_東京", "_Привет", "_Ωmega",
    "_São_Paulo", "_naïve", "_Zürich", "_résumé", "_Ärger", "_Кузнецов", "_北京", "_Łódź",
];
const LATIN1_BITS: &[&[u8]] = &[b"_caf\xe9", b"_r\xe9sum\xe9", b"_M\xfcller", b"_\xff\xfe"];

fn city(i: usize) -> String {
    let a = CITY_A[i % CITY_A.len()];
    let b = CITY_B[(i / CITY_A.len() + i * 7) % CITY_B.len()];
    format!("{a}{b}")
}

/// A document's name stem, such as `SAR-19-04412_Suspicious_Vehicle`.
fn doc_stem(rng: &mut Rng) -> Vec<u8> {
    let mut s = Vec::new();
    match rng.below(5) {
        0 => {
            words(rng, &mut s, 2, b"_", true);
            s.push(b'_');
            push_date(rng, &mut s);
        }
        1 => {
            s.extend_from_slice(
                rng.pick(&["SAR", "BOLO", "OSINT", "IIR", "SITREP"])
                    .as_bytes(),
            );
            s.push(b'-');
            push_num(&mut s, rng.range(15, 20), 2);
            s.push(b'-');
            push_num(&mut s, rng.below(10_000), 4);
            s.push(b'_');
            words(rng, &mut s, 2, b"_", true);
        }
        2 => words(rng, &mut s, 3, b"", true),
        3 => {
            push_date(rng, &mut s);
            s.push(b'_');
            words(rng, &mut s, 2, b"_", true);
        }
        _ => words(rng, &mut s, 3, b"_", false),
    }
    s
}

/// Makes a few % of names odd: spaces (~3%), non-ASCII UTF-8 (~2%), or bytes that
/// are not UTF-8 (~1 in 5,000).
fn oddify(rng: &mut Rng, mut stem: Vec<u8>) -> Vec<u8> {
    let u = rng.unit();
    if u < 0.0002 {
        stem.extend_from_slice(rng.pick(LATIN1_BITS));
    } else if u < 0.0202 {
        stem.extend_from_slice(rng.pick(UNICODE_BITS).as_bytes());
    } else if u < 0.05 {
        if stem.contains(&b'_') {
            for b in stem.iter_mut() {
                if *b == b'_' {
                    *b = b' ';
                }
            }
        } else {
            stem.extend_from_slice(
                rng.pick(&[" - Copy", " (final)", " v2", " FOUO"])
                    .as_bytes(),
            );
        }
    }
    stem
}

/// `dir/stem (k).ext` for `dir/stem.ext`.
fn with_suffix(p: &[u8], k: u64) -> Vec<u8> {
    let name_at = p.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let dot = p[name_at..]
        .iter()
        .rposition(|&b| b == b'.')
        .map_or(p.len(), |i| name_at + i);
    let mut q = p[..dot].to_vec();
    q.extend_from_slice(format!(" ({k})").as_bytes());
    q.extend_from_slice(&p[dot..]);
    q
}

fn os(p: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(p))
}

// ---------------------------------------------------------------------------------
// release

struct ReleaseArgs {
    dir: PathBuf,
    files: u64,
    seed: u64,
    big: u64,
    big_size: u64,
    copies: bool,
    agencies: usize,
    median: u64,
    sigma: f64,
    dry_run: bool,
}

struct Content {
    kind: Kind,
    size: u64,
    seed: u64,
    mtime: u64,
    paths: Vec<Vec<u8>>,
}

#[derive(Default, Clone)]
struct AgencyState {
    doc_dir: u64,
    doc_left: u64,
    pages: u64,
    tables: u64,
    images: u64,
}

/// 2015-01-01 .. 2020-06-01 (UTC), in seconds.
const R1_TIMES: (u64, u64) = (1_420_070_400, 1_590_969_600);
/// 2020-06-06 .. 2020-12-31: when release 2's new and modified files were written.
const R2_TIMES: (u64, u64) = (1_591_401_600, 1_609_372_800);

fn plan_release(a: &ReleaseArgs) -> (Vec<String>, Vec<Content>) {
    let rng = &mut Rng::new(mix(a.seed, 1));
    let n_ag = a.agencies;
    let agencies: Vec<String> = (0..n_ag)
        .map(|i| format!("agency{i:03}-{}", city(i)))
        .collect();
    // Skewed agency sizes: Zipf-like weights over a shuffled order.
    let mut order: Vec<usize> = (0..n_ag).collect();
    rng.shuffle(&mut order);
    let mut weight = vec![0.0; n_ag];
    for (rank, &ag) in order.iter().enumerate() {
        weight[ag] = 1.0 / (rank as f64 + 1.0).powf(0.9);
    }
    let total: f64 = weight.iter().sum();
    let mut cum = Vec::with_capacity(n_ag);
    let mut acc = 0.0;
    for w in &weight {
        acc += w / total;
        cum.push(acc);
    }
    let pick_agency = |rng: &mut Rng| {
        let x = rng.unit();
        cum.partition_point(|&c| c < x).min(n_ag - 1)
    };

    let mut state = vec![AgencyState::default(); n_ag];
    let mut next_id = 10_000 + rng.below(1000);
    let mut contents = Vec::new();
    let mut files = 0u64;
    let mut id = 0u64;
    while files < a.files {
        let big = id < a.big;
        let kind = if big { Kind::Video } else { Kind::random(rng) };
        let size = if big {
            a.big_size.max(1)
        } else {
            lognormal(rng, a.median, a.sigma)
        };
        let copies = if big {
            1 + id % 2
        } else {
            match rng.below(10) {
                0 | 1 => 1,
                2..=4 => 2,
                5..=7 => 3,
                _ => 4,
            }
        }
        .min(a.files - files);
        let stem = doc_stem(rng);
        let mut used: Vec<usize> = Vec::new();
        let mut paths = Vec::new();
        for j in 0..copies {
            let mut ag = pick_agency(rng);
            // Copies usually land in other agencies' folders.
            if j > 0 && rng.chance(0.85) {
                for _ in 0..10 {
                    if !used.contains(&ag) {
                        break;
                    }
                    ag = pick_agency(rng);
                }
            }
            used.push(ag);
            let st = &mut state[ag];
            let mut p = agencies[ag].as_bytes().to_vec();
            // Copies keep the document's name 70% of the time.
            let stem = if j == 0 || rng.chance(0.7) {
                stem.clone()
            } else {
                doc_stem(rng)
            };
            match kind {
                Kind::Pdf | Kind::Doc | Kind::Txt => {
                    if st.doc_left == 0 {
                        st.doc_dir = next_id;
                        next_id += rng.range(1, 4);
                        st.doc_left = rng.range(1, 3);
                    }
                    st.doc_left -= 1;
                    p.extend_from_slice(format!("/files/Documents/{}/", st.doc_dir).as_bytes());
                    p.extend_from_slice(&oddify(rng, stem));
                }
                Kind::Html | Kind::Csv => {
                    let (dir, names, n) = if kind == Kind::Html {
                        ("/pages/", PAGE_NAMES, &mut st.pages)
                    } else {
                        ("/tables/", TABLE_NAMES, &mut st.tables)
                    };
                    let len = names.len() as u64;
                    let mut name = names[(*n % len) as usize].as_bytes().to_vec();
                    if *n >= len {
                        push_num(&mut name, *n / len + 1, 1);
                    }
                    *n += 1;
                    p.extend_from_slice(dir.as_bytes());
                    p.extend_from_slice(&oddify(rng, name));
                }
                Kind::Jpg => {
                    if rng.chance(0.7) {
                        let mut name = b"IMG_".to_vec();
                        push_num(&mut name, st.images, 5);
                        st.images += 1;
                        p.extend_from_slice(b"/images/");
                        p.extend_from_slice(&oddify(rng, name));
                    } else {
                        p.extend_from_slice(format!("/files/Images/{next_id}/").as_bytes());
                        next_id += rng.range(1, 4);
                        p.extend_from_slice(&oddify(rng, stem));
                    }
                }
                Kind::Video | Kind::Bin => {
                    p.extend_from_slice(format!("/files/Videos/{next_id}/").as_bytes());
                    next_id += rng.range(1, 4);
                    p.extend_from_slice(&stem);
                }
            }
            p.push(b'.');
            p.extend_from_slice(kind.ext().as_bytes());
            paths.push(p);
        }
        contents.push(Content {
            kind,
            size,
            seed: mix(a.seed ^ 0xC0_4E47, id),
            mtime: rng.range(R1_TIMES.0, R1_TIMES.1),
            paths,
        });
        files += copies;
        id += 1;
    }
    // Names are unique by construction almost everywhere; make sure.
    let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(files as usize);
    for c in &mut contents {
        for p in &mut c.paths {
            let mut k = 2;
            while !seen.insert(p.clone()) {
                let q = with_suffix(p, k);
                if !seen.contains(&q) {
                    *p = q;
                }
                k += 1;
            }
        }
    }
    (agencies, contents)
}

/// What writing one content produced.
struct Written {
    len: u64,
    hash: [u8; 32],
    /// (raw, zstd -1) bytes, for sampled contents.
    zstd: Option<(u64, u64)>,
}

fn set_mtime(f: &File, secs: u64) -> io::Result<()> {
    f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
}

fn write_file(path: &Path, data: &[u8], mtime: u64) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    set_mtime(&f, mtime)
}

fn ctx<T>(r: io::Result<T>, what: &str, p: &Path) -> Res<T> {
    r.map_err(|e| format!("{what} {}: {e}", p.display()).into())
}

fn write_content(root: &Path, c: &Content, id: usize, copies: bool, dry: bool) -> Res<Written> {
    let first = root.join(os(&c.paths[0]));
    let mut hasher = blake3::Hasher::new();
    let mut zstd = None;
    let len;
    if dry {
        if c.kind == Kind::Video {
            let mut buf = Vec::with_capacity(BLOCK + 64);
            for i in 0..c.size.div_ceil(BLOCK as u64) {
                buf.clear();
                big_block(c.seed, i, &mut buf);
                let n = (c.size - i * BLOCK as u64).min(buf.len() as u64) as usize;
                hasher.update(&buf[..n]);
            }
            len = c.size;
        } else {
            let data = content(c.kind, c.size, c.seed);
            hasher.update(&data);
            len = data.len() as u64;
            if id % 50 == 7 {
                let z = zstd::bulk::compress(&data, 1)?;
                zstd = Some((len, z.len() as u64));
            }
        }
    } else if c.kind == Kind::Video {
        let mut f = ctx(File::create(&first), "create", &first)?;
        let mut buf = Vec::with_capacity(BLOCK + 64);
        let mut done = 0u64;
        let mut i = 0;
        while done < c.size {
            buf.clear();
            big_block(c.seed, i, &mut buf);
            buf.truncate((c.size - done).min(buf.len() as u64) as usize);
            hasher.update(&buf);
            ctx(f.write_all(&buf), "write", &first)?;
            done += buf.len() as u64;
            i += 1;
        }
        ctx(set_mtime(&f, c.mtime), "set mtime of", &first)?;
        len = c.size;
        for p in &c.paths[1..] {
            let dst = root.join(os(p));
            if copies {
                ctx(fs::copy(&first, &dst), "copy to", &dst)?;
                let f = ctx(File::options().write(true).open(&dst), "open", &dst)?;
                ctx(set_mtime(&f, c.mtime), "set mtime of", &dst)?;
            } else {
                ctx(fs::hard_link(&first, &dst), "link", &dst)?;
            }
        }
    } else {
        let data = content(c.kind, c.size, c.seed);
        hasher.update(&data);
        len = data.len() as u64;
        if id % 50 == 7 {
            let z = zstd::bulk::compress(&data, 1)?;
            zstd = Some((len, z.len() as u64));
        }
        ctx(write_file(&first, &data, c.mtime), "write", &first)?;
        for p in &c.paths[1..] {
            let dst = root.join(os(p));
            if copies {
                ctx(write_file(&dst, &data, c.mtime), "write", &dst)?;
            } else {
                ctx(fs::hard_link(&first, &dst), "link", &dst)?;
            }
        }
    }
    Ok(Written {
        len,
        hash: *hasher.finalize().as_bytes(),
        zstd,
    })
}

fn check_empty(dir: &Path) -> Res<()> {
    if dir.exists() && fs::read_dir(dir)?.next().is_some() {
        return Err(format!("{} exists and is not empty", dir.display()).into());
    }
    fs::create_dir_all(dir)?;
    Ok(())
}

/// `DIR/../NAME.SUFFIX` for `DIR/../NAME`.
fn beside(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "tree".into());
    name.push(suffix);
    dir.with_file_name(name)
}

/// Every ancestor directory of the paths, parents before children.
fn ancestors<'a>(paths: impl Iterator<Item = &'a [u8]>) -> BTreeSet<Vec<u8>> {
    let mut dirs = BTreeSet::new();
    for p in paths {
        for (i, &b) in p.iter().enumerate() {
            if b == b'/' && !dirs.contains(&p[..i]) {
                dirs.insert(p[..i].to_vec());
            }
        }
    }
    dirs
}

fn make_dirs(root: &Path, dirs: &BTreeSet<Vec<u8>>) -> Res<()> {
    let dirs: Vec<&Vec<u8>> = dirs.iter().collect();
    dirs.par_iter().try_for_each(|d| {
        let p = root.join(os(d));
        ctx(fs::create_dir_all(&p), "create", &p)
    })
}

/// Gives the root and every directory a deterministic mtime on the day after `base`
/// (creating entries set them to now). Run after everything is written.
fn set_dir_mtimes(root: &Path, dirs: &BTreeSet<Vec<u8>>, base: u64) -> Res<()> {
    let one = |d: &[u8]| -> Res<()> {
        let p = root.join(os(d));
        let h = u64::from_le_bytes(blake3::hash(d).as_bytes()[..8].try_into().unwrap());
        let f = ctx(File::open(&p), "open", &p)?;
        ctx(set_mtime(&f, base + h % 86_400), "set mtime of", &p)
    };
    let dirs: Vec<&Vec<u8>> = dirs.iter().collect();
    dirs.par_iter().try_for_each(|d| one(d))?;
    one(b"")
}

/// A progress line on stderr at every 10% of `total`.
struct Progress {
    what: &'static str,
    total: u64,
    done: AtomicU64,
    started: Instant,
}

impl Progress {
    fn new(what: &'static str, total: u64) -> Self {
        Progress {
            what,
            total: total.max(1),
            done: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
    fn add(&self, n: u64) {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        let (a, b) = (before * 10 / self.total, (before + n) * 10 / self.total);
        if b > a && b < 10 {
            eprintln!(
                "  {} {}0% ({:.1} s)",
                self.what,
                b,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

fn percentiles(sizes: &mut [u64]) -> Value {
    sizes.sort_unstable();
    let at = |q: f64| -> u64 {
        if sizes.is_empty() {
            return 0;
        }
        sizes[((sizes.len() - 1) as f64 * q).round() as usize]
    };
    json!({
        "p10": at(0.10), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99),
        "max": sizes.last().copied().unwrap_or(0),
    })
}

fn human(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} KB", b / 1e3)
    } else {
        format!("{b} B")
    }
}

fn pct_line(p: &Value) -> String {
    let g = |k: &str| human(p[k].as_u64().unwrap_or(0));
    format!(
        "p10 {} p50 {} p90 {} p99 {} max {}",
        g("p10"),
        g("p50"),
        g("p90"),
        g("p99"),
        g("max")
    )
}

/// Counts of paths with spaces, non-ASCII UTF-8, and bytes that are not UTF-8.
fn name_counts<'a>(paths: impl Iterator<Item = &'a [u8]>) -> Value {
    let (mut space, mut non_ascii, mut non_utf8) = (0u64, 0u64, 0u64);
    for p in paths {
        if p.contains(&b' ') {
            space += 1;
        }
        if std::str::from_utf8(p).is_err() {
            non_utf8 += 1;
        } else if !p.is_ascii() {
            non_ascii += 1;
        }
    }
    json!({ "with_space": space, "non_ascii_utf8": non_ascii, "non_utf8": non_utf8 })
}

fn write_json(path: &Path, v: &Value) -> Res<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    ctx(fs::write(path, s), "write", path)
}

fn release(a: &ReleaseArgs) -> Res<()> {
    let started = Instant::now();
    if !a.dry_run {
        check_empty(&a.dir)?;
    }
    let (agencies, contents) = plan_release(a);
    let planned = started.elapsed().as_secs_f64();
    let dirs = ancestors(contents.iter().flat_map(|c| c.paths.iter().map(|p| &p[..])));
    if !a.dry_run {
        make_dirs(&a.dir, &dirs)?;
    }
    let total: u64 = contents.iter().map(|c| c.size).sum();
    let progress = Progress::new("written", total);
    let written: Vec<Written> = contents
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let w = write_content(&a.dir, c, i, a.copies, a.dry_run);
            progress.add(c.size);
            w
        })
        .collect::<Res<_>>()?;
    if !a.dry_run {
        set_dir_mtimes(&a.dir, &dirs, R1_TIMES.1)?;
    }
    let secs = started.elapsed().as_secs_f64();

    let files: u64 = contents.iter().map(|c| c.paths.len() as u64).sum();
    let logical: u64 = contents
        .iter()
        .zip(&written)
        .map(|(c, w)| w.len * c.paths.len() as u64)
        .sum();
    let unique: u64 = written.iter().map(|w| w.len).sum();
    let distinct = written.iter().map(|w| w.hash).collect::<HashSet<_>>().len();
    let mut sizes: Vec<u64> = contents
        .iter()
        .zip(&written)
        .flat_map(|(c, w)| std::iter::repeat_n(w.len, c.paths.len()))
        .collect();
    let (largest_i, largest) = written
        .iter()
        .enumerate()
        .max_by_key(|(_, w)| w.len)
        .map(|(i, w)| (i, w.len))
        .unwrap_or((0, 0));
    let pct = percentiles(&mut sizes);
    let mut by_kind: BTreeMap<Kind, (u64, u64, u64, u64, u64)> = BTreeMap::new();
    let mut copies_hist: BTreeMap<usize, u64> = BTreeMap::new();
    for (c, w) in contents.iter().zip(&written) {
        let e = by_kind.entry(c.kind).or_default();
        e.0 += c.paths.len() as u64;
        e.1 += 1;
        e.2 += w.len * c.paths.len() as u64;
        if let Some((raw, z)) = w.zstd {
            e.3 += raw;
            e.4 += z;
        }
        *copies_hist.entry(c.paths.len()).or_default() += 1;
    }
    let (zr, zc) = written
        .iter()
        .filter_map(|w| w.zstd)
        .fold((0, 0), |(a, b), (r, c)| (a + r, b + c));
    let ratio = |r: u64, c: u64| if c == 0 { 0.0 } else { r as f64 / c as f64 };
    let kinds: serde_json::Map<String, Value> = by_kind
        .iter()
        .map(|(k, &(files, uniq, bytes, r, c))| {
            (
                k.ext().to_string(),
                json!({ "files": files, "unique": uniq, "logical_bytes": bytes,
                        "zstd1_ratio_sample": (ratio(r, c) * 100.0).round() / 100.0 }),
            )
        })
        .collect();
    let summary = json!({
        "command": "release",
        "dir": a.dir.display().to_string(),
        "seed": a.seed,
        "files": files,
        "unique_contents": contents.len(),
        "distinct_blake3": distinct,
        "agencies": agencies.len(),
        "dirs": dirs.len(),
        "logical_bytes": logical,
        "unique_bytes": unique,
        "dedup_ratio_files": files as f64 / contents.len().max(1) as f64,
        "dedup_ratio_bytes": logical as f64 / unique.max(1) as f64,
        "copies_histogram": copies_hist,
        "largest": { "path": escape_bytes(&contents[largest_i].paths[0]), "size": largest },
        "size_percentiles": pct,
        "kinds": kinds,
        "names": name_counts(contents.iter().flat_map(|c| c.paths.iter().map(|p| &p[..]))),
        "duplicates": if a.copies { "copies" } else { "hard links" },
        "big": { "count": a.big.min(contents.len() as u64), "size": a.big_size },
        "zstd1_ratio_sample": ratio(zr, zc),
        "plan_seconds": planned,
        "seconds": secs,
    });
    let out = beside(&a.dir, ".gen.json");
    if !a.dry_run {
        write_json(&out, &summary)?;
    }
    println!(
        "release {}{}: {} files, {} unique contents ({} distinct BLAKE3), {:.2}x dedup by files, {:.2}x by bytes; {} logical, {} unique; sizes {}; zstd-1 sample {:.2}x; {:.1} s ({:.0} files/s); summary {}",
        a.dir.display(),
        if a.dry_run { " (dry run)" } else { "" },
        files,
        contents.len(),
        distinct,
        files as f64 / contents.len().max(1) as f64,
        logical as f64 / unique.max(1) as f64,
        human(logical),
        human(unique),
        pct_line(&summary["size_percentiles"]),
        ratio(zr, zc),
        secs,
        files as f64 / secs,
        out.display()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------
// derive

struct FileRec {
    path: Vec<u8>,
    size: u64,
    dev: u64,
    ino: u64,
}

/// Every directory and regular file under `root` (relative paths; other kinds are
/// skipped with a warning).
fn walk(root: &Path) -> Res<(Vec<Vec<u8>>, Vec<FileRec>)> {
    fn walk_dir(
        root: &Path,
        rel: &[u8],
        dirs: &mut Vec<Vec<u8>>,
        files: &mut Vec<FileRec>,
    ) -> Res<()> {
        let dir = root.join(os(rel));
        for e in ctx(fs::read_dir(&dir), "read", &dir)? {
            let e = e?;
            let mut p = rel.to_vec();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(e.file_name().as_bytes());
            let t = e.file_type()?;
            if t.is_dir() {
                dirs.push(p.clone());
                walk_dir(root, &p, dirs, files)?;
            } else if t.is_file() {
                let m = e.metadata()?;
                files.push(FileRec {
                    path: p,
                    size: m.len(),
                    dev: m.dev(),
                    ino: m.ino(),
                });
            } else {
                eprintln!("gen-leak: skipping {} (not a file)", escape_bytes(&p));
            }
        }
        Ok(())
    }
    let mut top = Vec::new();
    let mut files = Vec::new();
    for e in ctx(fs::read_dir(root), "read", root)? {
        let e = e?;
        let p = e.file_name().as_bytes().to_vec();
        let t = e.file_type()?;
        if t.is_dir() {
            top.push(p);
        } else if t.is_file() {
            let m = e.metadata()?;
            files.push(FileRec {
                path: p,
                size: m.len(),
                dev: m.dev(),
                ino: m.ino(),
            });
        }
    }
    let parts: Vec<(Vec<Vec<u8>>, Vec<FileRec>)> = top
        .par_iter()
        .map(|t| -> Res<_> {
            let (mut d, mut f) = (vec![t.clone()], Vec::new());
            walk_dir(root, t, &mut d, &mut f)?;
            Ok((d, f))
        })
        .collect::<Res<_>>()?;
    let mut dirs = Vec::new();
    for (d, f) in parts {
        dirs.extend(d);
        files.extend(f);
    }
    dirs.sort();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((dirs, files))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Keep,
    Remove,
    Rename,
    Modify,
}

enum Job {
    /// Hard link FROM/src at TO/dst (kept, renamed, or an added duplicate).
    Link {
        src: usize,
        dst: Vec<u8>,
    },
    Modify {
        src: usize,
        seed: u64,
    },
    New {
        dst: Vec<u8>,
        kind: Kind,
        size: u64,
        seed: u64,
    },
}

struct JobOut {
    size: u64,
    how: &'static str,
    hash: Option<[u8; 32]>,
}

/// A random 7-digit folder id, above release 1's ids.
fn new_id(rng: &mut Rng) -> u64 {
    rng.range(5_000_000, 9_999_999)
}

/// A new name of `kind` (with its extension).
fn new_name(rng: &mut Rng, kind: Kind) -> Vec<u8> {
    let mut n = match kind {
        Kind::Html => {
            let mut n = rng.pick(PAGE_NAMES).as_bytes().to_vec();
            push_num(&mut n, rng.range(2, 999), 1);
            n
        }
        Kind::Csv => {
            let mut n = rng.pick(TABLE_NAMES).as_bytes().to_vec();
            push_num(&mut n, rng.range(2, 999), 1);
            n
        }
        Kind::Jpg if rng.chance(0.5) => {
            let mut n = b"IMG_".to_vec();
            push_num(&mut n, rng.below(1_000_000), 6);
            n
        }
        _ => doc_stem(rng),
    };
    n = oddify(rng, n);
    n.push(b'.');
    n.extend_from_slice(kind.ext().as_bytes());
    n
}

/// Where a renamed or moved file goes: a new name in its folder (40%), its name in
/// another folder of its agency (35%), or its path in another agency (25%).
fn rename_target(rng: &mut Rng, p: &[u8], agencies: &[Vec<u8>]) -> Vec<u8> {
    let comps: Vec<&[u8]> = p.split(|&b| b == b'/').collect();
    let name = comps[comps.len() - 1];
    let dir = &p[..p.len() - name.len()];
    let x = rng.below(100);
    if x < 40 || comps.len() < 2 {
        let mut q = dir.to_vec();
        q.extend_from_slice(&new_name(rng, Kind::of_path(p)));
        q
    } else if x < 75 || agencies.len() < 2 {
        let numbered = comps.len() >= 4
            && comps[1] == b"files"
            && comps[comps.len() - 2].iter().all(u8::is_ascii_digit);
        let mut q = Vec::new();
        if numbered {
            // files/Documents/<id>/name -> files/Documents/<new id>/name
            for c in &comps[..comps.len() - 2] {
                q.extend_from_slice(c);
                q.push(b'/');
            }
            push_num(&mut q, new_id(rng), 1);
            q.push(b'/');
        } else {
            q.extend_from_slice(dir);
            q.extend_from_slice(rng.pick(&["Archive/", "old/", "2020/", "Misc/"]).as_bytes());
        }
        q.extend_from_slice(name);
        q
    } else {
        let mut q = agencies[rng.below(agencies.len() as u64) as usize].clone();
        q.extend_from_slice(&p[comps[0].len()..]);
        q
    }
}

/// A path for a new file of `kind` in `agency`, named `name` (with its extension).
fn added_path(rng: &mut Rng, agency: &[u8], kind: Kind, name: &[u8]) -> Vec<u8> {
    let mut q = agency.to_vec();
    match kind {
        Kind::Html => q.extend_from_slice(b"/pages/"),
        Kind::Csv => q.extend_from_slice(b"/tables/"),
        Kind::Jpg if name.starts_with(b"IMG_") => q.extend_from_slice(b"/images/"),
        Kind::Jpg => q.extend_from_slice(b"/files/Images/"),
        Kind::Video => q.extend_from_slice(b"/files/Videos/"),
        _ => q.extend_from_slice(b"/files/Documents/"),
    }
    if !matches!(kind, Kind::Html | Kind::Csv) && !name.starts_with(b"IMG_") {
        push_num(&mut q, new_id(rng), 1);
        q.push(b'/');
    }
    q.extend_from_slice(name);
    q
}

/// Modifies `data` of a file of `kind` in one of the ways of `changes.json`.
fn modify(rng: &mut Rng, kind: Kind, mut data: Vec<u8>) -> (Vec<u8>, &'static str) {
    let len = data.len();
    let x = rng.below(100);
    let how = if kind == Kind::Csv {
        match x {
            0..=69 => "csv_rows_appended",
            70..=84 => "truncated",
            _ => "bytes_overwritten",
        }
    } else {
        match x {
            0..=39 => "appended_bytes",
            40..=74 => "bytes_overwritten",
            _ => "truncated",
        }
    };
    let how = match how {
        "truncated" if len < 2 => "appended_bytes",
        "bytes_overwritten" if len < 64 => "appended_bytes",
        h => h,
    };
    match how {
        "csv_rows_appended" => {
            let cols = csv_columns(&data);
            if !data.ends_with(b"\n") {
                data.extend_from_slice(b"\r\n");
            }
            let first = rng.range(600_000, 900_000);
            for id in first..first + rng.range(1, 40) {
                csv_row(rng, &cols, id, &mut data);
            }
        }
        "appended_bytes" => {
            let n = rng.range(64, 16 << 10) as usize;
            if kind.is_text() {
                let end = len + n;
                data.push(b'\n');
                text(rng, &mut data, end);
            } else {
                rng.fill(&mut data, n);
            }
        }
        "bytes_overwritten" => {
            let span = rng.range(16, (len as u64 / 4).clamp(16, 4096)) as usize;
            let jitter = rng.below(len as u64 / 8 + 1) as usize;
            let start = (len / 2 + jitter).saturating_sub(span / 2).min(len - span);
            let mut new = Vec::with_capacity(span);
            if kind.is_text() {
                text(rng, &mut new, span);
            } else {
                rng.fill(&mut new, span);
            }
            // Bytes equal by chance at the ends would make the overwrite look shorter.
            for (i, b) in new.iter_mut().enumerate() {
                if *b == data[start + i] && (i == 0 || i == span - 1) {
                    *b ^= 0x20;
                }
            }
            data[start..start + span].copy_from_slice(&new);
        }
        _ => {
            let keep = (len as f64 * (0.5 + 0.45 * rng.unit())) as usize;
            data.truncate(keep.clamp(1, len - 1));
        }
    }
    (data, how)
}

fn hash_file(p: &Path) -> Res<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    ctx(h.update_mmap(p), "hash", p)?;
    Ok(*h.finalize().as_bytes())
}

fn derive(from: &Path, to: &Path, seed: u64, percent: f64) -> Res<()> {
    let started = Instant::now();
    if !from.is_dir() {
        return Err(format!("{} is not a directory", from.display()).into());
    }
    check_empty(to)?;
    let (dirs, files) = walk(from)?;
    if files.is_empty() {
        return Err(format!("{} has no files", from.display()).into());
    }
    let walked = started.elapsed().as_secs_f64();
    let n = files.len();
    let k = (((n as f64) * percent / 100.0).round() as usize).min(n / 3);
    let rng = &mut Rng::new(mix(seed, 2));
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut role = vec![Role::Keep; n];
    for (j, &i) in order.iter().take(3 * k).enumerate() {
        role[i] = [Role::Remove, Role::Rename, Role::Modify][j / k.max(1)];
    }
    let agencies: Vec<Vec<u8>> = dirs
        .iter()
        .filter(|d| !d.contains(&b'/'))
        .cloned()
        .collect();
    let mut taken: HashSet<Vec<u8>> = files.iter().map(|f| f.path.clone()).collect();
    // Added duplicates copy content none of whose paths is removed or renamed, so
    // that a diff can only call them duplicates.
    let touched: HashSet<(u64, u64)> = (0..n)
        .filter(|&i| matches!(role[i], Role::Remove | Role::Rename))
        .map(|i| (files[i].dev, files[i].ino))
        .collect();
    let eligible: Vec<usize> = (0..n)
        .filter(|&i| role[i] == Role::Keep && !touched.contains(&(files[i].dev, files[i].ino)))
        .collect();

    let mut jobs = Vec::with_capacity(n + k);
    let mut renamed = Vec::new();
    let mut removed = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match role[i] {
            Role::Keep => {
                jobs.push(Job::Link {
                    src: i,
                    dst: f.path.clone(),
                });
            }
            Role::Remove => removed.push(i),
            Role::Rename => {
                let mut to = rename_target(rng, &f.path, &agencies);
                let mut tries = 0;
                while taken.contains(&to) {
                    tries += 1;
                    to = if tries < 20 {
                        rename_target(rng, &f.path, &agencies)
                    } else {
                        with_suffix(&f.path, tries)
                    };
                }
                taken.insert(to.clone());
                renamed.push((i, to.clone()));
                jobs.push(Job::Link { src: i, dst: to });
            }
            Role::Modify => jobs.push(Job::Modify {
                src: i,
                seed: mix(seed ^ 0x30D, i as u64),
            }),
        }
    }
    let mut added_dups = 0u64;
    for j in 0..k {
        let (dst, job_kind) = if !eligible.is_empty() && rng.chance(0.25) {
            let src = eligible[rng.below(eligible.len() as u64) as usize];
            let sp = &files[src].path;
            let kind = Kind::of_path(sp);
            let name = sp.rsplit(|&b| b == b'/').next().unwrap_or(sp).to_vec();
            let agency = &files[rng.below(n as u64) as usize].path;
            let agency = agency.split(|&b| b == b'/').next().unwrap_or(b"");
            added_dups += 1;
            (added_path(rng, agency, kind, &name), Some(src))
        } else {
            let kind = Kind::random(rng);
            let name = new_name(rng, kind);
            let agency = &files[rng.below(n as u64) as usize].path;
            let agency = agency.split(|&b| b == b'/').next().unwrap_or(b"");
            (added_path(rng, agency, kind, &name), None)
        };
        let mut dst = dst;
        let mut t = 2;
        while taken.contains(&dst) {
            dst = with_suffix(&dst, t);
            t += 1;
        }
        taken.insert(dst.clone());
        match job_kind {
            Some(src) => {
                jobs.push(Job::Link { src, dst });
            }
            None => {
                let kind = Kind::of_path(&dst);
                jobs.push(Job::New {
                    size: lognormal(rng, 20 * 1024, 1.4),
                    seed: mix(seed ^ 0xADD, j as u64),
                    kind,
                    dst,
                });
            }
        }
    }

    // Directories: all of FROM's, and the new ones.
    let mut all_dirs: BTreeSet<Vec<u8>> = dirs.into_iter().collect();
    all_dirs.extend(ancestors(jobs.iter().map(|j| match j {
        Job::Link { dst, .. } | Job::New { dst, .. } => &dst[..],
        Job::Modify { src, .. } => &files[*src].path[..],
    })));
    make_dirs(to, &all_dirs)?;
    let total: u64 = jobs.len() as u64;
    let progress = Progress::new("linked or written", total);
    let outs: Vec<JobOut> = jobs
        .par_iter()
        .map(|j| {
            let r = run_job(from, to, &files, j);
            progress.add(1);
            r
        })
        .collect::<Res<_>>()?;
    set_dir_mtimes(to, &all_dirs, R2_TIMES.1)?;
    let secs_written = started.elapsed().as_secs_f64();
    // Content ids of what left, for scoring a diff whose pairing differs only among
    // paths of equal content.
    let old_hash: HashMap<usize, [u8; 32]> = removed
        .iter()
        .copied()
        .chain(renamed.iter().map(|(i, _)| *i))
        .chain(jobs.iter().filter_map(|j| match j {
            Job::Modify { src, .. } => Some(*src),
            _ => None,
        }))
        .collect::<Vec<_>>()
        .par_iter()
        .map(|&i| Ok((i, hash_file(&from.join(os(&files[i].path)))?)))
        .collect::<Res<_>>()?;
    let hex = |h: &[u8; 32]| blake3::Hash::from(*h).to_hex().to_string();

    let mut changes_removed = Vec::new();
    for &i in &removed {
        changes_removed.push(json!({
            "path": escape_bytes(&files[i].path),
            "size": files[i].size,
            "blake3": hex(&old_hash[&i]),
        }));
    }
    let changes_renamed: Vec<Value> = renamed
        .iter()
        .map(|(i, to)| {
            json!({
                "from": escape_bytes(&files[*i].path),
                "to": escape_bytes(to),
                "size": files[*i].size,
                "blake3": hex(&old_hash[i]),
            })
        })
        .collect();
    let mut changes_modified = Vec::new();
    let mut changes_added = Vec::new();
    let mut sizes = Vec::with_capacity(jobs.len());
    let mut logical = 0u64;
    let mut unique_bytes: u64 = 0;
    let mut seen_ino: HashSet<(u64, u64)> = HashSet::new();
    let mut hows: BTreeMap<&str, u64> = BTreeMap::new();
    let mut largest: (u64, Vec<u8>) = (0, Vec::new());
    for (j, o) in jobs.iter().zip(&outs) {
        sizes.push(o.size);
        logical += o.size;
        let path = match j {
            Job::Link { src, dst } => {
                let f = &files[*src];
                if seen_ino.insert((f.dev, f.ino)) {
                    unique_bytes += f.size;
                }
                dst
            }
            Job::Modify { src, .. } => {
                unique_bytes += o.size;
                *hows.entry(o.how).or_default() += 1;
                changes_modified.push(json!({
                    "path": escape_bytes(&files[*src].path),
                    "how": o.how,
                    "old_size": files[*src].size,
                    "new_size": o.size,
                    "old_blake3": hex(&old_hash[src]),
                    "new_blake3": o.hash.map(|h| hex(&h)),
                }));
                &files[*src].path
            }
            Job::New { dst, .. } => {
                unique_bytes += o.size;
                changes_added.push(json!({
                    "path": escape_bytes(dst),
                    "size": o.size,
                    "dup_of": null,
                    "blake3": o.hash.map(|h| hex(&h)),
                }));
                dst
            }
        };
        if o.size > largest.0 {
            largest = (o.size, path.clone());
        }
    }
    // Added duplicates: links whose destination is not a FROM path and not a rename.
    let renamed_to: HashSet<&Vec<u8>> = renamed.iter().map(|(_, t)| t).collect();
    for j in &jobs {
        if let Job::Link { src, dst } = j
            && dst != &files[*src].path
            && !renamed_to.contains(dst)
        {
            changes_added.push(json!({
                "path": escape_bytes(dst),
                "size": files[*src].size,
                "dup_of": escape_bytes(&files[*src].path),
                "blake3": null,
            }));
        }
    }
    let unique_contents = seen_ino.len() + changes_modified.len() + (k - added_dups as usize);
    let pct = percentiles(&mut sizes);
    let counts = json!({
        "from_files": n,
        "files": jobs.len(),
        "removed": removed.len(),
        "renamed": renamed.len(),
        "modified": changes_modified.len(),
        "added": changes_added.len(),
        "added_unique": k as u64 - added_dups,
        "added_duplicates": added_dups,
        "modified_how": hows,
    });
    let changes = json!({
        "from": from.display().to_string(),
        "to": to.display().to_string(),
        "seed": seed,
        "percent": percent,
        "counts": counts,
        "removed": changes_removed,
        "renamed": changes_renamed,
        "modified": changes_modified,
        "added": changes_added,
    });
    let changes_path = beside(to, ".changes.json");
    write_json(&changes_path, &changes)?;
    let secs = started.elapsed().as_secs_f64();
    let summary = json!({
        "command": "derive",
        "from": from.display().to_string(),
        "to": to.display().to_string(),
        "seed": seed,
        "percent": percent,
        "files": jobs.len(),
        "unique_contents": unique_contents,
        "unique_contents_note": "distinct inodes of FROM kept, plus modified and new files (exact when FROM uses hard links)",
        "dirs": all_dirs.len(),
        "logical_bytes": logical,
        "unique_bytes": unique_bytes,
        "dedup_ratio_files": jobs.len() as f64 / unique_contents.max(1) as f64,
        "dedup_ratio_bytes": logical as f64 / unique_bytes.max(1) as f64,
        "largest": { "path": escape_bytes(&largest.1), "size": largest.0 },
        "size_percentiles": pct,
        "names": name_counts(jobs.iter().map(|j| match j {
            Job::Link { dst, .. } | Job::New { dst, .. } => &dst[..],
            Job::Modify { src, .. } => &files[*src].path[..],
        })),
        "counts": counts,
        "changes": changes_path.display().to_string(),
        "walk_seconds": walked,
        "write_seconds": secs_written - walked,
        "seconds": secs,
    });
    let out = beside(to, ".gen.json");
    write_json(&out, &summary)?;
    println!(
        "derive {} -> {}: {} files ({} removed, {} renamed, {} modified, {} added of which {} duplicates); {} unique contents (by inode), {:.2}x dedup by bytes; {} logical; sizes {}; {:.1} s; changes {}",
        from.display(),
        to.display(),
        jobs.len(),
        removed.len(),
        renamed.len(),
        changes_modified.len(),
        changes_added.len(),
        added_dups,
        unique_contents,
        logical as f64 / unique_bytes.max(1) as f64,
        human(logical),
        pct_line(&summary["size_percentiles"]),
        secs,
        changes_path.display()
    );
    Ok(())
}

fn run_job(from: &Path, to: &Path, files: &[FileRec], j: &Job) -> Res<JobOut> {
    match j {
        Job::Link { src, dst } => {
            let (s, d) = (from.join(os(&files[*src].path)), to.join(os(dst)));
            ctx(fs::hard_link(&s, &d), "link", &d)?;
            Ok(JobOut {
                size: files[*src].size,
                how: "",
                hash: None,
            })
        }
        Job::Modify { src, seed } => {
            let p = &files[*src].path;
            let s = from.join(os(p));
            let data = ctx(fs::read(&s), "read", &s)?;
            let rng = &mut Rng::new(*seed);
            let (data, how) = modify(rng, Kind::of_path(p), data);
            let d = to.join(os(p));
            ctx(
                write_file(&d, &data, rng.range(R2_TIMES.0, R2_TIMES.1)),
                "write",
                &d,
            )?;
            Ok(JobOut {
                size: data.len() as u64,
                how,
                hash: Some(*blake3::hash(&data).as_bytes()),
            })
        }
        Job::New {
            dst,
            kind,
            size,
            seed,
        } => {
            let data = content(*kind, *size, *seed);
            let d = to.join(os(dst));
            let mtime = Rng::new(*seed ^ 0x7).range(R2_TIMES.0, R2_TIMES.1);
            ctx(write_file(&d, &data, mtime), "write", &d)?;
            Ok(JobOut {
                size: data.len() as u64,
                how: "",
                hash: Some(*blake3::hash(&data).as_bytes()),
            })
        }
    }
}
