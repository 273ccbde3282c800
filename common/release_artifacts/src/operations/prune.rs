//! Prune: delete all but the newest releases, sparing any that may be in a release phase.

use super::ArtifactError;
use super::ReleaseListing;
use super::catalogue::{PARALLEL_REQUESTS, list_releases, read_latest};
use crate::manifest::{manifest_key, now_ms, record_key};
use crate::store::Refusal;
use crate::{Log, Manifest, ReleaseId, Store, StoreError};
use std::sync::Arc;

/// How long a release that was uploaded but not published is spared by pruning: its release
/// phase may still be running its `release` commands.
/// (24 hours, in milliseconds.)
const UNPUBLISHED_GRACE_MS: u64 = 24 * 3600 * 1000;

/// Deletes the archives, manifests and release records of all but the `keep` newest releases. Never deleted: the
/// release `protect` (being published), the one `latest.json` names, any release newer than
/// `protect`, and any release not yet published that was uploaded less than
/// a day ago (either may be in its release phase right now), nor an object that
/// is not part of the layout. Returns the ids deleted.
///
/// # Errors
///
/// Returns an [`ArtifactError`] when the store fails.
pub async fn prune_releases(
    store: &Store,
    keep: usize,
    protect: &ReleaseId,
    log: &Log,
) -> Result<Vec<ReleaseId>, ArtifactError> {
    let listing = list_releases(store).await?;
    listing.warn_skipped(store, log);
    let doomed = choose_doomed(&listing, keep, protect);
    // Listing thousands of manifests takes a while: a release published again meanwhile (a
    // re-run release phase) is spared.
    let latest_now = read_latest(store)
        .await
        .ok()
        .flatten()
        .and_then(|latest| latest.id());
    let doomed: Vec<(ReleaseId, String)> = doomed
        .into_iter()
        .filter(|(id, _)| latest_now.as_ref() != Some(id))
        .collect();
    let deleted = delete_releases(store, doomed).await?;
    if !deleted.is_empty() {
        log.line(&format!(
            "Pruned {} release{} (STATIC_ARTIFACTS_KEEP={keep}): {}",
            deleted.len(),
            if deleted.len() == 1 { "" } else { "s" },
            deleted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(deleted)
}

/// The releases beyond the `keep` newest that may go, each with its archive key: never
/// `protect`, the latest, a release newer than `protect`, or one that may be in its release
/// phase (unpublished, uploaded within [`UNPUBLISHED_GRACE_MS`]).
fn choose_doomed(
    listing: &ReleaseListing,
    keep: usize,
    protect: &ReleaseId,
) -> Vec<(ReleaseId, String)> {
    let protected_time = listing
        .releases
        .iter()
        .find(|manifest| manifest.release_id == protect.as_str())
        .map(|manifest| manifest.created_at_ms);
    let newest_first: Vec<&Manifest> = listing.releases.iter().rev().collect();
    newest_first
        .iter()
        .skip(keep)
        .filter_map(|manifest| {
            let id = manifest.id()?;
            let newer_than_protected =
                protected_time.is_some_and(|time| manifest.created_at_ms > time);
            let maybe_releasing = manifest.published_at_ms.is_none()
                && now_ms().saturating_sub(manifest.created_at_ms) < UNPUBLISHED_GRACE_MS;
            let spared = &id == protect
                || listing.latest.as_ref() == Some(&id)
                || newer_than_protected
                || maybe_releasing;
            (!spared).then(|| (id, manifest.archive_key.clone()))
        })
        .collect()
}

/// Deletes each release (manifest first, then archive, then its release record), [`PARALLEL_REQUESTS`] at a time;
/// returns the ids deleted, in the order given.
async fn delete_releases(
    store: &Store,
    doomed: Vec<(ReleaseId, String)>,
) -> Result<Vec<ReleaseId>, ArtifactError> {
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_REQUESTS));
    let mut deletions = tokio::task::JoinSet::new();
    for (order, (id, archive)) in doomed.into_iter().enumerate() {
        let (store, permits) = (store.clone(), Arc::clone(&permits));
        deletions.spawn(async move {
            let _permit = permits.acquire_owned().await;
            // The manifest goes first: without it, loaders no longer pick the archive.
            store.delete(&manifest_key(&id)).await?;
            store.delete(&archive).await?;
            store.delete(&record_key(&id)).await?;
            Ok::<_, StoreError>((order, id))
        });
    }
    let mut deleted = Vec::new();
    let mut failure = None;
    while let Some(done) = deletions.join_next().await {
        match done {
            Ok(Ok(id)) => deleted.push(id),
            Ok(Err(error)) => failure = failure.or(Some(ArtifactError::Store(error))),
            Err(error) => {
                failure = failure.or(Some(ArtifactError::Store(StoreError::Refused {
                    target: format!("prune {}", store.describe()),
                    reason: Refusal::TaskFailed {
                        reason: error.to_string(),
                    },
                })));
            }
        }
    }
    // Newest first, as they were chosen.
    deleted.sort();
    let deleted: Vec<ReleaseId> = deleted.into_iter().map(|(_, id)| id).collect();
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(deleted)
}
