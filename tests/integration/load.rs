//! Load: many small files and one large sparse file in one ingest. Progress moves
//! while it runs (the kernel's count of bytes the process has read rises sample after
//! sample), peak RSS stays bounded, and `fsck --read-data` passes afterwards.
//!
//! The CI size is 4,000 small files and 1 GiB; `benches/load.sh` runs 100,000 files and
//! 20 GiB with the release build. CUSTODY_LOAD_FILES and CUSTODY_LOAD_SPARSE_GIB
//! override the sizes here.

use std::fs;
use std::process::Stdio;
use std::time::Duration;

use custody::ops::demo::pseudo_random;

use crate::common::*;

fn env_or(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// Bytes read so far by a process, from /proc/PID/io; None once it is gone.
fn rchar(pid: u32) -> Option<u64> {
    let io = fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // A zombie has finished: nothing more to sample.
    if stat.rsplit(')').next()?.trim_start().starts_with('Z') {
        return None;
    }
    io.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn many_files_and_a_large_sparse_file_in_one_ingest() {
    let files = env_or("CUSTODY_LOAD_FILES", 4000) as usize;
    let gib = env_or("CUSTODY_LOAD_SPARSE_GIB", 1);
    let s = Scratch::new();
    let src = s.path().join("src");
    for i in 0..files {
        let p = src.join(format!("small/d{:03}/f{i:06}.txt", i % 100));
        if i < 100 {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        fs::write(&p, pseudo_random(&format!("load {i}"), 500 + i % 4000)).unwrap();
    }
    fs::File::create(src.join("sparse.img"))
        .unwrap()
        .set_len(gib << 30)
        .unwrap();
    s.init();
    let child = std::process::Command::new(custody_bin())
        .env("CUSTODY_STORE", s.store())
        .args([
            "--json",
            "ingest",
            src.to_str().unwrap(),
            "--release",
            "load",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut samples = Vec::new();
    while let Some(n) = rchar(pid) {
        samples.push(n);
        std::thread::sleep(Duration::from_millis(20));
    }
    let (o, rss_kib) = wait_measured(child);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rises = samples.windows(2).filter(|w| w[1] > w[0]).count();
    eprintln!(
        "{files} files + {gib} GiB sparse: {:.2} s, peak RSS {} MiB, {} samples, read count rose {rises} times",
        r["elapsed_secs"].as_f64().unwrap(),
        rss_kib / 1024,
        samples.len(),
    );
    assert_eq!(r["counts"]["files"], files as u64 + 1, "{r}");
    assert!(r["bytes_read"].as_u64().unwrap() >= gib << 30, "{r}");
    assert!(
        rises >= 3,
        "progress did not move while the ingest ran: {samples:?}"
    );
    assert!(rss_kib < 300 * 1024, "peak RSS {} MiB", rss_kib / 1024);
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    let out = s.path().join("out");
    s.ok(&["extract", "load", "small", "--to", out.to_str().unwrap()]);
    assert_same_tree(&src.join("small"), &out.join("small"));
}
