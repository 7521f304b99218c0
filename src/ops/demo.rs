//! `demo`: builds a small leak-like sample (two releases of a few agency folders) in a
//! directory and runs the whole job on it: init, ingest, ingest of the next release,
//! list, cat, extract with a byte-for-byte comparison, fsck --read-data, stats, signed
//! proofs, identify of claimed files (with a checked alteration report), diff of the
//! two releases and audit of a damaged mirror; each answer is checked against what the
//! sample is known to hold.
//! The sample generator is also what the tests use for fixture trees.

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::chunking::ChunkParams;
use crate::error::{Error, IoContext, Result};
use crate::manifest::proof::Anchor;
use crate::ops::audit::{Against, AuditSummary, audit};
use crate::ops::diff::{Summary as DiffSummary, diff};
use crate::ops::extract::{ExtractOptions, ExtractReport, extract};
use crate::ops::fsck::{FsckReport, fsck};
use crate::ops::identify::{IdentifyOptions, Verdict, identify};
use crate::ops::ingest::{IngestOptions, IngestReport, ingest};
use crate::ops::ls::{LsReport, ls};
use crate::ops::prove::{Target, prove, prove_absent};
use crate::ops::stats::{StatsReport, stats};
use crate::ops::verify::verify_file;
use crate::progress::Progress;
use crate::store::{DEFAULT_ZSTD_LEVEL, Store};

/// Deterministic bytes: BLAKE3 in XOF mode, keyed by a label.
pub fn pseudo_random(label: &str, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    blake3::Hasher::new_derive_key("custody demo sample")
        .update(label.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

const WORDS: &[&str] = &[
    "officer",
    "incident",
    "report",
    "suspect",
    "vehicle",
    "county",
    "bulletin",
    "fusion",
    "center",
    "alert",
    "training",
    "session",
    "department",
    "patrol",
    "evidence",
    "case",
    "warrant",
    "agency",
    "intelligence",
    "briefing",
    "analysis",
    "threat",
    "public",
    "safety",
];

fn words(label: &str, n: usize) -> String {
    let r = pseudo_random(label, n);
    let mut s = String::new();
    for (i, b) in r.iter().enumerate() {
        s.push_str(WORDS[*b as usize % WORDS.len()]);
        s.push(if i % 12 == 11 { '\n' } else { ' ' });
    }
    s
}

fn csv(label: &str, rows: usize) -> String {
    let r = pseudo_random(label, rows * 3);
    let mut s = String::from("id,name,agency,amount\n");
    for i in 0..rows {
        s.push_str(&format!(
            "{i},{} {},{},{}.{:02}\n",
            WORDS[r[3 * i] as usize % WORDS.len()],
            WORDS[r[3 * i + 1] as usize % WORDS.len()],
            label.split('/').next().unwrap_or("x"),
            r[3 * i + 2] as u32 * 37,
            r[3 * i] % 100
        ));
    }
    s
}

fn write(root: &Path, rel: &str, data: &[u8]) -> Result<()> {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        fs::create_dir_all(d).ctx(d, "create directory")?;
    }
    fs::write(&p, data).ctx(&p, "write")
}

const AGENCIES: &[&str] = &[
    "austinrtcc",
    "bostonbric",
    "chicagochiefs",
    "miamihidta",
    "ohiofusion",
];

/// Writes the first release of the sample into `root`.
pub fn make_release_one(root: &Path) -> Result<()> {
    let shared_manual = words("shared manual", 30_000);
    for a in AGENCIES {
        write(
            root,
            &format!("{a}/roster.csv"),
            csv(&format!("{a}/roster"), 400).as_bytes(),
        )?;
        write(
            root,
            &format!("{a}/budget.csv"),
            csv(&format!("{a}/budget"), 120).as_bytes(),
        )?;
        for i in 0..4 {
            write(
                root,
                &format!("{a}/files/Bulletins/{i}/bulletin.txt"),
                words(&format!("{a}/bulletin{i}"), 1500 + 500 * i).as_bytes(),
            )?;
        }
        // The same training manual, leaked by every agency.
        write(
            root,
            &format!("{a}/files/Training/manual.txt"),
            shared_manual.as_bytes(),
        )?;
        // A photo: incompressible bytes, as JPEG data is.
        write(
            root,
            &format!("{a}/images/photo.jpg"),
            &pseudo_random(&format!("{a}/photo"), 150_000),
        )?;
    }
    // A large scanned document that spans many chunks.
    write(
        root,
        "bostonbric/files/scan.pdf",
        &pseudo_random("scan", 3_000_000),
    )?;
    write(root, "chicagochiefs/empty.txt", b"")?;
    fs::create_dir_all(root.join("ohiofusion/empty-dir")).ctx(root, "create directory")?;
    let deep: PathBuf = (0..30).map(|i| format!("d{i}")).collect();
    write(
        root,
        &format!("miamihidta/{}/deep.txt", deep.display()),
        b"thirty levels down\n",
    )?;
    // A name that is not UTF-8, as old Windows shares produce.
    let odd = root
        .join("miamihidta")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9 menu.txt"));
    fs::write(&odd, b"latin-1 name\n").ctx(&odd, "write")?;
    std::os::unix::fs::symlink(
        "../austinrtcc/roster.csv",
        root.join("bostonbric/roster-link.csv"),
    )
    .ctx(root, "create symlink")?;
    Ok(())
}

/// Writes the second release: the first with rows edited, a file appended to, one
/// removed, one renamed and one added.
pub fn make_release_two(r1: &Path, root: &Path) -> Result<()> {
    copy_tree(r1, root)?;
    let roster = root.join("austinrtcc/roster.csv");
    let text = fs::read_to_string(&roster).ctx(&roster, "read")?;
    let edited = text.replacen("\n17,", "\n17,REDACTED ", 1);
    fs::write(&roster, edited).ctx(&roster, "write")?;
    let b = root.join("bostonbric/files/Bulletins/1/bulletin.txt");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&b)
        .ctx(&b, "open")?;
    f.write_all(b"\nUPDATE: case closed\n").ctx(&b, "write")?;
    let gone = root.join("ohiofusion/budget.csv");
    fs::remove_file(&gone).ctx(&gone, "remove")?;
    let from = root.join("miamihidta/roster.csv");
    fs::rename(&from, root.join("miamihidta/roster-2020.csv")).ctx(&from, "rename")?;
    write(
        root,
        "ohiofusion/files/Bulletins/9/new.txt",
        words("new bulletin", 2000).as_bytes(),
    )?;
    Ok(())
}

/// Copies a tree, keeping symlinks as links.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).ctx(to, "create directory")?;
    for e in fs::read_dir(from).ctx(from, "list")? {
        let e = e.ctx(from, "list")?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let t = e.file_type().ctx(&src, "inspect")?;
        if t.is_dir() {
            copy_tree(&src, &dst)?;
        } else if t.is_symlink() {
            let target = fs::read_link(&src).ctx(&src, "read link")?;
            std::os::unix::fs::symlink(target, &dst).ctx(&dst, "create symlink")?;
        } else {
            fs::copy(&src, &dst).ctx(&src, "copy")?;
        }
    }
    Ok(())
}

/// Compares two trees byte for byte (contents, symlink targets, modification times of
/// files); returns the first difference.
pub fn compare_trees(a: &Path, b: &Path) -> Result<Option<String>> {
    let mut names_a: Vec<_> = fs::read_dir(a)
        .ctx(a, "list")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    let mut names_b: Vec<_> = fs::read_dir(b)
        .ctx(b, "list")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names_a.sort();
    names_b.sort();
    if names_a != names_b {
        return Ok(Some(format!(
            "{} and {} list different names",
            a.display(),
            b.display()
        )));
    }
    for n in names_a {
        let (pa, pb) = (a.join(&n), b.join(&n));
        let (ma, mb) = (
            fs::symlink_metadata(&pa).ctx(&pa, "inspect")?,
            fs::symlink_metadata(&pb).ctx(&pb, "inspect")?,
        );
        if ma.file_type() != mb.file_type() {
            return Ok(Some(format!("{}: kind differs", pa.display())));
        }
        if ma.is_dir() {
            if let Some(d) = compare_trees(&pa, &pb)? {
                return Ok(Some(d));
            }
        } else if ma.file_type().is_symlink() {
            if fs::read_link(&pa).ok() != fs::read_link(&pb).ok() {
                return Ok(Some(format!("{}: symlink target differs", pa.display())));
            }
        } else {
            if fs::read(&pa).ctx(&pa, "read")? != fs::read(&pb).ctx(&pb, "read")? {
                return Ok(Some(format!("{}: content differs", pa.display())));
            }
            if ma.modified().ok() != mb.modified().ok() {
                return Ok(Some(format!("{}: modification time differs", pa.display())));
            }
        }
    }
    Ok(None)
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub dir: String,
    pub store: String,
    pub ingest_r1: IngestReport,
    pub ingest_r2: IngestReport,
    pub ls_r2: LsReport,
    /// `cat` of an edited file gave back exactly the bytes of the source.
    pub cat_matches: bool,
    pub extract_r1: ExtractReport,
    /// The extracted tree equals the source tree, byte for byte and mtime for mtime.
    pub extract_matches: bool,
    pub fsck: FsckReport,
    pub stats: StatsReport,
    /// The verifier key of the demo's signing key.
    pub vkey: String,
    /// What verifying an inclusion proof of the edited CSV (with the file) proved.
    pub inclusion: String,
    /// What verifying an absence proof of r1's original CSV in r2 proved.
    pub absence: String,
    pub proof_bytes: usize,
    /// Each claim's name and verdict: an exact copy, a doctored copy, an unrelated file.
    pub identify: Vec<DemoClaim>,
    /// What checking the doctored copy's alteration report proved.
    pub report_check: String,
    /// The report checked, relative to the demo directory.
    pub report_file: String,
    pub diff: DiffSummary,
    pub audit: AuditSummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoClaim {
    pub claim: String,
    pub verdict: Verdict,
    /// Exact: the first (release, path); altered: the original's and how it changed.
    pub detail: String,
}

/// Claims someone might send: a renamed copy of the scan, a copy of r2's roster with
/// one more row doctored, and a file from elsewhere.
fn make_claims(src2: &Path, dir: &Path) -> Result<()> {
    let scan = src2.join("bostonbric/files/scan.pdf");
    write(
        dir,
        "from-a-source.pdf",
        &fs::read(&scan).ctx(&scan, "read")?,
    )?;
    let roster = src2.join("austinrtcc/roster.csv");
    let text = fs::read_to_string(&roster).ctx(&roster, "read")?;
    write(
        dir,
        "roster-as-sent.csv",
        text.replacen("\n240,", "\n240,J. DOE ", 1).as_bytes(),
    )?;
    write(dir, "notes.txt", words("unrelated notes", 3000).as_bytes())
}

/// r1 as someone else mirrored it: a file lost, one moved, the scan cut short, a
/// photo with a flipped bit, and a file of their own.
fn make_mirror(src1: &Path, m: &Path) -> Result<()> {
    copy_tree(src1, m)?;
    let lost = m.join("chicagochiefs/budget.csv");
    fs::remove_file(&lost).ctx(&lost, "remove")?;
    let from = m.join("miamihidta/budget.csv");
    fs::create_dir_all(m.join("moved")).ctx(m, "create directory")?;
    fs::rename(&from, m.join("moved/miami-budget.csv")).ctx(&from, "rename")?;
    let scan = m.join("bostonbric/files/scan.pdf");
    let data = fs::read(&scan).ctx(&scan, "read")?;
    fs::write(&scan, &data[..1_000_000]).ctx(&scan, "write")?;
    let photo = m.join("austinrtcc/images/photo.jpg");
    let mut data = fs::read(&photo).ctx(&photo, "read")?;
    data[77_777] ^= 0x10;
    fs::write(&photo, data).ctx(&photo, "write")?;
    write(
        m,
        "README-mirror.txt",
        b"mirrored from a torrent, 2020-06-21\n",
    )
}

/// Runs the walkthrough in `dir` (which should be empty).
pub fn run_demo(dir: &Path, progress: &dyn Progress) -> Result<DemoReport> {
    let src1 = dir.join("leak/r1");
    let src2 = dir.join("leak/r2");
    make_release_one(&src1)?;
    make_release_two(&src1, &src2)?;
    let store_path = dir.join("store.redb");
    let store = Store::init(&store_path, ChunkParams::default(), DEFAULT_ZSTD_LEVEL)?;
    let ingest_r1 = ingest(
        &store,
        &IngestOptions::new(src1.clone(), "leak-r1"),
        progress,
    )?;
    let ingest_r2 = ingest(
        &store,
        &IngestOptions::new(src2.clone(), "leak-r2").with_parent("leak-r1"),
        progress,
    )?;
    let ls_r2 = ls(&store, "leak-r2", Some("austinrtcc"), false)?;
    let mut cat_out = Vec::new();
    crate::ops::cat::cat(&store, "leak-r2", "austinrtcc/roster.csv", &mut cat_out)?;
    let roster = src2.join("austinrtcc/roster.csv");
    let cat_matches = cat_out == fs::read(&roster).ctx(&roster, "read")?;
    let out = dir.join("extracted-r1");
    let extract_r1 = extract(
        &store,
        &ExtractOptions {
            release: "leak-r1".into(),
            paths: vec![],
            to: out.clone(),
            force: false,
        },
        progress,
    )?;
    let extract_matches = compare_trees(&src1, &out)?.is_none();
    let fsck = fsck(&store, true, progress)?;
    let stats = stats(&store)?;

    // Provenance: sign r2's head, prove the edited CSV is in r2, and prove r1's
    // version of it is not; both checked with no store, as a third party would.
    let key_path = dir.join("newsroom.key");
    let key = crate::ops::head::generate_key("newsroom.example/leaks", &key_path)?;
    let signer = crate::ops::head::load_signer(&key_path)?;
    crate::ops::head::sign_head(&store, "leak-r2", &signer, None)?;
    let anchor = Anchor {
        keys: vec![crate::ops::head::load_verifier(&key.vkey)?],
        root: None,
    };
    let proof = prove(&store, "leak-r2", Target::Path("austinrtcc/roster.csv"))?.encode();
    let proof_path = dir.join("roster.proof");
    fs::write(&proof_path, &proof).ctx(&proof_path, "write")?;
    let inclusion = verify_file(&proof_path, &anchor, Some(&roster))?;
    let old = src1.join("austinrtcc/roster.csv");
    let old_hash = crate::ops::hash::hash_file(&old)?;
    let absent_path = dir.join("old-roster-absent.proof");
    fs::write(
        &absent_path,
        prove_absent(&store, "leak-r2", old_hash)?.encode(),
    )
    .ctx(&absent_path, "write")?;
    let absence = verify_file(&absent_path, &anchor, Some(&old))?;
    // Claimed files, the way a journalist receives them.
    let claims_dir = dir.join("claims");
    make_claims(&src2, &claims_dir)?;
    let reports = dir.join("reports");
    fs::create_dir_all(&reports).ctx(&reports, "create directory")?;
    let id = identify(
        &store,
        &IdentifyOptions {
            paths: vec![claims_dir.clone()],
            proof_dir: None,
            report_dir: Some(reports.clone()),
            threshold: None,
        },
        progress,
    )?;
    let mut claims = Vec::new();
    let mut report_check = String::new();
    let mut report_file = String::new();
    for c in &id.claims {
        let name = Path::new(&c.claim)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let detail = match (c.occurrences.first(), c.originals.first()) {
            (Some(o), _) => format!("{}:{}", o.release, o.path),
            (None, Some(o)) => {
                let at = o
                    .occurrences
                    .first()
                    .map(|x| format!("{}:{}", x.release, x.path))
                    .unwrap_or_default();
                if let Some(rep) = &o.report {
                    let check = crate::ops::report::verify_report(
                        Path::new(rep),
                        Path::new(&c.claim),
                        None,
                        Some(&store),
                        &anchor,
                    )?;
                    report_check = check.statement;
                    report_file = Path::new(rep)
                        .strip_prefix(dir)
                        .unwrap_or(Path::new(rep))
                        .display()
                        .to_string();
                }
                format!("{at}: {}", o.alteration.summary)
            }
            (None, None) => String::new(),
        };
        claims.push(DemoClaim {
            claim: name,
            verdict: c.verdict,
            detail,
        });
    }
    let verdict_of = |n: &str| claims.iter().find(|c| c.claim == n).map(|c| c.verdict);
    let identify_right = verdict_of("from-a-source.pdf") == Some(Verdict::Exact)
        && verdict_of("roster-as-sent.csv") == Some(Verdict::Altered)
        && verdict_of("notes.txt") == Some(Verdict::Unknown)
        && !report_check.is_empty();

    let d = diff(&store, "leak-r1", "leak-r2")?;
    let ds = d.summary.clone();
    let diff_right = (ds.added, ds.removed, ds.modified, ds.renamed) == (1, 1, 2, 1);

    let mirror = dir.join("mirror");
    make_mirror(&src1, &mirror)?;
    let a = audit(
        &mirror,
        Against::Release {
            store: &store,
            name: "leak-r1",
        },
        progress,
    )?;
    let au = a.summary.clone();
    let audit_right = (
        au.missing,
        au.moved,
        au.truncated,
        au.corrupt,
        au.extra,
        au.altered,
    ) == (1, 1, 1, 1, 1, 0);

    if !cat_matches
        || !identify_right
        || !diff_right
        || !audit_right
        || !extract_matches
        || !fsck.is_clean()
        || !inclusion.anchored()
        || !absence.anchored()
    {
        return Err(Error::Invalid(
            "demo: what came back out of the store differs from what went in".into(),
        ));
    }
    Ok(DemoReport {
        dir: dir.display().to_string(),
        store: store_path.display().to_string(),
        ingest_r1,
        ingest_r2,
        ls_r2,
        cat_matches,
        extract_r1,
        extract_matches,
        fsck,
        stats,
        vkey: key.vkey,
        inclusion: inclusion.statement().to_string(),
        absence: absence.statement().to_string(),
        proof_bytes: proof.len(),
        identify: claims,
        report_check,
        report_file,
        diff: ds,
        audit: au,
    })
}
