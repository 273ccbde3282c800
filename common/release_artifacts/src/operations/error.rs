//! How an artifact operation fails: one variant per kind of failure, each worded with what to do.

use crate::manifest::BadDocument;
use crate::{ReleaseId, SettingsError, StoreError, UnpackError};
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::time::Duration;

/// A failed artifact operation; the text says what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A setting is missing or wrong.
    #[error("{0}")]
    Settings(#[from] SettingsError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A manifest or `latest.json` is invalid.
    #[error("{0}")]
    Document(#[from] BadDocument),
    /// The folder to upload does not exist.
    #[error("Couldn't upload {}: the folder does not exist. The release-build command must write the static artifacts there.", dir.display())]
    NoFolder {
        /// The folder.
        dir: PathBuf,
    },
    /// The folder cannot be archived.
    #[error("Couldn't archive {}: {message}", dir.display())]
    CannotPack {
        /// The folder.
        dir: PathBuf,
        /// What failed.
        message: String,
    },
    /// The release was published with different artifacts, which are never replaced.
    #[error(
        "Release {id} was published with other static artifacts (another digest) at {location}. Published artifacts are never replaced: release with a new RELEASE_ID."
    )]
    Immutable {
        /// The release.
        id: ReleaseId,
        /// Where its archive is.
        location: String,
    },
    /// Another upload of the same release stored other artifacts at the same moment.
    #[error(
        "Another upload of release {id} stored other static artifacts at {location} first: this upload stored nothing. Run one release phase per release at a time. If no other one is running, that archive was left by an upload that did not finish: delete it, then run the release phase again."
    )]
    Conflict {
        /// The release.
        id: ReleaseId,
        /// Where the other archive is.
        location: String,
    },
    /// Neither this release nor (with the fallback) the latest one has artifacts.
    #[error("{0}")]
    NoArtifacts(String),
    /// The archive was refused or could not be extracted.
    #[error("Couldn't extract {location}: {error}")]
    Extract {
        /// The archive.
        location: String,
        /// What went wrong.
        error: UnpackError,
    },
    /// The archive's bytes differ from its manifest.
    #[error(
        "{location} is corrupt: its {what} is {actual}, but the manifest says {expected}. Nothing was changed; upload the release's artifacts again."
    )]
    Mismatch {
        /// The archive.
        location: String,
        /// "SHA-256" or "size".
        what: &'static str,
        /// What the manifest says.
        expected: String,
        /// What was received.
        actual: String,
    },
    /// A local file operation failed.
    #[error("Couldn't {action} {}: {error}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A signal stopped the upload; nothing was stored.
    #[error(
        "Stopped by {signal}: the upload of release {id}'s static artifacts was cancelled, and nothing was stored (an unfinished multipart upload is aborted)."
    )]
    Stopped {
        /// The signal.
        signal: Signal,
        /// The release.
        id: ReleaseId,
    },
    /// A signal stopped the load; the target folder was left as it was.
    #[error("Stopped by {signal} while {doing}. Nothing was changed.")]
    LoadStopped {
        /// The signal.
        signal: Signal,
        /// What was under way.
        doing: String,
    },
    /// The folder to load into is one a load must not replace.
    #[error("Couldn't load into {}: {why}.", dir.display())]
    Target {
        /// The folder.
        dir: PathBuf,
        /// What it is, and what to do.
        why: String,
    },
    /// The whole operation took longer than allowed.
    #[error("Gave up after {} s ({setting}): {doing}. Nothing was changed.", limit.as_secs())]
    TimedOut {
        /// The limit.
        limit: Duration,
        /// The setting that gives it.
        setting: &'static str,
        /// What was under way.
        doing: String,
    },
}
