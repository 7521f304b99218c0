//! Hostile proof, manifest, report, key and head files: empty, truncated, enormous
//! (200 MB of garbage, a 100 MB line), endless (`/dev/zero`) or malformed. Every command
//! that reads one (`verify-proof`, `--vkey`, `head verify`, `head sign --key`,
//! `audit --manifest`, `verify-report`) fails with exit 2 and a one-line error, never
//! panics, and reads a bounded amount: its peak RSS stays small whatever the file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use custody::ops::demo::{make_release_one, pseudo_random};

use crate::common::*;

/// Peak RSS allowed for one of these commands, in KiB. They read at most a few MiB
/// of such a file (1 MiB proofs and heads, 80 KiB manifest lines, 4 KiB keys).
const RSS_LIMIT_KIB: u64 = 96 * 1024;

fn write_case(dir: &Path, name: &str, head: &[u8], sparse_len: u64) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, head).unwrap();
    if sparse_len > head.len() as u64 {
        fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(sparse_len)
            .unwrap();
    }
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    p
}

#[test]
fn hostile_proof_key_head_and_manifest_files_fail_cleanly() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    let key = s.path().join("k.key");
    let vkey = s
        .ok(&[
            "key",
            "generate",
            "test.example/k",
            "-o",
            key.to_str().unwrap(),
        ])
        .trim()
        .to_string();
    let head = s.path().join("head");
    s.ok(&[
        "head",
        "sign",
        "r1",
        "--key",
        key.to_str().unwrap(),
        "-o",
        head.to_str().unwrap(),
    ]);
    let proof = s.path().join("proof");
    s.ok(&[
        "prove",
        "r1",
        "austinrtcc/budget.csv",
        "-o",
        proof.to_str().unwrap(),
    ]);
    let manifest = s.path().join("manifest");
    s.ok(&["manifest", "export", "r1", "-o", manifest.to_str().unwrap()]);
    // A valid report to truncate.
    let claim = s.path().join("claim.csv");
    let mut c = fs::read(r1.join("austinrtcc/budget.csv")).unwrap();
    c.extend_from_slice(b"appended,row\n");
    fs::write(&claim, &c).unwrap();
    let reports = s.path().join("reports");
    s.run(&[
        "identify",
        claim.to_str().unwrap(),
        "--report-dir",
        reports.to_str().unwrap(),
    ]);
    let report = fs::read_dir(&reports)
        .ok()
        .and_then(|mut d| d.next())
        .map(|e| e.unwrap().path());

    let d = s.path().join("cases");
    fs::create_dir_all(&d).unwrap();
    let half = |p: &Path| {
        let b = fs::read(p).unwrap();
        b[..b.len() / 2].to_vec()
    };
    let mut cases: Vec<(String, PathBuf)> = vec![
        ("empty".into(), write_case(&d, "empty", b"", 0)),
        (
            "truncated proof".into(),
            write_case(&d, "tproof", &half(&proof), 0),
        ),
        (
            "truncated manifest".into(),
            write_case(&d, "tmanifest", &half(&manifest), 0),
        ),
        (
            "truncated head".into(),
            write_case(&d, "thead", &half(&head), 0),
        ),
        (
            "truncated key".into(),
            write_case(&d, "tkey", &half(&key), 0),
        ),
        (
            "200 MB of garbage".into(),
            write_case(&d, "garbage", &pseudo_random("garbage", 1 << 20), 200 << 20),
        ),
        (
            "proof with a 100 MB line".into(),
            write_case(&d, "longproof", b"custody inclusion proof v1\n", 100 << 20),
        ),
        (
            "manifest with a 100 MB line".into(),
            write_case(
                &d,
                "longmanifest",
                b"custody manifest v1\nrelease r1\nentries 1\n",
                100 << 20,
            ),
        ),
        (
            "key with a 100 MB line".into(),
            write_case(&d, "longkey", b"PRIVATE+KEY+test.example/k+", 100 << 20),
        ),
        (
            "head with a 100 MB line".into(),
            write_case(&d, "longhead", b"custody/r1\n", 100 << 20),
        ),
        (
            "malformed key".into(),
            write_case(
                &d,
                "badkey",
                b"PRIVATE+KEY+test.example/k+00000000+!!notbase64!!\n",
                0,
            ),
        ),
        (
            "malformed head".into(),
            write_case(
                &d,
                "badhead",
                &fs::read_to_string(&head)
                    .unwrap()
                    .replacen("\n\n", "\nextra line\n\n", 1)
                    .into_bytes(),
                0,
            ),
        ),
        ("endless (/dev/zero)".into(), PathBuf::from("/dev/zero")),
    ];
    if let Some(r) = &report {
        cases.push((
            "truncated report".into(),
            write_case(&d, "treport", &half(r), 0),
        ));
    }

    let root = "00".repeat(32);
    let mut worst = 0u64;
    for (name, f) in &cases {
        let fp = f.to_str().unwrap();
        let runs: Vec<(&str, Vec<&str>)> = vec![
            (
                "verify-proof FILE",
                vec!["verify-proof", fp, "--root", &root],
            ),
            (
                "verify-proof --vkey FILE",
                vec!["verify-proof", proof.to_str().unwrap(), "--vkey", fp],
            ),
            (
                "head verify FILE",
                vec!["head", "verify", fp, "--vkey", &vkey],
            ),
            (
                "head verify --vkey FILE",
                vec!["head", "verify", head.to_str().unwrap(), "--vkey", fp],
            ),
            (
                "head sign --key FILE",
                vec!["head", "sign", "r1", "--key", fp],
            ),
            (
                "audit --manifest FILE",
                vec!["audit", r1.to_str().unwrap(), "--manifest", fp],
            ),
            (
                "verify-report FILE",
                vec!["verify-report", fp, claim.to_str().unwrap()],
            ),
        ];
        for (what, args) in runs {
            let mut cmd = std::process::Command::new(custody_bin());
            cmd.env("CUSTODY_STORE", s.store()).args(&args);
            let started = std::time::Instant::now();
            let (o, rss) = run_measured(cmd);
            let label = format!("{what} with {name}");
            assert_clean_error(&o, &label);
            assert!(
                stderr(&o).contains(fp),
                "{label}: the error does not name the file: {}",
                stderr(&o)
            );
            assert!(rss < RSS_LIMIT_KIB, "{label}: peak RSS {} MiB", rss / 1024);
            worst = worst.max(rss);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{label} took {:?}",
                started.elapsed()
            );
        }
    }
    eprintln!(
        "{} hostile files x 7 commands: all refused, peak RSS at most {} MiB",
        cases.len(),
        worst / 1024
    );
}
