use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use custody::Result;
use custody::ops::hash::{b3sum_line, hash_file, hash_reader};
use serde::Serialize;

use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to hash; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Line {
    path: String,
    blake3: String,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let mut lines = Vec::new();
    let mut text = String::new();
    for f in &a.files {
        let h = if f.as_os_str() == "-" {
            hash_reader(std::io::stdin().lock(), f)?
        } else {
            hash_file(f)?
        };
        text += &b3sum_line(&h, f.as_os_str().as_bytes());
        text.push('\n');
        lines.push(Line {
            path: custody::paths::escape_bytes(f.as_os_str().as_bytes()),
            blake3: h.to_string(),
        });
    }
    if ctx.json {
        output::json(&lines)?;
    } else {
        output::print(&text)?;
    }
    Ok(Exit::Ok)
}
