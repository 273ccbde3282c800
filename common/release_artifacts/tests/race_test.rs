//! Races and load: concurrent publishers, many loaders at once, and a store with 2,000
//! releases (with the number of store requests each operation needs, counted by a proxy).

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::manifest::{archive_key, manifest_key};
use release_artifacts::{
    Compression, Latest, Manifest, ReleaseId, Settings, list_releases, prune_releases,
    verify_release,
};
use std::path::{Path, PathBuf};
use support::{Captured, far, load, publish, sample_tree, snapshot, upload};
use test_servers::fault_proxy::FaultProxy;
use test_servers::s3_server::{S3Server, S3Target, unique_prefix};

mod support;

fn settings_for(vars: &[(String, String)], id: &str, extra: &[(&str, &str)]) -> Settings {
    let mut vars = vars.to_vec();
    vars.push(("RELEASE_ID".into(), id.into()));
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    );
    Settings::from_vars(
        move |name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        },
        Path::new("/nonexistent/release_id"),
    )
    .unwrap()
}

/// A store for a test: its name, its settings, and the folder a `file://` store lives in.
type TestStore = (&'static str, Vec<(String, String)>, tempfile::TempDir);

/// Every store kind: a `file://` folder, s3s-fs, and moto when CI started it.
fn stores(server: &S3Server, test: &str) -> Vec<TestStore> {
    let folder = tempfile::tempdir().unwrap();
    let mut list = vec![(
        "file",
        vec![(
            "STATIC_ARTIFACTS_URL".to_string(),
            format!("file://{}/store", folder.path().display()),
        )],
        folder,
    )];
    let mut s3 = vec![S3Target::of(server)];
    s3.extend(S3Target::moto());
    for target in s3 {
        list.push((
            target.name,
            target.env(&unique_prefix(test)),
            tempfile::tempdir().unwrap(),
        ));
    }
    list
}

#[tokio::test(flavor = "multi_thread")]
async fn two_releases_publishing_to_one_store_at_once_both_stay_whole() {
    let server = S3Server::start().unwrap();
    for (name, vars, _folder) in stores(&server, "concurrent-publish") {
        let work = tempfile::tempdir().unwrap();
        for round in 0..3 {
            let ids = [format!("a{round}"), format!("b{round}")];
            let mut publishers = tokio::task::JoinSet::new();
            for id in &ids {
                let settings = settings_for(&vars, id, &[]);
                let source = work.path().join(id);
                sample_tree(&source, id);
                publishers.spawn(async move {
                    let store = settings.open_store().await.unwrap();
                    let log = Captured::default().log();
                    upload(&store, &settings, &source, &log).await.unwrap();
                    publish(&store, &settings, &log).await.unwrap();
                });
            }
            while let Some(done) = publishers.join_next().await {
                done.unwrap();
            }
            let store = settings_for(&vars, &ids[0], &[])
                .open_store()
                .await
                .unwrap();
            for id in &ids {
                let id = ReleaseId::new(id).unwrap();
                verify_release(&store, &id, &Captured::default().log(), far())
                    .await
                    .unwrap_or_else(|error| panic!("{name}: {id} is not whole: {error}"));
            }
            let latest = store
                .get_small(release_artifacts::manifest::LATEST_KEY)
                .await
                .unwrap();
            let latest = Latest::parse(&latest.unwrap()).unwrap();
            let named = latest.id().unwrap().to_string();
            assert!(ids.contains(&named), "{name}: latest.json names {named}");
            // And that release loads as the latest.
            let settings = settings_for(&vars, "no-artifacts", &[]);
            let dest = work.path().join(format!("loaded-{round}"));
            let loaded = load(&store, &settings, &dest, &Captured::default().log(), far())
                .await
                .unwrap();
            assert_eq!(loaded.release_id.as_str(), named, "{name}");
            assert_eq!(
                snapshot(&dest),
                snapshot(&work.path().join(&named)),
                "{name}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_loaders_of_one_release_at_once_all_get_it_whole() {
    let server = S3Server::start().unwrap();
    for (name, vars, _folder) in stores(&server, "sixteen-loaders") {
        let work = tempfile::tempdir().unwrap();
        let source = work.path().join("static-artifacts");
        sample_tree(&source, "sixteen");
        let mut random = fastrand::Rng::with_seed(1);
        let noise: Vec<u8> = (0..(6 << 20)).map(|_| random.u8(..)).collect();
        std::fs::write(source.join("noise.bin"), noise).unwrap();
        let settings = settings_for(&vars, "v1", &[]);
        let store = settings.open_store().await.unwrap();
        upload(&store, &settings, &source, &Captured::default().log())
            .await
            .unwrap();
        let expected = snapshot(&source);

        // Sixteen dynos, each its own folder.
        let mut loaders = tokio::task::JoinSet::new();
        for n in 0..16 {
            let (store, settings) = (store.clone(), settings.clone());
            let dest = work.path().join(format!("dyno-{n}/static-artifacts"));
            loaders.spawn(async move {
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                load(&store, &settings, &dest, &Captured::default().log(), far())
                    .await
                    .map(|_| dest)
            });
        }
        while let Some(done) = loaders.join_next().await {
            let dest = done
                .unwrap()
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(snapshot(&dest), expected, "{name}: {}", dest.display());
        }

        // Eight loads into one folder at once (a restart storm): whichever swap comes last,
        // the folder holds the release whole, and no staging folder is left.
        let shared = work.path().join("shared/static-artifacts");
        std::fs::create_dir_all(shared.parent().unwrap()).unwrap();
        let mut loaders = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (store, settings, shared) = (store.clone(), settings.clone(), shared.clone());
            loaders.spawn(async move {
                load(
                    &store,
                    &settings,
                    &shared,
                    &Captured::default().log(),
                    far(),
                )
                .await
            });
        }
        while let Some(done) = loaders.join_next().await {
            done.unwrap()
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        assert_eq!(snapshot(&shared), expected, "{name}");
        let left: Vec<PathBuf> = std::fs::read_dir(shared.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(
            left,
            std::slice::from_ref(&shared),
            "{name}: no staging folder is left"
        );
    }
}

/// A manifest for a release stored as `archive` (written in the bucket's folder directly).
fn manifest_of(id: &ReleaseId, created_at_ms: u64, archive: &[u8]) -> Manifest {
    use sha2::Digest;
    use std::fmt::Write as _;
    Manifest {
        release_id: id.to_string(),
        archive_key: archive_key(id, Compression::Zstd),
        format: Compression::Zstd,
        size: archive.len() as u64,
        // digest 0.11's output has no `LowerHex`: two hex digits a byte.
        sha256: sha2::Sha256::digest(archive)
            .iter()
            .fold(String::new(), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            }),
        file_count: 1,
        unpacked_size: 5,
        created_at_ms,
        published_at_ms: Some(created_at_ms),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_two_thousand_releases_listing_pruning_and_latest_stay_correct() {
    let server = S3Server::start().unwrap();
    let proxy = FaultProxy::start(server.endpoint()).unwrap();
    let mut vars = S3Target::of(&server).env("many");
    for (name, value) in &mut vars {
        if name == "STATIC_ARTIFACTS_ENDPOINT" {
            *value = proxy.endpoint();
        }
    }
    // 2,000 releases, written straight into the server's folder (the test is about reading
    // them back): one small real archive, stored under every release's key.
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    std::fs::create_dir(&source).unwrap();
    std::fs::write(source.join("index.html"), "hello").unwrap();
    let (_, archive) = release_artifacts::pack(&source, Compression::Zstd, Vec::new()).unwrap();
    let folder = server.bucket_dir("artifacts").join("many");
    std::fs::create_dir_all(&folder).unwrap();
    for n in 0..2_000u64 {
        let id = ReleaseId::new(&format!("r{n:04}")).unwrap();
        std::fs::write(folder.join(archive_key(&id, Compression::Zstd)), &archive).unwrap();
        let manifest = manifest_of(&id, 1_000_000 + n, &archive);
        std::fs::write(folder.join(manifest_key(&id)), manifest.to_json()).unwrap();
    }

    // Publishing one more release makes it the latest.
    let settings = settings_for(&vars, "r2000", &[]);
    let store = settings.open_store().await.unwrap();
    let log = Captured::default().log();
    upload(&store, &settings, &source, &log).await.unwrap();
    publish(&store, &settings, &log).await.unwrap();

    let before = proxy.requests();
    let listing = list_releases(&store).await.unwrap();
    let listing_requests = proxy.requests() - before;
    assert_eq!(listing.releases.len(), 2_001);
    assert_eq!(
        listing.latest.as_ref().map(ReleaseId::as_str),
        Some("r2000")
    );
    assert_eq!(
        listing.releases.last().unwrap().release_id,
        "r2000",
        "newest last"
    );
    assert!(listing.bare_archives.is_empty());

    // A release without its own artifacts loads the latest: a handful of requests.
    let before = proxy.requests();
    let dest = work.path().join("loaded");
    let without_artifacts = settings_for(&vars, "r9999", &[]);
    let loaded = load(&store, &without_artifacts, &dest, &log, far())
        .await
        .unwrap();
    let latest_requests = proxy.requests() - before;
    assert_eq!(loaded.release_id.as_str(), "r2000");
    assert_eq!(snapshot(&dest), snapshot(&source));

    let before = proxy.requests();
    let deleted = prune_releases(
        &store,
        10,
        &ReleaseId::new("r2000").unwrap(),
        &Captured::default().log(),
    )
    .await
    .unwrap();
    let prune_requests = proxy.requests() - before;
    assert_eq!(deleted.len(), 1_991);
    let listing = list_releases(&store).await.unwrap();
    let kept: Vec<&str> = listing
        .releases
        .iter()
        .map(|m| m.release_id.as_str())
        .collect();
    let expected: Vec<String> = (1_991..=2_000).map(|n| format!("r{n:04}")).collect();
    assert_eq!(
        kept, expected,
        "the 10 newest are kept, the latest among them"
    );
    let files = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(
        files,
        10 * 2 + 1,
        "10 archives, 10 manifests and latest.json remain"
    );

    eprintln!(
        "2,001 releases: list {listing_requests} requests, load of the latest {latest_requests}, prune to 10 {prune_requests}"
    );
    // Listing reads every manifest (one GET each) after a few listing pages; pruning reads
    // latest.json once more, then deletes three objects per release it removes (its manifest,
    // its archive and its release record, whether or not the release phase left one).
    assert!(listing_requests <= 2_001 + 10, "{listing_requests}");
    assert!(latest_requests <= 6, "{latest_requests}");
    assert!(prune_requests <= 2_001 + 11 + 3 * 1_991, "{prune_requests}");
}
