//! `download-release-artifacts`: loads this release's static artifacts (alias
//! `load-release-artifacts`). The layer's copy is a link to `exec-release-commands`, which runs
//! this same code when called by this name.

#[path = "../programs/download.rs"]
mod download;

fn main() -> std::process::ExitCode {
    download::main()
}
