//! Where an entry may go: relative paths that stay inside the folder, links that do not lead
//! out of it (the rule uploads apply too), and what the extraction created so far.

use super::UnpackError;
use super::writers::Writers;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

pub(super) fn refused(path: &Path, reason: impl Into<String>) -> UnpackError {
    UnpackError::Refused {
        path: shown(path),
        reason: reason.into(),
    }
}

/// The entry's path as plain components inside the folder; `None` for the folder itself.
pub(super) fn safe_relative(path: &Path) -> Result<Option<PathBuf>, UnpackError> {
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

/// Why a link at `entry` (relative to the folder) pointing to `target` could lead outside the
/// folder, if it could. Going up (`..`) is allowed only from a folder that comes before the link
/// (`is_folder`): from a link, or from a name that a later entry may make a link, it would go up
/// from wherever that link leads. Loads and uploads apply the same rule.
pub(crate) fn link_problem(
    entry: &Path,
    target: &Path,
    is_folder: impl Fn(&Path) -> bool,
) -> Option<String> {
    let outside = || Some(format!("it links to {}, outside the folder", shown(target)));
    let mut at = entry.parent().map(Path::to_path_buf).unwrap_or_default();
    for component in target.components() {
        match component {
            Component::Normal(part) => at.push(part),
            Component::CurDir => {}
            Component::ParentDir if at.as_os_str().is_empty() => return outside(),
            Component::ParentDir if !is_folder(&at) => {
                return Some(format!(
                    "it links to {}, going up (`..`) from {}, which is not a folder that comes \
                     before it",
                    shown(target),
                    shown(&at)
                ));
            }
            Component::ParentDir => {
                at.pop();
            }
            Component::RootDir | Component::Prefix(_) => return outside(),
        }
    }
    None
}

/// A path as messages show it: control characters escaped, and cut to 100 characters,
/// so that an error never carries more than a name's start of what an archive holds.
pub(crate) fn shown(path: &Path) -> String {
    const MOST: usize = 100;
    let text = path.to_string_lossy();
    let mut cut: String = text
        .chars()
        .take(MOST)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(MOST).is_some() {
        cut.push_str("...");
    }
    cut
}

/// What extraction created so far, so that checks need no system calls: the folder starts
/// empty, and only this extraction writes into it.
#[derive(Default)]
pub(super) struct Created {
    pub(super) kinds: HashMap<PathBuf, Kind>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Folder,
    File,
    Link,
}

impl Created {
    pub(super) fn link_problem(&self, entry: &Path, target: &Path) -> Option<String> {
        link_problem(entry, target, |at| {
            self.kinds.get(at) == Some(&Kind::Folder)
        })
    }

    /// Creates the missing parent folders of `relative`, refusing to go through a link or a file.
    pub(super) fn make_parents(&mut self, dest: &Path, relative: &Path) -> Result<(), UnpackError> {
        let Some(parent) = relative.parent() else {
            return Ok(());
        };
        let mut current = PathBuf::new();
        for part in parent.components() {
            current.push(part);
            match self.kinds.get(&current) {
                Some(Kind::Folder) => {}
                Some(Kind::Link) => {
                    return Err(refused(relative, "it would be written through a link"));
                }
                Some(Kind::File) => return Err(refused(relative, "its parent is not a folder")),
                None => {
                    std::fs::create_dir(dest.join(&current))?;
                    self.kinds.insert(current.clone(), Kind::Folder);
                }
            }
        }
        Ok(())
    }

    /// Makes room for a new entry at `relative` (a later entry of the same name wins), refusing
    /// to replace a folder with anything else.
    pub(super) fn replace(
        &mut self,
        dest: &Path,
        relative: &Path,
        kind: Kind,
        writers: &mut Writers,
    ) -> Result<(), UnpackError> {
        match self.kinds.get(relative) {
            None => {}
            Some(Kind::Folder) if kind == Kind::Folder => {}
            Some(Kind::Folder) => {
                return Err(refused(
                    relative,
                    "a folder of the same name was extracted before",
                ));
            }
            Some(_) if kind == Kind::Folder => {
                return Err(refused(
                    relative,
                    "a file of the same name was extracted before",
                ));
            }
            Some(_) => {
                // The earlier file may still be queued.
                writers.wait_idle()?;
                std::fs::remove_file(dest.join(relative))?;
            }
        }
        self.kinds.insert(relative.to_path_buf(), kind);
        Ok(())
    }
}
