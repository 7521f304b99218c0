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

/// The custody binary under test.
pub fn custody_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("custody")
}

/// Runs a command to its end and returns its output and its peak resident set size in
/// KiB: how the tests check that memory stays bounded.
///
/// `ru_maxrss` of a child this process spawns is not the child's alone: Linux carries
/// the spawning process's high-water mark across the child's exec (std spawns with
/// vfork semantics), and this test binary runs many tests at once, some holding
/// hundreds of MB. So when GNU time is installed the command runs under it: time is
/// small, forks the command itself and reports that child's peak. Without it the
/// measure falls back to [`wait_measured`], an upper bound.
pub fn run_measured(mut cmd: std::process::Command) -> (Output, u64) {
    use std::process::Stdio;
    const GNU_TIME: &str = "/usr/bin/time";
    if Path::new(GNU_TIME).exists() {
        let report = tempfile::NamedTempFile::new().expect("time report file");
        let mut timed = std::process::Command::new(GNU_TIME);
        timed
            .args(["-f", "%M", "-o"])
            .arg(report.path())
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => timed.env(k, v),
                None => timed.env_remove(k),
            };
        }
        if let Some(d) = cmd.get_current_dir() {
            timed.current_dir(d);
        }
        let o = timed
            .stdin(Stdio::null())
            .output()
            .expect("run under GNU time");
        let text = std::fs::read_to_string(report.path()).expect("time report");
        // The last line is %M; a line before it says when the command died of a signal.
        let kib = text
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("GNU time report: {text:?}"));
        return (o, kib);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_measured(child)
}

/// [`run_measured`] for a child already spawned with piped stdout and stderr.
pub fn wait_measured(mut child: std::process::Child) -> (Output, u64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let mut stderr = Vec::new();
    let _ = err.read_to_end(&mut stderr);
    let stdout = reader.join().expect("stdout reader");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it and the status for our own child,
    // which nothing else waits for.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    (
        Output {
            status: std::process::ExitStatus::from_raw(status),
            stdout,
            stderr,
        },
        ru.ru_maxrss as u64,
    )
}

/// Asserts that a failed command failed cleanly: exit code 2 and a one-line
/// `custody: error:` message, no panic and no backtrace.
pub fn assert_clean_error(o: &Output, what: &str) {
    let e = stderr(o);
    assert_eq!(code(o), 2, "{what}: exit {:?}, stderr: {e}", o.status);
    assert!(e.starts_with("custody: error:"), "{what}: {e}");
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE") && !e.contains("stack backtrace"),
        "{what}: {e}"
    );
}
