//! Test support: replaying the transparency-dev vectors in `tests/vectors/`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
pub use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

use super::merkle::TreeHash;

/// RFC 6962 with SHA-256, the hash of the transparency-dev vectors.
pub struct Sha256Tree;

impl TreeHash for Sha256Tree {
    type Digest = [u8; 32];

    fn empty() -> [u8; 32] {
        Sha256::digest(b"").into()
    }

    fn leaf(data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(data);
        h.finalize().into()
    }

    fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([0x01]);
        h.update(left);
        h.update(right);
        h.finalize().into()
    }
}

pub type Hash = [u8; 32];

pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc6962-sha256")
}

pub fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
}

pub fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn num(v: &Value, key: &str, name: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{name}: {key} is not a u64"))
}

/// A hash field. transparency-dev treats hashes as opaque byte strings compared for
/// equality, and some vectors hold values of other lengths ("don't care" roots,
/// roots with garbage appended). A 32-byte value is taken as it is; any other
/// length becomes SHA-256 of a tag and the bytes, which keeps equal values equal and
/// different values different, so the verifier sees the same comparisons Go makes.
/// `None` when the field is not base64 at all.
pub fn hash(v: &Value) -> Option<Hash> {
    let raw = match v {
        Value::String(s) => STANDARD.decode(s).ok()?,
        Value::Null => Vec::new(),
        _ => return None,
    };
    match <[u8; 32]>::try_from(raw.as_slice()) {
        Ok(h) => Some(h),
        Err(_) => {
            let mut h = Sha256::new();
            h.update(b"custody test: a hash value that is not 32 bytes\n");
            h.update(&raw);
            Some(h.finalize().into())
        }
    }
}

/// A leaf hash: Go checks its length against the hash size, so anything but 32
/// bytes is an error (`None`).
pub fn leaf_hash(v: &Value) -> Option<Hash> {
    match v {
        Value::String(s) => STANDARD.decode(s).ok()?.try_into().ok(),
        _ => None,
    }
}

/// The proof field: `Some(hashes)` if every element decodes to 32 bytes; `null`
/// is Go's nil slice, an empty proof.
pub fn proof(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items.iter().map(hash).collect(),
        _ => None,
    }
}

pub fn rel(path: &Path) -> String {
    path.strip_prefix(vectors_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Runs every vector file under `sub` through `check`, which returns `None` when a
/// hash does not decode and otherwise whether verification succeeded.
pub fn replay(sub: &str, check: impl Fn(&Value, &str) -> Option<bool>) -> (usize, Vec<String>) {
    let mut files = Vec::new();
    json_files(&vectors_dir().join(sub), &mut files);
    files.sort();
    let mut failures = Vec::new();
    let mut unrepresentable = Vec::new();
    for path in &files {
        let name = rel(path);
        let v = load(path);
        let want_err = v["wantErr"]
            .as_bool()
            .unwrap_or_else(|| panic!("{name}: wantErr is not a bool"));
        match check(&v, &name) {
            // Verification must succeed exactly when no error is wanted.
            Some(ok) if ok != want_err => {}
            Some(ok) => failures.push(format!("{name}: verified={ok}, wantErr={want_err}")),
            None if want_err => {}
            None => unrepresentable.push(name),
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (files.len(), unrepresentable)
}
