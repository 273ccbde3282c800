//! Static artifacts in the release process: preflight, upload after `release-build`, publish.

use crate::manifest::archive_key;
use crate::{ArtifactError, Log, Settings, Store, publish_release, upload_release_until};
use release_runner::{HookError, Interrupted, ReleaseHooks};
use std::io::Write;
use std::path::PathBuf;

/// The artifact steps of a release with a `release-build` command.
pub struct ArtifactHooks {
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    log: Log,
    ready: Option<(Settings, Store)>,
}

impl ArtifactHooks {
    /// Steps that store the folder `dir` (normally `static-artifacts`).
    ///
    /// # Errors
    ///
    /// Returns an error when the async runtime cannot start.
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        Ok(ArtifactHooks {
            runtime: crate::operations::runtime()?,
            dir,
            log: Log::stderr("[release-phase] "),
            ready: None,
        })
    }

    fn ready(&self) -> Result<&(Settings, Store), HookError> {
        self.ready
            .as_ref()
            .ok_or_else(|| HookError::new("the static artifacts store was not checked"))
    }
}

impl ReleaseHooks for ArtifactHooks {
    fn preflight(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        let failed = |error: &dyn std::fmt::Display| {
            HookError::new(format!("static artifacts cannot be stored: {error}"))
        };
        let settings = Settings::from_env().map_err(|error| failed(&error))?;
        let id = settings
            .release_id()
            .map_err(|error| failed(&error))?
            .clone();
        let store = self
            .runtime
            .block_on(Store::connect(&settings))
            .map_err(|error| failed(&error))?;
        self.runtime
            .block_on(store.preflight(&archive_key(&id, settings.compression)))
            .map_err(|error| failed(&error))?;
        self.log.line(&format!(
            "Static artifacts of release {id} go to {}: reachable, and writes are allowed.",
            store.describe()
        ));
        self.ready = Some((settings, store));
        Ok(())
    }

    fn upload(
        &mut self,
        _log: &mut dyn Write,
        interrupted: Interrupted<'_>,
    ) -> Result<(), HookError> {
        let (settings, store) = self.ready()?;
        // Polled on this thread: the signal arrives through the runner.
        let stop = async {
            loop {
                if let Some(signal) = interrupted() {
                    return signal;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        self.runtime
            .block_on(upload_release_until(
                store, settings, &self.dir, &self.log, stop,
            ))
            .map(|_| ())
            .map_err(|error| match error {
                ArtifactError::Stopped { signal, .. } => {
                    HookError::interrupted(signal, error.to_string())
                }
                other => HookError::new(other.to_string()),
            })
    }

    fn publish(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        let (settings, store) = self.ready()?;
        self.runtime
            .block_on(publish_release(store, settings, &self.log))
            .map_err(|error| HookError::new(error.to_string()))
    }
}
