//! Provenance: canonical leaves, Merkle trees, signed heads, proofs and manifests
//! (docs/PROOFS.md specifies every format here).

pub mod checkpoint;
pub mod export;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod subtree;

#[cfg(test)]
mod props;

#[cfg(test)]
mod test_vectors;
