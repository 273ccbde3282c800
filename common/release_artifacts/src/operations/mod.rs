//! What the programs do with releases, one concern per module: the catalogue of a store
//! (manifests, `latest.json`, listings), upload, load, publish, prune, verify, promote, adopt
//! (the stores of the earlier buildpack), and the release records.
//! Each takes the release's [`ReleaseId`](crate::ReleaseId), resolved once by the caller, and
//! reports through a [`Log`](crate::Log).

mod adopt;
mod catalogue;
mod deadline;
mod error;
mod load;
mod promote;
mod prune;
mod publish;
mod record;
mod upload;
mod verify;

pub use adopt::{Adoption, adopt_releases};
pub use catalogue::{ReleaseListing, list_releases};
pub use deadline::Deadline;
pub use error::ArtifactError;
pub use load::{Loaded, load_release};
pub use promote::promote_release;
pub use prune::prune_releases;
pub use publish::publish_release;
pub use record::{RecordHistory, read_record, record_history, write_record};
pub use upload::upload_release;
pub use verify::verify_release;

/// The async runtime the programs run operations on: a few worker threads, whatever the
/// number of cores.
///
/// # Errors
///
/// Returns an error when the runtime cannot start.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(2, 4))
        .enable_all()
        .build()
}
