//! The catalogue of a store: manifests, `latest.json`, the archive a load reads, and listings.

use super::ArtifactError;
use crate::manifest::{
    BadDocument, LATEST_KEY, archive_key, manifest_key, release_of_manifest_key,
    release_of_record_key,
};
use crate::store::{ObjectInfo, Refusal};
use crate::{Compression, Latest, Log, Manifest, ReleaseId, Store, StoreError};
use std::sync::Arc;

/// The archive a load reads.
#[derive(Clone, Debug)]
pub(super) struct Source {
    pub(super) id: ReleaseId,
    pub(super) key: String,
    pub(super) format: Compression,
    pub(super) size: u64,
    /// The expected SHA-256, when there is a manifest.
    pub(super) sha256: Option<String>,
    /// The most the files may add up to.
    pub(super) limit: u64,
}

/// Limit on extracted bytes for an archive without manifest: generous for real static files,
/// far below what a decompression bomb expands to.
pub(super) fn limit_without_manifest(size: u64) -> u64 {
    size.saturating_mul(200).max(1 << 30)
}

impl Source {
    pub(super) fn from_manifest(manifest: &Manifest, id: ReleaseId) -> Self {
        Source {
            id,
            key: manifest.archive_key.clone(),
            format: manifest.format,
            size: manifest.size,
            sha256: Some(manifest.sha256.clone()),
            limit: manifest.unpacked_size,
        }
    }
}

/// Reads the manifest of `id`, if it exists.
pub(super) async fn read_manifest(
    store: &Store,
    id: &ReleaseId,
) -> Result<Option<Manifest>, ArtifactError> {
    let key = manifest_key(id);
    match store.get_small(&key).await? {
        Some(bytes) => Ok(Some(
            Manifest::parse(&bytes, &store.location_of(&key), Some(id)).map_err(|bad| {
                BadDocument {
                    message: format!(
                        "{}. Run the release phase of release {id} again to upload its artifacts, or delete it",
                        bad.message
                    ),
                    ..bad
                }
            })?,
        )),
        None => Ok(None),
    }
}

/// The manifest of `id`, which must exist.
pub(super) async fn required_manifest(
    store: &Store,
    id: &ReleaseId,
) -> Result<Manifest, ArtifactError> {
    read_manifest(store, id).await?.ok_or_else(|| {
        ArtifactError::NoArtifacts(format!(
            "Release {id} has no manifest in {}",
            store.describe()
        ))
    })
}

/// Finds the archive of `id`: its manifest, or else a bare `release-<id>.tgz` of earlier tools.
/// A 403 counts as missing here (S3 answers 403 for missing keys to credentials that may not
/// list); a real permission problem then shows on the fallback's reads.
pub(super) async fn find_source(
    store: &Store,
    id: &ReleaseId,
) -> Result<Option<Source>, ArtifactError> {
    match read_manifest(store, id).await {
        Ok(Some(manifest)) => return Ok(Some(Source::from_manifest(&manifest, id.clone()))),
        Ok(None) | Err(ArtifactError::Store(StoreError::Denied { .. })) => {}
        Err(error) => return Err(error),
    }
    let legacy = archive_key(id, Compression::Gzip);
    match store.size_of(&legacy).await {
        Ok(Some(size)) => Ok(Some(Source {
            id: id.clone(),
            key: legacy,
            format: Compression::Gzip,
            size,
            sha256: None,
            limit: limit_without_manifest(size),
        })),
        Ok(None) | Err(StoreError::Denied { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

pub(super) async fn read_latest(store: &Store) -> Result<Option<Latest>, ArtifactError> {
    match store.get_small(LATEST_KEY).await? {
        Some(bytes) => Ok(Some(Latest::parse(&bytes).map_err(|bad| BadDocument {
            key: store.location_of(LATEST_KEY),
            message: format!(
                "{}. Publish a release again (its release phase rewrites it), or delete it",
                bad.message
            ),
            ..bad
        })?)),
        None => Ok(None),
    }
}

/// The releases in a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseListing {
    /// Each release with a manifest, oldest first: id, manifest.
    pub releases: Vec<Manifest>,
    /// The release `latest.json` names, if any.
    pub latest: Option<ReleaseId>,
    /// Archives without a manifest (from earlier tools, or unfinished uploads).
    pub bare_archives: Vec<String>,
    /// Objects that were left aside, each with the reason: not part of the layout, or not a
    /// valid manifest or `latest.json`. Listing and pruning never touch them.
    pub skipped: Vec<(String, String)>,
}

impl ReleaseListing {
    /// Logs a warning naming each skipped object.
    pub fn warn_skipped(&self, store: &Store, log: &Log) {
        for (key, reason) in &self.skipped {
            log.warning(&format!(
                "Skipped {}: {reason}. It was left as it is; remove it if it does not belong there.",
                store.location_of(key)
            ));
        }
    }
}

/// Lists the releases of a store (following pagination to the end) and reads their manifests.
/// Objects that are not part of the layout, invalid manifests and an invalid `latest.json` are
/// left aside in [`ReleaseListing::skipped`] rather than failing the listing.
///
/// # Errors
///
/// Returns an [`ArtifactError`] when the store cannot be listed or read.
pub async fn list_releases(store: &Store) -> Result<ReleaseListing, ArtifactError> {
    let objects = store.list("release-").await?;
    listing_of(store, &objects).await
}

/// The listing of `objects`, the store's keys that start with `release-`: their manifests are
/// read, and `latest.json`.
pub(super) async fn listing_of(
    store: &Store,
    objects: &[ObjectInfo],
) -> Result<ReleaseListing, ArtifactError> {
    let ids: Vec<ReleaseId> = objects
        .iter()
        .filter_map(|object| release_of_manifest_key(&object.key))
        .collect();
    let mut releases = Vec::new();
    let mut skipped = Vec::new();
    let mut with_manifest = std::collections::BTreeSet::new();
    for (id, read) in read_manifests(store, ids).await? {
        match read {
            Ok(Some(manifest)) => {
                with_manifest.insert(manifest.archive_key.clone());
                releases.push(manifest);
            }
            Ok(None) => {}
            Err(reason) => skipped.push((manifest_key(&id), reason)),
        }
    }
    releases
        .sort_by(|a, b| (a.created_at_ms, &a.release_id).cmp(&(b.created_at_ms, &b.release_id)));
    let mut bare_archives = Vec::new();
    for object in objects {
        let key = &object.key;
        let layout = release_of_manifest_key(key).is_some() || release_of_record_key(key).is_some();
        if layout || with_manifest.contains(key) {
            continue;
        }
        if is_archive_key(key) {
            bare_archives.push(key.clone());
        } else {
            skipped.push((
                key.clone(),
                "it is neither a release's archive nor its manifest".into(),
            ));
        }
    }
    let latest = match read_latest(store).await {
        Ok(latest) => latest.and_then(|latest| latest.id()),
        Err(ArtifactError::Document(bad)) => {
            skipped.push((LATEST_KEY.into(), bad.message));
            None
        }
        Err(error) => return Err(error),
    };
    skipped.sort();
    Ok(ReleaseListing {
        releases,
        latest,
        bare_archives,
        skipped,
    })
}

/// Whether `key` is named like an archive: `release-<ID>.tar.zst` or `release-<ID>.tgz`.
fn is_archive_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("release-") else {
        return false;
    };
    [Compression::Zstd, Compression::Gzip].iter().any(|format| {
        rest.strip_suffix(&format!(".{}", format.extension()))
            .is_some_and(|id| ReleaseId::new(id).is_ok())
    })
}

/// How many manifest reads or deletions are in flight at once when listing or pruning.
pub(super) const PARALLEL_REQUESTS: usize = 16;

/// Reads the manifests of `ids`, [`PARALLEL_REQUESTS`] at a time (a store with thousands of
/// releases is listed in seconds, not minutes): for each, the manifest, `None` when it vanished
/// meanwhile, or why it cannot be used (invalid, or not readable with these credentials).
async fn read_manifests(
    store: &Store,
    ids: Vec<ReleaseId>,
) -> Result<Vec<(ReleaseId, Result<Option<Manifest>, String>)>, ArtifactError> {
    let reads = in_parallel(store, ids, |store, id| async move {
        let read = read_manifest(&store, &id).await;
        (id, read)
    })
    .await?;
    reads
        .into_iter()
        .map(|(id, read)| {
            let read = match read {
                Ok(manifest) => Ok(manifest),
                Err(ArtifactError::Document(bad)) => {
                    Err(format!("it is not a valid manifest ({})", bad.message))
                }
                Err(ArtifactError::Store(denied @ StoreError::Denied { .. })) => {
                    Err(denied.to_string())
                }
                Err(error) => return Err(error),
            };
            Ok((id, read))
        })
        .collect()
}

/// Runs `work` on each of `items`, [`PARALLEL_REQUESTS`] at a time; the results in the order
/// of `items`.
pub(super) async fn in_parallel<I, T, F, Fut>(
    store: &Store,
    items: Vec<I>,
    work: F,
) -> Result<Vec<T>, ArtifactError>
where
    F: Fn(Store, I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_REQUESTS));
    let mut tasks = tokio::task::JoinSet::new();
    let count = items.len();
    for (order, item) in items.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let task = work(store.clone(), item);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (order, task.await)
        });
    }
    let mut done = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        done.push(joined.map_err(|error| {
            ArtifactError::Store(StoreError::Refused {
                target: format!("read {}", store.describe()),
                reason: Refusal::TaskFailed {
                    reason: error.to_string(),
                },
            })
        })?);
    }
    done.sort_by_key(|(order, _)| *order);
    Ok(done.into_iter().map(|(_, result)| result).collect())
}
