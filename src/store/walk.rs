//! A walk over a table that trusts nothing about the B-tree under it.
//!
//! redb follows a branch page wherever it points. A flipped key count or child
//! pointer can send an iteration back over rows it has already returned, round a
//! cycle, or make it return the same error forever; a checker that collects every
//! row or every error then grows until the kernel kills it. So the checks that read
//! a whole table (fsck, a release's root recomputation) walk it through
//! [`CheckedWalk`]: keys must strictly rise, and the walk ends at the first error or
//! the first key that does not, saying why in [`CheckedWalk::stopped`].

use std::cmp::Ordering;

use redb::{AccessGuard, Key, Range, Value};

pub struct CheckedWalk<'a, K: Key + 'static, V: Value + 'static> {
    table: &'static str,
    rows: Range<'a, K, V>,
    /// The last key returned, as stored (empty before the first row).
    last: Vec<u8>,
    read: u64,
    stopped: Option<String>,
}

impl<'a, K: Key + 'static, V: Value + 'static> CheckedWalk<'a, K, V> {
    /// Walks `rows` (a whole table or a key range of it) of the table named `table`.
    pub fn new(table: &'static str, rows: Range<'a, K, V>) -> Self {
        Self {
            table,
            rows,
            last: Vec::new(),
            read: 0,
            stopped: None,
        }
    }

    /// Why the walk ended before the end of the table, naming the table; `None`
    /// when every row was read.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// The table walked.
    pub fn table(&self) -> &'static str {
        self.table
    }
}

impl<'a, K: Key + 'static, V: Value + 'static> Iterator for CheckedWalk<'a, K, V> {
    type Item = (AccessGuard<'a, K>, AccessGuard<'a, V>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.stopped.is_some() {
            return None;
        }
        match self.rows.next()? {
            Err(e) => {
                self.stopped = Some(format!(
                    "table {}: reading stopped after {} rows: {e}",
                    self.table, self.read
                ));
                None
            }
            Ok((k, v)) => {
                let rises = {
                    let value = k.value();
                    let key = K::as_bytes(&value);
                    let key = key.as_ref();
                    let rises = self.read == 0 || K::compare(&self.last, key) == Ordering::Less;
                    self.last.clear();
                    self.last.extend_from_slice(key);
                    rises
                };
                if !rises {
                    self.stopped = Some(format!(
                        "table {}: after {} rows its B-tree leads back to an earlier key \
                         (a damaged branch page); the rows after it were not read",
                        self.table, self.read
                    ));
                    return None;
                }
                self.read += 1;
                Some((k, v))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};

    const T: TableDefinition<u64, &[u8]> = TableDefinition::new("t");

    #[test]
    fn an_intact_table_is_walked_to_the_end_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("db")).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(T).unwrap();
            // Little-endian bytes of these do not rise: the walk must compare as
            // the table orders keys, not bytewise.
            for k in [1u64, 255, 256, 65_536, 3] {
                t.insert(k, &b"v"[..]).unwrap();
            }
        }
        w.commit().unwrap();
        let r = db.begin_read().unwrap();
        let t = r.open_table(T).unwrap();
        let mut walk = CheckedWalk::new("t", t.iter().unwrap());
        let keys: Vec<u64> = walk.by_ref().map(|(k, _)| k.value()).collect();
        assert_eq!(keys, vec![1, 3, 255, 256, 65_536]);
        assert_eq!(walk.stopped(), None);
    }
}
