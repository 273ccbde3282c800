//! Putting a freshly loaded folder in place in one step, on glibc and musl alike.
//!
//! `renameat2(2)` with `RENAME_EXCHANGE` / `RENAME_NOREPLACE` is what makes a load atomic: a
//! reader of the folder sees either the old content or the new, never a mix or nothing. The C
//! libraries differ (glibc wraps the call, older musl does not), so this goes through rustix,
//! which makes the system call itself on Linux whatever the C library.

use rustix::fs::{CWD, RenameFlags, renameat_with};
use rustix::io::Errno;
use std::path::Path;

/// Puts `staging` at `dir` in one step: exchanges them when `dir` exists (the old content is
/// then at `staging`), renames otherwise. When another process creates `dir` between the check
/// and the rename, exchanges with that folder instead of failing or replacing it unseen.
///
/// # Errors
///
/// Returns the system's error when neither path can be moved (for example `staging` and `dir`
/// on different file systems, or a file system without `renameat2` support).
pub(crate) fn swap_into_place(staging: &Path, dir: &Path) -> std::io::Result<()> {
    let exchange = || renameat_with(CWD, staging, CWD, dir, RenameFlags::EXCHANGE);
    let result = match std::fs::symlink_metadata(dir) {
        Ok(_) => exchange(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            match renameat_with(CWD, staging, CWD, dir, RenameFlags::NOREPLACE) {
                Err(Errno::EXIST | Errno::NOTEMPTY) => exchange(),
                other => other,
            }
        }
        Err(error) => return Err(error),
    };
    result.map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::swap_into_place;
    use std::path::Path;

    fn folder_with(path: &Path, file: &str, text: &str) {
        std::fs::create_dir_all(path).unwrap();
        std::fs::write(path.join(file), text).unwrap();
    }

    fn names(path: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_folder_is_renamed_into_place() {
        let root = tempfile::tempdir().unwrap();
        let (staging, dir) = (root.path().join(".new"), root.path().join("dir"));
        folder_with(&staging, "new.txt", "new");
        swap_into_place(&staging, &dir).unwrap();
        assert_eq!(names(&dir), ["new.txt"]);
        assert!(!staging.exists());
    }

    #[test]
    fn an_existing_folder_is_exchanged_and_its_old_content_kept_at_staging() {
        let root = tempfile::tempdir().unwrap();
        let (staging, dir) = (root.path().join(".new"), root.path().join("dir"));
        folder_with(&staging, "new.txt", "new");
        folder_with(&dir, "old.txt", "old");
        swap_into_place(&staging, &dir).unwrap();
        assert_eq!(names(&dir), ["new.txt"]);
        assert_eq!(names(&staging), ["old.txt"]);
    }

    #[test]
    fn a_file_in_the_way_is_exchanged_not_lost() {
        let root = tempfile::tempdir().unwrap();
        let (staging, dir) = (root.path().join(".new"), root.path().join("dir"));
        folder_with(&staging, "new.txt", "new");
        std::fs::write(&dir, "a file").unwrap();
        swap_into_place(&staging, &dir).unwrap();
        assert_eq!(names(&dir), ["new.txt"]);
        assert_eq!(std::fs::read_to_string(&staging).unwrap(), "a file");
    }

    #[test]
    fn a_missing_staging_folder_is_an_error_and_changes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let (staging, dir) = (root.path().join(".new"), root.path().join("dir"));
        folder_with(&dir, "old.txt", "old");
        let error = swap_into_place(&staging, &dir).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(names(&dir), ["old.txt"]);
        let error = swap_into_place(&staging, &root.path().join("absent")).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    }
}
