//! What the programs do: upload, load, publish, prune, list, verify and promote releases.

use crate::archive::{ChannelReader, ChunkBudget, ChunkWriter};
use crate::load_target::{Staging, check_load_target, remove_any};
use crate::manifest::{
    LATEST_KEY, archive_key, manifest_key, now, now_ms, release_of_manifest_key,
};
use crate::progress::{mib, rate};
use crate::store::{CHUNK_SIZE, Delivery, Pieces};
use crate::swap::swap_into_place;
use crate::{
    Compression, Fallback, Latest, Log, Manifest, PackError, ReleaseId, Settings, SettingsError,
    Store, StoreError, UnpackError, UnpackSummary, check_folder, manifest::BadDocument, pack,
    unpack,
};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

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
        "Stopped by {signal_name}: the upload of release {id}'s static artifacts was cancelled, and nothing was stored (an unfinished multipart upload is aborted)."
    )]
    Stopped {
        /// The signal number.
        signal: i32,
        /// Its name, such as `SIGTERM`.
        signal_name: String,
        /// The release.
        id: ReleaseId,
    },
    /// A signal stopped the load; the target folder was left as it was.
    #[error("Stopped by {signal_name} while {doing}. Nothing was changed.")]
    LoadStopped {
        /// The signal number.
        signal: i32,
        /// Its name, such as `SIGTERM`.
        signal_name: String,
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

/// The setting that limits a load's time.
const LOAD_TIMEOUT: &str = "STATIC_ARTIFACTS_LOAD_TIMEOUT";

/// The archive a load reads.
#[derive(Clone, Debug)]
struct Source {
    id: ReleaseId,
    key: String,
    format: Compression,
    size: u64,
    /// The expected SHA-256, when there is a manifest.
    sha256: Option<String>,
    /// The most the files may add up to.
    limit: u64,
}

/// Limit on extracted bytes for an archive without manifest: generous for real static files,
/// far below what a decompression bomb expands to.
fn limit_without_manifest(size: u64) -> u64 {
    size.saturating_mul(200).max(1 << 30)
}

impl Source {
    fn from_manifest(manifest: &Manifest, id: ReleaseId) -> Self {
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
async fn read_manifest(store: &Store, id: &ReleaseId) -> Result<Option<Manifest>, ArtifactError> {
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

/// Finds the archive of `id`: its manifest, or else a bare `release-<id>.tgz` of earlier tools.
/// A 403 counts as missing here (S3 answers 403 for missing keys to credentials that may not
/// list); a real permission problem then shows on the fallback's reads.
async fn find_source(store: &Store, id: &ReleaseId) -> Result<Option<Source>, ArtifactError> {
    match read_manifest(store, id).await {
        Ok(Some(manifest)) => return Ok(Some(Source::from_manifest(&manifest, id.clone()))),
        Ok(None) | Err(ArtifactError::Store(StoreError::Denied(_))) => {}
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
        Ok(None) | Err(StoreError::Denied(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Archives `dir` and stores it as this release's artifacts, then writes its manifest.
///
/// When the release already has artifacts with the same digest, nothing is uploaded (re-runs
/// are idempotent); with another digest, the upload is refused (archives are immutable).
///
/// # Errors
///
/// Returns an [`ArtifactError`] for a missing setting or folder, an unreadable file, a store
/// failure, or an existing archive with another digest.
pub async fn upload_release(
    store: &Store,
    settings: &Settings,
    dir: &Path,
    log: &Log,
) -> Result<Manifest, ArtifactError> {
    Box::pin(upload_release_until(
        store,
        settings,
        dir,
        log,
        std::future::pending(),
    ))
    .await
}

/// [`upload_release`], stopped cleanly when `stop` resolves (to the number of the signal that
/// asks to stop): the archive is not completed, an unfinished multipart upload is aborted once
/// its parts in flight are done, and no manifest is written.
///
/// # Errors
///
/// As [`upload_release`], and [`ArtifactError::Stopped`] when `stop` resolved first.
pub async fn upload_release_until(
    store: &Store,
    settings: &Settings,
    dir: &Path,
    log: &Log,
    stop: impl Future<Output = i32>,
) -> Result<Manifest, ArtifactError> {
    let id = settings.release_id()?.clone();
    if !dir.is_dir() {
        return Err(ArtifactError::NoFolder {
            dir: dir.to_path_buf(),
        });
    }
    // Every entry must be one that loads accept, before anything is stored.
    let cannot = |message: String| ArtifactError::CannotPack {
        dir: dir.to_path_buf(),
        message,
    };
    let check_dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || check_folder(&check_dir))
        .await
        .map_err(|error| cannot(error.to_string()))?
        .map_err(|error| cannot(error.to_string()))?;
    let started = Instant::now();
    let compression = settings.compression;
    let key = archive_key(&id, compression);
    if let Some(stored) = settle_earlier_upload(store, &id, dir, log).await? {
        return Ok(stored);
    }
    log.line(&format!(
        "Uploading {} to {} ({compression})",
        dir.display(),
        store.location_of(&key)
    ));
    let streamed = Box::pin(stream_archive(store, &key, dir, compression, log, stop)).await;
    let (summary, sha256, size) = match streamed {
        Ok(packed) => packed,
        Err(Streamed::Stopped(signal)) => {
            return Err(ArtifactError::Stopped {
                signal,
                signal_name: signal_name(signal),
                id,
            });
        }
        Err(Streamed::Failed(error)) => return Err(error),
        // Another upload of this release stored its archive first: fine if it is the same.
        Err(Streamed::Exists((summary, sha256, size))) => {
            if stored_digest_when_there(store, &key).await? != Some((sha256.clone(), size)) {
                return Err(ArtifactError::Conflict {
                    id,
                    location: store.location_of(&key),
                });
            }
            log.line(&format!(
                "Another upload of release {id} stored the same archive at the same time: using it."
            ));
            (summary, sha256, size)
        }
    };

    let manifest = Manifest {
        release_id: id.to_string(),
        archive_key: key.clone(),
        format: compression,
        size,
        sha256,
        file_count: summary.file_count,
        unpacked_size: summary.unpacked_size,
        created_at_ms: now_ms(),
        published_at_ms: None,
    };
    if let Err(error) = store
        .put_small(&manifest_key(&id), manifest.to_json())
        .await
    {
        // No archive without its manifest: it would stay unloadable (or, as .tgz, load
        // without its digest checked).
        let _ = store.delete(&key).await;
        return Err(error.into());
    }
    let elapsed = started.elapsed();
    log.line(&format!(
        "Uploaded release {id}: {} archive of {} files ({} unpacked) in {:.1}s, {}.",
        mib(size),
        summary.file_count,
        mib(summary.unpacked_size),
        elapsed.as_secs_f64(),
        rate(size, elapsed)
    ));
    Ok(manifest)
}

/// Deals with artifacts an earlier upload stored for release `id`: returns their manifest when
/// they are what `dir` holds (nothing to upload), refuses to replace published ones, and
/// removes unpublished ones (left by a release phase that did not complete).
async fn settle_earlier_upload(
    store: &Store,
    id: &ReleaseId,
    dir: &Path,
    log: &Log,
) -> Result<Option<Manifest>, ArtifactError> {
    let Some(existing) = read_manifest(store, id).await? else {
        return Ok(None);
    };
    let digest = digest_of(dir, existing.format).await?;
    let stored = store.size_of(&existing.archive_key).await?;
    if digest == existing.sha256 && stored == Some(existing.size) {
        log.line(&format!(
            "Release {id}'s static artifacts are already stored with the same digest at {}: nothing to upload.",
            store.location_of(&existing.archive_key)
        ));
        return Ok(Some(existing));
    }
    if existing.published_at_ms.is_some() {
        return Err(ArtifactError::Immutable {
            location: store.location_of(&existing.archive_key),
            id: id.clone(),
        });
    }
    log.warning(&format!(
        "Replacing release {id}'s static artifacts from an earlier release phase that did not complete (never published)."
    ));
    // The manifest goes first: without it, loaders no longer pick the archive.
    store.delete(&manifest_key(id)).await?;
    store.delete(&existing.archive_key).await?;
    Ok(None)
}

/// [`stored_digest`] of an object another upload is completing: it may take a moment to appear
/// (S3 answers a write at the same moment with 409 `ConditionalRequestConflict`).
async fn stored_digest_when_there(
    store: &Store,
    key: &str,
) -> Result<Option<(String, u64)>, ArtifactError> {
    for _ in 0..10 {
        if let Some(digest) = stored_digest(store, key).await? {
            return Ok(Some(digest));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(None)
}

/// The SHA-256 and size of the stored object `key`, read whole; `None` when it is not there.
async fn stored_digest(store: &Store, key: &str) -> Result<Option<(String, u64)>, ArtifactError> {
    let Some(size) = store.size_of(key).await? else {
        return Ok(None);
    };
    let (sender, mut receiver) = mpsc::channel::<Pieces>(1);
    let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let mut delivery = Delivery::new(sender);
    store.download(key, size, &mut delivery).await?;
    let digest = delivery.finish();
    let _ = drain.await;
    Ok(Some(digest))
}

/// The name of a signal, such as `SIGTERM`.
fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string())
}

/// Why streaming an archive stopped.
enum Streamed {
    /// The archive was packed, but the store already holds an object at its key.
    Exists((crate::PackSummary, String, u64)),
    /// A signal asked to stop.
    Stopped(i32),
    /// It failed.
    Failed(ArtifactError),
}

/// Archives `dir` into the object `key` while packing, until done or `stop` resolves; returns
/// what was packed, the archive's SHA-256 and size.
async fn stream_archive(
    store: &Store,
    key: &str,
    dir: &Path,
    compression: Compression,
    log: &Log,
    stop: impl Future<Output = i32>,
) -> Result<(crate::PackSummary, String, u64), Streamed> {
    let (sender, receiver) = mpsc::channel(1);
    let progress = log.progress("Uploaded", None);
    let pack_dir = dir.to_path_buf();
    let pack_task = tokio::task::spawn_blocking(move || {
        let budget = ChunkBudget::new(crate::store::UPLOAD_CHUNKS);
        let writer = ChunkWriter::new(sender, crate::CHUNK_SIZE, budget);
        let (summary, writer) = pack(&pack_dir, compression, writer)?;
        let (sha256, size) = writer.finish().map_err(PackError::Output)?;
        Ok::<_, PackError>((summary, sha256, size))
    });
    let cancel = Arc::new(tokio::sync::Notify::new());
    let (chunks, complete) =
        forward_chunks(receiver, Arc::clone(&progress.bytes), Arc::clone(&cancel));
    let mut work =
        Box::pin(async { tokio::join!(store.upload_new(key, chunks, complete), pack_task) });
    let (uploaded, pack_result) = tokio::select! {
        done = &mut work => done,
        signal = stop => {
            // The upload sees the chunks end unconfirmed: it waits for its parts in flight,
            // then aborts.
            cancel.notify_one();
            let (uploaded, _) = work.await;
            if uploaded.is_ok() {
                // Every chunk had gone up before the signal: remove the archive that no
                // manifest will name.
                let _ = store.delete(key).await;
            }
            return Err(Streamed::Stopped(signal));
        }
    };
    let cannot_pack = |message: String| {
        Streamed::Failed(ArtifactError::CannotPack {
            dir: dir.to_path_buf(),
            message,
        })
    };
    match pack_result {
        Err(error) => Err(cannot_pack(error.to_string())),
        // The upload stopped taking the archive: its own error says why.
        Ok(Err(PackError::Output(error))) => Err(match uploaded {
            Err(upload) => Streamed::Failed(upload.into()),
            Ok(()) => cannot_pack(error.to_string()),
        }),
        // A packing error explains a failed upload better than the upload's own error.
        Ok(Err(error)) => Err(cannot_pack(error.to_string())),
        Ok(Ok(packed)) => match uploaded {
            Ok(()) => Ok(packed),
            Err(StoreError::Exists { .. }) => Err(Streamed::Exists(packed)),
            Err(error) => Err(Streamed::Failed(error.into())),
        },
    }
}

/// Passes the packer's chunks on to the upload, counting them; the returned confirmation is
/// true only when the packer finished (a packing error, or `cancel`, aborts the upload).
fn forward_chunks(
    mut receiver: mpsc::Receiver<crate::archive::Chunk>,
    counter: Arc<AtomicU64>,
    cancel: Arc<tokio::sync::Notify>,
) -> (mpsc::Receiver<Bytes>, crate::Confirm) {
    let (forward, chunks) = mpsc::channel::<Bytes>(1);
    let complete = tokio::spawn(async move {
        loop {
            let chunk = tokio::select! {
                chunk = receiver.recv() => chunk,
                () = cancel.notified() => return false,
            };
            let Some(chunk) = chunk else { break };
            let Ok(bytes) = chunk else {
                return false;
            };
            counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            tokio::select! {
                sent = forward.send(bytes) => if sent.is_err() {
                    return false;
                },
                () = cancel.notified() => return false,
            }
        }
        true
    });
    (chunks, complete)
}

/// The SHA-256 the archive of `dir` would have, without storing it.
async fn digest_of(dir: &Path, compression: Compression) -> Result<String, ArtifactError> {
    let pack_dir = dir.to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let mut hashing = crate::archive::HashingWriter::new(std::io::sink());
        pack(&pack_dir, compression, &mut hashing)?;
        Ok::<_, PackError>(hashing.finish())
    })
    .await;
    let cannot = |message: String| ArtifactError::CannotPack {
        dir: dir.to_path_buf(),
        message,
    };
    result
        .map_err(|error| cannot(error.to_string()))?
        .map_err(|error| cannot(error.to_string()))
}

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

/// Loads this release's artifacts into `dir`: streams the archive, extracts it into a new
/// sibling folder, checks its digest, and only then swaps it into place atomically. Without
/// artifacts for this release, loads the latest published ones (with a warning) unless
/// `STATIC_ARTIFACTS_FALLBACK=none`. Gives up at `deadline`.
///
/// # Errors
///
/// Returns an [`ArtifactError`]; `dir` is then left exactly as it was.
pub async fn load_release(
    store: &Store,
    settings: &Settings,
    dir: &Path,
    log: &Log,
    deadline: Instant,
) -> Result<Loaded, ArtifactError> {
    load_release_until(store, settings, dir, log, deadline, std::future::pending()).await
}

/// [`load_release`], stopped when `stop` resolves (to the number of the signal that asks to
/// stop): the staging folder is removed and `dir` is left as it was.
///
/// # Errors
///
/// As [`load_release`], and [`ArtifactError::LoadStopped`] when `stop` resolved first.
pub async fn load_release_until(
    store: &Store,
    settings: &Settings,
    dir: &Path,
    log: &Log,
    deadline: Instant,
    stop: impl Future<Output = i32>,
) -> Result<Loaded, ArtifactError> {
    check_load_target(dir, store)?;
    let limit = settings.load_timeout;
    let timed_out = |doing: &str| ArtifactError::TimedOut {
        limit,
        setting: LOAD_TIMEOUT,
        doing: doing.to_string(),
    };
    let id = settings.release_id()?.clone();
    let source = tokio::time::timeout_at(deadline.into(), find_loadable(store, settings, &id, log))
        .await
        .map_err(|_| {
            timed_out(&format!(
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
    let summary = fetch_and_extract(store, &source, dir, log, deadline, stop)
        .await
        .map_err(|error| match error {
            ArtifactError::TimedOut { doing, .. } => ArtifactError::TimedOut {
                limit,
                setting: LOAD_TIMEOUT,
                doing,
            },
            other => other,
        })?;
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

async fn find_loadable(
    store: &Store,
    settings: &Settings,
    id: &ReleaseId,
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
    if settings.fallback == Fallback::None {
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

async fn read_latest(store: &Store) -> Result<Option<Latest>, ArtifactError> {
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

/// Streams `source` into a new sibling folder of `dir`, checks it, and swaps it into place.
async fn fetch_and_extract(
    store: &Store,
    source: &Source,
    dir: &Path,
    log: &Log,
    deadline: Instant,
    stop: impl Future<Output = i32>,
) -> Result<UnpackSummary, ArtifactError> {
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
        move || -> Result<UnpackSummary, ArtifactError> {
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
        () = tokio::time::sleep_until(deadline.into()) => Err(None),
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
                Some(signal) => ArtifactError::LoadStopped {
                    signal,
                    signal_name: signal_name(signal),
                    doing,
                },
                // `load_release` fills in the limit it was given.
                None => ArtifactError::TimedOut {
                    limit: Duration::ZERO,
                    setting: LOAD_TIMEOUT,
                    doing,
                },
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
) -> Result<UnpackSummary, ArtifactError> {
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
    Ok(summary)
}

/// Marks this release's artifacts as the latest published ones (`latest.json`), then, when
/// `STATIC_ARTIFACTS_KEEP` is set, prunes older releases. `latest.json` is written only when
/// the release's archive is there, and put back as it was when a prune running at the same time
/// deleted the release meanwhile. Once `latest.json` names the release, a failed prune is a
/// warning: the release is published.
///
/// # Errors
///
/// Returns an [`ArtifactError`] when the release has no manifest or archive, or the store fails.
pub async fn publish_release(
    store: &Store,
    settings: &Settings,
    log: &Log,
) -> Result<(), ArtifactError> {
    let id = settings.release_id()?.clone();
    let Some(manifest) = read_manifest(store, &id).await? else {
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
            .put_small(&manifest_key(&id), published.to_json())
            .await?;
    }
    let latest = Latest {
        release_id: id.to_string(),
        manifest_key: manifest_key(&id),
        published_at: now(),
    };
    store.put_small(LATEST_KEY, latest.to_json()).await?;
    // A prune that chose this release before it was published may have deleted it meanwhile.
    let still_there = read_manifest(store, &id).await?.is_some()
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
    if let Some(keep) = settings.keep
        && let Err(error) = prune_releases(store, keep, &id, log).await
    {
        log.warning(&format!(
            "Release {id} is published, but pruning older releases (STATIC_ARTIFACTS_KEEP={keep}) failed: {error} The next release phase prunes again; or run release-artifacts prune --keep {keep}."
        ));
    }
    Ok(())
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
    for object in &objects {
        let key = &object.key;
        if release_of_manifest_key(key).is_some() || with_manifest.contains(key) {
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

/// How long a release that was uploaded but not published is spared by pruning: its release
/// phase may still be running its `release` commands.
/// (24 hours, in milliseconds.)
const UNPUBLISHED_GRACE_MS: u64 = 24 * 3600 * 1000;

/// How many manifest reads or deletions are in flight at once when listing or pruning.
const PARALLEL_REQUESTS: usize = 16;

/// Reads the manifests of `ids`, [`PARALLEL_REQUESTS`] at a time (a store with thousands of
/// releases is listed in seconds, not minutes): for each, the manifest, `None` when it vanished
/// meanwhile, or why it cannot be used (invalid, or not readable with these credentials).
async fn read_manifests(
    store: &Store,
    ids: Vec<ReleaseId>,
) -> Result<Vec<(ReleaseId, Result<Option<Manifest>, String>)>, ArtifactError> {
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_REQUESTS));
    let mut reads = tokio::task::JoinSet::new();
    for id in ids {
        let (store, permits) = (store.clone(), Arc::clone(&permits));
        reads.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let read = read_manifest(&store, &id).await;
            (id, read)
        });
    }
    let mut manifests = Vec::new();
    while let Some(read) = reads.join_next().await {
        let (id, read) = read.map_err(|error| {
            ArtifactError::Store(StoreError::Permanent(format!(
                "Couldn't read the manifests in {}: {error}",
                store.describe()
            )))
        })?;
        let read = match read {
            Ok(manifest) => Ok(manifest),
            Err(ArtifactError::Document(bad)) => {
                Err(format!("it is not a valid manifest ({})", bad.message))
            }
            Err(ArtifactError::Store(StoreError::Denied(message))) => Err(message),
            Err(error) => return Err(error),
        };
        manifests.push((id, read));
    }
    Ok(manifests)
}

/// Deletes the archives and manifests of all but the `keep` newest releases. Never deleted: the
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
    let protected_time = listing
        .releases
        .iter()
        .find(|manifest| manifest.release_id == protect.as_str())
        .map(|manifest| manifest.created_at_ms);
    let newest_first: Vec<&Manifest> = listing.releases.iter().rev().collect();
    let doomed: Vec<(ReleaseId, String)> = newest_first
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
        .collect();
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
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_REQUESTS));
    let mut deletions = tokio::task::JoinSet::new();
    for (order, (id, archive)) in doomed.into_iter().enumerate() {
        let (store, permits) = (store.clone(), Arc::clone(&permits));
        deletions.spawn(async move {
            let _permit = permits.acquire_owned().await;
            // The manifest goes first: without it, loaders no longer pick the archive.
            store.delete(&manifest_key(&id)).await?;
            store.delete(&archive).await?;
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
                failure = failure.or(Some(ArtifactError::Store(StoreError::Permanent(format!(
                    "Couldn't prune {}: {error}",
                    store.describe()
                )))));
            }
        }
    }
    // Newest first, as they were chosen.
    deleted.sort();
    let deleted: Vec<ReleaseId> = deleted.into_iter().map(|(_, id)| id).collect();
    if let Some(error) = failure {
        return Err(error);
    }
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

/// Reads a release's archive and checks it against its manifest: size, SHA-256, and that it
/// extracts (into a temporary folder that is removed afterwards), giving up at `deadline`.
///
/// # Errors
///
/// Returns an [`ArtifactError`] for a missing release, a store failure or a corrupt archive.
pub async fn verify_release(
    store: &Store,
    id: &ReleaseId,
    log: &Log,
    deadline: Instant,
) -> Result<Manifest, ArtifactError> {
    let manifest = read_manifest(store, id).await?.ok_or_else(|| {
        ArtifactError::NoArtifacts(format!(
            "Release {id} has no manifest in {}",
            store.describe()
        ))
    })?;
    let scratch = tempfile::tempdir().map_err(|error| ArtifactError::Io {
        action: "create a temporary folder in",
        path: std::env::temp_dir(),
        error,
    })?;
    let dir = scratch.path().join("verify");
    let source = Source::from_manifest(&manifest, id.clone());
    let summary =
        fetch_and_extract(store, &source, &dir, log, deadline, std::future::pending()).await?;
    if summary.file_count != manifest.file_count || summary.unpacked_size != manifest.unpacked_size
    {
        return Err(ArtifactError::Mismatch {
            location: store.location_of(&manifest.archive_key),
            what: "content",
            expected: format!(
                "{} files, {} bytes",
                manifest.file_count, manifest.unpacked_size
            ),
            actual: format!(
                "{} files, {} bytes",
                summary.file_count, summary.unpacked_size
            ),
        });
    }
    log.line(&format!(
        "Release {id} verified: {} matches its manifest ({} files, sha256 {}).",
        store.location_of(&manifest.archive_key),
        manifest.file_count,
        manifest.sha256
    ));
    Ok(manifest)
}

/// Copies a release's archive and manifest from `from` to `to`, checking the digest on the way
/// (the manifest is written last, so a failed copy leaves nothing loadable behind).
///
/// # Errors
///
/// Returns an [`ArtifactError`] for a missing release, a store failure, a digest mismatch or a
/// target that already holds other artifacts for the release.
pub async fn promote_release(
    from: &Store,
    to: &Store,
    id: &ReleaseId,
    log: &Log,
) -> Result<Manifest, ArtifactError> {
    let manifest = read_manifest(from, id).await?.ok_or_else(|| {
        ArtifactError::NoArtifacts(format!(
            "Release {id} has no manifest in {}",
            from.describe()
        ))
    })?;
    if let Some(existing) = read_manifest(to, id).await? {
        if existing.sha256 == manifest.sha256 {
            log.line(&format!(
                "Release {id} is already in {} with the same digest: nothing to copy.",
                to.describe()
            ));
            return Ok(existing);
        }
        if existing.published_at_ms.is_some() {
            return Err(ArtifactError::Immutable {
                id: id.clone(),
                location: to.location_of(&existing.archive_key),
            });
        }
    }
    let manifest = Manifest {
        published_at_ms: None,
        ..manifest
    };
    let (sender, mut receiver) = mpsc::channel::<Pieces>(1);
    let (forward, chunks) = mpsc::channel::<Bytes>(1);
    // Ranges arrive in RANGE_SIZE pieces; parts go up in CHUNK_SIZE chunks (S3 refuses parts
    // under 5 MiB but the last).
    tokio::spawn(async move {
        let mut part = bytes::BytesMut::with_capacity(CHUNK_SIZE);
        let mut sent_any = false;
        while let Some(pieces) = receiver.recv().await {
            for piece in pieces {
                part.extend_from_slice(&piece);
            }
            if part.len() >= CHUNK_SIZE {
                sent_any = true;
                if forward.send(part.split().freeze()).await.is_err() {
                    return;
                }
            }
        }
        if !part.is_empty() || !sent_any {
            let _ = forward.send(part.freeze()).await;
        }
    });
    let (digest_sender, digest) = tokio::sync::oneshot::channel();
    let download = async {
        let mut delivery = Delivery::new(sender);
        let result = from
            .download(&manifest.archive_key, manifest.size, &mut delivery)
            .await;
        let _ = digest_sender.send(delivery.finish());
        result
    };
    // The upload completes only if every byte arrived with the right digest.
    let expected = (manifest.sha256.clone(), manifest.size);
    let checker = tokio::spawn(async move { digest.await.ok() == Some(expected) });
    let (downloaded, uploaded) = tokio::join!(
        download,
        to.upload_checked(&manifest.archive_key, chunks, checker)
    );
    downloaded?;
    if let Err(error) = uploaded {
        return Err(match error {
            StoreError::Permanent(message) if message.contains("stopped before the end") => {
                ArtifactError::Mismatch {
                    location: from.location_of(&manifest.archive_key),
                    what: "SHA-256",
                    expected: manifest.sha256.clone(),
                    actual: "different".into(),
                }
            }
            other => other.into(),
        });
    }
    to.put_small(&manifest_key(id), manifest.to_json()).await?;
    log.line(&format!(
        "Promoted release {id} from {} to {} ({}, sha256 {}).",
        from.describe(),
        to.describe(),
        mib(manifest.size),
        manifest.sha256
    ));
    Ok(manifest)
}

/// The async runtime the programs run operations on.
///
/// # Errors
///
/// Returns an error when the runtime cannot start.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(2, 4))
        .enable_all()
        .build()
}
