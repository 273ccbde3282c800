//! Promote: copy a release from one store to another, checking its digest on the way.

use super::ArtifactError;
use super::catalogue::{read_manifest, required_manifest};
use super::upload::forward_chunks;
use crate::archive::{ChannelReader, ChunkBudget, ChunkWriter};
use crate::manifest::manifest_key;
use crate::report::mib;
use crate::store::{CHUNK_SIZE, Delivery, Pieces, UPLOAD_CHUNKS};
use crate::{Log, Manifest, ReleaseId, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tokio::sync::mpsc;

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
    let manifest = required_manifest(from, id).await?;
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
    Box::pin(copy_archive(from, to, &manifest)).await?;
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

/// Streams the archive of `manifest` from `from` into `to`, cut into upload chunks by the same
/// writer as an upload's archive; the upload completes only when every byte arrived with the
/// digest and size of the manifest.
async fn copy_archive(from: &Store, to: &Store, manifest: &Manifest) -> Result<(), ArtifactError> {
    let (sender, receiver) = mpsc::channel::<Pieces>(1);
    let (chunk_sender, chunk_receiver) = mpsc::channel(1);
    let counter = Arc::new(AtomicU64::new(0));
    let rechunk = tokio::task::spawn_blocking({
        let counter = Arc::clone(&counter);
        move || {
            let mut reader = ChannelReader::new(receiver, counter);
            let budget = ChunkBudget::new(UPLOAD_CHUNKS);
            let mut writer = ChunkWriter::new(chunk_sender, CHUNK_SIZE, budget);
            std::io::copy(&mut reader, &mut writer)?;
            writer.finish()
        }
    });
    let (chunks, forwarded) = forward_chunks(
        chunk_receiver,
        counter,
        Arc::new(tokio::sync::Notify::new()),
    );
    let (digest_sender, digest) = tokio::sync::oneshot::channel();
    let expected = (manifest.sha256.clone(), manifest.size);
    let complete = tokio::spawn(async move {
        let arrived = rechunk.await.ok().and_then(Result::ok);
        let matches = arrived.as_ref() == Some(&expected);
        let _ = digest_sender.send(arrived);
        forwarded.await.unwrap_or(false) && matches
    });
    let download = async {
        let mut delivery = Delivery::new(sender);
        from.download(&manifest.archive_key, manifest.size, &mut delivery)
            .await
    };
    let (downloaded, uploaded) = tokio::join!(
        download,
        to.upload_checked(&manifest.archive_key, chunks, complete)
    );
    downloaded?;
    let arrived = digest.await.ok().flatten();
    match (uploaded, arrived) {
        // The digest explains a refused completion better than the store's error.
        (_, Some((sha256, size))) if sha256 != manifest.sha256 || size != manifest.size => {
            Err(ArtifactError::Mismatch {
                location: from.location_of(&manifest.archive_key),
                what: "SHA-256",
                expected: manifest.sha256.clone(),
                actual: sha256,
            })
        }
        (Err(error), _) => Err(error.into()),
        (Ok(()), Some(_)) => Ok(()),
        (Ok(()), None) => Err(ArtifactError::Store(StoreError::Unconfirmed {
            location: to.location_of(&manifest.archive_key),
        })),
    }
}
