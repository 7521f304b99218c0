//! Property tests of the alteration report format (`report.rs`): reports round-trip,
//! damaged or arbitrary text never panics the parser, and text that parses is exactly
//! the encoding of what it parses to.

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use super::report::{REPORT_HEADER, Report};
use crate::alter::{EditOp, EditScript};
use crate::id::BlobId;
use crate::manifest::checkpoint::{Checkpoint, CheckpointNote};
use crate::manifest::leaf::Leaf;
use crate::manifest::proof::{InclusionProof, Proof, ProvenLeaf};
use crate::prop_support::{cases, damage, damage_str, edit, entry_path, mutate_str, text};
use crate::store::format::EntryKind;

fn script() -> impl Strategy<Value = EditScript> {
    proptest::collection::vec(
        prop_oneof![
            (0u64..5000, 1u64..5000).prop_map(|(offset, len)| EditOp::Copy { offset, len }),
            proptest::collection::vec(any::<u8>(), 1..100).prop_map(EditOp::Insert),
        ],
        0..6,
    )
    .prop_map(|ops| EditScript::new(ops).normalized())
}

fn proof() -> impl Strategy<Value = Proof> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        entry_path(),
        proptest::collection::vec(any::<[u8; 32]>(), 0..6),
        any::<[u8; 32]>(),
        0u64..4_000_000_000,
    )
        .prop_map(|(index, size, hash, path, audit, root, secs)| {
            let c = Checkpoint {
                origin: "custody/leak".into(),
                size: index.saturating_add(1),
                root,
                release: "leak".into(),
                created: humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs))
                    .to_string(),
                parent: None,
            };
            Proof::Inclusion(InclusionProof {
                leaf: ProvenLeaf {
                    index,
                    leaf: Leaf {
                        kind: EntryKind::File,
                        size,
                        hash,
                        path,
                    },
                    path: audit,
                },
                checkpoint: CheckpointNote::unsigned(c).unwrap(),
            })
        })
}

/// One-line text as reports hold it (no control characters).
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,60}",
        proptest::collection::vec(any::<char>(), 0..20).prop_map(|c| c
            .into_iter()
            .filter(|c| !c.is_control())
            .collect::<String>()),
    ]
}

fn report() -> impl Strategy<Value = Report> {
    (
        (any::<[u8; 32]>(), any::<u64>()),
        (any::<[u8; 32]>(), any::<u64>()),
        "[a-z_]{0,20}",
        0u32..=10_000,
        line(),
        script(),
        proof(),
    )
        .prop_map(|(c, o, kind, sim, summary, script, proof)| Report {
            claim: (BlobId(c.0), c.1),
            original: (BlobId(o.0), o.1),
            kind,
            similarity: f64::from(sim) / 10_000.0,
            summary,
            script,
            proof,
        })
}

fn refused_or_canonical(s: &str) -> Result<(), TestCaseError> {
    if let Ok(r) = Report::parse(s) {
        prop_assert_eq!(
            r.encode(),
            s,
            "{:?} parses from text that is not its encoding",
            r
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn reports_round_trip(r in report(), e in edit(), d in damage()) {
        let text = r.encode();
        prop_assert_eq!(&Report::parse(&text).unwrap(), &r);
        for m in [mutate_str(&text, &e), damage_str(&text, &d)].into_iter().flatten() {
            refused_or_canonical(&m)?;
        }
    }

    #[test]
    fn arbitrary_text_is_refused_or_canonical(s in text(300), tail in text(200)) {
        refused_or_canonical(&s)?;
        refused_or_canonical(&format!("{REPORT_HEADER}\n{s}\nscript\n{tail}"))?;
    }

    /// Control characters in a summary or kind become spaces: the report still
    /// parses, with everything else intact.
    #[test]
    fn summaries_stay_on_their_line(r in report(), junk in "[\n\r\t\u{0}\u{7f}]{1,3}") {
        let mut r2 = r.clone();
        r2.summary = format!("{}{junk}end\nscript\n", r.summary);
        r2.kind = format!("{junk}{}", r.kind);
        let back = Report::parse(&r2.encode()).unwrap();
        prop_assert_eq!(&back.script, &r.script);
        prop_assert_eq!(&back.proof, &r.proof);
        prop_assert!(!back.summary.contains('\n'));
    }
}

#[test]
fn non_canonical_fields_are_refused() {
    let r = Report {
        claim: (BlobId([0xab; 32]), 12),
        original: (BlobId([0xcd; 32]), 10),
        kind: "edited".into(),
        similarity: 0.5,
        summary: "two bytes appended".into(),
        script: EditScript::new(vec![
            EditOp::Copy { offset: 0, len: 10 },
            EditOp::Insert(b"!!".to_vec()),
        ]),
        proof: Proof::parse(&format!(
            "custody inclusion proof v1\nleaf 0 file 10 {} a\n\n{}",
            "cd".repeat(32),
            CheckpointNote::unsigned(Checkpoint {
                origin: "custody/leak".into(),
                size: 1,
                root: [1; 32],
                release: "leak".into(),
                created: "2020-06-19T12:00:00Z".into(),
                parent: None,
            })
            .unwrap()
            .encode()
        ))
        .unwrap(),
    };
    let good = r.encode();
    assert_eq!(Report::parse(&good).unwrap(), r);
    let ab = "ab".repeat(32);
    for (from, to) in [
        (
            format!("claim {ab} 12"),
            format!("claim {} 12", ab.to_uppercase()),
        ),
        (format!("claim {ab} 12"), format!("claim b3:{ab} 12")),
        (format!("claim {ab} 12"), format!("claim {ab} 012")),
        (format!("claim {ab} 12"), format!("claim {ab} +12")),
        ("similarity 0.5000".into(), "similarity 0.5".into()),
        ("similarity 0.5000".into(), "similarity 1.5000".into()),
        ("similarity 0.5000".into(), "similarity nan".into()),
        ("similarity 0.5000".into(), "similarity 0.50000".into()),
        ("summary two".into(), "summary\ttwo".into()),
        ("appended\nscript".into(), "appended\n\nscript".into()),
        ("appended\nscript".into(), "appended\r\nscript".into()),
    ] {
        let bad = good.replacen(&from, &to, 1);
        assert_ne!(bad, good, "{from:?}");
        assert!(Report::parse(&bad).is_err(), "accepted {to:?}");
    }
}
