//! Static artifacts in the release process: preflight, upload after `release-build`, publish.
//! These hooks join the runner (`release_runner`) to the store (`release_artifacts`).

use crate::artifacts::{stderr_log, stopping_signal};
use release_artifacts::manifest::archive_key;
use release_artifacts::{
    ArtifactError, Log, ReleaseId, Settings, Store, publish_release, runtime, upload_release,
};
use release_runner::{HookError, ReleaseHooks};
use std::io::Write;
use std::path::PathBuf;

/// The artifact steps of a release with a `release-build` command.
pub(crate) struct ArtifactHooks {
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    log: Log,
    ready: Option<Ready>,
}

/// What the preflight found: the settings, the store, and this release's id.
struct Ready {
    settings: Settings,
    store: Store,
    id: ReleaseId,
}

/// Why the static artifacts cannot be stored, found by the preflight.
#[derive(Debug, thiserror::Error)]
#[error("static artifacts cannot be stored: {0}")]
struct CannotStore(#[source] ArtifactError);

impl ArtifactHooks {
    /// Steps that store the folder `dir` (normally `static-artifacts`).
    ///
    /// # Errors
    ///
    /// Returns an error when the async runtime cannot start.
    pub(crate) fn new(dir: PathBuf) -> std::io::Result<Self> {
        Ok(ArtifactHooks {
            runtime: runtime()?,
            dir,
            log: stderr_log("[release-phase] "),
            ready: None,
        })
    }

    fn ready(&self) -> Result<&Ready, HookError> {
        self.ready
            .as_ref()
            .ok_or_else(|| HookError::new("the static artifacts store was not checked"))
    }

    fn check(&self) -> Result<Ready, ArtifactError> {
        let settings = Settings::from_env()?;
        let id = settings.release_id()?.clone();
        let store = self.runtime.block_on(settings.open_store())?;
        self.runtime
            .block_on(store.preflight(&archive_key(&id, settings.compression)))?;
        Ok(Ready {
            settings,
            store,
            id,
        })
    }
}

impl ReleaseHooks for ArtifactHooks {
    fn preflight(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        let ready = self
            .check()
            .map_err(|error| HookError::new(CannotStore(error)))?;
        self.log.line(&format!(
            "Static artifacts of release {} go to {}: reachable, and writes are allowed.",
            ready.id,
            ready.store.describe()
        ));
        self.ready = Some(ready);
        Ok(())
    }

    fn upload(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        let Ready {
            settings,
            store,
            id,
        } = self.ready()?;
        let stop = stopping_signal().map_err(HookError::new)?;
        self.runtime
            .block_on(upload_release(
                store,
                id,
                &self.dir,
                settings.compression,
                &self.log,
                stop,
            ))
            .map(|_| ())
            .map_err(|error| match error {
                ArtifactError::Stopped { signal, .. } => {
                    HookError::interrupted(signal as i32, error)
                }
                other => HookError::new(other),
            })
    }

    fn publish(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        let Ready {
            settings,
            store,
            id,
        } = self.ready()?;
        self.runtime
            .block_on(publish_release(store, id, settings.keep, &self.log))
            .map_err(HookError::new)
    }
}
