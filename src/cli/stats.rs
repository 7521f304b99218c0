use custody::Result;
use custody::ops::stats::stats;

use super::output::{bytes, count};
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also show what each table of the store occupies.
    #[arg(long)]
    tables: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<Exit> {
    let store = ctx.open()?;
    let r = stats(&store)?;
    if ctx.json {
        output::json(&r)?;
        return Ok(Exit::Ok);
    }
    let st = &r.store;
    let mut s = format!("store {} ({} on disk)\n", st.path, bytes(st.disk_bytes));
    s += &format!(
        "  {} releases, {} entries, {} distinct contents, {} chunks in {} segments\n",
        count(st.releases),
        count(st.entries),
        count(st.blobs),
        count(st.chunks),
        count(st.segments)
    );
    s += &format!(
        "  logical {} → unique {} (dedup {:.2}x) → stored {} (compression {:.2}x); overall {:.2}x\n",
        bytes(st.logical_bytes),
        bytes(st.unique_bytes),
        st.dedup_ratio,
        bytes(st.stored_bytes),
        st.compression_ratio,
        st.total_ratio
    );
    s += &format!(
        "  records, indexes and free space: {} ({:.0} bytes of records and indexes per entry)\n",
        bytes(st.overhead_bytes),
        r.metadata_bytes_per_entry
    );
    if args.tables {
        s += &format!(
            "\n{:14}  {:>11}  {:>10}  {:>10}  {:>10}  {:>10}\n",
            "TABLE", "ROWS", "STORED", "PAGES", "SLACK", "TOTAL"
        );
        for t in &r.tables {
            s += &format!(
                "{:14}  {:>11}  {:>10}  {:>10}  {:>10}  {:>10}\n",
                t.name,
                count(t.rows),
                bytes(t.stored_bytes),
                bytes(t.metadata_bytes),
                bytes(t.fragmented_bytes),
                bytes(t.total())
            );
        }
    }
    if !r.releases.is_empty() {
        let w = r
            .releases
            .iter()
            .map(|x| x.name.len())
            .max()
            .unwrap_or(7)
            .max(7);
        s += &format!(
            "\n{:w$}  {:>9}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}\n",
            "RELEASE", "FILES", "LOGICAL", "UNIQUE", "SHARED", "EXCLUSIVE", "NEW STORED"
        );
        for x in &r.releases {
            s += &format!(
                "{:w$}  {:>9}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}\n",
                x.name,
                count(x.files),
                bytes(x.logical_bytes),
                bytes(x.unique_bytes),
                bytes(x.shared_bytes),
                bytes(x.exclusive_bytes),
                bytes(x.new_stored_bytes)
            );
        }
    }
    output::print(&s)?;
    Ok(Exit::Ok)
}
