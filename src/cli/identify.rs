use std::path::PathBuf;

use custody::Result;
use custody::ops::identify::{ClaimReport, IdentifyOptions, Verdict, identify};

use super::output::{count, plural};
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Claimed files, or directories of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write an inclusion proof for each exact claim into this directory.
    #[arg(long)]
    proof_dir: Option<PathBuf>,
    /// Write a verifiable alteration report for each altered claim into this directory.
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// One line per claim: verdict, claim, then the best original or first path.
    #[arg(long)]
    lines: bool,
    /// Similarity below which a candidate is not an original (0..1).
    #[arg(long, hide = true)]
    threshold: Option<f64>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    let progress = ctx.progress();
    let r = identify(
        &store,
        &IdentifyOptions {
            paths: a.paths,
            proof_dir: a.proof_dir,
            report_dir: a.report_dir,
            threshold: a.threshold,
        },
        progress.as_ref(),
    )?;
    if ctx.json {
        output::json(&r)?;
    } else if a.lines {
        let mut s = String::new();
        for c in &r.claims {
            s += &line(c);
        }
        output::print(&s)?;
    } else {
        let mut s = String::new();
        for c in &r.claims {
            s += &text(c, "");
        }
        s += &format!(
            "\n{}: {} exact, {} altered, {} unknown{} ({:.2} s)\n",
            plural(r.claims.len() as u64, "claim", "claims"),
            count(r.exact),
            count(r.altered),
            count(r.unknown),
            if r.errors > 0 {
                format!(", {} unreadable", r.errors)
            } else {
                String::new()
            },
            r.elapsed_secs
        );
        output::print(&s)?;
    }
    // Exit 0 only when every claim is exact.
    Ok(if r.all_exact() { Exit::Ok } else { Exit::Found })
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Exact => "EXACT",
        Verdict::Altered => "ALTERED",
        Verdict::Unknown => "UNKNOWN",
        Verdict::Error => "ERROR",
    }
}

fn line(c: &ClaimReport) -> String {
    let what = match c.verdict {
        Verdict::Exact => c
            .occurrences
            .first()
            .map(|o| format!("{}:{}", o.release, o.path))
            .unwrap_or_default(),
        Verdict::Altered => c
            .originals
            .first()
            .map(|o| {
                let at = o
                    .occurrences
                    .first()
                    .map(|x| format!("{}:{}", x.release, x.path))
                    .unwrap_or_default();
                format!(
                    "{at} {:.3} {}",
                    o.similarity,
                    custody::ops::diff::how(o.alteration.kind)
                )
            })
            .unwrap_or_else(|| format!("{} members", c.members.len())),
        Verdict::Unknown => String::new(),
        Verdict::Error => c.error.clone().unwrap_or_default(),
    };
    format!("{}\t{}\t{}\n", verdict(c.verdict), c.claim, what)
}

fn text(c: &ClaimReport, indent: &str) -> String {
    let mut s = format!("{indent}{} {}", verdict(c.verdict), c.claim);
    if let Some(h) = &c.blake3 {
        s += &format!("  b3:{}", h.short());
    }
    s.push('\n');
    match c.verdict {
        Verdict::Exact => {
            for o in c.occurrences.iter().take(10) {
                s += &format!("{indent}  {}:{}\n", o.release, o.path);
            }
            if c.occurrences.len() > 10 {
                s += &format!("{indent}  ... and {} more\n", c.occurrences.len() - 10);
            }
            s += &format!(
                "{indent}  first in {}; {}in the latest release\n",
                c.first_release.as_deref().unwrap_or("?"),
                if c.in_latest == Some(true) {
                    ""
                } else {
                    "not "
                }
            );
            if let Some(p) = &c.proof {
                s += &format!("{indent}  proof: {p}\n");
            }
        }
        Verdict::Altered => {
            for o in &c.originals {
                let at = o
                    .occurrences
                    .first()
                    .map(|x| format!("{}:{}", x.release, x.path))
                    .unwrap_or_default();
                s += &format!(
                    "{indent}  from {at} (b3:{}, similarity {:.3})\n{indent}    {}\n",
                    o.blake3.short(),
                    o.similarity,
                    o.alteration.summary
                );
                if let Some(r) = &o.report {
                    s += &format!("{indent}    report: {r}\n");
                }
            }
        }
        Verdict::Unknown => s += &format!("{indent}  nothing in the store is close enough\n"),
        Verdict::Error => s += &format!("{indent}  {}\n", c.error.as_deref().unwrap_or("")),
    }
    if !c.members.is_empty() {
        let n = |v: Verdict| c.members.iter().filter(|m| m.verdict == v).count() as u64;
        s += &format!(
            "{indent}  an archive not stored as such; its {}: {} exact, {} altered, {} unknown\n",
            plural(c.members.len() as u64, "member", "members"),
            count(n(Verdict::Exact)),
            count(n(Verdict::Altered)),
            count(n(Verdict::Unknown) + n(Verdict::Error))
        );
        // Exact members are the expected case: list the others (all are in --json).
        for m in c.members.iter().filter(|m| m.verdict != Verdict::Exact) {
            s += &text(m, &format!("{indent}    "));
        }
    }
    s
}
