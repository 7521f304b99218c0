//! The canonical leaf of a release's manifest (docs/PROOFS.md, "Leaves").
//!
//! ```text
//! u8       LEAF_VERSION (1)
//! u8       kind: 1 file, 2 directory, 3 symlink
//! u64 LE   size
//! 32 bytes BLAKE3 content hash
//! u32 LE   path length, then the path bytes
//! ```
//!
//! Leaves are ordered by (content hash, path bytes), which makes both inclusion
//! ("content H is at path P") and absence ("no entry has content H": the two
//! neighbours of where H would sit) provable.

use crate::codec::{Dec, DecodeError, Enc};
use crate::manifest::merkle::{Blake3, TreeHash};
use crate::paths::EntryPath;
use crate::store::format::EntryKind;

/// Version byte at the start of every leaf (`LEAF_VERSION`).
pub const LEAF_VERSION: u8 = 1;

/// One manifest leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub kind: EntryKind,
    pub size: u64,
    pub hash: [u8; 32],
    pub path: EntryPath,
}

impl Leaf {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(46 + self.path.len());
        e.u8(LEAF_VERSION)
            .u8(self.kind.code())
            .u64(self.size)
            .hash(&self.hash)
            .bytes32(self.path.as_bytes());
        e.finish()
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Dec::new(b);
        let v = d.u8()?;
        if v != LEAF_VERSION {
            return Err(DecodeError::Unknown {
                what: "leaf version",
                value: v as u64,
            });
        }
        let kind = EntryKind::from_code(d.u8()?)?;
        let size = d.u64()?;
        let hash = d.hash()?;
        let path = EntryPath::new(d.bytes32()?.to_vec())
            .map_err(|_| DecodeError::Invalid("leaf path is not a valid entry path"))?;
        d.end()?;
        let leaf = Self {
            kind,
            size,
            hash,
            path,
        };
        leaf.check().map_err(DecodeError::Invalid)?;
        Ok(leaf)
    }

    /// The rules a leaf must keep beyond its encoding: a directory has size 0 and
    /// the all-zero hash.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.kind == EntryKind::Dir && (self.size != 0 || self.hash != [0; 32]) {
            return Err("a directory leaf must have size 0 and the all-zero hash");
        }
        Ok(())
    }

    /// `BLAKE3(0x00 ‖ leaf)`.
    pub fn hash_leaf(&self) -> [u8; 32] {
        Blake3::leaf(&self.encode())
    }

    /// The sort key: content hash, then path bytes.
    pub fn order_key(&self) -> (&[u8; 32], &[u8]) {
        (&self.hash, self.path.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(size: u64, hash: [u8; 32], name in "[a-z]{1,8}(/[a-z]{1,8}){0,3}") {
            let l = Leaf { kind: EntryKind::File, size, hash, path: EntryPath::new(name.into_bytes()).unwrap() };
            prop_assert_eq!(Leaf::decode(&l.encode()).unwrap(), l);
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = Leaf::decode(&b);
        }
    }
}
