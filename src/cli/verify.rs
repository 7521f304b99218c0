use std::path::PathBuf;

use custody::Result;
use custody::manifest::proof::Anchor;
use custody::ops::head::load_verifier;
use custody::ops::verify::{parse_root, verify_file};

use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A proof file (from prove / prove-absent / log --prove-from) or an exported manifest.
    proof: PathBuf,
    /// The claimed file: its BLAKE3 must be the content the proof is about.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Trusted verifier key (inline or a file); may be repeated.
    #[arg(long)]
    vkey: Vec<String>,
    /// Trusted root (hex or base64), instead of a key.
    #[arg(long)]
    root: Option<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let anchor = Anchor {
        keys: a
            .vkey
            .iter()
            .map(|k| load_verifier(k))
            .collect::<Result<_>>()?,
        root: a.root.as_deref().map(parse_root).transpose()?,
    };
    let outcome = verify_file(&a.proof, &anchor, a.file.as_deref())?;
    if ctx.json {
        output::json(&outcome)?;
    } else {
        output::print(&format!("VERIFIED: {}\n", outcome.statement()))?;
    }
    // A proof nothing anchors shows only internal consistency: not a success.
    Ok(if outcome.anchored() {
        Exit::Ok
    } else {
        Exit::Found
    })
}
