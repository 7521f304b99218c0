use std::path::PathBuf;

use custody::Result;
use custody::ops::extract::{ExtractOptions, extract};

use super::output::{bytes, plural};
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    release: String,
    /// Paths inside the release to extract (default: all of it).
    paths: Vec<String>,
    /// Directory to write into (created if missing).
    #[arg(long)]
    to: PathBuf,
    /// Replace files that already exist.
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    let progress = ctx.progress();
    let r = extract(
        &store,
        &ExtractOptions {
            release: a.release,
            paths: a.paths,
            to: a.to,
            force: a.force,
        },
        progress.as_ref(),
    )?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&format!(
            "extracted {}, {}, {} ({}) of {} to {} in {:.2} s; every file verified\n",
            plural(r.files, "file", "files"),
            plural(r.dirs, "dir", "dirs"),
            plural(r.symlinks, "symlink", "symlinks"),
            bytes(r.bytes),
            r.release,
            r.to,
            r.elapsed_secs
        ))?;
    }
    Ok(Exit::Ok)
}
