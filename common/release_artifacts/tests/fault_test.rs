//! Faults between our code and the store, injected by a proxy in front of s3s-fs on loopback:
//! cut and reset connections, throttling, a store that is down or swallows traffic. Each test
//! states the guarantee it checks.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::manifest::{LATEST_KEY, manifest_key};
use release_artifacts::{ArtifactError, Deadline, ReleaseId, Settings};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{Captured, Snapshot, far, load, publish, sample_tree, snapshot, upload};
use test_servers::fault_proxy::{Break, ErrorReply, FaultProxy};
use test_servers::s3_server::{S3Server, S3Target};

mod support;

/// A store behind a fault proxy, with its own server (so that its folders can be inspected).
struct Faulty {
    server: S3Server,
    proxy: FaultProxy,
}

impl Faulty {
    fn start() -> Self {
        let server = S3Server::start().unwrap();
        let proxy = FaultProxy::start(server.endpoint()).unwrap();
        Faulty { server, proxy }
    }

    /// Settings for release `id` through the proxy.
    fn settings(&self, id: &str, extra: &[(&str, &str)]) -> Settings {
        let mut vars = S3Target::of(&self.server).env("faults");
        vars.retain(|(name, _)| name != "STATIC_ARTIFACTS_ENDPOINT");
        vars.push(("STATIC_ARTIFACTS_ENDPOINT".into(), self.proxy.endpoint()));
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

    /// The store's files under the prefix, and whether any multipart upload parts are left.
    fn stored(&self) -> (Vec<String>, usize) {
        let mut keys: Vec<String> =
            match std::fs::read_dir(self.server.bucket_dir("artifacts").join("faults")) {
                Ok(entries) => entries
                    .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(_) => Vec::new(),
            };
        keys.sort();
        let root = self.server.bucket_dir("artifacts");
        let parts = std::fs::read_dir(root.parent().unwrap())
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".upload_id-")
            })
            .count();
        (keys, parts)
    }
}

/// A tree whose archive spans three 8 MiB parts (and nine 2 MiB ranges).
fn large_tree(dir: &Path) {
    sample_tree(dir, "large");
    let mut random = fastrand::Rng::with_seed(3);
    let noise: Vec<u8> = (0..(2 * release_artifacts::CHUNK_SIZE + 4096))
        .map(|_| random.u8(..))
        .collect();
    std::fs::write(dir.join("noise.bin"), &noise).unwrap();
}

/// Entries next to `dir` other than `keep` (left-over staging folders).
fn siblings(dir: &Path, keep: &[&str]) -> Vec<PathBuf> {
    std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            !keep
                .iter()
                .any(|name| path.file_name().unwrap().to_string_lossy() == *name)
        })
        .collect()
}

/// Checks that a failed load left `dest` as it was (`old`) and no staging folder beside it;
/// `keep` names the other entries expected there, `what` the case, for messages.
fn assert_unchanged(dest: &Path, old: &Snapshot, keep: &[&str], what: &str) {
    assert_eq!(&snapshot(dest), old, "{what}: the old content is intact");
    assert_eq!(
        siblings(dest, keep),
        Vec::<PathBuf>::new(),
        "{what}: no staging folder is left"
    );
}

async fn upload_and_publish(faulty: &Faulty, id: &str, source: &Path) {
    let settings = faulty.settings(id, &[]);
    let store = settings.open_store().await.unwrap();
    let log = Captured::default();
    upload(&store, &settings, source, &log.log()).await.unwrap();
    publish(&store, &settings, &log.log()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_cut_in_the_middle_of_a_part_is_retried_and_the_upload_completes() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    large_tree(&source);
    for how in [Break::Reset, Break::Close] {
        let id = format!("cut-upload-{how:?}").to_lowercase();
        let settings = faulty.settings(&id, &[]);
        let store = settings.open_store().await.unwrap();
        // Two connections break 3 MiB into their request: in the middle of a part.
        faulty.proxy.break_requests(3 << 20, 2, how);
        let before = faulty.proxy.faults_injected();
        upload(&store, &settings, &source, &Captured::default().log())
            .await
            .unwrap_or_else(|error| panic!("{how:?}: {error}"));
        assert_eq!(faulty.proxy.faults_injected() - before, 2, "{how:?}");
        faulty.proxy.heal().unwrap();

        let dest = work.path().join(format!("loaded-{id}"));
        load(&store, &settings, &dest, &Captured::default().log(), far())
            .await
            .unwrap();
        assert_eq!(snapshot(&dest), snapshot(&source), "{how:?}");
    }
    assert_eq!(faulty.stored().1, 0, "no multipart upload parts are left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_cut_in_the_middle_resumes_by_range_and_the_files_are_identical() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    large_tree(&source);
    upload_and_publish(&faulty, "cut-download", &source).await;
    let settings = faulty.settings("cut-download", &[]);
    for how in [Break::Close, Break::Reset] {
        // A new client, whose connections start counting at zero: three of them break 1 MiB
        // into their responses, in the middle of a 2 MiB range.
        let store = settings.open_store().await.unwrap();
        faulty.proxy.break_responses(1 << 20, 3, how);
        let first = faulty.proxy.request_log().len();
        let dest = work.path().join(format!("loaded-{how:?}"));
        load(&store, &settings, &dest, &Captured::default().log(), far())
            .await
            .unwrap_or_else(|error| panic!("{how:?}: {error}"));
        assert_eq!(snapshot(&dest), snapshot(&source), "{how:?}");
        faulty.proxy.heal().unwrap();

        // A resumed range starts where the broken one stopped, not at its beginning.
        let ranges: Vec<(u64, u64)> = faulty.proxy.request_log()[first..]
            .iter()
            .filter_map(|request| {
                let (start, end) = request
                    .range
                    .as_deref()?
                    .strip_prefix("bytes=")?
                    .split_once('-')?;
                Some((start.parse().ok()?, end.parse().ok()?))
            })
            .collect();
        let range = release_artifacts::RANGE_SIZE as u64;
        let resumed = ranges
            .iter()
            .filter(|(start, _)| start % range != 0)
            .count();
        assert!(
            resumed >= 1,
            "{how:?}: some range resumed mid-way: {ranges:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_that_outlast_the_retries_fail_clearly_and_change_nothing() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    large_tree(&source);
    upload_and_publish(&faulty, "v1", &source).await;
    let (stored_before, _) = faulty.stored();
    let latest_before = std::fs::read(
        faulty
            .server
            .bucket_dir("artifacts")
            .join("faults")
            .join(LATEST_KEY),
    )
    .unwrap();

    // Every connection breaks 1 MiB into its request: no part can get through.
    faulty.proxy.break_requests(1 << 20, u32::MAX, Break::Reset);
    let settings = faulty.settings("v2", &[]);
    let store = settings.open_store().await.unwrap();
    let error = upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap_err();
    let message = error.to_string();
    eprintln!("upload: {message}");
    assert!(
        message.contains("Couldn't write") && message.contains("release-v2.tar.zst"),
        "{message}"
    );
    assert_eq!(
        faulty.stored(),
        (stored_before.clone(), 0),
        "no archive, manifest or multipart part of v2 is left"
    );
    assert!(!stored_before.contains(&manifest_key(&ReleaseId::new("v2").unwrap())));
    let latest_after = std::fs::read(
        faulty
            .server
            .bucket_dir("artifacts")
            .join("faults")
            .join(LATEST_KEY),
    )
    .unwrap();
    assert_eq!(latest_after, latest_before, "latest.json is unchanged");
    faulty.proxy.heal().unwrap();

    // Every connection breaks 256 KiB into its response: no 2 MiB range can complete in the
    // attempts a range gets, though each resumes where the last one broke.
    let dest = work.path().join("static-artifacts-live");
    sample_tree(&dest, "old content");
    let old = snapshot(&dest);
    faulty
        .proxy
        .break_responses(256 << 10, u32::MAX, Break::Reset);
    let settings = faulty.settings("v1", &[]);
    let store = settings.open_store().await.unwrap();
    let error = load(&store, &settings, &dest, &Captured::default().log(), far())
        .await
        .unwrap_err();
    let message = error.to_string();
    eprintln!("download: {message}");
    assert!(
        message.contains("release-v1.tar.zst") && message.contains("broke off"),
        "{message}"
    );
    assert_unchanged(
        &dest,
        &old,
        &["static-artifacts", "static-artifacts-live"],
        "download",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_with_backoff_then_succeeds() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    large_tree(&source);
    let settings = faulty.settings("throttled", &[]);
    let store = settings.open_store().await.unwrap();
    for reply in [ErrorReply::SlowDown, ErrorReply::InternalError] {
        faulty.proxy.fail_requests(3, reply);
        let before = faulty.proxy.faults_injected();
        upload(&store, &settings, &source, &Captured::default().log())
            .await
            .unwrap_or_else(|error| panic!("{reply:?}: {error}"));
        assert_eq!(faulty.proxy.faults_injected() - before, 3, "{reply:?}");

        faulty.proxy.fail_requests(3, reply);
        let dest = work.path().join(format!("loaded-{reply:?}"));
        load(&store, &settings, &dest, &Captured::default().log(), far())
            .await
            .unwrap_or_else(|error| panic!("{reply:?}: {error}"));
        assert_eq!(snapshot(&dest), snapshot(&source), "{reply:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_never_ends_fails_after_a_bounded_number_of_attempts() {
    let faulty = Faulty::start();
    let settings = faulty.settings("throttled-forever", &[]);
    let store = settings.open_store().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    sample_tree(&source, "small");
    faulty.proxy.fail_requests(u32::MAX, ErrorReply::SlowDown);
    let started = Instant::now();
    let error = upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap_err();
    let message = error.to_string();
    eprintln!("throttled: {message}");
    assert!(message.contains("SlowDown"), "{message}");
    let requests = faulty.proxy.requests();
    assert!(
        (2..=10).contains(&requests),
        "a bounded number of attempts, with backoff between them: {requests} requests in {:?}",
        started.elapsed()
    );
}

/// Loads into a folder holding old content while the store is down (`fault`), and checks the
/// guarantee: an error within the deadline (plus a margin), the old content untouched, nothing
/// left behind.
async fn load_while_down(faulty: &Faulty, fault: &str, limit: Duration) -> ArtifactError {
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("static-artifacts");
    sample_tree(&dest, "old content");
    let old = snapshot(&dest);
    let limit_text = limit.as_secs().to_string();
    let settings = faulty.settings("v1", &[("STATIC_ARTIFACTS_LOAD_TIMEOUT", &limit_text)]);
    let started = Instant::now();
    let store = settings.open_store().await.unwrap();
    let deadline = Deadline::new(
        started,
        settings.load_timeout,
        "STATIC_ARTIFACTS_LOAD_TIMEOUT",
    );
    let error = load(
        &store,
        &settings,
        &dest,
        &Captured::default().log(),
        deadline,
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    eprintln!("{fault}: failed after {elapsed:?}: {error}");
    assert!(
        elapsed < limit + Duration::from_secs(2),
        "{fault}: gave up after {elapsed:?} (limit {limit:?}): {error}"
    );
    assert_unchanged(&dest, &old, &["static-artifacts"], fault);
    error
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_is_down_at_web_start_fails_the_load_in_time_and_changes_nothing() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    large_tree(&source);
    upload_and_publish(&faulty, "v1", &source).await;

    faulty.proxy.set_refusing(true).unwrap();
    let error = load_while_down(&faulty, "refused", Duration::from_secs(20)).await;
    assert!(
        error.to_string().contains(&faulty.proxy.endpoint()),
        "names the endpoint: {error}"
    );
    faulty.proxy.heal().unwrap();

    faulty.proxy.set_black_hole(true);
    let error = load_while_down(&faulty, "black hole", Duration::from_secs(3)).await;
    assert!(
        matches!(error, ArtifactError::TimedOut { .. }),
        "black hole: {error}"
    );
    assert!(
        error.to_string().contains("STATIC_ARTIFACTS_LOAD_TIMEOUT"),
        "{error}"
    );
    faulty.proxy.heal().unwrap();

    // Black-holed in the middle of the transfer: the first ranges arrive, then nothing.
    faulty.proxy.set_bandwidth(Some(2 << 20));
    let proxy = &faulty.proxy;
    let (error, ()) = tokio::join!(
        load_while_down(&faulty, "black hole mid-way", Duration::from_secs(3)),
        async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            proxy.set_black_hole(true);
        }
    );
    assert!(
        matches!(error, ArtifactError::TimedOut { .. }),
        "black hole mid-way: {error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_ignores_ranges_fails_the_load_clearly_and_changes_nothing() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    large_tree(&source);
    upload_and_publish(&faulty, "v1", &source).await;
    let dest = work.path().join("static-artifacts-live");
    sample_tree(&dest, "old content");
    let old = snapshot(&dest);

    // Every GET gets the whole archive, whatever range it asks for.
    faulty.server.set_ignoring_ranges(true);
    let settings = faulty.settings("v1", &[]);
    let store = settings.open_store().await.unwrap();
    let error = load(&store, &settings, &dest, &Captured::default().log(), far())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("release-v1.tar.zst") && message.contains("ranged GETs"),
        "{message}"
    );
    assert_unchanged(
        &dest,
        &old,
        &["static-artifacts", "static-artifacts-live"],
        "ignored ranges",
    );

    faulty.server.set_ignoring_ranges(false);
    load(&store, &settings, &dest, &Captured::default().log(), far())
        .await
        .unwrap();
    assert_eq!(snapshot(&dest), snapshot(&source));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_whose_completion_answer_is_lost_is_known_by_its_etag_and_stored_whole() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    large_tree(&source);
    // The store completes the multipart upload, but its answer never arrives; the retry is
    // told the upload does not exist any more.
    faulty.proxy.lose_response_to("POST", "uploadId=");
    let settings = faulty.settings("v1", &[]);
    let store = settings.open_store().await.unwrap();
    let log = Captured::default();
    let manifest = upload(&store, &settings, &source, &log.log())
        .await
        .unwrap();
    assert!(faulty.proxy.faults_injected() >= 1);
    let id = ReleaseId::new("v1").unwrap();
    let verified = release_artifacts::verify_release(&store, &id, &log.log(), far())
        .await
        .unwrap();
    assert_eq!(verified.sha256, manifest.sha256);
    assert_eq!(
        faulty.stored(),
        (
            vec!["release-v1.json".into(), "release-v1.tar.zst".into()],
            0
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_answer_without_an_s3_error_keeps_its_status_and_reason_in_the_message() {
    let faulty = Faulty::start();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("static-artifacts");
    sample_tree(&source, "unreadable");
    faulty.proxy.fail_requests(100, ErrorReply::Unreadable);
    let settings = faulty.settings("v1", &[]);
    let store = settings.open_store().await.unwrap();
    let error = upload(&store, &settings, &source, &Captured::default().log())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("Couldn't read s3://artifacts/faults/release-v1.json (HTTP 400: ")
            && error.contains("400 Bad Request: the gateway refused this"),
        "{error}"
    );
    assert_eq!(faulty.stored(), (Vec::new(), 0));
}
