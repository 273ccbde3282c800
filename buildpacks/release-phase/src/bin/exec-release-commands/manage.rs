//! `release-artifacts`: list, prune, verify, promote and adopt the releases in an artifact store,
//! and read the records of their release phases.

// The doc comments below are the program's --help text, written for people, not rustdoc.
#![allow(clippy::doc_markdown)]

use crate::artifacts as programs;
use crate::records;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

/// Manages the static artifacts in the store of STATIC_ARTIFACTS_URL (credentials and other
/// settings as for upload-release-artifacts).
///
/// Exit status: 0 done; 1 failed; 2 bad arguments; 3 a setting is missing or invalid; 4 the
/// release has no artifacts (or, for show, no record); 124 the command took longer than --timeout.
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
    List {
        /// Print the listing as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lists the release phases recorded in the store, newest first: release, start,
    /// duration, outcome and the step that failed.
    History {
        /// How many release phases to show.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        limit: u64,
        /// Print the history as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows the record of a release's last release phase, step by step: each step's outcome
    /// (newly-achieved, already-achieved, failed, optional-failed, not-run), its checks and
    /// attempts.
    Show {
        /// The release.
        release_id: String,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deletes all but the N newest releases (never the latest published one).
    Prune {
        /// How many releases to keep.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        keep: u64,
        /// Also print the releases deleted as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Adopts a store written by the earlier buildpack (v1.0.x): writes a manifest for each
    /// bare release-ID.tgz archive that reads whole, and, when the store has no
    /// latest.json, publishes the newest by the store's modification time. Archives that cannot
    /// be read are skipped with a warning. Running it again adopts only what is still bare.
    Adopt {
        /// Read and check every archive, say what would be done, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also print what was adopted as JSON.
        #[arg(long)]
        json: bool,
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

pub(crate) fn main(name: &'static str) -> ExitCode {
    let args: Args = crate::cli::parse(name);
    let limit = Duration::from_secs(args.timeout);
    let code = match args.command {
        Command::List { json } => programs::list_main(json, limit),
        Command::History { limit: count, json } => {
            records::history_main(usize::try_from(count).unwrap_or(usize::MAX), json, limit)
        }
        Command::Show { release_id, json } => records::show_main(&release_id, json, limit),
        Command::Prune { keep, json } => {
            programs::prune_main(usize::try_from(keep).unwrap_or(usize::MAX), json, limit)
        }
        Command::Adopt { dry_run, json } => programs::adopt_main(dry_run, json, limit),
        Command::Verify { release } => programs::verify_main(release.as_deref(), limit),
        Command::Promote { to, release } => programs::promote_main(&to, release.as_deref(), limit),
    };
    ExitCode::from(code)
}
