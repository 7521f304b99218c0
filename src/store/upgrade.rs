//! Converts a store of an older format version to this build's, in place and in one
//! transaction: stopped part-way (a kill, a full disk), the store is as it was.
//!
//! Version 1 → 2: `entries` went from one row per entry to entry blocks
//! (docs/FORMAT.md). The old rows have the staging format, so they are moved to
//! `staged_entries` and packed back by the code an ingest's final commit runs.

use std::path::Path;

use redb::{ReadableTable, ReadableTableMetadata};
use serde::Serialize;

use super::format::*;
use super::{
    Packing, builder, check_exists, map_open_error, move_staged, read_meta_any, release_in_txn,
};
use crate::error::{Error, Result};

/// Format versions this build converts from.
pub fn can_upgrade(version: u32) -> bool {
    version == 1
}

/// What an upgrade did.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeReport {
    pub from: u32,
    pub to: u32,
    /// Entries rewritten, and the `entries` rows holding them now.
    pub entries: u64,
    pub entry_rows_before: u64,
    pub entry_rows_after: u64,
}

/// Upgrades the store at `path` to [`FORMAT_VERSION`]; a store already at it is left
/// untouched (`from == to`).
pub fn upgrade(path: &Path) -> Result<UpgradeReport> {
    check_exists(path)?;
    let db = builder().open(path).map_err(|e| map_open_error(path, e))?;
    let from = read_meta_any(path, &db)?.format_version;
    let mut report = UpgradeReport {
        from,
        to: FORMAT_VERSION,
        entries: 0,
        entry_rows_before: 0,
        entry_rows_after: 0,
    };
    if from == FORMAT_VERSION {
        return Ok(report);
    }
    let mut txn = db.begin_write()?;
    txn.set_quick_repair(true);
    {
        let mut entries = txn.open_table(ENTRIES)?;
        let mut staged = txn.open_table(STAGED_ENTRIES)?;
        report.entry_rows_before = entries.len()?;
        // Version 1 rows are keyed and encoded as staged rows are, and come in key
        // order, so staging them is one ascending run.
        for row in entries.iter()? {
            let (k, v) = row?;
            staged.insert(k.value(), v.value())?;
        }
        entries.retain(|_, _| false)?;
        let releases = txn.open_table(RELEASES)?;
        let mut names = Vec::new();
        for row in releases.iter()? {
            names.push(row?.0.value().to_string());
        }
        drop(releases);
        for name in names {
            let rec = release_in_txn(&txn, &name)?
                .ok_or_else(|| Error::Damaged(format!("release {name:?} vanished")))?;
            let moved = move_staged(&mut staged, &mut entries, rec.id, Packing::EntryBlocks)?;
            if moved != rec.entries() {
                return Err(Error::Damaged(format!(
                    "release {name:?} has {} entries but its record counts {}; run `custody fsck` with the custody that made the store",
                    moved,
                    rec.entries()
                )));
            }
            report.entries += moved;
        }
        // Rows of ingests that never committed stay staged, where this version
        // keeps them and the next ingest of that name removes them.
        report.entry_rows_after = entries.len()?;
        txn.open_table(STAGED_CONTENT)?;
        txn.open_table(META)?
            .insert(meta_key::FORMAT_VERSION, &FORMAT_VERSION.to_le_bytes()[..])?;
    }
    txn.commit()?;
    Ok(report)
}
