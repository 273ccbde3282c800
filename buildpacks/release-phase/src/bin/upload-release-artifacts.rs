//! `upload-release-artifacts`: stores a folder as this release's static artifacts (alias
//! `save-release-artifacts`). The layer's copy is a link to `exec-release-commands`, which runs
//! this same code when called by this name.

#[path = "../programs/upload.rs"]
mod upload;

fn main() -> std::process::ExitCode {
    upload::main()
}
