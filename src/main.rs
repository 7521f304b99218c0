//! The `custody` binary: parses arguments, runs the library, maps errors to exit codes.

mod cli;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let store = cli::store_path(&args);
    custody::panics::install_hook(store.clone());
    match catch_unwind(AssertUnwindSafe(|| cli::run(args))) {
        Ok(Ok(code)) => code.into(),
        Ok(Err(e)) => {
            eprintln!("custody: error: {}", cli::describe(&e));
            cli::Exit::Error.into()
        }
        // redb panicked on a page it could not parse: the store file is damaged.
        Err(panic) => match custody::panics::take_store_panic() {
            Some(msg) => {
                eprintln!("{}", custody::panics::damaged_store_message(&store, &msg));
                cli::Exit::Error.into()
            }
            None => resume_unwind(panic),
        },
    }
}
