//! Panics raised inside redb on a damaged store file.
//!
//! redb trusts the pages it reads (it verifies checksums only when repairing), so a
//! page damaged on disk can make it panic: an index out of range, an `unwrap` of a
//! record that does not parse. That is damage to report, not a crash of custody. The
//! binary installs [`install_hook`]: a panic whose location is in redb's source is
//! kept quiet and remembered, and [`take_store_panic`] gives its message to whoever
//! catches it (`fsck` reports it as `database` damage, the binary as an error naming
//! the store). Any other panic is a bug in custody and is printed as usual, except
//! one raised while a redb panic is still pending: unwinding from the first can run
//! a redb destructor over the same damaged state, and a panic there makes Rust abort
//! the process. That is still the store's damage, so the hook reports it as such and
//! exits with the error code before the abort.

use std::panic::PanicHookInfo;
use std::sync::Mutex;

static LAST: Mutex<Option<String>> = Mutex::new(None);

/// Whether a panic at `file` was raised by redb's code.
fn in_redb(file: &str) -> bool {
    file.contains("/redb-") || file.contains("\\redb-")
}

fn message(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    match info.location() {
        Some(l) => {
            let file = l.file();
            let short = file.rfind("/src/").map_or(file, |i| &file[i + 1..]);
            format!("{msg} (redb {short}:{})", l.line())
        }
        None => msg,
    }
}

/// The one-line error for a store that redb could not read.
pub fn damaged_store_message(store: &std::path::Path, msg: &str) -> String {
    format!(
        "custody: error: store {} is damaged: the database could not read it ({msg}); run `custody fsck --read-data` to see what it reaches",
        store.display()
    )
}

/// Exit code of a process stopped by store damage (the CLI's error code).
pub const DAMAGED_EXIT: i32 = 2;

/// Installs the hook described in the module docs for the store at `store`; the
/// previous hook handles every panic that is not redb's.
pub fn install_hook(store: std::path::PathBuf) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.location().is_some_and(|l| in_redb(l.file())) {
            if let Ok(mut last) = LAST.lock() {
                *last = Some(message(info));
            }
            return;
        }
        let pending = LAST.lock().ok().and_then(|l| l.clone());
        if let Some(msg) = pending {
            eprintln!("{}", damaged_store_message(&store, &msg));
            std::process::exit(DAMAGED_EXIT);
        }
        previous(info)
    }));
}

/// The message of the last panic raised in redb since the previous call, if any.
pub fn take_store_panic() -> Option<String> {
    LAST.lock().ok().and_then(|mut l| l.take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_redb_locations_count() {
        assert!(in_redb(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/redb-4.6.0/src/tree_store/btree_base.rs"
        ));
        assert!(!in_redb("src/ops/fsck.rs"));
        assert!(!in_redb("/rustc/abc/library/core/src/slice/index.rs"));
    }
}
