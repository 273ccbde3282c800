//! A local CNB platform for tests: it drives packaged buildpacks the way the CNB lifecycle
//! (Buildpack API 0.10) does, without Docker or `pack`.
//!
//! - [`package`] lays a buildpack out as `cargo libcnb package` does;
//! - [`Platform::build`] runs every buildpack's `bin/detect`, resolves the Build Plan, then runs
//!   every `bin/build` as a separate process with the CNB arguments and environment;
//! - [`Built::launch`] starts a process type as the launcher does: layer `env/` folders, launch
//!   layers' `bin/` on `PATH`, exec.d programs with file descriptor 3, then the process.
//!
//! What it leaves out: build-time env from earlier buildpacks' build layers, `[[or]]`
//! alternatives in build plans, SBOMs, caching between builds and image export.

mod build;
mod detect;
mod error;
mod helper_buildpack;
mod launch;
mod layer_env;
pub mod package;
pub mod release_phase;

pub use build::{BuildOutput, Built};
pub use detect::DetectOutput;
pub use error::PlatformError;
pub use helper_buildpack::write_helper_buildpack;
pub use launch::{ExecDRun, Launched};
/// A process type from a `launch.toml`.
pub use libcnb_data::launch::Process;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A group of packaged buildpacks, run in order against apps.
#[derive(Clone, Debug)]
pub struct Platform {
    buildpacks: Vec<PathBuf>,
    base_env: BTreeMap<String, String>,
}

impl Platform {
    /// A platform whose group is `buildpacks` (packaged buildpack folders), in order.
    #[must_use]
    pub fn new(buildpacks: Vec<PathBuf>) -> Self {
        let base_env = ["PATH", "HOME", "TMPDIR", "LANG"]
            .into_iter()
            .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
            .collect();
        Platform {
            buildpacks,
            base_env,
        }
    }

    /// The group's buildpack folders, in order.
    #[must_use]
    pub fn buildpacks(&self) -> &[PathBuf] {
        &self.buildpacks
    }

    /// Runs detect, then build, on `app_dir` (which build may change, as in a real build).
    ///
    /// # Errors
    ///
    /// Returns a [`PlatformError`] when a buildpack cannot be run, detect fails or the Build
    /// Plan cannot be resolved. A failing `bin/build` is not an error: see
    /// [`BuildOutput::success`].
    pub fn build(&self, app_dir: &Path) -> Result<Built, PlatformError> {
        let detected = detect::detect(self, app_dir)?;
        build::build(self, app_dir, detected)
    }

    /// A `bin/detect` or `bin/build` run as the lifecycle starts it: in the app folder, with only
    /// the base environment, the target variables and `CNB_BUILDPACK_DIR`.
    fn phase_command(
        &self,
        program: &Path,
        buildpack_dir: &Path,
        app_dir: &Path,
    ) -> std::process::Command {
        let mut command = std::process::Command::new(program);
        command
            .current_dir(app_dir)
            .env_clear()
            .envs(&self.base_env)
            .envs(Platform::target_env())
            .env("CNB_BUILDPACK_DIR", buildpack_dir);
        command
    }

    /// The environment variables the lifecycle sets for the target (`CNB_TARGET_*`).
    fn target_env() -> [(&'static str, &'static str); 4] {
        let arch = match std::env::consts::ARCH {
            "aarch64" => "arm64",
            _ => "amd64",
        };
        [
            ("CNB_TARGET_OS", "linux"),
            ("CNB_TARGET_ARCH", arch),
            ("CNB_TARGET_DISTRO_NAME", "ubuntu"),
            ("CNB_TARGET_DISTRO_VERSION", "24.04"),
        ]
    }
}

/// The buildpack id of a packaged buildpack, read from its `buildpack.toml`.
fn buildpack_id(buildpack_dir: &Path) -> Result<String, PlatformError> {
    let path = buildpack_dir.join("buildpack.toml");
    let descriptor: libcnb_data::buildpack::BuildpackDescriptor = read_toml(&path)?;
    Ok(descriptor.buildpack().id.to_string())
}

/// Reads and parses a TOML file.
fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, PlatformError> {
    let text = std::fs::read_to_string(path).map_err(|error| PlatformError::io(path, error))?;
    toml::from_str(&text).map_err(|error| PlatformError::BadToml {
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

/// The folder name of a buildpack's layers: its id with `/` replaced by `_`.
fn escaped_id(id: &str) -> String {
    id.replace('/', "_")
}

/// The files under `dir` (links included, not followed), as paths relative to it, sorted;
/// folders that cannot be read are left out.
#[must_use]
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                files.push(relative.display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// Waits up to `timeout` for the process `pid` to end (to be gone or a zombie); returns whether
/// it did.
#[must_use]
pub fn wait_until_process_ends(pid: u32, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        if matches!(state, None | Some(Some('Z' | 'X'))) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
