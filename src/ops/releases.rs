//! `releases`: every committed release, and ingests that have not finished.

use serde::Serialize;

use crate::error::Result;
use crate::paths::escape_bytes;
use crate::store::format::ReleaseCounts;
use crate::store::{Release, Store};
use crate::timefmt::rfc3339;

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseInfo {
    pub name: String,
    pub id: u32,
    pub created: String,
    pub parent: Option<String>,
    pub source: String,
    /// Merkle root of the release's manifest, hex.
    pub root: String,
    /// Leaves in the manifest (one per entry).
    pub entries: u64,
    /// Position of the release's head in the release log.
    pub log_index: u64,
    #[serde(flatten)]
    pub counts: ReleaseCounts,
}

impl From<&Release> for ReleaseInfo {
    fn from(r: &Release) -> Self {
        Self {
            name: r.name.clone(),
            id: r.record.id,
            created: rfc3339(r.record.created_ns),
            parent: r.record.parent.clone(),
            source: escape_bytes(&r.record.source),
            root: hex::encode(r.record.root),
            entries: r.record.entries(),
            log_index: r.record.log_index,
            counts: r.record.counts,
        }
    }
}

/// An ingest that was interrupted; rerunning the same command finishes it.
#[derive(Debug, Clone, Serialize)]
pub struct PendingInfo {
    pub name: String,
    pub started: String,
    pub source: String,
    pub chunks_stored: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleasesReport {
    pub releases: Vec<ReleaseInfo>,
    pub unfinished: Vec<PendingInfo>,
}

pub fn releases(store: &Store) -> Result<ReleasesReport> {
    let snap = store.snapshot()?;
    let releases = snap.releases()?.iter().map(ReleaseInfo::from).collect();
    let unfinished = snap
        .pending_ingests()?
        .into_iter()
        .map(|(name, r)| PendingInfo {
            name,
            started: rfc3339(r.started_ns),
            source: escape_bytes(&r.source),
            chunks_stored: r.new_chunks,
        })
        .collect();
    Ok(ReleasesReport {
        releases,
        unfinished,
    })
}
