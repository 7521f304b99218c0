use custody::ops::cat::cat;
use custody::{Error, Result};

use super::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    release: String,
    path: String,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let store = ctx.open()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    cat(&store, &a.release, &a.path, &mut out)?;
    std::io::Write::flush(&mut out).map_err(|e| Error::io("standard output", "write", e))?;
    Ok(Exit::Ok)
}
