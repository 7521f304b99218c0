use custody::Result;
use custody::ops::releases::releases;

use super::output::{bytes, count};
use super::{Ctx, Exit, output};

pub fn run(ctx: &Ctx) -> Result<Exit> {
    let store = ctx.open()?;
    let r = releases(&store)?;
    if ctx.json {
        output::json(&r)?;
        return Ok(Exit::Ok);
    }
    let mut s = String::new();
    if r.releases.is_empty() {
        s += "no releases yet (custody ingest DIR --release NAME)\n";
    } else {
        let w = r
            .releases
            .iter()
            .map(|x| x.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        s += &format!(
            "{:w$}  {:20}  {:>9}  {:>10}  {:16}  PARENT\n",
            "NAME", "CREATED", "FILES", "SIZE", "ROOT"
        );
        for x in &r.releases {
            s += &format!(
                "{:w$}  {:20}  {:>9}  {:>10}  {:16}  {}\n",
                x.name,
                x.created,
                count(x.counts.files),
                bytes(x.counts.logical_bytes),
                &x.root[..16],
                x.parent.as_deref().unwrap_or("-")
            );
        }
    }
    for p in &r.unfinished {
        s += &format!(
            "unfinished: {} (started {}, {} chunks stored) — rerun its ingest to finish it\n",
            p.name, p.started, p.chunks_stored
        );
    }
    output::print(&s)?;
    Ok(Exit::Ok)
}
