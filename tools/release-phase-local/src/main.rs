//! `cargo run -p release-phase-local [APP_DIR] [NAME=VALUE...]`: builds the
//! buildpack's programs, then builds `APP_DIR` (a sample app by default) and runs its `release`
//! and `web` processes on the local platform, without Docker.

mod demo;

use cnb_platform::release_phase::{PACKAGED_BUILDPACK_VAR, packaged_buildpack, workspace_root};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut app = demo::default_app();
    let mut env = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.split_once('=') {
            Some((name, value)) => env.push((name.to_string(), value.to_string())),
            None if arg == "--help" || arg == "-h" => {
                eprintln!(
                    "usage: release-phase-local [APP_DIR] [NAME=VALUE...]\n\n\
                     Builds the buildpack's programs with cargo (or uses the packaged buildpack in \
                     ${PACKAGED_BUILDPACK_VAR}), builds APP_DIR with it, then runs the image's \
                     `release` and `web` processes with NAME=VALUE added to their environment."
                );
                return ExitCode::SUCCESS;
            }
            None => app = PathBuf::from(arg),
        }
    }

    let bin_dir = match packaged_buildpack() {
        // The packaged buildpack brings its own binaries.
        Ok(Some(packaged)) => {
            demo::say(&format!(
                "Using the packaged buildpack {}",
                packaged.display()
            ));
            PathBuf::new()
        }
        Ok(None) => match build_programs() {
            Ok(bin_dir) => bin_dir,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };

    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match demo::run(&app, &bin_dir, &env) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the buildpack's binaries next to this program, in the same profile and with cargo's
/// progress shown; returns their folder.
fn build_programs() -> Result<PathBuf, String> {
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
        .ok_or("Couldn't find the folder of this program.")?;
    let profile = bin_dir
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    demo::say(
        "Building the buildpack's programs with cargo (bin/build and exec-release-commands; \
         the first build takes a few minutes, later runs reuse target/)",
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args(["build", "--locked", "-p", "release-phase", "--bins"]);
    if profile == "release" {
        command.arg("--release");
    }
    let status = command
        .current_dir(workspace_root())
        .status()
        .map_err(|error| format!("Couldn't run cargo: {error}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build of the release-phase binaries failed ({status}); its messages are above."
        ));
    }
    Ok(bin_dir)
}
