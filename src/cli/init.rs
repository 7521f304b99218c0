use custody::chunking::{CHUNK_AVG, CHUNK_MAX, CHUNK_MIN, ChunkParams};
use custody::store::{DEFAULT_ZSTD_LEVEL, Store};
use custody::{Error, Result};
use serde::Serialize;

use super::{Ctx, Exit, output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Smallest chunk in bytes (fixed for the store's life).
    #[arg(long, default_value_t = CHUNK_MIN, hide = true)]
    chunk_min: u32,
    /// Average chunk in bytes.
    #[arg(long, default_value_t = CHUNK_AVG, hide = true)]
    chunk_avg: u32,
    /// Largest chunk in bytes.
    #[arg(long, default_value_t = CHUNK_MAX, hide = true)]
    chunk_max: u32,
    /// zstd level for chunk compression (1..=22).
    #[arg(long, default_value_t = DEFAULT_ZSTD_LEVEL)]
    zstd_level: i32,
}

#[derive(Serialize)]
struct Report {
    store: String,
    #[serde(flatten)]
    meta: custody::store::StoreMeta,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<Exit> {
    let params = ChunkParams::new(a.chunk_min, a.chunk_avg, a.chunk_max)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let store = Store::init(&ctx.store_path, params, a.zstd_level)?;
    let r = Report {
        store: ctx.store_path.display().to_string(),
        meta: *store.meta(),
    };
    if ctx.json {
        output::json(&r)?;
    } else {
        let c = r.meta.chunk;
        output::print(&format!(
            "created store {} (FastCDC chunks {}/{}/{} KiB min/avg/max, zstd level {})\n",
            r.store,
            c.min / 1024,
            c.avg / 1024,
            c.max / 1024,
            r.meta.zstd_level
        ))?;
    }
    Ok(Exit::Ok)
}
