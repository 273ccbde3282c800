//! The seams where static artifacts join the release: preflight, upload and publish.

use release_commands::PhaseRecord;
use std::io::Write;

/// What makes an artifact step fail: any error, worded for the log (what failed and what to do).
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

/// A failure of an artifact step: the error itself, kept whole, and the signal that stopped
/// the step, if one did.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct HookError {
    /// What failed and what to do.
    pub error: StepError,
    /// The signal that stopped the step, if one did.
    pub signal: Option<i32>,
}

impl HookError {
    /// A step that failed on its own.
    pub fn new(error: impl Into<StepError>) -> Self {
        HookError {
            error: error.into(),
            signal: None,
        }
    }

    /// A step that stopped because the release process received `signal`.
    pub fn interrupted(signal: i32, error: impl Into<StepError>) -> Self {
        HookError {
            error: error.into(),
            signal: Some(signal),
        }
    }
}

/// Steps around the commands of a release. Each may log to `log` and fails the release by
/// returning an error.
pub trait ReleaseHooks {
    /// Runs first, only when a `release-build` command is configured: checks that the artifact
    /// store is configured and reachable, before anything runs.
    ///
    /// # Errors
    ///
    /// A [`HookError`] stops the release before any command runs.
    fn preflight(&mut self, log: &mut dyn Write) -> Result<(), HookError>;

    /// Runs right after the `release-build` command succeeded: stores its artifacts. Stops
    /// cleanly (leaving nothing half-stored) on a stopping signal, which it watches for with
    /// [`watch_signals`](crate::watch_signals).
    ///
    /// # Errors
    ///
    /// A [`HookError`] stops the release before the `release` commands run.
    fn upload(&mut self, log: &mut dyn Write) -> Result<(), HookError>;

    /// Runs after every command succeeded: marks this release's artifacts as the latest.
    ///
    /// # Errors
    ///
    /// A [`HookError`] fails the release.
    fn publish(&mut self, log: &mut dyn Write) -> Result<(), HookError>;

    /// Keeps the record of this run: called once at the start (outcome `running`) and once at
    /// the end. Writing it must never fail the release: a hook that cannot keep it logs a
    /// warning. Does nothing by default.
    fn record(&mut self, _record: &PhaseRecord, _log: &mut dyn Write) {}
}

/// Hooks for a release without static artifacts: every step does nothing.
#[derive(Debug, Default)]
pub struct NoArtifacts;

impl ReleaseHooks for NoArtifacts {
    fn preflight(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        Ok(())
    }

    fn upload(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        Ok(())
    }

    fn publish(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        Ok(())
    }
}
