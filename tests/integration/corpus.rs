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
