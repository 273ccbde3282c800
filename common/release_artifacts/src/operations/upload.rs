//! Upload: archive a folder while streaming it to the store, create the archive only once, then
//! write its manifest.

use super::ArtifactError;
use super::catalogue::read_manifest;
use crate::archive::{ChunkBudget, ChunkWriter, HashingWriter};
use crate::manifest::{archive_key, manifest_key, now_ms};
use crate::report::{mib, rate};
use crate::store::{Delivery, Pieces};
use crate::{
    Compression, Confirm, Log, Manifest, PackError, PackSummary, ReleaseId, Store, StoreError,
    check_folder, pack,
};
use bytes::Bytes;
use nix::sys::signal::Signal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Archives `dir` (compressed with `compression`) and stores it as release `id`'s artifacts,
/// then writes its manifest.
///
/// When the release already has artifacts with the same digest, nothing is uploaded (re-runs
/// are idempotent); with another digest, the upload is refused (archives are immutable).
///
/// When `stop` resolves first (to the signal that asks to stop; `std::future::pending()` for
/// none), the upload stops cleanly: the archive is not completed, an unfinished multipart
/// upload is aborted once its parts in flight are done, and no manifest is written.
///
/// # Errors
///
/// Returns an [`ArtifactError`] for a missing folder, an entry loads would refuse, an
/// unreadable file, a store failure, or an existing archive with another digest; and
/// [`ArtifactError::Stopped`] when `stop` resolved first.
pub async fn upload_release(
    store: &Store,
    id: &ReleaseId,
    dir: &Path,
    compression: Compression,
    log: &Log,
    stop: impl Future<Output = Signal>,
) -> Result<Manifest, ArtifactError> {
    check_uploadable(dir).await?;
    let started = Instant::now();
    let key = archive_key(id, compression);
    if let Some(stored) = settle_earlier_upload(store, id, dir, log).await? {
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
                id: id.clone(),
            });
        }
        Err(Streamed::Failed(error)) => return Err(error),
        // Another upload of this release stored its archive first: fine if it is the same.
        Err(Streamed::Exists((summary, sha256, size))) => {
            if stored_digest_when_there(store, &key).await? != Some((sha256.clone(), size)) {
                return Err(ArtifactError::Conflict {
                    id: id.clone(),
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
    if let Err(error) = store.put_small(&manifest_key(id), manifest.to_json()).await {
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

/// Checks, before anything is stored, that `dir` is a folder whose every entry loads accept.
async fn check_uploadable(dir: &Path) -> Result<(), ArtifactError> {
    if !dir.is_dir() {
        return Err(ArtifactError::NoFolder {
            dir: dir.to_path_buf(),
        });
    }
    on_folder(dir, check_folder).await
}

/// Runs `work` on `dir` on a blocking thread; its failure (or the thread's) is
/// [`ArtifactError::CannotPack`] for `dir`.
async fn on_folder<T: Send + 'static>(
    dir: &Path,
    work: impl FnOnce(&Path) -> Result<T, PackError> + Send + 'static,
) -> Result<T, ArtifactError> {
    let cannot = |message: String| ArtifactError::CannotPack {
        dir: dir.to_path_buf(),
        message,
    };
    let owned = dir.to_path_buf();
    tokio::task::spawn_blocking(move || work(&owned))
        .await
        .map_err(|error| cannot(error.to_string()))?
        .map_err(|error| cannot(error.to_string()))
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

/// Why streaming an archive stopped.
enum Streamed {
    /// The archive was packed, but the store already holds an object at its key.
    Exists((PackSummary, String, u64)),
    /// A signal asked to stop.
    Stopped(Signal),
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
    stop: impl Future<Output = Signal>,
) -> Result<(PackSummary, String, u64), Streamed> {
    let (sender, receiver) = mpsc::channel(1);
    let progress = log.progress("Uploaded", None);
    let pack_dir = dir.to_path_buf();
    let pack_task = tokio::task::spawn_blocking(move || {
        let budget = ChunkBudget::new(crate::store::UPLOAD_CHUNKS);
        let writer = ChunkWriter::new(sender, crate::store::CHUNK_SIZE, budget);
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

/// Passes a [`ChunkWriter`]'s chunks on to an upload, counting them; the returned confirmation
/// is true only when the writer finished (an error, or `cancel`, aborts the upload).
pub(super) fn forward_chunks(
    mut receiver: mpsc::Receiver<crate::archive::Chunk>,
    counter: Arc<AtomicU64>,
    cancel: Arc<tokio::sync::Notify>,
) -> (mpsc::Receiver<Bytes>, Confirm) {
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
    on_folder(dir, move |dir| {
        let mut hashing = HashingWriter::new(std::io::sink());
        pack(dir, compression, &mut hashing)?;
        Ok(hashing.finish())
    })
    .await
}
