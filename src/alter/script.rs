//! Edit scripts: how to build a claimed file from an original, as a list of ranges
//! copied from the original and bytes inserted.
//!
//! The text encoding puts one operation on a line and is canonical, so that a script
//! embedded in a report can be checked by anyone with the two files:
//!
//! ```text
//! copy 0 1000
//! insert RWRpdGVkIHdpdGggR0lNUA==
//! copy 1012 19000
//! ```
//!
//! - `copy <offset> <len>`: append `len` bytes of the original starting at `offset`;
//!   both decimal without leading zeros, `len` at least 1, and a copy never continues
//!   the range of the copy right before it (those are merged into one line).
//! - `insert <base64>`: append bytes given in standard, padded, canonical base64.
//!   Inserts longer than 48 bytes are split over consecutive lines of exactly 48 bytes
//!   of data each, the last holding the remaining 1 to 48; consecutive `insert` lines
//!   form one [`EditOp::Insert`].
//! - Every line ends with `\n`; no blank lines, no `\r`, no other spaces. The empty
//!   text is the empty script.
//!
//! [`EditScript::encode`] writes the [normalized](EditScript::normalized) script, and
//! [`EditScript::parse`] accepts exactly the texts `encode` writes, and the same texts
//! without their final newline (as they come out of a file that separates sections
//! with a blank line).

use std::fmt::Write as _;
use std::io;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

pub use super::diff::edit_script;

/// Bytes of data on one `insert` line of the text encoding.
pub const INSERT_LINE_BYTES: usize = 48;

/// Largest piece of the original [`EditScript::apply_with`] asks `read_at` for at once.
pub const READ_PIECE: u64 = 1 << 20;

/// One step of an edit script.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum EditOp {
    /// Append `len` bytes of the original starting at `offset`.
    Copy { offset: u64, len: u64 },
    /// Append these bytes.
    Insert(Vec<u8>),
}

/// A list of operations that builds a claim from an original.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditScript {
    pub ops: Vec<EditOp>,
}

/// Why a script could not be applied or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error(
        "op {op}: copy of {len} bytes at offset {offset} reaches past the end of the original ({original_len} bytes)"
    )]
    CopyOutOfRange {
        op: usize,
        offset: u64,
        len: u64,
        original_len: u64,
    },

    #[error(
        "op {op}: reading {wanted} bytes of the original at offset {offset} returned {got}; the copy reaches past the end of the original"
    )]
    ShortRead {
        op: usize,
        offset: u64,
        wanted: u64,
        got: u64,
    },

    #[error("op {op}: copy at offset {offset} of {len} bytes overflows a 64-bit offset")]
    Overflow { op: usize, offset: u64, len: u64 },

    #[error("edit script line {line}: {reason}")]
    Parse { line: usize, reason: &'static str },

    #[error("applying edit script: {0}")]
    Io(#[from] io::Error),
}

impl EditScript {
    pub fn new(ops: Vec<EditOp>) -> Self {
        Self { ops }
    }

    /// Applies the script to the original; errors (never panics) if a Copy reaches
    /// past the end.
    ///
    /// The result is built in memory; for huge results use [`EditScript::apply_with`].
    pub fn apply(&self, original: &[u8]) -> Result<Vec<u8>, ScriptError> {
        let original_len = original.len() as u64;
        // Check every copy first, so that a bad script allocates nothing.
        let mut total: u64 = 0;
        for (op, e) in self.ops.iter().enumerate() {
            let n = match *e {
                EditOp::Copy { offset, len } => {
                    copy_end(op, offset, len, original_len)?;
                    len
                }
                EditOp::Insert(ref data) => data.len() as u64,
            };
            total = total.saturating_add(n);
        }
        let mut out = Vec::with_capacity(usize::try_from(total.min(1 << 30)).unwrap_or(0));
        for (op, e) in self.ops.iter().enumerate() {
            match *e {
                EditOp::Copy { len: 0, .. } => {}
                EditOp::Copy { offset, len } => {
                    let end = copy_end(op, offset, len, original_len)?;
                    // Both fit in usize: end <= original.len().
                    out.extend_from_slice(&original[offset as usize..end as usize]);
                }
                EditOp::Insert(ref data) => out.extend_from_slice(data),
            }
        }
        Ok(out)
    }

    /// Applies while streaming: `read_at(offset, len)` fetches original bytes (it must
    /// return exactly `len` bytes, fewer meaning the original ends before), `out`
    /// receives the result. Copies are read in pieces of at most [`READ_PIECE`] bytes.
    /// Returns the number of bytes written.
    pub fn apply_with(
        &self,
        read_at: &mut dyn FnMut(u64, u64) -> io::Result<Vec<u8>>,
        out: &mut dyn io::Write,
    ) -> Result<u64, ScriptError> {
        let mut written: u64 = 0;
        for (op, e) in self.ops.iter().enumerate() {
            match *e {
                EditOp::Copy { len: 0, .. } => {}
                EditOp::Copy { offset, len } => {
                    let end =
                        offset
                            .checked_add(len)
                            .ok_or(ScriptError::Overflow { op, offset, len })?;
                    let mut at = offset;
                    while at < end {
                        let want = (end - at).min(READ_PIECE);
                        let piece = read_at(at, want)?;
                        if piece.len() as u64 != want {
                            return Err(ScriptError::ShortRead {
                                op,
                                offset: at,
                                wanted: want,
                                got: piece.len() as u64,
                            });
                        }
                        out.write_all(&piece)?;
                        at += want;
                    }
                    written = written.saturating_add(len);
                }
                EditOp::Insert(ref data) => {
                    out.write_all(data)?;
                    written = written.saturating_add(data.len() as u64);
                }
            }
        }
        out.flush()?;
        Ok(written)
    }

    /// Bytes the script inserts (not taken from the original).
    pub fn inserted_bytes(&self) -> u64 {
        self.ops
            .iter()
            .map(|op| match op {
                EditOp::Insert(d) => d.len() as u64,
                EditOp::Copy { .. } => 0,
            })
            .fold(0u64, u64::saturating_add)
    }

    /// Bytes the script copies from the original.
    pub fn copied_bytes(&self) -> u64 {
        self.ops
            .iter()
            .map(|op| match op {
                EditOp::Copy { len, .. } => *len,
                EditOp::Insert(_) => 0,
            })
            .fold(0u64, u64::saturating_add)
    }

    /// Length of the result (saturating).
    pub fn output_len(&self) -> u64 {
        self.inserted_bytes().saturating_add(self.copied_bytes())
    }

    /// The same script in canonical form: no empty inserts or zero-length copies,
    /// adjacent inserts merged, and a copy that continues the previous copy's range
    /// merged into it. Applying it gives the same result.
    pub fn normalized(&self) -> Self {
        let mut b = OpBuilder::default();
        for op in &self.ops {
            match op {
                EditOp::Copy { offset, len } => b.copy(*offset, *len),
                EditOp::Insert(d) => b.insert(d),
            }
        }
        b.finish()
    }

    /// The text encoding of the normalized script (see the module documentation).
    pub fn encode(&self) -> String {
        let mut s = String::new();
        for op in self.normalized().ops {
            match op {
                EditOp::Copy { offset, len } => {
                    let _ = writeln!(s, "copy {offset} {len}");
                }
                EditOp::Insert(data) => {
                    for piece in data.chunks(INSERT_LINE_BYTES) {
                        s.push_str("insert ");
                        B64.encode_string(piece, &mut s);
                        s.push('\n');
                    }
                }
            }
        }
        s
    }

    /// Parses the text encoding, strictly: only what [`EditScript::encode`] writes
    /// (the final newline may be missing).
    pub fn parse(text: &str) -> Result<Self, ScriptError> {
        let err = |line: usize, reason: &'static str| ScriptError::Parse { line, reason };
        if text.is_empty() {
            return Ok(Self::default());
        }
        let body = text.strip_suffix('\n').unwrap_or(text);
        let mut ops: Vec<EditOp> = Vec::new();
        // Whether the last line was an insert line holding fewer than 48 bytes (which
        // must end its insert).
        let mut insert_open = false;
        for (i, line) in body.split('\n').enumerate() {
            let n = i + 1;
            if let Some(rest) = line.strip_prefix("copy ") {
                let (off, len) = rest
                    .split_once(' ')
                    .ok_or(err(n, "copy needs an offset and a length"))?;
                let offset = parse_decimal(off)
                    .ok_or(err(n, "bad copy offset (decimal, no leading zeros)"))?;
                let len = parse_decimal(len)
                    .ok_or(err(n, "bad copy length (decimal, no leading zeros)"))?;
                if len == 0 {
                    return Err(err(n, "copy of zero bytes"));
                }
                if offset.checked_add(len).is_none() {
                    return Err(err(n, "copy range overflows a 64-bit offset"));
                }
                if let Some(EditOp::Copy { offset: o, len: l }) = ops.last()
                    && o.checked_add(*l) == Some(offset)
                {
                    return Err(err(n, "copy continues the previous copy (not merged)"));
                }
                ops.push(EditOp::Copy { offset, len });
                insert_open = false;
            } else if let Some(rest) = line.strip_prefix("insert ") {
                let data = parse_base64(rest)
                    .ok_or(err(n, "bad insert data (canonical padded base64)"))?;
                if data.is_empty() {
                    return Err(err(n, "empty insert"));
                }
                if data.len() > INSERT_LINE_BYTES {
                    return Err(err(n, "insert line holds more than 48 bytes"));
                }
                match ops.last_mut() {
                    Some(EditOp::Insert(prev)) => {
                        if !insert_open {
                            return Err(err(
                                n,
                                "insert continues an insert line shorter than 48 bytes",
                            ));
                        }
                        prev.extend_from_slice(&data);
                    }
                    _ => ops.push(EditOp::Insert(data.clone())),
                }
                insert_open = data.len() == INSERT_LINE_BYTES;
            } else if line.is_empty() {
                return Err(err(n, "blank line"));
            } else {
                return Err(err(n, "unknown operation (expected `copy` or `insert`)"));
            }
        }
        Ok(Self { ops })
    }
}

/// End of a copy, checked against the original's length. A zero-length copy is a
/// no-op wherever it points.
fn copy_end(op: usize, offset: u64, len: u64, original_len: u64) -> Result<u64, ScriptError> {
    if len == 0 {
        return Ok(offset);
    }
    match offset.checked_add(len) {
        Some(end) if end <= original_len => Ok(end),
        _ => Err(ScriptError::CopyOutOfRange {
            op,
            offset,
            len,
            original_len,
        }),
    }
}

/// A decimal u64 without sign, spaces or leading zeros.
fn parse_decimal(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    s.parse().ok()
}

/// Standard padded base64 that re-encodes to exactly the same text.
fn parse_base64(s: &str) -> Option<Vec<u8>> {
    let data = B64.decode(s).ok()?;
    (B64.encode(&data) == s).then_some(data)
}

/// Builds a normalized op list: skips empty ops and merges neighbours.
#[derive(Debug, Default)]
pub(crate) struct OpBuilder {
    ops: Vec<EditOp>,
}

impl OpBuilder {
    pub(crate) fn copy(&mut self, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        if let Some(EditOp::Copy { offset: o, len: l }) = self.ops.last_mut()
            && o.checked_add(*l) == Some(offset)
            && l.checked_add(len).is_some()
        {
            *l += len;
            return;
        }
        self.ops.push(EditOp::Copy { offset, len });
    }

    pub(crate) fn insert(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Some(EditOp::Insert(d)) = self.ops.last_mut() {
            d.extend_from_slice(data);
            return;
        }
        self.ops.push(EditOp::Insert(data.to_vec()));
    }

    pub(crate) fn last_is_insert(&self) -> bool {
        matches!(self.ops.last(), Some(EditOp::Insert(_)))
    }

    pub(crate) fn finish(self) -> EditScript {
        EditScript { ops: self.ops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn script(ops: Vec<EditOp>) -> EditScript {
        EditScript { ops }
    }

    #[test]
    fn apply_copies_and_inserts() {
        let s = script(vec![
            EditOp::Copy { offset: 0, len: 5 },
            EditOp::Insert(b", dear".to_vec()),
            EditOp::Copy { offset: 5, len: 7 },
        ]);
        assert_eq!(s.apply(b"hello world!").unwrap(), b"hello, dear world!");
        assert_eq!(s.copied_bytes(), 12);
        assert_eq!(s.inserted_bytes(), 6);
    }

    #[test]
    fn apply_rejects_copy_past_end() {
        let s = script(vec![EditOp::Copy { offset: 3, len: 10 }]);
        let e = s.apply(b"short").unwrap_err();
        assert!(matches!(
            e,
            ScriptError::CopyOutOfRange {
                op: 0,
                offset: 3,
                len: 10,
                original_len: 5
            }
        ));
        let s = script(vec![EditOp::Copy {
            offset: u64::MAX,
            len: 2,
        }]);
        assert!(s.apply(b"x").is_err());
    }

    #[test]
    fn apply_with_streams_in_pieces() {
        let original: Vec<u8> = (0..3 * READ_PIECE + 17).map(|i| (i % 251) as u8).collect();
        let s = script(vec![
            EditOp::Insert(b"head".to_vec()),
            EditOp::Copy {
                offset: 5,
                len: original.len() as u64 - 5,
            },
            EditOp::Copy { offset: 0, len: 3 },
        ]);
        let mut calls = 0;
        let mut read = |off: u64, len: u64| -> io::Result<Vec<u8>> {
            calls += 1;
            assert!(len <= READ_PIECE);
            let start = (off as usize).min(original.len());
            let end = (off as usize + len as usize).min(original.len());
            Ok(original[start..end].to_vec())
        };
        let mut out = Vec::new();
        let n = s.apply_with(&mut read, &mut out).unwrap();
        assert_eq!(n, out.len() as u64);
        assert_eq!(out, s.apply(&original).unwrap());
        assert_eq!(calls, 5);
    }

    #[test]
    fn apply_with_reports_short_reads() {
        let s = script(vec![EditOp::Copy { offset: 2, len: 10 }]);
        let data = b"0123456789";
        let mut read = |off: u64, len: u64| -> io::Result<Vec<u8>> {
            let start = (off as usize).min(data.len());
            let end = (off as usize).saturating_add(len as usize).min(data.len());
            Ok(data[start..end].to_vec())
        };
        let e = s.apply_with(&mut read, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(
                e,
                ScriptError::ShortRead {
                    wanted: 10,
                    got: 8,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn encoding_is_line_per_op_with_48_byte_inserts() {
        let s = script(vec![
            EditOp::Copy {
                offset: 0,
                len: 1000,
            },
            EditOp::Insert(vec![b'x'; 100]),
            EditOp::Copy {
                offset: 1012,
                len: 19000,
            },
        ]);
        let text = s.encode();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], "copy 0 1000");
        assert_eq!(lines[1], format!("insert {}", B64.encode([b'x'; 48])));
        assert_eq!(lines[3], format!("insert {}", B64.encode([b'x'; 4])));
        assert_eq!(lines[4], "copy 1012 19000");
        assert_eq!(EditScript::parse(&text).unwrap(), s);
        assert_eq!(EditScript::parse("").unwrap(), EditScript::default());
    }

    #[test]
    fn parse_is_strict() {
        for bad in [
            "copy 00 10\n",                  // leading zero
            "copy 0 010\n",                  // leading zero
            "copy 1 0\n",                    // empty copy
            "copy -1 3\n",                   // sign
            "copy +1 3\n",                   // sign
            "copy 1  3\n",                   // double space
            "copy 1 3 \n",                   // trailing space
            "copy 1 3\r\n",                  // CR
            "copy 18446744073709551615 1\n", // overflow
            "copy 18446744073709551616 1\n", // too big
            "copy 0 5\ncopy 5 5\n",          // unmerged
            "copy 0 5\n\ncopy 9 1\n",        // blank line
            "insert \n",                     // empty insert
            "insert aGk\n",                  // missing padding
            "insert aGl=\n",                 // non-canonical trailing bits
            "insert aG k=\n",                // space inside
            "insert aGk=\ninsert aGk=\n",    // short line continued
            "delete 0 1\n",
            "COPY 0 1\n",
        ] {
            assert!(EditScript::parse(bad).is_err(), "accepted {bad:?}");
        }
        assert!(EditScript::parse("copy 5 5\ncopy 0 5\ninsert aGk=\ncopy 0 1\n").is_ok());
        // The final newline may be missing (a report section cut at a blank line).
        let s = EditScript::parse("copy 0 10\ninsert aGk=").unwrap();
        assert_eq!(s.encode(), "copy 0 10\ninsert aGk=\n");
        assert!(EditScript::parse("copy 0 10\n\n").is_err());
        assert!(EditScript::parse("\n").is_err());
    }

    #[test]
    fn normalized_merges_neighbours() {
        let s = script(vec![
            EditOp::Copy { offset: 0, len: 0 },
            EditOp::Insert(vec![]),
            EditOp::Copy { offset: 0, len: 4 },
            EditOp::Copy { offset: 4, len: 4 },
            EditOp::Insert(b"a".to_vec()),
            EditOp::Insert(b"b".to_vec()),
            EditOp::Copy { offset: 2, len: 1 },
        ]);
        assert_eq!(
            s.normalized().ops,
            vec![
                EditOp::Copy { offset: 0, len: 8 },
                EditOp::Insert(b"ab".to_vec()),
                EditOp::Copy { offset: 2, len: 1 },
            ]
        );
        assert_eq!(EditScript::parse(&s.encode()).unwrap(), s.normalized());
    }

    fn arb_op() -> impl Strategy<Value = EditOp> {
        prop_oneof![
            (any::<u64>(), any::<u64>()).prop_map(|(offset, len)| EditOp::Copy { offset, len }),
            (0u64..64, 0u64..64).prop_map(|(offset, len)| EditOp::Copy { offset, len }),
            proptest::collection::vec(any::<u8>(), 0..150).prop_map(EditOp::Insert),
        ]
    }

    /// Ops whose copy ranges fit in 64 bits (the only ones a text can hold).
    fn arb_encodable_op() -> impl Strategy<Value = EditOp> {
        arb_op().prop_map(|op| match op {
            EditOp::Copy { offset, len } => EditOp::Copy {
                offset,
                len: len.min(u64::MAX - offset),
            },
            op => op,
        })
    }

    proptest! {
        #[test]
        fn encode_parse_round_trips(ops in proptest::collection::vec(arb_encodable_op(), 0..12)) {
            let s = script(ops);
            let text = s.encode();
            let parsed = EditScript::parse(&text).unwrap();
            prop_assert_eq!(&parsed, &s.normalized());
            prop_assert_eq!(parsed.encode(), text);
        }

        #[test]
        fn normalized_scripts_round_trip_exactly(ops in proptest::collection::vec(arb_encodable_op(), 0..12)) {
            let s = script(ops).normalized();
            prop_assert_eq!(EditScript::parse(&s.encode()).unwrap(), s);
        }

        #[test]
        fn apply_never_panics(
            ops in proptest::collection::vec(arb_op(), 0..12),
            original in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let s = script(ops);
            let direct = s.apply(&original);
            let mut read = |off: u64, len: u64| -> io::Result<Vec<u8>> {
                let start = usize::try_from(off).unwrap_or(usize::MAX).min(original.len());
                let end = usize::try_from(off.saturating_add(len)).unwrap_or(usize::MAX).min(original.len());
                Ok(original[start..end.max(start)].to_vec())
            };
            let mut out = Vec::new();
            let streamed = s.apply_with(&mut read, &mut out);
            match direct {
                Ok(v) => {
                    prop_assert_eq!(streamed.unwrap(), v.len() as u64);
                    prop_assert_eq!(out, v);
                    prop_assert_eq!(s.normalized().apply(&original).unwrap(), s.apply(&original).unwrap());
                }
                Err(_) => prop_assert!(streamed.is_err()),
            }
        }

        #[test]
        fn parse_never_panics(text in "(copy [0-9 ]{0,12}|insert [A-Za-z0-9+/=]{0,70}|[a-z0-9 =\r]{0,10})(\n(copy [0-9 ]{0,12}|insert [A-Za-z0-9+/=]{0,70}))*\n?") {
            if let Ok(s) = EditScript::parse(&text) {
                let e = s.encode();
                let with_newline = format!("{}\n", text);
                prop_assert!(e == text || e == with_newline);
            }
        }

        #[test]
        fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(s) = EditScript::parse(&text) {
                let e = s.encode();
                let with_newline = format!("{}\n", text);
                prop_assert!(e == text || e == with_newline);
            }
        }
    }
}
