//! Entry paths: the byte-exact, `/`-separated path of an entry inside its release.
//!
//! File names on Linux are bytes, not text. custody keeps them byte-exact and only
//! escapes them for display, JSON and manifest lines, with one reversible scheme:
//! printable UTF-8 is written as is, a backslash as `\\`, and every other byte
//! (control characters, bytes that are not valid UTF-8) as `\xNN`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Separator between an archive's path and a member path inside it (`a/b.zip!/inner`).
pub const ARCHIVE_SEPARATOR: &[u8] = b"!/";

/// Longest entry path custody accepts, in bytes (Linux PATH_MAX is 4096 for whole paths;
/// a release path is relative so it can approach but not pass that).
pub const MAX_PATH_LEN: usize = 16 * 1024;

/// A relative path inside a release, as bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EntryPath(Vec<u8>);

/// Why a path cannot be an entry path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path is empty")]
    Empty,
    #[error("path is absolute")]
    Absolute,
    #[error("path has an empty, '.' or '..' component")]
    BadComponent,
    #[error("path contains a NUL byte")]
    Nul,
    #[error("path is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
    #[error("bad escape in path at byte {0}")]
    BadEscape(usize),
    #[error("path is not escaped canonically (printable UTF-8 as is, other bytes as \\xNN)")]
    NotCanonical,
}

impl EntryPath {
    /// Validates bytes as a relative path with no empty, `.` or `..` components.
    pub fn new(bytes: Vec<u8>) -> Result<Self, PathError> {
        check(&bytes)?;
        Ok(Self(bytes))
    }

    /// Wraps bytes that come from a trusted source (our own walk or store).
    /// Extraction re-validates with [`EntryPath::check`] before touching the disk.
    pub fn from_raw(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Validates this path (see [`EntryPath::new`]).
    pub fn check(&self) -> Result<(), PathError> {
        check(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `self/name`, or `name` when self is the root (empty).
    pub fn join(&self, name: &[u8]) -> Self {
        let mut v = Vec::with_capacity(self.0.len() + 1 + name.len());
        v.extend_from_slice(&self.0);
        if !v.is_empty() {
            v.push(b'/');
        }
        v.extend_from_slice(name);
        Self(v)
    }

    /// The last component.
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// Everything before the last component (empty for a top-level entry).
    pub fn parent(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[..i],
            None => &[],
        }
    }

    /// Whether `self` is `other` or lies under it.
    pub fn starts_with_dir(&self, dir: &[u8]) -> bool {
        dir.is_empty()
            || (self.0.starts_with(dir) && (self.0.len() == dir.len() || self.0[dir.len()] == b'/'))
    }

    /// The path as an OS path relative to some root.
    pub fn to_os_path(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(&self.0))
    }

    /// Builds an entry path from an OS path relative to a root, byte-exact.
    pub fn from_os_path(p: &Path) -> Result<Self, PathError> {
        use std::os::unix::ffi::OsStrExt;
        Self::new(p.as_os_str().as_bytes().to_vec())
    }

    /// The reversible escaped text form.
    pub fn escaped(&self) -> String {
        escape_bytes(&self.0)
    }

    /// Parses the escaped text form and validates the result. Only the canonical
    /// escaping is accepted (`a`, never `\x61`), so a path has exactly one text form
    /// and no byte of a proof or manifest can change without changing what it says.
    pub fn parse_escaped(s: &str) -> Result<Self, PathError> {
        let p = Self::new(unescape_bytes(s)?)?;
        if p.escaped() != s {
            return Err(PathError::NotCanonical);
        }
        Ok(p)
    }
}

fn check(b: &[u8]) -> Result<(), PathError> {
    if b.is_empty() {
        return Err(PathError::Empty);
    }
    if b.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    if b[0] == b'/' {
        return Err(PathError::Absolute);
    }
    if b.contains(&0) {
        return Err(PathError::Nul);
    }
    for c in b.split(|&x| x == b'/') {
        if c.is_empty() || c == b"." || c == b".." {
            return Err(PathError::BadComponent);
        }
    }
    Ok(())
}

/// Escapes bytes reversibly (see the module docs).
pub fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if c.is_control() {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Reverses [`escape_bytes`].
pub fn unescape_bytes(s: &str) -> Result<Vec<u8>, PathError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hexd = b.get(i + 2..i + 4).ok_or(PathError::BadEscape(i))?;
                let mut v = [0u8; 1];
                hex::decode_to_slice(hexd, &mut v).map_err(|_| PathError::BadEscape(i))?;
                out.push(v[0]);
                i += 4;
            }
            _ => return Err(PathError::BadEscape(i)),
        }
    }
    Ok(out)
}

impl fmt::Display for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.escaped())
    }
}

impl fmt::Debug for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.escaped())
    }
}

impl Serialize for EntryPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.escaped())
    }
}

impl<'de> Deserialize<'de> for EntryPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_escaped(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_unsafe_paths() {
        for bad in [
            &b""[..],
            b"/etc/passwd",
            b"a/../b",
            b"..",
            b"a//b",
            b"a/",
            b"./a",
            b"a\0b",
        ] {
            assert!(EntryPath::new(bad.to_vec()).is_err(), "{bad:?}");
        }
        assert!(EntryPath::new(b"a/b c/..d/\xff".to_vec()).is_ok());
    }

    #[test]
    fn escapes_what_is_not_printable_utf8() {
        assert_eq!(
            escape_bytes(b"caf\xc3\xa9 \\ \n\xff"),
            "café \\\\ \\x0a\\xff"
        );
    }

    #[test]
    fn dir_prefix_respects_components() {
        let p = EntryPath::new(b"ab/c".to_vec()).unwrap();
        assert!(p.starts_with_dir(b"ab"));
        assert!(!p.starts_with_dir(b"a"));
        assert!(p.starts_with_dir(b""));
        assert_eq!(p.parent(), b"ab");
        assert_eq!(p.file_name(), b"c");
    }

    proptest! {
        #[test]
        fn escape_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unescape_bytes(&escape_bytes(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn unescape_never_panics(s in "\\PC*") {
            let _ = unescape_bytes(&s);
        }
    }
}
