use std::io::Write;
use std::path::PathBuf;

use custody::ops::prove::export_manifest;
use custody::{Error, Result};

use super::{Ctx, Exit, output};

#[derive(clap::Subcommand, Debug)]
pub enum ManifestCmd {
    /// Write a release's manifest: every leaf, then its (signed) checkpoint.
    Export {
        release: String,
        #[arg(long, short)]
        out: PathBuf,
    },
}

pub fn run(ctx: &Ctx, cmd: ManifestCmd) -> Result<Exit> {
    let ManifestCmd::Export { release, out } = cmd;
    let store = ctx.open()?;
    // Written beside the target and renamed, so a failed export leaves no half file.
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, "create manifest", e))?;
    let n = {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        let n = export_manifest(&store, &release, &mut w)?;
        w.flush()
            .map_err(|e| Error::io(&out, "write manifest", e))?;
        n
    };
    tmp.persist(&out)
        .map_err(|e| Error::io(&out, "write manifest", e.error))?;
    if ctx.json {
        output::json(
            &serde_json::json!({ "release": release, "entries": n, "manifest": out.display().to_string() }),
        )?;
    } else {
        output::print(&format!(
            "wrote manifest of {release} ({n} entries) to {}\n",
            out.display()
        ))?;
    }
    Ok(Exit::Ok)
}
