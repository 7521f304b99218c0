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
    let out = s.path().join("out");
    s.ok(&["extract", "big", "--to", out.to_str().unwrap()]);
    assert_same_tree(&src, &out);
}
