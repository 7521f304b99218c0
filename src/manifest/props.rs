//! Property tests of the provenance formats: binary leaves, signed notes and keys,
//! checkpoints, proof files and exported manifests.
//!
//! For each: values round-trip through their encoding; arbitrary and damaged input
//! never panics a parser; and the text forms are canonical: input that parses is
//! byte for byte what the parsed value encodes to. For proofs and manifests also the
//! property that matters most: damage to a genuine proof or manifest is refused, or
//! leaves what it proves unchanged.

use std::convert::Infallible;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use proptest::prelude::*;

use super::checkpoint::{Checkpoint, CheckpointNote};
use super::export::{leaf_line, parse_leaf_line, read_leaves, verify_manifest, write_manifest};
use super::leaf::Leaf;
use super::merkle::{self, Blake3};
use super::note::{Note, SignerKey, VerifierKey, is_valid_name, key_id};
use super::proof::{
    AbsenceProof, Anchor, ConsistencyProof, InclusionProof, Proof, ProvenLeaf, Verified, verify,
};
use super::subtree;
use crate::prop_support::{
    apply_damage, bytes, cases, damage, damage_str, edit, entry_path, mutate, mutate_str, text,
};
use crate::store::format::EntryKind;

fn kind() -> impl Strategy<Value = EntryKind> {
    prop_oneof![
        Just(EntryKind::File),
        Just(EntryKind::Dir),
        Just(EntryKind::Symlink),
        Just(EntryKind::Member)
    ]
}

/// A valid leaf: directories have size 0 and the zero hash.
fn leaf() -> impl Strategy<Value = Leaf> {
    (
        kind(),
        prop_oneof![0u64..1000, any::<u64>()],
        any::<[u8; 32]>(),
        entry_path(),
    )
        .prop_map(|(kind, size, hash, path)| {
            let dir = kind == EntryKind::Dir;
            Leaf {
                kind,
                size: if dir { 0 } else { size },
                hash: if dir { [0; 32] } else { hash },
                path,
            }
        })
}

/// Leaves of a release: unique and in (hash, path) order.
fn leaves(max: usize) -> impl Strategy<Value = Vec<Leaf>> {
    proptest::collection::vec(leaf(), 0..max).prop_map(|mut v| {
        v.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        v.dedup_by(|a, b| a.order_key() == b.order_key());
        v
    })
}

/// Key names the spec allows, plain or of any characters.
fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9./_:@-]{1,16}",
        1 => proptest::collection::vec(any::<char>(), 1..6)
            .prop_map(|c| c.into_iter().collect::<String>()),
    ]
    .prop_filter("a valid key name", |n| is_valid_name(n))
}

/// A signer key from a name and a seed (`SignerKey::generate` is random).
fn signer(name: &str, seed: [u8; 32]) -> SignerKey {
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let mut raw = vec![0x01];
    raw.extend_from_slice(&seed);
    let text = format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        key_id(name, &public),
        B64.encode(raw)
    );
    SignerKey::parse(&text).unwrap()
}

fn signers(max: usize) -> impl Strategy<Value = Vec<SignerKey>> {
    proptest::collection::vec((key_name(), any::<[u8; 32]>()), 0..max)
        .prop_map(|v| v.iter().map(|(n, s)| signer(n, *s)).collect())
}

fn release_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_+@:][A-Za-z0-9._+@:-]{0,30}"
}

fn created() -> impl Strategy<Value = String> {
    // 1970 to 9999, the years RFC 3339 can write.
    (0u64..253_402_300_800).prop_map(|s| {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s)).to_string()
    })
}

/// A line of note text: any characters but control characters.
fn line(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{1,40}",
        proptest::collection::vec(any::<char>(), 1..max).prop_map(|c| c
            .into_iter()
            .filter(|c| !c.is_control())
            .collect::<String>()),
    ]
    .prop_filter("non-empty", |l| !l.is_empty())
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        prop_oneof!["custody/[a-z0-9.:-]{1,20}", line(20)],
        any::<u64>(),
        any::<[u8; 32]>(),
        release_name(),
        created(),
        proptest::option::of((release_name(), any::<[u8; 32]>())),
    )
        .prop_map(
            |(origin, size, root, release, created, parent)| Checkpoint {
                origin,
                size,
                root,
                release,
                created,
                parent,
            },
        )
}

fn signed(c: Checkpoint, keys: &[SignerKey]) -> CheckpointNote {
    let mut cn = CheckpointNote::unsigned(c).unwrap();
    for k in keys {
        cn.note.sign(k);
    }
    cn
}

fn checkpoint_note() -> impl Strategy<Value = CheckpointNote> {
    (checkpoint(), signers(3)).prop_map(|(c, keys)| signed(c, &keys))
}

fn proven_leaf() -> impl Strategy<Value = ProvenLeaf> {
    (
        prop_oneof![0u64..100, any::<u64>()],
        leaf(),
        proptest::collection::vec(any::<[u8; 32]>(), 0..8),
    )
        .prop_map(|(index, leaf, path)| ProvenLeaf { index, leaf, path })
}

/// Any proof that encodes: the numbers need not make sense (parsing does not check
/// them; verifying does).
fn proof() -> impl Strategy<Value = Proof> {
    prop_oneof![
        (proven_leaf(), checkpoint_note())
            .prop_map(|(leaf, checkpoint)| Proof::Inclusion(InclusionProof { leaf, checkpoint })),
        (
            any::<[u8; 32]>(),
            proptest::option::of(proven_leaf()),
            proptest::option::of(proven_leaf()),
            checkpoint_note()
        )
            .prop_map(
                |(absent, left, right, checkpoint)| Proof::Absence(AbsenceProof {
                    absent,
                    left,
                    right,
                    checkpoint
                })
            ),
        (
            prop_oneof![0u64..100, any::<u64>()],
            any::<[u8; 32]>(),
            prop_oneof![0u64..100, any::<u64>()],
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<[u8; 32]>(), 0..10)
        )
            .prop_map(|(old_size, old_root, new_size, new_root, path)| {
                Proof::Consistency(ConsistencyProof {
                    old_size,
                    old_root,
                    new_size,
                    new_root,
                    path,
                })
            }),
    ]
}

/// Text parsed as `parse` reads it either is refused or is what the value encodes to.
fn canonical_text<T: std::fmt::Debug, E>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, E>,
    encode: impl Fn(&T) -> String,
) -> Result<Option<T>, TestCaseError> {
    match parse(s) {
        Ok(v) => {
            prop_assert_eq!(
                encode(&v),
                s,
                "{:?} parses from text that is not its encoding",
                v
            );
            Ok(Some(v))
        }
        Err(_) => Ok(None),
    }
}

fn verified_json(v: &Verified) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

/// The root of the leaves, and the root of any range of them.
fn tree(leaves: &[Leaf]) -> (Vec<[u8; 32]>, [u8; 32]) {
    let hashes: Vec<[u8; 32]> = leaves.iter().map(Leaf::hash_leaf).collect();
    let root = merkle::root::<Blake3>(&hashes);
    (hashes, root)
}

fn audit_path(hashes: &[[u8; 32]], index: u64) -> Vec<[u8; 32]> {
    merkle::inclusion_path::<Blake3, Infallible>(index, hashes.len() as u64, &mut |a, b| {
        Ok(merkle::range_root::<Blake3>(hashes, a, b))
    })
    .unwrap()
}

fn release_checkpoint(release: &str, size: u64, root: [u8; 32]) -> Checkpoint {
    Checkpoint {
        origin: format!("custody/{release}"),
        size,
        root,
        release: release.to_string(),
        created: "2020-06-19T12:00:00Z".to_string(),
        parent: None,
    }
}

proptest! {
    #![proptest_config(cases(256))]

    // ----- binary leaves (leaf.rs)

    #[test]
    fn leaves_round_trip(l in leaf(), e in edit(), d in damage()) {
        let enc = l.encode();
        prop_assert_eq!(Leaf::decode(&enc).unwrap(), l.clone());
        for m in [mutate(&enc, &e), Some(apply_damage(&enc, &d))].into_iter().flatten() {
            if let Ok(x) = Leaf::decode(&m) {
                prop_assert_eq!(x.encode(), m);
            }
        }
    }

    #[test]
    fn leaf_decode_is_canonical_on_any_bytes(b in bytes(200)) {
        if let Ok(x) = Leaf::decode(&b) {
            prop_assert_eq!(x.encode(), b);
            prop_assert!(x.check().is_ok());
        }
    }

    // ----- manifest lines (export.rs)

    #[test]
    fn leaf_lines_round_trip(l in leaf(), e in edit(), d in damage()) {
        let line = leaf_line(&l);
        let body = line.strip_suffix('\n').unwrap();
        prop_assert_eq!(parse_leaf_line(body.as_bytes()).unwrap(), l);
        for m in [mutate(body.as_bytes(), &e), Some(apply_damage(body.as_bytes(), &d))].into_iter().flatten() {
            if let Ok(x) = parse_leaf_line(&m) {
                prop_assert_eq!(leaf_line(&x).into_bytes(), [&m[..], b"\n"].concat());
            }
        }
    }

    #[test]
    fn leaf_line_parse_is_canonical_on_any_text(s in prop_oneof![
        text(200),
        ("[0-9a-f]{64} (0|[1-9][0-9]{0,3}) (file|dir|symlink|member) ", text(40)).prop_map(|(a, b)| a + &b),
    ]) {
        if let Ok(x) = parse_leaf_line(s.as_bytes()) {
            prop_assert_eq!(leaf_line(&x), format!("{s}\n"));
        }
    }

    /// A whole manifest reads back as its leaves; damage to anything before its
    /// checkpoint is always refused, and damage inside the checkpoint never changes
    /// the leaves it reads as.
    #[test]
    fn manifests_round_trip_and_damage_is_refused(
        ls in leaves(12),
        release in release_name(),
        keys in signers(2),
        e in edit(),
        d in damage(),
    ) {
        let (_, root) = tree(&ls);
        let cp = signed(release_checkpoint(&release, ls.len() as u64, root), &keys);
        let mut out = Vec::new();
        let n = write_manifest(&mut out, &release, ls.len() as u64, ls.iter().cloned().map(Ok), &cp).unwrap();
        prop_assert_eq!(n, ls.len() as u64);
        let mut got = Vec::new();
        let m = read_leaves(&out[..], &mut |l| got.push(l.clone())).unwrap();
        prop_assert_eq!(&got, &ls);
        prop_assert_eq!(m.size, ls.len() as u64);
        prop_assert_eq!(&m.release, &release);
        let anchor = Anchor { keys: vec![], root: Some(root) };
        prop_assert!(verify_manifest(&out[..], &anchor, None).is_ok());
        let note_at = out.len() - cp.encode().len();
        let (at, v) = &e;
        if let Some(bad) = mutate(&out, &(*at, *v)) {
            let i = at.index(out.len());
            let mut got = Vec::new();
            if read_leaves(&bad[..], &mut |l| got.push(l.clone())).is_ok() {
                prop_assert!(i >= note_at, "damage at byte {} of the leaves went unnoticed", i);
                prop_assert_eq!(&got, &ls);
            }
        }
        let bad = apply_damage(&out, &d);
        let mut got = Vec::new();
        if read_leaves(&bad[..], &mut |l| got.push(l.clone())).is_ok() {
            prop_assert_eq!(&got, &ls);
        }
    }

    #[test]
    fn manifest_reading_never_panics(s in text(400), n in 0u64..4, release in release_name()) {
        let _ = read_leaves(s.as_bytes(), &mut |_| {});
        let shaped = format!("custody manifest v1\nrelease {release}\nentries {n}\n{s}");
        let _ = read_leaves(shaped.as_bytes(), &mut |_| {});
    }

    // ----- signed notes and keys (note.rs)

    #[test]
    fn keys_round_trip(name in key_name(), seed: [u8; 32], e in edit()) {
        let k = signer(&name, seed);
        let text = k.encode();
        let k2 = SignerKey::parse(&text).unwrap();
        prop_assert_eq!(k2.encode(), text.clone());
        prop_assert_eq!(SignerKey::parse(&format!("{text}\n")).unwrap().encode(), text.clone());
        let v = k.verifier();
        let vtext = v.encode();
        prop_assert_eq!(VerifierKey::parse(&vtext).unwrap(), v.clone());
        // A changed key text is refused, or names the same key (the hex key id is
        // read in either case, as Go's note package reads it; whitespace around a
        // verifier key is trimmed).
        if let Some(m) = mutate_str(&vtext, &e)
            && let Ok(v2) = VerifierKey::parse(&m)
        {
            prop_assert_eq!(&v2, &v);
            prop_assert!(m.trim().eq_ignore_ascii_case(&vtext), "{:?}", m);
        }
        if let Some(m) = mutate_str(&text, &e)
            && let Ok(k3) = SignerKey::parse(&m)
        {
            prop_assert_eq!(k3.verifier(), v);
        }
    }

    #[test]
    fn notes_round_trip_and_verify(
        lines in proptest::collection::vec(line(30), 1..5),
        keys in signers(4),
        e in edit(),
        d in damage(),
    ) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut n = Note::unsigned(&text).unwrap();
        for k in &keys {
            n.sign(k);
        }
        let enc = n.encode();
        if keys.is_empty() {
            prop_assert_eq!(&enc, &text);
            return Ok(());
        }
        let parsed = Note::parse(&enc).unwrap();
        prop_assert_eq!(&parsed, &n);
        let verifiers: Vec<VerifierKey> = keys.iter().map(SignerKey::verifier).collect();
        prop_assert!(parsed.verify(&verifiers).is_ok());
        for m in [mutate_str(&enc, &e), damage_str(&enc, &d)].into_iter().flatten() {
            if let Some(x) = canonical_text(&m, Note::parse, Note::encode)? {
                // Changed text is never signed by the keys that signed the original.
                if x.text != n.text {
                    prop_assert!(x.verify(&verifiers).is_err());
                }
            }
        }
    }

    // ----- checkpoints (checkpoint.rs)

    #[test]
    fn checkpoints_round_trip(cn in checkpoint_note(), e in edit(), d in damage()) {
        let c = &cn.checkpoint;
        prop_assert_eq!(&Checkpoint::parse_body(&c.body()).unwrap(), c);
        let enc = cn.encode();
        prop_assert_eq!(&CheckpointNote::parse(&enc).unwrap(), &cn);
        for m in [mutate_str(&enc, &e), damage_str(&enc, &d)].into_iter().flatten() {
            canonical_text(&m, CheckpointNote::parse, CheckpointNote::encode)?;
        }
    }

    #[test]
    fn note_and_checkpoint_parsers_never_panic(s in text(400)) {
        canonical_text(&s, Note::parse, Note::encode)?;
        canonical_text(&s, CheckpointNote::parse, CheckpointNote::encode)?;
        if let Ok(c) = Checkpoint::parse_body(&s) {
            // Extension lines are ignored and known lines may come in any order (the
            // checkpoint spec allows both), so only the value is stable.
            prop_assert_eq!(Checkpoint::parse_body(&c.body()).unwrap(), c);
        }
        if let Ok(v) = VerifierKey::parse(&s) {
            prop_assert_eq!(VerifierKey::parse(&v.encode()).unwrap(), v);
        }
        if let Ok(k) = SignerKey::parse(&s) {
            prop_assert_eq!(SignerKey::parse(&k.encode()).unwrap().verifier(), k.verifier());
        }
    }

    // ----- proofs (proof.rs)

    #[test]
    fn proofs_round_trip(p in proof(), e in edit(), d in damage()) {
        let enc = p.encode();
        prop_assert_eq!(&Proof::parse(&enc).unwrap(), &p);
        let _ = verify(&p, &Anchor::default(), None);
        for m in [mutate_str(&enc, &e), damage_str(&enc, &d)].into_iter().flatten() {
            if let Some(q) = canonical_text(&m, Proof::parse, Proof::encode)? {
                let _ = verify(&q, &Anchor::default(), None);
            }
        }
    }

    #[test]
    fn proof_parse_never_panics(s in prop_oneof![
        text(400),
        (prop_oneof![
            Just("custody inclusion proof v1\nleaf "),
            Just("custody absence proof v1\nabsent "),
            Just("custody log consistency proof v1\nold "),
        ], text(300)).prop_map(|(a, b)| format!("{a}{b}")),
    ]) {
        if let Some(p) = canonical_text(&s, Proof::parse, Proof::encode)? {
            let _ = verify(&p, &Anchor::default(), None);
        }
    }

    /// Verification of any numbers (indices past the size, sizes of 2^64 - 1, audit
    /// paths too long or short) ends in a verdict, never a panic.
    #[test]
    fn verify_never_panics(
        index in prop_oneof![0u64..40, any::<u64>()],
        size in prop_oneof![0u64..40, any::<u64>()],
        size2 in prop_oneof![0u64..40, any::<u64>()],
        path in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
        l in leaf(),
        root: [u8; 32],
    ) {
        let _ = merkle::verify_inclusion::<Blake3>(index, size, &l.hash_leaf(), &path, &root);
        let _ = merkle::verify_consistency::<Blake3>(size, size2, &root, &l.hash, &path);
        let _ = subtree::is_valid_subtree(index, size);
        let _ = subtree::verify_subtree_inclusion::<Blake3>(index, size, size2, &l.hash_leaf(), &path, &root);
        let _ = subtree::verify_subtree_consistency::<Blake3>(index, size, size2, &root, &l.hash, &path);
        let cp = CheckpointNote::unsigned(release_checkpoint("r", size, root)).unwrap();
        let pl = ProvenLeaf { index, leaf: l.clone(), path: path.clone() };
        let _ = verify(&Proof::Inclusion(InclusionProof { leaf: pl.clone(), checkpoint: cp.clone() }), &Anchor::default(), Some(l.hash));
        let right = ProvenLeaf { index: index.wrapping_add(1), ..pl.clone() };
        let _ = verify(&Proof::Absence(AbsenceProof { absent: root, left: Some(pl), right: Some(right), checkpoint: cp }), &Anchor::default(), None);
    }

    /// Genuine proofs of a real tree, signed: they verify, and any damage to them is
    /// refused or leaves the verified statement exactly as it was.
    #[test]
    fn damaged_genuine_proofs_are_refused(
        ls in leaves(40).prop_filter("non-empty", |v| !v.is_empty()),
        pick: proptest::sample::Index,
        absent: [u8; 32],
        old in 1u64..60,
        name in key_name(),
        seed: [u8; 32],
        e in edit(),
        d in damage(),
    ) {
        let key = signer(&name, seed);
        let anchor = Anchor { keys: vec![key.verifier()], root: None };
        let (hashes, root) = tree(&ls);
        let n = ls.len() as u64;
        let cp = signed(release_checkpoint("leak", n, root), std::slice::from_ref(&key));
        let proven = |i: u64| ProvenLeaf { index: i, leaf: ls[i as usize].clone(), path: audit_path(&hashes, i) };
        let i = pick.index(ls.len()) as u64;
        let mut proofs = vec![Proof::Inclusion(InclusionProof { leaf: proven(i), checkpoint: cp.clone() })];
        if ls.iter().all(|l| l.hash != absent) {
            let at = ls.partition_point(|l| l.hash < absent) as u64;
            proofs.push(Proof::Absence(AbsenceProof {
                absent,
                left: at.checked_sub(1).map(proven),
                right: (at < n).then(|| proven(at)),
                checkpoint: cp.clone(),
            }));
        }
        let old = old.min(n);
        let old_root = merkle::root::<Blake3>(&hashes[..old as usize]);
        let path = merkle::consistency_path::<Blake3, Infallible>(old, n, &mut |a, b| {
            Ok(merkle::range_root::<Blake3>(&hashes, a, b))
        }).unwrap();
        proofs.push(Proof::Consistency(ConsistencyProof { old_size: old, old_root, new_size: n, new_root: root, path }));
        for p in proofs {
            let anchor = match &p {
                Proof::Consistency(_) => Anchor { keys: vec![], root: Some(root) },
                _ => anchor.clone(),
            };
            let enc = p.encode();
            let good = verify(&Proof::parse(&enc).unwrap(), &anchor, None).unwrap();
            for m in [mutate_str(&enc, &e), damage_str(&enc, &d)].into_iter().flatten() {
                if let Ok(q) = Proof::parse(&m)
                    && let Ok(v) = verify(&q, &anchor, None)
                    && verified_json(&v) != verified_json(&good)
                {
                    // Two kinds of change can still verify: another hash between the
                    // same two neighbours, which is just as absent; and the sizes of a
                    // consistency proof, which its roots do not bind (a trusted root
                    // vouches for the hashes only: 10 -> 33 verifies as 10 -> 34).
                    let other_absent = matches!(&q, Proof::Absence(a) if ls.iter().all(|l| l.hash != a.absent));
                    let other_sizes = matches!((&q, &p), (Proof::Consistency(a), Proof::Consistency(b))
                        if a.old_root == b.old_root && a.new_root == b.new_root && a.path == b.path);
                    prop_assert!(other_absent || other_sizes, "damaged proof {:?} verified as {:?}", m, v.statement);
                }
            }
        }
    }
}

/// A key name with a control character could sign, but no note holding its
/// signature line could ever be parsed (notes refuse control characters).
#[test]
fn key_names_refuse_control_characters() {
    for bad in ["a\u{1}b", "\u{7f}", "x\u{9b}"] {
        assert!(!is_valid_name(bad), "{bad:?}");
        assert!(SignerKey::generate(bad).is_err(), "{bad:?}");
    }
}

/// An audit path of 64 hashes (a tree of 2^64 leaves) parses; 65 do not.
#[test]
fn audit_paths_are_capped_at_64() {
    let leaf = Leaf {
        kind: EntryKind::File,
        size: 1,
        hash: [1; 32],
        path: crate::paths::EntryPath::new(b"a".to_vec()).unwrap(),
    };
    let cp = CheckpointNote::unsigned(release_checkpoint("r", 1, [2; 32])).unwrap();
    let p = |n: usize| {
        Proof::Inclusion(InclusionProof {
            leaf: ProvenLeaf {
                index: 0,
                leaf: leaf.clone(),
                path: vec![[3; 32]; n],
            },
            checkpoint: cp.clone(),
        })
    };
    assert_eq!(Proof::parse(&p(64).encode()).unwrap(), p(64));
    assert!(Proof::parse(&p(65).encode()).is_err());
}

/// Trees of more than 2^63 leaves: the audit path of leaf 0 has 64 inner hashes and
/// no border hashes. Computing that once shifted a u64 by 64 (a panic in debug builds,
/// a wrong length in release ones).
#[test]
fn audit_paths_of_huge_trees_do_not_overflow() {
    let size = (1u64 << 63) + 1;
    let leaf = [1; 32];
    let path = vec![[2; 32]; 64];
    let root = merkle::root_from_inclusion::<Blake3>(0, size, &leaf, &path).unwrap();
    assert!(merkle::verify_inclusion::<Blake3>(0, size, &leaf, &path, &root).is_ok());
    assert!(merkle::verify_inclusion::<Blake3>(0, size, &leaf, &path[..63], &root).is_err());
    let _ = merkle::verify_consistency::<Blake3>(1, size, &leaf, &root, &path);
}

/// A key that signed twice is named once, as the Python verifier names it.
#[test]
fn a_signature_line_twice_names_its_key_once() {
    let key = signer("A", [9; 32]);
    let mut n = Note::unsigned("text\n").unwrap();
    n.sign(&key);
    let twice = format!("{}{}", n.encode(), n.signatures[0].line);
    let parsed = Note::parse(&twice).unwrap();
    assert_eq!(parsed.signatures.len(), 2);
    assert_eq!(
        parsed.verify(&[key.verifier()]).unwrap(),
        vec!["A".to_string()]
    );
}
