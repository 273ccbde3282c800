//! Packaging this repository's `heroku/release-phase` buildpack and the group tests run it in.

use crate::{Platform, PlatformError, package::package, write_helper_buildpack};
use std::path::{Path, PathBuf};

/// The buildpack's main binary: `bin/build` and `bin/detect` once packaged.
pub const MAIN_BINARY: &str = "release-phase";

/// The one program file the buildpack ships besides `bin/build`: the layer installs it, and it
/// runs as whichever program the name it is called by says.
pub const PROGRAM_FILE: &str = "exec-release-commands";

/// The names the launch layer gives the program file (links), each running that program.
pub const PROGRAM_NAMES: &[&str] = &[
    "exec-release-commands",
    "upload-release-artifacts",
    "download-release-artifacts",
    "release-artifacts",
    "save-release-artifacts",
    "load-release-artifacts",
];

/// When set, the folder of a buildpack packaged by `cargo libcnb package` (the musl binaries
/// that ship); the tests then run it instead of a layout made from the test build.
pub const PACKAGED_BUILDPACK_VAR: &str = "RELEASE_PHASE_BUILDPACK_DIR";

/// The folder holding this workspace's `Cargo.toml`.
#[must_use]
pub fn workspace_root() -> PathBuf {
    // This crate is `test_support/cnb_platform` in the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
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
    package(
        dest,
        &buildpack_source_dir().join("buildpack.toml"),
        &bin_dir.join(MAIN_BINARY),
        &[(PROGRAM_FILE, bin_dir.join(PROGRAM_FILE))],
    )
}

/// The buildpack folder that [`PACKAGED_BUILDPACK_VAR`] names, if set, after checking that it
/// is laid out as `cargo libcnb package` lays it out.
///
/// # Errors
///
/// Returns [`PlatformError::NotPackaged`] when the variable is set but the folder lacks
/// `buildpack.toml`, `bin/build`, `bin/detect` or the program file.
pub fn packaged_buildpack() -> Result<Option<PathBuf>, PlatformError> {
    let Some(dir) = std::env::var_os(PACKAGED_BUILDPACK_VAR) else {
        return Ok(None);
    };
    let dir = PathBuf::from(dir);
    for part in ["buildpack.toml", "bin/build", "bin/detect"] {
        if !dir.join(part).is_file() {
            return Err(PlatformError::NotPackaged {
                dir,
                missing: part.to_string(),
            });
        }
    }
    if !packaged_program_file(&dir).is_file() {
        return Err(PlatformError::NotPackaged {
            missing: format!(".libcnb-cargo/additional-bin/{PROGRAM_FILE}"),
            dir,
        });
    }
    Ok(Some(dir))
}

/// The program file inside a packaged buildpack folder.
#[must_use]
pub fn packaged_program_file(buildpack_dir: &Path) -> PathBuf {
    buildpack_dir
        .join(".libcnb-cargo")
        .join("additional-bin")
        .join(PROGRAM_FILE)
}

/// The program file the tests run: the packaged one when [`PACKAGED_BUILDPACK_VAR`] is set,
/// else `built` (the test build's `exec-release-commands`).
///
/// # Errors
///
/// As [`packaged_buildpack`].
pub fn program_file_under_test(built: &Path) -> Result<PathBuf, PlatformError> {
    Ok(
        packaged_buildpack()?
            .map_or_else(|| built.to_path_buf(), |dir| packaged_program_file(&dir)),
    )
}

/// The programs as the launch layer offers them: links to one program file, by name.
#[derive(Clone, Debug)]
pub struct ProgramLinks {
    /// `exec-release-commands`.
    pub runner: String,
    /// `upload-release-artifacts`.
    pub upload: String,
    /// `download-release-artifacts`.
    pub download: String,
    /// `release-artifacts`.
    pub manage: String,
}

/// Makes `dir` hold a link to `program_file` named after each program, as the launch layer
/// does.
///
/// # Errors
///
/// Returns [`PlatformError::Io`] when the folder or a link cannot be made.
pub fn link_programs(program_file: &Path, dir: &Path) -> Result<ProgramLinks, PlatformError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|error| PlatformError::io(dir, error))?;
    }
    std::fs::create_dir_all(dir).map_err(|error| PlatformError::io(dir, error))?;
    for name in PROGRAM_NAMES {
        let link = dir.join(name);
        std::os::unix::fs::symlink(program_file, &link)
            .map_err(|error| PlatformError::io(&link, error))?;
    }
    let path = |name: &str| dir.join(name).display().to_string();
    Ok(ProgramLinks {
        runner: path(PROGRAM_FILE),
        upload: path("upload-release-artifacts"),
        download: path("download-release-artifacts"),
        manage: path("release-artifacts"),
    })
}

/// [`link_programs`] for a test binary: the program file under test (see
/// [`program_file_under_test`]) linked into `work_dir`.
///
/// # Errors
///
/// As [`program_file_under_test`] and [`link_programs`].
pub fn programs_under_test(built: &Path, work_dir: &Path) -> Result<ProgramLinks, PlatformError> {
    link_programs(&program_file_under_test(built)?, work_dir)
}

/// The group tests use: `heroku/release-phase`, then the helper buildpack that hands commands
/// over, written under `work_dir`. Ours is the packaged buildpack that [`PACKAGED_BUILDPACK_VAR`]
/// names when set, else packaged here from the binaries in `bin_dir`.
///
/// # Errors
///
/// Returns a [`PlatformError`] when a buildpack cannot be written or the packaged one is
/// incomplete.
pub fn release_phase_group(work_dir: &Path, bin_dir: &Path) -> Result<Platform, PlatformError> {
    let ours = if let Some(packaged) = packaged_buildpack()? {
        packaged
    } else {
        let ours = work_dir.join("heroku_release-phase");
        package_release_phase(&ours, bin_dir)?;
        ours
    };
    let helper = work_dir.join("test_hands-over-commands");
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

/// Copies the contents of `from` into the existing folder `to`.
///
/// # Errors
///
/// Returns [`PlatformError::Io`] when a file cannot be copied.
pub fn copy_dir(from: &Path, to: &Path) -> Result<(), PlatformError> {
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
