//! A full disk: the store lives on a small filesystem (a size-limited tmpfs, else a
//! loop-mounted ext4 image), an ingest runs out of space, and custody says so clearly
//! and leaves every committed release intact. Needs root to mount; without it the
//! test prints why it is skipped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use custody::ops::demo::{make_release_one, pseudo_random};

use crate::common::*;

/// A mounted small filesystem, unmounted on drop.
struct SmallFs {
    dir: PathBuf,
    kind: &'static str,
}

impl SmallFs {
    fn mount(dir: &Path, image_dir: &Path, mib: u64) -> Result<SmallFs, String> {
        if !is_root() {
            return Err("not root, cannot mount a small filesystem".into());
        }
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let tmpfs = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if tmpfs.status.success() {
            return Ok(SmallFs {
                dir: dir.into(),
                kind: "tmpfs",
            });
        }
        let img = image_dir.join("small.img");
        let steps: [(&str, Vec<String>); 3] = [
            (
                "truncate",
                vec!["-s".into(), format!("{mib}M"), img.display().to_string()],
            ),
            (
                "mkfs.ext4",
                vec!["-q".into(), "-F".into(), img.display().to_string()],
            ),
            (
                "mount",
                vec![
                    "-o".into(),
                    "loop".into(),
                    img.display().to_string(),
                    dir.display().to_string(),
                ],
            ),
        ];
        for (prog, args) in steps {
            let o = Command::new(prog)
                .args(&args)
                .output()
                .map_err(|e| format!("{prog}: {e}"))?;
            if !o.status.success() {
                return Err(format!(
                    "tmpfs: {}; {prog}: {}",
                    String::from_utf8_lossy(&tmpfs.stderr).trim(),
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
        }
        Ok(SmallFs {
            dir: dir.into(),
            kind: "ext4 image",
        })
    }

    /// Makes the filesystem bigger (tmpfs only); false when it cannot.
    fn grow(&self, mib: u64) -> bool {
        self.kind == "tmpfs"
            && Command::new("mount")
                .args(["-o", &format!("remount,size={mib}m")])
                .arg(&self.dir)
                .status()
                .is_ok_and(|s| s.success())
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

#[test]
fn full_disk_gives_a_clear_error_and_keeps_releases() {
    let s = Scratch::new();
    let small = match SmallFs::mount(&s.path().join("mnt"), s.path(), 24) {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIPPED full_disk_gives_a_clear_error_and_keeps_releases: {why}");
            return;
        }
    };
    eprintln!("full disk test on a 24 MiB {}", small.kind);
    let store = small.dir.join("store.redb");
    let run = |args: &[&str]| {
        s.cmd()
            .env("CUSTODY_STORE", &store)
            .args(args)
            .output()
            .unwrap()
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let o = run(&a);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };

    let r0 = s.path().join("r0");
    make_release_one(&r0).unwrap();
    assert!(run(&["init"]).status.success());
    json(&["ingest", r0.to_str().unwrap(), "--release", "r0"]);

    // 48 MiB of incompressible data into what is left of 24 MiB.
    let r1 = s.path().join("r1");
    for i in 0..48 {
        let p = r1.join(format!("d{}/f{i:02}.bin", i % 4));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, pseudo_random(&format!("full {i}"), 1 << 20)).unwrap();
    }
    let check_intact = |when: &str| {
        let rel = json(&["releases"]);
        let names: Vec<&str> = rel["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["r0"], "{when}: {rel}");
        let f = json(&["fsck", "--read-data"]);
        assert!(f["problems"].as_array().unwrap().is_empty(), "{when}: {f}");
        let out = s.path().join("out-r0");
        let _ = fs::remove_dir_all(&out);
        let o = run(&["extract", "r0", "--to", out.to_str().unwrap()]);
        assert!(o.status.success(), "{when}: {}", stderr(&o));
        assert_same_tree(&r0, &out);
        fs::remove_dir_all(&out).unwrap();
    };

    // Twice: the second run starts from the first's leftovers on a disk still full.
    for attempt in 1..=2 {
        let o = run(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
        assert_clean_error(&o, &format!("ingest on a full disk, attempt {attempt}"));
        let e = stderr(&o);
        assert!(
            e.to_lowercase().contains("no space left on device"),
            "attempt {attempt}: {e}"
        );
        // The message names the file that ran out of space and what to do.
        assert!(
            e.contains(&store.display().to_string()),
            "attempt {attempt}: the store path is not named: {e}"
        );
        assert!(e.contains("free space"), "attempt {attempt}: {e}");
        eprintln!("attempt {attempt}: {}", e.trim());
        check_intact(&format!("after attempt {attempt}"));
    }

    // With room again, the same command finishes the release.
    if !small.grow(256) {
        eprintln!(
            "cannot grow a {}: resume after freeing space not tested",
            small.kind
        );
        return;
    }
    let done = json(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    assert_eq!(done["counts"]["files"], 48, "{done}");
    let f = json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    assert!(
        f["unfinished_ingests"].as_array().unwrap().is_empty(),
        "{f}"
    );
    let out = s.path().join("out-r1");
    let o = run(&["extract", "r1", "--to", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tree(&r1, &out);
}
