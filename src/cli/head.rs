use std::path::PathBuf;

use custody::Result;
use custody::ops::head::{generate_key, load_signer, load_verifier, sign_head, verify_head};
use custody::{Error, ops::head::KeyReport};

use super::{Ctx, Exit, output};

#[derive(clap::Subcommand, Debug)]
pub enum KeyCmd {
    /// Make a new Ed25519 signer key; prints its public verifier key.
    Generate {
        /// Key name, e.g. newsroom.example/leaks (no spaces or '+').
        name: String,
        /// Key file to write (mode 0600); default NAME.key with '/' turned to '_'.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum HeadCmd {
    /// Sign a release's head; proofs and manifests made later carry the signature.
    Sign {
        release: String,
        /// Signer key file (from `key generate`).
        #[arg(long)]
        key: PathBuf,
        /// Checkpoint origin line (default custody/RELEASE).
        #[arg(long)]
        origin: Option<String>,
        /// Also write the signed head to this file.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Check a signed head file against a verifier key (no store needed).
    Verify {
        head: PathBuf,
        /// Verifier key, inline or a file; may be repeated.
        #[arg(long, required = true)]
        vkey: Vec<String>,
    },
}

pub fn run_key(ctx: &Ctx, cmd: KeyCmd) -> Result<Exit> {
    let KeyCmd::Generate { name, out } = cmd;
    let path = out.unwrap_or_else(|| PathBuf::from(format!("{}.key", name.replace('/', "_"))));
    let r: KeyReport = generate_key(&name, &path)?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&format!("{}\n", r.vkey))?;
        if !ctx.quiet {
            eprintln!(
                "wrote signer key {} (keep it secret); the line above is the verifier key to publish",
                r.key_file
            );
        }
    }
    Ok(Exit::Ok)
}

pub fn run_head(ctx: &Ctx, cmd: HeadCmd) -> Result<Exit> {
    match cmd {
        HeadCmd::Sign {
            release,
            key,
            origin,
            out,
        } => {
            let key = load_signer(&key)?;
            let store = ctx.open_writable()?;
            let r = sign_head(&store, &release, &key, origin.as_deref())?;
            if let Some(p) = &out {
                std::fs::write(p, &r.note).map_err(|e| Error::io(p, "write head", e))?;
            }
            if ctx.json {
                output::json(&r)?;
            } else if out.is_none() {
                output::print(&r.note)?;
            } else if !ctx.quiet {
                eprintln!("signed head of {} by {} written", r.release, r.signed_by);
            }
            Ok(Exit::Ok)
        }
        HeadCmd::Verify { head, vkey } => {
            let keys = vkey
                .iter()
                .map(|k| load_verifier(k))
                .collect::<Result<Vec<_>>>()?;
            let text = custody::ops::read_small_text(
                &head,
                1 << 20,
                "read head",
                "too large to be a signed head",
            )?;
            // Name the file in the error, as every other input-file error does.
            let r = verify_head(&text, &keys).map_err(|e| match e {
                Error::Invalid(m) => Error::Invalid(format!(
                    "{}: {}",
                    head.display(),
                    m.strip_prefix("head: ").unwrap_or(&m)
                )),
                other => other,
            })?;
            if ctx.json {
                output::json(&r)?;
            } else {
                output::print(&format!("VERIFIED: {}\n", r.statement))?;
            }
            Ok(Exit::Ok)
        }
    }
}
