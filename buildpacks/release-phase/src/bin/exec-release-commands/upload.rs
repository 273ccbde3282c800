//! `upload-release-artifacts` (alias `save-release-artifacts`): stores a folder as this
//! release's static artifacts.

// The doc comments below are the program's --help text, written for people, not rustdoc.
#![allow(clippy::doc_markdown)]

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Archives DIR (tar, then zstd or gzip) and streams it to the store of STATIC_ARTIFACTS_URL as
/// release RELEASE_ID's static artifacts, then writes its manifest. Re-running with the same
/// files does nothing; other files for a release already stored are refused. Entries no load
/// accepts (links leading outside DIR, sockets, devices, fifos, unreadable files) are refused
/// before anything is stored, and a file that changes meanwhile fails the upload.
///
/// Exit status: 0 stored (or already stored); 1 the upload failed; 2 bad arguments; 3 a setting
/// is missing or invalid; 128+N stopped by signal N (SIGTERM, SIGINT, SIGHUP, SIGQUIT), nothing
/// stored.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// The folder to store.
    #[arg(default_value = "static-artifacts")]
    dir: PathBuf,
}

pub(crate) fn main(name: &'static str) -> ExitCode {
    let args: Args = crate::cli::parse(name);
    ExitCode::from(crate::artifacts::upload_main(&args.dir))
}
