//! `download-release-artifacts`: a placeholder until static artifacts are implemented.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "download-release-artifacts is not implemented yet in this version of heroku/release-phase."
    );
    ExitCode::from(2)
}
