//! Upload, load, publish, prune, list, verify and promote against every kind of store: a
//! `file://` folder, s3s-fs on loopback, and moto when CI started it. No mocks.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::manifest::{archive_key, manifest_key};
use release_artifacts::{
    ArtifactError, Compression, Log, Manifest, ReleaseId, list_releases, promote_release,
    prune_releases, verify_release, write_record,
};
use std::time::{Duration, Instant};
use support::{
    Captured, Target, all_targets, far, file_target, load, publish, s3_targets, s3s, sample_tree,
    scene, settings, snapshot, upload,
};
use test_servers::s3_server::{S3Target, unique_prefix};

mod support;

#[tokio::test(flavor = "multi_thread")]
async fn round_trip_keeps_every_file_link_and_mode_with_zstd_and_gzip() {
    for target in all_targets("round-trip") {
        for (index, compression) in ["zstd", "gzip"].into_iter().enumerate() {
            let id = format!("v{index}");
            let settings = settings(
                &target,
                &[
                    ("RELEASE_ID", &id),
                    ("STATIC_ARTIFACTS_COMPRESSION", compression),
                ],
            );
            let store = settings.open_store().await.unwrap();
            let work = tempfile::tempdir().unwrap();
            let source = work.path().join("static-artifacts");
            sample_tree(&source, compression);
            let captured = Captured::default();
            let manifest = upload(&store, &settings, &source, &captured.log())
                .await
                .unwrap();
            assert_eq!(manifest.file_count, 8, "{}", target.name);
            assert_eq!(
                manifest.archive_key,
                format!(
                    "release-{id}.{}",
                    if index == 0 { "tar.zst" } else { "tgz" }
                )
            );
            assert!(
                captured
                    .text()
                    .contains(&format!("Uploaded release {id}: ")),
                "{}",
                captured.text()
            );

            let dest = work.path().join("loaded");
            std::fs::create_dir(&dest).unwrap();
            std::fs::write(dest.join("stale.txt"), "old").unwrap();
            let loaded = load(&store, &settings, &dest, &captured.log(), far())
                .await
                .unwrap();
            assert_eq!(loaded.release_id.as_str(), id);
            assert!(
                loaded.location.ends_with(&manifest.archive_key),
                "{}",
                loaded.location
            );
            assert_eq!(
                snapshot(&dest),
                snapshot(&source),
                "{} {compression}",
                target.name
            );
            let leftovers: Vec<_> = std::fs::read_dir(work.path())
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect();
            assert_eq!(
                leftovers.len(),
                2,
                "only the source and the loaded folder remain: {leftovers:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn large_archives_go_in_several_parts_and_come_back_identical() {
    for target in all_targets("multipart") {
        let settings = settings(&target, &[("RELEASE_ID", "big")]);
        let store = settings.open_store().await.unwrap();
        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("static-artifacts");
        std::fs::create_dir(&source).unwrap();
        // Incompressible: the archive spans three chunks.
        let mut random = fastrand::Rng::with_seed(7);
        let noise: Vec<u8> = (0..(2 * release_artifacts::CHUNK_SIZE + 1024))
            .map(|_| random.u8(..))
            .collect();
        std::fs::write(source.join("noise.bin"), &noise).unwrap();
        let log = Captured::default();
        let progress_log = Log::new(log.clone(), Duration::from_millis(10));
        let manifest = upload(&store, &settings, &source, &progress_log)
            .await
            .unwrap();
        assert!(
            log.text().lines().any(|line| line.starts_with("Uploaded ")
                && !line.starts_with("Uploaded release")
                && line.ends_with(" MiB/s")),
            "progress lines while uploading: {}",
            log.text()
        );
        assert!(
            manifest.size > 2 * release_artifacts::CHUNK_SIZE as u64,
            "{}",
            manifest.size
        );
        let dest = work.path().join("loaded");
        load(&store, &settings, &dest, &log.log(), far())
            .await
            .unwrap();
        assert!(
            std::fs::read(dest.join("noise.bin")).unwrap() == noise,
            "{}",
            target.name
        );
        let objects = store.list("").await.unwrap();
        let keys: Vec<_> = objects.iter().map(|object| object.key.as_str()).collect();
        assert_eq!(
            keys,
            ["release-big.json", "release-big.tar.zst"],
            "{}: nothing else left in the store",
            target.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn re_uploads_are_skipped_when_identical_and_refused_once_published() {
    for target in all_targets("idempotent") {
        let (settings, store, _work, source) = scene(&target, "v1", "same").await;
        let first = upload(&store, &settings, &source, &Captured::default().log())
            .await
            .unwrap();
        let log = Captured::default();
        let again = upload(&store, &settings, &source, &log.log())
            .await
            .unwrap();
        assert_eq!(again, first);
        assert!(
            log.text().contains(
                "Release v1's static artifacts are already stored with the same digest at "
            ),
            "{}",
            log.text()
        );

        // A retried release phase (never published) may replace its artifacts, with a warning.
        std::fs::write(source.join("index.html"), "rebuilt").unwrap();
        let log = Captured::default();
        let replaced = upload(&store, &settings, &source, &log.log())
            .await
            .unwrap();
        assert_ne!(replaced.sha256, first.sha256);
        assert!(
            log.text().contains("WARNING: Replacing release v1's static artifacts from an earlier release phase that did not complete (never published)."),
            "{}",
            log.text()
        );

        // Once published, they are never replaced.
        publish(&store, &settings, &Captured::default().log())
            .await
            .unwrap();
        std::fs::write(source.join("index.html"), "changed after publishing").unwrap();
        let error = upload(&store, &settings, &source, &Captured::default().log())
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(
                "Release v1 was published with other static artifacts (another digest) at "
            ),
            "{message}"
        );
        assert!(
            message.ends_with(
                "Published artifacts are never replaced: release with a new RELEASE_ID."
            ),
            "{message}"
        );
        let manifest = store
            .get_small(&manifest_key(&ReleaseId::new("v1").unwrap()))
            .await
            .unwrap()
            .unwrap();
        let stored = Manifest::parse(&manifest, "m", None).unwrap();
        assert_eq!(
            stored.sha256, replaced.sha256,
            "the published release is untouched"
        );
        assert!(stored.published_at_ms.is_some());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_its_own_artifacts_a_release_loads_the_latest_or_fails() {
    for target in all_targets("fallback") {
        let v1 = settings(&target, &[("RELEASE_ID", "v1")]);
        let store = v1.open_store().await.unwrap();
        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("static-artifacts");
        sample_tree(&source, "v1");
        let dest = work.path().join("loaded");

        // Nothing published yet.
        let v2 = settings(&target, &[("RELEASE_ID", "v2")]);
        let error = load(&store, &v2, &dest, &Captured::default().log(), far())
            .await
            .unwrap_err();
        assert!(matches!(error, ArtifactError::NoArtifacts(_)), "{error}");
        assert!(
            error
                .to_string()
                .contains("and no release was published yet (latest.json does not exist)"),
            "{error}"
        );

        upload(&store, &v1, &source, &Captured::default().log())
            .await
            .unwrap();
        publish(&store, &v1, &Captured::default().log())
            .await
            .unwrap();

        let log = Captured::default();
        let loaded = load(&store, &v2, &dest, &log.log(), far()).await.unwrap();
        assert_eq!(loaded.release_id.as_str(), "v1");
        assert!(
            log.text().contains("WARNING: Release v2 has no static artifacts of its own. Loading those of the latest published release, v1, instead (STATIC_ARTIFACTS_FALLBACK=latest)."),
            "{}",
            log.text()
        );
        assert_eq!(snapshot(&dest), snapshot(&source));

        let strict = settings(
            &target,
            &[("RELEASE_ID", "v2"), ("STATIC_ARTIFACTS_FALLBACK", "none")],
        );
        let error = load(&store, &strict, &dest, &Captured::default().log(), far())
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("Release v2 has no static artifacts in "),
            "{message}"
        );
        assert!(
            message.contains("and STATIC_ARTIFACTS_FALLBACK=none."),
            "{message}"
        );
        assert_eq!(
            snapshot(&dest),
            snapshot(&source),
            "a failed load leaves the folder as it was"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_tgz_of_earlier_tools_loads_without_manifest() {
    for target in all_targets("legacy") {
        let (settings, store, work, source) = scene(&target, "old-1", "legacy").await;
        let (_, archive) = release_artifacts::pack(&source, Compression::Gzip, Vec::new()).unwrap();
        store.put_small("release-old-1.tgz", archive).await.unwrap();
        let dest = work.path().join("loaded");
        let loaded = load(&store, &settings, &dest, &Captured::default().log(), far())
            .await
            .unwrap();
        assert!(loaded.location.ends_with("release-old-1.tgz"));
        assert_eq!(snapshot(&dest), snapshot(&source), "{}", target.name);
    }
}

fn tiny_manifest(id: &str) -> Vec<u8> {
    let id = ReleaseId::new(id).unwrap();
    Manifest {
        release_id: id.to_string(),
        archive_key: archive_key(&id, Compression::Zstd),
        format: Compression::Zstd,
        size: 1,
        sha256: "0".repeat(64),
        file_count: 1,
        unpacked_size: 1,
        created_at_ms: 1,
        published_at_ms: None,
    }
    .to_json()
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_follows_pagination_past_1000_keys() {
    for target in all_targets("pagination") {
        let settings = settings(&target, &[]);
        let store = settings.open_store().await.unwrap();
        let ids: Vec<String> = (0..1_050).map(|n| format!("r{n:05}")).collect();
        let mut puts = tokio::task::JoinSet::new();
        for chunk in ids.chunks(105) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            puts.spawn(async move {
                for id in chunk {
                    store
                        .put_small(&format!("release-{id}.json"), tiny_manifest(&id))
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = puts.join_next().await {
            done.unwrap();
        }
        let listing = list_releases(&store).await.unwrap();
        assert_eq!(listing.releases.len(), 1_050, "{}", target.name);
        assert_eq!(store.list("release-").await.unwrap().len(), 1_050);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_with_keep_prunes_old_releases_and_their_records_but_never_the_latest() {
    for target in all_targets("prune") {
        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("static-artifacts");
        sample_tree(&source, "prune");
        for n in 1..=5 {
            let id = format!("v{n}");
            let settings = settings(&target, &[("RELEASE_ID", &id)]);
            let store = settings.open_store().await.unwrap();
            upload(&store, &settings, &source, &Captured::default().log())
                .await
                .unwrap();
            let record = release_commands::PhaseRecord {
                release_id: String::new(),
                started_at_ms: 1,
                ended_at_ms: None,
                outcome: release_commands::PhaseOutcome::Running,
                exit_status: None,
                reason: None,
                steps: vec![],
            };
            write_record(&store, &ReleaseId::new(&id).unwrap(), &record)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // v1..v3 are published (an unpublished release is spared for a day: it may be in its
        // release phase), v2 last.
        for id in ["v1", "v3", "v2"] {
            let settings = settings(&target, &[("RELEASE_ID", id)]);
            let store = settings.open_store().await.unwrap();
            publish(&store, &settings, &Captured::default().log())
                .await
                .unwrap();
        }
        // v2 is latest; publishing v4 with KEEP=1 keeps v5 (newer: may be publishing), v4 (being
        // published; it becomes latest), and deletes v1..v3 but not... v2 is no longer latest
        // once v4 is published, so it goes too.
        let settings = settings(
            &target,
            &[("RELEASE_ID", "v4"), ("STATIC_ARTIFACTS_KEEP", "1")],
        );
        let store = settings.open_store().await.unwrap();
        let log = Captured::default();
        publish(&store, &settings, &log.log()).await.unwrap();
        let listing = list_releases(&store).await.unwrap();
        let left: Vec<_> = listing
            .releases
            .iter()
            .map(|m| m.release_id.as_str())
            .collect();
        assert_eq!(left, ["v4", "v5"], "{}: {}", target.name, log.text());
        assert_eq!(listing.latest.unwrap().as_str(), "v4");
        assert!(
            log.text()
                .contains("Pruned 3 releases (STATIC_ARTIFACTS_KEEP=1): v3, v2, v1"),
            "{}",
            log.text()
        );
        let keys: Vec<_> = store
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(
            keys,
            [
                "latest.json",
                "release-v4.json",
                "release-v4.phase.json",
                "release-v4.tar.zst",
                "release-v5.json",
                "release-v5.phase.json",
                "release-v5.tar.zst"
            ],
            "a pruned release's record goes with it"
        );

        // Pruning by hand never removes the latest either.
        let deleted = prune_releases(
            &store,
            1,
            &ReleaseId::new("v5").unwrap(),
            &Captured::default().log(),
        )
        .await
        .unwrap();
        assert!(deleted.is_empty(), "{deleted:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_a_corrupt_archive_and_loading_it_changes_nothing() {
    let target = file_target();
    let settings = settings(&target, &[("RELEASE_ID", "v1")]);
    let store = settings.open_store().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    sample_tree(&source, "verify");
    upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap();
    let id = ReleaseId::new("v1").unwrap();
    let log = Captured::default();
    verify_release(&store, &id, &log.log(), far())
        .await
        .unwrap();
    assert!(
        log.text().contains("Release v1 verified: "),
        "{}",
        log.text()
    );

    let archive = target
        .dir
        .as_ref()
        .unwrap()
        .path()
        .join("store/release-v1.tar.zst");
    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let error = verify_release(&store, &id, &Captured::default().log(), far())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("release-v1.tar.zst"), "{error}");

    let dest = work.path().join("loaded");
    sample_tree(&dest, "previous");
    let before = snapshot(&dest);
    let error = load(&store, &settings, &dest, &Captured::default().log(), far())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ArtifactError::Mismatch { .. } | ArtifactError::Extract { .. }
        ),
        "{error}"
    );
    assert_eq!(snapshot(&dest), before, "the folder is exactly as it was");
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_copies_a_release_to_another_store() {
    let from = file_target();
    for to in s3_targets("promote") {
        let settings = settings(&from, &[("RELEASE_ID", "rc-1")]);
        let source_store = settings.open_store().await.unwrap();
        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("static-artifacts");
        sample_tree(&source, "promote");
        let _ = upload(
            &source_store,
            &settings,
            &source,
            &Captured::default().log(),
        )
        .await;
        let target_settings = self::settings(&to, &[("RELEASE_ID", "rc-1")]);
        let target_store = target_settings.open_store().await.unwrap();
        let id = ReleaseId::new("rc-1").unwrap();
        let log = Captured::default();
        let manifest = promote_release(&source_store, &target_store, &id, &log.log())
            .await
            .unwrap();
        assert!(
            log.text().contains("Promoted release rc-1 from file://"),
            "{}",
            log.text()
        );
        let again = promote_release(
            &source_store,
            &target_store,
            &id,
            &Captured::default().log(),
        )
        .await
        .unwrap();
        assert_eq!(again, manifest);
        let dest = work.path().join("loaded");
        load(
            &target_store,
            &target_settings,
            &dest,
            &Captured::default().log(),
            far(),
        )
        .await
        .unwrap();
        assert_eq!(snapshot(&dest), snapshot(&source), "{}", to.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn promoting_a_corrupt_archive_fails_on_its_digest_and_leaves_nothing_in_the_target() {
    let from = file_target();
    let settings = settings(&from, &[("RELEASE_ID", "rc-2")]);
    let source_store = settings.open_store().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    sample_tree(&source, "corrupt promote");
    upload(
        &source_store,
        &settings,
        &source,
        &Captured::default().log(),
    )
    .await
    .unwrap();
    // Same size, other bytes: only the digest can tell.
    let archive = from
        .dir
        .as_ref()
        .unwrap()
        .path()
        .join("store/release-rc-2.tar.zst");
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let id = ReleaseId::new("rc-2").unwrap();
    for to in all_targets("promote-corrupt") {
        let target_store = self::settings(&to, &[("RELEASE_ID", "rc-2")])
            .open_store()
            .await
            .unwrap();
        let error = promote_release(
            &source_store,
            &target_store,
            &id,
            &Captured::default().log(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                error,
                ArtifactError::Mismatch {
                    what: "SHA-256",
                    ..
                }
            ),
            "{}: {error}",
            to.name
        );
        let message = error.to_string();
        assert!(
            message.contains("release-rc-2.tar.zst is corrupt: its SHA-256 is "),
            "{}: {message}",
            to.name
        );
        let left: Vec<String> = target_store
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|object| object.key)
            .collect();
        assert!(left.is_empty(), "{}: nothing is stored: {left:?}", to.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_and_missing_buckets_fail_at_once_with_what_to_fix() {
    let mut s3 = vec![S3Target::of(s3s())];
    s3.extend(S3Target::moto());
    for target in s3 {
        let prefix = unique_prefix("credentials");
        let base = Target {
            name: target.name,
            vars: target.env(&prefix),
            dir: None,
        };
        let cases = [
            (
                vec![(
                    "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
                    "wrong-secret-0123456789abcdef",
                )],
                "the secret access key does not match the access key id",
                "Check STATIC_ARTIFACTS_SECRET_ACCESS_KEY.",
            ),
            (
                vec![("STATIC_ARTIFACTS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")],
                "the store does not know this access key id",
                "Check STATIC_ARTIFACTS_ACCESS_KEY_ID",
            ),
            (
                vec![("STATIC_ARTIFACTS_URL", "s3://no-such-bucket-here/x")],
                "the bucket no-such-bucket-here does not exist at ",
                "Check the bucket name in STATIC_ARTIFACTS_URL",
            ),
        ];
        for (overrides, problem, fix) in cases {
            let mut extra = overrides.clone();
            extra.push(("RELEASE_ID", "v1"));
            let settings = settings(&base, &extra);
            let store = settings.open_store().await.unwrap();
            let started = Instant::now();
            // s3s-fs reads and writes objects of a missing bucket as if it existed (it only
            // reports NoSuchBucket when listing); real S3 and moto refuse at preflight.
            let error = if target.name == "s3s-fs" && problem.contains("does not exist") {
                store
                    .list("")
                    .await
                    .map(|_| "listed")
                    .unwrap_err()
                    .to_string()
            } else {
                store
                    .preflight("release-v1.tar.zst")
                    .await
                    .map(|()| format!("{} {problem}: preflight passed", target.name))
                    .unwrap_err()
                    .to_string()
            };
            assert!(
                error.contains(problem) && error.contains(fix),
                "{}: {error}",
                target.name
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "permanent errors are not retried"
            );
            for secret in [
                target.secret_access_key.as_str(),
                "wrong-secret-0123456789abcdef",
            ] {
                assert!(!error.contains(secret), "no secret in messages: {error}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archive_whose_digest_differs_from_its_manifest_is_not_loaded() {
    for target in all_targets("digest") {
        let (settings, store, work, source) = scene(&target, "v1", "digest").await;
        let manifest = upload(&store, &settings, &source, &Captured::default().log())
            .await
            .unwrap();
        let tampered = Manifest {
            sha256: "ab".repeat(32),
            ..manifest.clone()
        };
        store
            .put_small("release-v1.json", tampered.to_json())
            .await
            .unwrap();
        let dest = work.path().join("loaded");
        sample_tree(&dest, "previous");
        let before = snapshot(&dest);
        let error = load(&store, &settings, &dest, &Captured::default().log(), far())
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("is corrupt: its SHA-256 is "),
            "{}: {message}",
            target.name
        );
        assert!(
            message.contains(&format!("but the manifest says {}", "ab".repeat(32))),
            "{message}"
        );
        assert_eq!(
            snapshot(&dest),
            before,
            "{}: the folder is exactly as it was",
            target.name
        );
        let names: Vec<_> = std::fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no staging folder left: {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn promoting_a_large_release_sends_parts_the_store_accepts() {
    // Sources hand over pieces smaller than S3's 5 MiB minimum part (1 MiB file reads, 2 MiB
    // ranges); the copy must still go up in parts S3 accepts.
    let source_targets = vec![file_target(), s3_targets("promote-large-from").remove(0)];
    for from in source_targets {
        for to in s3_targets("promote-large-to") {
            let (settings, source_store, work, source) = scene(&from, "big-1", "large").await;
            let mut random = fastrand::Rng::with_seed(11);
            let noise: Vec<u8> = (0..(2 * release_artifacts::CHUNK_SIZE + 4096))
                .map(|_| random.u8(..))
                .collect();
            std::fs::write(source.join("noise.bin"), &noise).unwrap();
            upload(
                &source_store,
                &settings,
                &source,
                &Captured::default().log(),
            )
            .await
            .unwrap();
            let target_settings = self::settings(&to, &[("RELEASE_ID", "big-1")]);
            let target_store = target_settings.open_store().await.unwrap();
            let id = ReleaseId::new("big-1").unwrap();
            promote_release(
                &source_store,
                &target_store,
                &id,
                &Captured::default().log(),
            )
            .await
            .unwrap_or_else(|error| panic!("{} -> {}: {error}", from.name, to.name));
            verify_release(&target_store, &id, &Captured::default().log(), far())
                .await
                .unwrap();
            let dest = work.path().join("loaded");
            load(
                &target_store,
                &target_settings,
                &dest,
                &Captured::default().log(),
                far(),
            )
            .await
            .unwrap();
            assert_eq!(
                snapshot(&dest),
                snapshot(&source),
                "{} -> {}",
                from.name,
                to.name
            );
        }
    }
}
