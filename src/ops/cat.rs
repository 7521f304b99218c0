//! `cat RELEASE PATH`: a file's bytes, each chunk verified before it is written.

use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::ops::ls::parse_user_path;
use crate::store::Store;

#[derive(Debug, Clone, Serialize)]
pub struct CatReport {
    pub blob: BlobId,
    pub bytes: u64,
}

pub fn cat(store: &Store, release: &str, path: &str, out: &mut dyn Write) -> Result<CatReport> {
    let snap = store.snapshot()?;
    let rel = snap.release(release)?;
    let p = parse_user_path(Some(path))?;
    let e = snap
        .entry(rel.id(), p.as_bytes())?
        .ok_or_else(|| Error::PathNotFound {
            release: release.to_string(),
            path: p.to_string(),
        })?;
    let blob = e.blob().ok_or_else(|| Error::NotAFile {
        release: release.to_string(),
        path: p.to_string(),
    })?;
    let mut bytes = 0u64;
    snap.read_blob(&blob, &p.to_string(), |data| {
        bytes += data.len() as u64;
        out.write_all(data)
            .map_err(|e| Error::io("standard output", "write", e))
    })?;
    Ok(CatReport { blob, bytes })
}
