//! `hash FILE…`: a file's content id, the value `b3sum` prints.

use std::io::Read;
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::id::BlobId;

/// BLAKE3 of a file's content, memory-mapped and hashed on all cores when large
/// (as b3sum does), read in a stream otherwise.
pub fn hash_file(path: &Path) -> Result<BlobId> {
    let mut h = blake3::Hasher::new();
    h.update_mmap_rayon(path).ctx(path, "hash")?;
    Ok(h.finalize().into())
}

/// BLAKE3 of everything a reader yields.
pub fn hash_reader(r: impl Read, what: &Path) -> Result<BlobId> {
    let mut h = blake3::Hasher::new();
    h.update_reader(r).ctx(what, "hash")?;
    Ok(h.finalize().into())
}

/// One line of `b3sum` output for `name`, byte for byte as b3sum writes it: names
/// with a backslash, newline or carriage return are escaped and the line starts with
/// a backslash; names that are not UTF-8 are shown lossily.
pub fn b3sum_line(hash: &BlobId, name: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(name).into_owned();
    let escaped = s.contains(['\\', '\n', '\r']);
    if escaped {
        s = s
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
    }
    format!("{}{hash}  {s}", if escaped { "\\" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b3sum_escaping() {
        let h = BlobId::empty();
        assert_eq!(b3sum_line(&h, b"a b"), format!("{h}  a b"));
        assert_eq!(b3sum_line(&h, b"a\nb\\"), format!("\\{h}  a\\nb\\\\"));
    }
}
