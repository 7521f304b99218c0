//! Classification tests on realistic synthetic files: a small PDF, a CSV roster with
//! quoted names, a JPEG and a PNG byte structure, and binary scans.

use proptest::prelude::*;
use serde_json::json;

use super::formats::jpeg::tests::{sample_jpeg, seg};
use super::formats::pdf::tests::sample_pdf;
use super::formats::png::tests::{chunk, sample_png};
use super::formats::tiff::tests::exif;
use super::*;

/// Deterministic pseudo-random bytes (a "scan").
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const SURNAMES: [&str; 8] = [
    "Smith", "Garcia", "O'Neil", "Nguyen", "Brown", "Okafor", "Lee", "Kowalski",
];
const GIVEN: [&str; 6] = ["John", "Maria", "Wei", "Ada", "Sam", "Li"];

/// A roster like the leaks have: a quoted "Last, First" name column, a note that
/// sometimes holds quotes, CRLF-free, `rows` data rows.
fn roster_row(i: usize) -> String {
    let note = match i % 5 {
        0 => "\"said \"\"no comment\"\"\"".to_owned(),
        1 => String::new(),
        _ => format!("shift {}", i % 3),
    };
    format!(
        "{},\"{}, {}\",AUSTINRTCC,{}.{:02},{}\n",
        1000 + i,
        SURNAMES[i % 8],
        GIVEN[i % 6],
        (i * 7919) % 90_000,
        i % 100,
        note
    )
}

fn roster(rows: usize) -> Vec<u8> {
    let mut s = String::from("id,name,agency,amount,note\n");
    for i in 0..rows {
        s.push_str(&roster_row(i));
    }
    s.into_bytes()
}

fn kind_and_summary(a: &[u8], b: &[u8], name: &str) -> (AlterationKind, String) {
    let x = classify(a, b, name);
    assert!((0.0..=1.0).contains(&x.similarity));
    assert_eq!(
        (x.original_len, x.claim_len),
        (a.len() as u64, b.len() as u64)
    );
    (x.kind, x.summary)
}

#[test]
fn truncated_binary() {
    let a = noise(2_310_221, 1);
    let x = classify(&a, &a[..1_048_576], "scan.bin");
    assert_eq!(x.kind, AlterationKind::Truncated);
    assert_eq!(x.summary, "truncated to 1,048,576 of 2,310,221 bytes");
    assert_eq!(x.detail["removed_bytes"], json!(2_310_221 - 1_048_576));
    assert!((x.similarity - 1_048_576.0 / 2_310_221.0).abs() < 1e-9);
}

#[test]
fn truncated_csv_and_pdf_in_their_own_terms() {
    let a = roster(3112);
    let cut = String::from_utf8(a.clone())
        .unwrap()
        .match_indices('\n')
        .nth(3000)
        .unwrap()
        .0
        + 1;
    let (k, s) = kind_and_summary(&a, &a[..cut], "roster.csv");
    assert_eq!(k, AlterationKind::Truncated);
    assert!(s.ends_with(", ending after row 3,000 of 3,112"), "{s}");
    let (_, s) = kind_and_summary(&a, &a[..cut + 5], "roster.csv");
    assert!(s.ends_with(", cut inside row 3,001 of 3,112"), "{s}");

    let base = sample_pdf();
    let mut a = base.clone();
    a.extend_from_slice(b"7 0 obj\n<< /Producer (Acrobat) >>\nendobj\nstartxref\n99\n%%EOF\n");
    let (k, s) = kind_and_summary(&a, &base, "report.pdf");
    assert_eq!(k, AlterationKind::Truncated);
    assert!(
        s.ends_with("exactly at an earlier %%EOF: the last incremental update removed"),
        "{s}"
    );
}

#[test]
fn one_bit_flipped() {
    let mut a = noise(200_000, 2);
    a[88_213] = 0x41;
    let mut b = a.clone();
    b[88_213] = 0x43;
    let x = classify(&a, &b, "scan.tif");
    assert_eq!(x.kind, AlterationKind::BitFlip);
    assert_eq!(
        x.summary,
        "1 bit flipped at offset 88,213 (byte 0x41 → 0x43)"
    );
    assert_eq!(x.detail["flips"][0]["bits"], json!([1]));
}

#[test]
fn scattered_bits_flipped() {
    let a = noise(120_000, 3);
    let mut b = a.clone();
    b[1024] ^= 0b0001_0001;
    b[50_000] ^= 0b1000_0000;
    let (k, s) = kind_and_summary(&a, &b, "scan.bin");
    assert_eq!(k, AlterationKind::BitFlip);
    assert_eq!(s, "3 bits flipped in 2 bytes at offsets 1,024 and 50,000");
    // Too many bits in one byte: not a flip.
    let mut c = a.clone();
    c[1024] ^= 0xFF;
    assert_ne!(classify(&a, &c, "scan.bin").kind, AlterationKind::BitFlip);
}

#[test]
fn bit_flip_in_a_csv_names_the_cell() {
    let a = roster(300);
    let at = String::from_utf8(a.clone())
        .unwrap()
        .find("\n1016,\"")
        .unwrap()
        + 7;
    let mut b = a.clone();
    b[at] ^= 0x02;
    let (k, s) = kind_and_summary(&a, &b, "roster.csv");
    assert_eq!(k, AlterationKind::BitFlip);
    assert!(s.ends_with(", in row 17, column 'name'"), "{s}");
}

#[test]
fn range_overwritten() {
    let a = noise(100_000, 4);
    let mut b = a.clone();
    b[12_288..12_288 + 256].copy_from_slice(&noise(256, 5));
    b[12_288] = !a[12_288];
    b[12_288 + 255] = !a[12_288 + 255];
    let x = classify(&a, &b, "scan.bin");
    assert_eq!(x.kind, AlterationKind::BytesOverwritten);
    assert_eq!(x.summary, "256 bytes overwritten at offset 12,288");
    assert!(x.similarity > 0.99);
    // Two separate ranges are an edit, not one overwrite.
    b[90_000..90_100].copy_from_slice(&noise(100, 6));
    let (k, s) = kind_and_summary(&a, &b, "scan.bin");
    assert_eq!(k, AlterationKind::Edited);
    assert!(s.contains("overwritten at offset 12,288"), "{s}");
}

#[test]
fn shared_windows_bound_what_a_byte_diff_can_copy() {
    use super::diff::shared_window_cover;
    let a = noise(2000, 7);
    assert_eq!(shared_window_cover(&a, &noise(2000, 8)), 0);
    assert_eq!(shared_window_cover(&a, &a), 2000);
    // 100 bytes of `a` inside unrelated bytes: exactly those are coverable.
    let b = [noise(500, 9), a[300..400].to_vec(), noise(500, 10)].concat();
    assert_eq!(shared_window_cover(&a, &b), 100);
    assert_eq!(shared_window_cover(b"short", b"short"), 0);
}

#[test]
fn chunk_estimate_tracks_real_similarity() {
    use super::diff::estimated_similarity;
    let a = noise(50_000, 12);
    assert_eq!(estimated_similarity(&a, &a), 1.0);
    let unrelated = estimated_similarity(&a, &noise(50_000, 14));
    assert!(unrelated < 0.01, "{unrelated}");
    // Scattered edits: the estimate stays within the margin diff allows.
    let mut b = a.clone();
    for at in (1_000..50_000).step_by(5_000) {
        b[at..at + 40].copy_from_slice(&noise(40, at as u64));
    }
    let real = similarity_of(&edit_script(&a, &b), a.len() as u64, b.len() as u64);
    let est = estimated_similarity(&a, &b);
    assert!(
        real > 0.9 && (real - est).abs() < 0.2,
        "real {real} estimate {est}"
    );
}

#[test]
fn overwritten_text_range_stays_one_insert_and_applies() {
    // A 1,855-byte range of a text file overwritten with unrelated bytes: too little
    // in common for a byte diff to find copies, so it is one insert, found fast.
    let text: Vec<u8> = (0..600)
        .flat_map(|i| format!("line {i} of the report, officer {}\n", i * 7).into_bytes())
        .collect();
    let mut b = text.clone();
    b[8_504..8_504 + 1_855].copy_from_slice(&noise(1_855, 11));
    let s = edit_script(&text, &b);
    assert_eq!(s.apply(&text).expect("applies"), b);
    let inserted: usize = s
        .ops
        .iter()
        .map(|o| match o {
            EditOp::Insert(d) => d.len(),
            EditOp::Copy { .. } => 0,
        })
        .sum();
    assert!(inserted <= 1_855 + 16, "{inserted}");
    assert_eq!(
        classify(&text, &b, "notes.txt").kind,
        AlterationKind::BytesOverwritten
    );
}

#[test]
fn pdf_incremental_update() {
    let a = sample_pdf();
    let update = b"\n%% incremental update\n1234 0 obj\n<< /Producer (Acrobat 20.1) /ModDate (D:20200620123456) >>\nendobj\nstartxref\n5678\n%%EOF\n";
    let b = [a.as_slice(), update].concat();
    let x = classify(&a, &b, "report.pdf");
    assert_eq!(x.kind, AlterationKind::PdfIncrementalUpdate);
    assert_eq!(
        x.summary,
        format!(
            "{} bytes appended after %%EOF: a PDF incremental update changing /Producer, /ModDate",
            update.len()
        )
    );
    assert_eq!(x.detail["objects"][0]["number"], json!(1234));
    // Content wins over the name.
    assert_eq!(
        classify(&a, &b, "report.txt").kind,
        AlterationKind::PdfIncrementalUpdate
    );
    // Without a %%EOF of its own it is just bytes.
    let c = [a.as_slice(), b"\n% trailing junk\n"].concat();
    let (k, s) = kind_and_summary(&a, &c, "report.pdf");
    assert_eq!(
        (k, s.as_str()),
        (
            AlterationKind::AppendedBytes,
            "17 bytes appended after %%EOF"
        )
    );
}

#[test]
fn csv_rows_appended() {
    let a = roster(3112);
    let mut b = a.clone();
    for i in 3112..3115 {
        b.extend_from_slice(roster_row(i).as_bytes());
    }
    let x = classify(&a, &b, "roster.csv");
    assert_eq!(x.kind, AlterationKind::CsvRowsAppended);
    assert_eq!(x.summary, "3 rows appended to 3,112 (now 3,115)");
    assert_eq!(x.detail["appended_rows"], json!([3113, 3114, 3115]));
    // Sniffed without the name too.
    assert_eq!(
        classify(&a, &b, "download").kind,
        AlterationKind::CsvRowsAppended
    );
}

#[test]
fn appended_bytes() {
    let a = noise(5000, 7);
    let b = [a.as_slice(), b"<!-- mirror -->"[..14].as_ref()].concat();
    let (k, s) = kind_and_summary(&a, &b, "scan.bin");
    assert_eq!(
        (k, s.as_str()),
        (AlterationKind::AppendedBytes, "14 bytes appended")
    );
    // A partial row glued to the last row of a CSV is bytes, not rows.
    let a = roster(50);
    let b = [a.as_slice(), b"1050,\"Lee, Sam"].concat();
    let (k, s) = kind_and_summary(&a, &b, "roster.csv");
    assert_eq!(
        (k, s.as_str()),
        (AlterationKind::AppendedBytes, "14 bytes appended")
    );
    // Data after a JPEG's EOI.
    let j = sample_jpeg(&[]);
    let b = [j.as_slice(), b"PK\x03\x04hidden zip"].concat();
    let (k, s) = kind_and_summary(&j, &b, "photo.jpg");
    assert_eq!(k, AlterationKind::AppendedBytes);
    assert_eq!(s, "14 bytes appended after the JPEG end-of-image marker");
}

#[test]
fn csv_rows_edited() {
    let a = roster(3112);
    // Data row 17 is i = 16 ("Smith, Sam"), row 240 is i = 239 ("Kowalski, Li").
    let text = String::from_utf8(a.clone()).unwrap();
    let b = text
        .replace(
            &roster_row(16),
            &roster_row(16).replace("Smith, Sam", "Smyth, Sam"),
        )
        .replace(
            &roster_row(239),
            &roster_row(239).replace("Kowalski, Li", "Doe, Jane"),
        );
    let x = classify(&a, b.as_bytes(), "roster.csv");
    assert_eq!(x.kind, AlterationKind::CsvRowsEdited);
    assert_eq!(
        x.summary,
        "rows 17 and 240 of 3,112 changed (column 'name')"
    );
    assert_eq!(
        x.detail["edited_detail"][0]["fields"][0]["old"],
        json!("Smith, Sam")
    );
    assert_eq!(
        x.detail["edited_detail"][1]["fields"][0]["new"],
        json!("Doe, Jane")
    );
    assert_eq!(x.detail["edited_rows"], json!([17, 240]));
}

#[test]
fn csv_redaction_and_numbers_are_recognised() {
    let a = roster(400);
    let text = String::from_utf8(a.clone()).unwrap();
    let b = text
        .replace("1016,\"Smith, Sam\"", "1016,\"REDACTED\"")
        .replace("1239,\"Kowalski, Li\"", "1239,REDACTED");
    let (k, s) = kind_and_summary(&a, b.as_bytes(), "roster.csv");
    assert_eq!(k, AlterationKind::CsvRowsEdited);
    assert_eq!(
        s,
        "rows 17 and 240 of 400 changed (column 'name' set to \"REDACTED\")"
    );
    let c = text
        .replace("1016,\"Smith, Sam\"", "1016,4411")
        .replace("1239,\"Kowalski, Li\"", "1239,\"9,120\"");
    let (k, s) = kind_and_summary(&a, c.as_bytes(), "roster.csv");
    assert_eq!(k, AlterationKind::CsvRowsEdited);
    assert_eq!(
        s,
        "rows 17 and 240 of 400 changed (column 'name' replaced by numbers)"
    );
}

#[test]
fn csv_rows_removed_and_mixed() {
    let a = roster(3112);
    let text = String::from_utf8(a.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keep = |skip: &[usize]| -> Vec<String> {
        lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, l)| l.to_string())
            .collect()
    };
    let b = keep(&[5, 6, 7, 900]).join("\n") + "\n";
    let x = classify(&a, b.as_bytes(), "roster.csv");
    assert_eq!(x.kind, AlterationKind::CsvRowsRemoved);
    assert_eq!(x.summary, "rows 5–7 and 900 of 3,112 removed (now 3,108)");
    assert_eq!(x.detail["removed_rows"], json!([5, 6, 7, 900]));

    let mut m = keep(&[5]);
    m[100] = m[100].replace("AUSTINRTCC", "MIAMIHIDTA");
    m.insert(2000, "9999,\"Planted, Row\",AUSTINRTCC,1.00,".to_owned());
    let b = m.join("\n") + "\n";
    let (k, s) = kind_and_summary(&a, b.as_bytes(), "roster.csv");
    assert_eq!(k, AlterationKind::CsvRowsEdited);
    assert_eq!(
        s,
        "1 row changed (column 'agency' set to \"MIAMIHIDTA\"), 1 row removed and 1 row inserted of 3,112 (now 3,112)"
    );
}

#[test]
fn csv_header_change_and_reformatting() {
    let a = roster(100);
    let text = String::from_utf8(a.clone()).unwrap();
    let b = text.replacen(
        "id,name,agency,amount,note",
        "id,full_name,agency,amount,note",
        1,
    );
    let (k, s) = kind_and_summary(&a, b.as_bytes(), "roster.csv");
    assert_eq!(k, AlterationKind::CsvRowsEdited);
    assert!(
        s.starts_with("header changed (now 'id', 'full_name', 'agency', 'amount' and 'note')"),
        "{s}"
    );
    let c = text.replace("AUSTINRTCC", "\"AUSTINRTCC\"");
    let (k, s) = kind_and_summary(&a, c.as_bytes(), "roster.csv");
    assert_eq!(k, AlterationKind::Edited);
    assert!(
        s.ends_with("reformatted with the same field values (quoting or spacing)"),
        "{s}"
    );
    let d = text.replace('\n', "\r\n");
    let (k, s) = kind_and_summary(&a, d.as_bytes(), "roster.csv");
    assert_eq!(
        (k, s.as_str()),
        (
            AlterationKind::Edited,
            "line endings converted from LF to CRLF (101 lines)"
        )
    );
}

#[test]
fn jpeg_comment_inserted() {
    let a = sample_jpeg(&[]);
    let b = sample_jpeg(&[seg(0xFE, b"Edited with GIMP; 123")]);
    let x = classify(&a, &b, "IMG_0042.JPG");
    assert_eq!(x.kind, AlterationKind::JpegCommentInserted);
    assert_eq!(
        x.summary,
        "JPEG comment segment inserted: \"Edited with GIMP; 123\""
    );
    assert_eq!(x.detail["changes"][0]["offset"], json!(20));
    // Content wins over a wrong name.
    assert_eq!(
        classify(&a, &b, "IMG_0042.csv").kind,
        AlterationKind::JpegCommentInserted
    );
}

#[test]
fn jpeg_metadata_changed() {
    let app1 = |sw: &str, gps: bool| seg(0xE1, &[b"Exif\0\0".as_slice(), &exif(sw, gps)].concat());
    let a = sample_jpeg(&[app1("GIMP 2.10", true)]);
    let b = sample_jpeg(&[app1("Photoshop", false)]);
    let x = classify(&a, &b, "IMG_0042.jpg");
    assert_eq!(x.kind, AlterationKind::JpegMetadataChanged);
    assert_eq!(
        x.summary,
        "JPEG metadata changed: EXIF (APP1) modified (Software changed; GPSLatitudeRef and GPSLatitude removed); image data unchanged"
    );
    // EXIF stripped and a comment added.
    let c = sample_jpeg(&[seg(0xFE, b"scrubbed")]);
    let (k, s) = kind_and_summary(&a, &c, "IMG_0042.jpg");
    assert_eq!(k, AlterationKind::JpegMetadataChanged);
    assert_eq!(
        s,
        "JPEG metadata changed: comment (COM) added: \"scrubbed\" and EXIF (APP1) removed; image data unchanged"
    );
    // Changed image data is not metadata.
    let mut d = b.clone();
    let n = d.len();
    d[n - 200..n - 150].copy_from_slice(&[0x11; 50]);
    assert_ne!(
        classify(&b, &d, "IMG_0042.jpg").kind,
        AlterationKind::JpegMetadataChanged
    );
}

#[test]
fn png_metadata_changed() {
    let time = |s: u8| chunk(b"tIME", &[0x07, 0xE4, 6, 19, 10, 0, s]);
    let a = sample_png(&[time(1)], &[]);
    let b = sample_png(
        &[time(2)],
        &[chunk(b"tEXt", b"Comment\0leaked by a friend")],
    );
    let x = classify(&a, &b, "map.png");
    assert_eq!(x.kind, AlterationKind::PngMetadataChanged);
    assert_eq!(
        x.summary,
        "PNG metadata changed: tIME modified and tEXt 'Comment' added: \"leaked by a friend\"; image data unchanged"
    );
    // A tampered chunk with a stale CRC is called out.
    let mut c = b.clone();
    let at = c.windows(6).position(|w| w == b"leaked").unwrap();
    c[at] = b'L';
    let (k, s) = kind_and_summary(&a, &c, "map.png");
    assert_eq!(k, AlterationKind::PngMetadataChanged);
    assert!(
        s.ends_with("(1 chunk with a bad CRC: tEXt 'Comment')"),
        "{s}"
    );
    // IDAT changes are not metadata.
    let mut d = a.clone();
    let at = d.windows(4).position(|w| w == b"IDAT").unwrap() + 20;
    d[at] ^= 0xFF;
    assert_ne!(
        classify(&a, &d, "map.png").kind,
        AlterationKind::PngMetadataChanged
    );
}

#[test]
fn edited_names_the_top_changes() {
    let a = noise(30_000, 8);
    let mut b = a[..1000].to_vec();
    b.extend(noise(412, 9));
    b.extend_from_slice(&a[1000..20_000]);
    b.extend_from_slice(&a[20_012..]);
    let x = classify(&a, &b, "scan.bin");
    assert_eq!(x.kind, AlterationKind::Edited);
    assert_eq!(
        x.summary,
        "412 bytes inserted at offset 1,000 and 12 bytes removed at 20,000"
    );
    assert_eq!(x.detail["change_count"], json!(2));
    let mut c = b.clone();
    for at in [5000, 9000, 15_000, 25_000] {
        c.splice(at..at, noise(3, at as u64));
    }
    let (_, s) = kind_and_summary(&a, &c, "scan.bin");
    assert_eq!(
        s,
        "412 bytes inserted at offset 1,000, 3 bytes inserted at 4,588, 12 bytes removed at 20,000, and 3 more changes (9 bytes inserted, 0 removed)"
    );
}

#[test]
fn identical_files() {
    let a = roster(10);
    let x = classify(&a, &a, "roster.csv");
    assert_eq!(
        (x.kind, x.summary.as_str(), x.similarity),
        (AlterationKind::Edited, "no bytes differ", 1.0)
    );
}

#[test]
fn similarity_counts_copied_bytes() {
    let s = EditScript::new(vec![
        EditOp::Copy { offset: 0, len: 75 },
        EditOp::Insert(vec![0; 25]),
    ]);
    assert_eq!(similarity_of(&s, 80, 100), 0.75);
    assert_eq!(similarity_of(&EditScript::default(), 0, 0), 1.0);
    assert_eq!(similarity_of(&s, 10, 10), 1.0);
}

#[test]
fn alteration_serializes() {
    let a = noise(1000, 10);
    let x = classify(&a, &a[..10], "scan.bin");
    let v = serde_json::to_value(&x).unwrap();
    assert_eq!(v["kind"], json!("truncated"));
    assert_eq!(v["detail"]["format"], json!("binary"));
    assert_eq!(v["detail"]["script"]["ops"], json!(1));
}

const NAMES: [&str; 8] = [
    "a.pdf", "a.csv", "a.jpg", "a.jpeg", "a.png", "a.html", "a.txt", "a",
];

/// One of the sample files, or noise.
fn sample(which: u8) -> Vec<u8> {
    match which % 5 {
        0 => sample_pdf(),
        1 => roster(40),
        2 => sample_jpeg(&[seg(0xFE, b"hi")]),
        3 => sample_png(&[], &[]),
        _ => noise(600, which as u64),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn classify_never_panics_on_arbitrary_bytes(
        a in proptest::collection::vec(any::<u8>(), 0..400),
        b in proptest::collection::vec(any::<u8>(), 0..400),
        name in 0usize..8,
    ) {
        let x = classify(&a, &b, NAMES[name]);
        prop_assert!((0.0..=1.0).contains(&x.similarity));
    }

    #[test]
    fn classify_never_panics_on_damaged_samples(
        which in any::<u8>(),
        edits in proptest::collection::vec((any::<u16>(), 0usize..40, any::<u8>(), 0u8..4), 1..5),
        name in 0usize..8,
    ) {
        let a = sample(which);
        let mut b = a.clone();
        for (at, len, byte, op) in edits {
            let at = at as usize % (b.len() + 1);
            let end = (at + len).min(b.len());
            match op {
                0 => { b.splice(at..at, std::iter::repeat_n(byte, len)); }
                1 => { b.drain(at..end); }
                2 => { for x in &mut b[at..end] { *x ^= byte; } }
                _ => b.truncate(at),
            }
        }
        let x = classify(&a, &b, NAMES[name]);
        prop_assert!((0.0..=1.0).contains(&x.similarity));
        // And the other way round.
        let y = classify(&b, &a, NAMES[name]);
        prop_assert!((0.0..=1.0).contains(&y.similarity));
        prop_assert_eq!(edit_script(&a, &b).apply(&a).unwrap(), b);
    }
}
