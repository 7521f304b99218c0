//! Ingest → extract gives back every byte, name, mtime and link.

use std::fs;
use std::os::unix::ffi::OsStrExt;

use custody::ops::demo::{make_release_one, make_release_two};

use crate::common::*;

#[test]
fn two_releases_extract_byte_exact_with_mtimes() {
    let s = Scratch::new();
    let (r1, r2) = (s.path().join("r1"), s.path().join("r2"));
    make_release_one(&r1).unwrap();
    make_release_two(&r1, &r2).unwrap();
    s.init();
    let a = s.json(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    assert_eq!(a["counts"]["files"], 44);
    assert_eq!(a["counts"]["symlinks"], 1);
    assert!(a["issues"].as_array().unwrap().is_empty());
    let b = s.json(&[
        "ingest",
        r2.to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    // r2 changes a few files: nearly everything deduplicates against r1.
    assert!(
        b["counts"]["new_raw_bytes"].as_u64().unwrap() < 100_000,
        "{b}"
    );

    for (name, src) in [("r1", &r1), ("r2", &r2)] {
        let out = s.path().join(format!("out-{name}"));
        s.ok(&["extract", name, "--to", out.to_str().unwrap()]);
        assert_same_tree(src, &out);
        // Empty directories and empty files come back too.
        assert!(out.join("ohiofusion/empty-dir").is_dir());
        assert_eq!(
            fs::metadata(out.join("chicagochiefs/empty.txt"))
                .unwrap()
                .len(),
            0
        );
    }
    // The non-UTF-8 name survives byte for byte.
    let odd = s
        .path()
        .join("out-r1/miamihidta")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9 menu.txt"));
    assert_eq!(fs::read(odd).unwrap(), b"latin-1 name\n");
}

#[test]
fn partial_extract_cat_and_ls() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);

    let out = s.path().join("part");
    s.ok(&[
        "extract",
        "r1",
        "bostonbric/files",
        "miamihidta/roster.csv",
        "--to",
        out.to_str().unwrap(),
    ]);
    assert_same_tree(&r1.join("bostonbric/files"), &out.join("bostonbric/files"));
    assert_eq!(
        fs::read(out.join("miamihidta/roster.csv")).unwrap(),
        fs::read(r1.join("miamihidta/roster.csv")).unwrap()
    );
    assert!(!out.join("austinrtcc").exists());

    let cat = s
        .cmd()
        .args(["cat", "r1", "bostonbric/files/scan.pdf"])
        .output()
        .unwrap();
    assert!(cat.status.success());
    assert_eq!(
        cat.stdout,
        fs::read(r1.join("bostonbric/files/scan.pdf")).unwrap()
    );

    let ls = s.ok(&["ls", "r1", "miamihidta"]);
    assert!(ls.contains("caf\\xe9 menu.txt"), "{ls}");
    assert!(ls.contains("roster.csv"));
    assert!(!ls.contains("deep.txt"), "ls is not recursive: {ls}");
    let rec = s.json(&["ls", "r1", "miamihidta", "--recursive"]);
    let paths: Vec<&str> = rec["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("d29/deep.txt")),
        "{paths:?}"
    );
    let link = s.json(&["ls", "r1", "bostonbric/roster-link.csv"]);
    assert_eq!(link["entries"][0]["target"], "../austinrtcc/roster.csv");
    // A file's listed content id is what b3sum prints.
    let f = s.json(&["ls", "r1", "bostonbric/files/scan.pdf"]);
    let want = blake3::hash(&fs::read(r1.join("bostonbric/files/scan.pdf")).unwrap())
        .to_hex()
        .to_string();
    assert_eq!(f["entries"][0]["blob"], want);
}

#[test]
fn unchanged_reingest_uses_the_cache_and_reread_does_not() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "a"]);
    let again = s.json(&["ingest", r1.to_str().unwrap(), "--release", "b"]);
    assert_eq!(again["files_unchanged"], 44);
    assert_eq!(again["files_read"], 0);
    assert_eq!(again["cache_from"], "a");
    let reread = s.json(&["ingest", r1.to_str().unwrap(), "--release", "c", "--reread"]);
    assert_eq!(reread["files_unchanged"], 0);
    assert_eq!(reread["files_read"], 44);
    assert_eq!(reread["counts"]["new_chunks"], 0);
    // A touched file is read again.
    let f = r1.join("austinrtcc/budget.csv");
    let data = fs::read(&f).unwrap();
    fs::write(&f, &data).unwrap();
    let d = s.json(&["ingest", r1.to_str().unwrap(), "--release", "d"]);
    assert_eq!(d["files_read"], 1, "{d}");
    let out = s.path().join("out");
    s.ok(&["extract", "d", "--to", out.to_str().unwrap()]);
    assert_same_tree(&r1, &out);
}

#[test]
fn stats_and_releases_report_dedup() {
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
    let st = s.json(&["stats"]);
    let store = &st["store"];
    // Five agencies leak the same manual, and r2 repeats r1: dedup well over 2x.
    assert!(store["dedup_ratio"].as_f64().unwrap() > 2.0, "{st}");
    let rels = st["releases"].as_array().unwrap();
    assert_eq!(rels.len(), 2);
    let (a, b) = (&rels[0], &rels[1]);
    assert_eq!(a["shared_bytes"], b["shared_bytes"]);
    assert!(a["shared_bytes"].as_u64().unwrap() > 4_000_000);
    assert!(b["exclusive_bytes"].as_u64().unwrap() < 100_000);
    let list = s.json(&["releases"]);
    assert_eq!(list["releases"][1]["parent"], "r1");
    assert_eq!(list["releases"][0]["files"], 44);
}

mod property {
    use std::fs;

    use custody::chunking::ChunkParams;
    use custody::ops::cat::cat;
    use custody::ops::ingest::{IngestOptions, ingest};
    use custody::progress::Silent;
    use custody::store::Store;
    use proptest::prelude::*;

    /// File contents built from a few random blocks, repeated and shuffled, so that
    /// chunks repeat within and across files.
    fn contents() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let block = proptest::collection::vec(any::<u8>(), 0..6000);
        (
            proptest::collection::vec(block, 1..4),
            proptest::collection::vec(proptest::collection::vec(0usize..4, 0..12), 1..5),
        )
            .prop_map(|(blocks, plans)| {
                plans
                    .into_iter()
                    .map(|plan| {
                        plan.into_iter()
                            .flat_map(|i| blocks[i % blocks.len()].clone())
                            .collect()
                    })
                    .collect()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// chunk → store → reassemble is the identity, whatever the bytes.
        #[test]
        fn store_then_read_back_is_identity(files in contents()) {
            let t = tempfile::tempdir().unwrap();
            let src = t.path().join("src");
            fs::create_dir_all(&src).unwrap();
            for (i, f) in files.iter().enumerate() {
                fs::write(src.join(format!("f{i}")), f).unwrap();
            }
            // Tiny chunks so that even these small files span many of them.
            let params = ChunkParams::new(256, 1024, 4096).unwrap();
            let store = Store::init(&t.path().join("s.redb"), params, 1).unwrap();
            ingest(&store, &IngestOptions::new(src, "r"), &Silent).unwrap();
            for (i, f) in files.iter().enumerate() {
                let mut out = Vec::new();
                let rep = cat(&store, "r", &format!("f{i}"), &mut out).unwrap();
                prop_assert_eq!(&out, f);
                prop_assert_eq!(rep.blob.to_string(), blake3::hash(f).to_hex().to_string());
            }
        }
    }
}
