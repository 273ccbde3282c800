//! Adopting a store written by the earlier buildpack (v1.0.x): bare `release-<id>.tgz` archives,
//! no manifests, no `latest.json`.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::manifest::{LATEST_KEY, manifest_key};
use release_artifacts::{
    Adoption, Latest, ReleaseId, Store, adopt_releases, list_releases, verify_release,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};
use support::{Captured, Target, all_targets, far, load, sample_tree, settings, snapshot, upload};
use test_servers::fault_proxy::FaultProxy;
use test_servers::s3_server::{S3Target, unique_prefix};

mod support;

/// A gzipped tar of a small site for release `id`, laid out as `tar -C static-artifacts -czf
/// release-<id>.tgz .` lays it out: a `./` folder entry first, then `./`-relative paths.
fn legacy_archive(id: &str) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut add = |path: &str, kind: tar::EntryType, content: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_size(content.len() as u64);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append_data(&mut header, path, content).unwrap();
    };
    add("./", tar::EntryType::Directory, b"");
    add(
        "./index.html",
        tar::EntryType::Regular,
        format!("<h1>{id}</h1>").as_bytes(),
    );
    add("./assets/", tar::EntryType::Directory, b"");
    add(
        "./assets/app.css",
        tar::EntryType::Regular,
        b"body { margin: 0 }",
    );
    builder.into_inner().unwrap().finish().unwrap()
}

/// A gzipped tar whose one file climbs out of the folder it is extracted into.
fn escaping_archive() -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut header = tar::Header::new_old();
    let path = b"../escaped.txt";
    header.as_old_mut().name[..path.len()].copy_from_slice(path);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(3);
    header.set_cksum();
    builder.append(&header, &b"bad"[..]).unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

/// What a load of release `id`'s legacy archive must give.
fn expected_tree(id: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), format!("<h1>{id}</h1>")).unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.css"), "body { margin: 0 }").unwrap();
    dir
}

/// Every object of a store and its content, through the store itself.
async fn contents(store: &Store) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for object in store.list("").await.unwrap() {
        let bytes = store.get_small(&object.key).await.unwrap().unwrap();
        all.insert(object.key, bytes);
    }
    all
}

fn settings_for(target: &Target, id: &str) -> release_artifacts::Settings {
    settings(target, &[("RELEASE_ID", id)])
}

/// Loads the release `settings` name into `site/` of a new folder, as the web loader does.
async fn load_into_new_folder(
    store: &Store,
    settings: &release_artifacts::Settings,
) -> (tempfile::TempDir, release_artifacts::Loaded) {
    let work = tempfile::tempdir().unwrap();
    let log = Captured::default().log();
    let loaded = load(store, settings, &work.path().join("site"), &log, far())
        .await
        .unwrap();
    (work, loaded)
}

fn adopted_ids(adoption: &Adoption) -> Vec<&str> {
    adoption
        .adopted
        .iter()
        .map(|manifest| manifest.release_id.as_str())
        .collect()
}

/// Fills `store` as v1.0.x left it (archives only, `release-v3.tgz` the newest, written last:
/// S3 times are in seconds, `release-broken.tgz` not an archive, `release-escape.tgz` one with
/// a path out of its folder), plus a release `v5` of this
/// buildpack with a stray `release-v5.tgz` beside it; returns v5's manifest.
async fn fill_as_v1_left_it(target: &Target, store: &Store) -> release_artifacts::Manifest {
    for id in ["v2", "v1"] {
        store
            .put_small(&format!("release-{id}.tgz"), legacy_archive(id))
            .await
            .unwrap();
    }
    store
        .put_small("release-broken.tgz", b"not an archive at all".to_vec())
        .await
        .unwrap();
    store
        .put_small("release-escape.tgz", escaping_archive())
        .await
        .unwrap();
    // A release of this buildpack, and a stray archive of the same release beside it.
    let v5 = settings_for(target, "v5");
    let work = tempfile::tempdir().unwrap();
    sample_tree(&work.path().join("site"), "v5");
    let v5_manifest = upload(
        store,
        &v5,
        &work.path().join("site"),
        &Captured::default().log(),
    )
    .await
    .unwrap();
    store
        .put_small("release-v5.tgz", legacy_archive("v5"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    store
        .put_small("release-v3.tgz", legacy_archive("v3"))
        .await
        .unwrap();
    v5_manifest
}

/// A dry run on the store [`fill_as_v1_left_it`] filled: it says what it would do and writes
/// nothing.
async fn dry_run_changes_nothing(name: &str, store: &Store) -> Adoption {
    let before = contents(store).await;

    let captured = Captured::default();
    let dry = adopt_releases(store, true, &captured.log(), far())
        .await
        .unwrap();
    assert_eq!(
        contents(store).await,
        before,
        "{name}: a dry run writes nothing"
    );
    let mut ids = adopted_ids(&dry);
    ids.sort_unstable();
    assert_eq!(ids, ["v1", "v2", "v3"], "{name}");
    assert_eq!(
        dry.published.as_ref().map(ReleaseId::as_str),
        Some("v3"),
        "{name}"
    );
    let text = captured.text();
    assert!(text.contains("Would publish release v3"), "{name}: {text}");
    assert!(
        text.contains("Dry run: would adopt 3 archives in "),
        "{name}: {text}"
    );
    dry
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_of_the_earlier_buildpack_is_adopted_once_on_every_store() {
    for target in all_targets("adopt") {
        let name = target.name;
        let settings = settings_for(&target, "v9");
        let store = settings.open_store().await.unwrap();
        let v5_manifest = fill_as_v1_left_it(&target, &store).await;
        let dry = dry_run_changes_nothing(name, &store).await;

        let captured = Captured::default();
        let adoption = adopt_releases(&store, false, &captured.log(), far())
            .await
            .unwrap();
        let text = captured.text();
        assert_eq!(adoption.adopted, dry.adopted, "{name}: the dry run said so");
        let skipped: Vec<&str> = adoption
            .skipped
            .iter()
            .map(|(key, _)| key.as_str())
            .collect();
        assert_eq!(
            skipped,
            ["release-broken.tgz", "release-escape.tgz", "release-v5.tgz"],
            "{name}: {text}"
        );
        assert!(
            text.contains("release-escape.tgz: it is not a readable archive"),
            "{name}: {text}"
        );
        assert!(
            text.contains("release-v5.tgz: release v5 already has a manifest"),
            "{name}: {text}"
        );
        let v5_id = ReleaseId::new("v5").unwrap();
        let kept = store
            .get_small(&manifest_key(&v5_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            kept,
            v5_manifest.to_json(),
            "{name}: its manifest is left as it was"
        );
        assert!(
            text.contains("release-broken.tgz: it is not a readable archive"),
            "{name}: {text}"
        );
        let latest = Latest::parse(&store.get_small(LATEST_KEY).await.unwrap().unwrap()).unwrap();
        assert_eq!(latest.release_id, "v3", "{name}");

        // A release of the new buildpack without artifacts falls back to the adopted latest.
        let (work, loaded) = load_into_new_folder(&store, &settings).await;
        assert_eq!(loaded.release_id.as_str(), "v3", "{name}");
        assert_eq!(
            snapshot(&work.path().join("site"))
                .keys()
                .collect::<Vec<_>>(),
            snapshot(expected_tree("v3").path())
                .keys()
                .collect::<Vec<_>>(),
            "{name}"
        );
        for id in ["v1", "v2", "v3"] {
            verify_release(&store, &ReleaseId::new(id).unwrap(), &captured.log(), far())
                .await
                .unwrap();
        }
        let listing = list_releases(&store).await.unwrap();
        assert_eq!(listing.releases.len(), 4, "{name}");
        assert_eq!(
            listing.bare_archives,
            ["release-broken.tgz", "release-escape.tgz", "release-v5.tgz"],
            "{name}"
        );

        // Once is enough: a second run adopts nothing and leaves latest.json alone.
        let after = contents(&store).await;
        let again = adopt_releases(&store, false, &Captured::default().log(), far())
            .await
            .unwrap();
        assert!(again.adopted.is_empty(), "{name}");
        assert!(again.had_latest && again.published.is_none(), "{name}");
        assert_eq!(contents(&store).await, after, "{name}");
    }
}

/// Writes `count` archives as v1.0.x named them straight into the s3s server's folder, each
/// with its own modification time; the newest is `newest`, which is not the last by name.
fn write_legacy_store(folder: &Path, count: u64, newest: u64) {
    std::fs::create_dir_all(folder).unwrap();
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for n in 0..count {
        let id = format!("v{n:04}");
        let path = folder.join(format!("release-{id}.tgz"));
        std::fs::write(&path, legacy_archive(&id)).unwrap();
        let age = if n == newest { count * 60 } else { n * 60 };
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(base + Duration::from_secs(age)).unwrap();
    }
    std::fs::write(folder.join("release-notes.tgz"), "# not an archive\n").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn adopting_1050_archives_follows_pagination_with_bounded_requests() {
    let server = test_servers::s3_server::S3Server::start().unwrap();
    let proxy = FaultProxy::start(server.endpoint()).unwrap();
    let prefix = unique_prefix("adopt-many");
    let mut vars = S3Target::of(&server).env(&prefix);
    for (name, value) in &mut vars {
        if name == "STATIC_ARTIFACTS_ENDPOINT" {
            *value = proxy.endpoint();
        }
    }
    vars.push(("RELEASE_ID".into(), "v9999".into()));
    let target = Target {
        name: "s3s",
        vars,
        dir: None,
    };
    write_legacy_store(&server.bucket_dir("artifacts").join(&prefix), 1_050, 517);
    let settings = settings(&target, &[]);
    let store = settings.open_store().await.unwrap();

    let before = proxy.requests();
    let dry = adopt_releases(&store, true, &Captured::default().log(), far())
        .await
        .unwrap();
    let dry_requests = proxy.requests() - before;
    assert_eq!(dry.adopted.len(), 1_050);
    assert_eq!(dry.published.as_ref().map(ReleaseId::as_str), Some("v0517"));
    assert!(store.get_small(LATEST_KEY).await.unwrap().is_none());
    assert!(
        store
            .get_small(&manifest_key(&ReleaseId::new("v0001").unwrap()))
            .await
            .unwrap()
            .is_none()
    );

    let captured = Captured::default();
    let before = proxy.requests();
    let adoption = adopt_releases(&store, false, &captured.log(), far())
        .await
        .unwrap();
    let requests = proxy.requests() - before;
    assert_eq!(adoption.adopted.len(), 1_050);
    assert_eq!(
        adoption.skipped,
        [(
            "release-notes.tgz".to_string(),
            adoption.skipped[0].1.clone()
        )]
    );
    assert!(
        captured.text().contains("Adopted 1050 archives in "),
        "{}",
        captured.text()
    );
    let listing = list_releases(&store).await.unwrap();
    assert_eq!(listing.releases.len(), 1_050);
    assert_eq!(
        listing.latest.as_ref().map(ReleaseId::as_str),
        Some("v0517")
    );
    assert_eq!(
        listing.releases.last().map(|m| m.release_id.as_str()),
        Some("v0517"),
        "the adopted releases keep the order of their modification times"
    );

    let (work, loaded) = load_into_new_folder(&store, &settings).await;
    assert_eq!(loaded.release_id.as_str(), "v0517");
    assert_eq!(
        std::fs::read_to_string(work.path().join("site/index.html")).unwrap(),
        "<h1>v0517</h1>"
    );
    verify_release(
        &store,
        &ReleaseId::new("v0517").unwrap(),
        &captured.log(),
        far(),
    )
    .await
    .unwrap();

    eprintln!(
        "adopt of 1,050 v1.0.x archives (+1 non-archive): dry run {dry_requests} requests, adopt {requests} requests"
    );
    // Two listing pages and latest.json, one GET per archive; then one PUT per manifest and
    // the publication of the newest (a handful of requests).
    assert!(dry_requests <= 3 + 1_051, "{dry_requests}");
    assert!(requests <= 3 + 1_051 + 1_050 + 10, "{requests}");
}
