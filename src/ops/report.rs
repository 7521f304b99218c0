//! Alteration reports (`identify --report-dir`) and `verify-report`.
//!
//! A report says a claim was made from a stored original and proves it: it holds
//! the claim's and the original's BLAKE3 ids, a byte-level edit script that turns
//! the original into the claim, and the original's inclusion proof. Anyone with the
//! original (from the store or an extracted copy) can apply the script and check that
//! the result hashes to the claim (docs/PROOFS.md §10).
//!
//! ```text
//! custody alteration report v1
//! claim <hex> <size>
//! original <hex> <size>
//! kind <alteration kind>
//! similarity <0.0000..1.0000>
//! summary <one line>
//! script
//! copy <offset> <len> | insert <base64>      (one op per line)
//! end
//! <the original's inclusion proof, as `prove` writes it>
//! ```

use std::path::Path;

use serde::Serialize;

use crate::alter::EditScript;
use crate::error::{Error, IoContext, Result};
use crate::id::BlobId;
use crate::manifest::proof::{Anchor, Proof, Trust, verify};
use crate::ops::identify::Original;
use crate::ops::prove::{Target, prove};
use crate::store::Store;

pub const REPORT_HEADER: &str = "custody alteration report v1";
const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

/// The report text for one original of an altered claim.
pub fn write_report(store: &Store, claim: BlobId, claim_size: u64, o: &Original) -> Result<String> {
    let first = o
        .occurrences
        .first()
        .ok_or_else(|| Error::Invalid("original has no entry to prove".into()))?;
    let proof = prove(store, &first.release, Target::Path(&first.path.escaped()))?;
    let script = o
        .script
        .as_ref()
        .ok_or_else(|| Error::Invalid("no edit script for the original".into()))?;
    Ok(Report {
        claim: (claim, claim_size),
        original: (o.blake3, o.size),
        kind: serde_json::to_value(o.alteration.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        similarity: o.similarity,
        summary: o.alteration.summary.clone(),
        script: script.clone(),
        proof,
    }
    .encode())
}

/// A parsed report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub claim: (BlobId, u64),
    pub original: (BlobId, u64),
    pub kind: String,
    /// Written with four decimals, so it reads back rounded to them.
    pub similarity: f64,
    pub summary: String,
    pub script: EditScript,
    pub proof: Proof,
}

fn field<'a>(line: Option<&'a str>, name: &str) -> Result<&'a str> {
    line.and_then(|l| l.strip_prefix(name))
        .and_then(|l| l.strip_prefix(' '))
        .ok_or_else(|| Error::Invalid(format!("report: expected a '{name}' line")))
}

/// `<64 lower-case hex digits> <size>`, the size decimal without leading zeros: the
/// one form [`Report::encode`] writes.
fn id_size(s: &str, what: &str) -> Result<(BlobId, u64)> {
    let bad = |part: &str| Error::Invalid(format!("report: bad {what} {part}"));
    let (h, n) = s
        .split_once(' ')
        .ok_or_else(|| Error::Invalid(format!("report: {what} needs a hash and a size")))?;
    if h.len() != 64
        || !h
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad("hash"));
    }
    let id: BlobId = h.parse().map_err(|_| bad("hash"))?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0'))
    {
        return Err(bad("size"));
    }
    let n: u64 = n.parse().map_err(|_| bad("size"))?;
    Ok((id, n))
}

/// `d.dddd` from 0.0000 to 1.0000.
fn similarity(s: &str) -> Result<f64> {
    let b = s.as_bytes();
    let shape = b.len() == 6
        && b[1] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 1 || c.is_ascii_digit());
    match s.parse::<f64>() {
        Ok(v) if shape && (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(Error::Invalid(
            "report: similarity is not 0.0000 to 1.0000".into(),
        )),
    }
}

/// Text kept on one report line: control characters (newlines among them) become
/// spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Report {
    /// The report text (see the module documentation). Kind and summary are kept on
    /// their lines by turning control characters into spaces.
    pub fn encode(&self) -> String {
        format!(
            "{REPORT_HEADER}\nclaim {} {}\noriginal {} {}\nkind {}\nsimilarity {:.4}\nsummary {}\nscript\n{}end\n{}",
            self.claim.0,
            self.claim.1,
            self.original.0,
            self.original.1,
            one_line(&self.kind),
            self.similarity,
            one_line(&self.summary),
            self.script.encode(),
            self.proof.encode()
        )
    }

    /// Parses a report, strictly: only the text [`Report::encode`] writes.
    pub fn parse(text: &str) -> Result<Self> {
        let (head, rest) = text
            .split_once("\nscript\n")
            .ok_or_else(|| Error::Invalid("report: no 'script' line".into()))?;
        if head.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::Invalid("report: control character".into()));
        }
        // Split on '\n' only: a blank line before 'script' is an unexpected line.
        let mut lines = head.split('\n');
        if lines.next() != Some(REPORT_HEADER) {
            return Err(Error::Invalid("not a custody alteration report".into()));
        }
        let claim = id_size(field(lines.next(), "claim")?, "claim")?;
        let original = id_size(field(lines.next(), "original")?, "original")?;
        let kind = field(lines.next(), "kind")?.to_string();
        let similarity = similarity(field(lines.next(), "similarity")?)?;
        let summary = field(lines.next(), "summary")?.to_string();
        if lines.next().is_some() {
            return Err(Error::Invalid(
                "report: unexpected line before 'script'".into(),
            ));
        }
        // The script's lines never read "end": they start with "copy" or "insert".
        let (script, proof) = if let Some(p) = rest.strip_prefix("end\n") {
            ("", p)
        } else {
            let i = rest
                .find("\nend\n")
                .ok_or_else(|| Error::Invalid("report: no 'end' line after the script".into()))?;
            (&rest[..i + 1], &rest[i + 5..])
        };
        let script = EditScript::parse(script)
            .map_err(|e| Error::Invalid(format!("report: script: {e}")))?;
        let proof =
            Proof::parse(proof).map_err(|e| Error::Invalid(format!("report: proof: {e}")))?;
        Ok(Self {
            claim,
            original,
            kind,
            similarity,
            summary,
            script,
            proof,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportCheck {
    pub claim: BlobId,
    pub original: BlobId,
    pub original_from: String,
    pub release: String,
    pub path: String,
    pub kind: String,
    pub summary: String,
    pub trust: Trust,
    pub statement: String,
}

/// Checks a report: the original is what the report names and what the proof
/// proves, and applying the script to it gives exactly the claim.
pub fn verify_report(
    report_path: &Path,
    claim_path: &Path,
    original_path: Option<&Path>,
    store: Option<&Store>,
    anchor: &Anchor,
) -> Result<ReportCheck> {
    // Refuse anything that does not start like a report before reading it whole:
    // a report may be large (its inserts are the claim's new bytes), garbage need not
    // be read.
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(report_path).ctx(report_path, "open report")?,
            REPORT_HEADER.len() as u64 + 1,
        ),
        &mut head,
    )
    .ctx(report_path, "read report")?;
    if head != format!("{REPORT_HEADER}\n").as_bytes() {
        return Err(Error::Invalid(format!(
            "{}: not a custody alteration report",
            report_path.display()
        )));
    }
    let text = super::read_small_text(
        report_path,
        MAX_REPORT_BYTES,
        "read report",
        "too large for a report",
    )?;
    let r = Report::parse(&text)
        .map_err(|e| Error::Invalid(format!("{}: {e}", report_path.display())))?;
    let claim_id = crate::ops::hash::hash_file(claim_path)?;
    if claim_id != r.claim.0 {
        return Err(Error::Invalid(format!(
            "{} has content {claim_id}, but the report is about {}",
            claim_path.display(),
            r.claim.0
        )));
    }
    let (original, from) = match (original_path, store) {
        (Some(p), _) => (
            std::fs::read(p).ctx(p, "read original")?,
            p.display().to_string(),
        ),
        (None, Some(s)) => {
            let snap = s.snapshot()?;
            let mut v = Vec::new();
            snap.read_blob(&r.original.0, "original", |d| {
                v.extend_from_slice(d);
                Ok(())
            })?;
            (v, format!("store {}", s.path().display()))
        }
        (None, None) => {
            return Err(Error::Invalid(
                "give the original file, or a store that holds it".into(),
            ));
        }
    };
    let got = BlobId::from(blake3::hash(&original));
    if got != r.original.0 {
        return Err(Error::Invalid(format!(
            "the original has content {got}, but the report names {}",
            r.original.0
        )));
    }
    if original.len() as u64 != r.original.1 {
        return Err(Error::Invalid(format!(
            "the original is {} bytes, but the report says {}",
            original.len(),
            r.original.1
        )));
    }
    let rebuilt = r
        .script
        .apply(&original)
        .map_err(|e| Error::Invalid(format!("report script: {e}")))?;
    let rebuilt_id = BlobId::from(blake3::hash(&rebuilt));
    if rebuilt_id != r.claim.0 {
        return Err(Error::Invalid(format!(
            "applying the report's script to the original gives {rebuilt_id}, not the claim {}",
            r.claim.0
        )));
    }
    if rebuilt.len() as u64 != r.claim.1 {
        return Err(Error::Invalid(format!(
            "the claim is {} bytes, but the report says {}",
            rebuilt.len(),
            r.claim.1
        )));
    }
    let v = verify(&r.proof, anchor, Some(r.original.0.0))
        .map_err(|e| Error::Invalid(format!("report proof: {e}")))?;
    let release = v.release.clone().unwrap_or_default();
    let path = v.path.as_ref().map(|p| p.to_string()).unwrap_or_default();
    let statement = format!(
        "{} (b3:{}) is the original b3:{} at path {path} in release {release}, {}: applying the report's edit script ({} bytes copied, {} inserted) to it gives exactly the claim. {}",
        claim_path.display(),
        r.claim.0,
        r.original.0,
        r.summary,
        r.script.copied_bytes(),
        r.script.inserted_bytes(),
        v.statement
    );
    Ok(ReportCheck {
        claim: r.claim.0,
        original: r.original.0,
        original_from: from,
        release,
        path,
        kind: r.kind,
        summary: r.summary,
        trust: v.trust,
        statement,
    })
}
