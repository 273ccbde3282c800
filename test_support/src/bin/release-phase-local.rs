//! `cargo run -p test_support --bin release-phase-local [APP_DIR] [NAME=VALUE...]`: builds the
//! buildpack's programs, then builds `APP_DIR` (a sample app by default) and runs its `release`
//! and `web` processes on the local platform, without Docker.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut app = test_support::demo::default_app();
    let mut env = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.split_once('=') {
            Some((name, value)) => env.push((name.to_string(), value.to_string())),
            None if arg == "--help" || arg == "-h" => {
                eprintln!("usage: release-phase-local [APP_DIR] [NAME=VALUE...]");
                return ExitCode::SUCCESS;
            }
            None => app = PathBuf::from(arg),
        }
    }

    // The buildpack's binaries are built next to this one, in the same profile.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args(["build", "--quiet", "-p", "release-phase", "--bins"])
        .current_dir(test_support::release_phase::workspace_root())
        .status();
    if !built.is_ok_and(|status| status.success()) {
        eprintln!("Couldn't build the release-phase binaries with cargo.");
        return ExitCode::FAILURE;
    }
    let Some(bin_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
    else {
        eprintln!("Couldn't find the folder of this program.");
        return ExitCode::FAILURE;
    };

    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match test_support::demo::run(&app, &bin_dir, &env) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
