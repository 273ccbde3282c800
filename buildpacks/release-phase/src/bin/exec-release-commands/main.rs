//! `exec-release-commands`: the program behind the `release` process type, and the one program
//! file of the launch layer. Called by another program's name (through a link), it runs that
//! program instead, so the layer holds one copy of the code instead of four.

// Unit tests see the package's dev-dependencies, which serve its integration tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod allocator;
mod artifacts;
mod cli;
mod download;
mod hooks;
mod manage;
mod records;
mod runner;
mod upload;

use std::path::Path;
use std::process::ExitCode;

// Dependencies of the buildpack's own binary (detect and build): every binary of a package
// sees them all (https://github.com/rust-lang/rust/issues/95513).
use bullet_stream as _;
use indoc as _;
use libcnb as _;

fn main() -> ExitCode {
    // Before any other thread starts (glibc only; musl's allocator needs no tuning).
    allocator::limit_fragmentation();
    let invoked_as = std::env::args_os().next();
    let called = invoked_as
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_name)
        .and_then(|name| name.to_str());
    // Any other name (the file itself, renamed or linked) is the release runner.
    let name = cli::PROGRAM_NAMES
        .into_iter()
        .find(|known| Some(*known) == called)
        .unwrap_or(cli::PROGRAM_NAMES[0]);
    match name {
        "upload-release-artifacts" | "save-release-artifacts" => upload::main(name),
        "download-release-artifacts" | "load-release-artifacts" => download::main(name),
        "release-artifacts" => manage::main(name),
        _ => runner::main(name),
    }
}
