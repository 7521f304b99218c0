//! The `custody` binary: parses arguments, runs the library, maps errors to exit codes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("custody: error: {}", cli::describe(&e));
            cli::Exit::Error.into()
        }
    }
}
