//! Extracting an archive into a folder, refusing anything that could write outside it or
//! create what static files have no business being: absolute paths, `..`, links leaving the
//! folder, entries written through links, devices, fifos, setuid and setgid bits, and more data
//! than allowed (decompression bombs).

use crate::Compression;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// What was extracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpackSummary {
    /// Files and links extracted.
    pub file_count: u64,
    /// Total size of the files extracted.
    pub unpacked_size: u64,
}

/// Why an archive was refused or could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// An entry would escape the folder or is of a kind that is refused.
    #[error("the archive's entry {path:?} was refused: {reason}")]
    Refused {
        /// The entry's path as written in the archive.
        path: String,
        /// Why.
        reason: String,
    },
    /// The archive expands to more than allowed.
    #[error("the archive expands to more than {limit} bytes, more than it should; it was refused")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The archive is corrupt or truncated, or a file cannot be written.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Extracts the archive read from `input` into the existing, empty folder `dest`, refusing any
/// entry that is not a plain file, folder or link staying inside `dest`, and stopping when the
/// files add up to more than `limit` bytes.
///
/// # Errors
///
/// Returns [`UnpackError`] for a refused entry, a decompression bomb, a corrupt or truncated
/// archive, or a write that fails. What was written so far stays in `dest`.
pub fn unpack<R: Read>(
    input: R,
    compression: Compression,
    dest: &Path,
    limit: u64,
) -> Result<UnpackSummary, UnpackError> {
    match compression {
        Compression::Zstd => extract(zstd::stream::read::Decoder::new(input)?, dest, limit),
        Compression::Gzip => extract(flate2::read::MultiGzDecoder::new(input), dest, limit),
    }
}

fn refused(path: &Path, reason: impl Into<String>) -> UnpackError {
    UnpackError::Refused {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// The entry's path as plain components inside the folder; `None` for the folder itself.
fn safe_relative(path: &Path) -> Result<Option<PathBuf>, UnpackError> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(refused(path, "it contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refused(path, "it is an absolute path"));
            }
        }
    }
    Ok((!relative.as_os_str().is_empty()).then_some(relative))
}

/// Whether a link at `entry` (relative) pointing to `target` stays inside the folder.
fn link_stays_inside(entry: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: usize = entry.components().count().saturating_sub(1);
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Refuses to write `relative` if one of its parent folders is a link (written earlier).
fn check_parents(dest: &Path, relative: &Path) -> Result<(), UnpackError> {
    let mut current = dest.to_path_buf();
    if let Some(parent) = relative.parent() {
        for part in parent.components() {
            current.push(part);
            match std::fs::symlink_metadata(&current) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    return Err(refused(relative, "it would be written through a link"));
                }
                Ok(metadata) if !metadata.is_dir() => {
                    return Err(refused(relative, "its parent is not a folder"));
                }
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    std::fs::create_dir(&current)?;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(())
}

fn extract<R: Read>(decoder: R, dest: &Path, limit: u64) -> Result<UnpackSummary, UnpackError> {
    let mut archive = tar::Archive::new(decoder);
    let mut summary = UnpackSummary {
        file_count: 0,
        unpacked_size: 0,
    };
    // Folder permissions are applied last, so that a read-only folder can still be filled.
    let mut folders = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw_path = entry.path()?.into_owned();
        let Some(relative) = safe_relative(&raw_path)? else {
            continue;
        };
        let header = entry.header();
        let mode = header.mode()?;
        if mode & 0o6000 != 0 {
            return Err(refused(&raw_path, "it has the setuid or setgid bit"));
        }
        let kind = header.entry_type();
        let target = dest.join(&relative);
        check_parents(dest, &relative)?;
        if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir() && !kind.is_dir()) {
            return Err(refused(
                &raw_path,
                "a folder of the same name was extracted before",
            ));
        }
        match kind {
            tar::EntryType::Directory => {
                if std::fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
                    return Err(refused(
                        &raw_path,
                        "a file of the same name was extracted before",
                    ));
                }
                std::fs::create_dir_all(&target)?;
                folders.push((target, mode & 0o777));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = header.size()?;
                summary.unpacked_size = summary.unpacked_size.saturating_add(size);
                if summary.unpacked_size > limit {
                    return Err(UnpackError::TooLarge { limit });
                }
                remove_existing(&target)?;
                entry.set_preserve_mtime(true);
                entry.unpack(&target)?;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o777))?;
                summary.file_count += 1;
            }
            tar::EntryType::Symlink => {
                extract_symlink(&entry, &raw_path, &relative, &target)?;
                summary.file_count += 1;
            }
            tar::EntryType::Link => {
                extract_hard_link(&entry, dest, &raw_path, &target)?;
                summary.file_count += 1;
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(refused(&raw_path, "it is a device file"));
            }
            tar::EntryType::Fifo => return Err(refused(&raw_path, "it is a fifo")),
            other => {
                return Err(refused(
                    &raw_path,
                    format!("its type {other:?} is not supported"),
                ));
            }
        }
    }
    for (folder, mode) in folders.into_iter().rev() {
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(summary)
}

fn extract_symlink<R: Read>(
    entry: &tar::Entry<'_, R>,
    raw_path: &Path,
    relative: &Path,
    target: &Path,
) -> Result<(), UnpackError> {
    let link = entry
        .link_name()?
        .ok_or_else(|| refused(raw_path, "the link has no target"))?
        .into_owned();
    if !link_stays_inside(relative, &link) {
        return Err(refused(
            raw_path,
            format!("it links to {}, outside the folder", link.display()),
        ));
    }
    remove_existing(target)?;
    std::os::unix::fs::symlink(&link, target)?;
    Ok(())
}

fn extract_hard_link<R: Read>(
    entry: &tar::Entry<'_, R>,
    dest: &Path,
    raw_path: &Path,
    target: &Path,
) -> Result<(), UnpackError> {
    let link = entry
        .link_name()?
        .ok_or_else(|| refused(raw_path, "the hard link has no target"))?
        .into_owned();
    let Some(link_relative) = safe_relative(&link).ok().flatten() else {
        return Err(refused(
            raw_path,
            format!(
                "it is a hard link to {}, outside the folder",
                link.display()
            ),
        ));
    };
    let source = dest.join(&link_relative);
    check_parents(dest, &link_relative)?;
    if !std::fs::symlink_metadata(&source).is_ok_and(|m| m.is_file()) {
        return Err(refused(
            raw_path,
            format!(
                "it is a hard link to {}, which is not a file extracted before",
                link.display()
            ),
        ));
    }
    remove_existing(target)?;
    std::fs::hard_link(&source, target)?;
    Ok(())
}

/// Removes a file or link left by an earlier entry of the same name (the later entry wins).
fn remove_existing(target: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(metadata) if !metadata.is_dir() => std::fs::remove_file(target),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_checked_against_their_own_folder() {
        assert!(link_stays_inside(Path::new("a/b/link"), Path::new("../c")));
        assert!(link_stays_inside(Path::new("a/link"), Path::new("../c")));
        assert!(!link_stays_inside(Path::new("link"), Path::new("../c")));
        assert!(!link_stays_inside(
            Path::new("a/link"),
            Path::new("../../c")
        ));
        assert!(!link_stays_inside(
            Path::new("a/link"),
            Path::new("/etc/passwd")
        ));
        assert!(link_stays_inside(
            Path::new("a/link"),
            Path::new("./x/../y")
        ));
        assert!(!link_stays_inside(
            Path::new("a/link"),
            Path::new("x/../../../y")
        ));
    }

    #[test]
    fn paths_must_stay_inside() {
        assert_eq!(
            safe_relative(Path::new("./a/b")).unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(safe_relative(Path::new("./")).unwrap(), None);
        assert!(safe_relative(Path::new("a/../../b")).is_err());
        assert!(safe_relative(Path::new("/etc/passwd")).is_err());
    }
}
