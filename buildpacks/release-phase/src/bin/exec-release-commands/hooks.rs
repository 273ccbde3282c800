//! The store in the release process: preflight, upload after `release-build`, publish, and
//! the release record. These hooks join the runner (`release_runner`) to the store
//! (`release_artifacts`).

use crate::artifacts::{stderr_log, stopping_signal};
use release_artifacts::manifest::{archive_key, record_key};
use release_artifacts::{
    ArtifactError, Log, ReleaseId, Settings, Store, publish_release, runtime, upload_release,
    write_record,
};
use release_commands::PhaseRecord;
use release_runner::{HookError, ReleaseHooks};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// How long writing the release record may take: a store that stops answering must not hold
/// up the release.
const RECORD_TIMEOUT: Duration = Duration::from_secs(10);

/// The store's steps of a release: the artifact steps when it has a `release-build` command,
/// and the release record whenever a store is configured.
pub(crate) struct ArtifactHooks {
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    log: Log,
    /// Whether the plan has a `release-build` command, whose artifacts are stored.
    artifacts: bool,
    ready: Option<Ready>,
    /// Where records go.
    record_to: RecordTarget,
}

/// Where release records go.
enum RecordTarget {
    /// Not looked for yet.
    Unknown,
    /// This store, for this release.
    Found(Store, ReleaseId),
    /// Nowhere: the settings are incomplete (said once).
    None,
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
    /// Steps that store the folder `dir` (normally `static-artifacts`) when `artifacts` is
    /// true, and keep the release record.
    ///
    /// # Errors
    ///
    /// Returns an error when the async runtime cannot start.
    pub(crate) fn new(dir: PathBuf, artifacts: bool) -> std::io::Result<Self> {
        Ok(ArtifactHooks {
            runtime: runtime()?,
            dir,
            log: stderr_log("[release-phase] "),
            artifacts,
            ready: None,
            record_to: RecordTarget::Unknown,
        })
    }

    /// The store and id records go to, found once; `None` (after one warning) when the
    /// settings are incomplete.
    fn record_target(&mut self) -> Option<(Store, ReleaseId)> {
        if let RecordTarget::Unknown = self.record_to {
            let found = match &self.ready {
                Some(ready) => Ok((ready.store.clone(), ready.id.clone())),
                None => self.runtime.block_on(async {
                    let settings = Settings::from_env()?;
                    let id = settings.release_id()?.clone();
                    let store = settings.open_store().await?;
                    Ok::<_, ArtifactError>((store, id))
                }),
            };
            self.record_to = match found {
                Ok((store, id)) => RecordTarget::Found(store, id),
                Err(error) => {
                    self.log.warning(&format!(
                        "The release record is not kept: {error}. The release phase goes on."
                    ));
                    RecordTarget::None
                }
            };
        }
        match &self.record_to {
            RecordTarget::Found(store, id) => Some((store.clone(), id.clone())),
            RecordTarget::Unknown | RecordTarget::None => None,
        }
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
        if !self.artifacts {
            return Ok(());
        }
        let Ready {
            settings,
            store,
            id,
        } = self.ready()?;
        self.runtime
            .block_on(publish_release(store, id, settings.keep, &self.log))
            .map_err(HookError::new)
    }

    fn record(&mut self, record: &PhaseRecord, _log: &mut dyn Write) {
        let Some((store, id)) = self.record_target() else {
            return;
        };
        let written = self.runtime.block_on(async {
            tokio::time::timeout(RECORD_TIMEOUT, write_record(&store, &id, record)).await
        });
        let problem = match written {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!(
                "the store did not answer within {}s",
                RECORD_TIMEOUT.as_secs()
            ),
        };
        self.log.warning(&format!(
            "Couldn't write the release record {}: {problem}. The release phase goes on.",
            store.location_of(&record_key(&id))
        ));
    }
}
