use std::path::PathBuf;

use custody::Result;
use custody::ops::ingest::{IngestOptions, IngestReport, ingest};

use super::output::{bytes, count, plural};
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to store.
    dir: PathBuf,
    /// Name of the new release.
    #[arg(long, short)]
    release: String,
    /// Release this one follows; also used as the unchanged-file cache.
    #[arg(long, short)]
    parent: Option<String>,
    /// Read and hash every file, even ones the cache says are unchanged.
    #[arg(long)]
    reread: bool,
    /// Keep zip and tar files opaque: do not index their members as entries.
    #[arg(long)]
    no_members: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open_writable()?;
    let progress = ctx.progress();
    let opts = IngestOptions {
        source: a.dir,
        release: a.release,
        parent: a.parent,
        reread: a.reread,
        index_members: !a.no_members,
    };
    let r = ingest(&store, &opts, progress.as_ref())?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&text(&r))?;
        for i in &r.issues {
            output::warn(ctx.quiet, &format!("{}: {}", i.path, i.message));
        }
        if let Some(e) = &r.repack_error {
            output::warn(
                ctx.quiet,
                &format!("the release is stored, but packing its index tables failed: {e}"),
            );
        }
    }
    Ok(if r.has_data_loss() {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

fn text(r: &IngestReport) -> String {
    let c = &r.counts;
    let mut s = format!(
        "release {}{}: {}, {}, {}, {}\n",
        r.release,
        r.parent
            .as_deref()
            .map(|p| format!(" (parent {p})"))
            .unwrap_or_default(),
        plural(c.files, "file", "files"),
        plural(c.dirs, "dir", "dirs"),
        plural(c.symlinks, "symlink", "symlinks"),
        bytes(c.logical_bytes)
    );
    s += &format!(
        "  new data: {}, {} → {} stored\n",
        plural(c.new_chunks, "chunk", "chunks"),
        bytes(c.new_raw_bytes),
        bytes(c.new_stored_bytes)
    );
    s += &format!(
        "  read {} ({}), {} unchanged{}\n",
        plural(r.files_read, "file", "files"),
        bytes(r.bytes_read),
        count(r.files_unchanged),
        r.cache_from
            .as_deref()
            .map(|c| format!(" (cache: {c})"))
            .unwrap_or_default()
    );
    s += &format!("  root {} ({:.2} s)\n", r.root, r.root_secs);
    if r.resumed {
        s += "  resumed an interrupted ingest\n";
    }
    if !r.repacked.is_empty() {
        s += &format!(
            "  {} ({:.2} s)\n",
            output::packed(&r.repacked, "index table", "index tables"),
            r.repack_secs
        );
    }
    if !r.issues.is_empty() {
        s += &format!(
            "  {} (on stderr)\n",
            plural(r.issues.len() as u64, "warning", "warnings")
        );
    }
    s += &format!("  took {:.2} s\n", r.elapsed_secs);
    s
}
