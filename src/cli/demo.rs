use custody::ops::demo::{DemoReport, run_demo};
use custody::{Error, Result};

use super::output::{bytes, count, plural};
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keep the demo directory (sample trees, store, extracted copy) instead of deleting it.
    #[arg(long)]
    keep: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let tmp = tempfile::Builder::new()
        .prefix("custody-demo-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), "create demo directory", e))?;
    let progress = ctx.progress();
    let r = run_demo(tmp.path(), progress.as_ref())?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&text(&r, a.keep))?;
    }
    if a.keep {
        let _ = tmp.keep();
    }
    Ok(Exit::Ok)
}

fn text(r: &DemoReport, kept: bool) -> String {
    let (i1, i2) = (&r.ingest_r1, &r.ingest_r2);
    let mut s = format!(
        "custody demo in {}\n\n\
         A small leak: {} agency folders, CSVs, bulletins, a training manual every agency\n\
         leaked, photos, a 3 MB scan, an empty file, a 30-deep path, a non-UTF-8 name and\n\
         a symlink. Release r2 edits a CSV row, appends to a bulletin, removes, renames\n\
         and adds a file.\n\n",
        r.dir, 5
    );
    s += &format!(
        "$ custody init && custody ingest leak/r1 --release leak-r1\n  {}, {}, {}, {} → {} new chunks, {} stored\n",
        plural(i1.counts.files, "file", "files"),
        plural(i1.counts.dirs, "dir", "dirs"),
        plural(i1.counts.symlinks, "symlink", "symlinks"),
        bytes(i1.counts.logical_bytes),
        count(i1.counts.new_chunks),
        bytes(i1.counts.new_stored_bytes)
    );
    s += &format!(
        "$ custody ingest leak/r2 --release leak-r2 --parent leak-r1\n  {} files, {}; only {} new chunks ({} stored): the rest was already in the store\n",
        count(i2.counts.files),
        bytes(i2.counts.logical_bytes),
        count(i2.counts.new_chunks),
        bytes(i2.counts.new_stored_bytes)
    );
    s += "$ custody ls leak-r2 austinrtcc\n";
    for e in &r.ls_r2.entries {
        s += &format!("  {:>8}  {}\n", e.size, e.path);
    }
    s += &format!(
        "$ custody cat leak-r2 austinrtcc/roster.csv   # the edited CSV: {}\n",
        if r.cat_matches {
            "identical to the source"
        } else {
            "DIFFERS"
        }
    );
    s += &format!(
        "$ custody extract leak-r1 --to extracted-r1\n  {} files ({}) written and verified; tree equals the source byte for byte, mtimes included: {}\n",
        count(r.extract_r1.files),
        bytes(r.extract_r1.bytes),
        if r.extract_matches { "yes" } else { "NO" }
    );
    s += &format!(
        "$ custody fsck --read-data\n  {} chunks in {} segments read and hashed ({}): {}\n",
        count(r.fsck.chunks),
        count(r.fsck.segments),
        bytes(r.fsck.bytes_verified),
        if r.fsck.is_clean() {
            "no problems"
        } else {
            "DAMAGE"
        }
    );
    let st = &r.stats.store;
    s += &format!(
        "$ custody stats\n  logical {} → unique {} (dedup {:.2}x) → stored {} (compression {:.2}x); store file {}\n",
        bytes(st.logical_bytes),
        bytes(st.unique_bytes),
        st.dedup_ratio,
        bytes(st.stored_bytes),
        st.compression_ratio,
        bytes(st.disk_bytes)
    );
    s += &format!(
        "$ custody key generate newsroom.example/leaks && custody head sign leak-r2 --key newsroom.key\n  verifier key: {}\n",
        r.vkey
    );
    s += &format!(
        "$ custody prove leak-r2 austinrtcc/roster.csv -o roster.proof   # {} bytes\n$ custody verify-proof roster.proof --file leak/r2/austinrtcc/roster.csv --vkey ...\n  VERIFIED: {}\n",
        r.proof_bytes, r.inclusion
    );
    s += &format!(
        "$ custody prove-absent leak-r2 --hash <b3 of r1's roster.csv> -o absent.proof && custody verify-proof absent.proof --file leak/r1/austinrtcc/roster.csv --vkey ...\n  VERIFIED: {}\n",
        r.absence
    );
    s += "$ custody identify claims/ --report-dir reports\n";
    for c in &r.identify {
        let v = match c.verdict {
            custody::ops::identify::Verdict::Exact => "EXACT  ",
            custody::ops::identify::Verdict::Altered => "ALTERED",
            custody::ops::identify::Verdict::Unknown => "UNKNOWN",
            custody::ops::identify::Verdict::Error => "ERROR  ",
        };
        let sep = if c.detail.is_empty() { "" } else { "  " };
        s += &format!("  {v} {}{sep}{}\n", c.claim, c.detail);
    }
    s += &format!(
        "$ custody verify-report {} claims/roster-as-sent.csv\n  VERIFIED: {}\n",
        r.report_file, r.report_check
    );
    let d = &r.diff;
    s += &format!(
        "$ custody diff leak-r1 leak-r2\n  {} added, {} removed, {} modified, {} renamed, {} unchanged\n",
        d.added, d.removed, d.modified, d.renamed, d.unchanged
    );
    let a = &r.audit;
    s += &format!(
        "$ custody audit mirror --release leak-r1   # a damaged copy of r1\n  {} matched, {} moved, {} missing, {} truncated, {} corrupt, {} altered, {} extra\n",
        a.matched, a.moved, a.missing, a.truncated, a.corrupt, a.altered, a.extra
    );
    s += if kept {
        "\nKept the demo directory; point CUSTODY_STORE at its store.redb to explore.\n"
    } else {
        "\nThe demo directory is removed (use --keep to look around).\n"
    };
    s
}
