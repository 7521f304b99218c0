//! A read-only check of the redb file underneath the store: every page of the last
//! commit's B-trees, against the XXH3-128 checksums redb keeps for them.
//!
//! redb checksums each page into its parent (branch pages hold their children's
//! checksums, the commit slot in the file header holds the roots'), but verifies them
//! only when it repairs a file after a crash; a normal read trusts the page. custody's
//! own checks (`fsck`) catch damage to what they can recompute — chunk bytes against
//! their ids, records against each other, release roots — but not, say, a flipped
//! byte in an entry's mtime. This walk closes that gap without opening the database
//! for writing: it reads the file with plain reads, follows the primary commit slot
//! from the table tree into every table, and reports any page whose checksum differs,
//! naming the table it belongs to.
//!
//! The layout follows redb's docs/design.md (file format 3): a one-page super-header
//! (magic, god byte, page size, region geometry, two 128-byte commit slots), then
//! regions of pages. It is also what the byte-flip sweep uses to map file offsets to
//! the tables they hold.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_128_with_seed;

use crate::error::{IoContext, Result};

const MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
const GOD_BYTE: usize = 9;
const PRIMARY_BIT: u8 = 1;
const PRIMARY_UNFLUSHED: u8 = 8;
const SLOT_OFFSETS: [usize; 2] = [64, 192];
const SLOT_SIZE: usize = 128;
const SLOT_CHECKSUM: usize = SLOT_SIZE - 16;
const LEAF: u8 = 1;
const BRANCH: u8 = 2;
/// Deeper than any real tree (redb's own limit): a cycle of damaged branch pages
/// ends here instead of looping.
const MAX_DEPTH: usize = 128;
/// A commit landing while the walk runs changes the header; the walk is retried.
const ATTEMPTS: usize = 5;

/// What a page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageUse {
    /// Byte range in the file.
    pub offset: u64,
    pub len: u64,
    /// Bytes from `offset` that the page's checksum covers (its used part; 0 when the
    /// page could not be parsed, or was not read: a leaf of a data table). The rest
    /// is slack nobody reads.
    pub used: u64,
    /// `table tree`, `system table tree`, a table's name, or `system: NAME`.
    pub owner: String,
    pub branch: bool,
}

/// The outcome of [`check_file`].
#[derive(Debug, Clone, Default)]
pub struct PageCheck {
    /// Damage found, one line each (checksum mismatches, unreadable pages, a bad
    /// header). Empty when every page verified.
    pub problems: Vec<String>,
    /// Every page of the committed trees, where the walk could read it.
    pub pages: Vec<PageUse>,
    pub page_size: u64,
    /// The walk did not run to the end because the store kept changing under it (an
    /// ingest committing); `problems` is then empty.
    pub skipped: Option<String>,
}

struct Geometry {
    page_size: u64,
    region_size: u64,
    region_header: u64,
    file_len: u64,
}

impl Geometry {
    /// The byte range of a page number, or why it is impossible.
    fn range(&self, raw: u64) -> std::result::Result<(u64, u64), String> {
        let order = (raw >> 59) as u32;
        if order > 20 {
            return Err(format!("page number {raw:#x} has order {order}"));
        }
        let index = raw & (0x000F_FFFF >> order);
        let region = (raw >> 20) & 0x000F_FFFF;
        let len = self.page_size << order;
        let start = self.page_size + region * self.region_size + self.region_header + index * len;
        if start + len > self.file_len {
            return Err(format!(
                "page {raw:#x} (bytes {start}..{}) lies beyond the end of the file ({} bytes)",
                start + len,
                self.file_len
            ));
        }
        Ok((start, len))
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}
fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64)
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}
fn u128_at(b: &[u8], at: usize) -> Option<u128> {
    Some(u128::from_le_bytes(b.get(at..at + 16)?.try_into().ok()?))
}

/// A B-tree root: page number and the checksum its page must have.
#[derive(Clone, Copy)]
struct Root {
    page: u64,
    checksum: u128,
}

fn root_at(b: &[u8], at: usize) -> Option<Root> {
    Some(Root {
        page: u64_at(b, at)?,
        checksum: u128_at(b, at + 8)?,
    })
}

/// A table's definition as the table tree stores it (redb's
/// `InternalTableDefinition`): what the walk needs of it.
struct TableDef {
    multimap: bool,
    root: Option<Root>,
    fixed_key: Option<usize>,
    fixed_value: Option<usize>,
}

fn parse_def(v: &[u8]) -> Option<TableDef> {
    // 1 and 2 are the legacy (pre-format-3) normal and multimap types.
    let multimap = match *v.first()? {
        3 => false,
        4 => true,
        _ => return None,
    };
    let mut at = 1 + 8;
    let root = if *v.get(at)? != 0 {
        root_at(v, at + 1)
    } else {
        None
    };
    at += 1 + 32;
    let fixed = |at: usize| -> Option<Option<usize>> {
        Some(if *v.get(at)? != 0 {
            Some(u32_at(v, at + 1)? as usize)
        } else {
            None
        })
    };
    let fixed_key = fixed(at)?;
    at += 5;
    let fixed_value = fixed(at)?;
    Some(TableDef {
        multimap,
        root,
        fixed_key,
        fixed_value,
    })
}

/// How a walk reads the pages of one tree.
struct Tree<'a> {
    file: &'a File,
    /// Leaf checksum mismatches go to `Walk::data` instead of `problems`.
    data: bool,
    geo: &'a Geometry,
    owner: String,
    fixed_key: Option<usize>,
    fixed_value: Option<usize>,
}

/// The walk's accumulated state.
#[derive(Default)]
struct Walk {
    problems: Vec<String>,
    pages: Vec<PageUse>,
    /// Table definitions found in a table tree's leaves: (name, value bytes).
    defs: Vec<(String, Vec<u8>)>,
}

impl Tree<'_> {
    /// Verifies the page `root` and everything below it; with `collect_defs`, the
    /// leaves are a table tree's and their rows are kept.
    fn walk(&self, root: Root, depth: usize, collect_defs: bool, w: &mut Walk) {
        if w.problems.len() >= 100 {
            return;
        }
        if depth > MAX_DEPTH {
            w.problems.push(format!(
                "{}: B-tree deeper than {MAX_DEPTH} levels",
                self.owner
            ));
            return;
        }
        let (offset, len) = match self.geo.range(root.page) {
            Ok(r) => r,
            Err(e) => {
                w.problems.push(format!("{}: {e}", self.owner));
                return;
            }
        };
        // A data table's leaves (chunk bytes, the bulk of the file) are left to the
        // caller, which verifies their values itself: only the page type is read.
        if self.data {
            let mut kind = [0u8; 1];
            if self.file.read_exact_at(&mut kind, offset).is_ok() && kind[0] == LEAF {
                w.pages.push(PageUse {
                    offset,
                    len,
                    used: 0,
                    owner: self.owner.clone(),
                    branch: false,
                });
                return;
            }
        }
        let mut page = vec![0u8; len as usize];
        if let Err(e) = self.file.read_exact_at(&mut page, offset) {
            w.problems
                .push(format!("{}: page at byte {offset}: {e}", self.owner));
            return;
        }
        let kind = page[0];
        w.pages.push(PageUse {
            offset,
            len,
            used: 0,
            owner: self.owner.clone(),
            branch: kind == BRANCH,
        });
        let bad = |what: &str| format!("{}: page at byte {offset}: {what}", self.owner);
        let end = match kind {
            LEAF => self.leaf_end(&page),
            BRANCH => self.branch_end(&page),
            other => {
                w.problems.push(bad(&format!("unknown page type {other}")));
                return;
            }
        };
        let Some(end) = end.filter(|&e| e <= page.len()) else {
            w.problems.push(bad("page layout is damaged"));
            return;
        };
        if let Some(p) = w.pages.last_mut() {
            p.used = end as u64;
        }
        if xxh3_128_with_seed(&page[..end], 0) != root.checksum {
            w.problems.push(bad("checksum mismatch"));
            return;
        }
        if kind == LEAF {
            if collect_defs {
                self.leaf_rows(&page, w);
            }
            return;
        }
        let children = u16_at(&page, 2).unwrap_or(0) + 1;
        for i in 0..children {
            let (Some(checksum), Some(child)) = (
                u128_at(&page, 8 + 16 * i),
                u64_at(&page, 8 + 16 * children + 8 * i),
            ) else {
                return;
            };
            self.walk(
                Root {
                    page: child,
                    checksum,
                },
                depth + 1,
                collect_defs,
                w,
            );
        }
    }

    /// Where a leaf's checksummed bytes end: the end of its last value.
    fn leaf_end(&self, p: &[u8]) -> Option<usize> {
        let n = u16_at(p, 2)?;
        let last = n.checked_sub(1)?;
        let mut key_section = 4;
        if self.fixed_key.is_none() {
            key_section += 4 * n;
        }
        if self.fixed_value.is_none() {
            key_section += 4 * n;
        }
        let key_end = |i: usize| -> Option<usize> {
            match self.fixed_key {
                Some(k) => Some(key_section + k * (i + 1)),
                None => Some(u32_at(p, 4 + 4 * i)? as usize),
            }
        };
        match self.fixed_value {
            Some(v) => Some(key_end(last)? + v * n),
            None => {
                let mut at = 4 + 4 * last;
                if self.fixed_key.is_none() {
                    at += 4 * n;
                }
                Some(u32_at(p, at)? as usize)
            }
        }
    }

    fn branch_end(&self, p: &[u8]) -> Option<usize> {
        let keys = u16_at(p, 2)?;
        let last = keys.checked_sub(1)?;
        let children = keys + 1;
        match self.fixed_key {
            Some(k) => Some(8 + 24 * children + k * keys),
            None => Some(u32_at(p, 8 + 24 * children + 4 * last)? as usize),
        }
    }

    /// The (name, definition) rows of a verified table-tree leaf.
    fn leaf_rows(&self, p: &[u8], w: &mut Walk) {
        let Some(n) = u16_at(p, 2) else { return };
        let mut prev_key = 4 + 8 * n;
        let mut prev_value = None;
        for i in 0..n {
            let (Some(ke), Some(ve)) = (u32_at(p, 4 + 4 * i), u32_at(p, 4 + 4 * n + 4 * i)) else {
                return;
            };
            let (ke, ve) = (ke as usize, ve as usize);
            let key_start = prev_key;
            prev_key = ke;
            let key_ends_last = u32_at(p, 4 + 4 * (n - 1)).unwrap_or(0) as usize;
            let value_start = prev_value.unwrap_or(key_ends_last);
            prev_value = Some(ve);
            if let (Some(k), Some(v)) = (p.get(key_start..ke), p.get(value_start..ve)) {
                w.defs
                    .push((String::from_utf8_lossy(k).into_owned(), v.to_vec()));
            }
        }
    }
}

/// Reads the header and walks the primary commit's trees once.
fn walk_once(
    file: &File,
    data_tables: &[&str],
) -> std::result::Result<(PageCheck, Vec<u8>), String> {
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = vec![0u8; 512];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| format!("file header: {e}"))?;
    let mut out = PageCheck::default();
    if head[..9] != MAGIC {
        out.problems.push("file header: not a redb file".into());
        return Ok((out, head));
    }
    let page_size = u32_at(&head, 12).unwrap_or(0);
    let region_header_pages = u32_at(&head, 16).unwrap_or(0);
    let region_max_pages = u32_at(&head, 20).unwrap_or(0);
    if !page_size.is_power_of_two() || !(512..=(1 << 20)).contains(&page_size) {
        out.problems
            .push(format!("file header: page size {page_size} is invalid"));
        return Ok((out, head));
    }
    if region_max_pages == 0 || region_max_pages > 1 << 20 || region_header_pages > 1 << 20 {
        out.problems
            .push("file header: region geometry is invalid".into());
        return Ok((out, head));
    }
    out.page_size = page_size;
    let geo = Geometry {
        page_size,
        region_size: (region_header_pages + region_max_pages) * page_size,
        region_header: region_header_pages * page_size,
        file_len,
    };
    let god = head[GOD_BYTE];
    let mut primary = usize::from(god & PRIMARY_BIT != 0);
    if god & PRIMARY_UNFLUSHED != 0 {
        primary = 1 - primary;
    }
    let slot_ok = |s: usize| {
        let b = &head[SLOT_OFFSETS[s]..SLOT_OFFSETS[s] + SLOT_SIZE];
        u128_at(b, SLOT_CHECKSUM) == Some(xxh3_128_with_seed(&b[..SLOT_CHECKSUM], 0))
    };
    let slot = &head[SLOT_OFFSETS[primary]..SLOT_OFFSETS[primary] + SLOT_SIZE];
    if !slot_ok(primary) {
        out.problems.push(format!(
            "file header: commit slot {primary} (the primary) is damaged"
        ));
        return Ok((out, head));
    }
    let txn = u64_at(slot, 104).unwrap_or(0);
    let other = 1 - primary;
    let other_txn = u64_at(&head[SLOT_OFFSETS[other]..], 104).unwrap_or(0);
    if slot_ok(other) && other_txn > txn {
        out.problems.push(format!(
            "file header: the primary commit slot holds transaction {txn} but the other \
             holds the later {other_txn}: the header's primary flag is damaged"
        ));
    }
    let mut w = Walk::default();
    let trees = [(1usize, 8usize, "table tree"), (2, 40, "system table tree")];
    for (flag, at, name) in trees {
        if slot[flag] == 0 {
            continue;
        }
        let Some(root) = root_at(slot, at) else {
            continue;
        };
        let table_tree = Tree {
            file,
            data: false,
            geo: &geo,
            owner: name.into(),
            fixed_key: None,
            fixed_value: None,
        };
        w.defs.clear();
        table_tree.walk(root, 0, true, &mut w);
        for (table, def) in std::mem::take(&mut w.defs) {
            let owner = if flag == 1 {
                table.clone()
            } else {
                format!("system: {table}")
            };
            let Some(d) = parse_def(&def) else {
                w.problems
                    .push(format!("{name}: definition of table {table:?} is damaged"));
                continue;
            };
            let Some(root) = d.root else { continue };
            // Multimap tables nest value trees in their leaves; only their outer
            // tree is walked (custody keeps none).
            let _ = d.multimap;
            Tree {
                file,
                data: flag == 1 && data_tables.contains(&table.as_str()),
                geo: &geo,
                owner,
                fixed_key: d.fixed_key,
                fixed_value: if d.multimap { None } else { d.fixed_value },
            }
            .walk(root, 0, false, &mut w);
        }
    }
    out.problems = w.problems;
    out.pages = w.pages;
    Ok((out, head))
}

/// Verifies every page of the store file's last commit; see the module docs. Safe
/// while another process writes: when a commit lands during the walk, it starts
/// again, and after a few tries it gives up and says so in `skipped`. Leaf pages of
/// `data_tables` are listed but not read: the caller verifies what they hold.
pub fn check_file(path: &Path, data_tables: &[&str]) -> Result<PageCheck> {
    let file = File::open(path).ctx(path, "open store")?;
    let mut last_reason = String::new();
    for _ in 0..ATTEMPTS {
        let (check, head) = match walk_once(&file, data_tables) {
            Ok(x) => x,
            Err(e) => {
                return Ok(PageCheck {
                    problems: vec![e],
                    ..Default::default()
                });
            }
        };
        let mut again = vec![0u8; head.len()];
        file.read_exact_at(&mut again, 0)
            .ctx(path, "read store header")?;
        if again == head {
            return Ok(check);
        }
        last_reason = "the store changed during the page check (a commit landed)".into();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(PageCheck {
        skipped: Some(last_reason),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunking::ChunkParams;
    use crate::store::Store;

    #[test]
    fn a_fresh_store_verifies_and_every_table_is_mapped() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("s.redb");
        drop(Store::init(&p, ChunkParams::default(), 1).unwrap());
        let c = check_file(&p, &[]).unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.skipped.is_none());
        assert!(c.pages.iter().any(|p| p.owner == "meta"), "{:?}", c.pages);
        assert!(c.pages.iter().any(|p| p.owner == "table tree"));
    }

    #[test]
    fn a_flipped_byte_in_a_table_page_is_found() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("s.redb");
        drop(Store::init(&p, ChunkParams::default(), 1).unwrap());
        let c = check_file(&p, &[]).unwrap();
        let meta = c.pages.iter().find(|p| p.owner == "meta").unwrap();
        let mut data = std::fs::read(&p).unwrap();
        data[meta.offset as usize + 20] ^= 0x10;
        std::fs::write(&p, &data).unwrap();
        let c = check_file(&p, &[]).unwrap();
        assert!(
            c.problems
                .iter()
                .any(|e| e.starts_with("meta:") && e.contains("checksum mismatch")),
            "{:?}",
            c.problems
        );
    }
}
