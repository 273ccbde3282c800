//! Laying out a buildpack folder the way `cargo libcnb package` does.

use crate::PlatformError;
use std::path::{Path, PathBuf};

/// Creates `dest` as a packaged libcnb buildpack: `buildpack.toml`, `bin/build` (the main
/// binary), `bin/detect` (a link to it) and each additional binary at
/// `.libcnb-cargo/additional-bin/<name>`. Binaries are hard-linked when possible, else copied.
///
/// # Errors
///
/// Returns [`PlatformError::Io`] when a file cannot be created.
pub fn package(
    dest: &Path,
    buildpack_toml: &Path,
    main_binary: &Path,
    additional_binaries: &[(&str, PathBuf)],
) -> Result<(), PlatformError> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|error| PlatformError::io(dest, error))?;
    }
    let bin = dest.join("bin");
    let additional = dest.join(".libcnb-cargo").join("additional-bin");
    for dir in [&bin, &additional] {
        std::fs::create_dir_all(dir).map_err(|error| PlatformError::io(dir, error))?;
    }
    let toml_dest = dest.join("buildpack.toml");
    std::fs::copy(buildpack_toml, &toml_dest)
        .map_err(|error| PlatformError::io(buildpack_toml, error))?;
    link_or_copy(main_binary, &bin.join("build"))?;
    let detect = bin.join("detect");
    std::os::unix::fs::symlink("build", &detect)
        .map_err(|error| PlatformError::io(&detect, error))?;
    for (name, path) in additional_binaries {
        link_or_copy(path, &additional.join(name))?;
    }
    Ok(())
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), PlatformError> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|error| PlatformError::io(from, error))
}
