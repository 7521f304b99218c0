use custody::Result;
use custody::ops::diff::{DiffOptions, DiffReport, diff_with};

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
    /// Describe how each modified file changed (byte ranges, rows, lines) for at most
    /// this many files, in path order, or `all`. Categories are always complete;
    /// describing costs milliseconds per file.
    #[arg(long, value_name = "N|all", default_value = "1000", value_parser = parse_details)]
    details: Details,
}

#[derive(Debug, Clone, Copy)]
struct Details(Option<usize>);

fn parse_details(s: &str) -> Result<Details, String> {
    match s {
        "all" => Ok(Details(None)),
        n => n
            .parse()
            .map(|n| Details(Some(n)))
            .map_err(|_| format!("expected a number of files or `all`, got {n:?}")),
    }
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    // A summary shows no descriptions: none are computed.
    let opts = DiffOptions {
        details: if a.summary { Some(0) } else { a.details.0 },
    };
    let r = diff_with(&store, &a.a, &a.b, opts)?;
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
    if !summary_only && s.modified_described < s.modified {
        out += &format!(
            "described {} of {} modified files (--details N or all for more)\n",
            count(s.modified_described),
            count(s.modified)
        );
    }
    if summary_only {
        return out;
    }
    for m in &r.modified {
        let Some(change) = &m.change else {
            out += &format!(
                "M  {}  {} → {} bytes\n",
                m.path,
                count(m.old_size),
                count(m.new_size)
            );
            continue;
        };
        out += &format!("M  {}  {}\n", m.path, change.summary);
        for mm in &change.members {
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
