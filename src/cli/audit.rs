use std::path::PathBuf;

use custody::Result;
use custody::ops::audit::{Against, AuditReport, audit};

use super::output::count;
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("against").required(true).args(["release", "manifest"])))]
pub struct Args {
    /// The mirror directory.
    dir: PathBuf,
    /// Release to check it against (needs the store).
    #[arg(long)]
    release: Option<String>,
    /// Exported manifest to check it against (no store needed).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Only the summary.
    #[arg(long)]
    summary: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let progress = ctx.progress();
    let r = match (&a.release, &a.manifest) {
        (Some(name), _) => {
            let store = ctx.open()?;
            audit(
                &a.dir,
                Against::Release {
                    store: &store,
                    name,
                },
                progress.as_ref(),
            )?
        }
        (None, Some(m)) => audit(&a.dir, Against::Manifest(m), progress.as_ref())?,
        (None, None) => unreachable!("clap requires one"),
    };
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&text(&r, a.summary))?;
    }
    Ok(if r.is_complete() {
        Exit::Ok
    } else {
        Exit::Found
    })
}

fn text(r: &AuditReport, summary_only: bool) -> String {
    let s = &r.summary;
    let mut out = format!(
        "{} against {}: {} release files, {} mirror files\n  {} matched, {} moved, {} in archives, {} truncated, {} corrupt, {} altered, {} missing, {} extra ({:.2} s)\n",
        r.mirror,
        r.against,
        count(s.release_files),
        count(s.mirror_files),
        count(s.matched),
        count(s.moved),
        count(s.in_archive),
        count(s.truncated),
        count(s.corrupt),
        count(s.altered),
        count(s.missing),
        count(s.extra),
        r.elapsed_secs
    );
    if summary_only {
        return out;
    }
    for d in r.truncated.iter().chain(&r.corrupt).chain(&r.altered) {
        out += &format!(
            "{:<10} {} ← {}  {}\n",
            d.how, d.release_path, d.mirror_path, d.summary
        );
    }
    for m in &r.missing {
        out += &format!(
            "missing    {}{}\n",
            m.release_path,
            if m.content_kept {
                "  (content present at another path)"
            } else {
                ""
            }
        );
    }
    for e in &r.extra {
        out += &format!("extra      {e}\n");
    }
    for p in &r.moved {
        out += &format!("moved      {} → {}\n", p.release_path, p.mirror_path);
    }
    for p in &r.in_archive {
        out += &format!("in archive {} → {}\n", p.release_path, p.mirror_path);
    }
    for i in &r.issues {
        out += &format!("warning    {}: {}\n", i.path, i.message);
    }
    out
}
