//! One interface over the two kinds of store: a `file://` folder and an S3 bucket.
//!
//! Keys are relative to the store's prefix. Large objects move as ordered chunks through
//! bounded channels, so memory stays flat whatever the object's size.

mod connection;
mod error;
mod file;
mod s3;

use crate::StoreUrl;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub(crate) use connection::AwsRegionConfig;
pub use connection::{Connection, StaticCredentials};
pub use error::{Refusal, StoreError, Unavailability};
pub use file::FileStore;
pub use s3::S3Store;

/// Consecutive pieces of an object, in order, as they came off the network or the disk.
pub type Pieces = Vec<Bytes>;

/// Where a download's pieces go, in order: a channel, with a SHA-256 and a count of what was
/// sent on the way (computed where the pieces are put in order, which needs no extra buffer).
pub struct Delivery {
    sender: mpsc::Sender<Pieces>,
    hasher: Sha256,
    size: u64,
}

impl Delivery {
    /// Deliveries into `sender`.
    #[must_use]
    pub fn new(sender: mpsc::Sender<Pieces>) -> Self {
        Delivery {
            sender,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Hashes and sends `pieces`; false when the receiver is gone.
    pub async fn send(&mut self, pieces: Pieces) -> bool {
        for piece in &pieces {
            self.hasher.update(piece);
            self.size += piece.len() as u64;
        }
        self.sender.send(pieces).await.is_ok()
    }

    /// The SHA-256 (hex) and the number of bytes sent; closes the channel.
    #[must_use]
    pub fn finish(self) -> (String, u64) {
        (
            crate::archive::lower_hex(&self.hasher.finalize()),
            self.size,
        )
    }
}

/// Size of the chunks uploads move in (multipart upload parts).
pub const CHUNK_SIZE: usize = 8 * 1024 * 1024;
/// Size of the ranges downloads fetch: small, so that many connections share the download (S3
/// serves each connection at a limited rate) while little is held waiting for its turn.
pub const RANGE_SIZE: usize = 2 * 1024 * 1024;
/// How many upload parts (and other requests) move at once.
pub const CONCURRENCY: usize = 4;
/// How many ranges a download fetches at once.
pub const RANGES_IN_FLIGHT: usize = 8;
/// Most upload chunks that exist at once (in flight, queued or being filled): with
/// [`CHUNK_SIZE`], 40 MiB whatever the archive's size or the network's speed.
pub const UPLOAD_CHUNKS: usize = CONCURRENCY + 1;

/// Whether an upload may replace an existing object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    /// Replace it atomically.
    Replace,
    /// Fail with [`StoreError::Exists`] instead.
    CreateOnly,
}

/// Resolves to whether an upload may be completed.
pub type Confirm = tokio::task::JoinHandle<bool>;

/// Waits for `confirm`; an error if the upload must not be completed.
pub(crate) async fn confirmed(confirm: Confirm, location: &str) -> Result<(), StoreError> {
    if confirm.await.unwrap_or(false) {
        Ok(())
    } else {
        Err(StoreError::Unconfirmed {
            location: location.to_string(),
        })
    }
}

/// `Ok(None)` for a missing object, other errors unchanged.
fn missing_as_none<T>(result: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    match result {
        Err(error) if error.is_not_found() => Ok(None),
        other => other.map(Some),
    }
}

/// An object listed in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key, relative to the prefix.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, in milliseconds since the Unix epoch, when the store says.
    pub modified_ms: Option<u64>,
}

/// A store for release artifacts.
#[derive(Clone, Debug)]
pub enum Store {
    /// A folder.
    File(FileStore),
    /// An S3 bucket (or an S3-compatible store).
    S3(S3Store),
}

impl Store {
    /// Opens the store at `url`, reaching an S3 one as `connection` says.
    pub async fn open(url: &StoreUrl, connection: &Connection) -> Self {
        match url {
            StoreUrl::File { dir } => Store::File(FileStore::new(dir.clone())),
            StoreUrl::S3 {
                bucket,
                prefix,
                region,
            } => Store::S3(S3Store::connect(bucket, prefix, region.as_deref(), connection).await),
        }
    }

    /// The store as people read it: `s3://bucket/prefix (endpoint ...)` or `file:///dir`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Store::File(store) => store.describe(),
            Store::S3(store) => store.describe(),
        }
    }

    /// The full location of `key`, for messages.
    #[must_use]
    pub fn location_of(&self, key: &str) -> String {
        match self {
            Store::File(store) => format!("file://{}", store.path_of(key).display()),
            Store::S3(store) => store.url_of(key),
        }
    }

    /// Checks that the store exists and takes writes with these credentials, without leaving
    /// anything behind and without needing permission to list.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] saying what is wrong.
    pub async fn preflight(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::File(store) => store.preflight().await,
            Store::S3(store) => store.preflight(key).await,
        }
    }

    /// Reads a small object whole; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] for anything but a missing object.
    pub async fn get_small(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        missing_as_none(match self {
            Store::File(store) => store.get_small(key).await,
            Store::S3(store) => store.get_small(key).await,
        })
    }

    /// Writes a small object whole, replacing it atomically.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when it cannot be written.
    pub async fn put_small(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        match self {
            Store::File(store) => store.put_small(key, bytes).await,
            Store::S3(store) => store.put_small(key, bytes).await,
        }
    }

    /// The size of an object; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] for anything but a missing object.
    pub async fn size_of(&self, key: &str) -> Result<Option<u64>, StoreError> {
        missing_as_none(match self {
            Store::File(store) => store.size_of(key).await,
            Store::S3(store) => store.size_of(key).await,
        })
    }

    /// Every object whose key starts with `start`, following pagination to the end.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the store cannot be listed.
    pub async fn list(&self, start: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        match self {
            Store::File(store) => store.list(start).await,
            Store::S3(store) => store.list(start).await,
        }
    }

    /// Deletes an object; a missing one is fine.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when it cannot be deleted.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::File(store) => store.delete(key).await,
            Store::S3(store) => store.delete(key).await,
        }
    }

    /// Stores the chunks received from `chunks` as the object `key`: one PUT when there is a
    /// single chunk, else a multipart upload with [`CONCURRENCY`] parts in flight. The object
    /// appears only when complete; on failure nothing is left behind.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the upload fails.
    pub async fn upload(&self, key: &str, chunks: mpsc::Receiver<Bytes>) -> Result<(), StoreError> {
        self.upload_checked(key, chunks, tokio::spawn(async { true }))
            .await
    }

    /// Like [`Store::upload`], but the object is completed only if `confirm` resolves to true
    /// once the chunks have ended (the producer finished and its digest is right); otherwise the
    /// upload is abandoned and nothing is stored.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the upload fails or is not confirmed.
    pub async fn upload_checked(
        &self,
        key: &str,
        chunks: mpsc::Receiver<Bytes>,
        confirm: Confirm,
    ) -> Result<(), StoreError> {
        self.upload_as(key, chunks, confirm, Write::Replace).await
    }

    /// Like [`Store::upload_checked`], but only creates the object: when `key` exists already
    /// (another upload got there first), nothing is written and the error is
    /// [`StoreError::Exists`]. `file://` stores link the finished file into place, which fails
    /// when the name exists; S3 stores send `If-None-Match: *`, which AWS S3, `MinIO` and most
    /// S3-compatible stores honour (one that ignores it replaces the object instead).
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the upload fails, is not confirmed, or `key` exists.
    pub async fn upload_new(
        &self,
        key: &str,
        chunks: mpsc::Receiver<Bytes>,
        confirm: Confirm,
    ) -> Result<(), StoreError> {
        self.upload_as(key, chunks, confirm, Write::CreateOnly)
            .await
    }

    async fn upload_as(
        &self,
        key: &str,
        chunks: mpsc::Receiver<Bytes>,
        confirm: Confirm,
        write: Write,
    ) -> Result<(), StoreError> {
        match self {
            Store::File(store) => store.upload(key, chunks, confirm, write).await,
            Store::S3(store) => store.upload(key, chunks, confirm, write).await,
        }
    }

    /// Sends the object `key` (of `size` bytes) in order through `delivery`, fetching up to
    /// [`RANGES_IN_FLIGHT`] ranges at once and resuming a broken transfer where it stopped.
    ///
    /// # Errors
    ///
    /// Returns a [`StoreError`] when the download fails, or stops early if the receiver is gone.
    pub async fn download(
        &self,
        key: &str,
        size: u64,
        delivery: &mut Delivery,
    ) -> Result<(), StoreError> {
        match self {
            Store::File(store) => store.download(key, delivery).await,
            Store::S3(store) => store.download(key, size, delivery).await,
        }
    }
}
