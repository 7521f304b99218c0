use custody::Result;
use custody::store::upgrade::{UpgradeReport, upgrade};

use super::output::plural;
use super::{Ctx, Exit, output};

pub fn run(ctx: &Ctx) -> Result<Exit> {
    let r = upgrade(&ctx.store_path)?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::print(&text(ctx, &r))?;
    }
    Ok(Exit::Ok)
}

fn text(ctx: &Ctx, r: &UpgradeReport) -> String {
    let store = ctx.store_path.display();
    if r.from == r.to {
        return format!("{store} is already at format version {}\n", r.to);
    }
    let mut parts = Vec::new();
    if r.from < 2 {
        parts.push(format!(
            "{}, now in {} (were {})",
            plural(r.entries, "entry", "entries"),
            plural(r.entry_rows_after, "entry block", "entry blocks"),
            plural(r.entry_rows_before, "row", "rows")
        ));
    }
    if r.from < 3 {
        parts.push(format!(
            "{} with shorter keys",
            plural(
                r.index_rows,
                "similarity-index row",
                "similarity-index rows"
            )
        ));
    }
    if !r.repacked.is_empty() {
        parts.push(output::packed(&r.repacked, "table", "tables"));
    }
    format!(
        "upgraded {store} from format version {} to {}: {}\n",
        r.from,
        r.to,
        parts.join("; ")
    )
}
