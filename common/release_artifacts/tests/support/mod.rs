//! Helpers shared by the test files: a log that can be read back, sample trees and snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use release_artifacts::Log;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A log whose lines can be read back.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub(crate) fn log(&self) -> Log {
        Log::new(Box::new(self.clone()), "", Duration::from_hours(1))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

pub(crate) fn far() -> Instant {
    Instant::now() + Duration::from_mins(2)
}

/// Every entry of a tree: path -> (kind, mode, content or link target).
pub(crate) type Snapshot = BTreeMap<PathBuf, (char, u32, Vec<u8>)>;

/// The [`Snapshot`] of the tree at `dir`.
pub(crate) fn snapshot(dir: &Path) -> Snapshot {
    let mut entries = BTreeMap::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(dir.join(&relative)).unwrap() {
            let entry = entry.unwrap();
            let path = relative.join(entry.file_name());
            let metadata = std::fs::symlink_metadata(entry.path()).unwrap();
            let mode = metadata.permissions().mode() & 0o7777;
            let value = if metadata.file_type().is_symlink() {
                (
                    'l',
                    0,
                    std::fs::read_link(entry.path())
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else if metadata.is_dir() {
                pending.push(path.clone());
                ('d', mode, Vec::new())
            } else {
                ('f', mode, std::fs::read(entry.path()).unwrap())
            };
            entries.insert(path, value);
        }
    }
    entries
}

/// A tree with nested folders, empty files, unicode names, links and various modes.
pub(crate) fn sample_tree(dir: &Path, salt: &str) {
    std::fs::create_dir_all(dir.join("assets/deep/er")).unwrap();
    std::fs::write(dir.join("index.html"), format!("<h1>{salt}</h1>")).unwrap();
    std::fs::write(dir.join("empty.txt"), "").unwrap();
    std::fs::write(dir.join("assets/café ☕ – ünïcode.txt"), "unicode").unwrap();
    std::fs::write(
        dir.join("assets/deep/er/app.js"),
        "console.log(1)".repeat(1000),
    )
    .unwrap();
    std::fs::write(dir.join("run.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(dir.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("private.txt"), "mine").unwrap();
    std::fs::set_permissions(
        dir.join("private.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("assets/deep/er/app.js", dir.join("app.js")).unwrap();
    std::os::unix::fs::symlink("deep", dir.join("assets/deep-link")).unwrap();
    std::fs::create_dir(dir.join("empty-folder")).unwrap();
}
