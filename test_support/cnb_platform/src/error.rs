//! What can go wrong while emulating the lifecycle.

use std::path::{Path, PathBuf};

/// A failure of the platform itself, or of a phase that stops the lifecycle.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A file or program could not be used.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or program.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A TOML file written by a buildpack is not valid.
    #[error("{} is not valid TOML: {message}", path.display())]
    BadToml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A buildpack's detect did not pass.
    #[error("detect of {buildpack} exited with {code:?} (100 means it did not pass)\n{output}")]
    DetectFailed {
        /// The buildpack id.
        buildpack: String,
        /// The exit code.
        code: Option<i32>,
        /// What detect printed.
        output: String,
    },
    /// The Build Plan of the group cannot be resolved.
    #[error("the Build Plan cannot be resolved: {0}")]
    Unresolved(String),
    /// The requested process type is not in any `launch.toml`.
    #[error("no process type `{0}` in the image")]
    NoSuchProcess(String),
    /// An exec.d program failed, which aborts the launch (the launcher exits with code 82).
    #[error("exec.d program {} failed ({status}); the launch is aborted\n{stderr}", program.display())]
    ExecDFailed {
        /// The program.
        program: PathBuf,
        /// How it ended.
        status: std::process::ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The packaged buildpack named by `RELEASE_PHASE_BUILDPACK_DIR` is incomplete.
    #[error(
        "{} is not a packaged buildpack: it has no {missing}. Run `cargo libcnb package --release` and point RELEASE_PHASE_BUILDPACK_DIR at packaged/<target>/release/heroku_release-phase, or unset it",
        dir.display()
    )]
    NotPackaged {
        /// The folder the variable names.
        dir: PathBuf,
        /// The part that is missing.
        missing: String,
    },
    /// An exec.d program wrote something other than TOML string values to fd 3.
    #[error("exec.d program {} wrote invalid TOML to fd 3: {message}", program.display())]
    ExecDBadOutput {
        /// The program.
        program: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl PlatformError {
    /// A file operation on `path` that failed.
    #[must_use]
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        PlatformError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
