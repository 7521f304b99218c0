//! The worked example of docs/PROOFS.md, recomputed: if the formats change, this
//! fails until the document is brought up to date.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use custody::manifest::checkpoint::{Checkpoint, CheckpointNote};
use custody::manifest::leaf::Leaf;
use custody::manifest::merkle::{self, Blake3, TreeHash};
use custody::manifest::note::SignerKey;
use custody::manifest::proof::{AbsenceProof, InclusionProof, Proof, ProvenLeaf};
use custody::paths::EntryPath;
use custody::store::format::EntryKind;

/// The public test key of Go's sumdb/note documentation (tests/vectors).
const EXAMPLE_KEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

pub fn example() -> String {
    let file = |p: &str, data: &[u8]| Leaf {
        kind: EntryKind::File,
        size: data.len() as u64,
        hash: *blake3::hash(data).as_bytes(),
        path: EntryPath::new(p.as_bytes().to_vec()).unwrap(),
    };
    let mut leaves = [
        Leaf {
            kind: EntryKind::Dir,
            size: 0,
            hash: [0; 32],
            path: EntryPath::new(b"notes".to_vec()).unwrap(),
        },
        file("memo.txt", b"Meeting at noon.\n"),
        file("notes/list.csv", b"id,name\n1,Alice\n"),
    ];
    leaves.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let mut out = String::new();
    let hashes: Vec<[u8; 32]> = leaves.iter().map(Leaf::hash_leaf).collect();
    for (i, l) in leaves.iter().enumerate() {
        out += &format!(
            "leaf {i}: {} {}\n  bytes      {}\n  leaf hash  {}\n",
            l.kind.name(),
            l.path,
            hex::encode(l.encode()),
            hex::encode(hashes[i])
        );
    }
    let n01 = Blake3::node(&hashes[0], &hashes[1]);
    let root = Blake3::node(&n01, &hashes[2]);
    assert_eq!(root, merkle::root::<Blake3>(&hashes));
    out += &format!(
        "node [0,2) = H(0x01 ‖ leaf 0 ‖ leaf 1)  {}\n",
        hex::encode(n01)
    );
    out += &format!(
        "root [0,3) = H(0x01 ‖ [0,2) ‖ leaf 2)   {}\n",
        hex::encode(root)
    );
    out += &format!("root base64 {}\n", B64.encode(root));
    let cp = Checkpoint {
        origin: "example.org/leak-r1".into(),
        size: 3,
        root,
        release: "leak-r1".into(),
        created: "2020-06-19T00:00:00Z".into(),
        parent: None,
    };
    let mut note = CheckpointNote::unsigned(cp).unwrap();
    note.note.sign(&SignerKey::parse(EXAMPLE_KEY).unwrap());
    let mut f = |a: u64, b: u64| Ok::<_, ()>(merkle::range_root::<Blake3>(&hashes, a, b));
    let memo = leaves
        .iter()
        .position(|l| l.path.as_bytes() == b"memo.txt")
        .unwrap() as u64;
    let incl = Proof::Inclusion(InclusionProof {
        leaf: ProvenLeaf {
            index: memo,
            leaf: leaves[memo as usize].clone(),
            path: merkle::inclusion_path::<Blake3, ()>(memo, 3, &mut f).unwrap(),
        },
        checkpoint: note.clone(),
    });
    out += &format!(
        "=== inclusion proof of memo.txt\n{}=== end\n",
        incl.encode()
    );
    let absent = *blake3::hash(b"Meeting at 21.\n").as_bytes();
    let pos = hashes.len() - leaves.iter().rev().take_while(|l| l.hash > absent).count();
    let side = |i: usize| ProvenLeaf {
        index: i as u64,
        leaf: leaves[i].clone(),
        path: merkle::inclusion_path::<Blake3, ()>(i as u64, 3, &mut |a, b| {
            Ok::<_, ()>(merkle::range_root::<Blake3>(&hashes, a, b))
        })
        .unwrap(),
    };
    let abs = Proof::Absence(AbsenceProof {
        absent,
        left: (pos > 0).then(|| side(pos - 1)),
        right: (pos < 3).then(|| side(pos)),
        checkpoint: note,
    });
    out += &format!(
        "=== absence proof of b3:{} (\"Meeting at 21.\\n\")\n{}=== end\n",
        hex::encode(absent),
        abs.encode()
    );
    out
}

#[test]
fn proofs_md_holds_the_current_worked_example() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROOFS.md")).unwrap();
    let ex = example();
    let mut missing = Vec::new();
    for line in ex
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("==="))
    {
        if !doc.lines().any(|d| d.trim_end() == line.trim_end()) {
            missing.push(line);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/PROOFS.md lacks these lines of the worked example:\n{}\n\nwhole example:\n{ex}",
        missing.join("\n")
    );
}
