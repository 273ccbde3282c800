//! Runs an unlucky operator or a hostile app could make: links and special files in the upload,
//! files that change while they are archived, stray objects in the store, two uploads of one
//! release at once, a prune racing a publish, and loads into folders a load must not replace.
//! Against every kind of store (`file://`, s3s-fs, and moto when CI started it); no mocks.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::manifest::{LATEST_KEY, manifest_key};
use release_artifacts::{
    ArtifactError, ReleaseId, Store, list_releases, prune_releases, verify_release,
};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{
    Captured, all_targets, far, file_target, load, publish, sample_tree, scene, settings, snapshot,
    upload,
};

mod support;

/// Every key in the store.
async fn keys(store: &Store) -> Vec<String> {
    store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|object| object.key)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_refuses_what_every_load_refuses_before_anything_is_stored() {
    type Plant = fn(&Path);
    let cases: [(&str, Plant, &str, &str); 6] = [
        (
            "a link to /etc/passwd",
            |dir| std::os::unix::fs::symlink("/etc/passwd", dir.join("p")).unwrap(),
            "\"p\": it links to /etc/passwd, outside the folder",
            "cp -L",
        ),
        (
            "a link up out of the folder",
            |dir| std::os::unix::fs::symlink("../../shared", dir.join("assets/up")).unwrap(),
            "\"assets/up\": it links to ../../shared, outside the folder",
            "relative link to something inside the folder",
        ),
        (
            "a link going up out of another link",
            |dir| std::os::unix::fs::symlink("deep-link/..", dir.join("assets/z")).unwrap(),
            "going up (`..`) from assets/deep-link, which is not a folder that comes before it",
            "cp -L",
        ),
        (
            "an absolute link to a file inside",
            |dir| std::os::unix::fs::symlink(dir.join("index.html"), dir.join("abs")).unwrap(),
            "\"abs\": it links to /",
            "make it a relative link",
        ),
        (
            "a fifo",
            |dir| {
                nix::unistd::mkfifo(&dir.join("assets/pipe"), nix::sys::stat::Mode::S_IRWXU)
                    .unwrap();
            },
            "\"assets/pipe\": it is a fifo; no load would accept it",
            "remove it from the folder",
        ),
        (
            "a socket",
            |dir| {
                let listener = std::os::unix::net::UnixListener::bind(dir.join("sock")).unwrap();
                std::mem::forget(listener);
            },
            "\"sock\": it is a socket",
            "remove it from the folder",
        ),
    ];
    for target in all_targets("refuse-links") {
        for (what, plant, says, fix) in &cases {
            let (settings, store, _work, source) = scene(&target, "v1", what).await;
            plant(&source);
            let error = upload(&store, &settings, &source, &Captured::default().log())
                .await
                .unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, ArtifactError::CannotPack { .. })
                    && message.contains(says)
                    && message.contains(fix),
                "{} / {what}: {message}",
                target.name
            );
            assert_eq!(keys(&store).await, Vec::<String>::new(), "{what}");
            if let Some(dir) = &target.dir {
                let store_dir = dir.path().join("store");
                let left: Vec<_> = std::fs::read_dir(&store_dir)
                    .map(|entries| entries.flatten().map(|entry| entry.file_name()).collect())
                    .unwrap_or_default();
                assert!(left.is_empty(), "{what}: {left:?} left in the store");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hard_link_to_a_file_outside_is_stored_as_a_copy_that_loads() {
    let target = file_target();
    let (settings, store, work, source) = scene(&target, "v1", "hard").await;
    let outside = work.path().join("outside.txt");
    std::fs::write(&outside, "outside").unwrap();
    std::fs::hard_link(&outside, source.join("copy.txt")).unwrap();
    upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap();
    let dest = work.path().join("loaded");
    load(&store, &settings, &dest, &Captured::default().log(), far())
        .await
        .unwrap();
    assert_eq!(snapshot(&dest), snapshot(&source));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_changes_during_the_upload_fails_it_naming_the_file_and_nothing_is_stored() {
    for target in all_targets("changing") {
        for growing in [true, false] {
            let (settings, store, _work, source) = scene(&target, "v1", "changing").await;
            let path = source.join("assets/log.txt");
            std::fs::write(&path, vec![b'x'; 64 << 20]).unwrap();
            let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            // A background job still writing into the folder: appending, or truncating.
            let writer = {
                let (path, done) = (path.clone(), std::sync::Arc::clone(&done));
                std::thread::spawn(move || {
                    let mut size = 64u64 << 20;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        size = if growing {
                            size + 4096
                        } else {
                            size.saturating_sub(4096)
                        };
                        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                        file.set_len(size).unwrap();
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
            };
            let started = Instant::now();
            let result = upload(&store, &settings, &source, &Captured::default().log()).await;
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            writer.join().unwrap();
            let message = result.unwrap_err().to_string();
            assert!(
                message.contains("\"assets/log.txt\" changed while it was being archived")
                    && message.contains("has finished writing before it exits"),
                "{}: {message}",
                target.name
            );
            assert!(started.elapsed() < Duration::from_mins(1));
            assert_eq!(keys(&store).await, Vec::<String>::new(), "{}", target.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_objects_in_the_store_are_skipped_with_a_warning_and_never_fail_a_publish() {
    for target in all_targets("strays") {
        let (first, store, _work, source) = scene(&target, "v1", "strays").await;
        let log = Captured::default();
        upload(&store, &first, &source, &log.log()).await.unwrap();
        publish(&store, &first, &log.log()).await.unwrap();
        let v1_key = manifest_key(&ReleaseId::new("v1").unwrap());
        let manifest = store.get_small(&v1_key).await.unwrap().unwrap();
        let strays: [(&str, &[u8]); 4] = [
            ("release-notes.json", b"{\"notes\": \"hello\"}"),
            ("release-v9.json", &manifest),
            ("release-readme.txt", b"hello"),
            (LATEST_KEY, b"{}"),
        ];
        for (key, bytes) in strays {
            store.put_small(key, bytes.to_vec()).await.unwrap();
        }
        let listing = list_releases(&store).await.unwrap();
        let skipped: Vec<_> = listing
            .skipped
            .iter()
            .map(|(key, _)| key.as_str())
            .collect();
        assert_eq!(
            skipped,
            [
                "latest.json",
                "release-notes.json",
                "release-readme.txt",
                "release-v9.json"
            ],
            "{}",
            target.name
        );
        assert_eq!(listing.releases.len(), 1);
        let id = ReleaseId::new("v1").unwrap();
        let prune_log = Captured::default();
        prune_releases(&store, 1, &id, &prune_log.log())
            .await
            .unwrap();
        assert!(
            prune_log.text().contains("Skipped ")
                && prune_log
                    .text()
                    .contains("release-notes.json: it is not a valid manifest"),
            "{}",
            prune_log.text()
        );

        // With STATIC_ARTIFACTS_KEEP, the next release publishes and prunes, leaving the strays.
        let next = settings(
            &target,
            &[("RELEASE_ID", "v2"), ("STATIC_ARTIFACTS_KEEP", "1")],
        );
        let next_store = next.open_store().await.unwrap();
        sample_tree(&source.with_file_name("v2"), "v2");
        upload(&next_store, &next, &source.with_file_name("v2"), &log.log())
            .await
            .unwrap();
        publish(&next_store, &next, &log.log()).await.unwrap();
        let listing = list_releases(&store).await.unwrap();
        assert_eq!(listing.latest.unwrap().as_str(), "v2");
        let left = keys(&store).await;
        for key in [
            "release-notes.json",
            "release-v9.json",
            "release-readme.txt",
        ] {
            assert!(left.iter().any(|left| left == key), "{key}: {left:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_uploads_of_one_release_at_once_leave_one_whole_and_the_other_fails() {
    // moto 5.2.5 checks If-None-Match, then writes, in two steps: two completions at the same
    // instant can both pass (as they could in s3s-fs, which our test server serializes). AWS S3
    // makes them one step. `an_object_created_only_once_refuses_a_second_creation` checks moto.
    let targets = all_targets("same-release")
        .into_iter()
        .filter(|target| target.name != "moto");
    for target in targets {
        for round in 0..3 {
            let id = format!("v{round}");
            let (settings, store, work, first) = scene(&target, &id, "first").await;
            let second = work.path().join("second");
            sample_tree(&second, "second");
            // Big enough for several parts on S3.
            for dir in [&first, &second] {
                std::fs::write(dir.join("big.bin"), fastrand_bytes(20 << 20)).unwrap();
            }
            let (log_one, log_two) = (Captured::default().log(), Captured::default().log());
            let (one, two) = tokio::join!(
                upload(&store, &settings, &first, &log_one),
                upload(&store, &settings, &second, &log_two),
            );
            let ok = [&one, &two].iter().filter(|result| result.is_ok()).count();
            let conflicts = [&one, &two]
                .iter()
                .filter(|result| matches!(result, Err(ArtifactError::Conflict { .. })))
                .count();
            assert!(
                ok == 1 && conflicts == 1,
                "{} round {round}: {one:?} / {two:?}",
                target.name
            );
            let release = ReleaseId::new(&id).unwrap();
            let verified = verify_release(&store, &release, &Captured::default().log(), far())
                .await
                .unwrap();
            let winner = one.as_ref().or(two.as_ref()).unwrap();
            assert_eq!(verified.sha256, winner.sha256);
        }
        // Identical content: both succeed, with one archive.
        let (settings, store, _work, source) = scene(&target, "same", "same").await;
        let (log_one, log_two) = (Captured::default().log(), Captured::default().log());
        let (one, two) = tokio::join!(
            upload(&store, &settings, &source, &log_one),
            upload(&store, &settings, &source, &log_two),
        );
        assert_eq!(one.unwrap().sha256, two.unwrap().sha256);
        let id = ReleaseId::new("same").unwrap();
        verify_release(&store, &id, &Captured::default().log(), far())
            .await
            .unwrap();
    }
}

fn fastrand_bytes(size: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::new();
    (0..size).map(|_| rng.u8(..)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prune_never_deletes_a_release_that_may_be_publishing_and_latest_always_loads() {
    for target in all_targets("prune-race") {
        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("static-artifacts");
        sample_tree(&source, "race");
        let store_of = |id: &str, keep: bool| {
            let mut extra = vec![("RELEASE_ID", id.to_string())];
            if keep {
                extra.push(("STATIC_ARTIFACTS_KEEP", "1".into()));
            }
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            settings(&target, &extra)
        };
        // v1 uploads and is still running its release commands when v2 publishes with KEEP=1.
        for id in ["v1", "v2"] {
            let settings = store_of(id, false);
            let store = settings.open_store().await.unwrap();
            upload(&store, &settings, &source, &Captured::default().log())
                .await
                .unwrap();
        }
        let newer = store_of("v2", true);
        let store = newer.open_store().await.unwrap();
        publish(&store, &newer, &Captured::default().log())
            .await
            .unwrap();
        // Then v1 publishes: its archive is still there, and it loads as the latest.
        let older = store_of("v1", false);
        publish(&store, &older, &Captured::default().log())
            .await
            .unwrap();
        let dest = work.path().join("loaded");
        let loaded = load(
            &store,
            &store_of("v9", false),
            &dest,
            &Captured::default().log(),
            far(),
        )
        .await
        .unwrap();
        assert_eq!(loaded.release_id.as_str(), "v1", "{}", target.name);

        // A published release, pruned since, cannot be published again: latest.json is left
        // naming a release that loads.
        let v3 = store_of("v3", true);
        upload(&store, &v3, &source, &Captured::default().log())
            .await
            .unwrap();
        publish(&store, &v3, &Captured::default().log())
            .await
            .unwrap();
        let error = publish(&store, &older, &Captured::default().log())
            .await
            .unwrap_err();
        assert!(
            matches!(error, ArtifactError::NoArtifacts(_)),
            "{}: {error}",
            target.name
        );
        let listing = list_releases(&store).await.unwrap();
        assert_eq!(listing.latest.unwrap().as_str(), "v3");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_refuses_folders_it_must_not_replace_before_touching_anything() {
    let target = file_target();
    let (settings, store, work, source) = scene(&target, "v1", "target").await;
    upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap();
    let store_dir = target.dir.as_ref().unwrap().path().join("store");
    let file = work.path().join("a-file");
    std::fs::write(&file, "mine").unwrap();
    let cases = [
        (store_dir.clone(), "it is the store of STATIC_ARTIFACTS_URL"),
        (
            target.dir.as_ref().unwrap().path().to_path_buf(),
            "it holds the store of STATIC_ARTIFACTS_URL",
        ),
        (Path::new("/").to_path_buf(), "it holds"),
        (file.clone(), "it exists and is not a folder"),
    ];
    let before = snapshot(target.dir.as_ref().unwrap().path());
    for (dir, says) in cases {
        let error = load(&store, &settings, &dir, &Captured::default().log(), far())
            .await
            .unwrap_err();
        assert!(
            matches!(error, ArtifactError::Target { .. }) && error.to_string().contains(says),
            "{}: {error}",
            dir.display()
        );
    }
    assert_eq!(snapshot(target.dir.as_ref().unwrap().path()), before);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    let beside: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".loading-"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_removes_staging_folders_that_no_live_load_holds() {
    let target = file_target();
    let (settings, store, work, source) = scene(&target, "v1", "stale").await;
    upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap();
    let dest = work.path().join("static-artifacts-loaded");
    // Left by a load that was killed: old, and nobody holds it.
    let stale = work
        .path()
        .join(".static-artifacts-loaded.loading-00000000deadbeef");
    std::fs::create_dir_all(stale.join("sub")).unwrap();
    std::fs::write(stale.join("sub/partial.bin"), vec![0; 4096]).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_mins(1);
    std::fs::File::open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    // Held by a live load (this test), also old: kept.
    let live = work
        .path()
        .join(".static-artifacts-loaded.loading-00000000cafebabe");
    std::fs::create_dir(&live).unwrap();
    let held = std::fs::File::open(&live).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    held.set_modified(old).unwrap();

    load(&store, &settings, &dest, &Captured::default().log(), far())
        .await
        .unwrap();
    assert!(
        !stale.exists(),
        "the leftover staging folder is still there"
    );
    assert!(
        live.exists(),
        "a staging folder a live load holds was removed"
    );
    assert_eq!(snapshot(&dest), snapshot(&source));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_latest_json_fails_the_fallback_saying_where_and_what_to_do() {
    for target in all_targets("bad-latest") {
        let (settings, store, work, _source) = scene(&target, "v2", "bad-latest").await;
        store.put_small(LATEST_KEY, b"{}".to_vec()).await.unwrap();
        let error = load(
            &store,
            &settings,
            &work.path().join("loaded"),
            &Captured::default().log(),
            far(),
        )
        .await
        .unwrap_err()
        .to_string();
        let location = store.location_of(LATEST_KEY);
        assert!(
            error.starts_with(&format!(
                "{location} is not a valid latest.json: missing field"
            )) && error
                .ends_with("Publish a release again (its release phase rewrites it), or delete it"),
            "{}: {error}",
            target.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_whose_manifest_cannot_be_written_leaves_no_archive() {
    let target = file_target();
    let (settings, store, _work, source) = scene(&target, "v1", "no-manifest").await;
    // A folder where the manifest goes: the archive is stored, the manifest cannot be.
    let store_dir = target.dir.as_ref().unwrap().path().join("store");
    std::fs::create_dir_all(store_dir.join("release-v1.json/in-the-way")).unwrap();
    let error = upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("release-v1.json"), "{error}");
    let left: Vec<_> = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["release-v1.json"], "no archive without its manifest");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_too_long_to_read_fails_the_upload_naming_it_and_what_to_do() {
    let target = file_target();
    let (settings, store, _work, source) = scene(&target, "v1", "long").await;
    // 25 folders of 200 characters: past PATH_MAX (4096) from the folder's own path.
    let name = "n".repeat(200);
    let mut folder = rustix::fs::open(
        &source,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    for _ in 0..25 {
        rustix::fs::mkdirat(&folder, name.as_str(), rustix::fs::Mode::RWXU).unwrap();
        folder = rustix::fs::openat(
            &folder,
            name.as_str(),
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
    }
    let error = upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("couldn't read \"{}", "n".repeat(100)))
            && error.contains("File name too long")
            && error.ends_with("Shorten its name or its path"),
        "{error}"
    );
    assert_eq!(keys(&store).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mount_point_is_refused_as_the_load_folder_saying_what_to_do() {
    let target = file_target();
    let (settings, store, work, source) = scene(&target, "v1", "mount").await;
    upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap();
    let dest = work.path().join("volume");
    std::fs::create_dir(&dest).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&dest)
        .status();
    if !mounted.is_ok_and(|status| status.success()) {
        eprintln!("skipped: this machine does not let the tests mount a tmpfs");
        return;
    }
    std::fs::write(dest.join("mine.txt"), "mine").unwrap();
    let result = load(&store, &settings, &dest, &Captured::default().log(), far()).await;
    let kept = std::fs::read_to_string(dest.join("mine.txt"));
    let _ = std::process::Command::new("umount").arg(&dest).status();
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("it is a mount point")
            && error.contains("Load into a folder inside the volume instead"),
        "{error}"
    );
    assert_eq!(kept.unwrap(), "mine");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_created_only_once_refuses_a_second_creation() {
    for target in all_targets("create-once") {
        let (_settings, store, _work, _source) = scene(&target, "v1", "once").await;
        for (key, size) in [("small", 1024), ("large", 20 << 20)] {
            for attempt in 0..2 {
                let (sender, chunks) = tokio::sync::mpsc::channel(1);
                let feed = tokio::spawn(async move {
                    let data = bytes::Bytes::from(fastrand_bytes(size));
                    let mut start = 0;
                    while start < data.len() {
                        let end = (start + release_artifacts::CHUNK_SIZE).min(data.len());
                        sender.send(data.slice(start..end)).await.unwrap();
                        start = end;
                    }
                });
                let result = store
                    .upload_new(key, chunks, tokio::spawn(async { true }))
                    .await;
                feed.await.unwrap();
                match attempt {
                    0 => result.unwrap(),
                    _ => assert!(
                        matches!(result, Err(release_artifacts::StoreError::Exists { .. })),
                        "{} {key}: {result:?}",
                        target.name
                    ),
                }
            }
        }
    }
}
