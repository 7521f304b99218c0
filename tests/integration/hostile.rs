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
