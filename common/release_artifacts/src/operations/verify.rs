//! Verify: read a release's archive whole and check it against its manifest.

use super::catalogue::{Source, required_manifest};
use super::load::fetch_and_extract;
use super::{ArtifactError, Deadline};
use crate::{Log, Manifest, ReleaseId, Store};

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
    deadline: Deadline,
) -> Result<Manifest, ArtifactError> {
    let manifest = required_manifest(store, id).await?;
    let scratch = tempfile::tempdir().map_err(|error| ArtifactError::Io {
        action: "create a temporary folder in",
        path: std::env::temp_dir(),
        error,
    })?;
    let dir = scratch.path().join("verify");
    let source = Source::from_manifest(&manifest, id.clone());
    let (summary, _) =
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
