//! Release records: what each release phase did, kept as `release-<ID>.phase.json` next to the
//! release's artifacts, and read back newest first.

use super::ArtifactError;
use super::catalogue::in_parallel;
use crate::manifest::{BadDocument, record_key, release_of_record_key};
use crate::{ReleaseId, Store};
use release_commands::PhaseRecord;

/// Writes the record of `id`'s release phase (replacing the one of an earlier run).
///
/// # Errors
///
/// Returns an [`ArtifactError`] when the store refuses it.
pub async fn write_record(
    store: &Store,
    id: &ReleaseId,
    record: &PhaseRecord,
) -> Result<(), ArtifactError> {
    let record = PhaseRecord {
        release_id: id.to_string(),
        ..record.clone()
    };
    // A record holds strings and numbers only, which always serialize.
    let bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
    Ok(store.put_small(&record_key(id), bytes).await?)
}

/// Reads the record of `id`'s last release phase.
///
/// # Errors
///
/// Returns [`ArtifactError::NoArtifacts`] when there is none, and another [`ArtifactError`]
/// when it cannot be read or is not a record.
pub async fn read_record(store: &Store, id: &ReleaseId) -> Result<PhaseRecord, ArtifactError> {
    let key = record_key(id);
    let Some(bytes) = store.get_small(&key).await? else {
        return Err(ArtifactError::NoArtifacts(format!(
            "Release {id} has no release record in {}: its release phase has not run with this \
             store configured (STATIC_ARTIFACTS_URL), or the release was pruned",
            store.describe()
        )));
    };
    parse(&bytes, id).map_err(|error| {
        ArtifactError::Document(BadDocument {
            key: store.location_of(&key),
            what: "release record",
            message: format!("{error}; delete it"),
        })
    })
}

fn parse(bytes: &[u8], id: &ReleaseId) -> Result<PhaseRecord, serde_json::Error> {
    let record: PhaseRecord = serde_json::from_slice(bytes)?;
    Ok(PhaseRecord {
        release_id: id.to_string(),
        ..record
    })
}

/// The newest release records of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordHistory {
    /// The newest records, newest first.
    pub records: Vec<PhaseRecord>,
    /// How many records the store holds.
    pub total: usize,
    /// Records that could not be used, each with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Reads the `limit` newest release records, newest first: by when each was last written (a
/// run's end, or its start while it runs), to the second, then by when it started. The store
/// is listed (following pagination) and only the `limit` records written last are read, so the
/// requests are the listing's pages plus `limit` reads, however many records there are. A
/// store that gives no modification times is read whole, and ordered by start.
///
/// # Errors
///
/// Returns an [`ArtifactError`] when the store cannot be listed.
pub async fn record_history(store: &Store, limit: usize) -> Result<RecordHistory, ArtifactError> {
    let mut found: Vec<(Option<u64>, String, ReleaseId)> = store
        .list("release-")
        .await?
        .into_iter()
        .filter_map(|object| {
            let id = release_of_record_key(&object.key)?;
            // To the second: stores differ in how finely they keep the time.
            let written = object.modified_ms.map(|millis| millis / 1000);
            Some((written, object.key, id))
        })
        .collect();
    let total = found.len();
    found.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    if found.iter().all(|(written, _, _)| written.is_some()) {
        found.truncate(limit);
    }
    let reads = in_parallel(store, found, |store, (written, key, id)| async move {
        let read = match store.get_small(&key).await {
            Ok(Some(bytes)) => parse(&bytes, &id)
                .map(Some)
                .map_err(|error| format!("is not a valid release record ({error}); delete it")),
            // Pruned meanwhile.
            Ok(None) => Ok(None),
            Err(error) => Err(error.to_string()),
        };
        (written, key, read)
    })
    .await?;
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for (written, key, read) in reads {
        match read {
            Ok(Some(record)) => records.push((written, record)),
            Ok(None) => {}
            Err(reason) => skipped.push((key, reason)),
        }
    }
    records.sort_by(|(a_written, a), (b_written, b)| {
        (b_written, b.started_at_ms, &b.release_id).cmp(&(
            a_written,
            a.started_at_ms,
            &a.release_id,
        ))
    });
    records.truncate(limit);
    Ok(RecordHistory {
        records: records.into_iter().map(|(_, record)| record).collect(),
        total,
        skipped,
    })
}
