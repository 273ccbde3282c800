//! `release-artifacts`: list, prune, verify and promote the releases in an artifact store.

// The doc comments below are the program's --help text, written for people, not rustdoc.
#![allow(clippy::doc_markdown)]

use crate::artifacts as programs;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

/// Manages the static artifacts in the store of STATIC_ARTIFACTS_URL (credentials and other
/// settings as for upload-release-artifacts).
///
/// Exit status: 0 done; 1 failed; 2 bad arguments; 3 a setting is missing or invalid; 4 the
/// release has no artifacts; 124 the command took longer than --timeout.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// Give up after this many seconds (a store that stops answering, a hung mount).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = programs::DEFAULT_MANAGE_TIMEOUT, value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    timeout: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the stored releases, oldest first, marking the latest published one.
    List,
    /// Deletes all but the N newest releases (never the latest published one).
    Prune {
        /// How many releases to keep.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        keep: u64,
    },
    /// Downloads a release's archive and checks it against its manifest.
    Verify {
        /// The release (default: RELEASE_ID).
        #[arg(long)]
        release: Option<String>,
    },
    /// Copies a release's artifacts to another store, e.g. from staging to production.
    Promote {
        /// The target store: file:///dir or s3://bucket[/prefix].
        #[arg(long)]
        to: String,
        /// The release (default: RELEASE_ID).
        #[arg(long)]
        release: Option<String>,
    },
}

pub(crate) fn main() -> ExitCode {
    let args = Args::parse();
    let limit = Duration::from_secs(args.timeout);
    let code = match args.command {
        Command::List => programs::list_main(limit),
        Command::Prune { keep } => {
            programs::prune_main(usize::try_from(keep).unwrap_or(usize::MAX), limit)
        }
        Command::Verify { release } => programs::verify_main(release.as_deref(), limit),
        Command::Promote { to, release } => programs::promote_main(&to, release.as_deref(), limit),
    };
    ExitCode::from(code)
}
