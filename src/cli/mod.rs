//! The command-line front end: clap arguments, one file per command, text or JSON
//! output. All work happens in the library.

mod audit;
mod cat;
mod demo;
mod diff;
mod extract;
mod fsck;
mod hash;
mod head;
mod identify;
mod ingest;
mod init;
mod log;
mod ls;
mod manifest;
mod output;
mod progress;
mod prove;
mod releases;
mod stats;
mod upgrade;
mod verify;
mod verify_report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use custody::store::{STORE_ENV, Store, default_store_path};
use custody::{Error, Result};

/// Exit codes (docs/CLI.md): 0 success; 1 the check ran and found a problem (fsck
/// damage, a proof nothing anchors); 2 error (including a proof that fails); 3 ingest
/// finished but some files could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Found = 1,
    Error = 2,
    Partial = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "custody",
    version,
    about = "Store leaked document archives deduplicated, and prove where a document came from",
    long_about = None,
    after_help = "The store is one file: --store PATH, else $CUSTODY_STORE, else $XDG_DATA_HOME/custody/store.redb (~/.local/share/custody/store.redb).\nExit codes: 0 ok, 1 check found a problem, 2 error, 3 ingest finished with unreadable files."
)]
pub struct Cli {
    /// Store file to use.
    #[arg(long, global = true, env = STORE_ENV, value_name = "PATH")]
    pub store: Option<PathBuf>,

    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress bars and no warnings on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new, empty store.
    Init(init::Args),
    /// Store a directory tree as a new release.
    Ingest(ingest::Args),
    /// List releases.
    Releases,
    /// List the entries of a release directory.
    Ls(ls::Args),
    /// Write a file of a release to standard output.
    Cat(cat::Args),
    /// Write a release, or part of it, back to disk.
    Extract(extract::Args),
    /// Check the store's structure, and with --read-data every byte.
    Fsck(fsck::Args),
    /// Sizes, deduplication and compression, per release and for the store.
    Stats(stats::Args),
    /// Print BLAKE3 content ids of files, as b3sum does.
    Hash(hash::Args),
    /// Say whether claimed files are exact copies, altered copies, or unknown.
    Identify(identify::Args),
    /// Check an alteration report: the original, edited as it says, is the claim.
    VerifyReport(verify_report::Args),
    /// What changed between two releases.
    Diff(diff::Args),
    /// Check a mirror against a release (or a manifest): what is matched, moved,
    /// missing, altered, corrupt or extra.
    Audit(audit::Args),
    /// Write an inclusion proof: this entry (or content) is in the release.
    Prove(prove::ProveArgs),
    /// Write an absence proof: no entry of the release has this content.
    ProveAbsent(prove::AbsentArgs),
    /// Check a proof or exported manifest, without a store.
    VerifyProof(verify::Args),
    /// Export a release's manifest.
    #[command(subcommand)]
    Manifest(manifest::ManifestCmd),
    /// The release log: every release head, in order.
    Log(log::Args),
    /// Signer keys for release heads.
    #[command(subcommand)]
    Key(head::KeyCmd),
    /// Signed release heads.
    #[command(subcommand)]
    Head(head::HeadCmd),
    /// Convert a store made by an older custody to this version's format, in place.
    Upgrade,
    /// Run the whole job on generated sample data in a temporary directory.
    Demo(demo::Args),
}

/// What every command gets.
pub struct Ctx {
    pub store_path: PathBuf,
    pub json: bool,
    pub quiet: bool,
}

impl Ctx {
    pub fn open(&self) -> Result<Store> {
        Store::open(&self.store_path)
    }

    pub fn open_writable(&self) -> Result<Store> {
        Store::open_writable(&self.store_path)
    }

    pub fn progress(&self) -> Box<dyn custody::progress::Progress> {
        progress::for_terminal(self.quiet || self.json)
    }
}

/// The store a command line names (or the default).
pub fn store_path(cli: &Cli) -> PathBuf {
    cli.store.clone().unwrap_or_else(default_store_path)
}

pub fn run(cli: Cli) -> Result<Exit> {
    let ctx = Ctx {
        store_path: store_path(&cli),
        json: cli.json,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::Ingest(a) => ingest::run(&ctx, a),
        Command::Releases => releases::run(&ctx),
        Command::Ls(a) => ls::run(&ctx, a),
        Command::Cat(a) => cat::run(&ctx, a),
        Command::Extract(a) => extract::run(&ctx, a),
        Command::Fsck(a) => fsck::run(&ctx, a),
        Command::Stats(a) => stats::run(&ctx, a),
        Command::Hash(a) => hash::run(&ctx, a),
        Command::Identify(a) => identify::run(&ctx, a),
        Command::VerifyReport(a) => verify_report::run(&ctx, a),
        Command::Diff(a) => diff::run(&ctx, a),
        Command::Audit(a) => audit::run(&ctx, a),
        Command::Prove(a) => prove::run(&ctx, a),
        Command::ProveAbsent(a) => prove::run_absent(&ctx, a),
        Command::VerifyProof(a) => verify::run(&ctx, a),
        Command::Manifest(c) => manifest::run(&ctx, c),
        Command::Log(a) => log::run(&ctx, a),
        Command::Key(c) => head::run_key(&ctx, c),
        Command::Head(c) => head::run_head(&ctx, c),
        Command::Upgrade => upgrade::run(&ctx),
        Command::Demo(a) => demo::run(&ctx, a),
    }
}

/// The message for an error, with its chain of causes.
pub fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        let cs = c.to_string();
        if !s.contains(&cs) {
            s.push_str(": ");
            s.push_str(&cs);
        }
        src = c.source();
    }
    s
}
