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
    #[command(flatten)]
    anchor: AnchorArgs,
}

/// What a verifying command trusts: verifier keys, or a root given out of band.
#[derive(clap::Args, Debug)]
pub struct AnchorArgs {
    /// Trusted verifier key (inline or a file); may be repeated.
    #[arg(long)]
    vkey: Vec<String>,
    /// Trusted root (hex or base64), instead of a key.
    #[arg(long)]
    root: Option<String>,
}

impl AnchorArgs {
    pub fn anchor(&self) -> Result<Anchor> {
        Ok(Anchor {
            keys: self
                .vkey
                .iter()
                .map(|k| load_verifier(k))
                .collect::<Result<_>>()?,
            root: self.root.as_deref().map(parse_root).transpose()?,
        })
    }
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let anchor = a.anchor.anchor()?;
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
