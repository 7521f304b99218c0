//! Errors name the file and the problem, and exit codes mean what docs/CLI.md says.

use std::fs;

use custody::ops::demo::make_release_one;

use crate::common::*;

#[test]
fn commands_without_a_store_say_how_to_make_one() {
    let s = Scratch::new();
    let o = s.run(&["releases"]);
    assert_eq!(code(&o), 2);
    let e = stderr(&o);
    assert!(
        e.contains("no store at") && e.contains("custody init"),
        "{e}"
    );
}

#[test]
fn init_twice_and_foreign_files_are_refused() {
    let s = Scratch::new();
    s.init();
    let o = s.run(&["init"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("already exists"));
    let junk = s.path().join("junk.redb");
    fs::write(&junk, vec![1u8; 8192]).unwrap();
    let o = s
        .cmd()
        .env("CUSTODY_STORE", &junk)
        .arg("releases")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a custody store"), "{}", stderr(&o));
}

#[test]
fn bad_names_missing_releases_and_paths() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    let o = s.run(&["ingest", r1.to_str().unwrap(), "--release", "bad name"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("invalid release name"));
    let o = s.run(&[
        "ingest",
        s.path().join("nope").to_str().unwrap(),
        "--release",
        "x",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    let o = s.run(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("already exists"));
    let o = s.run(&[
        "ingest",
        r1.to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "nope",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no release named \"nope\""));
    let o = s.run(&["ls", "r1", "no/such/dir"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no entry no/such/dir"));
    let o = s.run(&["cat", "r1", "bostonbric"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a regular file"));
}

#[test]
fn extract_refuses_to_overwrite_without_force() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    let out = s.path().join("out");
    fs::create_dir_all(out.join("austinrtcc")).unwrap();
    fs::write(out.join("austinrtcc/roster.csv"), b"mine").unwrap();
    let o = s.run(&["extract", "r1", "--to", out.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("refusing to overwrite"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        fs::read(out.join("austinrtcc/roster.csv")).unwrap(),
        b"mine"
    );
    s.ok(&["extract", "r1", "--to", out.to_str().unwrap(), "--force"]);
    assert_same_tree(&r1, &out);
}

#[test]
fn a_second_writer_is_refused_at_once_and_readers_work() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    // Hold the store open for writing with the library, as an ingest does.
    let writer = custody::store::Store::open_writable(&s.store()).unwrap();
    let started = std::time::Instant::now();
    let o = s.run(&["ingest", r1.to_str().unwrap(), "--release", "r2"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("in use by another custody process"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed().as_secs() < 10, "second writer waited");
    // Readers are not blocked by the writer.
    assert!(s.ok(&["releases"]).contains("r1"));
    s.ok(&["ls", "r1"]);
    s.ok(&["fsck"]);
    let out = s.path().join("out");
    s.ok(&["extract", "r1", "--to", out.to_str().unwrap()]);
    drop(writer);
}

#[test]
fn json_is_available_everywhere() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.json(&["init"]);
    s.json(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    s.json(&["releases"]);
    s.json(&["ls", "r1"]);
    s.json(&["stats"]);
    s.json(&["fsck"]);
    s.json(&["hash", r1.join("austinrtcc/roster.csv").to_str().unwrap()]);
    let out = s.path().join("o");
    s.json(&["extract", "r1", "--to", out.to_str().unwrap()]);
}

#[test]
fn demo_runs_end_to_end() {
    let s = Scratch::new();
    let out = s.ok(&["demo"]);
    assert!(out.contains("mtimes included: yes"), "{out}");
    assert!(out.contains("no problems"), "{out}");
}

/// A real `ingest` process is running (committing batches, then reading a 64 GiB
/// sparse file for a long while): a second ingest is refused within two seconds with
/// exit 2 and says the store is in use, and ls, cat, identify, extract, releases,
/// stats and fsck of the earlier release all work meanwhile.
#[test]
fn while_an_ingest_runs_a_second_is_refused_and_readers_work() {
    use std::time::{Duration, Instant};
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);

    let big = s.path().join("big");
    fs::create_dir_all(big.join("a")).unwrap();
    for i in 0..24 {
        fs::write(
            big.join(format!("a/f{i:02}")),
            custody::ops::demo::pseudo_random(&format!("busy {i}"), 1 << 20),
        )
        .unwrap();
    }
    // Sorted after a/: read once the random files are in.
    let sparse = fs::File::create(big.join("z-sparse.img")).unwrap();
    sparse.set_len(64 << 30).unwrap();
    drop(sparse);
    let mut child = std::process::Command::new(custody_bin())
        .args(["-q", "ingest", big.to_str().unwrap(), "--release", "r2"])
        .env("CUSTODY_STORE", s.store())
        .env("CUSTODY_COMMIT_INTERVAL_MS", "500")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // Wait for a batch to commit: the writer is busy and the store changing.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = s.json(&["releases"]);
        if v["unfinished"][0]["chunks_stored"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingest ended before the test could run beside it"
        );
        assert!(Instant::now() < deadline, "ingest never committed a batch");
        std::thread::sleep(Duration::from_millis(20));
    }
    let child = KillOnDrop(child);

    for (dir, name) in [(&r1, "r3"), (&big, "r2")] {
        let t = Instant::now();
        let o = s.run(&["ingest", dir.to_str().unwrap(), "--release", name]);
        let took = t.elapsed();
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(
            stderr(&o).contains("is in use by another custody process"),
            "{}",
            stderr(&o)
        );
        assert!(took < Duration::from_secs(2), "second writer took {took:?}");
    }

    let rel = s.json(&["releases"]);
    assert_eq!(rel["releases"][0]["name"], "r1");
    assert_eq!(rel["unfinished"][0]["name"], "r2");
    let ls = s.json(&["ls", "r1"]);
    assert!(ls.to_string().contains("austinrtcc"), "{ls}");
    let roster = r1.join("austinrtcc/roster.csv");
    let o = s.run(&["cat", "r1", "austinrtcc/roster.csv"]);
    assert_eq!(o.stdout, fs::read(&roster).unwrap());
    let id = s.json(&["identify", roster.to_str().unwrap()]);
    assert_eq!(id["claims"][0]["verdict"], "exact", "{id}");
    assert!(
        id["claims"][0]["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["release"] == "r1" && o["path"] == "austinrtcc/roster.csv"),
        "{id}"
    );
    let out = s.path().join("out");
    s.ok(&["extract", "r1", "--to", out.to_str().unwrap()]);
    assert_same_tree(&r1, &out);
    s.json(&["stats"]);
    for args in [&["fsck"][..], &["fsck", "--read-data"][..]] {
        let f = s.json(args);
        assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
        assert_eq!(f["unfinished_ingests"][0], "r2");
    }

    let mut child = child;
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the ingest finished during the checks: they did not all run beside it"
    );
}
