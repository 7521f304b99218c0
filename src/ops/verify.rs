//! `verify-proof`: checks a proof or an exported manifest with no store, optionally
//! against a claimed file, anchored by a verifier key or a trusted root.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::manifest::export::{MANIFEST_HEADER, VerifiedManifest, verify_manifest};
use crate::manifest::proof::{Anchor, MAX_PROOF_BYTES, Proof, Trust, Verified, verify};
use crate::ops::hash::hash_file;

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Proof(Verified),
    Manifest(VerifiedManifest),
}

impl Outcome {
    pub fn statement(&self) -> &str {
        match self {
            Outcome::Proof(v) => &v.statement,
            Outcome::Manifest(m) => &m.statement,
        }
    }

    /// True when a trusted key or root vouches for what was proven.
    pub fn anchored(&self) -> bool {
        let t = match self {
            Outcome::Proof(v) => &v.trust,
            Outcome::Manifest(m) => &m.trust,
        };
        *t != Trust::Unanchored
    }
}

/// Parses a root given as 64 hex digits or base64.
pub fn parse_root(s: &str) -> Result<[u8; 32]> {
    use base64::Engine;
    let t = s.trim();
    let mut out = [0u8; 32];
    if t.len() == 64 && hex::decode_to_slice(t, &mut out).is_ok() {
        return Ok(out);
    }
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "--root {s:?} is not a 32-byte hash in hex or base64"
            ))
        })
}

pub fn verify_file(path: &Path, anchor: &Anchor, claim: Option<&Path>) -> Result<Outcome> {
    let claim_hash = claim.map(hash_file).transpose()?.map(|b| b.0);
    let f = File::open(path).ctx(path, "open proof")?;
    let mut r = BufReader::new(f);
    let is_manifest = {
        let buf = r.fill_buf().ctx(path, "read proof")?;
        buf.starts_with(MANIFEST_HEADER.as_bytes())
    };
    let fail =
        |e: crate::manifest::proof::VerifyError| Error::Invalid(format!("{}: {e}", path.display()));
    if is_manifest {
        return Ok(Outcome::Manifest(
            verify_manifest(r, anchor, claim_hash).map_err(fail)?,
        ));
    }
    let mut bytes = Vec::new();
    r.take(MAX_PROOF_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .ctx(path, "read proof")?;
    if bytes.len() > MAX_PROOF_BYTES {
        return Err(fail(crate::manifest::proof::VerifyError::TooLarge));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Invalid(format!("{}: proof is not UTF-8 text", path.display())))?;
    let proof = Proof::parse(&text).map_err(fail)?;
    Ok(Outcome::Proof(
        verify(&proof, anchor, claim_hash).map_err(fail)?,
    ))
}
