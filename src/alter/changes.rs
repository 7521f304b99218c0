//! The changes an edit script makes, as places where bytes were inserted, removed or
//! replaced, and their wording ("412 bytes inserted at offset 1,000 and 12 bytes
//! removed at 20,000").

use serde::Serialize;

use super::script::{EditOp, EditScript};
use super::words::{bytes, num};

/// One place where the claim differs from the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Where in the original the change is (the first removed byte, or the byte
    /// before which bytes were inserted).
    pub original_offset: u64,
    /// Where in the claim the change is.
    pub claim_offset: u64,
    /// Bytes of the original left out here.
    pub removed: u64,
    /// Bytes of the claim not copied in order from the original here.
    pub inserted: u64,
}

impl Change {
    pub fn size(&self) -> u64 {
        self.removed.max(self.inserted)
    }

    /// "412 bytes inserted at offset 1,000"; `at` is "at offset" or "at".
    pub fn describe(&self, at: &str) -> String {
        let off = num(self.original_offset);
        match (self.removed, self.inserted) {
            (0, i) => format!("{} inserted {at} {off}", bytes(i)),
            (r, 0) => format!("{} removed {at} {off}", bytes(r)),
            (r, i) if r == i => format!("{} overwritten {at} {off}", bytes(r)),
            (r, i) => format!("{} replaced by {} {at} {off}", bytes(r), num(i)),
        }
    }
}

/// The changes of a script applied to an original of `original_len` bytes, in order.
///
/// Copies are expected in increasing order (as [`super::edit_script`] makes them); a
/// copy that goes back before the end of the previous one counts as inserted bytes.
pub fn changes(script: &EditScript, original_len: u64) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut pos, mut cpos) = (0u64, 0u64);
    let mut pending: Option<Change> = None;
    let start = |pos, cpos| Change {
        original_offset: pos,
        claim_offset: cpos,
        removed: 0,
        inserted: 0,
    };
    for op in &script.ops {
        match *op {
            EditOp::Insert(ref d) => {
                let c = pending.get_or_insert_with(|| start(pos, cpos));
                c.inserted = c.inserted.saturating_add(d.len() as u64);
                cpos = cpos.saturating_add(d.len() as u64);
            }
            EditOp::Copy { len: 0, .. } => {}
            EditOp::Copy { offset, len } if offset < pos => {
                let c = pending.get_or_insert_with(|| start(pos, cpos));
                c.inserted = c.inserted.saturating_add(len);
                cpos = cpos.saturating_add(len);
            }
            EditOp::Copy { offset, len } => {
                if offset > pos {
                    let c = pending.get_or_insert_with(|| start(pos, cpos));
                    c.removed = c.removed.saturating_add(offset - pos);
                }
                out.extend(pending.take());
                pos = offset.saturating_add(len);
                cpos = cpos.saturating_add(len);
            }
        }
    }
    if original_len > pos {
        let c = pending.get_or_insert_with(|| start(pos, cpos));
        c.removed = c.removed.saturating_add(original_len - pos);
    }
    out.extend(pending.take());
    out
}

/// "412 bytes inserted at offset 1,000 and 12 bytes removed at 20,000": the `top`
/// largest changes in file order, then how many more and their bytes.
pub fn describe(changes: &[Change], top: usize) -> String {
    if changes.is_empty() {
        return "no bytes differ".to_owned();
    }
    let mut idx: Vec<usize> = (0..changes.len()).collect();
    idx.sort_by_key(|&i| (std::cmp::Reverse(changes[i].size()), i));
    let mut shown: Vec<usize> = idx[..top.min(idx.len())].to_vec();
    shown.sort_unstable();
    let parts: Vec<String> = shown
        .iter()
        .enumerate()
        .map(|(k, &i)| changes[i].describe(if k == 0 { "at offset" } else { "at" }))
        .collect();
    let rest: Vec<&Change> = idx[shown.len()..].iter().map(|&i| &changes[i]).collect();
    if rest.is_empty() {
        return super::words::and_list(&parts);
    }
    let ins: u64 = rest.iter().map(|c| c.inserted).sum();
    let rem: u64 = rest.iter().map(|c| c.removed).sum();
    format!(
        "{}, and {} more {} ({} inserted, {} removed)",
        parts.join(", "),
        num(rest.len() as u64),
        if rest.len() == 1 { "change" } else { "changes" },
        bytes(ins),
        num(rem)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ops: Vec<EditOp>) -> EditScript {
        EditScript { ops }
    }

    #[test]
    fn insertion_and_removal() {
        let script = s(vec![
            EditOp::Copy {
                offset: 0,
                len: 1000,
            },
            EditOp::Insert(vec![0; 412]),
            EditOp::Copy {
                offset: 1000,
                len: 19_000,
            },
            EditOp::Copy {
                offset: 20_012,
                len: 5000,
            },
        ]);
        let c = changes(&script, 25_012);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[1],
            Change {
                original_offset: 20_000,
                claim_offset: 20_412,
                removed: 12,
                inserted: 0
            }
        );
        assert_eq!(
            describe(&c, 3),
            "412 bytes inserted at offset 1,000 and 12 bytes removed at 20,000"
        );
    }

    #[test]
    fn top_three_and_the_rest() {
        let mut ops = Vec::new();
        for k in 0..6u64 {
            ops.push(EditOp::Copy {
                offset: k * 100,
                len: 90,
            });
            ops.push(EditOp::Insert(vec![1; (k as usize + 1) * 4]));
        }
        let c = changes(&s(ops), 600);
        assert_eq!(c.len(), 6);
        assert_eq!(
            describe(&c, 3),
            "10 bytes replaced by 16 at offset 390, 10 bytes replaced by 20 at 490, 10 bytes replaced by 24 at 590, and 3 more changes (24 bytes inserted, 30 removed)"
        );
    }

    #[test]
    fn trailing_removal_and_backward_copy() {
        let c = changes(
            &s(vec![
                EditOp::Copy { offset: 10, len: 5 },
                EditOp::Copy { offset: 0, len: 5 },
            ]),
            20,
        );
        assert_eq!(
            c[0],
            Change {
                original_offset: 0,
                claim_offset: 0,
                removed: 10,
                inserted: 0
            }
        );
        assert_eq!(
            c[1],
            Change {
                original_offset: 15,
                claim_offset: 5,
                removed: 5,
                inserted: 5
            }
        );
    }
}
