use custody::Result;
use custody::ops::fsck::{FsckReport, fsck, record_damage};

use super::output::{bytes, count};
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also decompress and hash every chunk and every blob.
    #[arg(long)]
    read_data: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    let progress = ctx.progress();
    let r = fsck(&store, a.read_data, progress.as_ref())?;
    drop(store);
    let recorded = match record_damage(&ctx.store_path, &r) {
        Ok(b) => b,
        Err(e) => {
            output::warn(
                ctx.quiet,
                &format!("could not record the damage found: {e}"),
            );
            false
        }
    };
    if !r.repairable_chunks.is_empty() {
        let how = if recorded {
            "recorded: ingesting a tree that still holds the affected files stores them again"
        } else {
            "not recorded (another process is writing): run fsck --read-data again after it"
        };
        output::warn(
            ctx.quiet,
            &format!("{} damaged chunks {how}", r.repairable_chunks.len()),
        );
    }
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&text(&r))?;
    }
    Ok(if r.is_clean() { Exit::Ok } else { Exit::Found })
}

fn text(r: &FsckReport) -> String {
    let mut s = format!(
        "checked {} releases, {} entries, {} blobs, {} chunks in {} segments",
        count(r.releases),
        count(r.entries),
        count(r.blobs),
        count(r.chunks),
        count(r.segments)
    );
    if r.read_data {
        s += &format!("; read and hashed {}", bytes(r.bytes_verified));
    }
    s += &format!("; verified {} database pages", count(r.pages_verified));
    s += "\n";
    if let Some(why) = &r.page_check_skipped {
        s += &format!("database pages not checked: {why}; run fsck again when it is idle\n");
    }
    for u in &r.unfinished_ingests {
        s += &format!("unfinished ingest {u}: not checked (rerun its ingest to finish it)\n");
    }
    if r.is_clean() {
        s += "no problems found\n";
        return s;
    }
    for p in &r.problems {
        s += &format!("DAMAGE {:?}: {}: {}\n", p.kind, p.object, p.detail);
        for a in &p.affected {
            s += &format!("  affects {}:{}\n", a.release, a.path);
        }
        if p.affected_total > p.affected.len() as u64 {
            s += &format!(
                "  ... and {} more entries\n",
                p.affected_total - p.affected.len() as u64
            );
        }
    }
    let rel = r.damaged_releases();
    s += &format!(
        "{} problems; damaged releases: {}\n",
        r.problems.len(),
        if rel.is_empty() {
            "none named".to_string()
        } else {
            rel.join(", ")
        }
    );
    s
}
