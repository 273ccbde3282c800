//! Every build failure, worded for the person who has to fix it: one variant per place the
//! build can fail, and every message here, each pinned by a test.

use bullet_stream::global::print;
use indoc::formatdoc;
use release_commands::{ConfigError, PlanFileError};
use std::path::PathBuf;

/// A failure of this buildpack.
#[derive(Debug)]
pub(crate) enum ReleasePhaseError {
    /// `project.toml` or a Build Plan entry is wrong.
    Config(ConfigError),
    /// The plan file cannot be written into the layer.
    CannotWritePlan(PlanFileError),
    /// The program file cannot be copied from the buildpack into the layer.
    CannotCopyProgram {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    /// A program's name cannot be linked to the program file in the layer.
    CannotLinkProgram {
        link: PathBuf,
        source: std::io::Error,
    },
    /// The `web` process's loader cannot be put into the layer's `exec.d/web/`.
    CannotAddWebLoader {
        loader: PathBuf,
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

/// What to do when the layer cannot be written.
const LAYER_HINT: &str = "The layers folder may be full or read-only. Retry the build; if it \
                          fails again, check the disk space of the build environment.";

fn message(error: &libcnb::Error<ReleasePhaseError>) -> String {
    let text = match error {
        libcnb::Error::BuildpackError(ReleasePhaseError::Config(error)) => formatdoc! {"
            Invalid release phase configuration

            {error}

            Fix it and build again. The configuration is documented in the README of the \
            heroku/release-phase buildpack.
        "},
        libcnb::Error::BuildpackError(ReleasePhaseError::CannotWritePlan(error)) => formatdoc! {"
            Release plan not saved

            {error}

            {LAYER_HINT}
        "},
        libcnb::Error::BuildpackError(ReleasePhaseError::CannotCopyProgram {
            from,
            to,
            source,
        }) => formatdoc! {"
            Release phase program not installed

            Couldn't copy {from} to {to}: {source}

            The buildpack may be packaged incompletely: package it with `cargo libcnb package`, \
            then build again.
            ",
            from = from.display(),
            to = to.display(),
        },
        libcnb::Error::BuildpackError(ReleasePhaseError::CannotLinkProgram { link, source }) => {
            formatdoc! {"
                Release phase program not linked

                Couldn't create the link {link}: {source}

                {LAYER_HINT}
                ",
                link = link.display(),
            }
        }
        libcnb::Error::BuildpackError(ReleasePhaseError::CannotAddWebLoader { loader, source }) => {
            formatdoc! {"
                Static artifacts loader not added

                Couldn't link the program file to {loader}: {source}

                Without it, web processes would start without their static artifacts. \
                {LAYER_HINT}
                ",
                loader = loader.display(),
            }
        }
        other => formatdoc! {"
            Internal error in the release phase buildpack

            {other}

            Please report this problem, with this output, to the buildpack's maintainers.
        "},
    };
    text.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Error;

    fn said(error: ReleasePhaseError) -> String {
        message(&libcnb::Error::BuildpackError(error))
    }

    #[test]
    fn every_message_has_a_title_what_happened_and_what_to_do() {
        assert_eq!(
            said(ReleasePhaseError::CannotWritePlan(
                PlanFileError::CannotWrite {
                    path: PathBuf::from("/layers/release-phase/release-plan.toml"),
                    source: Error::from_raw_os_error(libc::ENOSPC),
                }
            )),
            "Release plan not saved\n\nCouldn't write the release plan \
             /layers/release-phase/release-plan.toml: No space left on device (os error 28)\n\n\
             The layers folder may be full or read-only. Retry the build; if it fails again, \
             check the disk space of the build environment."
        );
        assert_eq!(
            said(ReleasePhaseError::CannotCopyProgram {
                from: PathBuf::from("/cnb/buildpacks/release-phase/exec-release-commands"),
                to: PathBuf::from("/layers/release-phase/bin/exec-release-commands"),
                source: Error::from_raw_os_error(libc::ENOENT),
            }),
            "Release phase program not installed\n\nCouldn't copy \
             /cnb/buildpacks/release-phase/exec-release-commands to \
             /layers/release-phase/bin/exec-release-commands: No such file or directory (os error \
             2)\n\n\
             The buildpack may be packaged incompletely: package it with `cargo libcnb \
             package`, then build again."
        );
        assert_eq!(
            said(ReleasePhaseError::CannotLinkProgram {
                link: PathBuf::from("/layers/release-phase/bin/release-artifacts"),
                source: Error::from_raw_os_error(libc::EEXIST),
            }),
            "Release phase program not linked\n\nCouldn't create the link \
             /layers/release-phase/bin/release-artifacts: File exists (os error 17)\n\n\
             The layers folder may be full or read-only. Retry the build; if it fails again, \
             check the disk space of the build environment."
        );
        assert_eq!(
            said(ReleasePhaseError::CannotAddWebLoader {
                loader: PathBuf::from(
                    "/layers/release-phase/exec.d/web/download-release-artifacts"
                ),
                source: Error::from_raw_os_error(libc::EACCES),
            }),
            "Static artifacts loader not added\n\nCouldn't link the program file to \
             /layers/release-phase/exec.d/web/download-release-artifacts: Permission denied (os error \
             13)\n\n\
             Without it, web processes would start without their static artifacts. The layers \
             folder may be full or read-only. Retry the build; if it fails again, check the \
             disk space of the build environment."
        );
    }

    #[test]
    fn an_unexpected_failure_asks_for_a_report() {
        let error = libcnb::Error::<ReleasePhaseError>::CannotDetermineTargetOs(
            std::env::VarError::NotPresent,
        );
        assert_eq!(
            message(&error),
            "Internal error in the release phase buildpack\n\nCouldn't determine target os: \
             environment variable not found\n\nPlease report this problem, with this output, to \
             the buildpack's maintainers."
        );
    }

    #[test]
    fn no_title_is_repeated_in_its_body() {
        let messages = [
            said(ReleasePhaseError::CannotWritePlan(
                PlanFileError::CannotWrite {
                    path: PathBuf::from("p"),
                    source: Error::from_raw_os_error(libc::ENOSPC),
                },
            )),
            said(ReleasePhaseError::CannotLinkProgram {
                link: PathBuf::from("l"),
                source: Error::from_raw_os_error(libc::EEXIST),
            }),
        ];
        for message in messages {
            let (title, body) = message.split_once("\n\n").unwrap();
            assert!(!body.contains(title), "{message}");
        }
    }
}
