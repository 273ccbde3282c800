//! `exec-release-commands`: the program behind the `release` process type, and the one program
//! file of the launch layer. Called by another program's name (through a link), it runs that
//! program instead, so the layer holds one copy of the code instead of four.

mod allocator;
mod artifacts;
mod download;
mod hooks;
mod manage;
mod runner;
mod upload;

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any other thread starts (glibc only; musl's allocator needs no tuning).
    allocator::limit_fragmentation();
    let invoked_as = std::env::args_os().next();
    let name = invoked_as
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_name)
        .and_then(|name| name.to_str());
    match name {
        Some("upload-release-artifacts" | "save-release-artifacts") => upload::main(),
        Some("download-release-artifacts" | "load-release-artifacts") => download::main(),
        Some("release-artifacts") => manage::main(),
        _ => runner::main(),
    }
}
