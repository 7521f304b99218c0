use custody::Result;
use custody::ops::diff::{DiffReport, diff};

use super::output::count;
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The earlier release.
    a: String,
    /// The later release.
    b: String,
    /// Only the summary.
    #[arg(long)]
    summary: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    let r = diff(&store, &a.a, &a.b)?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&text(&r, a.summary))?;
    }
    Ok(Exit::Ok)
}

fn text(r: &DiffReport, summary_only: bool) -> String {
    let s = &r.summary;
    let mut out = format!(
        "{} → {}: {} added, {} removed, {} modified, {} renamed, {} renamed and modified, {} duplicated, {} unchanged ({:.2} s)\n",
        r.a,
        r.b,
        count(s.added),
        count(s.removed),
        count(s.modified),
        count(s.renamed),
        count(s.renamed_modified),
        count(s.duplicated),
        count(s.unchanged),
        r.elapsed_secs
    );
    if summary_only {
        return out;
    }
    for m in &r.modified {
        out += &format!("M  {}  {}\n", m.path, m.change.summary);
        for mm in &m.change.members {
            out += &format!(
                "     {} {}{}\n",
                mm.change,
                mm.member,
                mm.summary
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            );
        }
    }
    for x in &r.renamed {
        out += &format!("R  {} → {}\n", x.from, x.to);
    }
    for x in &r.renamed_modified {
        out += &format!("RM {} → {}  {}\n", x.from, x.to, x.change.summary);
    }
    for x in &r.duplicated {
        out += &format!("D  {}  (copy of {})\n", x.path, x.same_as);
    }
    for x in &r.added {
        out += &format!("A  {}\n", x.path);
    }
    for x in &r.removed {
        out += &format!(
            "-  {}{}\n",
            x.path,
            if x.content_kept {
                "  (content still elsewhere)"
            } else {
                ""
            }
        );
    }
    out
}
