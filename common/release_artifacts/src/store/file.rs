//! The `file://` store: objects are files in one folder. A file is written unnamed
//! (`O_TMPFILE`) and linked into place once complete, so that readers never see a partial file
//! and a process killed meanwhile leaves nothing; where the file system cannot, it is written
//! to a temporary name instead. Objects are read only when they are regular files, never
//! waiting on a fifo.

use super::{Confirm, ObjectInfo, Refusal, StoreError, Write, confirmed};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Temporary files start with this, and are never listed.
const TEMP_PREFIX: &str = ".tmp-";

/// The most of a small object that is read (manifests and `latest.json` are a few hundred
/// bytes).
const SMALL_OBJECT_MOST: u64 = 1024 * 1024;

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

    /// The folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn describe(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    pub(crate) fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    fn io_error(action: &str, path: &Path, error: &std::io::Error) -> StoreError {
        StoreError::Refused {
            target: format!("{action} {}", path.display()),
            // Its kind and text; the error itself may still be needed by the caller.
            reason: Refusal::Io {
                error: std::io::Error::new(error.kind(), error.to_string()),
            },
        }
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
        let file = self.open_object(key).await?;
        let mut bytes = Vec::new();
        // Small objects are manifests and latest.json: anything much larger is not one, and
        // fails to parse from its first mebibyte as well.
        file.take(SMALL_OBJECT_MOST)
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| Self::io_error("read", &path, &error))?;
        Ok(bytes)
    }

    /// Opens the object `key` for reading: a regular file, or an error saying what it is.
    async fn open_object(&self, key: &str) -> Result<tokio::fs::File, StoreError> {
        let path = self.path_of(key);
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            // A fifo would block the open until a writer comes.
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .await
            .map_err(|error| {
                if error.kind() == std::io::ErrorKind::NotFound {
                    self.not_found(key)
                } else {
                    Self::io_error("read", &path, &error)
                }
            })?;
        let metadata = file
            .metadata()
            .await
            .map_err(|error| Self::io_error("read", &path, &error))?;
        if metadata.is_dir() {
            return Err(self.not_found(key));
        }
        if !metadata.is_file() {
            return Err(StoreError::Refused {
                target: format!("read {}", path.display()),
                reason: Refusal::NotARegularFile,
            });
        }
        Ok(file)
    }

    pub(crate) async fn put_small(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let (sender, receiver) = mpsc::channel(1);
        let _ = sender.send(Bytes::from(bytes)).await;
        drop(sender);
        self.upload(key, receiver, tokio::spawn(async { true }), Write::Replace)
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
                let modified_ms = metadata
                    .modified()
                    .ok()
                    .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                    .and_then(|since| u64::try_from(since.as_millis()).ok());
                objects.push(ObjectInfo {
                    key,
                    size: metadata.len(),
                    modified_ms,
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
        write: Write,
    ) -> Result<(), StoreError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|error| Self::io_error("create the folder", &self.dir, &error))?;
        let target = self.path_of(key);
        let cannot_write = |error: std::io::Error| Self::io_error("write", &target, &error);
        let (file, temp) = self.create_unnamed(key).map_err(cannot_write)?;
        let mut file = tokio::fs::File::from_std(file);
        let written = async {
            while let Some(chunk) = chunks.recv().await {
                file.write_all(&chunk).await?;
            }
            file.sync_all().await
        }
        .await;
        let result = match written {
            Ok(()) => match confirmed(confirm, &target.display().to_string()).await {
                Ok(()) => {
                    let file = file.into_std().await;
                    self.place(&file, temp.as_deref(), &target, write)
                }
                Err(error) => Err(error),
            },
            Err(error) => Err(cannot_write(error)),
        };
        if let Some(temp) = temp {
            let _ = std::fs::remove_file(temp);
        }
        result
    }

    /// A new file for an object: unnamed (`O_TMPFILE`) where the file system allows, else with
    /// a temporary name, returned.
    fn create_unnamed(&self, key: &str) -> std::io::Result<(std::fs::File, Option<PathBuf>)> {
        use std::os::unix::fs::OpenOptionsExt;
        let unnamed = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .mode(0o666)
            .open(&self.dir);
        if let Ok(file) = unnamed {
            return Ok((file, None));
        }
        let temp = self.temp_path(key);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&temp)?;
        Ok((file, Some(temp)))
    }

    /// Gives the complete `file` (written unnamed, or at `temp`) the name `target`.
    fn place(
        &self,
        file: &std::fs::File,
        temp: Option<&Path>,
        target: &Path,
        write: Write,
    ) -> Result<(), StoreError> {
        use std::os::fd::AsRawFd;
        let exists = || StoreError::Exists {
            location: format!("file://{}", target.display()),
        };
        let cannot = |error: &std::io::Error| Self::io_error("write", target, error);
        let unnamed = format!("/proc/self/fd/{}", file.as_raw_fd());
        let link = |to: &Path| match temp {
            Some(temp) => std::fs::hard_link(temp, to),
            None => rustix::fs::linkat(
                rustix::fs::CWD,
                unnamed.as_str(),
                rustix::fs::CWD,
                to,
                rustix::fs::AtFlags::SYMLINK_FOLLOW,
            )
            .map_err(std::io::Error::from),
        };
        match write {
            // Linking fails when the name exists: exactly one writer creates the object.
            Write::CreateOnly => link(target).map_err(|error| {
                if error.kind() == std::io::ErrorKind::AlreadyExists {
                    exists()
                } else {
                    cannot(&error)
                }
            }),
            Write::Replace => {
                let named = if let Some(temp) = temp {
                    temp.to_path_buf()
                } else {
                    let named = self.temp_path(&key_of(target));
                    link(&named).map_err(|error| cannot(&error))?;
                    named
                };
                let renamed = std::fs::rename(&named, target);
                if renamed.is_err() {
                    let _ = std::fs::remove_file(&named);
                }
                renamed.map_err(|error| cannot(&error))
            }
        }
    }

    pub(crate) async fn download(
        &self,
        key: &str,
        delivery: &mut super::Delivery,
    ) -> Result<(), StoreError> {
        let path = self.path_of(key);
        let mut file = self.open_object(key).await?;
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

/// The key of the object at `path` (its file name).
fn key_of(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
