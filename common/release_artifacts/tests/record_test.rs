//! Release records in every kind of store: written, read back, listed newest first with
//! bounded requests, kept apart from the releases, and pruned with them.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::manifest::record_key;
use release_artifacts::{
    ArtifactError, ReleaseId, Store, list_releases, read_record, record_history, write_record,
};
use release_commands::{PhaseOutcome, PhaseRecord, StepKind, StepOutcome, StepRecord};
use support::{all_targets, file_target, s3s, settings};
use test_servers::fault_proxy::FaultProxy;
use test_servers::s3_server::{S3Target, unique_prefix};

mod support;

fn record(started_at_ms: u64, outcome: PhaseOutcome) -> PhaseRecord {
    PhaseRecord {
        release_id: String::new(),
        started_at_ms,
        ended_at_ms: Some(started_at_ms + 1_500),
        outcome,
        exit_status: Some(0),
        reason: None,
        steps: vec![StepRecord {
            kind: StepKind::Release,
            source: "project.toml".into(),
            command: "bash -c 'rake db:migrate'".into(),
            done_when: Some("bash -c 'rake db:abort_if_pending_migrations'".into()),
            optional: false,
            outcome: StepOutcome::AlreadyAchieved,
            attempts: vec![],
            checks: vec![],
        }],
    }
}

fn id(text: &str) -> ReleaseId {
    ReleaseId::new(text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn records_are_read_back_and_listed_newest_first_apart_from_the_releases() {
    for target in all_targets("records") {
        let store = settings(&target, &[]).open_store().await.unwrap();
        for (release, started) in [("v1", 1_000), ("v2", 2_000), ("v3", 3_000)] {
            write_record(
                &store,
                &id(release),
                &record(started, PhaseOutcome::Completed),
            )
            .await
            .unwrap();
        }
        let v1 = read_record(&store, &id("v1")).await.unwrap();
        assert_eq!(v1.release_id, "v1", "{}", target.name);
        assert_eq!(
            v1,
            PhaseRecord {
                release_id: "v1".into(),
                ..record(1_000, PhaseOutcome::Completed)
            }
        );

        let history = record_history(&store, 2).await.unwrap();
        let ids: Vec<_> = history
            .records
            .iter()
            .map(|r| r.release_id.as_str())
            .collect();
        assert_eq!(ids, ["v3", "v2"], "{}", target.name);
        assert_eq!(history.total, 3);

        // A record is neither a release nor an object out of place.
        let listing = list_releases(&store).await.unwrap();
        assert!(listing.releases.is_empty(), "{:?}", listing.releases);
        assert!(listing.skipped.is_empty(), "{:?}", listing.skipped);
        assert!(listing.bare_archives.is_empty());

        let error = read_record(&store, &id("v9")).await.unwrap_err();
        assert!(matches!(error, ArtifactError::NoArtifacts(_)), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("Release v9 has no release record in "),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_is_not_json_is_skipped_with_its_reason_and_show_says_what_to_do() {
    for target in all_targets("bad-record") {
        let store = settings(&target, &[]).open_store().await.unwrap();
        write_record(&store, &id("good"), &record(1_000, PhaseOutcome::Failed))
            .await
            .unwrap();
        store
            .put_small(&record_key(&id("bad")), b"{ not json".to_vec())
            .await
            .unwrap();
        let history = record_history(&store, 10).await.unwrap();
        assert_eq!(history.records.len(), 1, "{}", target.name);
        assert_eq!(history.skipped.len(), 1);
        assert!(
            history.skipped[0]
                .1
                .starts_with("is not a valid release record"),
            "{:?}",
            history.skipped
        );
        let error = read_record(&store, &id("bad"))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a valid release record"), "{error}");
        assert!(error.ends_with("delete it"), "{error}");
    }
}

async fn write_many(store: &Store, count: usize) {
    let mut puts = tokio::task::JoinSet::new();
    let ids: Vec<usize> = (0..count).collect();
    for chunk in ids.chunks(count.div_ceil(16)) {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        puts.spawn(async move {
            for n in chunk {
                let started = 1_000_000 + u64::try_from(n).unwrap();
                write_record(
                    &store,
                    &id(&format!("r{n:05}")),
                    &record(started, PhaseOutcome::Completed),
                )
                .await
                .unwrap();
            }
        });
    }
    while let Some(done) = puts.join_next().await {
        done.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn history_of_2000_records_follows_pagination_and_reads_only_the_newest() {
    // Through a proxy that counts the requests.
    let server = s3s();
    let proxy = FaultProxy::start(server.endpoint()).unwrap();
    let prefix = unique_prefix("history");
    let direct = S3Target::of(server).env(&prefix);
    let target = support::Target {
        name: "s3s",
        vars: direct.clone(),
        dir: None,
    };
    let store = settings(&target, &[]).open_store().await.unwrap();
    write_many(&store, 2_000).await;
    // The newest records are written last: their modification times are the newest too.
    write_record(
        &store,
        &id("r01999"),
        &record(1_001_999, PhaseOutcome::Failed),
    )
    .await
    .unwrap();

    let through_proxy = support::Target {
        name: "s3s through a proxy",
        vars: direct
            .into_iter()
            .map(|(name, value)| match name.as_str() {
                "STATIC_ARTIFACTS_ENDPOINT" => (name, proxy.endpoint()),
                _ => (name, value),
            })
            .collect(),
        dir: None,
    };
    let store = settings(&through_proxy, &[]).open_store().await.unwrap();
    let before = proxy.requests();
    let history = record_history(&store, 20).await.unwrap();
    let requests = proxy.requests() - before;
    assert_eq!(history.total, 2_000);
    assert_eq!(history.records.len(), 20);
    assert_eq!(history.records[0].release_id, "r01999");
    assert_eq!(history.records[0].outcome, PhaseOutcome::Failed);
    let log = proxy.request_log();
    let lists = log
        .iter()
        .filter(|line| line.target.contains("list-type=2"))
        .count();
    assert!(lists >= 2, "2,000 keys take at least two pages: {log:?}");
    // The listing's pages, and one read per record shown: not one per record stored.
    assert_eq!(u64::try_from(lists + 20).unwrap(), requests, "{log:?}");
    println!("history --limit 20 of 2,000 records: {requests} requests ({lists} list pages)");

    // A folder store answers the same.
    let target = file_target();
    let store = settings(&target, &[]).open_store().await.unwrap();
    write_many(&store, 2_000).await;
    let history = record_history(&store, 5).await.unwrap();
    assert_eq!(history.total, 2_000);
    assert_eq!(history.records.len(), 5);
}
