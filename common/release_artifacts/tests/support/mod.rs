//! Helpers shared by the test files: a log that can be read back, sample trees and snapshots,
//! and the stores every test runs against.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use release_artifacts::{
    ArtifactError, Deadline, Loaded, Log, Manifest, Report, Settings, Store, load_release,
    publish_release, upload_release,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use test_servers::s3_server::{S3Server, S3Target, unique_prefix};

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

impl Report for Captured {
    fn line(&self, text: &str) {
        let mut out = self.0.lock().unwrap();
        for line in text.lines() {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
    }
}

impl Captured {
    pub(crate) fn log(&self) -> Log {
        Log::new(self.clone(), Duration::from_hours(1))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Uploads `dir` as the release `settings` name, as the upload program does.
pub(crate) async fn upload(
    store: &Store,
    settings: &Settings,
    dir: &Path,
    log: &Log,
) -> Result<Manifest, ArtifactError> {
    let id = settings.release_id()?;
    let never = std::future::pending();
    Box::pin(upload_release(
        store,
        id,
        dir,
        settings.compression,
        log,
        never,
    ))
    .await
}

/// Loads the release `settings` name into `dir`, as the `web` loader does.
pub(crate) async fn load(
    store: &Store,
    settings: &Settings,
    dir: &Path,
    log: &Log,
    deadline: Deadline,
) -> Result<Loaded, ArtifactError> {
    let id = settings.release_id()?;
    let never = std::future::pending();
    load_release(store, id, dir, settings.fallback, deadline, log, never).await
}

/// Publishes the release `settings` name, as the release process does.
pub(crate) async fn publish(
    store: &Store,
    settings: &Settings,
    log: &Log,
) -> Result<(), ArtifactError> {
    publish_release(store, settings.release_id()?, settings.keep, log).await
}

/// A deadline no test reaches.
pub(crate) fn far() -> Deadline {
    Deadline::after(Duration::from_mins(2), "STATIC_ARTIFACTS_LOAD_TIMEOUT")
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

/// A store for one test, as environment variables.
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) vars: Vec<(String, String)>,
    /// The folder of a `file://` store.
    pub(crate) dir: Option<tempfile::TempDir>,
}

pub(crate) fn s3s() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(|| S3Server::start().unwrap())
}

pub(crate) fn file_target() -> Target {
    let dir = tempfile::tempdir().unwrap();
    Target {
        name: "file",
        vars: vec![(
            "STATIC_ARTIFACTS_URL".into(),
            format!("file://{}/store", dir.path().display()),
        )],
        dir: Some(dir),
    }
}

pub(crate) fn s3_targets(test: &str) -> Vec<Target> {
    let mut s3 = vec![S3Target::of(s3s())];
    s3.extend(S3Target::moto());
    s3.into_iter()
        .map(|target| Target {
            name: target.name,
            vars: target.env(&unique_prefix(test)),
            dir: None,
        })
        .collect()
}

pub(crate) fn all_targets(test: &str) -> Vec<Target> {
    let mut targets = vec![file_target()];
    targets.extend(s3_targets(test));
    targets
}

pub(crate) fn settings(target: &Target, extra: &[(&str, &str)]) -> Settings {
    let mut vars: BTreeMap<String, String> = target.vars.iter().cloned().collect();
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    );
    Settings::from_vars(
        move |name| vars.get(name).cloned(),
        Path::new("/nonexistent/release_id"),
    )
    .unwrap()
}

/// The settings and store of `target` for release `id`, and a work folder holding a sample tree
/// in `static-artifacts`.
pub(crate) async fn scene(
    target: &Target,
    id: &str,
    salt: &str,
) -> (Settings, Store, tempfile::TempDir, PathBuf) {
    let settings = settings(target, &[("RELEASE_ID", id)]);
    let store = settings.open_store().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    sample_tree(&source, salt);
    (settings, store, work, source)
}
