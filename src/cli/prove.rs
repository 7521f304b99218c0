use std::path::PathBuf;

use custody::id::BlobId;
use custody::ops::prove::{Target, prove, prove_absent};
use custody::{Error, Result};

use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct ProveArgs {
    release: String,
    /// Entry to prove (a path inside the release).
    #[arg(required_unless_present = "hash", conflicts_with = "hash")]
    path: Option<String>,
    /// Prove the first entry with this content id instead.
    #[arg(long)]
    hash: Option<BlobId>,
    /// Write the proof here instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct AbsentArgs {
    release: String,
    /// Content id that no entry of the release has.
    #[arg(long)]
    hash: BlobId,
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Writes a proof to a file (or stdout) and says so on stderr.
pub fn emit(ctx: &Ctx, text: &str, out: Option<&PathBuf>) -> Result<()> {
    match out {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| Error::io(p, "write proof", e))?;
            if ctx.json {
                output::json(&serde_json::json!({ "proof": p.display().to_string() }))?;
            } else if !ctx.quiet {
                eprintln!("wrote {}", p.display());
            }
            Ok(())
        }
        None => output::print(text),
    }
}

pub fn run(ctx: &Ctx, a: ProveArgs) -> Result<Exit> {
    let store = ctx.open()?;
    let target = match (&a.path, a.hash) {
        (Some(p), None) => Target::Path(p),
        (None, Some(h)) => Target::Hash(h),
        _ => return Err(Error::Invalid("give a PATH or --hash, not both".into())),
    };
    let proof = prove(&store, &a.release, target)?;
    emit(ctx, &proof.encode(), a.out.as_ref())?;
    Ok(Exit::Ok)
}

pub fn run_absent(ctx: &Ctx, a: AbsentArgs) -> Result<Exit> {
    let store = ctx.open()?;
    let proof = prove_absent(&store, &a.release, a.hash)?;
    emit(ctx, &proof.encode(), a.out.as_ref())?;
    Ok(Exit::Ok)
}
