//! Packaging this repository's `heroku/release-phase` buildpack and the group tests run it in.

use crate::{Platform, PlatformError, package::package, write_helper_buildpack};
use std::path::{Path, PathBuf};

/// The buildpack's main binary: `bin/build` and `bin/detect` once packaged.
pub const MAIN_BINARY: &str = "release-phase";

/// The buildpack's other programs, installed into its launch layer.
pub const PROGRAMS: &[&str] = &[
    "exec-release-commands",
    "upload-release-artifacts",
    "download-release-artifacts",
    "release-artifacts",
];

/// The folder holding this workspace's `Cargo.toml`.
#[must_use]
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The buildpack's folder in this workspace (`buildpack.toml`, fixtures).
#[must_use]
pub fn buildpack_source_dir() -> PathBuf {
    workspace_root().join("buildpacks").join("release-phase")
}

/// Packages `heroku/release-phase` from the binaries built into `bin_dir` (such as
/// `target/debug`) into `dest`.
///
/// # Errors
///
/// Returns [`PlatformError::Io`] when a binary is missing or a file cannot be written.
pub fn package_release_phase(dest: &Path, bin_dir: &Path) -> Result<(), PlatformError> {
    let additional: Vec<(&str, PathBuf)> = PROGRAMS
        .iter()
        .map(|name| (*name, bin_dir.join(name)))
        .collect();
    package(
        dest,
        &buildpack_source_dir().join("buildpack.toml"),
        &bin_dir.join(MAIN_BINARY),
        &additional,
    )
}

/// The group tests use: `heroku/release-phase` (packaged from `bin_dir`), then the helper
/// buildpack that hands commands over, both written under `work_dir`.
///
/// # Errors
///
/// Returns [`PlatformError::Io`] when a buildpack cannot be written.
pub fn release_phase_group(work_dir: &Path, bin_dir: &Path) -> Result<Platform, PlatformError> {
    let ours = work_dir.join("heroku_release-phase");
    let helper = work_dir.join("test_hands-over-commands");
    package_release_phase(&ours, bin_dir)?;
    write_helper_buildpack(&helper)?;
    Ok(Platform::new(vec![ours, helper]))
}

/// Copies the app `fixture` into a new temporary folder, as a platform copies source into
/// `/workspace`.
///
/// # Errors
///
/// Returns [`PlatformError::Io`] when a file cannot be copied.
pub fn copy_app(fixture: &Path) -> Result<tempfile::TempDir, PlatformError> {
    let app = tempfile::tempdir().map_err(|error| PlatformError::io(fixture, error))?;
    copy_dir(fixture, app.path())?;
    Ok(app)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), PlatformError> {
    let entries = std::fs::read_dir(from).map_err(|error| PlatformError::io(from, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| PlatformError::io(from, error))?;
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|error| PlatformError::io(&entry.path(), error))?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|error| PlatformError::io(&target, error))?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|error| PlatformError::io(&entry.path(), error))?;
        }
    }
    Ok(())
}
