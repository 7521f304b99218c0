//! Just enough CSV: records (quoted fields may hold commas, `""` and newlines), field
//! values, sniffing, and a row-level comparison of two tables.
//!
//! Reading is lenient, as real leaked CSVs are: a quote opens a quoted field only at
//! the start of a field, text after a closing quote is kept, `\r\n` and `\n` both end
//! records, and blank lines are not rows. Row numbers count data rows from 1 after the
//! header line.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Instant;

use serde::Serialize;
use similar::{Algorithm, DiffTag, capture_diff_slices_deadline};

use crate::alter::diff::Token;

/// How many sampled records sniffing looks at.
const SNIFF_RECORDS: usize = 200;
/// How many bytes sniffing looks at.
const SNIFF_BYTES: usize = 1 << 20;
/// Changed rows whose field changes are kept in full.
pub const DETAIL_ROWS: usize = 100;
/// Longest field value kept in detail, in characters.
const VALUE_CHARS: usize = 120;

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl St {
    /// The next state, and whether `b` separates fields (`,`) or ends the record (`\n`)
    /// rather than being part of a field value.
    fn step(self, b: u8) -> (St, Sep) {
        match (self, b) {
            (St::Quoted, b'"') => (St::QuoteInQuoted, Sep::No),
            (St::Quoted, _) => (St::Quoted, Sep::No),
            (St::QuoteInQuoted, b'"') => (St::Quoted, Sep::No),
            (_, b'\n') => (St::FieldStart, Sep::Record),
            (_, b',') => (St::FieldStart, Sep::Field),
            (St::FieldStart, b'"') => (St::Quoted, Sep::No),
            _ => (St::Unquoted, Sep::No),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    No,
    Field,
    Record,
}

/// A record: `start..end` without its line terminator; `next` is where the next
/// record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub start: usize,
    pub end: usize,
    pub next: usize,
}

impl Record {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// The non-blank records of `data`, at most `limit` of them.
///
/// A line without a quote is a whole record (found at memchr speed); only lines with
/// quotes go through the field state machine, which may carry the record over
/// newlines inside quotes.
pub fn records(data: &[u8], limit: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() && out.len() < limit {
        let line_end = data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| start + p);
        let nl = if data[start..line_end].contains(&b'"') {
            record_end(data, start)
        } else {
            line_end
        };
        let mut end = nl;
        if end > start && data[end - 1] == b'\r' {
            end -= 1;
        }
        let next = (nl + 1).min(data.len());
        if end > start {
            out.push(Record { start, end, next });
        }
        start = nl + 1;
    }
    out
}

/// Where the record starting at `start` ends: its terminating newline, or the end.
fn record_end(data: &[u8], start: usize) -> usize {
    let mut st = St::FieldStart;
    for (i, &b) in data.iter().enumerate().skip(start) {
        let (next, sep) = st.step(b);
        st = next;
        if sep == Sep::Record {
            return i;
        }
    }
    data.len()
}

/// The field values of one record (quotes removed, `""` unescaped).
pub fn fields(rec: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut st = St::FieldStart;
    for &b in rec {
        let before = st;
        let (next, sep) = st.step(b);
        st = next;
        let cur = out.last_mut().expect("never empty");
        match sep {
            Sep::Field => out.push(Vec::new()),
            Sep::Record => cur.push(b), // not reached for a record's own bytes
            Sep::No => match (before, b) {
                (St::FieldStart, b'"') | (St::Quoted, b'"') => {}
                (St::QuoteInQuoted, b'"') => cur.push(b'"'),
                _ => cur.push(b),
            },
        }
    }
    out
}

/// Number of fields of one record.
pub fn field_count(rec: &[u8]) -> usize {
    let mut st = St::FieldStart;
    let mut n = 1;
    for &b in rec {
        let (next, sep) = st.step(b);
        st = next;
        n += usize::from(sep == Sep::Field);
    }
    n
}

/// The data row (1-based; 0 is the header) and field (0-based) holding byte
/// `offset`, given the file's [`records`].
pub fn locate(data: &[u8], recs: &[Record], offset: usize) -> Option<(u64, usize)> {
    let k = recs.partition_point(|r| r.next <= offset);
    let r = recs
        .get(k)
        .filter(|r| r.start <= offset && offset < r.end)?;
    let mut st = St::FieldStart;
    let mut field = 0;
    for &b in &data[r.start..offset] {
        let (next, sep) = st.step(b);
        st = next;
        field += usize::from(sep == Sep::Field);
    }
    Some((k as u64, field))
}

/// Whether `data` reads as a CSV table. With `named_csv` (the file is called `.csv`)
/// one column and 90% consistent field counts will do; otherwise it takes at least
/// two columns, three records and 95% of records with the header's field count.
pub fn looks_like_csv(data: &[u8], named_csv: bool) -> bool {
    let sample = &data[..data.len().min(SNIFF_BYTES)];
    if sample.is_empty() || sample.contains(&0) {
        return false;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c))
        .count();
    if controls * 100 > sample.len() {
        return false;
    }
    let mut recs = records(sample, SNIFF_RECORDS);
    if sample.len() < data.len() && recs.len() > 1 && recs.len() < SNIFF_RECORDS {
        recs.pop(); // may be cut short by the sample
    }
    let Some(first) = recs.first() else {
        return false;
    };
    let k = field_count(&sample[first.range()]);
    let same = recs
        .iter()
        .filter(|r| field_count(&sample[r.range()]) == k)
        .count();
    if named_csv {
        same * 10 >= recs.len() * 9
    } else {
        k >= 2 && recs.len() >= 3 && same * 20 >= recs.len() * 19
    }
}

/// A field change in a changed row.
#[derive(Debug, Clone, Serialize)]
pub struct FieldChange {
    pub column: String,
    pub index: usize,
    pub old: String,
    pub new: String,
}

/// A row whose fields differ.
#[derive(Debug, Clone, Serialize)]
pub struct RowChange {
    /// Row number in the original.
    pub row: u64,
    /// Row number in the claim.
    pub claim_row: u64,
    pub fields: Vec<FieldChange>,
}

/// How the rows of two CSV tables differ.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// Column names from the original's header.
    pub columns: Vec<String>,
    pub original_rows: u64,
    pub claim_rows: u64,
    pub header_changed: bool,
    pub claim_columns: Vec<String>,
    /// Original row numbers of rows whose fields differ.
    pub edited: Vec<u64>,
    /// The first [`DETAIL_ROWS`] of them, field by field.
    pub edited_detail: Vec<RowChange>,
    /// Changed fields per column index.
    pub changed_columns: BTreeMap<usize, u64>,
    /// Original row numbers of rows whose bytes differ but fields do not (quoting,
    /// spacing).
    pub reformatted: Vec<u64>,
    /// Original row numbers of rows left out.
    pub removed: Vec<u64>,
    /// Claim row numbers of rows not in the original.
    pub inserted: Vec<u64>,
    /// The one value every changed field now holds, if they all hold the same.
    pub common_new_value: Option<String>,
    /// Whether every changed field now holds a number.
    pub new_values_numeric: bool,
    /// Whether every inserted row has as many fields as the original's header.
    pub inserted_rows_well_formed: bool,
}

impl Comparison {
    /// Rows were only added, after the last row of the original.
    pub fn appended_only(&self) -> bool {
        !self.inserted.is_empty()
            && self.edited.is_empty()
            && self.removed.is_empty()
            && self.reformatted.is_empty()
            && !self.header_changed
            && self.inserted.first() == Some(&(self.original_rows + 1))
    }

    /// The label of column `i`: its quoted name, or its number when the name is empty
    /// or repeated.
    pub fn column_label(&self, i: usize) -> String {
        label(&self.columns, i)
    }
}

fn label(columns: &[String], i: usize) -> String {
    match columns.get(i) {
        Some(name) if !name.is_empty() && columns.iter().filter(|c| *c == name).count() == 1 => {
            format!("'{name}'")
        }
        _ => format!("#{}", i + 1),
    }
}

fn text(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    if s.chars().count() > VALUE_CHARS {
        let mut t: String = s.chars().take(VALUE_CHARS).collect();
        t.push('…');
        t
    } else {
        s.into_owned()
    }
}

fn is_number(v: &[u8]) -> bool {
    let s = String::from_utf8_lossy(v);
    let t = s.trim().replace(',', "");
    let t = t.trim_start_matches(['$', '€', '£']);
    !t.is_empty() && t.parse::<f64>().is_ok()
}

fn header_names(data: &[u8], rec: Option<&Record>) -> Vec<String> {
    let Some(r) = rec else {
        return Vec::new();
    };
    let h = &data[r.range()];
    let h = h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h);
    fields(h)
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_owned())
        .collect()
}

/// Compares two tables row by row: rows are matched by their bytes with a Myers diff
/// (bounded by `deadline`), runs of replaced rows are paired in order when the runs
/// are as long, else by their first field, and paired rows are compared field by field.
pub fn compare(a: &[u8], b: &[u8], deadline: Option<Instant>) -> Comparison {
    let ra = records(a, usize::MAX);
    let rb = records(b, usize::MAX);
    let columns = header_names(a, ra.first());
    let claim_columns = header_names(b, rb.first());
    let header_changed = match (ra.first(), rb.first()) {
        (Some(x), Some(y)) => fields(&a[x.range()]) != fields(&b[y.range()]),
        (x, y) => x.is_some() != y.is_some(),
    };
    let rows_a: Vec<&[u8]> = ra.iter().skip(1).map(|r| &a[r.range()]).collect();
    let rows_b: Vec<&[u8]> = rb.iter().skip(1).map(|r| &b[r.range()]).collect();
    let mut c = Comparison {
        original_rows: rows_a.len() as u64,
        claim_rows: rows_b.len() as u64,
        header_changed,
        claim_columns,
        new_values_numeric: true,
        inserted_rows_well_formed: true,
        ..Comparison::default()
    };
    c.columns = columns;
    let mut common: Option<Option<Vec<u8>>> = None;
    // Rows as tokens with a precomputed hash: the diff then hashes 8 bytes per row.
    let ta: Vec<Token> = ra
        .iter()
        .skip(1)
        .map(|r| Token::new(a, r.range()))
        .collect();
    let tb: Vec<Token> = rb
        .iter()
        .skip(1)
        .map(|r| Token::new(b, r.range()))
        .collect();
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &ta, &tb, deadline);
    drop((ta, tb));
    for op in ops {
        let (tag, oi, ni) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {}
            DiffTag::Delete => c.removed.extend(oi.map(|i| i as u64 + 1)),
            DiffTag::Insert => c.insert_rows(&rows_b, ni),
            DiffTag::Replace => {
                for (x, y) in pair(&rows_a, oi.clone(), &rows_b, ni.clone(), &mut c, deadline) {
                    c.compare_rows(&rows_a, x, &rows_b, y, &mut common);
                }
            }
        }
    }
    c.removed.sort_unstable();
    c.inserted.sort_unstable();
    c.edited.sort_unstable();
    c.reformatted.sort_unstable();
    c.common_new_value = common.flatten().map(|v| text(&v));
    if c.changed_columns.is_empty() {
        c.new_values_numeric = false;
    }
    c
}

impl Comparison {
    fn insert_rows(&mut self, rows_b: &[&[u8]], ni: Range<usize>) {
        let k = self.columns.len().max(1);
        for j in ni {
            self.inserted.push(j as u64 + 1);
            if field_count(rows_b[j]) != k {
                self.inserted_rows_well_formed = false;
            }
        }
    }

    fn compare_rows(
        &mut self,
        rows_a: &[&[u8]],
        x: usize,
        rows_b: &[&[u8]],
        y: usize,
        common: &mut Option<Option<Vec<u8>>>,
    ) {
        if rows_a[x] == rows_b[y] {
            return; // paired in order after a bounded diff gave up: not a change
        }
        let (fa, fb) = (fields(rows_a[x]), fields(rows_b[y]));
        let mut changes = Vec::new();
        for i in 0..fa.len().max(fb.len()) {
            let (old, new) = (fa.get(i), fb.get(i));
            if old == new {
                continue;
            }
            *self.changed_columns.entry(i).or_default() += 1;
            let new = new.cloned().unwrap_or_default();
            self.new_values_numeric &= is_number(&new);
            match common {
                None => *common = Some(Some(new.clone())),
                Some(Some(v)) if *v != new => *common = Some(None),
                _ => {}
            }
            changes.push(FieldChange {
                column: self.column_label(i),
                index: i,
                old: old.map(|v| text(v)).unwrap_or_default(),
                new: text(&new),
            });
        }
        if changes.is_empty() {
            self.reformatted.push(x as u64 + 1);
            return;
        }
        self.edited.push(x as u64 + 1);
        if self.edited_detail.len() < DETAIL_ROWS {
            self.edited_detail.push(RowChange {
                row: x as u64 + 1,
                claim_row: y as u64 + 1,
                fields: changes,
            });
        }
    }
}

/// Pairs rows of a replaced run; rows left unpaired are recorded as removed or
/// inserted.
fn pair(
    rows_a: &[&[u8]],
    oi: Range<usize>,
    rows_b: &[&[u8]],
    ni: Range<usize>,
    c: &mut Comparison,
    deadline: Option<Instant>,
) -> Vec<(usize, usize)> {
    if oi.len() == ni.len() {
        return oi.zip(ni).collect();
    }
    let key = |r: &[u8]| fields(r).into_iter().next().unwrap_or_default();
    let ka: Vec<Vec<u8>> = rows_a[oi.clone()].iter().map(|r| key(r)).collect();
    let kb: Vec<Vec<u8>> = rows_b[ni.clone()].iter().map(|r| key(r)).collect();
    let mut out = Vec::new();
    for op in capture_diff_slices_deadline(Algorithm::Myers, &ka, &kb, deadline) {
        let (tag, x, y) = op.as_tag_tuple();
        let (x, y) = (
            x.start + oi.start..x.end + oi.start,
            y.start + ni.start..y.end + ni.start,
        );
        match tag {
            DiffTag::Equal => out.extend(x.zip(y)),
            DiffTag::Delete => c.removed.extend(x.map(|i| i as u64 + 1)),
            DiffTag::Insert => c.insert_rows(rows_b, y),
            DiffTag::Replace => {
                let n = x.len().min(y.len());
                out.extend(x.clone().zip(y.clone()));
                c.removed.extend(x.skip(n).map(|i| i as u64 + 1));
                c.insert_rows(rows_b, y.start + n..y.end);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records by running the state machine over every byte.
    fn reference_records(data: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        let mut st = St::FieldStart;
        let mut start = 0;
        for (i, &b) in data.iter().enumerate() {
            let (next, sep) = st.step(b);
            st = next;
            if sep == Sep::Record {
                let end = if i > start && data[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                if end > start {
                    out.push(Record {
                        start,
                        end,
                        next: i + 1,
                    });
                }
                start = i + 1;
            }
        }
        let mut end = data.len();
        if end > start && data[end - 1] == b'\r' {
            end -= 1;
        }
        if end > start {
            out.push(Record {
                start,
                end,
                next: data.len(),
            });
        }
        out
    }

    proptest! {
        #[test]
        fn line_records_match_the_state_machine(text in "[a,\"\n\r]{0,80}") {
            prop_assert_eq!(records(text.as_bytes(), usize::MAX), reference_records(text.as_bytes()));
        }
    }

    #[test]
    fn records_and_quoted_fields() {
        let data = b"id,name,note\r\n1,\"Smith, John\",\"said \"\"hi\"\"\nthen left\"\n\n2,Doe,5\" tall\n3,x,y";
        let recs = records(data, usize::MAX);
        assert_eq!(recs.len(), 4);
        assert_eq!(&data[recs[0].range()], b"id,name,note");
        let f = fields(&data[recs[1].range()]);
        assert_eq!(
            f,
            vec![
                b"1".to_vec(),
                b"Smith, John".to_vec(),
                b"said \"hi\"\nthen left".to_vec()
            ]
        );
        assert_eq!(fields(&data[recs[2].range()])[2], b"5\" tall");
        assert_eq!(field_count(&data[recs[1].range()]), 3);
        assert_eq!(&data[recs[3].range()], b"3,x,y");
        assert_eq!(locate(data, &recs, data.len() - 1), Some((3, 2)));
        assert_eq!(locate(data, &recs, 18), Some((1, 1)));
        assert_eq!(
            locate(data, &recs, 12),
            None,
            "the line terminator is in no field"
        );
        // Records found line by line match the state machine run over the whole file.
        let mut st = St::FieldStart;
        let mut ends = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            let (next, sep) = st.step(b);
            st = next;
            if sep == Sep::Record {
                ends.push(i + 1);
            }
        }
        let nexts: Vec<usize> = recs.iter().map(|r| r.next).collect();
        assert!(
            nexts[..3].iter().all(|n| ends.contains(n)),
            "{nexts:?} {ends:?}"
        );
        assert_eq!(nexts[3], data.len());
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_csv(b"a,b\n1,2\n3,4\n", false));
        assert!(!looks_like_csv(b"a,b\n1,2\n", false));
        assert!(looks_like_csv(b"a,b\n1,2\n", true));
        assert!(looks_like_csv(b"just one column\nof text\n", true));
        assert!(!looks_like_csv(
            b"Dear all, hello.\nThis is, in short, prose\nand more, of it, here\n",
            false
        ));
        assert!(!looks_like_csv(b"a,b\n\x00\x01,2\n", true));
    }

    #[test]
    fn compare_finds_edits_removals_and_appends() {
        let a = b"id,name\n1,a\n2,b\n3,c\n4,d\n";
        let c = compare(a, b"id,name\n1,a\n2,REDACTED\n3,c\n4,d\n", None);
        assert_eq!(c.edited, vec![2]);
        assert_eq!(
            c.changed_columns.keys().copied().collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(c.common_new_value.as_deref(), Some("REDACTED"));
        let c = compare(a, b"id,name\n1,a\n4,d\n", None);
        assert_eq!(c.removed, vec![2, 3]);
        let c = compare(a, b"id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n", None);
        assert!(c.appended_only());
        let c = compare(a, b"id,name\n1,a\n2,\"b\"\n3,c\n4,d\n", None);
        assert_eq!(c.reformatted, vec![2]);
        assert!(c.edited.is_empty());
        // Unequal replaced runs are paired by their first field.
        let c = compare(a, b"id,name\n1,a\n3,C\n4,d\n", None);
        assert_eq!((c.removed.clone(), c.edited.clone()), (vec![2], vec![3]));
    }
}
