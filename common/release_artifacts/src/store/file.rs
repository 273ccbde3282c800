//! The `file://` store: objects are files in one folder, written to a temporary name and renamed
//! into place so that readers never see a partial file.

use super::{Confirm, ObjectInfo, StoreError, confirmed};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Temporary files start with this, and are never listed.
const TEMP_PREFIX: &str = ".tmp-";

/// A folder holding artifacts.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir`.
    #[must_use]
    pub fn new(dir: PathBuf) -> Self {
        FileStore { dir }
    }

    pub(crate) fn describe(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    pub(crate) fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    fn io_error(action: &str, path: &Path, error: &std::io::Error) -> StoreError {
        let hint = match error.kind() {
            std::io::ErrorKind::PermissionDenied => {
                " Check that this process may read and write the folder of STATIC_ARTIFACTS_URL."
            }
            _ => "",
        };
        StoreError::Permanent(format!(
            "Couldn't {action} {}: {error}.{hint}",
            path.display()
        ))
    }

    fn not_found(&self, key: &str) -> StoreError {
        StoreError::NotFound {
            key: key.to_string(),
            store: self.describe(),
        }
    }

    pub(crate) async fn preflight(&self) -> Result<(), StoreError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|error| Self::io_error("create the folder", &self.dir, &error))?;
        let probe = self.temp_path("preflight");
        tokio::fs::write(&probe, b"")
            .await
            .map_err(|error| Self::io_error("write into the folder", &self.dir, &error))?;
        let _ = tokio::fs::remove_file(&probe).await;
        Ok(())
    }

    fn temp_path(&self, key: &str) -> PathBuf {
        self.dir
            .join(format!("{TEMP_PREFIX}{key}-{:016x}", fastrand::u64(..)))
    }

    pub(crate) async fn get_small(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(key);
        tokio::fs::read(&path).await.map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                self.not_found(key)
            } else {
                Self::io_error("read", &path, &error)
            }
        })
    }

    pub(crate) async fn put_small(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let (sender, receiver) = mpsc::channel(1);
        let _ = sender.send(Bytes::from(bytes)).await;
        drop(sender);
        self.upload(key, receiver, tokio::spawn(async { true }))
            .await
    }

    pub(crate) async fn size_of(&self, key: &str) -> Result<u64, StoreError> {
        let path = self.path_of(key);
        match tokio::fs::metadata(&path).await {
            Ok(metadata) if metadata.is_file() => Ok(metadata.len()),
            Ok(_) => Err(self.not_found(key)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(self.not_found(key)),
            Err(error) => Err(Self::io_error("read", &path, &error)),
        }
    }

    pub(crate) async fn list(&self, start: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(Self::io_error("list", &self.dir, &error)),
        };
        let mut objects = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|error| Self::io_error("list", &self.dir, &error))?
        {
            let key = entry.file_name().to_string_lossy().into_owned();
            if key.starts_with(TEMP_PREFIX) || !key.starts_with(start) {
                continue;
            }
            if let Ok(metadata) = entry.metadata().await
                && metadata.is_file()
            {
                objects.push(ObjectInfo {
                    key,
                    size: metadata.len(),
                });
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key);
        match tokio::fs::remove_file(&path).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(Self::io_error("delete", &path, &error))
            }
            _ => Ok(()),
        }
    }

    pub(crate) async fn upload(
        &self,
        key: &str,
        mut chunks: mpsc::Receiver<Bytes>,
        confirm: Confirm,
    ) -> Result<(), StoreError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|error| Self::io_error("create the folder", &self.dir, &error))?;
        let temp = self.temp_path(key);
        let write = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            while let Some(chunk) = chunks.recv().await {
                file.write_all(&chunk).await?;
            }
            file.sync_all().await
        };
        let result = match write.await {
            Ok(()) => match confirmed(confirm, &self.path_of(key).display().to_string()).await {
                Ok(()) => tokio::fs::rename(&temp, self.path_of(key))
                    .await
                    .map_err(|error| Self::io_error("write", &self.path_of(key), &error)),
                Err(error) => Err(error),
            },
            Err(error) => Err(Self::io_error("write", &self.path_of(key), &error)),
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        result
    }

    pub(crate) async fn download(
        &self,
        key: &str,
        delivery: &mut super::Delivery,
    ) -> Result<(), StoreError> {
        let path = self.path_of(key);
        let mut file = tokio::fs::File::open(&path).await.map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                self.not_found(key)
            } else {
                Self::io_error("read", &path, &error)
            }
        })?;
        loop {
            let mut buffer = Vec::with_capacity(1024 * 1024);
            let read = (&mut file)
                .take(1024 * 1024)
                .read_to_end(&mut buffer)
                .await
                .map_err(|error| Self::io_error("read", &path, &error))?;
            if read == 0 {
                return Ok(());
            }
            if !delivery.send(vec![Bytes::from(buffer)]).await {
                return Ok(());
            }
        }
    }
}
