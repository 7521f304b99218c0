//! Converts a store of an older format version to this build's, in place and in one
//! transaction: stopped part-way (a kill, a full disk), the store is as it was.
//!
//! Version 1 → 2: `entries` went from one row per entry to entry blocks
//! (docs/FORMAT.md). The old rows have the staging format, so they are moved to
//! `staged_entries` and packed back by the code an ingest's final commit runs.
//!
//! Version 2 → 3: the similarity tables' keys were shortened and made fixed-width.
//! Each old key holds the new one's parts in full, so every row is cut down where
//! it is; no content is read or sketched again. Then tables with much slack are
//! packed (store/repack.rs).

use std::path::Path;

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;

use super::format::*;
use super::repack::{Repacked, repack_slack, replace_table};
use super::similar;
use super::{
    Packing, builder, check_exists, map_open_error, move_staged, read_meta_any, release_in_txn,
};
use crate::error::{Error, Result};

/// Format versions this build converts from.
pub fn can_upgrade(version: u32) -> bool {
    (1..FORMAT_VERSION).contains(&version)
}

/// The similarity tables as versions 1 and 2 keyed them (variable-width keys,
/// empty values): chunk id (32) ‖ blob id prefix (16); fingerprint (16) ‖ blob id
/// prefix (16); band (1) ‖ band key (8) ‖ blob id prefix (16).
const V2_CHUNK_REFS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chunk_refs");
const V2_PREFIXES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("prefixes");
const V2_SKETCH_BANDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sketch_bands");

/// What an upgrade did.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeReport {
    pub from: u32,
    pub to: u32,
    /// Entries rewritten, and the `entries` rows holding them now.
    pub entries: u64,
    pub entry_rows_before: u64,
    pub entry_rows_after: u64,
    /// Similarity-index rows rewritten with shorter keys (version 2 → 3).
    pub index_rows: u64,
    /// Tables packed afterwards.
    pub repacked: Vec<Repacked>,
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
        index_rows: 0,
        repacked: Vec::new(),
    };
    if from == FORMAT_VERSION {
        return Ok(report);
    }
    let mut txn = db.begin_write()?;
    txn.set_quick_repair(true);
    if from < 2 {
        entry_blocks(&txn, &mut report)?;
    }
    if from < 3 {
        report.index_rows = shorten_index_keys(&txn)?;
    }
    report.repacked = repack_slack(&txn, None)?;
    txn.open_table(META)?
        .insert(meta_key::FORMAT_VERSION, &FORMAT_VERSION.to_le_bytes()[..])?;
    txn.commit()?;
    Ok(report)
}

/// Version 1 → 2.
fn entry_blocks(txn: &redb::WriteTransaction, report: &mut UpgradeReport) -> Result<()> {
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
            let rec = release_in_txn(txn, &name)?
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
    }
    Ok(())
}

/// Version 2 → 3: the similarity tables' rows, cut down to the new keys. Returns
/// the rows read.
fn shorten_index_keys(txn: &redb::WriteTransaction) -> Result<u64> {
    use similar::{BLOB_PREFIX_LEN as B, CHUNK_PREFIX_LEN, FINGERPRINT_LEN};
    let mut rows = shorten(
        txn,
        V2_CHUNK_REFS,
        similar::CHUNK_REFS,
        "chunk_refs.v3",
        &[(0, CHUNK_PREFIX_LEN), (32, B)],
        48,
    )?;
    rows += shorten(
        txn,
        V2_PREFIXES,
        similar::PREFIXES,
        "prefixes.v3",
        &[(0, FINGERPRINT_LEN), (16, B)],
        32,
    )?;
    rows += shorten(
        txn,
        V2_SKETCH_BANDS,
        similar::SKETCH_BAND_ROWS,
        "sketch_bands.v3",
        &[(0, 1 + similar::BAND_KEY_LEN), (9, B)],
        25,
    )?;
    Ok(rows)
}

/// Rewrites table `old` as `new`, each new key the concatenation of the `parts`
/// (offset, length) of the old key, which must be `old_len` bytes long. Rows whose
/// new keys coincide become one.
fn shorten<const N: usize>(
    txn: &redb::WriteTransaction,
    old: TableDefinition<&[u8], &[u8]>,
    new: TableDefinition<&[u8; N], ()>,
    scratch: &'static str,
    parts: &[(usize, usize)],
    old_len: usize,
) -> Result<u64> {
    debug_assert_eq!(parts.iter().map(|p| p.1).sum::<usize>(), N);
    replace_table(txn, old, new, scratch, |table, copy| {
        let mut rows = 0;
        for row in table.iter()? {
            let (k, _) = row?;
            let k = k.value();
            if k.len() != old_len {
                return Err(Error::Damaged(format!(
                    "a row of {} has a {}-byte key, not {old_len}; run `custody fsck` with the custody that made the store",
                    redb::TableHandle::name(&old),
                    k.len()
                )));
            }
            let mut key = [0u8; N];
            let mut at = 0;
            for &(from, len) in parts {
                key[at..at + len].copy_from_slice(&k[from..from + len]);
                at += len;
            }
            copy.insert(&key, ())?;
            rows += 1;
        }
        Ok(rows)
    })
}
