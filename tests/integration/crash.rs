//! Crash harness: SIGKILL `ingest` at many points of a run, on a store that already
//! holds a committed release r0, and check after every kill that the store opens, r0
//! passes `fsck --read-data` and extracts byte-exact, and the interrupted release r1
//! does not exist (it is listed as unfinished). Rerunning finishes r1, byte-exact,
//! with exactly the chunks, blobs and entries a clean ingest of the same trees into a
//! fresh store has: no chunk stored twice, no entry of a killed run left behind.
//!
//! Kills are made two ways. *Cumulative*: one store is killed, checked, restarted and
//! killed again later, so resumed runs are killed too (a resume of a resume...).
//! *Independent*: each kill starts from a fresh copy of the store holding only r0,
//! runs to completion afterwards, and is compared with the clean ingest.
//!
//! A kill is triggered by elapsed time (a fraction of what the clean ingest needed for
//! the work left), right after the run's `begin` commit, or right after its Nth batch
//! commit (seen as the unfinished ingest's stored-chunk count rising; those runs use a
//! slower commit interval, so the kill lands early in the next batch).
//!
//! `crash_harness_ci` runs 4 kill points on a small tree. `crash_harness_full`
//! (ignored; `benches/crash-harness.sh` runs it in release mode) runs
//! `CUSTODY_CRASH_POINTS` (default 24) on a larger tree and prints the table that
//! docs/RELIABILITY.md quotes.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use custody::ops::demo::{copy_tree, make_release_one, pseudo_random};

use crate::common::*;

/// What makes the harness pull the trigger.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    /// Right after the run's first transaction (which records the unfinished ingest).
    Begin,
    /// This fraction of the clean ingest's time, scaled to the work left.
    Elapsed(f64),
    /// Right after the run's Nth commit that stored chunks.
    Commit(u32),
}

#[derive(Clone, Copy, Debug)]
struct Point {
    trigger: Trigger,
    /// CUSTODY_COMMIT_INTERVAL_MS for the run.
    interval_ms: u64,
}

const fn at(trigger: Trigger, interval_ms: u64) -> Point {
    Point {
        trigger,
        interval_ms,
    }
}

struct Config {
    big_files: usize,
    big_size: usize,
    small_files: usize,
    cumulative: Vec<Point>,
    independent: Vec<Point>,
}

/// Named checks and what each found.
type Checks = Vec<(&'static str, Result<(), String>)>;

/// One row of the result table.
struct Row {
    mode: String,
    trigger: String,
    /// When the kill landed, from the spawn of the run (none for a run to the end).
    kill_ms: Option<u128>,
    state: After,
    checks: Checks,
}

/// The state a kill left r1 in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// Killed before the run's first commit: no trace of the run.
    NotBegun,
    /// Listed as unfinished, with this many chunks stored.
    Unfinished(u64),
    /// Killed after the final commit (before the process exited): r1 is whole.
    Committed,
    /// The run had exited before the trigger fired.
    FinishedFirst,
    /// A row for the run that finishes the release.
    Resumed,
}

impl After {
    /// True when a SIGKILL hit a live ingest.
    fn killed(self) -> bool {
        matches!(
            self,
            After::NotBegun | After::Unfinished(_) | After::Committed
        )
    }
    /// True when r1 is already committed, so the next run would be refused.
    fn done(self) -> bool {
        matches!(self, After::Committed | After::FinishedFirst)
    }
}

impl Row {
    fn passed(&self) -> usize {
        self.checks.iter().filter(|(_, r)| r.is_ok()).count()
    }
    fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
            .collect()
    }
}

/// r0 is the demo release; r1 holds all of r0 (stored already: deduplicated against
/// it), large incompressible files, one of them twice, and many small files.
fn make_trees(root: &Path, cfg: &Config) -> (PathBuf, PathBuf) {
    let r0 = root.join("r0");
    let r1 = root.join("r1");
    make_release_one(&r0).unwrap();
    copy_tree(&r0, &r1.join("from-r0")).unwrap();
    for i in 0..cfg.big_files {
        let p = r1.join(format!("big/d{}/file{i:04}.bin", i % 5));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, pseudo_random(&format!("crash big {i}"), cfg.big_size)).unwrap();
    }
    if cfg.big_files > 0 {
        fs::copy(
            r1.join("big/d0/file0000.bin"),
            r1.join("big/copy-of-file0000.bin"),
        )
        .unwrap();
    }
    for i in 0..cfg.small_files {
        let p = r1.join(format!("small/s{}/note{i:05}.txt", i % 10));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(
            &p,
            pseudo_random(&format!("crash small {i}"), 3000 + i % 997),
        )
        .unwrap();
    }
    (r0, r1)
}

/// What a store looks like after a clean ingest of r0 then r1 into a fresh store.
struct Reference {
    stats: serde_json::Value,
    r1_new_chunks: u64,
    r1_secs: f64,
}

fn store_numbers(stats: &serde_json::Value) -> Vec<(&'static str, u64)> {
    [
        "chunks",
        "blobs",
        "entries",
        "unique_bytes",
        "stored_bytes",
        "logical_bytes",
    ]
    .into_iter()
    .map(|k| (k, stats["store"][k].as_u64().unwrap_or(u64::MAX)))
    .collect()
}

fn pending(store: &Path) -> Option<(String, u64)> {
    let st = custody::store::Store::open(store).ok()?;
    let r = custody::ops::releases::releases(&st).ok()?;
    r.unfinished
        .iter()
        .find(|u| u.name == "r1")
        .map(|u| (u.started.clone(), u.chunks_stored))
}

fn spawn_ingest(s: &Scratch, src: &Path, interval_ms: u64, log: &Path) -> Child {
    std::process::Command::new(custody_bin())
        .args(["-q", "ingest", src.to_str().unwrap(), "--release", "r1"])
        .env("CUSTODY_STORE", s.store())
        .env("CUSTODY_COMMIT_INTERVAL_MS", interval_ms.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

struct Kill {
    at: Duration,
    finished_first: bool,
    what: String,
}

/// Runs an ingest into `s` and SIGKILLs it at `p`. `left` is the fraction of r1's
/// chunks not yet stored, to scale elapsed triggers.
fn run_and_kill(s: &Scratch, src: &Path, p: Point, reference: &Reference, left: f64) -> Kill {
    let before = pending(&s.store());
    let log = s.path().join("ingest.log");
    let started = Instant::now();
    let mut child = spawn_ingest(s, src, p.interval_ms, &log);
    let deadline = started + Duration::from_secs(300);
    let what;
    match p.trigger {
        Trigger::Begin => {
            what = format!("after begin ({} ms commits)", p.interval_ms);
            while Instant::now() < deadline {
                let now = pending(&s.store());
                if now.is_some() && now.map(|n| n.0) != before.as_ref().map(|b| b.0.clone()) {
                    break;
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Trigger::Elapsed(f) => {
            let ms = (f * reference.r1_secs * 1000.0 * left).round() as u64;
            what = format!("t = {ms} ms ({:.0}% of est.)", f * 100.0);
            while started.elapsed() < Duration::from_millis(ms) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Trigger::Commit(n) => {
            what = format!("after commit {n} ({} ms commits)", p.interval_ms);
            let mut last = before.as_ref().map(|b| b.1);
            let mut seen = 0;
            while Instant::now() < deadline && seen < n {
                if let Some((_, c)) = pending(&s.store()) {
                    if last.is_some_and(|l| c > l) || (last.is_none() && c > 0) {
                        seen += 1;
                    }
                    last = Some(c);
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let finished_first = child.try_wait().unwrap().is_some();
    if !finished_first {
        child.kill().unwrap();
    }
    let at = started.elapsed();
    let status = child.wait().unwrap();
    if finished_first {
        assert!(
            status.success(),
            "ingest failed on its own: {}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }
    Kill {
        at,
        finished_first,
        what,
    }
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

fn json_of(o: &std::process::Output) -> Result<serde_json::Value, String> {
    serde_json::from_slice(&o.stdout).map_err(|e| format!("{e}; stderr {}", stderr(o)))
}

/// The checks after a kill. `min_chunks` is what earlier kills left committed.
fn check_after_kill(s: &Scratch, r0: &Path, min_chunks: u64) -> (After, Checks) {
    let mut checks = Vec::new();
    let mut state = After::NotBegun;
    let o = s.run(&["--json", "releases"]);
    let rel = json_of(&o);
    checks.push((
        "opens",
        check(o.status.success(), || stderr(&o))
            .and(rel.as_ref().map(|_| ()).map_err(Clone::clone)),
    ));
    // r1 is absent (unfinished, or without a trace when the kill came before the
    // run's first commit), or, when the kill came after the final commit, whole.
    let absent = rel.as_ref().map_err(Clone::clone).and_then(|r| {
        let names: Vec<&str> = r["releases"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
            .unwrap_or_default();
        let unfinished = r["unfinished"].as_array().map_or(99, |u| u.len());
        if names == ["r0", "r1"] && unfinished == 0 {
            state = After::Committed;
            return Ok(());
        }
        if let Some(c) = r["unfinished"][0]["chunks_stored"].as_u64() {
            state = After::Unfinished(c);
        }
        check(
            names == ["r0"]
                && (unfinished == 0 || (unfinished == 1 && r["unfinished"][0]["name"] == "r1")),
            || format!("releases {names:?}, unfinished {}", r["unfinished"]),
        )
    });
    checks.push((
        if state == After::Committed {
            "r1 whole"
        } else {
            "r1 absent"
        },
        absent,
    ));
    let o = s.run(&["--json", "fsck", "--read-data"]);
    let unfinished = if matches!(state, After::Unfinished(_)) {
        serde_json::json!(["r1"])
    } else {
        serde_json::json!([])
    };
    checks.push((
        "fsck",
        json_of(&o).and_then(|f| {
            check(
                code(&o) == 0
                    && f["problems"].as_array().is_some_and(|p| p.is_empty())
                    && f["unfinished_ingests"] == unfinished,
                || format!("exit {}: {f}", code(&o)),
            )
        }),
    ));
    let out = s.path().join("out-r0");
    let _ = fs::remove_dir_all(&out);
    let o = s.run(&["extract", "r0", "--to", out.to_str().unwrap()]);
    checks.push((
        "r0 exact",
        check(o.status.success(), || stderr(&o)).and_then(|_| {
            custody::ops::demo::compare_trees(r0, &out)
                .map_err(|e| e.to_string())
                .and_then(|d| d.map_or(Ok(()), Err))
        }),
    ));
    let _ = fs::remove_dir_all(&out);
    let o = s.run(&["--json", "stats"]);
    checks.push((
        "chunks kept",
        json_of(&o).and_then(|st| {
            let n = st["store"]["chunks"].as_u64().unwrap_or(0);
            check(n >= min_chunks, || {
                format!("{n} chunks, earlier kills had committed {min_chunks}")
            })
        }),
    ));
    (state, checks)
}

/// The checks after the final, uninterrupted run (made here unless `resume` is
/// false: the killed run had committed r1 before the kill).
fn check_finish(s: &Scratch, r0: &Path, r1: &Path, reference: &Reference, resume: bool) -> Checks {
    let mut checks = Vec::new();
    if resume {
        // A run killed before its first commit left nothing to resume.
        let begun = s.json_any(&["releases"])["unfinished"]
            .as_array()
            .is_some_and(|u| !u.is_empty());
        let o = s.run(&["--json", "ingest", r1.to_str().unwrap(), "--release", "r1"]);
        checks.push((
            "resume",
            json_of(&o).and_then(|r| {
                check(
                    code(&o) == 0
                        && r["resumed"] == begun
                        && r["counts"]["new_chunks"].as_u64() == Some(reference.r1_new_chunks),
                    || {
                        format!(
                            "exit {}, resumed {}, new_chunks {} (clean: {})",
                            code(&o),
                            r["resumed"],
                            r["counts"]["new_chunks"],
                            reference.r1_new_chunks
                        )
                    },
                )
            }),
        ));
    }
    let rel = s.json_any(&["releases"]);
    checks.push((
        "r1 listed",
        check(
            rel["releases"].as_array().map(|a| a.len()) == Some(2)
                && rel["releases"][1]["name"] == "r1"
                && rel["unfinished"].as_array().is_some_and(|u| u.is_empty()),
            || rel.to_string(),
        ),
    ));
    let o = s.run(&["--json", "fsck", "--read-data"]);
    checks.push((
        "fsck",
        json_of(&o).and_then(|f| {
            check(
                code(&o) == 0
                    && f["problems"].as_array().is_some_and(|p| p.is_empty())
                    && f["unfinished_ingests"]
                        .as_array()
                        .is_some_and(|p| p.is_empty()),
                || format!("exit {}: {f}", code(&o)),
            )
        }),
    ));
    for (name, src) in [("r1", r1), ("r0", r0)] {
        let out = s.path().join(format!("out-{name}"));
        let _ = fs::remove_dir_all(&out);
        let o = s.run(&["extract", name, "--to", out.to_str().unwrap()]);
        checks.push((
            if name == "r1" { "r1 exact" } else { "r0 exact" },
            check(o.status.success(), || stderr(&o)).and_then(|_| {
                custody::ops::demo::compare_trees(src, &out)
                    .map_err(|e| e.to_string())
                    .and_then(|d| d.map_or(Ok(()), Err))
            }),
        ));
        let _ = fs::remove_dir_all(&out);
    }
    let st = s.json_any(&["stats"]);
    let (got, want) = (store_numbers(&st), store_numbers(&reference.stats));
    checks.push((
        "= clean store",
        check(got == want, || format!("{got:?} vs clean {want:?}")),
    ));
    checks
}

fn run_harness(cfg: &Config) -> Vec<Row> {
    let work = Scratch::new();
    let (r0, r1) = make_trees(work.path(), cfg);

    // The clean ingest, into a fresh store: the reference, and the store with only r0
    // that every run starts from.
    let clean = Scratch::new();
    clean.init();
    clean.ok(&["ingest", r0.to_str().unwrap(), "--release", "r0"]);
    let base = work.path().join("base.redb");
    fs::copy(clean.store(), &base).unwrap();
    let t = Instant::now();
    let rep = clean.json(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    let first_secs = t.elapsed().as_secs_f64();
    // Kill times are fractions of this estimate, so one run slowed by a load spike
    // (the rest of the test suite runs beside this) must not set it: the faster of
    // two clean ingests does.
    let again = Scratch::new();
    fs::copy(&base, again.store()).unwrap();
    let t = Instant::now();
    again.ok(&["-q", "ingest", r1.to_str().unwrap(), "--release", "r1"]);
    let reference = Reference {
        stats: clean.json(&["stats"]),
        r1_new_chunks: rep["counts"]["new_chunks"].as_u64().unwrap(),
        r1_secs: first_secs.min(t.elapsed().as_secs_f64()),
    };
    drop(again);
    drop(clean);
    eprintln!(
        "crash harness: r1 is {} files, {} new chunks; a clean ingest takes {:.2} s",
        rep["counts"]["files"], reference.r1_new_chunks, reference.r1_secs
    );

    let fresh = || {
        let s = Scratch::new();
        fs::copy(&base, s.store()).unwrap();
        s
    };
    let left = |stored: u64| {
        (1.0 - stored as f64 / reference.r1_new_chunks.max(1) as f64).clamp(0.05, 1.0)
    };
    let mut rows = Vec::new();

    // Cumulative: kill, check, restart, kill later... When a run commits r1 before
    // its trigger fires (or before the kill lands), the result is checked and the
    // next points start a new sequence on a fresh copy.
    let mut s = fresh();
    let mut seq = 1;
    let mut stored = 0u64;
    let mut kills_in_seq = 0;
    for &p in &cfg.cumulative {
        let k = run_and_kill(&s, &r1, p, &reference, left(stored));
        let (state, mut checks) = if k.finished_first {
            (After::FinishedFirst, Vec::new())
        } else {
            check_after_kill(&s, &r0, stored)
        };
        if let After::Unfinished(c) = state {
            stored = stored.max(c);
        }
        if state.done() {
            checks.extend(check_finish(&s, &r0, &r1, &reference, false));
        }
        rows.push(Row {
            mode: format!("cumulative {seq}"),
            trigger: k.what,
            kill_ms: Some(k.at.as_millis()),
            state,
            checks,
        });
        if state.done() {
            s = fresh();
            seq += 1;
            stored = 0;
            kills_in_seq = 0;
        } else {
            kills_in_seq += 1;
        }
    }
    if kills_in_seq > 0 {
        rows.push(Row {
            mode: format!("cumulative {seq}"),
            trigger: "resume to the end".into(),
            kill_ms: None,
            state: After::Resumed,
            checks: check_finish(&s, &r0, &r1, &reference, true),
        });
    }
    drop(s);

    // Independent: each from a fresh copy of the store holding only r0, then resumed
    // to the end.
    for &p in &cfg.independent {
        let s = fresh();
        let k = run_and_kill(&s, &r1, p, &reference, 1.0);
        let (state, mut checks) = if k.finished_first {
            (After::FinishedFirst, Vec::new())
        } else {
            check_after_kill(&s, &r0, 0)
        };
        checks.extend(check_finish(&s, &r0, &r1, &reference, !state.done()));
        rows.push(Row {
            mode: "independent".into(),
            trigger: k.what,
            kill_ms: Some(k.at.as_millis()),
            state,
            checks,
        });
    }
    rows
}

fn table(rows: &[Row]) -> String {
    let mut t = String::new();
    t += "| # | mode | trigger | killed at | chunks stored at kill | checks passed |\n";
    t += "|---|---|---|---|---|---|\n";
    for (i, r) in rows.iter().enumerate() {
        let names: Vec<&str> = r
            .checks
            .iter()
            .map(|(n, res)| if res.is_ok() { *n } else { "FAILED" })
            .collect();
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {}/{}: {} |",
            i + 1,
            r.mode,
            r.trigger,
            match (r.state, r.kill_ms) {
                (After::FinishedFirst, _) => "(finished first)".to_string(),
                (_, Some(ms)) => format!("{ms} ms"),
                (_, None) => "-".to_string(),
            },
            match r.state {
                After::Unfinished(c) => c.to_string(),
                After::NotBegun => "(not begun)".to_string(),
                After::Committed => "(after final commit)".to_string(),
                _ => "-".to_string(),
            },
            r.passed(),
            r.checks.len(),
            names.join(", ")
        );
    }
    t
}

fn assert_rows(rows: &[Row], min_kills: usize) {
    let failures: Vec<String> = rows
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.failures()
                .into_iter()
                .map(move |f| format!("row {}: {f}", i + 1))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let kills = rows.iter().filter(|r| r.state.killed()).count();
    assert!(
        kills >= min_kills,
        "only {kills} of the kill points landed while ingest ran"
    );
}

#[test]
fn crash_harness_ci() {
    let cfg = Config {
        big_files: 24,
        big_size: 1 << 20,
        small_files: 300,
        // 20 ms commits throughout: on a quiet machine this ingest takes ~0.2 s, so
        // a first commit at 250 ms would come after the end.
        cumulative: vec![
            at(Trigger::Begin, 20),
            at(Trigger::Commit(1), 20),
            at(Trigger::Elapsed(0.4), 20),
        ],
        independent: vec![at(Trigger::Elapsed(0.5), 20)],
    };
    let rows = run_harness(&cfg);
    eprintln!("{}", table(&rows));
    assert_rows(&rows, 3);
}

/// The full harness: `benches/crash-harness.sh` runs it in release mode.
/// CUSTODY_CRASH_POINTS (default 24) kill points, CUSTODY_CRASH_BIG_FILES (default
/// 160) files of 1 MiB; the table goes to stdout and to CUSTODY_CRASH_TABLE if set.
#[test]
#[ignore = "minutes; run by benches/crash-harness.sh"]
fn crash_harness_full() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let points = env("CUSTODY_CRASH_POINTS", 24).max(4);
    // About 3/5 cumulative, alternating commit-boundary and time triggers that move
    // through the run; the rest independent, spread from the start to the very end.
    let n_cum = points * 3 / 5;
    let mut cumulative = Vec::new();
    for i in 0..n_cum {
        cumulative.push(match i % 3 {
            0 => at(Trigger::Commit(1 + (i as u32 / 3) % 3), 250),
            1 => at(Trigger::Elapsed(0.15 + 0.1 * ((i / 3) % 4) as f64), 20),
            _ => at(Trigger::Commit(2), 20),
        });
    }
    cumulative[0] = at(Trigger::Begin, 20);
    let n_ind = points - n_cum;
    let mut independent = vec![
        at(Trigger::Elapsed(0.0), 20),
        at(Trigger::Begin, 20),
        at(Trigger::Commit(1), 20),
    ];
    let rest = n_ind.saturating_sub(independent.len());
    for j in 0..rest {
        // Evenly from 10% to 98% of the clean run's time: the last ones land in or
        // near the final commit, which builds the manifest tree.
        let f = 0.1 + 0.88 * j as f64 / (rest.max(2) - 1) as f64;
        independent.push(at(Trigger::Elapsed(f), if j % 2 == 0 { 20 } else { 500 }));
    }
    independent.truncate(n_ind);
    let cfg = Config {
        big_files: env("CUSTODY_CRASH_BIG_FILES", 160),
        big_size: 1 << 20,
        small_files: env("CUSTODY_CRASH_SMALL_FILES", 5000),
        cumulative,
        independent,
    };
    let started = Instant::now();
    let rows = run_harness(&cfg);
    let t = table(&rows);
    println!(
        "\n{t}\n{} kill points, {:.0} s in all",
        rows.iter().filter(|r| r.state.killed()).count(),
        started.elapsed().as_secs_f64()
    );
    if let Ok(p) = std::env::var("CUSTODY_CRASH_TABLE") {
        fs::write(p, &t).unwrap();
    }
    assert_rows(&rows, 20.min(points));
}
