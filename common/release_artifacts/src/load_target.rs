//! The folder a load replaces, and its staging folders.
//!
//! A load extracts into a staging folder beside its target (`.<name>.loading-<random>`) and
//! swaps it into place. Before anything is touched, the target is checked: a load replaces it
//! whole, so it must not be a file, a mount point, or a folder that holds the store, the working
//! directory or the home folder. Each load holds a lock on its staging folder while it works;
//! a staging folder whose lock nobody holds is a leftover (of a load that was killed) and the
//! next load of the same target removes it.

use crate::{ArtifactError, Store};
use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How old an unlocked staging folder must be before it counts as a leftover: a new one is
/// locked right after it is created.
const LEFTOVER_AGE: Duration = Duration::from_secs(5);

/// Checks that `dir` is a folder a load may replace, before anything is downloaded or touched.
///
/// # Errors
///
/// Returns [`ArtifactError::Target`] saying what `dir` is and what to do.
pub(crate) fn check_load_target(dir: &Path, store: &Store) -> Result<(), ArtifactError> {
    let refuse = |why: String| ArtifactError::Target {
        dir: dir.to_path_buf(),
        why,
    };
    let resolved =
        resolve(dir).map_err(|error| refuse(format!("it cannot be resolved ({error})")))?;
    if let Ok(metadata) = std::fs::symlink_metadata(dir) {
        if !metadata.is_dir() && !metadata.file_type().is_symlink() {
            return Err(refuse(
                "it exists and is not a folder; a load would replace it. Remove it, or load into another folder".into(),
            ));
        }
        // (A link is replaced itself, wherever it points: only a folder can be a mount point.)
        let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Some(parent) = absolute.parent()
            && let Ok(above) = std::fs::metadata(parent)
            && metadata.is_dir()
            && metadata.dev() != above.dev()
        {
            return Err(refuse(
                "it is a mount point (a volume?), and a load swaps in a new folder by renaming. Load into a folder inside the volume instead".into(),
            ));
        }
    }
    let mut holds = Vec::new();
    if let Store::File(file_store) = store
        && let Ok(store_dir) = resolve(file_store.dir())
    {
        holds.push((store_dir, "the store of STATIC_ARTIFACTS_URL"));
    }
    if let Ok(cwd) = std::env::current_dir().and_then(|cwd| cwd.canonicalize()) {
        holds.push((cwd, "the working directory (the app)"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|home| !home.is_empty())
        && let Ok(home) = Path::new(&home).canonicalize()
    {
        holds.push((home, "the home folder"));
    }
    for (inside, what) in holds {
        if inside.starts_with(&resolved) {
            let how = if inside == resolved { "is" } else { "holds" };
            return Err(refuse(format!(
                "it {how} {what}, which a load would delete. Load into a folder of its own, such as static-artifacts"
            )));
        }
    }
    Ok(())
}

/// `path` made absolute with links resolved, also when its last part does not exist yet.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    if let Ok(resolved) = path.canonicalize() {
        return Ok(resolved);
    }
    let absolute = std::path::absolute(path)?;
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => Ok(resolve(parent)?.join(name)),
        _ => Ok(absolute),
    }
}

/// A staging folder, locked while the load that made it works.
pub(crate) struct Staging {
    path: PathBuf,
    _lock: File,
}

impl Staging {
    /// Removes the leftover staging folders of `dir`, then creates and locks a new one.
    pub(crate) fn create(dir: &Path) -> std::io::Result<Self> {
        let (parent, prefix) = staging_parts(dir);
        remove_leftovers(&parent, &prefix);
        let path = parent.join(format!("{prefix}{:016x}", fastrand::u64(..)));
        std::fs::create_dir(&path)?;
        match lock(&path, rustix::fs::FlockOperation::LockExclusive) {
            Ok(lock) => Ok(Staging { path, _lock: lock }),
            Err(error) => {
                let _ = std::fs::remove_dir(&path);
                Err(error)
            }
        }
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// The folder staging folders of `dir` are made in, and the start of their names.
fn staging_parts(dir: &Path) -> (PathBuf, String) {
    let name = dir.file_name().map_or_else(
        || "static-artifacts".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let parent = dir
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    (parent.to_path_buf(), format!(".{name}.loading-"))
}

fn lock(path: &Path, operation: rustix::fs::FlockOperation) -> std::io::Result<File> {
    let folder = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)?;
    rustix::fs::flock(&folder, operation)?;
    Ok(folder)
}

/// Removes the staging folders in `parent` named `prefix…` that no live load holds (best
/// effort: what cannot be removed is left for a later load).
fn remove_leftovers(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let old = metadata
            .modified()
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|age| age >= LEFTOVER_AGE);
        if !old {
            continue;
        }
        if !metadata.is_dir() {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        // Held while removing, so that no other load removes it at the same time.
        if let Ok(_held) = lock(&path, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Removes what is at `path`, a folder or anything else (after a swap, the old content of the
/// target, which may have been a link).
pub(crate) fn remove_any(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}
