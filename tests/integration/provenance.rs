//! Proofs, absence proofs, signed heads, manifests and the release log: made by the
//! store, checked with no store, and refused when anything is changed.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use custody::chunking::ChunkParams;
use custody::id::BlobId;
use custody::manifest::proof::{Anchor, Proof, verify};
use custody::ops::demo::{make_release_one, make_release_two};
use custody::ops::ingest::{IngestOptions, ingest};
use custody::ops::prove::{Target, prove, prove_absent};
use custody::progress::Silent;
use custody::store::Store;

use crate::common::*;

fn store_with_two_releases(dir: &Path) -> Store {
    let (r1, r2) = (dir.join("r1"), dir.join("r2"));
    make_release_one(&r1).unwrap();
    make_release_two(&r1, &r2).unwrap();
    let store = Store::init(&dir.join("s.redb"), ChunkParams::default(), 1).unwrap();
    for (name, src, parent) in [("r1", &r1, None), ("r2", &r2, Some("r1"))] {
        let mut o = IngestOptions::new(src.clone(), name);
        o.parent = parent.map(String::from);
        ingest(&store, &o, &Silent).unwrap();
    }
    store
}

fn root_of(store: &Store, release: &str) -> [u8; 32] {
    store
        .snapshot()
        .unwrap()
        .release(release)
        .unwrap()
        .record
        .root
}

fn anchor_root(r: [u8; 32]) -> Anchor {
    Anchor {
        keys: vec![],
        root: Some(r),
    }
}

#[test]
fn every_entry_proves_and_other_roots_reject_it() {
    let t = tempfile::tempdir().unwrap();
    let store = store_with_two_releases(t.path());
    let snap = store.snapshot().unwrap();
    let rel = snap.release("r1").unwrap();
    let (root1, root2) = (root_of(&store, "r1"), root_of(&store, "r2"));
    let entries: Vec<_> = snap
        .entries_with_prefix(rel.id(), b"")
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(entries.len() as u64, rel.record.entries());
    for e in &entries {
        let p = prove(&store, "r1", Target::Path(&e.path.escaped())).unwrap();
        let text = p.encode();
        let parsed = Proof::parse(&text).unwrap();
        assert_eq!(parsed, p);
        let v = verify(&parsed, &anchor_root(root1), None).unwrap();
        assert_eq!(v.path.as_ref(), Some(&e.path));
        assert_eq!(
            v.content.as_deref(),
            Some(hex::encode(e.record.hash).as_str())
        );
        assert!(
            verify(&parsed, &anchor_root(root2), None).is_err(),
            "{} verified against r2's root",
            e.path
        );
    }
    // Proving by content finds an entry holding it.
    let scan = entries
        .iter()
        .find(|e| e.path.as_bytes() == b"bostonbric/files/scan.pdf")
        .unwrap();
    let p = prove(&store, "r1", Target::Hash(BlobId(scan.record.hash))).unwrap();
    let v = verify(&p, &anchor_root(root1), Some(scan.record.hash)).unwrap();
    assert_eq!(v.path.unwrap().as_bytes(), b"bostonbric/files/scan.pdf");
}

#[test]
fn absence_is_provable_exactly_when_absent() {
    let t = tempfile::tempdir().unwrap();
    let store = store_with_two_releases(t.path());
    let root = root_of(&store, "r1");
    let snap = store.snapshot().unwrap();
    let rel = snap.release("r1").unwrap();
    // Every content in the release: absence cannot be proven.
    for e in snap.entries_with_prefix(rel.id(), b"").unwrap() {
        let e = e.unwrap();
        assert!(
            prove_absent(&store, "r1", BlobId(e.record.hash)).is_err(),
            "{}",
            e.path
        );
    }
    // Contents that are not there, including both ends of the order.
    let mut absent: Vec<[u8; 32]> = (0..60u32)
        .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
        .collect();
    absent.push([0xff; 32]);
    let mut low = [0u8; 32];
    low[31] = 1;
    absent.push(low);
    for h in absent {
        let p = prove_absent(&store, "r1", BlobId(h)).unwrap();
        let v = verify(
            &Proof::parse(&p.encode()).unwrap(),
            &anchor_root(root),
            Some(h),
        )
        .unwrap();
        assert_eq!(v.kind, "absence");
        assert!(verify(&p, &anchor_root(root_of(&store, "r2")), None).is_err());
    }
}

#[test]
fn absence_at_the_left_edge_of_a_release_without_directories() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("flat");
    fs::create_dir_all(&src).unwrap();
    for i in 0..5 {
        fs::write(src.join(format!("f{i}")), format!("file {i}\n")).unwrap();
    }
    let store = Store::init(&t.path().join("s.redb"), ChunkParams::default(), 1).unwrap();
    ingest(&store, &IngestOptions::new(src, "flat"), &Silent).unwrap();
    let mut low = [0u8; 32];
    low[31] = 1;
    let p = prove_absent(&store, "flat", BlobId(low)).unwrap();
    match &p {
        Proof::Absence(a) => {
            assert!(a.left.is_none());
            assert_eq!(a.right.as_ref().unwrap().index, 0);
        }
        _ => unreachable!(),
    }
    verify(&p, &anchor_root(root_of(&store, "flat")), None).unwrap();
}

/// Every single-character change to a signed proof makes it fail.
#[test]
fn any_changed_byte_of_a_signed_proof_is_rejected() {
    let s = Scratch::new();
    let src = s.path().join("r1");
    make_release_one(&src).unwrap();
    s.init();
    s.ok(&["ingest", src.to_str().unwrap(), "--release", "r1"]);
    let key = s.path().join("k.key");
    let vkey = s.ok(&[
        "key",
        "generate",
        "test.example/k",
        "-o",
        key.to_str().unwrap(),
    ]);
    s.ok(&["head", "sign", "r1", "--key", key.to_str().unwrap()]);
    let store = Store::open(&s.store()).unwrap();
    let anchor = Anchor {
        keys: vec![custody::ops::head::load_verifier(vkey.trim()).unwrap()],
        root: None,
    };
    // Each proof is checked with its claim: a changed `absent` line would otherwise be
    // a true proof about some other absent content.
    let absent = *blake3::hash(b"nothing like this").as_bytes();
    let odd = *blake3::hash(b"latin-1 name\n").as_bytes();
    for (proof, claim) in [
        (
            prove(&store, "r1", Target::Path("miamihidta/caf\\xe9 menu.txt")).unwrap(),
            odd,
        ),
        (prove_absent(&store, "r1", BlobId(absent)).unwrap(), absent),
    ] {
        let text = proof.encode();
        verify(&Proof::parse(&text).unwrap(), &anchor, Some(claim)).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let mut checked = 0;
        for i in 0..chars.len() {
            let mut c = chars.clone();
            c[i] = match c[i] {
                'a' => 'b',
                '\n' => ' ',
                _ => 'a',
            };
            let changed: String = c.into_iter().collect();
            let ok = Proof::parse(&changed)
                .and_then(|p| verify(&p, &anchor, Some(claim)))
                .is_ok();
            assert!(
                !ok,
                "changing char {i} ({:?}) still verifies:\n{changed}",
                chars[i]
            );
            checked += 1;
        }
        assert!(checked > 500);
    }
}

#[test]
fn signed_heads_and_verify_proof_through_the_cli() {
    let s = Scratch::new();
    let (r1, r2) = (s.path().join("r1"), s.path().join("r2"));
    make_release_one(&r1).unwrap();
    make_release_two(&r1, &r2).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    s.ok(&[
        "ingest",
        r2.to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    let key = s.path().join("k.key");
    let vkey = s.ok(&[
        "key",
        "generate",
        "newsroom.example/leaks",
        "-o",
        key.to_str().unwrap(),
    ]);
    let vkey = vkey.trim().to_string();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !vkey.contains("PRIVATE"),
        "the secret key must never be printed"
    );
    let head = s.path().join("head.txt");
    s.ok(&[
        "head",
        "sign",
        "r2",
        "--key",
        key.to_str().unwrap(),
        "-o",
        head.to_str().unwrap(),
    ]);
    let out = s.ok(&["head", "verify", head.to_str().unwrap(), "--vkey", &vkey]);
    assert!(out.contains("release r2 has 122 entries"), "{out}");
    // The head names the parent's root.
    let root1 = hex::encode(root_of_cli(&s, "r1"));
    let text = fs::read_to_string(&head).unwrap();
    assert!(text.contains("parent r1 "), "{text}");

    let proof = s.path().join("p.proof");
    s.ok(&[
        "prove",
        "r2",
        "austinrtcc/roster.csv",
        "-o",
        proof.to_str().unwrap(),
    ]);
    let claim = r2.join("austinrtcc/roster.csv");
    let ok = s.run(&[
        "verify-proof",
        proof.to_str().unwrap(),
        "--file",
        claim.to_str().unwrap(),
        "--vkey",
        &vkey,
    ]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    let said = stdout(&ok);
    assert!(
        said.contains("is at path austinrtcc/roster.csv in release r2")
            && said.contains("signed by newsroom.example/leaks"),
        "{said}"
    );
    // The original r1 file is not what r2 published: the claim fails.
    let old = r1.join("austinrtcc/roster.csv");
    let o = s.run(&[
        "verify-proof",
        proof.to_str().unwrap(),
        "--file",
        old.to_str().unwrap(),
        "--vkey",
        &vkey,
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("claimed file has content"),
        "{}",
        stderr(&o)
    );
    // Unanchored: consistent but not trusted, exit 1.
    let o = s.run(&["verify-proof", proof.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("NOT ANCHORED"));
    // Another key, or another release's root, is refused.
    let other = s.path().join("o.key");
    let ovkey = s.ok(&[
        "key",
        "generate",
        "someone.else",
        "-o",
        other.to_str().unwrap(),
    ]);
    assert_eq!(
        code(&s.run(&[
            "verify-proof",
            proof.to_str().unwrap(),
            "--vkey",
            ovkey.trim()
        ])),
        2
    );
    assert_eq!(
        code(&s.run(&["verify-proof", proof.to_str().unwrap(), "--root", &root1])),
        2
    );
    // A second signer co-signs the same head.
    s.ok(&["head", "sign", "r2", "--key", other.to_str().unwrap()]);
    s.ok(&[
        "prove",
        "r2",
        "austinrtcc/roster.csv",
        "-o",
        proof.to_str().unwrap(),
    ]);
    let both = s.run(&[
        "verify-proof",
        proof.to_str().unwrap(),
        "--vkey",
        ovkey.trim(),
        "--vkey",
        &vkey,
    ]);
    assert!(
        stdout(&both).contains("signed by newsroom.example/leaks, someone.else"),
        "{}",
        stdout(&both)
    );
    // A key file others can read is refused.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let o = s.run(&["head", "sign", "r1", "--key", key.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("readable by other users"));
}

fn root_of_cli(s: &Scratch, release: &str) -> [u8; 32] {
    let v = s.json(&["releases"]);
    let r = v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == release)
        .unwrap();
    let mut out = [0u8; 32];
    hex::decode_to_slice(r["root"].as_str().unwrap(), &mut out).unwrap();
    out
}

#[test]
fn manifests_verify_without_the_store_and_find_claims() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    let root = hex::encode(root_of_cli(&s, "r1"));
    let m = s.path().join("r1.manifest");
    s.ok(&["manifest", "export", "r1", "-o", m.to_str().unwrap()]);
    let text = fs::read_to_string(&m).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.len() > 64 && l.as_bytes()[64] == b' ')
            .count(),
        121
    );
    let claim = r1.join("chicagochiefs/files/Training/manual.txt");
    let o = s.run(&[
        "verify-proof",
        m.to_str().unwrap(),
        "--root",
        &root,
        "--file",
        claim.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The training manual was leaked by all five agencies.
    assert_eq!(
        stdout(&o)
            .matches("/files/Training/manual.txt (entry")
            .count(),
        5,
        "{}",
        stdout(&o)
    );
    let stranger = s.path().join("stranger.txt");
    fs::write(&stranger, b"never leaked").unwrap();
    let o = s.run(&[
        "verify-proof",
        m.to_str().unwrap(),
        "--root",
        &root,
        "--file",
        stranger.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("no entry of release r1"),
        "{}",
        stdout(&o)
    );
    // Any changed leaf line breaks the root.
    let changed = text.replacen(" 4565 file ", " 4566 file ", 1);
    assert_ne!(changed, text);
    fs::write(&m, changed).unwrap();
    let o = s.run(&["verify-proof", m.to_str().unwrap(), "--root", &root]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("do not hash to the checkpoint's root"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn release_log_only_grows() {
    let s = Scratch::new();
    let (r1, r2) = (s.path().join("r1"), s.path().join("r2"));
    make_release_one(&r1).unwrap();
    make_release_two(&r1, &r2).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "a"]);
    let log1 = s.json(&["log"]);
    s.ok(&[
        "ingest",
        r2.to_str().unwrap(),
        "--release",
        "b",
        "--parent",
        "a",
    ]);
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "c"]);
    let log3 = s.json(&["log"]);
    assert_eq!(log3["size"], 3);
    assert_eq!(log3["heads"][1]["parent_root"], log3["heads"][0]["root"]);
    let p = s.path().join("c.proof");
    s.ok(&["log", "--prove-from", "1", "-o", p.to_str().unwrap()]);
    let text = fs::read_to_string(&p).unwrap();
    let o = s.run(&[
        "verify-proof",
        p.to_str().unwrap(),
        "--root",
        log3["root"].as_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The old root in the proof is the log root published after the first release.
    assert!(
        stdout(&o).contains(log1["root"].as_str().unwrap()),
        "{}",
        stdout(&o)
    );
    let bad = text.replacen("old 1 ", "old 2 ", 1);
    fs::write(&p, bad).unwrap();
    assert_eq!(code(&s.run(&["verify-proof", p.to_str().unwrap()])), 2);
    assert_eq!(code(&s.run(&["log", "--prove-from", "0"])), 2);
}

#[test]
fn malformed_proof_files_give_clear_errors() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    let good = s.ok(&["prove", "r1", "austinrtcc/budget.csv"]);
    let manifest = s.path().join("m");
    s.ok(&["manifest", "export", "r1", "-o", manifest.to_str().unwrap()]);
    let mtext = fs::read_to_string(&manifest).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("header only", b"custody inclusion proof v1\n".to_vec()),
        ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
        (
            "extra line",
            good.replacen("\n\n", "\nextra\n\n", 1).into_bytes(),
        ),
        (
            "bad base64",
            good.replacen(lines[2], "!!!!", 1).into_bytes(),
        ),
        (
            "short hash",
            good.replacen(lines[2], &lines[2][..20], 1).into_bytes(),
        ),
        ("binary", vec![0xff, 0xfe, 0, 1, 2, 3]),
        ("huge", vec![b'a'; 2 << 20]),
        ("not custody", b"hello\n".to_vec()),
        (
            "manifest truncated",
            mtext.as_bytes()[..mtext.len() / 3].to_vec(),
        ),
        (
            "manifest huge line",
            format!(
                "custody manifest v1\nrelease r1\nentries 1\n{}\n",
                "a".repeat(200_000)
            )
            .into_bytes(),
        ),
        (
            "manifest bad count",
            mtext.replacen("entries 121", "entries 122", 1).into_bytes(),
        ),
    ];
    cases.push((
        "note without signature",
        good.replace("release r1", "release r1\n\n\u{2014} x AAAA")
            .into_bytes(),
    ));
    for (name, bytes) in cases {
        let p = s.path().join("case");
        fs::write(&p, &bytes).unwrap();
        let o = s.run(&[
            "verify-proof",
            p.to_str().unwrap(),
            "--root",
            &"00".repeat(32),
        ]);
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.starts_with("custody: error:") && e.contains("case"),
            "{name}: {e}"
        );
        assert!(!e.contains("panicked"), "{name}: {e}");
    }
    for (args, what) in [
        (
            vec!["head", "verify", "HEAD", "--vkey", "not-a-key"],
            "verifier key",
        ),
        (vec!["head", "sign", "r1", "--key", "HEAD"], "key"),
    ] {
        let p = s.path().join("HEAD");
        fs::write(&p, b"garbage\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        let a: Vec<String> = args
            .iter()
            .map(|x| {
                if *x == "HEAD" {
                    p.display().to_string()
                } else {
                    x.to_string()
                }
            })
            .collect();
        let a: Vec<&str> = a.iter().map(|x| x.as_str()).collect();
        let o = s.run(&a);
        assert_eq!(code(&o), 2, "{what}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
}

mod parsers {
    use custody::manifest::checkpoint::CheckpointNote;
    use custody::manifest::export::verify_manifest;
    use custody::manifest::proof::{Anchor, Proof};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_panic_on_arbitrary_text(s in "(custody (inclusion|absence|log consistency) proof v1\n)?[ -~\n\u{2014}]{0,400}") {
            let _ = Proof::parse(&s);
            let _ = CheckpointNote::parse(&s);
            let _ = verify_manifest(s.as_bytes(), &Anchor::default(), None);
        }

        #[test]
        fn never_panic_on_manifest_shaped_text(n in 0u64..5, body in "[0-9a-f ]{0,200}(\n[ -~]{0,80}){0,6}") {
            let text = format!("custody manifest v1\nrelease r\nentries {n}\n{body}");
            let _ = verify_manifest(text.as_bytes(), &Anchor::default(), None);
        }
    }
}

/// The independent Python verifier (tools/verify_proof.py, written from
/// docs/PROOFS.md alone) must reach the same verdict as custody on proofs custody
/// made and on tampered copies. `.ci/run` installs its two PyPI packages and sets
/// CUSTODY_PYTHON; without it there is no verifier to compare with.
#[test]
fn python_verifier_agrees() {
    let Some(python) = std::env::var_os("CUSTODY_PYTHON") else {
        eprintln!("CUSTODY_PYTHON not set: the Python verifier comparison runs in .ci/run");
        return;
    };
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_proof.py");
    let s = Scratch::new();
    let (r1, r2) = (s.path().join("r1"), s.path().join("r2"));
    make_release_one(&r1).unwrap();
    make_release_two(&r1, &r2).unwrap();
    // An archive, so that member leaves are in the proofs too.
    {
        let f = fs::File::create(r2.join("miamihidta/scans.zip")).unwrap();
        let mut z = zip::ZipWriter::new(f);
        z.start_file(
            "inner/page one.txt",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(&mut z, b"scanned page\n").unwrap();
        z.finish().unwrap();
    }
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    s.ok(&[
        "ingest",
        r2.to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
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
    s.ok(&["head", "sign", "r2", "--key", key.to_str().unwrap()]);
    let root2 = hex::encode(root_of_cli(&s, "r2"));
    let root1 = hex::encode(root_of_cli(&s, "r1"));
    let dir = s.path().join("cases");
    fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    };
    let claim = r2
        .join("miamihidta")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9 menu.txt"));
    let other_claim = r2.join("austinrtcc/roster.csv");
    let absent_claim = r1.join("austinrtcc/roster.csv");
    let absent_hash = blake3::hash(&fs::read(&absent_claim).unwrap())
        .to_hex()
        .to_string();
    let mut files = vec![
        write(
            "incl",
            &s.ok(&["prove", "r2", "miamihidta/caf\\xe9 menu.txt"]),
        ),
        write("incl-r1", &s.ok(&["prove", "r1", "austinrtcc/budget.csv"])),
        write(
            "incl-member",
            &s.ok(&["prove", "r2", "miamihidta/scans.zip!/inner/page one.txt"]),
        ),
        write(
            "absent",
            &s.ok(&["prove-absent", "r2", "--hash", &absent_hash]),
        ),
        write(
            "absent-high",
            &s.ok(&["prove-absent", "r2", "--hash", &"f".repeat(64)]),
        ),
        write(
            "absent-low",
            &s.ok(&[
                "prove-absent",
                "r2",
                "--hash",
                &format!("{}1", "0".repeat(63)),
            ]),
        ),
    ];
    let m = dir.join("manifest");
    s.ok(&["manifest", "export", "r2", "-o", m.to_str().unwrap()]);
    files.push(m);
    files.push(write("log", &s.ok(&["log", "--prove-from", "1"])));
    // Tampered copies: a spread of single-character changes in each file.
    let originals = files.clone();
    for f in &originals {
        let text = fs::read_to_string(f).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let step = (chars.len() / 12).max(1);
        for i in (0..chars.len()).step_by(step) {
            let mut c = chars.clone();
            c[i] = if c[i] == '1' { '2' } else { '1' };
            let name = format!("{}-t{i}", f.file_name().unwrap().to_string_lossy());
            files.push(write(&name, &c.into_iter().collect::<String>()));
        }
    }
    let anchors: Vec<Vec<String>> = vec![
        vec!["--vkey".into(), vkey.clone()],
        vec!["--root".into(), root2.clone()],
        vec!["--root".into(), root1.clone()],
        vec![],
    ];
    let claims = [None, Some(&claim), Some(&other_claim), Some(&absent_claim)];
    let mut compared = 0;
    let mut disagreements = Vec::new();
    // Every anchor and claim on the files custody made; one combination that holds for
    // the original on each tampered copy (each Python run costs ~0.2 s of start-up).
    for (i, f) in files.iter().enumerate() {
        let tampered = i >= originals.len();
        for (ai, a) in anchors.iter().enumerate() {
            for (ci, c) in claims.iter().copied().enumerate() {
                if tampered && (ai != 0 || ci != 0) {
                    continue;
                }
                let mut args: Vec<String> = vec![f.display().to_string()];
                args.extend(a.iter().cloned());
                if let Some(c) = c {
                    args.push("--file".into());
                    args.push(c.display().to_string());
                }
                let mut ours = vec!["verify-proof".to_string()];
                ours.extend(args.iter().cloned());
                let ours: Vec<&str> = ours.iter().map(|x| x.as_str()).collect();
                let o = s.run(&ours);
                let p = std::process::Command::new(&python)
                    .arg(&tool)
                    .args(&args)
                    .output()
                    .unwrap();
                let (co, cp) = (code(&o), p.status.code().unwrap_or(-1));
                assert!(
                    !String::from_utf8_lossy(&p.stderr).contains("Traceback"),
                    "python crashed on {args:?}"
                );
                if co != cp {
                    disagreements.push(format!(
                        "{args:?}: custody {co}, python {cp}\n  custody: {}{}\n  python: {}{}",
                        stdout(&o),
                        stderr(&o),
                        String::from_utf8_lossy(&p.stdout),
                        String::from_utf8_lossy(&p.stderr)
                    ));
                }
                compared += 1;
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {compared} disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(compared > 150, "{compared}");
}
