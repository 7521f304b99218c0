//! A store written at format version 1 (tests/vectors/store-v1, made by custody
//! a2c518a) is refused with the advice to upgrade, upgrades in place, and then reads
//! exactly as the build that made it read it.

use std::io::Read;
use std::path::Path;

use crate::common::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/store-v1");

fn vector(name: &str) -> serde_json::Value {
    let p = Path::new(VECTORS).join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn v1_store(s: &Scratch) {
    let gz = std::fs::File::open(Path::new(VECTORS).join("store.redb.gz")).unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::write(s.store(), bytes).unwrap();
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
        (Some(1), Some(2)),
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
        (Some(2), Some(2))
    );
    assert!(
        s.ok(&["upgrade"])
            .contains("is already at format version 2")
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
            "from format version 1 to 2: 25 entries, now in 2 entry blocks (were 25 rows)\n"
        ),
        "{out}"
    );
}
