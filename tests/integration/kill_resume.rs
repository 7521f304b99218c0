//! SIGKILL during ingest leaves a valid store, and rerunning finishes the release
//! without storing any chunk twice.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;

fn big_tree(root: &Path, files: usize, size: usize) {
    for i in 0..files {
        let p = root.join(format!("dir{}/file{i}.bin", i % 7));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(
            &p,
            custody::ops::demo::pseudo_random(&format!("big {i}"), size),
        )
        .unwrap();
    }
}

#[test]
fn kill_mid_ingest_then_resume() {
    let s = Scratch::new();
    let src = s.path().join("src");
    big_tree(&src, 120, 2 << 20);
    s.init();
    let bin = assert_cmd::cargo::cargo_bin("custody");
    let mut child = std::process::Command::new(&bin)
        .args(["-q", "ingest", src.to_str().unwrap(), "--release", "big"])
        .env("CUSTODY_STORE", s.store())
        .env("CUSTODY_COMMIT_INTERVAL_MS", "20")
        .spawn()
        .unwrap();
    // Wait until some batches have committed, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stored_before = 0;
    while Instant::now() < deadline {
        let o = s.run(&["--json", "releases"]);
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            if let Some(n) = v["unfinished"][0]["chunks_stored"].as_u64()
                && n > 0
            {
                stored_before = n;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        stored_before > 0,
        "ingest never committed a batch before the deadline"
    );

    // The store opens and is valid; the release does not exist yet.
    let rel = s.json(&["releases"]);
    assert!(rel["releases"].as_array().unwrap().is_empty(), "{rel}");
    assert_eq!(rel["unfinished"][0]["name"], "big");
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    assert_eq!(f["unfinished_ingests"][0], "big");

    // Rerunning the same command resumes.
    let done = s.json(&["ingest", src.to_str().unwrap(), "--release", "big"]);
    assert_eq!(done["resumed"], true);
    let total = done["counts"]["new_chunks"].as_u64().unwrap();
    let now = done["chunks_stored_now"].as_u64().unwrap();
    assert!(now < total, "resume stored every chunk again: {done}");
    assert!(total - now >= stored_before, "{done}");
    // No chunk is stored twice: the store holds exactly the release's chunks.
    let st = s.json(&["stats"]);
    assert_eq!(st["store"]["chunks"].as_u64().unwrap(), total);
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    assert!(f["unfinished_ingests"].as_array().unwrap().is_empty());
    // The killed run's staged rows went with the commit.
    let tables = s.json(&["stats", "--tables"]);
    for t in tables["tables"].as_array().unwrap() {
        if t["name"].as_str().unwrap().starts_with("staged_") {
            assert_eq!(t["rows"], 0, "{t}");
        }
    }
    let out = s.path().join("out");
    s.ok(&["extract", "big", "--to", out.to_str().unwrap()]);
    assert_same_tree(&src, &out);
}

/// A release's entries and content-index rows are staged while it is ingested and
/// moved over in key order when it commits (the entries as blocks), so their pages
/// are nearly full and nothing is left staged (docs/FORMAT.md, staging tables).
#[test]
fn committed_rows_are_packed_and_nothing_stays_staged() {
    let s = Scratch::new();
    let src = s.path().join("src");
    for i in 0..4000 {
        let p = src.join(format!("agency{}/pages/page{i:05}.html", i % 13));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("<html>page {i}</html>")).unwrap();
    }
    s.init();
    let r1 = s.json(&["-q", "ingest", src.to_str().unwrap(), "--release", "r1"]);
    let per_release =
        r1["counts"]["files"].as_u64().unwrap() + r1["counts"]["dirs"].as_u64().unwrap();
    assert_eq!(r1["counts"]["files"], 4000);
    s.ok(&[
        "-q",
        "ingest",
        src.to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    let st = s.json(&["stats", "--tables"]);
    let table = |name: &str| {
        st["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no table {name} in {st}"))
            .clone()
    };
    // by_content has a row per entry; entries a block of many per row.
    let blocks = table("entries")["rows"].as_u64().unwrap();
    assert!(
        blocks > 0 && blocks * 20 < 2 * per_release,
        "{blocks} entry blocks"
    );
    assert_eq!(table("by_content")["rows"], 2 * per_release);
    for name in ["entries", "by_content"] {
        let t = table(name);
        let used = t["stored_bytes"].as_f64().unwrap() + t["metadata_bytes"].as_f64().unwrap();
        let slack = t["fragmented_bytes"].as_f64().unwrap();
        assert!(
            slack / (used + slack) < 0.12,
            "{name} pages are not packed: {t}"
        );
    }
    for name in ["staged_entries", "staged_content"] {
        assert_eq!(table(name)["rows"], 0, "{name} still holds rows");
    }
    let f = s.json(&["fsck"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
}
