//! Stores written at older format versions (tests/vectors/store-v1, made by custody
//! a2c518a; tests/vectors/store-v2, made by fc94370) are refused with the advice to
//! upgrade, upgrade in place, and then answer exactly as the builds that made them.

use std::io::Read;
use std::path::Path;

use crate::common::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/store-v1");
const VECTORS_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/store-v2");

fn read_vector(dir: &str, name: &str) -> serde_json::Value {
    let p = Path::new(dir).join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn vector(name: &str) -> serde_json::Value {
    read_vector(VECTORS, name)
}

fn unpack_store(dir: &str, s: &Scratch) {
    let gz = std::fs::File::open(Path::new(dir).join("store.redb.gz")).unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::write(s.store(), bytes).unwrap();
}

fn v1_store(s: &Scratch) {
    unpack_store(VECTORS, s);
}

/// `v` without its timings, which differ from run to run.
fn untimed(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.ends_with("_secs") && k != "timings");
        for x in o.values_mut() {
            *x = untimed(x.take());
        }
    } else if let Some(a) = v.as_array_mut() {
        for x in a {
            *x = untimed(x.take());
        }
    }
    v
}

#[test]
fn a_version_1_store_upgrades_and_reads_as_before() {
    let s = Scratch::new();
    v1_store(&s);

    let o = s.run(&["ls", "r1"]);
    assert_ne!(code(&o), 0);
    let err = stderr(&o);
    assert!(
        err.contains("format version 1") && err.contains("custody upgrade"),
        "{err}"
    );

    let up = s.json(&["upgrade"]);
    assert_eq!(
        (up["from"].as_u64(), up["to"].as_u64()),
        (Some(1), Some(3)),
        "{up}"
    );
    assert_eq!(up["entries"], 25, "{up}");
    assert_eq!(up["entry_rows_before"], 25, "{up}");
    assert_eq!(up["entry_rows_after"], 2, "one block per release: {up}");

    // Same records, roots and entries as the version 1 build printed.
    assert_eq!(s.json(&["releases"]), vector("releases.json"));
    for r in ["r1", "r2"] {
        assert_eq!(
            s.json(&["ls", "-R", r]),
            vector(&format!("ls-{r}.json")),
            "{r}"
        );
    }
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    assert_eq!(f["entries"], 25, "{f}");

    let again = s.json(&["upgrade"]);
    assert_eq!(
        (again["from"].as_u64(), again["to"].as_u64()),
        (Some(3), Some(3))
    );
    assert!(
        s.ok(&["upgrade"])
            .contains("is already at format version 3")
    );

    // The upgraded store takes new releases, and its entries serve the unchanged-file
    // cache and diff.
    let src = s.path().join("src");
    std::fs::create_dir_all(src.join("agency/files")).unwrap();
    std::fs::write(src.join("agency/files/roster.csv"), b"name,badge\nA,1\n").unwrap();
    s.ok(&[
        "-q",
        "ingest",
        src.to_str().unwrap(),
        "--release",
        "r3",
        "--parent",
        "r2",
    ]);
    let d = s.json(&["diff", "r2", "r3"]);
    assert_eq!(d["summary"]["unchanged"], 1, "{d}");
    assert_eq!(d["summary"]["removed"], 6, "{d}");
    let f = s.json(&["fsck"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
}

/// The text report says what was converted, in words.
#[test]
fn upgrade_reports_in_text() {
    let s = Scratch::new();
    v1_store(&s);
    let out = s.ok(&["upgrade"]);
    assert!(
        out.ends_with(
            "from format version 1 to 3: 25 entries, now in 2 entry blocks (were 25 rows); 28 similarity-index rows with shorter keys\n"
        ),
        "{out}"
    );
}

/// A format-2 store: its similarity index is rewritten with shorter keys, and
/// afterwards identify finds the same originals of altered copies (by shared prefix,
/// sketch bands and chunks) and diff pairs the same renamed-and-modified files as the
/// build that wrote it.
#[test]
fn a_version_2_store_upgrades_and_finds_the_same_originals() {
    let s = Scratch::new();
    unpack_store(VECTORS_V2, &s);
    let o = s.run(&["releases"]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("format version 2"), "{}", stderr(&o));

    let up = s.json(&["upgrade"]);
    assert_eq!((up["from"].as_u64(), up["to"].as_u64()), (Some(2), Some(3)));
    assert!(up["index_rows"].as_u64().unwrap() > 50, "{up}");
    assert_eq!(up["entries"], 0, "entries are not touched from 2: {up}");

    assert_eq!(
        s.json(&["releases"]),
        read_vector(VECTORS_V2, "releases.json")
    );
    assert_eq!(
        untimed(s.json(&["diff", "r1", "r2"])),
        untimed(read_vector(VECTORS_V2, "diff-r1-r2.json"))
    );
    let claims = Path::new(VECTORS_V2).join("claims");
    for c in [
        "bulletin-3-altered.txt",
        "access-truncated.log",
        "roster.csv",
    ] {
        let o = s
            .cmd()
            .current_dir(&claims)
            .args(["--json", "identify", c])
            .output()
            .unwrap();
        let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let want = read_vector(VECTORS_V2, &format!("identify-{c}.json"));
        assert_eq!(untimed(got), untimed(want), "{c}");
    }
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
    assert!(
        s.ok(&["upgrade"])
            .contains("is already at format version 3")
    );
}
