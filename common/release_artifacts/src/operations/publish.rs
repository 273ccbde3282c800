//! Publish: mark a release as the latest, only while its archive is there, then prune.

use super::catalogue::read_manifest;
use super::{ArtifactError, prune_releases};
use crate::manifest::{LATEST_KEY, manifest_key, now, now_ms};
use crate::{Latest, Log, Manifest, ReleaseId, Store};

/// Marks release `id`'s artifacts as the latest published ones (`latest.json`), then, with
/// `keep` (`STATIC_ARTIFACTS_KEEP`), prunes older releases. `latest.json` is written only when
/// the release's archive is there, and put back as it was when a prune running at the same time
/// deleted the release meanwhile. Once `latest.json` names the release, a failed prune is a
/// warning: the release is published.
///
/// # Errors
///
/// Returns an [`ArtifactError`] when the release has no manifest or archive, or the store fails.
pub async fn publish_release(
    store: &Store,
    id: &ReleaseId,
    keep: Option<usize>,
    log: &Log,
) -> Result<(), ArtifactError> {
    let Some(manifest) = read_manifest(store, id).await? else {
        return Err(ArtifactError::NoArtifacts(format!(
            "Couldn't publish release {id}: it has no manifest in {}. Upload its artifacts first.",
            store.describe()
        )));
    };
    let gone = || {
        ArtifactError::NoArtifacts(format!(
            "Couldn't publish release {id}: its archive {} is not there (was it pruned meanwhile?); {LATEST_KEY} was left as it was. Run the release phase again to upload its artifacts.",
            store.location_of(&manifest.archive_key)
        ))
    };
    if store.size_of(&manifest.archive_key).await? != Some(manifest.size) {
        return Err(gone());
    }
    let previous = store.get_small(LATEST_KEY).await?;
    if manifest.published_at_ms.is_none() {
        let published = Manifest {
            published_at_ms: Some(now_ms()),
            ..manifest.clone()
        };
        store
            .put_small(&manifest_key(id), published.to_json())
            .await?;
    }
    let latest = Latest {
        release_id: id.to_string(),
        manifest_key: manifest_key(id),
        published_at: now(),
    };
    store.put_small(LATEST_KEY, latest.to_json()).await?;
    // A prune that chose this release before it was published may have deleted it meanwhile.
    let still_there = read_manifest(store, id).await?.is_some()
        && store.size_of(&manifest.archive_key).await? == Some(manifest.size);
    if !still_there {
        match previous {
            Some(previous) => store.put_small(LATEST_KEY, previous).await?,
            None => store.delete(LATEST_KEY).await?,
        }
        return Err(gone());
    }
    log.line(&format!(
        "Published release {id}'s static artifacts as the latest ({}).",
        store.location_of(LATEST_KEY)
    ));
    // The release is published: pruning is housekeeping, and its failure is only a warning.
    if let Some(keep) = keep
        && let Err(error) = prune_releases(store, keep, id, log).await
    {
        log.warning(&format!(
            "Release {id} is published, but pruning older releases (STATIC_ARTIFACTS_KEEP={keep}) failed: {error} The next release phase prunes again; or run release-artifacts prune --keep {keep}."
        ));
    }
    Ok(())
}
