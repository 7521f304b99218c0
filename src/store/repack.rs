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
//! A packed table splits its pages when the next ingest inserts into them, so the
//! slack comes back as a store grows by a few percent at a time; the threshold makes
//! the copy happen again only when it pays for itself.

use redb::{
    Key, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle, Value,
    WriteTransaction,
};
use serde::Serialize;

use super::format::{BLOBS, CHUNKS};
use super::similar::{CHUNK_REFS, PREFIXES, SKETCH_BAND_ROWS};
use crate::error::Result;

/// A table is rewritten when at least this share of its bytes is slack…
const MIN_SLACK_PERCENT: u64 = 20;
/// …and the slack is at least this many bytes (small tables are not worth a copy).
const MIN_SLACK_BYTES: u64 = 1 << 20;

/// A table that was rewritten: its bytes before and after.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Repacked {
    pub table: String,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Rewrites each content-keyed table whose slack passes the thresholds.
pub fn repack_slack(txn: &WriteTransaction) -> Result<Vec<Repacked>> {
    let mut out = Vec::new();
    out.extend(repack(txn, BLOBS, "blobs.repack")?);
    out.extend(repack(txn, CHUNKS, "chunks.repack")?);
    out.extend(repack(txn, CHUNK_REFS, "chunk_refs.repack")?);
    out.extend(repack(txn, PREFIXES, "prefixes.repack")?);
    out.extend(repack(txn, SKETCH_BAND_ROWS, "sketch_bands.repack")?);
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
) -> Result<Option<Repacked>> {
    let table = txn.open_table(def)?;
    let (before, slack) = footprint(&table)?;
    if slack < MIN_SLACK_BYTES || slack * 100 < before * MIN_SLACK_PERCENT {
        return Ok(None);
    }
    let copy_def: TableDefinition<K, V> = TableDefinition::new(scratch);
    // A scratch table left by anything is not ours to keep.
    txn.delete_table(copy_def)?;
    let after = {
        let mut copy = txn.open_table(copy_def)?;
        // Ascending inserts into an empty table fill each page before starting the
        // next (redb's append path).
        for row in table.iter()? {
            let (k, v) = row?;
            copy.insert(k.value(), v.value())?;
        }
        footprint(&copy)?.0
    };
    drop(table);
    txn.delete_table(def)?;
    txn.rename_table(copy_def, def)?;
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
        let done = repack_slack(&txn).unwrap();
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
        assert!(repack_slack(&txn).unwrap().is_empty());
    }
}
