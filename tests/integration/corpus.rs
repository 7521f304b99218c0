//! The small benchmark corpus through the binary: ingest r1 and r2, extract both and
//! compare every byte and mtime. `.ci/run` builds the corpus and sets CUSTODY_CORPUS;
//! without it (a bare clone) there is nothing to run.

use std::path::PathBuf;

use crate::common::*;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CUSTODY_CORPUS")?);
    assert!(
        dir.join("r1").is_dir(),
        "CUSTODY_CORPUS={} has no r1/",
        dir.display()
    );
    Some(dir)
}

#[test]
fn small_corpus_round_trips() {
    let Some(c) = corpus() else {
        eprintln!("CUSTODY_CORPUS not set: corpus round trip runs in .ci/run");
        return;
    };
    let s = Scratch::new();
    s.init();
    let a = s.json(&["ingest", c.join("r1").to_str().unwrap(), "--release", "r1"]);
    let b = s.json(&[
        "ingest",
        c.join("r2").to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    assert!(a["issues"].as_array().unwrap().is_empty(), "{a}");
    assert!(b["issues"].as_array().unwrap().is_empty(), "{b}");
    for r in ["r1", "r2"] {
        let out = s.path().join(format!("x-{r}"));
        s.ok(&["extract", r, "--to", out.to_str().unwrap()]);
        assert_same_tree(&c.join(r), &out);
    }
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
}

/// Every entry of the corpus's r1 has a proof that verifies against r1's root and
/// fails against r2's.
#[test]
fn small_corpus_every_entry_proves() {
    use custody::manifest::proof::{Anchor, Proof, verify};
    use custody::ops::prove::{Target, prove};
    let Some(c) = corpus() else {
        eprintln!("CUSTODY_CORPUS not set: corpus proofs run in .ci/run");
        return;
    };
    let s = Scratch::new();
    s.init();
    s.ok(&["ingest", c.join("r1").to_str().unwrap(), "--release", "r1"]);
    s.ok(&[
        "ingest",
        c.join("r2").to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    let store = custody::store::Store::open(&s.store()).unwrap();
    let snap = store.snapshot().unwrap();
    let (r1, r2) = (snap.release("r1").unwrap(), snap.release("r2").unwrap());
    let a1 = Anchor {
        keys: vec![],
        root: Some(r1.record.root),
    };
    let a2 = Anchor {
        keys: vec![],
        root: Some(r2.record.root),
    };
    let mut n = 0;
    for e in snap.entries_with_prefix(r1.id(), b"").unwrap() {
        let e = e.unwrap();
        let p = Proof::parse(
            &prove(&store, "r1", Target::Path(&e.path.escaped()))
                .unwrap()
                .encode(),
        )
        .unwrap();
        let v = verify(&p, &a1, None).unwrap_or_else(|err| panic!("{}: {err}", e.path));
        assert_eq!(v.path.as_ref(), Some(&e.path));
        assert!(verify(&p, &a2, None).is_err());
        n += 1;
    }
    assert_eq!(n, r1.record.entries());
}
