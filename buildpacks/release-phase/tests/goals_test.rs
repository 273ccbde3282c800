//! Steps as goals through the packaged buildpack: `done-when` checks, retries, optional steps,
//! `source`, the release record on every store, `release-artifacts history`/`show` and
//! `exec-release-commands --assess`, driven as the CNB lifecycle and an operator drive them.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cnb_platform::release_phase::{buildpack_source_dir, copy_app, release_phase_group};
use cnb_platform::{Built, Launched, Platform};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use test_servers::s3_server::{S3Server, S3Target, unique_prefix};

mod support;

fn platform() -> &'static Platform {
    static PLATFORM: OnceLock<Platform> = OnceLock::new();
    PLATFORM.get_or_init(|| {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_release-phase"))
            .parent()
            .expect("the binary has a folder");
        let work_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("goals_test");
        release_phase_group(&work_dir, bin_dir).expect("the buildpacks can be packaged")
    })
}

/// Builds a copy of the fixture `name`; the copy lives as long as the returned folder.
fn build_fixture(name: &str) -> (tempfile::TempDir, Built) {
    let app = copy_app(&buildpack_source_dir().join("tests/fixtures").join(name))
        .expect("the fixture can be copied");
    let built = platform()
        .build(app.path())
        .expect("detect passes and build runs");
    assert!(built.success(), "{:?}", built.builds);
    (app, built)
}

/// Builds an app holding only this `project.toml`.
fn build_project_toml(text: &str) -> (tempfile::TempDir, Built) {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("project.toml"), text).unwrap();
    let built = platform()
        .build(app.path())
        .expect("detect passes and build runs");
    (app, built)
}

fn trace(app: &Path) -> String {
    std::fs::read_to_string(app.join("release-trace.txt")).unwrap_or_default()
}

fn last_line(run: &Launched) -> &str {
    run.stderr.lines().last().unwrap_or_default()
}

/// `release` with `env`, as the platform runs it before a release goes live.
fn release(built: &Built, env: &[(String, String)]) -> Launched {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    built.launch("release", &env).unwrap()
}

/// `env` plus `more`.
fn with(env: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .cloned()
        .chain(
            more.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
        )
        .collect()
}

/// `release-artifacts ARGS` with only `env` (and PATH) set.
fn manage(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(support::manage())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap()
}

/// `release-artifacts ARGS --json`, parsed.
fn manage_json(args: &[&str], env: &[(String, String)]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    let output = manage(&args, env);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{args:?} prints JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The stores a test runs on: a `file://` folder, the in-process s3s server and, when it is
/// installed, moto. Each with its own prefix.
struct Stores {
    _folder: tempfile::TempDir,
    _server: S3Server,
    envs: Vec<(String, Vec<(String, String)>)>,
}

fn stores(name: &str) -> Stores {
    let folder = tempfile::tempdir().unwrap();
    let server = S3Server::start().unwrap();
    let mut envs = vec![(
        "file://".to_string(),
        vec![(
            "STATIC_ARTIFACTS_URL".to_string(),
            format!("file://{}/store", folder.path().display()),
        )],
    )];
    let mut targets = vec![S3Target::of(&server)];
    targets.extend(S3Target::moto());
    for target in targets {
        envs.push((target.name.to_string(), target.env(&unique_prefix(name))));
    }
    Stores {
        _folder: folder,
        _server: server,
        envs,
    }
}

fn file_store(folder: &Path) -> Vec<(String, String)> {
    vec![(
        "STATIC_ARTIFACTS_URL".to_string(),
        format!("file://{}", folder.display()),
    )]
}

#[test]
fn a_done_when_step_runs_once_across_two_releases_and_the_records_say_so_on_every_store() {
    let (app, built) = build_fixture("goal_done_when");
    let stores = stores("goals");
    for (name, store) in &stores.envs {
        let database = tempfile::tempdir().unwrap();
        std::fs::remove_file(app.path().join("release-trace.txt")).ok();
        let database_dir = database.path().to_string_lossy().into_owned();
        let env_for = |id| {
            with(
                store,
                &[("RELEASE_ID", id), ("DATABASE_DIR", &database_dir)],
            )
        };

        let first = release(&built, &env_for("v1"));
        assert_eq!(first.status.code(), Some(0), "{name}: {}", first.stderr);
        assert!(
            first
                .stderr
                .contains("[1/2] release not achieved yet: its done-when check exited 1 in "),
            "{name}: {}",
            first.stderr
        );
        assert!(
            last_line(&first).ends_with(": 2 steps newly achieved."),
            "{name}: {}",
            first.stderr
        );
        let second = release(&built, &env_for("v2"));
        assert_eq!(second.status.code(), Some(0), "{name}: {}", second.stderr);
        assert!(
            second.stderr.contains(
                "[1/2] release already achieved (skipped): its done-when check exited 0 in "
            ),
            "{name}: {}",
            second.stderr
        );
        assert!(
            last_line(&second).ends_with(": 1 step newly achieved, 1 already achieved (skipped)."),
            "{name}: {}",
            second.stderr
        );
        assert_eq!(trace(app.path()), "migrate\nnotify\nnotify\n", "{name}");

        let v1 = manage_json(&["show", "v1"], store);
        let v2 = manage_json(&["show", "v2"], store);
        for (record, id, first_outcome, runs) in [
            (&v1, "v1", "newly-achieved", 1),
            (&v2, "v2", "already-achieved", 0),
        ] {
            assert_eq!(record["release_id"], id, "{name}: {record}");
            assert_eq!(record["outcome"], "completed", "{name}: {record}");
            assert_eq!(record["exit_status"], 0, "{name}: {record}");
            let steps = record["steps"].as_array().unwrap();
            assert_eq!(steps.len(), 2, "{name}: {record}");
            assert_eq!(steps[0]["kind"], "release");
            assert_eq!(steps[0]["source"], "project.toml");
            assert_eq!(
                steps[0]["done_when"],
                "bash -c 'test -e \"$DATABASE_DIR/migrated\"'"
            );
            assert_eq!(steps[0]["outcome"], first_outcome, "{name}: {record}");
            assert_eq!(
                steps[0]["attempts"].as_array().unwrap().len(),
                runs,
                "{name}: {record}"
            );
            assert_eq!(steps[1]["outcome"], "newly-achieved", "{name}: {record}");
            assert!(
                !record.to_string().contains(&database_dir),
                "no environment value is in the record: {record}"
            );
        }
        // Before the first run, and before and after the second: three checks in all.
        assert_eq!(v1["steps"][0]["checks"].as_array().unwrap().len(), 2);
        assert_eq!(v2["steps"][0]["checks"].as_array().unwrap().len(), 1);

        let history = manage_json(&["history"], store);
        assert_eq!(history["total"], 2, "{name}: {history}");
        let ids: Vec<_> = history["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| record["release_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["v2", "v1"], "{name}: newest first");
        assert_eq!(history["records"][0]["outcome"], "completed");
        assert_eq!(
            history["records"][0]["failed_step"],
            serde_json::Value::Null
        );
        let missing = manage(&["show", "v9"], store);
        assert_eq!(
            missing.status.code(),
            Some(4),
            "{name}: {}",
            String::from_utf8_lossy(&missing.stderr)
        );
        let text = manage(&["show", "v2"], store);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("already-achieved"), "{name}: {text}");
    }
}

/// A release-build step, then a step whose goal `check` (a TOML inline table) decides, with a
/// 2 s timeout, then one more step.
fn goal_after_release_build(check: &str) -> String {
    format!(
        r#"
        [com.heroku.phase.release-build]
        command = "bash"
        args = ["-c", "mkdir -p static-artifacts && echo \"$RELEASE_ID\" > static-artifacts/index.html"]

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo migrate >> release-trace.txt"]
        done-when = {check}
        timeout = "2s"

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo after >> release-trace.txt"]
        "#
    )
}

#[test]
fn a_check_that_does_not_say_achieved_after_the_command_or_cannot_tell_fails_the_release() {
    let store = tempfile::tempdir().unwrap();
    let store_env = file_store(store.path());
    let (app, built) = build_project_toml(&goal_after_release_build(r#"{ command = "true" }"#));
    assert!(built.success(), "{:?}", built.builds);
    let published = release(&built, &with(&store_env, &[("RELEASE_ID", "v1")]));
    assert_eq!(published.status.code(), Some(0), "{}", published.stderr);
    assert_eq!(
        trace(app.path()),
        "after\n",
        "the goal was already achieved"
    );
    let latest = std::fs::read(store.path().join("latest.json")).unwrap();
    let listing = manage_json(&["list"], &store_env);
    assert_eq!(listing["latest"], "v1", "{listing}");
    assert_eq!(listing["releases"][0]["release_id"], "v1", "{listing}");
    assert_eq!(listing["releases"][0]["latest"], true, "{listing}");
    assert_eq!(
        listing["releases"].as_array().unwrap().len(),
        1,
        "{listing}"
    );

    let cases = [
        (
            r#"{ command = "bash", args = ["-c", "exit 1"] }"#,
            1,
            "succeeded, but its goal is not achieved: its done-when check still exits 1",
            "migrate\n",
        ),
        (
            r#"{ command = "bash", args = ["-c", "exit 2"] }"#,
            2,
            "exited with code 2, so whether its goal is achieved is unknown",
            "",
        ),
        (
            r#"{ command = "sleep", args = ["10"] }"#,
            124,
            "timed out after 2.00s and was stopped with SIGTERM, so whether its goal is achieved is unknown",
            "",
        ),
        (
            r#"{ command = "no-such-check-program" }"#,
            127,
            "the program was not found",
            "",
        ),
    ];
    for (check, code, reason, ran) in cases {
        let (app, built) = build_project_toml(&goal_after_release_build(check));
        assert!(built.success(), "{:?}", built.builds);
        let run = release(&built, &with(&store_env, &[("RELEASE_ID", "v2")]));
        assert_eq!(run.status.code(), Some(code), "{check}: {}", run.stderr);
        let last = last_line(&run);
        assert!(
            last.contains("Release phase failed after ")
                && last.contains("step 2/3 (release from project.toml: bash -c 'echo migrate")
                && last.contains(reason)
                && last.ends_with("The step after it was not run."),
            "{check}: {}",
            run.stderr
        );
        assert_eq!(trace(app.path()), ran, "{check}: nothing after it ran");
        assert_eq!(
            std::fs::read(store.path().join("latest.json")).unwrap(),
            latest,
            "{check}: latest.json is unchanged"
        );
        let record = manage_json(&["show", "v2"], &store_env);
        assert_eq!(record["outcome"], "failed", "{check}: {record}");
        assert_eq!(record["exit_status"], code, "{check}: {record}");
        assert_eq!(record["steps"][0]["outcome"], "newly-achieved");
        assert_eq!(record["steps"][1]["outcome"], "failed", "{check}: {record}");
        assert_eq!(
            record["steps"][2]["outcome"], "not-run",
            "{check}: {record}"
        );
        let history = manage_json(&["history", "--limit", "1"], &store_env);
        assert_eq!(history["records"][0]["release_id"], "v2", "{history}");
        assert_eq!(
            history["records"][0]["failed_step"]["number"], 2,
            "{check}: {history}"
        );
    }
}

#[test]
fn a_step_that_fails_twice_then_succeeds_completes_within_its_retries() {
    let (app, built) = build_fixture("goal_retries");
    let store = tempfile::tempdir().unwrap();
    let store_env = file_store(store.path());
    let run = release(
        &built,
        &with(&store_env, &[("RELEASE_ID", "v1"), ("FAILURES", "2")]),
    );
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "attempt\nattempt\nattempt\nafter\n");
    for attempt in [
        "(attempt 1 of 3). Retrying in ",
        "(attempt 2 of 3). Retrying in ",
    ] {
        assert!(run.stderr.contains(attempt), "{attempt}: {}", run.stderr);
    }
    assert!(
        last_line(&run).ends_with(": 2 steps newly achieved."),
        "{}",
        run.stderr
    );
    let record = manage_json(&["show", "v1"], &store_env);
    let attempts = record["steps"][0]["attempts"].as_array().unwrap();
    let statuses: Vec<_> = attempts
        .iter()
        .map(|run| run["exit_status"].clone())
        .collect();
    assert_eq!(statuses, [75, 75, 0], "{record}");
    assert_eq!(record["steps"][0]["outcome"], "newly-achieved");

    // Past its retries, the step fails with the command's own exit status.
    std::fs::remove_file(app.path().join("release-trace.txt")).unwrap();
    let run = release(
        &built,
        &with(&store_env, &[("RELEASE_ID", "v2"), ("FAILURES", "3")]),
    );
    assert_eq!(run.status.code(), Some(75), "{}", run.stderr);
    assert_eq!(trace(app.path()), "attempt\nattempt\nattempt\n");
    assert!(
        run.stderr
            .contains("[1/2] release failed after 3 attempts."),
        "{}",
        run.stderr
    );
    assert!(
        last_line(&run).contains("exited with code 75 after 3 attempts (exit status 75)."),
        "{}",
        run.stderr
    );
    let record = manage_json(&["show", "v2"], &store_env);
    assert_eq!(record["steps"][0]["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(record["steps"][1]["outcome"], "not-run");
}

#[test]
fn sigterm_during_a_retry_delay_stops_the_release_at_once_with_143() {
    let (app, built) = build_project_toml(
        r#"
        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo attempt >> release-trace.txt; exit 75"]
        retries = 3
        retry-delay = "5m"

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo after >> release-trace.txt"]
        "#,
    );
    assert!(built.success(), "{:?}", built.builds);
    let (mut command, _) = built.launch_command("release", &[]).unwrap();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while trace(app.path()).is_empty() {
        assert!(Instant::now() < deadline, "the first attempt never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Into the delay before the second attempt.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let output = child.wait_with_output().unwrap();
    let stopped_in = signalled.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(
        stopped_in < Duration::from_secs(10),
        "stopped in {stopped_in:?}, not after the 5-minute delay: {stderr}"
    );
    assert_eq!(
        trace(app.path()),
        "attempt\n",
        "no other attempt or step ran"
    );
    assert!(stderr.contains("SIGTERM"), "{stderr}");
}

#[test]
fn an_optional_step_that_fails_is_counted_and_recorded_and_the_release_goes_on() {
    let (app, built) = build_fixture("goal_optional");
    let store = tempfile::tempdir().unwrap();
    let store_env = file_store(store.path());
    let run = release(&built, &with(&store_env, &[("RELEASE_ID", "v1")]));
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "notify\nafter\n");
    assert!(
        run.stderr
            .contains("WARNING: [1/2] release is optional, failed: the release phase goes on."),
        "{}",
        run.stderr
    );
    assert!(
        last_line(&run).ends_with(": 1 step newly achieved, 1 optional step failed."),
        "{}",
        run.stderr
    );
    let record = manage_json(&["show", "v1"], &store_env);
    assert_eq!(record["outcome"], "completed", "{record}");
    assert_eq!(record["exit_status"], 0, "{record}");
    assert_eq!(record["steps"][0]["optional"], true, "{record}");
    assert_eq!(record["steps"][0]["outcome"], "optional-failed", "{record}");
    assert_eq!(record["steps"][0]["attempts"][0]["exit_status"], 7);
    assert_eq!(record["steps"][1]["outcome"], "newly-achieved", "{record}");
}

#[test]
fn a_source_in_project_toml_names_the_step_in_the_logs_and_the_record() {
    let (app, built) = build_fixture("goal_source");
    let build_log = bullet_stream::strip_ansi(
        &built
            .build_output("heroku/release-phase")
            .expect("our buildpack ran")
            .stderr,
    );
    assert!(
        build_log.contains(
            "1. release from Rails migrations: bash -c 'echo migrate >> release-trace.txt'"
        ),
        "{build_log}"
    );
    let store = tempfile::tempdir().unwrap();
    let store_env = file_store(store.path());
    let run = release(&built, &with(&store_env, &[("RELEASE_ID", "v1")]));
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "migrate\n");
    assert!(
        run.stderr
            .contains("[1/1] release from Rails migrations: bash -c"),
        "{}",
        run.stderr
    );
    let record = manage_json(&["show", "v1"], &store_env);
    assert_eq!(record["steps"][0]["source"], "Rails migrations", "{record}");
}

#[test]
fn assess_runs_only_the_checks_and_says_what_would_run() {
    let (app, built) = build_project_toml(
        r#"
        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo migrate >> release-trace.txt"]
        done-when = { command = "bash", args = ["-c", "echo checked >> check-trace.txt; exit ${GOAL:-1}"] }

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo purge >> release-trace.txt"]

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo seed >> release-trace.txt"]
        done-when = { command = "bash", args = ["-c", "exit 3"] }
        "#,
    );
    assert!(built.success(), "{:?}", built.builds);
    for (goal, first) in [
        ("0", "already achieved: its done-when check exited 0."),
        ("1", "would run: its done-when check exited 1."),
    ] {
        let (release, _) = built.launch_command("release", &[("GOAL", goal)]).unwrap();
        let output = Command::new(release.get_program())
            .arg("--assess")
            .args(release.get_args())
            .env_clear()
            .envs(
                release
                    .get_envs()
                    .filter_map(|(name, value)| value.map(|value| (name, value))),
            )
            .current_dir(release.get_current_dir().unwrap())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let lines: Vec<_> = stdout.lines().collect();
        assert_eq!(lines.len(), 6, "{stdout}");
        assert!(
            lines[0].starts_with("1/3. release from project.toml"),
            "{stdout}"
        );
        assert_eq!(lines[1].trim(), first, "{stdout}");
        assert_eq!(
            lines[3].trim(),
            "would run: it has no done-when check.",
            "{stdout}"
        );
        assert_eq!(
            lines[5].trim(),
            "check failed: its done-when check exited with code 3.",
            "{stdout}"
        );
        assert_eq!(trace(app.path()), "", "no command ran");
    }
    assert_eq!(
        std::fs::read_to_string(app.path().join("check-trace.txt")).unwrap(),
        "checked\nchecked\n",
        "each assessment ran the check once"
    );
}

#[test]
fn a_record_that_cannot_be_written_is_a_warning_and_the_release_completes() {
    let (app, built) = build_project_toml(
        r#"
        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo migrate >> release-trace.txt"]
        "#,
    );
    assert!(built.success(), "{:?}", built.builds);
    // A store folder that cannot be made (under a file), then a store without a release id.
    let blocked = format!("file://{}/project.toml/store", app.path().display());
    let cases = [
        (
            vec![
                ("STATIC_ARTIFACTS_URL", blocked.as_str()),
                ("RELEASE_ID", "v1"),
            ],
            "WARNING: Couldn't write the release record ",
        ),
        (
            vec![("STATIC_ARTIFACTS_URL", blocked.as_str())],
            "WARNING: The release record is not kept: ",
        ),
    ];
    for (env, warning) in cases {
        std::fs::remove_file(app.path().join("release-trace.txt")).ok();
        let run = built.launch("release", &env).unwrap();
        assert_eq!(run.status.code(), Some(0), "{env:?}: {}", run.stderr);
        assert_eq!(trace(app.path()), "migrate\n");
        assert!(run.stderr.contains(warning), "{env:?}: {}", run.stderr);
        assert!(
            last_line(&run).contains("Release phase completed in "),
            "{env:?}: the last line stays last: {}",
            run.stderr
        );
    }
}

#[test]
fn history_and_show_read_2000_records_and_print_json() {
    let (_app, built) = build_fixture("goal_source");
    let store = tempfile::tempdir().unwrap();
    let store_env = file_store(store.path());
    let run = release(&built, &with(&store_env, &[("RELEASE_ID", "v1")]));
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    // 2,000 more records, as an operator's store holds after years of releases: copies of this
    // one under other ids, started one second apart.
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.path().join("release-v1.phase.json")).unwrap())
            .unwrap();
    let started = record["started_at_ms"].as_u64().unwrap();
    for n in 0..2_000_u64 {
        record["release_id"] = format!("r{n:04}").into();
        record["started_at_ms"] = (started - 10_000_000 + n * 1_000).into();
        record["ended_at_ms"] = (started - 10_000_000 + n * 1_000 + 500).into();
        std::fs::write(
            store.path().join(format!("release-r{n:04}.phase.json")),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(
        store.path().join("release-notes.phase.json"),
        "not a record",
    )
    .unwrap();

    let history = manage_json(&["history", "--limit", "5"], &store_env);
    assert_eq!(history["total"], 2_002, "{history}");
    let shown: Vec<_> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["release_id"].as_str().unwrap().to_string())
        .collect();
    // Written within the same second or two: newest start first among them.
    assert_eq!(shown.len(), 5, "{history}");
    assert!(shown.contains(&"r1999".to_string()), "{history}");
    assert!(history["records"][0]["duration_ms"].as_u64().is_some());
    let text = manage(&["history"], &store_env);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with(&format!(
            "Release phases in file://{}, newest first (20 of 2002):",
            store.path().display()
        )),
        "{text}"
    );
    assert_eq!(text.lines().count(), 21, "{text}");

    let one = manage_json(&["show", "r0042"], &store_env);
    assert_eq!(one["release_id"], "r0042", "{one}");
    assert_eq!(one["steps"][0]["source"], "Rails migrations", "{one}");
    let bad = manage(&["show", "notes"], &store_env);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a valid release record"), "{stderr}");
}
