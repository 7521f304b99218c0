use custody::Result;
use custody::ops::ls::ls;
use custody::store::format::EntryKind;

use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    release: String,
    /// Directory or file inside the release (default: the top).
    path: Option<String>,
    /// Everything below PATH, not just its direct entries.
    #[arg(long, short = 'R')]
    recursive: bool,
    /// Show each file's content id.
    #[arg(long)]
    hash: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    let r = ls(&store, &a.release, a.path.as_deref(), a.recursive)?;
    if ctx.json {
        output::json(&r)?;
        return Ok(Exit::Ok);
    }
    let w = r
        .entries
        .iter()
        .map(|e| e.size.to_string().len())
        .max()
        .unwrap_or(1);
    let mut s = String::new();
    for e in &r.entries {
        let mtime = e.mtime.replace('T', " ").trim_end_matches('Z').to_string();
        let name = if a.recursive || r.path.is_empty() || e.path == r.path {
            e.path.to_string()
        } else {
            custody::paths::escape_bytes(e.path.file_name())
        };
        let suffix = match e.kind {
            EntryKind::Dir => "/".to_string(),
            EntryKind::Symlink => format!(" -> {}", e.target.as_deref().unwrap_or("")),
            EntryKind::File | EntryKind::Member => String::new(),
        };
        let hash = if a.hash {
            format!("{:64}  ", e.blob.as_deref().unwrap_or("-"))
        } else {
            String::new()
        };
        s += &format!(
            "{} {:>w$} {} {}{}{}\n",
            output::mode(e.mode),
            e.size,
            mtime,
            hash,
            name,
            suffix
        );
    }
    output::print(&s)?;
    Ok(Exit::Ok)
}
