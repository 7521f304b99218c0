//! Verdicts that read the file's format: PDF incremental updates, CSV rows, JPEG
//! segments and PNG chunks. Each returns `None` when its reading does not apply, and
//! classification moves on.

use serde_json::{Value, json};

use super::classify::{AlterationKind, Ctx, Verdict};
use super::formats::{Format, Item, MetaChange, csv, diff_items, jpeg, pdf, png, tiff};
use super::words::{and_list, bytes, capped_list, count, num, preview, runs};

/// Keys named in a PDF update summary.
const SUMMARY_KEYS: usize = 8;
/// Stream plumbing keys, left out of a PDF update summary (kept in detail).
const PLUMBING_KEYS: [&str; 4] = ["/Length", "/Filter", "/DecodeParms", "/DL"];
/// Row numbers or runs named in a CSV summary before counting the rest.
const SUMMARY_RUNS: usize = 4;
/// Columns named in a CSV summary.
const SUMMARY_COLUMNS: usize = 4;
/// Characters of a comment or text shown in a summary.
const SUMMARY_TEXT: usize = 80;

/// The original is a prefix of the claim: a PDF incremental update or CSV rows.
pub(crate) fn appended(c: &Ctx) -> Option<Verdict> {
    let extra = &c.b[c.a.len()..];
    match c.format {
        Format::Pdf if pdf::find(extra, b"%%EOF").is_some() => Some(pdf_update(c, extra)),
        Format::Csv => {
            let cmp = csv::compare(c.a, c.b, c.deadline);
            if !cmp.appended_only() || !cmp.inserted_rows_well_formed {
                return None;
            }
            let n = cmp.inserted.len() as u64;
            let summary = format!(
                "{} appended to {} (now {})",
                count(n, "row", "rows"),
                num(cmp.original_rows),
                num(cmp.claim_rows)
            );
            let detail = json!({
                "offset": c.a.len(),
                "len": extra.len(),
                "original_rows": cmp.original_rows,
                "claim_rows": cmp.claim_rows,
                "appended_rows": cmp.inserted,
                "columns": cmp.columns,
            });
            Some(Verdict::new(
                AlterationKind::CsvRowsAppended,
                summary,
                detail,
            ))
        }
        _ => None,
    }
}

fn pdf_update(c: &Ctx, extra: &[u8]) -> Verdict {
    let up = pdf::read_update(extra);
    let updates = pdf::count_eof(extra);
    let mut keys: Vec<&str> = Vec::new();
    for o in up.objects.iter().filter(|o| !o.is_structural()) {
        for k in &o.keys {
            if !PLUMBING_KEYS.contains(&k.as_str()) && !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let what = if updates > 1 {
        format!("{updates} PDF incremental updates")
    } else {
        "a PDF incremental update".to_owned()
    };
    let content_objects = up.objects.iter().filter(|o| !o.is_structural()).count() as u64;
    let change = if !keys.is_empty() {
        let shown = keys[..keys.len().min(SUMMARY_KEYS)].join(", ");
        match keys.len().saturating_sub(SUMMARY_KEYS) {
            0 => format!("{what} changing {shown}"),
            more => format!(
                "{what} changing {shown} and {} more",
                count(more as u64, "key", "keys")
            ),
        }
    } else if content_objects > 0 {
        format!(
            "{what} with {} and no dictionary keys",
            count(content_objects, "object", "objects")
        )
    } else {
        format!("{what} with no new objects")
    };
    let place = if pdf::ends_with_eof(c.a) {
        "after %%EOF"
    } else {
        "to the PDF"
    };
    let summary = format!("{} appended {place}: {change}", bytes(extra.len() as u64));
    let detail = json!({
        "offset": c.a.len(),
        "len": extra.len(),
        "updates": updates,
        "keys": keys,
        "objects": up.objects,
        "has_xref_table": up.has_xref_table,
        "has_trailer": up.has_trailer,
    });
    Verdict::new(AlterationKind::PdfIncrementalUpdate, summary, detail)
}

/// "row 17", "rows 17 and 240", "42 rows (17, 240, 300–310 …)".
fn rows_phrase(rows: &[u64]) -> String {
    let r = runs(rows);
    if rows.len() == 1 {
        format!("row {}", r[0])
    } else if r.len() <= SUMMARY_RUNS {
        format!("rows {}", and_list(&r))
    } else {
        format!(
            "{} rows ({} …)",
            num(rows.len() as u64),
            r[..SUMMARY_RUNS - 1].join(", ")
        )
    }
}

/// "(column 'name')", "(column 'name' set to \"REDACTED\")", "(columns 'a' and 'b')".
fn columns_phrase(cmp: &csv::Comparison) -> String {
    let labels: Vec<String> = cmp
        .changed_columns
        .keys()
        .map(|&i| cmp.column_label(i))
        .collect();
    if labels.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "{} {}",
        if labels.len() == 1 {
            "column"
        } else {
            "columns"
        },
        capped_list(&labels, SUMMARY_COLUMNS, "columns")
    );
    if let Some(v) = &cmp.common_new_value
        && v.chars().count() <= 40
    {
        s += &format!(" set to \"{}\"", preview(v.as_bytes(), 40));
    } else if cmp.new_values_numeric {
        s += " replaced by numbers";
    }
    format!(" ({s})")
}

/// CSV rows edited, removed or inserted (not only appended at the end: that is an
/// append, unless bytes before the end changed too).
pub(crate) fn csv_rows(c: &Ctx) -> Option<Verdict> {
    if !csv::looks_like_csv(c.b, true) {
        return None;
    }
    let cmp = csv::compare(c.a, c.b, c.deadline);
    let total = num(cmp.original_rows);
    let now = num(cmp.claim_rows);
    let (edited, removed, inserted) = (&cmp.edited, &cmp.removed, &cmp.inserted);
    let detail = csv_detail(&cmp);
    let header = if cmp.header_changed {
        format!(
            "header changed (now {}); ",
            and_list(
                &cmp.claim_columns
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
            )
        )
    } else {
        String::new()
    };
    let (kind, body) = match (edited.is_empty(), removed.is_empty(), inserted.is_empty()) {
        (true, true, true) if cmp.header_changed => (
            AlterationKind::CsvRowsEdited,
            "no data row changed".to_owned(),
        ),
        (true, true, true) if !cmp.reformatted.is_empty() => {
            let s = format!(
                "{} of {total} reformatted with the same field values (quoting or spacing)",
                rows_phrase(&cmp.reformatted)
            );
            return Some(Verdict::new(AlterationKind::Edited, s, detail));
        }
        (true, true, true) => return None,
        (false, true, true) => (
            AlterationKind::CsvRowsEdited,
            format!(
                "{} of {total} changed{}",
                rows_phrase(edited),
                columns_phrase(&cmp)
            ),
        ),
        (true, false, true) => (
            AlterationKind::CsvRowsRemoved,
            format!("{} of {total} removed (now {now})", rows_phrase(removed)),
        ),
        (true, true, false) if cmp.appended_only() => (
            AlterationKind::CsvRowsAppended,
            format!(
                "{} appended to {total} (now {now})",
                count(inserted.len() as u64, "row", "rows")
            ),
        ),
        _ => {
            let mut parts = Vec::new();
            if !edited.is_empty() {
                parts.push(format!(
                    "{} changed{}",
                    count(edited.len() as u64, "row", "rows"),
                    columns_phrase(&cmp)
                ));
            }
            if !removed.is_empty() {
                parts.push(format!(
                    "{} removed",
                    count(removed.len() as u64, "row", "rows")
                ));
            }
            if !inserted.is_empty() {
                parts.push(format!(
                    "{} inserted",
                    count(inserted.len() as u64, "row", "rows")
                ));
            }
            (
                AlterationKind::CsvRowsEdited,
                format!("{} of {total} (now {now})", and_list(&parts)),
            )
        }
    };
    let kind = if cmp.header_changed {
        AlterationKind::CsvRowsEdited
    } else {
        kind
    };
    Some(Verdict::new(kind, format!("{header}{body}"), detail))
}

fn csv_detail(cmp: &csv::Comparison) -> Value {
    const LIST: usize = 1000;
    let cap = |v: &[u64]| v[..v.len().min(LIST)].to_vec();
    json!({
        "columns": cmp.columns,
        "original_rows": cmp.original_rows,
        "claim_rows": cmp.claim_rows,
        "header_changed": cmp.header_changed,
        "claim_columns": cmp.claim_columns,
        "edited_rows": cap(&cmp.edited),
        "edited_count": cmp.edited.len(),
        "edited_detail": cmp.edited_detail,
        "changed_columns": cmp.changed_columns.iter().map(|(&i, &n)| json!({ "column": cmp.column_label(i), "index": i, "fields": n })).collect::<Vec<_>>(),
        "removed_rows": cap(&cmp.removed),
        "removed_count": cmp.removed.len(),
        "inserted_rows": cap(&cmp.inserted),
        "inserted_count": cmp.inserted.len(),
        "reformatted_rows": cap(&cmp.reformatted),
        "common_new_value": cmp.common_new_value,
    })
}

/// "EXIF (APP1) modified (Software changed; GPSLatitude removed)".
fn change_phrase(m: &MetaChange) -> String {
    let mut s = format!("{} {}", m.item, m.change);
    if !m.inner.is_empty() {
        s += &format!(" ({})", m.inner.join("; "));
    } else if let Some(t) = &m.text
        && m.change != "removed"
    {
        s += &format!(": \"{}\"", preview(t.as_bytes(), SUMMARY_TEXT));
    }
    s
}

/// The tag changes inside a modified EXIF block.
fn exif_inner(old: &[u8], new: &[u8]) -> Vec<String> {
    match (tiff::tags(old), tiff::tags(new)) {
        (Some(x), Some(y)) => tiff::describe_changes(&x, &y, 5),
        _ => Vec::new(),
    }
}

/// JPEG: only APPn/COM segments changed, every other segment and the entropy-coded
/// data byte-identical.
pub(crate) fn jpeg(c: &Ctx) -> Option<Verdict> {
    let sa = jpeg::segments(c.a)?;
    let sb = jpeg::segments(c.b)?;
    let image = |segs: &[jpeg::Segment], d: &[u8]| -> Vec<Vec<u8>> {
        segs.iter()
            .filter(|s| !s.is_metadata())
            .map(|s| d[s.range.clone()].to_vec())
            .collect()
    };
    if image(&sa, c.a) != image(&sb, c.b) {
        return None;
    }
    fn items<'d>(segs: &[jpeg::Segment], d: &'d [u8]) -> Vec<(Item<'d>, Vec<u8>)> {
        segs.iter()
            .filter(|s| s.is_metadata())
            .map(|s| {
                let text = (s.marker == jpeg::COM)
                    .then(|| String::from_utf8_lossy(s.payload(d)).into_owned());
                let item = Item {
                    label: s.label(d),
                    bytes: &d[s.range.clone()],
                    offset: s.range.start,
                    text,
                };
                (item, s.payload(d).to_vec())
            })
            .collect()
    }
    let (ia, ib) = (items(&sa, c.a), items(&sb, c.b));
    let la: Vec<Item> = ia.iter().map(|x| x.0.clone()).collect();
    let lb: Vec<Item> = ib.iter().map(|x| x.0.clone()).collect();
    let mut changes = Vec::new();
    for (mut m, x, y) in diff_items(&la, &lb) {
        if let (Some(x), Some(y)) = (x, y)
            && m.item.starts_with("EXIF")
        {
            m.inner = exif_inner(
                ia[x].1.get(6..).unwrap_or_default(),
                ib[y].1.get(6..).unwrap_or_default(),
            );
        }
        changes.push(m);
    }
    if changes.is_empty() {
        return None;
    }
    let detail = json!({ "changes": changes, "image_data_unchanged": true });
    let comments: Vec<&MetaChange> = changes
        .iter()
        .filter(|m| m.item == "comment (COM)" && m.change == "added")
        .collect();
    if comments.len() == changes.len() {
        let texts: Vec<String> = comments
            .iter()
            .map(|m| {
                format!(
                    "\"{}\"",
                    preview(
                        m.text.as_deref().unwrap_or_default().as_bytes(),
                        SUMMARY_TEXT
                    )
                )
            })
            .collect();
        let summary = if texts.len() == 1 {
            format!("JPEG comment segment inserted: {}", texts[0])
        } else {
            format!(
                "{} JPEG comment segments inserted: {}",
                texts.len(),
                and_list(&texts)
            )
        };
        return Some(Verdict::new(
            AlterationKind::JpegCommentInserted,
            summary,
            detail,
        ));
    }
    let phrases: Vec<String> = changes.iter().map(change_phrase).collect();
    let summary = format!(
        "JPEG metadata changed: {}; image data unchanged",
        capped_list(&phrases, 4, "segments")
    );
    Some(Verdict::new(
        AlterationKind::JpegMetadataChanged,
        summary,
        detail,
    ))
}

/// PNG: only ancillary chunks changed; IHDR, PLTE, the IDAT data, other critical
/// chunks and anything after IEND identical.
pub(crate) fn png(c: &Ctx) -> Option<Verdict> {
    let (ca, ta) = png::chunks(c.a)?;
    let (cb, tb) = png::chunks(c.b)?;
    /// The IDAT data, and every other critical chunk's type and data.
    type Image = (Vec<u8>, Vec<([u8; 4], Vec<u8>)>);
    let image = |chunks: &[png::Chunk], d: &[u8]| -> Image {
        let mut idat = Vec::new();
        let mut critical = Vec::new();
        for ch in chunks.iter().filter(|ch| ch.is_critical()) {
            if &ch.ty == b"IDAT" {
                idat.extend_from_slice(&d[ch.data.clone()]);
            } else {
                critical.push((ch.ty, d[ch.data.clone()].to_vec()));
            }
        }
        (idat, critical)
    };
    if image(&ca, c.a) != image(&cb, c.b) || c.a[ta] != c.b[tb] {
        return None;
    }
    fn items<'d>(chunks: &[png::Chunk], d: &'d [u8]) -> Vec<(Item<'d>, Vec<u8>)> {
        chunks
            .iter()
            .filter(|ch| !ch.is_critical())
            .map(|ch| {
                let text = ch.text(d).map(|t| String::from_utf8_lossy(&t).into_owned());
                let item = Item {
                    label: ch.label(d),
                    bytes: &d[ch.range.clone()],
                    offset: ch.range.start,
                    text,
                };
                (item, d[ch.data.clone()].to_vec())
            })
            .collect()
    }
    let (ia, ib) = (items(&ca, c.a), items(&cb, c.b));
    let la: Vec<Item> = ia.iter().map(|x| x.0.clone()).collect();
    let lb: Vec<Item> = ib.iter().map(|x| x.0.clone()).collect();
    let mut changes = Vec::new();
    for (mut m, x, y) in diff_items(&la, &lb) {
        if let (Some(x), Some(y)) = (x, y)
            && m.item == "eXIf"
        {
            m.inner = exif_inner(&ia[x].1, &ib[y].1);
        }
        changes.push(m);
    }
    if changes.is_empty() {
        return None;
    }
    let bad_crc: Vec<String> = cb
        .iter()
        .filter(|ch| !ch.crc_ok)
        .map(|ch| ch.label(c.b))
        .collect();
    let phrases: Vec<String> = changes.iter().map(change_phrase).collect();
    let mut summary = format!(
        "PNG metadata changed: {}; image data unchanged",
        capped_list(&phrases, 4, "chunks")
    );
    if !bad_crc.is_empty() {
        summary += &format!(
            " ({} with a bad CRC: {})",
            count(bad_crc.len() as u64, "chunk", "chunks"),
            capped_list(&bad_crc, 3, "chunks")
        );
    }
    let detail =
        json!({ "changes": changes, "image_data_unchanged": true, "bad_crc_chunks": bad_crc });
    Some(Verdict::new(
        AlterationKind::PngMetadataChanged,
        summary,
        detail,
    ))
}
