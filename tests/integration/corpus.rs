//! The small benchmark corpus through the binary: ingest r1 and r2, extract both and
//! compare every byte and mtime. `.ci/run` builds the corpus and sets CUSTODY_CORPUS;
//! without it (a bare clone) there is nothing to run.

use std::path::PathBuf;

use crate::common::*;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CUSTODY_CORPUS")?);
    assert!(
        dir.join("r1").is_dir(),
        "CUSTODY_CORPUS={} has no r1/",
        dir.display()
    );
    Some(dir)
}

#[test]
fn small_corpus_round_trips() {
    let Some(c) = corpus() else {
        eprintln!("CUSTODY_CORPUS not set: corpus round trip runs in .ci/run");
        return;
    };
    let s = Scratch::new();
    s.init();
    let a = s.json(&["ingest", c.join("r1").to_str().unwrap(), "--release", "r1"]);
    let b = s.json(&[
        "ingest",
        c.join("r2").to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    assert!(a["issues"].as_array().unwrap().is_empty(), "{a}");
    assert!(b["issues"].as_array().unwrap().is_empty(), "{b}");
    for r in ["r1", "r2"] {
        let out = s.path().join(format!("x-{r}"));
        s.ok(&["extract", r, "--to", out.to_str().unwrap()]);
        assert_same_tree(&c.join(r), &out);
    }
    let f = s.json(&["fsck", "--read-data"]);
    assert!(f["problems"].as_array().unwrap().is_empty(), "{f}");
}

/// Every entry of the corpus's r1 has a proof that verifies against r1's root and
/// fails against r2's.
#[test]
fn small_corpus_every_entry_proves() {
    use custody::manifest::proof::{Anchor, Proof, verify};
    use custody::ops::prove::{Target, prove};
    let Some(c) = corpus() else {
        eprintln!("CUSTODY_CORPUS not set: corpus proofs run in .ci/run");
        return;
    };
    let s = Scratch::new();
    s.init();
    s.ok(&["ingest", c.join("r1").to_str().unwrap(), "--release", "r1"]);
    s.ok(&[
        "ingest",
        c.join("r2").to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    let store = custody::store::Store::open(&s.store()).unwrap();
    let snap = store.snapshot().unwrap();
    let (r1, r2) = (snap.release("r1").unwrap(), snap.release("r2").unwrap());
    let a1 = Anchor {
        keys: vec![],
        root: Some(r1.record.root),
    };
    let a2 = Anchor {
        keys: vec![],
        root: Some(r2.record.root),
    };
    let mut n = 0;
    for e in snap.entries_with_prefix(r1.id(), b"").unwrap() {
        let e = e.unwrap();
        let p = Proof::parse(
            &prove(&store, "r1", Target::Path(&e.path.escaped()))
                .unwrap()
                .encode(),
        )
        .unwrap();
        let v = verify(&p, &a1, None).unwrap_or_else(|err| panic!("{}: {err}", e.path));
        assert_eq!(v.path.as_ref(), Some(&e.path));
        assert!(verify(&p, &a2, None).is_err());
        n += 1;
    }
    assert_eq!(n, r1.record.entries());
}

/// `diff r1 r2` and `audit mirror --release r1` against the corpus's truth.json,
/// category by category.
///
/// Audit must agree on every item. Diff must agree on every item except in one
/// situation the truth's own rules leave open: content that was removed at one path,
/// added at another, and also remains at a third. Whether the added path is the
/// removed file renamed or a copy of the remaining one cannot be told from the
/// releases; there any consistent reading is accepted (and checked to be one).
/// Likewise `duplicated.same_as` may name any remaining path with that content.
#[test]
fn small_corpus_diff_and_audit_match_the_truth() {
    use std::collections::{HashMap, HashSet};
    let Some(c) = corpus() else {
        eprintln!("CUSTODY_CORPUS not set: scoring runs in .ci/run");
        return;
    };
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.join("truth.json")).unwrap()).unwrap();
    let s = Scratch::new();
    s.init();
    s.ok(&["ingest", c.join("r1").to_str().unwrap(), "--release", "r1"]);
    s.ok(&[
        "ingest",
        c.join("r2").to_str().unwrap(),
        "--release",
        "r2",
        "--parent",
        "r1",
    ]);
    let d = s.json(&["diff", "r1", "r2"]);
    let a = s.json_any(&[
        "audit",
        c.join("mirror").to_str().unwrap(),
        "--release",
        "r1",
    ]);

    let strs = |v: &serde_json::Value| -> HashSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let field = |v: &serde_json::Value, k: &str| -> HashSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x[k].as_str().unwrap().to_string())
            .collect()
    };
    let pairs = |v: &serde_json::Value, k1: &str, k2: &str| -> HashSet<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x[k1].as_str().unwrap().to_string(),
                    x[k2].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let mut failures: Vec<String> = Vec::new();
    let mut same = |name: &str, want: Vec<String>, got: Vec<String>| {
        let (w, g): (HashSet<String>, HashSet<String>) =
            (want.into_iter().collect(), got.into_iter().collect());
        if w != g {
            let mut extra: Vec<_> = g.difference(&w).cloned().collect();
            let mut lost: Vec<_> = w.difference(&g).cloned().collect();
            extra.sort();
            lost.sort();
            failures.push(format!(
                "{name}: custody also says {extra:?}; custody misses {lost:?}"
            ));
        }
    };

    // --- audit: exact agreement --------------------------------------------------
    let ta = &truth["mirror_vs_r1"];
    same(
        "audit matched",
        strs(&ta["matched"]).into_iter().collect(),
        strs(&a["matched"]).into_iter().collect(),
    );
    for k in ["moved", "in_archive", "truncated", "corrupt"] {
        let fmt = |p: HashSet<(String, String)>| {
            p.into_iter()
                .map(|(x, y)| format!("{x} -> {y}"))
                .collect::<Vec<_>>()
        };
        same(
            &format!("audit {k}"),
            fmt(pairs(&ta[k], "release_path", "mirror_path")),
            fmt(pairs(&a[k], "release_path", "mirror_path")),
        );
    }
    let altered = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                format!(
                    "{} -> {} ({})",
                    x["release_path"].as_str().unwrap(),
                    x["mirror_path"].as_str().unwrap(),
                    x["how"].as_str().unwrap()
                )
            })
            .collect()
    };
    same(
        "audit altered",
        altered(&ta["altered"]),
        altered(&a["altered"]),
    );
    same(
        "audit missing",
        strs(&ta["missing"]).into_iter().collect(),
        field(&a["missing"], "release_path").into_iter().collect(),
    );
    let kept: Vec<String> = a["missing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content_kept"] == true)
        .map(|m| m["release_path"].as_str().unwrap().to_string())
        .collect();
    same(
        "audit missing_content_kept",
        strs(&ta["missing_content_kept"]).into_iter().collect(),
        kept,
    );
    same(
        "audit extra",
        strs(&ta["extra"]).into_iter().collect(),
        strs(&a["extra"]).into_iter().collect(),
    );

    // --- diff ----------------------------------------------------------------------
    let hashes = |rel: &str| -> HashMap<String, String> {
        let v = s.json(&["ls", rel, "-R"]);
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "file")
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_string(),
                    e["blob"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (ha, hb) = (hashes("r1"), hashes("r2"));
    let mut remaining: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (p, h) in &ha {
        if hb.get(p) == Some(h) {
            remaining.entry(h.as_str()).or_default().insert(p.as_str());
        }
    }
    let removed_h: HashSet<&str> = ha
        .iter()
        .filter(|(p, _)| !hb.contains_key(*p))
        .map(|(_, h)| h.as_str())
        .collect();
    let added_h: HashSet<&str> = hb
        .iter()
        .filter(|(p, _)| !ha.contains_key(*p))
        .map(|(_, h)| h.as_str())
        .collect();
    let open: HashSet<&str> = removed_h
        .intersection(&added_h)
        .copied()
        .filter(|h| remaining.contains_key(h))
        .collect();
    let td = &truth["diff_r1_r2"];
    let firm_a = |p: &String| !open.contains(ha[p].as_str());
    let firm_b = |p: &String| !open.contains(hb[p].as_str());
    same(
        "diff added",
        strs(&td["added"])
            .into_iter()
            .filter(|p| firm_b(p))
            .collect(),
        field(&d["added"], "path")
            .into_iter()
            .filter(|p| firm_b(p))
            .collect(),
    );
    same(
        "diff removed",
        strs(&td["removed"])
            .into_iter()
            .filter(|p| firm_a(p))
            .collect(),
        field(&d["removed"], "path")
            .into_iter()
            .filter(|p| firm_a(p))
            .collect(),
    );
    let ren = |v: &serde_json::Value| -> Vec<String> {
        pairs(v, "from", "to")
            .into_iter()
            .filter(|(f, _)| firm_a(f))
            .map(|(f, t)| format!("{f} -> {t}"))
            .collect()
    };
    same("diff renamed", ren(&td["renamed"]), ren(&d["renamed"]));
    same(
        "diff duplicated",
        field(&td["duplicated"], "path")
            .into_iter()
            .filter(|p| firm_b(p))
            .collect(),
        field(&d["duplicated"], "path")
            .into_iter()
            .filter(|p| firm_b(p))
            .collect(),
    );
    let modified =
        |v: &serde_json::Value, how: &dyn Fn(&serde_json::Value) -> String| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| format!("{} ({})", x["path"].as_str().unwrap(), how(x)))
                .collect()
        };
    same(
        "diff modified",
        modified(&td["modified"], &|x| x["how"].as_str().unwrap().to_string()),
        modified(&d["modified"], &|x| {
            x["change"]["how"].as_str().unwrap().to_string()
        }),
    );
    let kept_d: Vec<String> = d["removed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["content_kept"] == true)
        .map(|r| r["path"].as_str().unwrap().to_string())
        .filter(|p| firm_a(p))
        .collect();
    same(
        "diff removed_content_kept",
        strs(&td["removed_content_kept"])
            .into_iter()
            .filter(|p| firm_a(p))
            .collect(),
        kept_d,
    );
    // Where the truth leaves a choice, custody's reading must still be a valid one.
    for r in d["renamed"].as_array().unwrap() {
        let (f, t) = (r["from"].as_str().unwrap(), r["to"].as_str().unwrap());
        assert!(
            ha.get(f) == hb.get(t) && !hb.contains_key(f) && !ha.contains_key(t),
            "invalid rename {r}"
        );
    }
    for r in d["duplicated"].as_array().unwrap() {
        let (p, src) = (r["path"].as_str().unwrap(), r["same_as"].as_str().unwrap());
        assert!(
            remaining
                .get(hb[p].as_str())
                .is_some_and(|s| s.contains(src)),
            "invalid duplicate {r}"
        );
    }
    eprintln!(
        "{} content groups left open by the truth's rules",
        open.len()
    );

    // --- the mirror as a release of its own: only its new bytes are stored ----------
    // New bytes can only come from files whose content r1 does not hold: extras,
    // damaged copies, and the zip containers (their compressed streams; the members
    // inside deduplicate with r1's loose files).
    let mirror = c.join("mirror");
    let mut bound = 0u64;
    for k in ["truncated", "corrupt", "altered"] {
        for x in ta[k].as_array().unwrap() {
            let p = x["mirror_path"].as_str().unwrap();
            if !p.contains('!') {
                bound += std::fs::metadata(mirror.join(p)).unwrap().len();
            }
        }
    }
    for p in strs(&ta["extra"]) {
        if !p.contains('!') {
            bound += std::fs::metadata(mirror.join(&p)).unwrap().len();
        }
    }
    for e in walkdir_files(&mirror) {
        if e.extension().is_some_and(|x| x == "zip") {
            bound += std::fs::metadata(&e).unwrap().len();
        }
    }
    let m = s.json(&[
        "ingest",
        mirror.to_str().unwrap(),
        "--release",
        "mirror",
        "--parent",
        "r1",
    ]);
    let new_raw = m["counts"]["new_raw_bytes"].as_u64().unwrap();
    assert!(
        new_raw <= bound,
        "mirror stored {new_raw} new bytes, more than the {bound} its new files hold"
    );
    let st = s.json(&["stats"]);
    let rel = st["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "mirror")
        .unwrap()
        .clone();
    assert!(rel["shared_bytes"].as_u64().unwrap() > 0, "{rel}");
    eprintln!("mirror: {new_raw} new bytes stored (at most {bound} possible); {rel}");
    assert!(
        failures.is_empty(),
        "disagreements with truth.json:\n{}",
        failures.join("\n")
    );
}

/// Every regular file below `root`, symlinks not followed.
fn walkdir_files(root: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}
