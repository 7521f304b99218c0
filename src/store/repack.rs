//! Rewrites content-keyed tables whose pages random inserts have left part-empty.
//!
//! `blobs`, `chunks` and the similarity tables are keyed by hashes, so an ingest
//! inserts all over them, and a B-tree filled that way settles with its pages about
//! 69% full: a third of those tables is slack. Tables keyed by release (`entries`,
//! `by_content`) are appended in key order and packed as they are written. A table
//! copied in key order into a fresh one is packed too, so after an ingest that left
//! much slack (the first ingest into a store does: every row is new), each such table
//! is copied and the copy takes its name, in one transaction.
//!
//! A packed table splits its pages when the next ingest inserts into them: 1% more
//! rows, spread at random, split most pages of a packed table, and the slack is back.
//! Copying costs time in proportion to the table (8.9 s for 262 MiB of these tables
//! at a million files), so a table is looked at only when the ingest grew it by at
//! least 10% of its rows: the copies then cost at most ten row copies per row
//! added, like a vector that doubles. Between copies the slack returns to the
//! 30–50% of a randomly filled tree.

use redb::{
    Key, ReadableTable, ReadableTableMetadata, Table, TableDefinition, TableHandle, Value,
    WriteTransaction,
};
use serde::Serialize;

use super::format::{BLOBS, CHUNKS};
use super::similar::{CHUNK_REFS, PREFIXES, SKETCH_BAND_ROWS};
use crate::error::Result;

/// A table is rewritten when at least this share of its bytes is slack…
const MIN_SLACK_PERCENT: u64 = 20;
/// …and the slack is at least this many bytes (below it a copy saves nothing worth
/// the writes).
const MIN_SLACK_BYTES: u64 = 64 << 10;
/// A table is looked at only when it grew by this share of its rows since the
/// counts given (measuring its slack walks its pages).
const MIN_GROWTH_PERMILLE: u64 = 100;

/// Row counts of the tables [`repack_slack`] may rewrite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub blobs: u64,
    pub chunks: u64,
    pub chunk_refs: u64,
    pub prefixes: u64,
    pub sketch_bands: u64,
}

impl RowCounts {
    /// The counts now (each is kept in its table's header: no walk).
    pub fn of(snap: &super::Snapshot) -> Result<Self> {
        Ok(Self {
            blobs: snap.blobs.len()?,
            chunks: snap.chunks.len()?,
            chunk_refs: snap.chunk_refs.len()?,
            prefixes: snap.prefixes.len()?,
            sketch_bands: snap.sketch_bands.len()?,
        })
    }
}

/// A table that was rewritten: its bytes before and after.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Repacked {
    pub table: String,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Rewrites each content-keyed table whose slack passes the thresholds; with
/// `since`, only among the tables that grew enough since those counts.
pub fn repack_slack(txn: &WriteTransaction, since: Option<RowCounts>) -> Result<Vec<Repacked>> {
    let before = |pick: fn(&RowCounts) -> u64| since.as_ref().map(pick);
    let mut out = Vec::new();
    out.extend(repack(txn, BLOBS, "blobs.repack", before(|c| c.blobs))?);
    out.extend(repack(txn, CHUNKS, "chunks.repack", before(|c| c.chunks))?);
    out.extend(repack(
        txn,
        CHUNK_REFS,
        "chunk_refs.repack",
        before(|c| c.chunk_refs),
    )?);
    out.extend(repack(
        txn,
        PREFIXES,
        "prefixes.repack",
        before(|c| c.prefixes),
    )?);
    out.extend(repack(
        txn,
        SKETCH_BAND_ROWS,
        "sketch_bands.repack",
        before(|c| c.sketch_bands),
    )?);
    Ok(out)
}

/// Whether a table of `now` rows, which had `before`, grew enough to be looked at.
fn grew_enough(before: Option<u64>, now: u64) -> bool {
    match before {
        None => true,
        Some(b) => now > b && (now - b) * 1000 >= b * MIN_GROWTH_PERMILLE,
    }
}

/// Replaces table `old` with a table of `new`'s types under the same name, filled
/// by `fill` from the old one, in `txn`: the copy is built under `scratch`, then the
/// old table is deleted and the copy renamed. Uncommitted, none of it happened.
pub(crate) fn replace_table<KO, VO, KN, VN, R>(
    txn: &WriteTransaction,
    old: TableDefinition<KO, VO>,
    new: TableDefinition<KN, VN>,
    scratch: &'static str,
    fill: impl FnOnce(&Table<KO, VO>, &mut Table<KN, VN>) -> Result<R>,
) -> Result<R>
where
    KO: Key + 'static,
    VO: Value + 'static,
    KN: Key + 'static,
    VN: Value + 'static,
{
    let copy_def: TableDefinition<KN, VN> = TableDefinition::new(scratch);
    // A scratch table left by anything is not ours to keep.
    txn.delete_table(copy_def)?;
    let out = {
        let table = txn.open_table(old)?;
        let mut copy = txn.open_table(copy_def)?;
        fill(&table, &mut copy)?
    };
    txn.delete_table(old)?;
    txn.rename_table(copy_def, new)?;
    Ok(out)
}

/// Bytes a table's pages take, and how many of them are slack.
fn footprint(t: &impl ReadableTableMetadata) -> Result<(u64, u64)> {
    let st = t.stats()?;
    let slack = st.fragmented_bytes();
    Ok((st.stored_bytes() + st.metadata_bytes() + slack, slack))
}

fn repack<K: Key + 'static, V: Value + 'static>(
    txn: &WriteTransaction,
    def: TableDefinition<K, V>,
    scratch: &'static str,
    rows_before: Option<u64>,
) -> Result<Option<Repacked>> {
    let (before, slack) = {
        let table = txn.open_table(def)?;
        if !grew_enough(rows_before, table.len()?) {
            return Ok(None);
        }
        footprint(&table)?
    };
    if slack < MIN_SLACK_BYTES || slack * 100 < before * MIN_SLACK_PERCENT {
        return Ok(None);
    }
    let after = replace_table(txn, def, def, scratch, |table, copy| {
        // Ascending inserts into an empty table fill each page before starting the
        // next (redb's append path).
        for row in table.iter()? {
            let (k, v) = row?;
            copy.insert(k.value(), v.value())?;
        }
        Ok(footprint(copy)?.0)
    })?;
    Ok(Some(Repacked {
        table: def.name().to_string(),
        bytes_before: before,
        bytes_after: after,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Random inserts leave slack; the rewrite removes it and keeps every row.
    #[test]
    fn a_table_filled_at_random_is_packed_with_every_row_kept() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::init(
            &t.path().join("s.redb"),
            crate::chunking::ChunkParams::default(),
            1,
        )
        .unwrap();
        let rows: Vec<[u8; 16]> = (0u64..200_000)
            .map(|i| {
                let h = blake3::hash(&i.to_le_bytes());
                h.as_bytes()[..16].try_into().unwrap()
            })
            .collect();
        let txn = store.begin_write().unwrap();
        {
            let mut t = txn.open_table(PREFIXES).unwrap();
            for r in &rows {
                t.insert(r, ()).unwrap();
            }
        }
        txn.commit().unwrap();

        let txn = store.begin_write().unwrap();
        let (before, slack) = footprint(&txn.open_table(PREFIXES).unwrap()).unwrap();
        assert!(
            slack * 100 >= before * MIN_SLACK_PERCENT,
            "{slack} of {before}"
        );
        // Counts from before the inserts: prefixes grew, the others did not.
        let grown = RowCounts::default();
        let unchanged = RowCounts {
            prefixes: 200_000,
            ..RowCounts::default()
        };
        assert!(repack_slack(&txn, Some(unchanged)).unwrap().is_empty());
        let done = repack_slack(&txn, Some(grown)).unwrap();
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0].table, "prefixes");
        assert!(
            done[0].bytes_after * 100 < done[0].bytes_before * 80,
            "{done:?}"
        );
        txn.commit().unwrap();

        let txn = store.begin_write().unwrap();
        let t = txn.open_table(PREFIXES).unwrap();
        let (total, slack) = footprint(&t).unwrap();
        assert!(slack * 100 < total * 5, "{slack} of {total}");
        let mut want = rows.clone();
        want.sort();
        let got: Vec<[u8; 16]> = t.iter().unwrap().map(|r| *r.unwrap().0.value()).collect();
        assert_eq!(got, want);
        drop(t);
        // The scratch table went with the rename; a packed table is left alone.
        assert!(
            !txn.list_tables()
                .unwrap()
                .any(|h| h.name() == "prefixes.repack")
        );
        assert!(repack_slack(&txn, None).unwrap().is_empty());
    }

    /// A packing that never commits (a kill, a full disk) leaves the table as it
    /// was, rows and pages, and no scratch table behind, in the file as reopened.
    #[test]
    fn a_packing_that_does_not_commit_changes_nothing() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("s.redb");
        let store = Store::init(&path, crate::chunking::ChunkParams::default(), 1).unwrap();
        let txn = store.begin_write().unwrap();
        {
            let mut t = txn.open_table(SKETCH_BAND_ROWS).unwrap();
            for i in 0u64..100_000 {
                let h = blake3::hash(&i.to_le_bytes());
                let key: [u8; 13] = h.as_bytes()[..13].try_into().unwrap();
                t.insert(&key, ()).unwrap();
            }
        }
        txn.commit().unwrap();
        let before = {
            let txn = store.begin_write().unwrap();
            footprint(&txn.open_table(SKETCH_BAND_ROWS).unwrap()).unwrap()
        };

        let txn = store.begin_write().unwrap();
        let done = repack_slack(&txn, None).unwrap();
        assert_eq!(done.len(), 1, "{done:?}");
        // Dropped uncommitted, then the process "dies": the store is reopened.
        drop(txn);
        drop(store);
        let store = Store::open_writable(&path).unwrap();
        let txn = store.begin_write().unwrap();
        let t = txn.open_table(SKETCH_BAND_ROWS).unwrap();
        assert_eq!(t.len().unwrap(), 100_000);
        assert_eq!(footprint(&t).unwrap(), before);
        drop(t);
        assert!(
            !txn.list_tables()
                .unwrap()
                .any(|h| h.name().ends_with(".repack"))
        );
    }
}
