//! `key generate`, `head sign` and `head verify`: release heads as signed C2SP
//! checkpoints.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::manifest::checkpoint::CheckpointNote;
use crate::manifest::note::{Note, SignerKey, VerifierKey};
use crate::ops::prove::release_checkpoint;
use crate::store::Store;
use crate::store::format::SIGNED_HEADS;

#[derive(Debug, Clone, Serialize)]
pub struct KeyReport {
    pub name: String,
    pub key_file: String,
    /// The public verifier key, in signed-note vkey format: give this to verifiers.
    pub vkey: String,
}

/// Key files are one short line; anything longer is not a key.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Writes a new signer key to `path` (mode 0600, never overwriting).
pub fn generate_key(name: &str, path: &Path) -> Result<KeyReport> {
    let key = SignerKey::generate(name).map_err(|e| Error::Invalid(e.to_string()))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .ctx(path, "create key file")?;
    writeln!(f, "{}", key.encode()).ctx(path, "write key file")?;
    f.sync_all().ctx(path, "write key file")?;
    Ok(KeyReport {
        name: name.to_string(),
        key_file: path.display().to_string(),
        vkey: key.verifier().encode(),
    })
}

/// Reads a signer key file, refusing one that others can read.
pub fn load_signer(path: &Path) -> Result<SignerKey> {
    let meta = std::fs::metadata(path).ctx(path, "open key file")?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::Invalid(format!(
            "{}: key file is readable by other users (mode {:o}); run chmod 600 on it",
            path.display(),
            meta.permissions().mode() & 0o777
        )));
    }
    let text = super::read_small_text(
        path,
        MAX_KEY_FILE_BYTES,
        "read key file",
        "not a signer key file (too large)",
    )?;
    SignerKey::parse(&text).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

/// A verifier key given inline or as a file holding one.
pub fn load_verifier(arg: &str) -> Result<VerifierKey> {
    if let Ok(k) = VerifierKey::parse(arg) {
        return Ok(k);
    }
    let p = Path::new(arg);
    let text = super::read_small_text(
        p,
        MAX_KEY_FILE_BYTES,
        "read verifier key",
        "not a verifier key file (too large)",
    )?;
    VerifierKey::parse(&text).map_err(|e| Error::Invalid(format!("{arg}: {e}")))
}

#[derive(Debug, Clone, Serialize)]
pub struct SignReport {
    pub release: String,
    pub origin: String,
    pub signed_by: String,
    /// Every signature the stored head now carries.
    pub signatures: Vec<String>,
    pub note: String,
}

/// Signs the release's head and keeps the signed note in the store, so later proofs
/// and manifests carry it. Signing again with another key adds a co-signature.
pub fn sign_head(
    store: &Store,
    release: &str,
    key: &SignerKey,
    origin: Option<&str>,
) -> Result<SignReport> {
    let snap = store.snapshot()?;
    let rel = snap.release(release)?;
    let existing = match snap.signed_heads.get(release)? {
        Some(v) => std::str::from_utf8(v.value())
            .ok()
            .and_then(|t| CheckpointNote::parse(t).ok()),
        None => None,
    };
    let origin = origin
        .map(str::to_string)
        .or_else(|| existing.as_ref().map(|e| e.checkpoint.origin.clone()));
    let cp = release_checkpoint(&snap, &rel, origin.as_deref())?;
    drop(snap);
    let body = cp.body();
    let mut note = match existing {
        Some(e) if e.note.text == body => e.note,
        _ => Note::unsigned(&body).map_err(|e| Error::Invalid(e.to_string()))?,
    };
    note.sign(key);
    let text = note.encode();
    let txn = store.begin_write()?;
    txn.open_table(SIGNED_HEADS)?
        .insert(release, text.as_bytes())?;
    txn.commit()?;
    Ok(SignReport {
        release: release.to_string(),
        origin: cp.origin,
        signed_by: key.name().to_string(),
        signatures: note.signatures.iter().map(|s| s.name.clone()).collect(),
        note: text,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct HeadReport {
    pub release: String,
    pub origin: String,
    pub entries: u64,
    pub root: String,
    pub parent: Option<String>,
    pub signed_by: Vec<String>,
    pub statement: String,
}

/// Checks a signed head file against a verifier key, with no store.
pub fn verify_head(text: &str, keys: &[VerifierKey]) -> Result<HeadReport> {
    let cp = CheckpointNote::parse(text).map_err(|e| Error::Invalid(format!("head: {e}")))?;
    let signed_by = cp
        .note
        .verify(keys)
        .map_err(|e| Error::Invalid(format!("head: {e}")))?;
    let c = cp.checkpoint;
    let root = hex::encode(c.root);
    Ok(HeadReport {
        statement: format!(
            "release {} has {} entries and root {root}, signed by {}",
            c.release,
            c.size,
            signed_by.join(", ")
        ),
        release: c.release,
        origin: c.origin,
        entries: c.size,
        root,
        parent: c.parent.map(|(n, _)| n),
        signed_by,
    })
}
