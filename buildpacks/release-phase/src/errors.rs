//! Every build failure, worded for the person who has to fix it.

use bullet_stream::global::print;
use release_commands::{ConfigError, PlanFileError};
use std::path::PathBuf;

/// A failure of this buildpack.
#[derive(Debug)]
pub(crate) enum ReleasePhaseError {
    /// `project.toml` or a Build Plan entry is wrong.
    Config(ConfigError),
    /// The plan file cannot be written into the layer.
    CannotWritePlan(PlanFileError),
    /// A program cannot be copied into the layer.
    CannotInstallProgram {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
}

impl From<ReleasePhaseError> for libcnb::Error<ReleasePhaseError> {
    fn from(error: ReleasePhaseError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}

/// Prints a failure in Heroku's style: a title, what happened and how to fix it.
pub(crate) fn print_error(error: &libcnb::Error<ReleasePhaseError>) {
    print::error(message(error));
}

fn message(error: &libcnb::Error<ReleasePhaseError>) -> String {
    match error {
        libcnb::Error::BuildpackError(ReleasePhaseError::Config(error)) => format!(
            "Invalid release phase configuration\n\n{error}\n\nFix it and build again. The \
             configuration is documented in the README of the heroku/release-phase buildpack."
        ),
        libcnb::Error::BuildpackError(ReleasePhaseError::CannotWritePlan(error)) => format!(
            "Couldn't write the release plan\n\n{error}\n\nThis is a problem with the build \
             environment (disk full or read-only layers folder?). Retry the build."
        ),
        libcnb::Error::BuildpackError(ReleasePhaseError::CannotInstallProgram {
            from,
            to,
            source,
        }) => format!(
            "Couldn't install a release phase program\n\nCouldn't copy {} to {}: {source}\n\n\
             The buildpack may be packaged incompletely; package it with `cargo libcnb package`.",
            from.display(),
            to.display()
        ),
        other => format!(
            "Internal error in the release phase buildpack\n\n{other}\n\nPlease report this \
             problem, with this output, to the buildpack's maintainers."
        ),
    }
}
