//! Static artifacts of a release: the output folder of `release-build`, stored as one archive
//! per release in S3 (or an S3-compatible store) or a `file://` folder, and loaded back into
//! `web` processes when they start.
//!
//! - [`Settings`] reads `RELEASE_ID` and every `STATIC_ARTIFACTS_*` variable;
//! - [`Store`] is one interface over both kinds of store, opened from a [`StoreUrl`] and a
//!   [`Connection`] ([`manifest`] holds the layout);
//! - [`upload_release`], [`load_release`], [`publish_release`], [`prune_releases`],
//!   [`list_releases`], [`verify_release`], [`promote_release`] and [`adopt_releases`] are the
//!   operations, most for one [`ReleaseId`], reporting through a [`Log`] to a [`Report`] the
//!   program provides.
//!
//! The library never prints, never exits and chooses no exit code: the programs do.

// The servers serve the integration tests; unit tests need none.
#[cfg(test)]
use test_servers as _;

mod archive;
mod load_target;
pub mod manifest;
mod operations;
mod release_id;
mod report;
mod settings;
mod store;
mod store_url;
mod swap;

pub use archive::{PackError, PackSummary, UnpackError, UnpackSummary, check_folder, pack, unpack};
pub use manifest::{Latest, Manifest};
pub use operations::{
    Adoption, ArtifactError, Deadline, Loaded, RecordHistory, ReleaseListing, adopt_releases,
    list_releases, load_release, promote_release, prune_releases, publish_release, read_record,
    record_history, runtime, upload_release, verify_release, write_record,
};
pub use release_id::{BadReleaseId, RELEASE_ID_FILE, ReleaseId, ReleaseIdSource};
pub use report::{Log, Report, mib};
pub use settings::{Compression, ENVIRONMENT, Fallback, Settings, SettingsError, environment_help};
pub use store::{
    CHUNK_SIZE, CONCURRENCY, Confirm, Connection, Delivery, FileStore, ObjectInfo, Pieces,
    RANGE_SIZE, RANGES_IN_FLIGHT, Refusal, S3Store, StaticCredentials, Store, StoreError,
    UPLOAD_CHUNKS, Unavailability,
};
pub use store_url::{BadStoreUrl, StoreUrl};

use std::time::Duration;

/// The wait before retry number `attempt` (from 1): exponential from 200 ms, capped at 5 s, with
/// full jitter so that many clients do not retry in step.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ceiling = 200u64.saturating_mul(1 << attempt.min(5)).min(5_000);
    Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
}
