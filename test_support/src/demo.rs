//! The quick start: package the buildpack, build an app, then run its `release` and `web`
//! processes, printing what each phase did.

use crate::release_phase::{buildpack_source_dir, copy_app, release_phase_group, workspace_root};
use crate::{Built, PlatformError};
use std::io::Write;
use std::path::Path;

/// The app the quick start builds when none is given.
#[must_use]
pub fn default_app() -> std::path::PathBuf {
    buildpack_source_dir().join("tests/fixtures/static_artifacts_flow")
}

/// Packages the buildpack from the binaries in `bin_dir`, builds a copy of `app`, then launches
/// `release` and `web` (when the image has one) with `env` added (by default a `file://` store
/// under `target/local-platform/store` and `RELEASE_ID=local-1`). Returns the exit code of the
/// first phase that failed, or 0.
///
/// # Errors
///
/// Returns a [`PlatformError`] when a phase cannot be run at all.
pub fn run(app: &Path, bin_dir: &Path, env: &[(&str, &str)]) -> Result<i32, PlatformError> {
    let work_dir = workspace_root().join("target").join("local-platform");
    // A file:// store (emptied first, so that every run starts alike) and a release id, unless
    // the caller gives others.
    let store_dir = work_dir.join("store");
    if !env.iter().any(|(name, _)| *name == "STATIC_ARTIFACTS_URL") && store_dir.exists() {
        std::fs::remove_dir_all(&store_dir)
            .map_err(|error| PlatformError::io(&store_dir, error))?;
    }
    let store = format!("file://{}", store_dir.display());
    let mut vars: Vec<(&str, &str)> =
        vec![("STATIC_ARTIFACTS_URL", &store), ("RELEASE_ID", "local-1")];
    vars.retain(|(name, _)| !env.iter().any(|(given, _)| given == name));
    vars.extend_from_slice(env);
    let env = vars.as_slice();
    let platform = release_phase_group(&work_dir, bin_dir)?;
    say(&format!(
        "Packaged heroku/release-phase into {}",
        work_dir.join("heroku_release-phase").display()
    ));
    let app_copy = copy_app(app)?;
    say(&format!(
        "Building {} (copied to {})",
        app.display(),
        app_copy.path().display()
    ));
    let built = platform.build(app_copy.path())?;
    for detect in &built.detect {
        say(&format!("detect {}: {}", detect.buildpack, detect.status));
    }
    for build in &built.builds {
        say(&format!("build {}: {}", build.buildpack, build.status));
        print!("{}", build.stdout);
        eprint!("{}", build.stderr);
    }
    if !built.success() {
        say("The build failed.");
        return Ok(1);
    }
    let processes = built.processes()?;
    say(&format!(
        "The image's process types: {}",
        processes.keys().cloned().collect::<Vec<_>>().join(", ")
    ));
    for process in ["release", "web"] {
        if !processes.contains_key(process) {
            say(&format!("No `{process}` process in this image: skipped."));
            continue;
        }
        let code = launch(&built, process, env)?;
        if code != 0 {
            return Ok(code);
        }
    }
    Ok(0)
}

fn launch(built: &Built, process: &str, env: &[(&str, &str)]) -> Result<i32, PlatformError> {
    say(&format!("Launching `{process}`"));
    let (mut command, exec_d) = match built.launch_command(process, env) {
        Ok(prepared) => prepared,
        Err(error @ PlatformError::ExecDFailed { .. }) => {
            say(&format!("`{process}` did not start: {error}"));
            return Ok(82);
        }
        Err(error) => return Err(error),
    };
    for run in exec_d {
        say(&format!(
            "exec.d {} set {:?}",
            run.program.display(),
            run.env
        ));
        print!("{}", run.stdout);
        eprint!("{}", run.stderr);
    }
    let program = std::path::PathBuf::from(command.get_program());
    let status = command
        .status()
        .map_err(|error| PlatformError::io(&program, error))?;
    say(&format!("`{process}` exited: {status}"));
    Ok(status.code().unwrap_or(1))
}

fn say(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "\n==> {line}");
}
