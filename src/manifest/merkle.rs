//! RFC 9162 §2.1 Merkle trees, generic over the hash function.
//!
//! Leaves hash as `H(0x00 ‖ data)`, interior nodes as `H(0x01 ‖ left ‖ right)`, the
//! empty tree as `H("")`, and a tree of n > 1 leaves splits at the largest power of
//! two smaller than n. custody uses BLAKE3; the tests run the SHA-256 instance
//! against the transparency-dev vectors. Proof verification follows
//! transparency-dev/merkle's `VerifyInclusion` and `VerifyConsistency`.

use std::fmt::Debug;

/// A hash function for the tree.
pub trait TreeHash {
    type Digest: Copy + Eq + Debug + AsRef<[u8]>;
    /// Hash of the empty string: the root of a tree with no leaves.
    fn empty() -> Self::Digest;
    /// `H(0x00 ‖ data)`.
    fn leaf(data: &[u8]) -> Self::Digest;
    /// `H(0x01 ‖ left ‖ right)`.
    fn node(left: &Self::Digest, right: &Self::Digest) -> Self::Digest;
}

/// BLAKE3 with 32-byte output: custody's tree hash.
pub struct Blake3;

impl TreeHash for Blake3 {
    type Digest = [u8; 32];

    fn empty() -> [u8; 32] {
        *blake3::hash(b"").as_bytes()
    }

    fn leaf(data: &[u8]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&[0x00]);
        h.update(data);
        *h.finalize().as_bytes()
    }

    fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&[0x01]);
        h.update(left);
        h.update(right);
        *h.finalize().as_bytes()
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    #[error("proof has {got} hashes; a tree of this size needs {want}")]
    WrongLength { got: usize, want: usize },
    #[error("second tree size {size2} is smaller than the first {size1}")]
    SizeDecreases { size1: u64, size2: u64 },
    #[error("proof between equal sizes must be empty")]
    NonEmptyForEqualSizes,
    #[error("no consistency proof starts from an empty tree")]
    FromEmpty,
    #[error("proof is empty")]
    Empty,
    #[error("computed root does not match the expected root")]
    RootMismatch,
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Computes a root from leaf hashes fed in order, keeping only O(log n) hashes.
/// Reports every complete, aligned subtree of 2^level leaves it forms (level ≥ 1),
/// so callers can keep the nodes that later proofs need.
pub struct RootBuilder<H: TreeHash> {
    /// (level, hash) of complete subtrees, levels strictly decreasing.
    stack: Vec<(u32, H::Digest)>,
    count: u64,
}

impl<H: TreeHash> Default for RootBuilder<H> {
    fn default() -> Self {
        Self {
            stack: Vec::new(),
            count: 0,
        }
    }
}

impl<H: TreeHash> RootBuilder<H> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next leaf hash; `on_subtree(level, index, hash)` is called for each
    /// complete subtree of 2^level leaves (level ≥ 1) that this leaf completes.
    pub fn push(&mut self, leaf: H::Digest, mut on_subtree: impl FnMut(u32, u64, &H::Digest)) {
        let mut level = 0;
        let mut hash = leaf;
        let index = self.count;
        while let Some(&(l, left)) = self.stack.last() {
            if l != level {
                break;
            }
            self.stack.pop();
            hash = H::node(&left, &hash);
            level += 1;
            on_subtree(level, index >> level, &hash);
        }
        self.stack.push((level, hash));
        self.count += 1;
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The root of everything pushed: the complete subtrees folded right to left.
    pub fn root(&self) -> H::Digest {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => H::empty(),
            Some(&(_, last)) => it.fold(last, |acc, (_, left)| H::node(left, &acc)),
        }
    }
}

/// Root of a list of leaf hashes.
pub fn root<H: TreeHash>(leaves: &[H::Digest]) -> H::Digest {
    let mut b = RootBuilder::<H>::new();
    for l in leaves {
        b.push(*l, |_, _, _| {});
    }
    b.root()
}

/// The audit path of leaf `m` in a tree of `n` leaves (RFC 9162 §2.1.3.1), given a
/// function returning the root of any leaf range `[a, b)`.
pub fn inclusion_path<H: TreeHash, E>(
    m: u64,
    n: u64,
    mth: &mut impl FnMut(u64, u64) -> Result<H::Digest, E>,
) -> Result<Vec<H::Digest>, E> {
    let mut path = Vec::new();
    let (mut a, mut b, mut m) = (0u64, n, m);
    // Walk down from the root, collecting siblings, then reverse (leaf first).
    while b - a > 1 {
        let k = split_point(b - a);
        if m < k {
            path.push(mth(a + k, b)?);
            b = a + k;
        } else {
            path.push(mth(a, a + k)?);
            a += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof from size `m` to size `n` (RFC 9162 §2.1.4.1).
pub fn consistency_path<H: TreeHash, E>(
    m: u64,
    n: u64,
    mth: &mut impl FnMut(u64, u64) -> Result<H::Digest, E>,
) -> Result<Vec<H::Digest>, E> {
    if m == 0 || m >= n {
        return Ok(Vec::new());
    }
    let mut path = Vec::new();
    // SUBPROOF(m, D[a:b], complete)
    let (mut a, mut b, mut m, mut complete) = (0u64, n, m, true);
    loop {
        if m == b - a {
            if !complete {
                path.push(mth(a, b)?);
            }
            break;
        }
        let k = split_point(b - a);
        if m <= k {
            path.push(mth(a + k, b)?);
            b = a + k;
        } else {
            path.push(mth(a, a + k)?);
            a += k;
            m -= k;
            complete = false;
        }
    }
    path.reverse();
    Ok(path)
}

fn inner_proof_size(index: u64, size: u64) -> usize {
    (64 - (index ^ (size - 1)).leading_zeros()) as usize
}

fn decomp_incl_proof(index: u64, size: u64) -> (usize, usize) {
    let inner = inner_proof_size(index, size);
    // inner is 64 for a tree of more than 2^63 leaves: nothing is left of the index
    // then (as in Go, whose shifts past the width give 0; Rust's would panic).
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    (inner, border)
}

fn chain_inner<H: TreeHash>(seed: H::Digest, proof: &[H::Digest], index: u64) -> H::Digest {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if (index >> i) & 1 == 0 {
            H::node(&acc, h)
        } else {
            H::node(h, &acc)
        }
    })
}

fn chain_inner_right<H: TreeHash>(seed: H::Digest, proof: &[H::Digest], index: u64) -> H::Digest {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if (index >> i) & 1 == 1 {
            H::node(h, &acc)
        } else {
            acc
        }
    })
}

fn chain_border_right<H: TreeHash>(seed: H::Digest, proof: &[H::Digest]) -> H::Digest {
    proof.iter().fold(seed, |acc, h| H::node(h, &acc))
}

/// The root an inclusion proof leads to.
pub fn root_from_inclusion<H: TreeHash>(
    index: u64,
    size: u64,
    leaf: &H::Digest,
    proof: &[H::Digest],
) -> Result<H::Digest, ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let (inner, border) = decomp_incl_proof(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want: inner + border,
        });
    }
    let r = chain_inner::<H>(*leaf, &proof[..inner], index);
    Ok(chain_border_right::<H>(r, &proof[inner..]))
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves with `root`.
pub fn verify_inclusion<H: TreeHash>(
    index: u64,
    size: u64,
    leaf: &H::Digest,
    proof: &[H::Digest],
    root: &H::Digest,
) -> Result<(), ProofError> {
    if root_from_inclusion::<H>(index, size, leaf, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `size2` leaves with `root2` extends the tree of `size1`
/// leaves with `root1`.
pub fn verify_consistency<H: TreeHash>(
    size1: u64,
    size2: u64,
    root1: &H::Digest,
    root2: &H::Digest,
    proof: &[H::Digest],
) -> Result<(), ProofError> {
    // RFC 9162 defines consistency for 0 < size1: nothing can be proven about an
    // empty tree, and transparency-dev rejects it too.
    if size1 == 0 {
        return Err(ProofError::FromEmpty);
    }
    if size2 < size1 {
        return Err(ProofError::SizeDecreases { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::NonEmptyForEqualSizes);
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::Empty);
    }
    let (inner, border) = decomp_incl_proof(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    let inner = inner - shift;
    let (seed, start) = if size1 == 1 << shift {
        (*root1, 0)
    } else {
        (proof[0], 1)
    };
    if proof.len() != start + inner + border {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want: start + inner + border,
        });
    }
    let proof = &proof[start..];
    let mask = (size1 - 1) >> shift;
    let h1 = chain_inner_right::<H>(seed, &proof[..inner], mask);
    let h1 = chain_border_right::<H>(h1, &proof[inner..]);
    if h1 != *root1 {
        return Err(ProofError::RootMismatch);
    }
    let h2 = chain_inner::<H>(seed, &proof[..inner], mask);
    let h2 = chain_border_right::<H>(h2, &proof[inner..]);
    if h2 != *root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Root of leaves `[a, b)` computed from all leaf hashes (for tests and small trees).
pub fn range_root<H: TreeHash>(leaves: &[H::Digest], a: u64, b: u64) -> H::Digest {
    root::<H>(&leaves[a as usize..b as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<[u8; 32]> {
        (0..n).map(|i| Blake3::leaf(&i.to_le_bytes())).collect()
    }

    /// The recursive definition of RFC 9162, to check the streaming builder.
    fn mth(l: &[[u8; 32]]) -> [u8; 32] {
        match l.len() {
            0 => Blake3::empty(),
            1 => l[0],
            n => {
                let k = split_point(n as u64) as usize;
                Blake3::node(&mth(&l[..k]), &mth(&l[k..]))
            }
        }
    }

    #[test]
    fn streaming_root_matches_definition_and_reports_aligned_subtrees() {
        for n in 0..70u64 {
            let l = leaves(n);
            let mut b = RootBuilder::<Blake3>::new();
            for x in &l {
                b.push(*x, |level, index, h| {
                    let a = index << level;
                    assert_eq!(*h, mth(&l[a as usize..(a + (1 << level)) as usize]));
                });
            }
            assert_eq!(b.root(), mth(&l), "n={n}");
        }
    }

    #[test]
    fn generated_proofs_verify_and_tampered_ones_do_not() {
        for n in 1..40u64 {
            let l = leaves(n);
            let r = mth(&l);
            for m in 0..n {
                let mut f = |a: u64, b: u64| Ok::<_, ()>(range_root::<Blake3>(&l, a, b));
                let p = inclusion_path::<Blake3, ()>(m, n, &mut f).unwrap();
                verify_inclusion::<Blake3>(m, n, &l[m as usize], &p, &r).unwrap();
                if !p.is_empty() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_inclusion::<Blake3>(m, n, &l[m as usize], &bad, &r).is_err());
                }
                if n > 1 {
                    assert!(
                        verify_inclusion::<Blake3>((m + 1) % n, n, &l[m as usize], &p, &r).is_err()
                    );
                }
            }
            for m in 1..=n {
                let mut f = |a: u64, b: u64| Ok::<_, ()>(range_root::<Blake3>(&l, a, b));
                let p = consistency_path::<Blake3, ()>(m, n, &mut f).unwrap();
                let r1 = mth(&l[..m as usize]);
                verify_consistency::<Blake3>(m, n, &r1, &r, &p).unwrap();
            }
        }
    }
}

#[cfg(test)]
mod vector_tests {
    use super::super::test_vectors::*;
    use super::*;

    fn tree_roots() -> (Vec<Vec<u8>>, Vec<[u8; 32]>) {
        let v = load(&vectors_dir().join("tree-roots.json"));
        let leaves = v["leaf_inputs_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| hex::decode(x.as_str().unwrap()).unwrap())
            .collect();
        let roots = v["root_by_size_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let mut r = [0u8; 32];
                hex::decode_to_slice(x.as_str().unwrap(), &mut r).unwrap();
                r
            })
            .collect();
        (leaves, roots)
    }

    #[test]
    fn roots_for_sizes_0_to_8() {
        let (leaves, roots) = tree_roots();
        let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| Sha256Tree::leaf(l)).collect();
        assert_eq!(roots.len(), 9);
        for (n, want) in roots.iter().enumerate() {
            assert_eq!(root::<Sha256Tree>(&hashes[..n]), *want, "size {n}");
        }
    }

    #[test]
    fn inclusion_vectors() {
        let (leaves, _) = tree_roots();
        let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| Sha256Tree::leaf(l)).collect();
        let (count, unrepresentable) = replay("inclusion", |v, name| {
            let (index, size) = (num(v, "leafIdx", name), num(v, "treeSize", name));
            let (root, leaf, proof) = (
                hash(&v["root"])?,
                leaf_hash(&v["leafHash"])?,
                proof(&v["proof"])?,
            );
            let ok = verify_inclusion::<Sha256Tree>(index, size, &leaf, &proof, &root).is_ok();
            // Our own generator must produce every happy-path proof of the 8 leaves.
            if ok && size <= 8 && leaf == hashes[index as usize] {
                let mut f = |a: u64, b: u64| Ok::<_, ()>(range_root::<Sha256Tree>(&hashes, a, b));
                assert_eq!(
                    inclusion_path::<Sha256Tree, ()>(index, size, &mut f).unwrap(),
                    proof,
                    "{name}"
                );
            }
            Some(ok)
        });
        assert!(count >= 90, "only {count} inclusion vectors");
        assert!(unrepresentable.is_empty(), "{unrepresentable:?}");
    }

    #[test]
    fn consistency_vectors() {
        let (leaves, roots) = tree_roots();
        let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| Sha256Tree::leaf(l)).collect();
        let (count, unrepresentable) = replay("consistency", |v, name| {
            let (s1, s2) = (num(v, "size1", name), num(v, "size2", name));
            let (r1, r2, proof) = (hash(&v["root1"])?, hash(&v["root2"])?, proof(&v["proof"])?);
            let ok = verify_consistency::<Sha256Tree>(s1, s2, &r1, &r2, &proof).is_ok();
            if ok && s2 <= 8 && r1 == roots[s1 as usize] && r2 == roots[s2 as usize] {
                let mut f = |a: u64, b: u64| Ok::<_, ()>(range_root::<Sha256Tree>(&hashes, a, b));
                assert_eq!(
                    consistency_path::<Sha256Tree, ()>(s1, s2, &mut f).unwrap(),
                    proof,
                    "{name}"
                );
            }
            Some(ok)
        });
        assert!(count >= 90, "only {count} consistency vectors");
        assert!(unrepresentable.is_empty(), "{unrepresentable:?}");
    }
}
