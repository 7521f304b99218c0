//! Odd input: special files, unreadable files, files that change while read, very
//! long paths. Each gets a clear warning and the rest of the tree is stored.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

#[test]
fn special_files_are_skipped_with_a_warning() {
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("keep.txt"), b"kept").unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(src.join("sock")).unwrap();
    s.init();
    let o = s.run(&["--json", "ingest", src.to_str().unwrap(), "--release", "r"]);
    assert_eq!(
        code(&o),
        0,
        "special files alone are not data loss: {}",
        stderr(&o)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let issues = r["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 2, "{r}");
    assert!(issues.iter().all(|i| i["kind"] == "special"));
    assert_eq!(issues[0]["path"], "fifo");
    assert!(issues[0]["message"].as_str().unwrap().contains("FIFO"));
    assert_eq!(r["counts"]["files"], 1);
    // The warning reaches stderr in text mode too.
    let o = s.run(&["ingest", src.to_str().unwrap(), "--release", "r2"]);
    assert!(stderr(&o).contains("fifo: FIFO skipped"), "{}", stderr(&o));
}

/// An unreadable file is a warning listed in the report, exit code 3, and everything
/// else is stored. Root reads anything, so as root the ingest runs as `nobody`.
#[test]
fn unreadable_files_give_exit_3() {
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("ok.txt"), b"fine").unwrap();
    fs::write(src.join("secret.txt"), b"hidden").unwrap();
    fs::write(src.join("sub/x"), b"x").unwrap();
    fs::set_permissions(src.join("secret.txt"), fs::Permissions::from_mode(0o000)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("custody");
    let mut cmd = if is_root() {
        if std::process::Command::new("setpriv")
            .arg("--help")
            .output()
            .is_err()
        {
            panic!("running as root needs setpriv (util-linux) to drop privileges");
        }
        chown_tree(s.path(), 65534);
        fs::set_permissions(s.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    cmd.env("CUSTODY_STORE", s.store());
    let init = cmd_clone(&cmd).arg("init").output().unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    let o = cmd
        .args(["--json", "ingest", src.to_str().unwrap(), "--release", "r"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["issues"][0]["path"], "secret.txt");
    assert_eq!(r["issues"][0]["kind"], "unreadable");
    assert!(
        r["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ermission denied")
    );
    assert_eq!(r["counts"]["files"], 2);
}

fn cmd_clone(c: &std::process::Command) -> std::process::Command {
    let mut n = std::process::Command::new(c.get_program());
    n.args(c.get_args());
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            n.env(k, v);
        }
    }
    n
}

fn chown_tree(p: &Path, uid: u32) {
    let id = rustix::process::Uid::from_raw(uid);
    let gid = rustix::process::Gid::from_raw(uid);
    rustix::fs::chownat(
        rustix::fs::CWD,
        p,
        Some(id),
        Some(gid),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
    if fs::symlink_metadata(p).unwrap().is_dir() {
        for e in fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

/// A file appended to throughout the ingest is detected, re-read, then reported.
#[test]
fn file_changing_while_read_is_reported() {
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let growing = src.join("growing.log");
    fs::write(&growing, custody::ops::demo::pseudo_random("log", 30 << 20)).unwrap();
    fs::write(src.join("still.txt"), b"still").unwrap();
    s.init();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let growing = growing.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = fs::OpenOptions::new().append(true).open(&growing).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.write_all(b"another line\n").unwrap();
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let o = s.run(&["--json", "ingest", src.to_str().unwrap(), "--release", "r"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["issues"][0]["path"], "growing.log");
    assert_eq!(r["issues"][0]["kind"], "changed");
    assert_eq!(r["counts"]["files"], 2);
}

/// A path longer than PATH_MAX (4096 bytes) is still reachable: the walk opens each
/// directory relative to its parent.
#[test]
fn paths_longer_than_path_max_are_ingested() {
    use rustix::fs::{Mode, OFlags};
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let name = "d".repeat(200);
    let mut fd = rustix::fs::open(&src, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap();
    let mut rel = String::new();
    for _ in 0..22 {
        rustix::fs::mkdirat(&fd, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
        fd = rustix::fs::openat(
            &fd,
            name.as_str(),
            OFlags::DIRECTORY | OFlags::RDONLY,
            Mode::empty(),
        )
        .unwrap();
        rel.push_str(&name);
        rel.push('/');
    }
    let f = rustix::fs::openat(
        &fd,
        "deep.txt",
        OFlags::CREATE | OFlags::WRONLY,
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    rustix::io::write(&f, b"far down").unwrap();
    rel.push_str("deep.txt");
    assert!(rel.len() > 4096);
    s.init();
    let r = s.json(&["ingest", src.to_str().unwrap(), "--release", "r"]);
    assert_eq!(r["counts"]["files"], 1, "{r}");
    let o = s.cmd().args(["cat", "r", &rel]).output().unwrap();
    assert_eq!(o.stdout, b"far down");
}

/// Symlink loops and links to ancestors are stored as links with their targets and
/// never followed: the walk ends, nothing below a link is listed, and extract gives
/// the same links back.
#[test]
fn symlink_loops_are_recorded_not_followed() {
    use std::os::unix::fs::symlink;
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(src.join("dir/deeper")).unwrap();
    fs::write(src.join("dir/deeper/file.txt"), b"real").unwrap();
    let links: [(&str, &str); 7] = [
        ("a", "b"),
        ("b", "a"),
        ("self", "self"),
        ("dir/up", ".."),
        ("dir/deeper/top", "../.."),
        ("dir/root", "/"),
        ("dir/loop", "../dir"),
    ];
    for (at, to) in links {
        symlink(to, src.join(at)).unwrap();
    }
    s.init();
    let r = s.json(&["ingest", src.to_str().unwrap(), "--release", "r"]);
    assert_eq!(r["counts"]["symlinks"], 7, "{r}");
    assert_eq!(r["counts"]["files"], 1, "{r}");
    assert_eq!(r["counts"]["dirs"], 2, "{r}");
    assert!(r["issues"].as_array().unwrap().is_empty(), "{r}");
    let ls = s.json(&["ls", "r", "-R"]);
    let entries = ls["entries"].as_array().expect("entries");
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 10, "{paths:?}");
    for (at, to) in links {
        let e = entries
            .iter()
            .find(|e| e["path"] == at)
            .unwrap_or_else(|| panic!("{at} not listed: {paths:?}"));
        assert_eq!(e["kind"], "symlink", "{e}");
        assert_eq!(e["target"], to, "{e}");
    }
    let out = s.path().join("out");
    s.ok(&["extract", "r", "--to", out.to_str().unwrap()]);
    for (at, to) in links {
        assert_eq!(fs::read_link(out.join(at)).unwrap(), Path::new(to), "{at}");
    }
    assert_eq!(fs::read(out.join("dir/deeper/file.txt")).unwrap(), b"real");
}

/// Many empty files in one ingest (CUSTODY_EMPTY_FILES, default 20,000; the full run
/// in benches/load.sh uses 100,000): every one is an entry, and they come back.
#[test]
fn many_empty_files_in_one_ingest() {
    let n: usize = std::env::var("CUSTODY_EMPTY_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let s = Scratch::new();
    let src = s.path().join("src");
    for d in 0..(n / 1000).max(1) {
        fs::create_dir_all(src.join(format!("d{d:03}"))).unwrap();
    }
    for i in 0..n {
        fs::File::create(src.join(format!("d{:03}/e{i:06}", i / 1000))).unwrap();
    }
    s.init();
    let mut cmd = std::process::Command::new(custody_bin());
    cmd.env("CUSTODY_STORE", s.store()).args([
        "--json",
        "ingest",
        src.to_str().unwrap(),
        "--release",
        "r",
    ]);
    let (o, rss_kib) = run_measured(cmd);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    eprintln!(
        "{n} empty files: ingest {:.2} s, peak RSS {} MiB",
        r["elapsed_secs"].as_f64().unwrap(),
        rss_kib / 1024
    );
    assert_eq!(r["counts"]["files"], n as u64, "{r}");
    assert_eq!(r["counts"]["logical_bytes"], 0);
    // Every empty file is the same (empty) blob.
    let rel = s.json(&["releases"]);
    assert_eq!(
        rel["releases"][0]["entries"].as_u64().unwrap(),
        (n + (n / 1000).max(1)) as u64
    );
    let st = s.json(&["stats"]);
    assert!(st["store"]["blobs"].as_u64().unwrap() <= 1, "{st}");
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    let out = s.path().join("out");
    s.ok(&["extract", "r", "--to", out.to_str().unwrap()]);
    let back: usize = fs::read_dir(&out)
        .unwrap()
        .map(|d| fs::read_dir(d.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(back, n);
}

/// The blob id of `len` zero bytes, computed here independently of custody.
fn blake3_of_zeros(len: u64) -> String {
    let mut h = blake3::Hasher::new();
    let block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        h.update(&block[..n]);
        left -= n as u64;
    }
    h.finalize().to_hex().to_string()
}

/// A sparse file of CUSTODY_SPARSE_GIB (default 2) GiB is read in bounded memory: peak
/// RSS stays far below the file's size, the zeros are stored once, and its content id
/// is the BLAKE3 of that many zeros.
#[test]
fn sparse_file_is_ingested_in_bounded_memory() {
    let gib: u64 = std::env::var("CUSTODY_SPARSE_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let len = gib << 30;
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::File::create(src.join("sparse.img"))
        .unwrap()
        .set_len(len)
        .unwrap();
    s.init();
    let mut cmd = std::process::Command::new(custody_bin());
    cmd.env("CUSTODY_STORE", s.store()).args([
        "--json",
        "ingest",
        src.to_str().unwrap(),
        "--release",
        "r",
    ]);
    let (o, rss_kib) = run_measured(cmd);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    eprintln!(
        "{gib} GiB sparse file: ingest {:.2} s, peak RSS {} MiB",
        r["elapsed_secs"].as_f64().unwrap(),
        rss_kib / 1024
    );
    assert_eq!(r["counts"]["logical_bytes"], len);
    // All chunks are the same max-size run of zeros (plus a shorter tail).
    assert!(r["counts"]["new_chunks"].as_u64().unwrap() <= 2, "{r}");
    assert!(
        rss_kib < 300 * 1024,
        "peak RSS {} MiB for a {gib} GiB file",
        rss_kib / 1024
    );
    let ls = s.json(&["ls", "r", "sparse.img", "--hash"]);
    let blob = ls["entries"][0]["blob"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        blob.ends_with(&blake3_of_zeros(len)),
        "stored id {blob}: {ls}"
    );
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
}

/// Files deleted while an ingest runs: those listed but gone when read are reported
/// as vanished (exit 3), everything else is stored byte-exact, and the store is
/// clean. The deletions start as soon as the walk opens their directory, and run
/// from the last file back, towards the walk.
#[test]
fn files_vanishing_during_ingest_are_reported() {
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(src.join("a")).unwrap();
    fs::create_dir_all(src.join("b")).unwrap();
    for i in 0..3 {
        fs::write(
            src.join(format!("a/big{i}")),
            custody::ops::demo::pseudo_random(&format!("slow {i}"), 8 << 20),
        )
        .unwrap();
    }
    let content = |i: usize| custody::ops::demo::pseudo_random(&format!("v{i}"), 2000 + i);
    s.init();
    let mut seen_vanish = false;
    for attempt in 0..4 {
        let name = format!("r{attempt}");
        for i in 0..1000 {
            fs::write(src.join(format!("b/f{i:04}")), content(i)).unwrap();
        }
        let mut child = std::process::Command::new(custody_bin())
            .env("CUSTODY_STORE", s.store())
            .args([
                "--json",
                "ingest",
                src.to_str().unwrap(),
                "--release",
                &name,
                "--reread",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for the walk to open src/b, then delete f0999, f0998, ... f0500.
        let fds = format!("/proc/{}/fd", child.id());
        let target = src.join("b");
        let started = std::time::Instant::now();
        'wait: while started.elapsed() < std::time::Duration::from_secs(60) {
            if let Ok(rd) = fs::read_dir(&fds) {
                for e in rd.flatten() {
                    if fs::read_link(e.path()).is_ok_and(|l| l == target) {
                        break 'wait;
                    }
                }
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
        }
        for i in (500..1000).rev() {
            let _ = fs::remove_file(src.join(format!("b/f{i:04}")));
        }
        let o = child.wait_with_output().unwrap();
        let r: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        let issues = r["issues"].as_array().unwrap();
        for i in issues {
            assert_eq!(i["kind"], "vanished", "{i}");
            let p = i["path"].as_str().unwrap();
            let n: usize = p.strip_prefix("b/f").unwrap().parse().unwrap();
            assert!(n >= 500, "{p} was never deleted");
        }
        assert_eq!(code(&o), if issues.is_empty() { 0 } else { 3 }, "{r}");
        // Every stored file has its own bytes; the files never deleted are all there.
        let ls = s.json(&["ls", &name, "b"]);
        let stored: Vec<usize> = ls["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap()[3..].parse().unwrap())
            .collect();
        assert!((0..500).all(|i| stored.contains(&i)), "{stored:?}");
        assert!(stored.len() + issues.len() <= 1000);
        let out = s.path().join(format!("out{attempt}"));
        s.ok(&["extract", &name, "--to", out.to_str().unwrap()]);
        for i in &stored {
            assert_eq!(
                fs::read(out.join(format!("b/f{i:04}"))).unwrap(),
                content(*i),
                "f{i:04}"
            );
        }
        assert_same_tree(&src.join("a"), &out.join("a"));
        eprintln!(
            "attempt {attempt}: {} stored, {} vanished, {} gone before listing",
            stored.len(),
            issues.len(),
            1000 - stored.len() - issues.len()
        );
        if !issues.is_empty() {
            seen_vanish = true;
            break;
        }
    }
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    assert!(
        seen_vanish,
        "in four attempts no deletion landed between the walk's listing and its read"
    );
}

/// Names that are not UTF-8, or hold newlines, tabs and backslashes, come back byte
/// for byte, and their escaped forms work with ls, cat, prove and verify-proof.
#[test]
fn odd_names_round_trip() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let s = Scratch::new();
    let src = s.path().join("src");
    let dir = src.join(OsStr::from_bytes(b"d\xc3(latin \xe9"));
    fs::create_dir_all(&dir).unwrap();
    let names: [&[u8]; 6] = [
        b"\xff\xfe.bin",
        b"line\nbreak.txt",
        b"tab\there",
        b"back\\slash",
        b"-dash",
        b"ok \xe2\x9c\x93 utf8",
    ];
    for (i, n) in names.iter().enumerate() {
        fs::write(dir.join(OsStr::from_bytes(n)), format!("content {i}")).unwrap();
    }
    std::os::unix::fs::symlink(OsStr::from_bytes(b"../\xff"), src.join("link")).unwrap();
    s.init();
    let r = s.json(&["ingest", src.to_str().unwrap(), "--release", "r"]);
    assert_eq!(r["counts"]["files"], names.len() as u64, "{r}");
    let out = s.path().join("out");
    s.ok(&["extract", "r", "--to", out.to_str().unwrap()]);
    assert_same_tree(&src, &out);
    assert_eq!(
        fs::read_link(out.join("link"))
            .unwrap()
            .as_os_str()
            .as_bytes(),
        b"../\xff"
    );
    let ls = s.json(&["ls", "r", "-R"]);
    let escaped = custody::paths::escape_bytes(b"d\xc3(latin \xe9/\xff\xfe.bin");
    assert!(
        ls["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == escaped.as_str()),
        "{escaped} not in {ls}"
    );
    let o = s.run(&["cat", "r", &escaped]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(o.stdout, b"content 0");
    let proof = s.path().join("p");
    s.ok(&["prove", "r", &escaped, "-o", proof.to_str().unwrap()]);
    let file = dir.join(OsStr::from_bytes(names[0]));
    let o = s
        .cmd()
        .args(["verify-proof", proof.to_str().unwrap(), "--file"])
        .arg(&file)
        .output()
        .unwrap();
    // Consistent but unanchored: exit 1 (docs/CLI.md), and it names the path.
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains(&escaped), "{}", stdout(&o));
}

/// The store is created owner-only; another user gets a clear permission error
/// naming the store, not a crash or an empty answer.
#[test]
fn another_user_cannot_read_the_store() {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        eprintln!("SKIPPED: needs root to run custody as another user");
        return;
    }
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a.txt"), b"names and phone numbers").unwrap();
    s.init();
    s.ok(&["ingest", src.to_str().unwrap(), "--release", "r"]);
    assert_eq!(
        fs::metadata(s.store()).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The scratch directory is traversable; only the store's own mode protects it.
    fs::set_permissions(s.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("custody");
    let o = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["ls", "r"])
        .env("CUSTODY_STORE", s.store())
        .output()
        .expect("setpriv (util-linux) is needed when tests run as root");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("ermission denied"), "{err}");
    assert!(err.contains("store.redb"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
