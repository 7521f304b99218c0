use std::path::PathBuf;

use custody::Result;
use custody::ops::log::{consistency, log};

use super::output::count;
use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write a consistency proof from the log at this size to the log now.
    #[arg(long, value_name = "SIZE")]
    prove_from: Option<u64>,
    /// Where to write the consistency proof (default: standard output).
    #[arg(long, short, requires = "prove_from")]
    out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    if let Some(m) = a.prove_from {
        let p = consistency(&store, m, None)?;
        super::prove::emit(ctx, &p.encode(), a.out.as_ref())?;
        return Ok(Exit::Ok);
    }
    let r = log(&store)?;
    if ctx.json {
        output::json(&r)?;
        return Ok(Exit::Ok);
    }
    let mut s = format!("release log: {} heads, root {}\n", r.size, r.root);
    for h in &r.heads {
        s += &format!(
            "{:>5}  {}  {:20}  {:>9} entries  root {}\n",
            h.index,
            h.created,
            h.release,
            count(h.entries),
            &h.root[..16]
        );
    }
    output::print(&s)?;
    Ok(Exit::Ok)
}
