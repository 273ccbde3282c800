//! The quick start: package the buildpack, build an app, then run its `release` and `web`
//! processes, printing what each phase did and, at the end, what happened and where to look.

use cnb_platform::release_phase::{
    buildpack_source_dir, copy_dir, release_phase_group, workspace_root,
};
use cnb_platform::{Built, PlatformError, files_under};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The app the quick start builds when none is given.
#[must_use]
pub(crate) fn default_app() -> PathBuf {
    buildpack_source_dir().join("tests/fixtures/static_artifacts_flow")
}

/// What one launched process did, for the summary.
struct Launch {
    process: &'static str,
    code: i32,
    exec_d_env: BTreeMap<String, String>,
}

/// Packages the buildpack from the binaries in `bin_dir` (or uses the packaged one that
/// `RELEASE_PHASE_BUILDPACK_DIR` names), builds a copy of `app` in
/// `target/local-platform/app`, then launches `release` and `web` (when the image has one) with
/// `env` added (by default a `file://` store under `target/local-platform/store` and
/// `RELEASE_ID=local-1`). Returns the exit code of the first phase that failed, or 0.
///
/// # Errors
///
/// Returns a [`PlatformError`] when a phase cannot be run at all.
pub(crate) fn run(app: &Path, bin_dir: &Path, env: &[(&str, &str)]) -> Result<i32, PlatformError> {
    let work_dir = workspace_root().join("target").join("local-platform");
    // A file:// store (emptied first, so that every run starts alike) and a release id, unless
    // the caller gives others.
    let store_dir = work_dir.join("store");
    let own_store = !env.iter().any(|(name, _)| *name == "STATIC_ARTIFACTS_URL");
    if own_store {
        remove_if_present(&store_dir)?;
    }
    let store = format!("file://{}", store_dir.display());
    let mut vars: Vec<(&str, &str)> =
        vec![("STATIC_ARTIFACTS_URL", &store), ("RELEASE_ID", "local-1")];
    vars.retain(|(name, _)| !env.iter().any(|(given, _)| given == name));
    vars.extend_from_slice(env);
    let env = vars.as_slice();

    let platform = release_phase_group(&work_dir, bin_dir)?;
    if let Some(ours) = platform.buildpacks().first() {
        say(&format!(
            "Buildpack heroku/release-phase: {}",
            ours.display()
        ));
    }
    // The app is copied to a folder that outlives this run, so that what `web` loaded can be
    // looked at afterwards.
    let app_copy = work_dir.join("app");
    remove_if_present(&app_copy)?;
    std::fs::create_dir_all(&app_copy).map_err(|error| PlatformError::io(&app_copy, error))?;
    copy_dir(app, &app_copy)?;
    say(&format!(
        "Building {} (copied to {})",
        app.display(),
        app_copy.display()
    ));
    let built = platform.build(&app_copy)?;
    for detect in &built.detect {
        say(&format!("detect {}: {}", detect.buildpack, detect.status));
    }
    for build in &built.builds {
        say(&format!("build {}: {}", build.buildpack, build.status));
        print!("{}", build.stdout);
        eprint!("{}", build.stderr);
    }
    if !built.success() {
        say("The build failed (its log is above).");
        return Ok(1);
    }
    let processes = built.processes()?;
    say(&format!(
        "The image's process types: {}",
        processes.keys().cloned().collect::<Vec<_>>().join(", ")
    ));
    let mut runs = Vec::new();
    for process in ["release", "web"] {
        if !processes.contains_key(process) {
            say(&format!("No `{process}` process in this image: skipped."));
            continue;
        }
        let run = launch(&built, process, env)?;
        let code = run.code;
        runs.push(run);
        if code != 0 {
            break;
        }
    }
    summarize(
        &app_copy,
        own_store.then_some(store_dir.as_path()),
        env,
        &runs,
    );
    Ok(runs
        .iter()
        .map(|run| run.code)
        .find(|code| *code != 0)
        .unwrap_or(0))
}

fn launch(
    built: &Built,
    process: &'static str,
    env: &[(&str, &str)],
) -> Result<Launch, PlatformError> {
    say(&format!("Launching `{process}`"));
    let (mut command, exec_d) = match built.launch_command(process, env) {
        Ok(prepared) => prepared,
        Err(error @ PlatformError::ExecDFailed { .. }) => {
            say(&format!("`{process}` did not start: {error}"));
            return Ok(Launch {
                process,
                code: 82,
                exec_d_env: BTreeMap::new(),
            });
        }
        Err(error) => return Err(error),
    };
    let mut exec_d_env = BTreeMap::new();
    for run in exec_d {
        say(&format!(
            "exec.d {} set {:?}",
            run.program.display(),
            run.env
        ));
        print!("{}", run.stdout);
        eprint!("{}", run.stderr);
        exec_d_env.extend(run.env);
    }
    let program = PathBuf::from(command.get_program());
    let status = command
        .status()
        .map_err(|error| PlatformError::io(&program, error))?;
    say(&format!("`{process}` exited: {status}"));
    Ok(Launch {
        process,
        code: status.code().unwrap_or(1),
        exec_d_env,
    })
}

/// Prints what happened and where to look.
fn summarize(app: &Path, store_dir: Option<&Path>, env: &[(&str, &str)], launches: &[Launch]) {
    let mut lines = vec!["Summary".to_string()];
    for launched in launches {
        let outcome = if launched.code == 0 {
            "succeeded".to_string()
        } else {
            format!("failed with exit code {}", launched.code)
        };
        lines.push(format!("- `{}` {outcome}", launched.process));
        for (name, value) in &launched.exec_d_env {
            lines.push(format!("    exec.d set {name}={value}"));
        }
    }
    let url = env
        .iter()
        .find(|(name, _)| *name == "STATIC_ARTIFACTS_URL")
        .map_or("", |(_, value)| value);
    match store_dir {
        Some(dir) => {
            let objects = files_under(dir);
            lines.push(format!(
                "- The store {url} holds {} object(s): {}",
                objects.len(),
                objects.join(", ")
            ));
        }
        None => lines.push(format!("- The store: {url}")),
    }
    let loaded = app.join("static-artifacts");
    if loaded.is_dir() {
        lines.push(format!(
            "- `web` loaded {} file(s) into {}",
            files_under(&loaded).len(),
            loaded.display()
        ));
    }
    lines.push(format!(
        "- Look at: the app after its processes ran, {}; the build and release logs above",
        app.display()
    ));
    say(&lines.join("\n"));
}

fn remove_if_present(dir: &Path) -> Result<(), PlatformError> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(PlatformError::io(dir, error))
        }
        _ => Ok(()),
    }
}

/// Prints `line` as a heading of the quick start's output, on stderr.
pub(crate) fn say(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "\n==> {line}");
}
