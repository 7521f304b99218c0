//! Content identifiers: BLAKE3 hashes wrapped in newtypes so a chunk id can never be
//! passed where a blob id is meant. All of them print as 64 lower-case hex digits, the
//! form `b3sum` prints.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length in bytes of every hash custody stores.
pub const HASH_LEN: usize = 32;

/// Error parsing a hex hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a 64-digit hex BLAKE3 hash: {0:?}")]
pub struct ParseHashError(pub String);

fn parse_hex32(s: &str) -> Result<[u8; HASH_LEN], ParseHashError> {
    let t = s.strip_prefix("b3:").unwrap_or(s);
    let mut out = [0u8; HASH_LEN];
    if t.len() != 2 * HASH_LEN {
        return Err(ParseHashError(s.to_string()));
    }
    hex::decode_to_slice(t, &mut out).map_err(|_| ParseHashError(s.to_string()))?;
    Ok(out)
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; HASH_LEN]);

        impl $name {
            /// The id as raw bytes.
            pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
                &self.0
            }

            /// Reads an id from a 32-byte slice; `None` when the length is wrong.
            pub fn from_slice(b: &[u8]) -> Option<Self> {
                <[u8; HASH_LEN]>::try_from(b).ok().map(Self)
            }

            /// Lower-case hex, 64 digits.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// The first 12 hex digits, for human output.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..6])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex32(s).map(Self)
            }
        }

        impl From<blake3::Hash> for $name {
            fn from(h: blake3::Hash) -> Self {
                Self(*h.as_bytes())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_id!(
    /// BLAKE3 of a chunk's uncompressed bytes.
    ChunkId
);
hash_id!(
    /// BLAKE3 of a whole file's content: exactly what `b3sum` prints for the file.
    BlobId
);

impl BlobId {
    /// The id of the empty content.
    pub fn empty() -> Self {
        Self::from(blake3::hash(b""))
    }

    /// A blob that is exactly one chunk has the same bytes, hence the same hash.
    pub fn as_chunk(&self) -> ChunkId {
        ChunkId(self.0)
    }
}

impl ChunkId {
    /// Hash of a chunk's bytes.
    pub fn of(data: &[u8]) -> Self {
        Self::from(blake3::hash(data))
    }

    /// A chunk that is a whole file is also that file's blob id.
    pub fn as_blob(&self) -> BlobId {
        BlobId(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_prefix() {
        let id = BlobId::from(blake3::hash(b"abc"));
        let hex = id.to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex.parse::<BlobId>().unwrap(), id);
        assert_eq!(format!("b3:{hex}").parse::<BlobId>().unwrap(), id);
        assert!("zz".parse::<BlobId>().is_err());
        assert!(hex[..63].parse::<BlobId>().is_err());
    }

    #[test]
    fn empty_blob_is_b3sum_of_nothing() {
        assert_eq!(
            BlobId::empty().to_string(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}
