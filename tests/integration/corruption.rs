//! A flipped byte in the store is found by fsck with the right release and path, and
//! extract and cat refuse to hand out wrong bytes.

use std::fs;

use custody::ops::demo::make_release_one;

use crate::common::*;

/// Flips a byte at every place `needle` occurs in the file; returns how many.
fn flip_everywhere(file: &std::path::Path, needle: &[u8], delta: usize) -> usize {
    let mut data = fs::read(file).unwrap();
    let mut hits = Vec::new();
    let mut i = 0;
    while let Some(pos) = data[i..].windows(needle.len()).position(|w| w == needle) {
        hits.push(i + pos);
        i += pos + 1;
    }
    for h in &hits {
        data[h + delta] ^= 0x20;
    }
    fs::write(file, data).unwrap();
    hits.len()
}

#[test]
fn flipped_byte_is_found_and_never_extracted() {
    let s = Scratch::new();
    let r1 = s.path().join("r1");
    make_release_one(&r1).unwrap();
    s.init();
    s.ok(&["ingest", r1.to_str().unwrap(), "--release", "r1"]);
    assert_eq!(code(&s.run(&["fsck", "--read-data"])), 0);

    // Photos are incompressible, so their bytes sit verbatim in the store file.
    let victim = "chicagochiefs/images/photo.jpg";
    let original = fs::read(r1.join(victim)).unwrap();
    let n = flip_everywhere(&s.store(), &original[70_000..70_064], 10);
    assert!(n >= 1, "photo bytes not found in the store");

    let o = s.run(&["fsck", "--read-data"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("affects r1:{victim}")), "{out}");
    assert!(out.contains("damaged releases: r1"), "{out}");
    let j = s.json_any(&["fsck", "--read-data"]);
    let p = &j["problems"][0];
    assert_eq!(p["kind"], "damaged_chunk");
    assert_eq!(p["affected"][0]["path"], victim);

    let dest = s.path().join("out");
    let o = s.run(&["extract", "r1", "--to", dest.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(victim), "{}", stderr(&o));
    assert!(!dest.join(victim).exists(), "damaged file was written");
    let leftovers: Vec<_> = fs::read_dir(dest.join("chicagochiefs/images"))
        .map(|d| d.count())
        .into_iter()
        .collect();
    assert!(
        leftovers.iter().all(|&n| n == 0),
        "temporary files left behind"
    );

    let o = s.run(&["cat", "r1", victim]);
    assert_eq!(code(&o), 2);
    assert!(
        original.starts_with(&o.stdout),
        "cat wrote bytes that are not the file's"
    );
    assert!(o.stdout.len() < original.len());

    // Other files are still fine.
    let ok = s
        .cmd()
        .args(["cat", "r1", "austinrtcc/images/photo.jpg"])
        .output()
        .unwrap();
    assert!(ok.status.success());

    // Healing: fsck recorded the damaged chunk; re-ingesting the tree, which still
    // has the photo, reads it again (the unchanged-file cache would skip it) and
    // stores an intact copy. Everything verifies and extracts again.
    let again = s.json(&[
        "ingest",
        r1.to_str().unwrap(),
        "--release",
        "r1-again",
        "--parent",
        "r1",
    ]);
    assert!(again["chunks_repaired"].as_u64().unwrap() >= 1, "{again}");
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    let healed = s.path().join("healed");
    s.ok(&["extract", "r1", victim, "--to", healed.to_str().unwrap()]);
    assert_eq!(fs::read(healed.join(victim)).unwrap(), original);
    // The next ingest has nothing left to repair.
    let third = s.json(&["ingest", r1.to_str().unwrap(), "--release", "r1-third"]);
    assert_eq!(third["chunks_repaired"], 0, "{third}");
    assert_eq!(third["files_read"], 0, "{third}");
}

/// A flipped byte in an entry's mtime is nothing custody's record checks can
/// recompute; plain `fsck` (no `--read-data`) finds it through redb's page checksums.
#[test]
fn plain_fsck_finds_a_flipped_mtime() {
    let s = Scratch::new();
    let src = s.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let file = src.join("memo.txt");
    fs::write(&file, b"memo of 2020-06-19").unwrap();
    let ns: i64 = 1_592_568_000_123_456_789;
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns as u64);
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(when)
        .unwrap();
    s.init();
    s.ok(&["-q", "ingest", src.to_str().unwrap(), "--release", "r1"]);
    let clean = s.json(&["fsck"]);
    assert!(clean["problems"].as_array().unwrap().is_empty(), "{clean}");
    assert!(clean["pages_verified"].as_u64().unwrap() > 0, "{clean}");

    // The live entry and any stale copy in free pages (harmless) all get the flip.
    assert!(flip_everywhere(&s.store(), &ns.to_le_bytes(), 3) >= 1);
    let o = s.run(&["--json", "fsck"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let problems = r["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["kind"] == "database" && p["detail"].as_str().unwrap().contains("entries")),
        "{r}"
    );
}
