//! Minimal, bounds-checked readers of the formats classification understands, and
//! content sniffing. Nothing here panics on malformed input: readers return `None`
//! (or stop early) instead.

pub mod csv;
pub mod jpeg;
pub mod pdf;
pub mod png;
pub mod tiff;

use serde::Serialize;
use similar::{Algorithm, DiffTag, capture_diff_slices};

/// What a file is, by its content first and its name second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Pdf,
    Jpeg,
    Png,
    Csv,
    Html,
    Text,
    Binary,
}

/// The lower-case extension of a file name (`"Roster.CSV"` → `"csv"`).
pub fn extension(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Sniffs `data`; `name` only decides between readings the content allows (a `.csv`
/// name lets a one-column or slightly ragged text count as CSV, an `.html` name makes
/// text HTML). Magic numbers always win over names.
pub fn sniff(data: &[u8], name: &str) -> Format {
    let ext = extension(name);
    if pdf::is_pdf(data) {
        return Format::Pdf;
    }
    if jpeg::is_jpeg(data) {
        return Format::Jpeg;
    }
    if png::is_png(data) {
        return Format::Png;
    }
    let head = &data[..data.len().min(1024)];
    let trimmed = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let trimmed = &trimmed[trimmed
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(trimmed.len())..];
    let lower: Vec<u8> = trimmed
        .iter()
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return Format::Html;
    }
    if csv::looks_like_csv(data, ext == "csv") {
        return Format::Csv;
    }
    if is_text(data) {
        return if matches!(ext.as_str(), "html" | "htm") {
            Format::Html
        } else {
            Format::Text
        };
    }
    Format::Binary
}

/// No NUL and few control characters in the first 64 KiB.
pub fn is_text(data: &[u8]) -> bool {
    let s = &data[..data.len().min(64 << 10)];
    let bad = s
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c | 0x1b)))
        .count();
    !s.contains(&0) && bad * 100 <= s.len()
}

/// How one metadata item (a JPEG APPn/COM segment, a PNG ancillary chunk) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetaChange {
    /// "EXIF (APP1)", "tEXt 'Comment'"…
    pub item: String,
    /// "added", "removed" or "modified".
    pub change: &'static str,
    /// Offset of the item in the claim (in the original when removed).
    pub offset: u64,
    /// Length in bytes of the item in the claim (in the original when removed).
    pub len: u64,
    /// Its text, for comments and text chunks (the new text unless removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Finer changes inside the item ("DateTime changed"…).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inner: Vec<String>,
}

/// A metadata item to compare.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub label: String,
    pub bytes: &'a [u8],
    pub offset: usize,
    pub text: Option<String>,
}

/// The changes between two ordered lists of items (by bytes): unmatched items are
/// added or removed, and a removed and an added item with the same label count as
/// one modified item. Returns each change with the indexes of its items.
pub fn diff_items(a: &[Item], b: &[Item]) -> Vec<(MetaChange, Option<usize>, Option<usize>)> {
    let ka: Vec<&[u8]> = a.iter().map(|i| i.bytes).collect();
    let kb: Vec<&[u8]> = b.iter().map(|i| i.bytes).collect();
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, &ka, &kb) {
        let (tag, x, y) = op.as_tag_tuple();
        if tag != DiffTag::Equal {
            removed.extend(x);
            added.extend(y);
        }
    }
    let mut out = Vec::new();
    let mut used = vec![false; added.len()];
    for &x in &removed {
        let pairing = added
            .iter()
            .enumerate()
            .position(|(k, &y)| !used[k] && b[y].label == a[x].label);
        match pairing {
            Some(k) => {
                used[k] = true;
                let y = added[k];
                out.push((change(&b[y], "modified"), Some(x), Some(y)));
            }
            None => out.push((change(&a[x], "removed"), Some(x), None)),
        }
    }
    for (k, &y) in added.iter().enumerate() {
        if !used[k] {
            out.push((change(&b[y], "added"), None, Some(y)));
        }
    }
    out.sort_by_key(|(c, _, _)| (c.change == "removed", c.offset));
    out
}

fn change(item: &Item, what: &'static str) -> MetaChange {
    MetaChange {
        item: item.label.clone(),
        change: what,
        offset: item.offset as u64,
        len: item.bytes.len() as u64,
        text: item.text.clone(),
        inner: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_wins_over_names() {
        assert_eq!(sniff(b"%PDF-1.7\n...", "x.csv"), Format::Pdf);
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0", "x.png"), Format::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n", "x.jpg"), Format::Png);
        assert_eq!(sniff(b"id,name\n1,a\n2,b\n", "notes.txt"), Format::Csv);
        assert_eq!(sniff(b"id,name\n1,a\n", "roster.CSV"), Format::Csv);
        assert_eq!(sniff(b"id,name\n1,a\n", "roster.txt"), Format::Text);
        assert_eq!(sniff(b"\x00\x01\x02,\n", "data.csv"), Format::Binary);
        assert_eq!(sniff(b"  <!DOCTYPE html><p>a,b</p>", "x.csv"), Format::Html);
        assert_eq!(sniff(b"hello", "page.html"), Format::Html);
        assert_eq!(extension("a/b.tar.GZ"), "gz");
        assert_eq!(extension(".bashrc"), "");
    }
}
