//! An ingest that grows the content-keyed tables packs them after its commit
//! (src/store/repack.rs): the report names them, the slack is gone, nothing is lost
//! (fsck, identify of an altered copy through the packed similarity index), and an
//! ingest that adds nothing leaves them alone.

use std::fs;

use crate::common::*;

/// A small text file of its own: a record number in every line, so no two share a
/// sketch band by chance.
fn record(i: usize) -> String {
    let words = [
        "report", "officer", "county", "bulletin", "suspect", "vehicle",
    ];
    (0..24)
        .map(|l| {
            format!(
                "{i:05}-{l:02} {} {} {}\n",
                words[(i + l) % 6],
                words[(i * 7 + l) % 6],
                i * 31 + l
            )
        })
        .collect()
}

fn table<'a>(stats: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    stats["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name}: {stats}"))
}

#[test]
fn a_first_ingest_packs_its_tables_and_loses_nothing() {
    let s = Scratch::new();
    let src = s.path().join("src");
    let n = 4000;
    for i in 0..n {
        let dir = src.join(format!("d{:02}", i / 200));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("f{i}.txt")), record(i)).unwrap();
    }
    s.init();
    let r = s.json(&["ingest", src.to_str().unwrap(), "--release", "r1"]);
    assert!(r["repack_error"].is_null(), "{r}");
    let packed = r["repacked"].as_array().unwrap();
    let names: Vec<&str> = packed
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"sketch_bands"), "{r}");
    for t in packed {
        assert!(
            t["bytes_after"].as_u64() < t["bytes_before"].as_u64(),
            "{t}"
        );
    }

    let st = s.json(&["stats", "--tables"]);
    let bands = table(&st, "sketch_bands");
    assert_eq!(bands["rows"], 6 * n as u64, "{bands}");
    let total = ["stored_bytes", "metadata_bytes", "fragmented_bytes"]
        .iter()
        .map(|k| bands[k].as_u64().unwrap())
        .sum::<u64>();
    assert!(
        bands["fragmented_bytes"].as_u64().unwrap() * 10 < total,
        "slack left after packing: {bands}"
    );
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");

    // An altered copy still finds its original through the packed index.
    let claim = s.path().join("claim.txt");
    fs::write(&claim, record(1234).replace("01234-10", "01234-1X")).unwrap();
    let o = s.run(&["--json", "identify", claim.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let id: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let original = &id["claims"][0]["originals"][0]["occurrences"][0];
    assert_eq!(original["path"], "d06/f1234.txt", "{id}");

    // Nothing new: no table grew, none is looked at or packed.
    let again = s.json(&["ingest", src.to_str().unwrap(), "--release", "r2"]);
    assert_eq!(again["repacked"].as_array().unwrap().len(), 0, "{again}");
}
