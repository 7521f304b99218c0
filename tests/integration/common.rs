//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

/// A temporary directory holding a store (and whatever else a test puts there).
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("store.redb")
    }

    /// `custody` with this scratch's store.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("custody").expect("binary");
        c.env("CUSTODY_STORE", self.store());
        c.env_remove("CUSTODY_COMMIT_INTERVAL_MS");
        c
    }

    /// Runs custody with args and returns the output (any exit code).
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run custody")
    }

    /// Runs custody and asserts it exits 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "custody {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs custody with --json and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{out}"))
    }

    pub fn init(&self) {
        self.ok(&["init"]);
    }
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Panics with the first difference between two trees.
pub fn assert_same_tree(a: &Path, b: &Path) {
    if let Some(d) = custody::ops::demo::compare_trees(a, b).expect("compare") {
        panic!("trees differ: {d}");
    }
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl Scratch {
    /// Runs custody with --json and parses stdout whatever the exit code.
    pub fn json_any(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let o = self.run(&a);
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{}", stderr(&o)))
    }
}
