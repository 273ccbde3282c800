//! `download-release-artifacts` (alias `load-release-artifacts`): loads this release's static
//! artifacts; also the exec.d program that runs before `web` processes start.

// The doc comments below are the program's --help text, written for people, not rustdoc.
#![allow(clippy::doc_markdown)]

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Loads release RELEASE_ID's static artifacts from the store of STATIC_ARTIFACTS_URL into DIR:
/// streams and extracts them into a new folder beside DIR, checks their SHA-256, then swaps that
/// folder into place in one step. On any failure DIR is left as it was. Without artifacts for
/// this release, loads the latest published ones with a warning (STATIC_ARTIFACTS_FALLBACK=latest,
/// the default) or fails (none). Gives up after STATIC_ARTIFACTS_LOAD_TIMEOUT seconds (50).
///
/// As an exec.d program it writes STATIC_ARTIFACTS_LOADED_FROM_KEY and
/// STATIC_ARTIFACTS_LOADED_RELEASE_ID to file descriptor 3.
///
/// DIR must be a folder of its own: the load refuses a file, a mount point, and a folder that is
/// or holds the store, the working directory or the home folder.
///
/// Exit status: 0 loaded; 1 the load failed; 2 bad arguments; 3 a setting is missing or invalid;
/// 4 no artifacts for this release (and no fallback); 124 timed out; 128+N stopped by signal N
/// (SIGTERM, SIGINT, SIGHUP, SIGQUIT), DIR unchanged.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// The folder to load the artifacts into.
    #[arg(default_value = "static-artifacts")]
    dir: PathBuf,
}

pub(crate) fn main(name: &'static str) -> ExitCode {
    let args: Args = crate::cli::parse(name);
    ExitCode::from(crate::artifacts::download_main(&args.dir))
}
