//! Names how a claim differs from an original: the kind, a sentence for a person in
//! the file's own terms, and structured detail.
//!
//! The checks run from the most specific byte-level facts to the vaguest:
//! truncation (the claim is a prefix), appends (the original is a prefix: a PDF
//! incremental update, CSV rows, or bytes), bit flips (same length, at most
//! [`MAX_FLIP_BYTES`] bytes each differing in at most 2 bits, no three of them
//! adjacent), then format-aware
//! readings (JPEG and PNG metadata, CSV rows), one overwritten range of the same
//! length, a line-ending conversion, and finally the edit script's changes.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::by_format;
use super::changes::{changes, describe};
use super::diff::{common_prefix, common_suffix};
use super::formats::{self, Format, csv, jpeg, pdf, png};
use super::script::{EditScript, edit_script};
use super::words::{and_list, bytes, count, hex_byte, num, preview};

/// Most differing bytes a bit-flip verdict allows.
pub const MAX_FLIP_BYTES: usize = 8;
/// Most differing bits per byte in a bit-flip verdict.
pub const MAX_FLIP_BITS_PER_BYTE: u32 = 2;
/// A run of at least this many equal bytes splits a same-length difference into
/// separate ranges.
pub const OVERWRITE_GAP: usize = 32;
/// Changes named in an `Edited` summary.
pub const TOP_CHANGES: usize = 3;
/// Changes listed in an `Edited` detail.
pub const DETAIL_CHANGES: usize = 100;
/// Wall-clock backstop for the format-aware comparisons.
pub const DEADLINE: Duration = Duration::from_millis(500);

/// The kinds of alteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlterationKind {
    Truncated,
    BitFlip,
    BytesOverwritten,
    AppendedBytes,
    PdfIncrementalUpdate,
    CsvRowsEdited,
    CsvRowsAppended,
    CsvRowsRemoved,
    JpegCommentInserted,
    JpegMetadataChanged,
    PngMetadataChanged,
    Edited,
}

/// How a claim differs from an original.
#[derive(Debug, Clone, Serialize)]
pub struct Alteration {
    pub kind: AlterationKind,
    /// One sentence for a person, in the file's own terms.
    pub summary: String,
    /// 0..1: bytes the edit script copies from the original / max(len_a, len_b).
    pub similarity: f64,
    pub original_len: u64,
    pub claim_len: u64,
    /// Structured facts: offsets, row numbers, columns, bit positions… Always has
    /// `format` (the original's, sniffed) and `script` (op count, copied and inserted
    /// bytes of [`edit_script`]).
    pub detail: Value,
}

/// A kind, its summary and its detail.
pub(crate) struct Verdict {
    pub kind: AlterationKind,
    pub summary: String,
    pub detail: Value,
}

impl Verdict {
    pub fn new(kind: AlterationKind, summary: String, detail: Value) -> Self {
        Self {
            kind,
            summary,
            detail,
        }
    }
}

/// Share of the larger file's bytes that the script copies from the original:
/// `copied / max(original_len, claim_len)`, 1 for two empty files, clamped to 0..1.
pub fn similarity_of(script: &EditScript, original_len: u64, claim_len: u64) -> f64 {
    let max = original_len.max(claim_len);
    if max == 0 {
        return 1.0;
    }
    (script.copied_bytes() as f64 / max as f64).clamp(0.0, 1.0)
}

/// Given an original and a claim that differ, says how. `name` is the claim's or
/// original's file name: it only hints (a `.csv` name lets a ragged or one-column
/// text count as CSV); content sniffing wins where they disagree. Two identical
/// files give `Edited` with the summary "no bytes differ".
pub fn classify(original: &[u8], claim: &[u8], name: &str) -> Alteration {
    classify_with_script(original, claim, name, &edit_script(original, claim))
}

/// [`classify`] with an edit script the caller already has (from [`edit_script`], or
/// any script that builds `claim` from `original`), so it is not computed twice. The
/// script gives `similarity` and the changes of an `Edited` summary.
pub fn classify_with_script(
    original: &[u8],
    claim: &[u8],
    name: &str,
    script: &EditScript,
) -> Alteration {
    let (a_len, b_len) = (original.len() as u64, claim.len() as u64);
    let format = formats::sniff(original, name);
    let ctx = Ctx {
        a: original,
        b: claim,
        name,
        format,
        script,
        deadline: Instant::now().checked_add(DEADLINE),
    };
    let mut v = judge(&ctx);
    if let Value::Object(m) = &mut v.detail {
        m.insert("format".into(), json!(format));
        m.insert(
            "script".into(),
            json!({
                "ops": script.ops.len(),
                "copied_bytes": script.copied_bytes(),
                "inserted_bytes": script.inserted_bytes(),
            }),
        );
    }
    Alteration {
        kind: v.kind,
        summary: v.summary,
        similarity: similarity_of(script, a_len, b_len),
        original_len: a_len,
        claim_len: b_len,
        detail: v.detail,
    }
}

/// What every check may look at.
pub(crate) struct Ctx<'a> {
    pub a: &'a [u8],
    pub b: &'a [u8],
    pub name: &'a str,
    pub format: Format,
    pub script: &'a EditScript,
    pub deadline: Option<Instant>,
}

fn judge(c: &Ctx) -> Verdict {
    let (a, b) = (c.a, c.b);
    if a == b {
        return Verdict::new(
            AlterationKind::Edited,
            "no bytes differ".into(),
            json!({ "identical": true }),
        );
    }
    if a.starts_with(b) {
        return truncated(c);
    }
    if b.starts_with(a) {
        return by_format::appended(c).unwrap_or_else(|| appended_bytes(c));
    }
    if a.len() == b.len()
        && let Some(v) = bit_flips(c)
    {
        return v;
    }
    let structured = match c.format {
        Format::Jpeg => by_format::jpeg(c),
        Format::Png => by_format::png(c),
        Format::Csv => by_format::csv_rows(c),
        _ => None,
    };
    if let Some(v) = structured {
        return v;
    }
    if a.len() == b.len()
        && let Some(v) = overwritten(c)
    {
        return v;
    }
    if let Some(v) = line_endings(c) {
        return v;
    }
    edited(c)
}

fn truncated(c: &Ctx) -> Verdict {
    let (a, b) = (c.a, c.b);
    let mut summary = format!(
        "truncated to {} of {} bytes",
        num(b.len() as u64),
        num(a.len() as u64)
    );
    let mut detail = json!({
        "kept_bytes": b.len(),
        "removed_bytes": a.len() - b.len(),
    });
    match c.format {
        Format::Csv => {
            let recs = csv::records(a, usize::MAX);
            let rows = recs.len().saturating_sub(1) as u64;
            let complete = recs.iter().skip(1).filter(|r| r.end <= b.len()).count() as u64;
            let at_boundary =
                b.is_empty() || recs.iter().any(|r| r.end == b.len() || r.next == b.len());
            if at_boundary {
                summary += &format!(", ending after row {} of {}", num(complete), num(rows));
            } else {
                summary += &format!(", cut inside row {} of {}", num(complete + 1), num(rows));
            }
            detail["csv"] = json!({ "rows": rows, "complete_rows": complete, "cut_inside_a_row": !at_boundary });
        }
        Format::Pdf => {
            let kept = pdf::count_eof(b);
            if pdf::ends_with_eof(b) && kept > 0 {
                let gone = pdf::count_eof(a).saturating_sub(kept);
                summary += &format!(
                    ", exactly at an earlier %%EOF: the last {} removed",
                    if gone == 1 {
                        "incremental update".to_owned()
                    } else {
                        format!("{gone} incremental updates")
                    }
                );
            } else if pdf::ends_with_eof(a) {
                summary += " (the PDF's final %%EOF is gone)";
            }
            detail["pdf"] =
                json!({ "eof_markers_kept": kept, "eof_markers_original": pdf::count_eof(a) });
        }
        Format::Jpeg if a.ends_with(&[0xFF, 0xD9]) => {
            summary += " (the JPEG end-of-image marker is gone)"
        }
        Format::Png if !b.ends_with(&png::crc32(b"IEND").to_be_bytes()) => {
            summary += " (the PNG IEND chunk is gone)"
        }
        _ => {}
    }
    Verdict::new(AlterationKind::Truncated, summary, detail)
}

fn appended_bytes(c: &Ctx) -> Verdict {
    let (a, b) = (c.a, c.b);
    let extra = &b[a.len()..];
    let after = match c.format {
        Format::Jpeg if a.ends_with(&[0xFF, 0xD9]) => " after the JPEG end-of-image marker",
        Format::Png if a.ends_with(&png::crc32(b"IEND").to_be_bytes()) => {
            " after the PNG IEND chunk"
        }
        Format::Pdf if pdf::ends_with_eof(a) => " after %%EOF",
        _ => "",
    };
    let mut detail = json!({ "offset": a.len(), "len": extra.len() });
    if formats::is_text(extra) {
        detail["text"] = json!(preview(extra, 200));
    }
    Verdict::new(
        AlterationKind::AppendedBytes,
        format!("{} appended{after}", bytes(extra.len() as u64)),
        detail,
    )
}

/// Offsets of differing bytes of two equal-length strings, at most `max + 1` of them.
fn differing_offsets(a: &[u8], b: &[u8], max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < a.len() && out.len() <= max {
        i += common_prefix(&a[i..], &b[i..]);
        if i < a.len() {
            out.push(i);
            i += 1;
        }
    }
    out
}

fn bit_flips(c: &Ctx) -> Option<Verdict> {
    let (a, b) = (c.a, c.b);
    let offs = differing_offsets(a, b, MAX_FLIP_BYTES);
    if offs.is_empty() || offs.len() > MAX_FLIP_BYTES {
        return None;
    }
    if offs
        .iter()
        .any(|&i| (a[i] ^ b[i]).count_ones() > MAX_FLIP_BITS_PER_BYTE)
    {
        return None;
    }
    // Three adjacent changed bytes read as an edit ("person" → "PERSON"), not noise.
    if offs.windows(3).any(|w| w[2] == w[0] + 2) {
        return None;
    }
    let bits: u32 = offs.iter().map(|&i| (a[i] ^ b[i]).count_ones()).sum();
    let loc = Locator::new(c);
    let places: Vec<Option<String>> = offs.iter().map(|&i| loc.place(a, i)).collect();
    let flips: Vec<Value> = offs
        .iter()
        .zip(&places)
        .map(|(&i, place)| {
            let x = a[i] ^ b[i];
            let mut f = json!({
                "offset": i,
                "from": hex_byte(a[i]),
                "to": hex_byte(b[i]),
                "bits": (0..8).filter(|k| x >> k & 1 == 1).collect::<Vec<_>>(),
            });
            if let Some(w) = place {
                f["in"] = json!(w);
            }
            f
        })
        .collect();
    let offsets: Vec<String> = offs.iter().map(|&i| num(i as u64)).collect();
    let mut summary = if offs.len() == 1 {
        let i = offs[0];
        format!(
            "{} flipped at offset {} (byte {} → {})",
            count(bits.into(), "bit", "bits"),
            num(i as u64),
            hex_byte(a[i]),
            hex_byte(b[i])
        )
    } else {
        format!(
            "{} flipped in {} at offsets {}",
            count(bits.into(), "bit", "bits"),
            count(offs.len() as u64, "byte", "bytes"),
            and_list(&offsets)
        )
    };
    let mut places: Vec<String> = places.into_iter().flatten().collect();
    places.dedup();
    if !places.is_empty() && places.len() <= 3 {
        summary += &format!(", in {}", and_list(&places));
    }
    let detail = json!({ "bits_flipped": bits, "bytes_changed": offs.len(), "flips": flips });
    Some(Verdict::new(AlterationKind::BitFlip, summary, detail))
}

/// Where bytes of the original are in its own structure: "row 17, column 'name'",
/// "the JPEG entropy-coded data", "the PNG IDAT chunk". Reads the structure once.
enum Locator {
    Csv(Vec<csv::Record>, Vec<String>),
    Jpeg(Vec<jpeg::Segment>),
    Png(Vec<png::Chunk>),
    None,
}

impl Locator {
    fn new(c: &Ctx) -> Self {
        match c.format {
            Format::Csv => {
                let recs = csv::records(c.a, usize::MAX);
                let names = recs
                    .first()
                    .map(|r| csv::fields(&c.a[r.range()]))
                    .unwrap_or_default()
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().to_owned())
                    .collect();
                Locator::Csv(recs, names)
            }
            Format::Jpeg => jpeg::segments(c.a).map_or(Locator::None, Locator::Jpeg),
            Format::Png => png::chunks(c.a).map_or(Locator::None, |(ch, _)| Locator::Png(ch)),
            _ => Locator::None,
        }
    }

    fn place(&self, a: &[u8], offset: usize) -> Option<String> {
        match self {
            Locator::Csv(recs, names) => {
                let (row, field) = csv::locate(a, recs, offset)?;
                let col = match names.get(field) {
                    Some(n) if !n.is_empty() => format!("column '{n}'"),
                    _ => format!("column #{}", field + 1),
                };
                Some(if row == 0 {
                    format!("the header, {col}")
                } else {
                    format!("row {}, {col}", num(row))
                })
            }
            Locator::Jpeg(segs) => {
                let s = segs.iter().find(|s| s.range.contains(&offset))?;
                Some(format!("the JPEG {}", s.label(a)))
            }
            Locator::Png(chunks) => {
                let ch = chunks.iter().find(|ch| ch.range.contains(&offset))?;
                Some(format!("the PNG {} chunk", ch.type_name()))
            }
            Locator::None => None,
        }
    }
}

fn overwritten(c: &Ctx) -> Option<Verdict> {
    let (a, b) = (c.a, c.b);
    let start = common_prefix(a, b);
    let end = a.len() - common_suffix(a, b);
    let mut run = 0;
    let mut differing = 0u64;
    for i in start..end {
        if a[i] == b[i] {
            run += 1;
            if run >= OVERWRITE_GAP {
                return None;
            }
        } else {
            run = 0;
            differing += 1;
        }
    }
    let len = (end - start) as u64;
    let mut summary = format!("{} overwritten at offset {}", bytes(len), num(start as u64));
    let place = match c.format {
        Format::Jpeg | Format::Png => Locator::new(c).place(a, start),
        _ => None,
    };
    if let Some(w) = place {
        summary += &format!(", in {w}");
    }
    let detail = json!({ "offset": start, "len": len, "differing_bytes": differing });
    Some(Verdict::new(
        AlterationKind::BytesOverwritten,
        summary,
        detail,
    ))
}

/// Text whose only change is CRLF ↔ LF line endings.
fn line_endings(c: &Ctx) -> Option<Verdict> {
    if !matches!(c.format, Format::Csv | Format::Text | Format::Html) || !formats::is_text(c.b) {
        return None;
    }
    let crlf = |d: &[u8]| d.windows(2).filter(|w| w == b"\r\n").count() as u64;
    let lf = |d: &[u8]| d.iter().filter(|&&x| x == b'\n').count() as u64;
    let strip = |d: &[u8]| {
        let mut out = Vec::with_capacity(d.len());
        for (i, &x) in d.iter().enumerate() {
            if !(x == b'\r' && d.get(i + 1) == Some(&b'\n')) {
                out.push(x);
            }
        }
        out
    };
    if strip(c.a) != strip(c.b) {
        return None;
    }
    let (ca, cb) = (crlf(c.a), crlf(c.b));
    let lines = ca.abs_diff(cb);
    let summary = if cb == 0 {
        format!(
            "line endings converted from CRLF to LF ({})",
            count(lines, "line", "lines")
        )
    } else if ca == 0 && cb == lf(c.b) {
        format!(
            "line endings converted from LF to CRLF ({})",
            count(lines, "line", "lines")
        )
    } else {
        format!(
            "line endings changed between CRLF and LF on {}",
            count(lines, "line", "lines")
        )
    };
    let detail =
        json!({ "crlf_lines_original": ca, "crlf_lines_claim": cb, "lines_changed": lines });
    Some(Verdict::new(AlterationKind::Edited, summary, detail))
}

fn edited(c: &Ctx) -> Verdict {
    let ch = changes(c.script, c.a.len() as u64);
    let summary = describe(&ch, TOP_CHANGES);
    let detail = json!({
        "change_count": ch.len(),
        "inserted_bytes": ch.iter().map(|x| x.inserted).sum::<u64>(),
        "removed_bytes": ch.iter().map(|x| x.removed).sum::<u64>(),
        "changes": &ch[..ch.len().min(DETAIL_CHANGES)],
        "name": c.name,
    });
    Verdict::new(AlterationKind::Edited, summary, detail)
}
