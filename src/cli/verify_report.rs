use std::path::PathBuf;

use custody::Result;
use custody::manifest::proof::Trust;
use custody::ops::report::verify_report;
use custody::store::Store;

use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The alteration report (from identify --report-dir).
    report: PathBuf,
    /// The claimed file.
    claim: PathBuf,
    /// The original, e.g. an extracted copy; without it the store supplies it.
    original: Option<PathBuf>,
    /// What vouches for the original's proof.
    #[command(flatten)]
    anchor: super::verify::AnchorArgs,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let anchor = a.anchor.anchor()?;
    let store = match &a.original {
        Some(_) => None,
        None => Some(Store::open(&ctx.store_path)?),
    };
    let r = verify_report(
        &a.report,
        &a.claim,
        a.original.as_deref(),
        store.as_ref(),
        &anchor,
    )?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&format!("VERIFIED: {}\n", r.statement))?;
    }
    Ok(if r.trust == Trust::Unanchored {
        Exit::Found
    } else {
        Exit::Ok
    })
}
