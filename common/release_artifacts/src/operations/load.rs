//! Load: stream a release's archive into a new folder beside the target, check its digest, and
//! swap it into place; fall back to the latest published release when asked.

use super::catalogue::{Source, find_source, read_latest, read_manifest};
use super::{ArtifactError, Deadline};
use crate::archive::ChannelReader;
use crate::load_target::{Staging, check_load_target, remove_any};
use crate::manifest::{LATEST_KEY, archive_key, manifest_key};
use crate::report::{mib, rate};
use crate::store::{Delivery, Pieces};
use crate::swap::swap_into_place;
use crate::{Compression, Fallback, Log, ReleaseId, Store, UnpackError, UnpackSummary, unpack};
use nix::sys::signal::Signal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What a load did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The release whose artifacts were loaded (this one, or the latest with the fallback).
    pub release_id: ReleaseId,
    /// Where the archive was read, such as `s3://bucket/prefix/release-v1.tar.zst`.
    pub location: String,
    /// Files extracted.
    pub file_count: u64,
}

/// Loads release `id`'s artifacts into `dir`: streams the archive, extracts it into a new
/// sibling folder, checks its digest, and only then swaps it into place atomically. Without
/// artifacts for this release, loads the latest published ones (with a warning) when
/// `fallback` is [`Fallback::Latest`]. Gives up at `deadline`, and stops when `stop` resolves
/// (to the signal that asks to stop; `std::future::pending()` for none), removing the staging
/// folder.
///
/// # Errors
///
/// Returns an [`ArtifactError`], [`ArtifactError::LoadStopped`] when `stop` resolved first;
/// `dir` is then left exactly as it was.
pub async fn load_release(
    store: &Store,
    id: &ReleaseId,
    dir: &Path,
    fallback: Fallback,
    deadline: Deadline,
    log: &Log,
    stop: impl Future<Output = Signal>,
) -> Result<Loaded, ArtifactError> {
    check_load_target(dir, store)?;
    let source =
        tokio::time::timeout_at(deadline.at.into(), find_loadable(store, id, fallback, log))
            .await
            .map_err(|_| {
                deadline.passed(format!(
                    "looking up release {id}'s artifacts in {}",
                    store.describe()
                ))
            })??;
    let started = Instant::now();
    let location = store.location_of(&source.key);
    log.line(&format!(
        "Loading release {}'s static artifacts from {location}",
        source.id
    ));
    let (summary, _) = fetch_and_extract(store, &source, dir, log, deadline, stop).await?;
    let elapsed = started.elapsed();
    log.line(&format!(
        "Loaded release {} into {}: {} archive, {} files ({} unpacked) in {:.1}s, {}.",
        source.id,
        dir.display(),
        mib(source.size),
        summary.file_count,
        mib(summary.unpacked_size),
        elapsed.as_secs_f64(),
        rate(source.size, elapsed)
    ));
    Ok(Loaded {
        release_id: source.id,
        location,
        file_count: summary.file_count,
    })
}

/// The archive to load for `id`: its own, or with the fallback the latest published one.
async fn find_loadable(
    store: &Store,
    id: &ReleaseId,
    fallback: Fallback,
    log: &Log,
) -> Result<Source, ArtifactError> {
    if let Some(source) = find_source(store, id).await? {
        return Ok(source);
    }
    let missing = format!(
        "Release {id} has no static artifacts in {} (no {} and no {})",
        store.describe(),
        manifest_key(id),
        archive_key(id, Compression::Gzip)
    );
    if fallback == Fallback::None {
        return Err(ArtifactError::NoArtifacts(format!(
            "{missing}, and STATIC_ARTIFACTS_FALLBACK=none. Run the release phase for this release (its release-build uploads them), or set STATIC_ARTIFACTS_FALLBACK=latest."
        )));
    }
    let Some(latest) = read_latest(store).await? else {
        return Err(ArtifactError::NoArtifacts(format!(
            "{missing}, and no release was published yet ({LATEST_KEY} does not exist). Run the release phase for this release: its release-build uploads them."
        )));
    };
    let latest_id = latest.id().ok_or_else(|| {
        ArtifactError::NoArtifacts(format!(
            "{missing}, and {LATEST_KEY} names no valid release"
        ))
    })?;
    let manifest = read_manifest(store, &latest_id).await?.ok_or_else(|| {
        ArtifactError::NoArtifacts(format!(
            "{missing}, and the latest published release {latest_id} has no manifest either"
        ))
    })?;
    log.warning(&format!(
        "Release {id} has no static artifacts of its own. Loading those of the latest published release, {latest_id}, instead (STATIC_ARTIFACTS_FALLBACK=latest). Run the release phase for release {id} to upload its own."
    ));
    Ok(Source::from_manifest(&manifest, latest_id))
}

/// Streams `source` into a new sibling folder of `dir`, checks it, and swaps it into place.
/// Returns what was extracted and the archive's SHA-256, computed while it was read.
pub(super) async fn fetch_and_extract(
    store: &Store,
    source: &Source,
    dir: &Path,
    log: &Log,
    deadline: Deadline,
    stop: impl Future<Output = Signal>,
) -> Result<(UnpackSummary, String), ArtifactError> {
    let location = store.location_of(&source.key);
    let staging = Staging::create(dir).map_err(|error| ArtifactError::Io {
        action: "create a staging folder beside",
        path: dir.to_path_buf(),
        error,
    })?;
    let (sender, receiver) = mpsc::channel::<Pieces>(1);
    let (digest_sender, digest) = tokio::sync::oneshot::channel();
    let progress = log.progress("Downloaded", Some(source.size));
    let counter = Arc::clone(&progress.bytes);
    let extraction = {
        let (source, dir, location) = (source.clone(), dir.to_path_buf(), location.clone());
        move || -> Result<(UnpackSummary, String), ArtifactError> {
            let reader = ChannelReader::new(receiver, counter);
            let result = extract_checked(reader, digest, &source, staging.path(), &dir, &location);
            // After a failure this removes the partial folder; after the swap, the old content.
            remove_any(staging.path());
            drop(staging);
            result
        }
    };
    let mut extract = tokio::task::spawn_blocking(extraction);
    let download = async move {
        let mut delivery = Delivery::new(sender);
        let result = store
            .download(&source.key, source.size, &mut delivery)
            .await;
        // Only a complete download's digest is worth checking; without it the extraction fails.
        if result.is_ok() {
            let _ = digest_sender.send(delivery.finish());
        }
        result
    };
    let stopped = tokio::select! {
        result = async { (download.await, (&mut extract).await) } => Ok(result),
        () = tokio::time::sleep_until(deadline.at.into()) => Err(None),
        signal = stop => Err(Some(signal)),
    };
    let (downloaded, extracted) = match stopped {
        Ok(finished) => finished,
        Err(signal) => {
            // The download was dropped, so the extraction sees the stream end and removes its
            // folder; a write stuck on a hung disk is not waited for long.
            let _ = tokio::time::timeout(Duration::from_secs(2), extract).await;
            let done = progress.bytes.load(Ordering::Relaxed);
            let doing = format!(
                "downloading {location} ({} of {} received)",
                mib(done),
                mib(source.size)
            );
            return Err(match signal {
                Some(signal) => ArtifactError::LoadStopped { signal, doing },
                None => deadline.passed(doing),
            });
        }
    };
    let extracted = extracted.map_err(|error| ArtifactError::Extract {
        location: location.clone(),
        error: UnpackError::Io(std::io::Error::other(error.to_string())),
    })?;
    // A failed download explains a truncated archive better than the extraction's error.
    downloaded?;
    extracted
}

fn extract_checked(
    mut reader: ChannelReader,
    digest: tokio::sync::oneshot::Receiver<(String, u64)>,
    source: &Source,
    staging: &Path,
    dir: &Path,
    location: &str,
) -> Result<(UnpackSummary, String), ArtifactError> {
    let extract_error = |error: UnpackError| ArtifactError::Extract {
        location: location.to_string(),
        error,
    };
    let summary =
        unpack(&mut reader, source.format, staging, source.limit).map_err(extract_error)?;
    reader.finish();
    let (sha256, size) = digest.blocking_recv().map_err(|_| {
        extract_error(UnpackError::Io(std::io::Error::other(
            "the download stopped before its digest was known",
        )))
    })?;
    if size != source.size {
        return Err(ArtifactError::Mismatch {
            location: location.to_string(),
            what: "size",
            expected: source.size.to_string(),
            actual: size.to_string(),
        });
    }
    if let Some(expected) = &source.sha256
        && &sha256 != expected
    {
        return Err(ArtifactError::Mismatch {
            location: location.to_string(),
            what: "SHA-256",
            expected: expected.clone(),
            actual: sha256,
        });
    }
    swap_into_place(staging, dir).map_err(|error| ArtifactError::Io {
        action: "move the new artifacts into",
        path: dir.to_path_buf(),
        error,
    })?;
    Ok((summary, sha256))
}
