//! Byte flips across the whole store file: the redb header and its commit slots, the
//! branch and leaf pages of every table, chunk data, page slack and free pages.
//!
//! A small store (three releases, a few dozen files, multi-chunk files, a symlink) is
//! built with the binary. For each offset, a copy of the store gets one byte XORed,
//! and custody runs on it: `ls` and `extract` of every release, then `fsck
//! --read-data` (last, because it records the damage it finds in the store). Every
//! child runs under a timeout. For every flip:
//!
//! - no child panics (no `panicked at` on stderr), hangs or dies of a signal, and every
//!   exit code is 0, 1 or 2;
//! - every file `extract` writes equals the original byte for byte; when it fails it
//!   exits non-zero with a `custody: error:` line;
//! - a flip is **harmless** only when fsck is clean and every release lists and
//!   extracts exactly as before (content, mtimes, symlinks). fsck clean while some
//!   listing or extract differs or fails is a **failure**; fsck reporting damage (exit
//!   1) or refusing the file (exit 2) is **detected**.
//!
//! Offsets are classified with `custody::store::pages` on the undamaged file.
//! `flip_sweep_ci` flips a few offsets of every region; `flip_sweep_full` (ignored;
//! `benches/flip-sweep.sh` runs it in release mode) flips `CUSTODY_FLIP_PER_PAGE`
//! (default 4) offsets of every 4 KiB of the file, three in the used part of every
//! tree page (branch pages are mostly slack) and the header fields, and prints
//! the table docs/RELIABILITY.md quotes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use custody::ops::demo::{copy_tree, pseudo_random};
use custody::store::pages::{PageUse, check_file};

use crate::common::*;

/// A child running longer than this is a hang.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// The header fields worth flipping one by one (offsets in the file).
const HEADER_FIELDS: [(u64, &str); 14] = [
    (0, "magic"),
    (9, "god byte"),
    (12, "page size"),
    (16, "region header pages"),
    (20, "region max data pages"),
    (24, "full regions"),
    (28, "trailing region pages"),
    (64, "slot 0 version"),
    (72, "slot 0 user root"),
    (80, "slot 0 user root checksum"),
    (168, "slot 0 transaction id"),
    (200, "slot 1 user root"),
    (240, "slot 1 system root checksum"),
    (300, "slot 1 checksum"),
];

fn write(p: &Path, data: &[u8]) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

/// Three release trees: r1 and r2 are edits of the one before.
fn make_trees(root: &Path) -> Vec<(String, PathBuf)> {
    let r0 = root.join("r0");
    for i in 0..24 {
        let dir = ["letters", "memos", "data/csv"][i % 3];
        let body = if i % 4 == 0 {
            pseudo_random(&format!("small {i}"), 200 + 97 * i)
        } else {
            format!("document {i}\n{}", "line of text, ".repeat(20 + 13 * i)).into_bytes()
        };
        write(&r0.join(format!("{dir}/doc{i:02}.txt")), &body);
    }
    write(&r0.join("empty"), b"");
    // Enough rows that the entry, content and similarity tables grow branch pages.
    for i in 0..150 {
        write(
            &r0.join(format!("mail/m{:03}/msg{i:04}.eml", i / 50)),
            format!("From: {i}@example.org\nSubject: {}\n", i * 31).as_bytes(),
        );
    }
    // Incompressible and multi-chunk: stored verbatim, ~10 chunks.
    write(&r0.join("scans/big.bin"), &pseudo_random("big", 320 * 1024));
    std::os::unix::fs::symlink("letters/doc00.txt", r0.join("link")).unwrap();

    let r1 = root.join("r1");
    copy_tree(&r0, &r1).unwrap();
    for i in [1usize, 5, 9] {
        let dir = ["letters", "memos", "data/csv"][i % 3];
        write(
            &r1.join(format!("{dir}/doc{i:02}.txt")),
            format!("edited {i}").as_bytes(),
        );
    }
    for i in 0..6 {
        write(
            &r1.join(format!("new/n{i}.txt")),
            &pseudo_random(&format!("new {i}"), 3000 + i),
        );
    }
    let r2 = root.join("r2");
    copy_tree(&r1, &r2).unwrap();
    fs::remove_file(r2.join("memos/doc04.txt")).unwrap();
    // Compressible and multi-chunk.
    let mut text = Vec::new();
    for i in 0..6000 {
        text.extend_from_slice(format!("row {i}, {}, {}\n", i * 7919 % 1000, i % 13).as_bytes());
    }
    write(&r2.join("data/big.csv"), &text);
    vec![("r0".into(), r0), ("r1".into(), r1), ("r2".into(), r2)]
}

/// What a run of a child gave.
struct Run {
    out: Output,
    timed_out: bool,
}

fn run_timed(store: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(custody_bin())
        .env("CUSTODY_STORE", store)
        .env_remove("CUSTODY_COMMIT_INTERVAL_MS")
        .env_remove("RUST_BACKTRACE")
        .arg("--quiet")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn custody");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > CHILD_TIMEOUT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        out: Output {
            status,
            stdout: t_out.join().unwrap(),
            stderr: t_err.join().unwrap(),
        },
        timed_out,
    }
}

/// Where an offset lies, for the table.
fn region_of(offset: u64, page_size: u64, pages: &[PageUse], big_table: &str) -> String {
    if offset < page_size {
        return if offset < 64 {
            "header: fields"
        } else if offset < 320 {
            "header: commit slots"
        } else {
            "header: padding"
        }
        .into();
    }
    for p in pages {
        if (p.offset..p.offset + p.len).contains(&offset) {
            if offset >= p.offset + p.used {
                return "page slack (past a page's used bytes)".into();
            }
            if p.owner == big_table && !p.branch {
                return "segments: chunk data leaves".into();
            }
            let owner = if p.owner.starts_with("system: ") {
                "system tables (allocator state, freed lists)"
            } else {
                p.owner.as_str()
            };
            return format!("{owner} {}", if p.branch { "branch" } else { "leaf" });
        }
    }
    "free or unreachable pages".into()
}

#[derive(Default, Clone, Copy)]
struct Tally {
    flips: u64,
    detected: u64,
    harmless: u64,
    repaired: u64,
    failures: u64,
}

struct Sweep {
    scratch: Scratch,
    trees: Vec<(String, PathBuf)>,
    original: Vec<u8>,
    pages: Vec<PageUse>,
    page_size: u64,
    /// `ls -R` output of each release on the undamaged store.
    listings: Vec<String>,
}

impl Sweep {
    fn build() -> Sweep {
        let scratch = Scratch::new();
        let trees = make_trees(&scratch.path().join("src"));
        scratch.init();
        let mut parent: Option<String> = None;
        for (name, dir) in &trees {
            let mut args = vec!["ingest", dir.to_str().unwrap(), "--release", name.as_str()];
            if let Some(p) = &parent {
                args.extend(["--parent", p.as_str()]);
            }
            scratch.ok(&args);
            parent = Some(name.clone());
        }
        let store = scratch.store();
        let f = scratch.json(&["fsck", "--read-data"]);
        assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
        let listings = trees
            .iter()
            .map(|(n, _)| scratch.ok(&["ls", "-R", n]))
            .collect();
        // Mapped last: fsck's writable open above may move system pages.
        let check = check_file(&store, &[]).unwrap();
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        Sweep {
            original: fs::read(&store).unwrap(),
            pages: check.pages,
            page_size: check.page_size,
            trees,
            listings,
            scratch,
        }
    }

    /// Flips the byte at `offset` (XOR `mask`) in a copy, runs every check; returns
    /// "detected", "harmless" or a failure description.
    fn flip(&self, n: usize, offset: u64, mask: u8) -> std::result::Result<&'static str, String> {
        let dir = self.scratch.path().join(format!("flip{n}"));
        fs::create_dir_all(&dir).unwrap();
        let copy = dir.join("store.redb");
        let mut data = self.original.clone();
        data[offset as usize] ^= mask;
        fs::write(&copy, &data).unwrap();
        let mut errors = Vec::new();
        let mut differs = Vec::new();
        let check = |what: &str, r: &Run, errors: &mut Vec<String>| {
            let e = stderr(&r.out);
            if r.timed_out {
                errors.push(format!("{what}: no exit within {CHILD_TIMEOUT:?}"));
            } else if e.contains("panicked at") {
                errors.push(format!("{what}: panicked: {e}"));
            } else if !matches!(r.out.status.code(), Some(0..=2)) {
                errors.push(format!("{what}: exit {:?}: {e}", r.out.status));
            } else if code(&r.out) != 0 && !e.contains("custody: error:") && what != "fsck" {
                errors.push(format!("{what}: failed without an error message: {e}"));
            }
        };
        for (i, (name, src)) in self.trees.iter().enumerate() {
            let r = run_timed(&copy, &["ls", "-R", name]);
            check(&format!("ls {name}"), &r, &mut errors);
            if code(&r.out) != 0 {
                differs.push(format!("ls {name} failed: {}", stderr(&r.out).trim()));
            } else if stdout(&r.out) != self.listings[i] {
                differs.push(format!("ls {name} lists differently"));
            }
            let to = dir.join(format!("out-{name}"));
            let r = run_timed(&copy, &["extract", name, "--to", to.to_str().unwrap()]);
            check(&format!("extract {name}"), &r, &mut errors);
            // Whatever was written must be the original's bytes.
            if let Some(bad) = wrong_bytes(&to, &to, src) {
                errors.push(format!("extract {name} wrote wrong bytes: {bad}"));
            }
            if code(&r.out) != 0 {
                differs.push(format!("extract {name} failed: {}", stderr(&r.out).trim()));
            } else if let Some(d) = custody::ops::demo::compare_trees(src, &to).unwrap() {
                differs.push(format!("extract {name} exited 0 but differs: {d}"));
            }
        }
        // redb repairs some damage when a reader's open needs a writer's recovery
        // (custody then opens the store for writing once): note when that happened.
        let repaired = fs::read(&copy).unwrap() != data;
        let r = run_timed(&copy, &["fsck", "--read-data"]);
        check("fsck", &r, &mut errors);
        let clean = code(&r.out) == 0;
        if std::env::var_os("CUSTODY_FLIP_VERBOSE").is_some() {
            let first = stdout(&r.out)
                .lines()
                .find(|l| l.starts_with("DAMAGE"))
                .map(str::to_string)
                .unwrap_or_else(|| stderr(&r.out).trim().to_string());
            eprintln!(
                "flip {offset} xor {mask:#04x}: fsck exit {} {first:.160}; differs: {:.200}",
                code(&r.out),
                differs.join("; ")
            );
        }
        fs::remove_dir_all(&dir).unwrap();
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        match (clean, differs.is_empty()) {
            (true, true) if repaired => Ok("repaired"),
            (true, true) => Ok("harmless"),
            (true, false) => Err(format!(
                "fsck is clean but the store is not: {}",
                differs.join("; ")
            )),
            (false, _) => Ok("detected"),
        }
    }

    /// Runs the flips and returns the per-region table; panics listing every failure.
    fn run(&self, offsets: &[(u64, u8)], table_file: Option<&Path>) -> String {
        let started = Instant::now();
        let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
        let mut failures = Vec::new();
        for (n, &(offset, mask)) in offsets.iter().enumerate() {
            let region = region_of(offset, self.page_size, &self.pages, "segments");
            let t = tally.entry(region.clone()).or_default();
            t.flips += 1;
            match self.flip(n, offset, mask) {
                Ok("harmless") => t.harmless += 1,
                Ok("repaired") => t.repaired += 1,
                Ok(_) => t.detected += 1,
                Err(e) => {
                    t.failures += 1;
                    failures.push(format!("offset {offset} ({region}, xor {mask:#04x}): {e}"));
                }
            }
        }
        let mut table = String::from(
            "| region | flips | detected | harmless | repaired on open | failures |\n|---|---|---|---|---|---|\n",
        );
        let mut total = Tally::default();
        for (region, t) in &tally {
            let _ = writeln!(
                table,
                "| {region} | {} | {} | {} | {} | {} |",
                t.flips, t.detected, t.harmless, t.repaired, t.failures
            );
            total.flips += t.flips;
            total.detected += t.detected;
            total.harmless += t.harmless;
            total.repaired += t.repaired;
            total.failures += t.failures;
        }
        let _ = writeln!(
            table,
            "| **all** | {} | {} | {} | {} | {} |\n\nstore file {} bytes, {} pages in its trees; {:.1} s",
            total.flips,
            total.detected,
            total.harmless,
            total.repaired,
            total.failures,
            self.original.len(),
            self.pages.len(),
            started.elapsed().as_secs_f64()
        );
        eprintln!("{table}");
        if let Some(f) = table_file {
            fs::write(f, &table).unwrap();
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
        table
    }
}

/// The first file under `dir` whose bytes are not those of the same path in `src`.
fn wrong_bytes(root: &Path, dir: &Path, src: &Path) -> Option<String> {
    let rd = fs::read_dir(dir).ok()?;
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().ok()?;
        let rel = p.strip_prefix(root).unwrap();
        if ft.is_dir() {
            if let Some(bad) = wrong_bytes(root, &p, src) {
                return Some(bad);
            }
        } else if ft.is_file() {
            let got = fs::read(&p).unwrap_or_default();
            match fs::read(src.join(rel)) {
                Ok(want) if want == got => {}
                Ok(_) => return Some(format!("{} differs", rel.display())),
                Err(_) => return Some(format!("{} is not in the release", rel.display())),
            }
        }
    }
    None
}

/// A cheap deterministic generator for choosing offsets.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const MASKS: [u8; 4] = [0x01, 0x10, 0x80, 0xff];

#[test]
fn flip_sweep_ci() {
    let sweep = Sweep::build();
    let mut offsets: Vec<(u64, u8)> = HEADER_FIELDS
        .iter()
        .enumerate()
        .map(|(i, &(o, _))| (o, MASKS[i % MASKS.len()]))
        .collect();
    // Per region, a couple of offsets in the used bytes of its pages.
    let mut by_region: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let len = sweep.original.len() as u64;
    let mut o = sweep.page_size;
    while o < len {
        let region = region_of(o, sweep.page_size, &sweep.pages, "segments");
        by_region.entry(region).or_default().push(o);
        o += 509; // prime stride: lands at every position within pages
    }
    for (region, list) in &by_region {
        let want = if region.starts_with("segments: chunk") || region.starts_with("free") {
            6
        } else if region.ends_with("branch") {
            2
        } else {
            1
        };
        for k in 0..want.min(list.len()) {
            let i = (mix(k as u64 + list.len() as u64) as usize) % list.len();
            offsets.push((list[i], MASKS[k % MASKS.len()]));
        }
    }
    offsets.sort();
    offsets.dedup_by_key(|x| x.0);
    sweep.run(&offsets, None);
}

#[test]
#[ignore = "thousands of flips; benches/flip-sweep.sh runs it"]
fn flip_sweep_full() {
    let per_page: u64 = std::env::var("CUSTODY_FLIP_PER_PAGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let table = std::env::var_os("CUSTODY_FLIP_TABLE").map(PathBuf::from);
    let sweep = Sweep::build();
    let mut offsets: Vec<(u64, u8)> = Vec::new();
    for (i, &(o, _)) in HEADER_FIELDS.iter().enumerate() {
        offsets.push((o, MASKS[i % MASKS.len()]));
    }
    let len = sweep.original.len() as u64;
    let mut page = 0;
    while page < len {
        for k in 0..per_page {
            let at = page + mix(page ^ (k << 40)) % 4096;
            if at < len {
                offsets.push((at, MASKS[((page / 4096 + k) % 4) as usize]));
            }
        }
        page += 4096;
    }
    // Branch pages are mostly slack: also flip inside the used part of every page.
    for (i, p) in sweep.pages.iter().enumerate() {
        for at in [
            p.offset + 2,
            p.offset + p.used / 2,
            p.offset + p.used.saturating_sub(1),
        ] {
            offsets.push((at, MASKS[i % MASKS.len()]));
        }
    }
    offsets.sort();
    offsets.dedup_by_key(|x| x.0);
    // CUSTODY_FLIP_REGION=TEXT keeps the offsets of regions whose name holds TEXT,
    // to rerun one region's flips.
    if let Ok(only) = std::env::var("CUSTODY_FLIP_REGION") {
        offsets.retain(|&(o, _)| {
            region_of(o, sweep.page_size, &sweep.pages, "segments").contains(&only)
        });
    }
    sweep.run(&offsets, table.as_deref());
}
