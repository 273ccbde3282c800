//! Adopt: give the bare `release-<id>.tgz` archives that the earlier buildpack (v1.0.x) wrote
//! a manifest each, and publish the newest, so that a store it filled serves this buildpack.

use super::catalogue::{Source, in_parallel, limit_without_manifest, listing_of};
use super::load::fetch_and_extract;
use super::{ArtifactError, Deadline, publish_release};
use crate::manifest::{LATEST_KEY, manifest_key, now_ms};
use crate::store::ObjectInfo;
use crate::{Compression, Log, Manifest, ReleaseId, Store};
use std::collections::HashMap;

/// An archive left as it is, and why.
type Skipped = (String, String);

/// What `adopt` did, or with a dry run would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adoption {
    /// The manifests written (or that would be), oldest archive first.
    pub adopted: Vec<Manifest>,
    /// Bare archives left as they are, each with the reason.
    pub skipped: Vec<(String, String)>,
    /// The release published as the latest (or that would be): the newest adopted one, when
    /// the store had no `latest.json`.
    pub published: Option<ReleaseId>,
    /// Whether the store already had a `latest.json`, which adopt never replaces.
    pub had_latest: bool,
}

/// Lists the store (following pagination), reads each bare `release-<id>.tgz` archive whole
/// (its SHA-256 computed while reading, its files extracted into a temporary folder as a load
/// would), writes a manifest for each readable one, and when the store has no `latest.json`
/// publishes the newest of them by the store's modification time, as the earlier buildpack chose
/// it. An archive that cannot be read is skipped with a warning and left as it is. With
/// `dry_run`, reads and checks the same but writes nothing. Running it again adopts only what
/// is still bare.
///
/// # Errors
///
/// Returns an [`ArtifactError`] when the store cannot be listed, read or written, or at
/// `deadline`. Manifests already written stay: a second run goes on from there.
pub async fn adopt_releases(
    store: &Store,
    dry_run: bool,
    log: &Log,
    deadline: Deadline,
) -> Result<Adoption, ArtifactError> {
    let objects = store.list("release-").await?;
    let listing = listing_of(store, &objects).await?;
    let had_latest =
        listing.latest.is_some() || listing.skipped.iter().any(|(key, _)| key == LATEST_KEY);
    let (candidates, mut skipped) = candidates(&listing.bare_archives, &objects);
    let adopted = read_all(store, candidates, log, deadline, &mut skipped).await?;
    skipped.sort();
    for (key, reason) in &skipped {
        log.warning(&format!(
            "Skipped {}: {reason}. It was left as it is.",
            store.location_of(key)
        ));
    }

    let verb = if dry_run { "Would adopt" } else { "Adopted" };
    for manifest in &adopted {
        if !dry_run {
            let id = manifest.id().ok_or_else(|| {
                ArtifactError::NoArtifacts(format!(
                    "{} names no valid release",
                    manifest.archive_key
                ))
            })?;
            store
                .put_small(&manifest_key(&id), manifest.to_json())
                .await?;
        }
        log.line(&format!(
            "{verb} {} as release {}: {} file{}, sha256 {}.",
            store.location_of(&manifest.archive_key),
            manifest.release_id,
            manifest.file_count,
            if manifest.file_count == 1 { "" } else { "s" },
            manifest.sha256
        ));
    }

    let newest = adopted.last().and_then(Manifest::id);
    let published = match newest {
        Some(newest) if !had_latest => {
            if dry_run {
                log.line(&format!(
                    "Would publish release {newest}, the newest adopted archive by the store's modification time, as the latest ({}).",
                    store.location_of(LATEST_KEY)
                ));
            } else {
                publish_release(store, &newest, None, log).await?;
            }
            Some(newest)
        }
        Some(_) => {
            log.line(&format!(
                "{} already exists, so it was left as it is: adopting publishes nothing.",
                store.location_of(LATEST_KEY)
            ));
            None
        }
        None => None,
    };
    log.line(&summary(dry_run, adopted.len(), skipped.len(), store));
    Ok(Adoption {
        adopted,
        skipped,
        published,
        had_latest,
    })
}

/// The bare archives to adopt, oldest first by the store's modification time, and those that
/// are not the earlier buildpack's, each with the reason.
fn candidates(
    bare_archives: &[String],
    objects: &[ObjectInfo],
) -> (Vec<(ReleaseId, ObjectInfo)>, Vec<Skipped>) {
    let by_key: HashMap<&str, &ObjectInfo> = objects
        .iter()
        .map(|object| (object.key.as_str(), object))
        .collect();
    let mut skipped = Vec::new();
    let mut candidates = Vec::new();
    for key in bare_archives {
        match (release_of_legacy_key(key), by_key.get(key.as_str())) {
            // Its manifest (valid or not) names another archive: never replace it.
            (Some(id), Some(_)) if by_key.contains_key(manifest_key(&id).as_str()) => {
                skipped.push((
                    key.clone(),
                    format!(
                        "release {id} already has a manifest ({}), which names another archive",
                        manifest_key(&id)
                    ),
                ));
            }
            (Some(id), Some(object)) => candidates.push((id, (*object).clone())),
            _ => skipped.push((
                key.clone(),
                "it is an archive of this buildpack without its manifest, an upload that did not finish; run that release's release phase again".to_string(),
            )),
        }
    }
    candidates.sort_by(|(a_id, a), (b_id, b)| (a.modified_ms, a_id).cmp(&(b.modified_ms, b_id)));
    (candidates, skipped)
}

/// Reads every candidate, [`PARALLEL_REQUESTS`](super::catalogue::PARALLEL_REQUESTS) at a
/// time: the manifests of the readable ones, in the order given; the others are added to
/// `skipped` with the reason.
async fn read_all(
    store: &Store,
    candidates: Vec<(ReleaseId, ObjectInfo)>,
    log: &Log,
    deadline: Deadline,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<Manifest>, ArtifactError> {
    let checks = in_parallel(store, candidates, |store, (id, object)| {
        let log = log.clone();
        async move {
            let key = object.key.clone();
            (
                key,
                read_legacy_archive(&store, id, &object, &log, deadline).await,
            )
        }
    })
    .await?;
    let mut adopted = Vec::new();
    for (key, checked) in checks {
        match checked {
            Ok(manifest) => adopted.push(manifest),
            Err(ArtifactError::Extract { error, .. }) => {
                skipped.push((key, format!("it is not a readable archive ({error})")));
            }
            Err(ArtifactError::Mismatch {
                what,
                expected,
                actual,
                ..
            }) => skipped.push((
                key,
                format!("it changed while it was read (its {what} was {expected}, then {actual})"),
            )),
            Err(error) => return Err(error),
        }
    }
    Ok(adopted)
}

/// The release of an archive named as the earlier buildpack named them, `release-<ID>.tgz`.
fn release_of_legacy_key(key: &str) -> Option<ReleaseId> {
    let id = key
        .strip_prefix("release-")?
        .strip_suffix(&format!(".{}", Compression::Gzip.extension()))?;
    ReleaseId::new(id).ok()
}

/// Reads the bare archive `object` of release `id` whole, as a load would, and returns the
/// manifest that describes it: its size, SHA-256, files, and the store's modification time as
/// its creation time.
async fn read_legacy_archive(
    store: &Store,
    id: ReleaseId,
    object: &ObjectInfo,
    log: &Log,
    deadline: Deadline,
) -> Result<Manifest, ArtifactError> {
    let scratch = tempfile::tempdir().map_err(|error| ArtifactError::Io {
        action: "create a temporary folder in",
        path: std::env::temp_dir(),
        error,
    })?;
    let source = Source {
        id: id.clone(),
        key: object.key.clone(),
        format: Compression::Gzip,
        size: object.size,
        sha256: None,
        limit: limit_without_manifest(object.size),
    };
    let dir = scratch.path().join("adopt");
    let (summary, sha256) =
        fetch_and_extract(store, &source, &dir, log, deadline, std::future::pending()).await?;
    Ok(Manifest {
        release_id: id.to_string(),
        archive_key: object.key.clone(),
        format: Compression::Gzip,
        size: object.size,
        sha256,
        file_count: summary.file_count,
        unpacked_size: summary.unpacked_size,
        created_at_ms: object.modified_ms.unwrap_or_else(now_ms),
        published_at_ms: None,
    })
}

fn summary(dry_run: bool, adopted: usize, skipped: usize, store: &Store) -> String {
    let plural = |count: usize| if count == 1 { "" } else { "s" };
    let done = if dry_run {
        format!("Dry run: would adopt {adopted} archive{}", plural(adopted))
    } else {
        format!("Adopted {adopted} archive{}", plural(adopted))
    };
    let nothing = if adopted == 0 && skipped == 0 {
        " (it holds no archive of the earlier buildpack without a manifest)"
    } else {
        ""
    };
    let left = if skipped == 0 {
        String::new()
    } else {
        format!(
            "; skipped {skipped} that could not be adopted (see the warning{} above)",
            plural(skipped)
        )
    };
    format!("{done} in {}{nothing}{left}.", store.describe())
}
