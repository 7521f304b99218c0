//! Little-endian byte encoding used by every on-disk record (docs/FORMAT.md).
//!
//! One writer and one reader so that no module scatters `to_le_bytes` calls: a record's
//! encoder and decoder read like its table in the spec.

use crate::id::HASH_LEN;

/// A record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record ends early: needed {needed} more bytes at offset {at}")]
    Truncated { at: usize, needed: usize },
    #[error("record has {0} trailing bytes")]
    Trailing(usize),
    #[error("unknown {what} {value}")]
    Unknown { what: &'static str, value: u64 },
    #[error("invalid record: {0}")]
    Invalid(&'static str),
}

/// Appends little-endian fields to a buffer.
#[derive(Default)]
pub struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: Vec::with_capacity(n),
        }
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn hash(&mut self, h: &[u8; HASH_LEN]) -> &mut Self {
        self.buf.extend_from_slice(h);
        self
    }

    /// An unsigned LEB128 varint: seven bits per byte, low bits first, the high bit
    /// set on every byte but the last; the shortest such form.
    pub fn varint(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.buf.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
        self
    }

    /// Raw bytes with no length prefix.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// A u32 length, then the bytes.
    pub fn bytes32(&mut self, b: &[u8]) -> &mut Self {
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(&b[..len as usize]);
        self
    }

    /// A u16 length, then the bytes (for short fields such as names).
    pub fn bytes16(&mut self, b: &[u8]) -> &mut Self {
        let len = u16::try_from(b.len()).unwrap_or(u16::MAX);
        self.u16(len);
        self.buf.extend_from_slice(&b[..len as usize]);
        self
    }

    /// Drops everything after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }
}

/// Reads little-endian fields from a slice, failing on short input.
pub struct Dec<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Dec<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Self { b, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let rest = self.b.len() - self.at;
        if rest < n {
            return Err(DecodeError::Truncated {
                at: self.at,
                needed: n - rest,
            });
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub fn hash(&mut self) -> Result<[u8; HASH_LEN], DecodeError> {
        self.array()
    }

    pub fn raw(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.take(n)
    }

    /// A varint as [`Enc::varint`] writes it. A longer form of the same number (a
    /// last byte of zero) or one past 64 bits is refused, so each number has one
    /// encoding.
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(DecodeError::Invalid("varint longer than 64 bits"));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(DecodeError::Invalid("varint not in its shortest form"));
                }
                return Ok(v);
            }
        }
        Err(DecodeError::Invalid("varint longer than 64 bits"))
    }

    /// A varint that must fit in a u32.
    pub fn varint32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint()?).map_err(|_| DecodeError::Invalid("varint exceeds 32 bits"))
    }

    /// A varint that must fit in a usize (lengths).
    pub fn varint_len(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(self.varint()?).map_err(|_| DecodeError::Invalid("length exceeds memory"))
    }

    pub fn bytes32(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub fn bytes16(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    pub fn remaining(&self) -> usize {
        self.b.len() - self.at
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.b[self.at..];
        self.at = self.b.len();
        s
    }

    /// Fails unless every byte was consumed.
    pub fn end(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fields_round_trip(a: u8, b: u32, c: u64, d: i64, s in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut e = Enc::new();
            e.u8(a).u32(b).u64(c).i64(d).bytes32(&s).bytes16(&s);
            let buf = e.finish();
            let mut r = Dec::new(&buf);
            prop_assert_eq!(r.u8().unwrap(), a);
            prop_assert_eq!(r.u32().unwrap(), b);
            prop_assert_eq!(r.u64().unwrap(), c);
            prop_assert_eq!(r.i64().unwrap(), d);
            prop_assert_eq!(r.bytes32().unwrap(), &s[..]);
            prop_assert_eq!(r.bytes16().unwrap(), &s[..]);
            prop_assert!(r.end().is_ok());
        }

        #[test]
        fn varints_round_trip_and_have_one_form(v: u64, b in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut enc = Enc::new();
            enc.varint(v);
            let enc = enc.finish();
            let mut r = Dec::new(&enc);
            prop_assert_eq!(r.varint().unwrap(), v);
            prop_assert!(r.end().is_ok());
            let mut r = Dec::new(&b);
            if let Ok(x) = r.varint() {
                let used = b.len() - r.remaining();
                let mut again = Enc::new();
                again.varint(x);
                prop_assert_eq!(again.as_slice(), &b[..used]);
            }
        }

        #[test]
        fn short_input_is_an_error(buf in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut r = Dec::new(&buf);
            let _ = r.u64().and_then(|_| r.bytes32().map(|_| ()));
        }
    }
}
