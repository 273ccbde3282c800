//! A test-only buildpack placed after ours in the group: it hands release commands over through
//! the Build Plan and declares process types, both taken from files in the app.
//!
//! - `test-buildpack/plan.toml` in the app is appended to its detect output (e.g. a
//!   `[[requires]] name = "release-phase"` with metadata);
//! - `test-buildpack/launch.toml` in the app becomes its `launch.toml` (e.g. a `web` process).

use crate::PlatformError;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const BUILDPACK_TOML: &str = r#"api = "0.10"

[buildpack]
id = "test/hands-over-commands"
version = "0.0.0"
name = "Test buildpack that hands release commands over"

[[targets]]
os = "linux"
"#;

const DETECT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
if [[ -f test-buildpack/plan.toml ]]; then
  cat test-buildpack/plan.toml >> "$CNB_BUILD_PLAN_PATH"
fi
"#;

const BUILD: &str = r#"#!/usr/bin/env bash
set -euo pipefail
echo "test/hands-over-commands: build"
if [[ -f test-buildpack/launch.toml ]]; then
  cp test-buildpack/launch.toml "$CNB_LAYERS_DIR/launch.toml"
fi
"#;

/// Writes the helper buildpack into `dest`.
///
/// # Errors
///
/// Returns [`PlatformError::Io`] when a file cannot be written.
pub fn write_helper_buildpack(dest: &Path) -> Result<(), PlatformError> {
    let bin = dest.join("bin");
    std::fs::create_dir_all(&bin).map_err(|error| PlatformError::io(&bin, error))?;
    for (path, text, mode) in [
        (dest.join("buildpack.toml"), BUILDPACK_TOML, 0o644),
        (bin.join("detect"), DETECT, 0o755),
        (bin.join("build"), BUILD, 0o755),
    ] {
        std::fs::write(&path, text)
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)))
            .map_err(|error| PlatformError::io(&path, error))?;
    }
    Ok(())
}
