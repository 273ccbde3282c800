//! The main scenarios with `pack` and Docker, through libcnb-test. They need a Docker engine
//! and `pack`, so they are ignored by default: run them with
//! `cargo test -p release-phase --test integration_test -- --ignored`.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use libcnb_test::{BuildConfig, BuildpackReference, ContainerConfig, TestRunner, assert_contains};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const BUILDER: &str = "heroku/builder:24";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from("tests/fixtures").join(name)
}

/// The test-only buildpack that hands commands over and declares `web`, written to a folder.
fn helper_buildpack() -> BuildpackReference {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("integration_test/helper");
    cnb_platform::write_helper_buildpack(&dir).unwrap();
    BuildpackReference::Other(dir.display().to_string())
}

#[test]
#[ignore = "integration test"]
fn without_configuration_nothing_is_added() {
    TestRunner::default().build(BuildConfig::new(BUILDER, fixture("no_config")), |context| {
        assert_contains!(
            context.pack_stdout,
            "Release Phase: no release commands configured in `project.toml` or the Build Plan, nothing to do"
        );
    });
}

#[test]
#[ignore = "integration test"]
fn release_commands_run_in_order() {
    TestRunner::default().build(
        BuildConfig::new(BUILDER, fixture("release_only")),
        |context| {
            assert_contains!(context.pack_stdout, "Release plan, in the order it runs");
            context.start_container(ContainerConfig::new().entrypoint("release"), |container| {
                let logs = container.logs_wait();
                assert_contains!(logs.stdout, "migrating database");
                assert_contains!(logs.stderr, "[1/2] release from project.toml: bash -c");
                assert_contains!(logs.stderr, ": 2 steps newly achieved.");
            });
        },
    );
}

#[test]
#[ignore = "integration test"]
fn release_build_runs_before_release_commands() {
    TestRunner::default().build(
        BuildConfig::new(BUILDER, fixture("release_and_release_build")),
        |context| {
            assert_contains!(
                context.pack_stdout,
                "Static artifacts of `release-build` will be loaded when a `web` process starts"
            );
            context.start_container(ContainerConfig::new().entrypoint("release"), |container| {
                let logs = container.logs_wait();
                assert_contains!(logs.stderr, "[1/2] release-build from project.toml");
                assert_contains!(logs.stderr, "[2/2] release from project.toml");
            });
        },
    );
}

#[test]
#[ignore = "integration test"]
fn commands_from_a_later_buildpack_run_first() {
    TestRunner::default().build(
        BuildConfig::new(BUILDER, fixture("commands_from_buildpack"))
            .buildpacks([BuildpackReference::CurrentCrate, helper_buildpack()]),
        |context| {
            assert_contains!(
                context.pack_stdout,
                "1. release from Test Front-end Buildpack: "
            );
            context.start_container(ContainerConfig::new().entrypoint("release"), |container| {
                let logs = container.logs_wait();
                assert_contains!(logs.stderr, "[1/3] release from Test Front-end Buildpack");
                assert_contains!(logs.stderr, "[2/3] release from Test Cache Warmer");
                assert_contains!(logs.stderr, "[3/3] release from project.toml");
            });
        },
    );
}

#[test]
#[ignore = "integration test"]
fn a_failing_command_stops_the_release() {
    TestRunner::default().build(
        BuildConfig::new(BUILDER, fixture("failing_middle_command")),
        |context| {
            context.start_container(ContainerConfig::new().entrypoint("release"), |container| {
                let logs = container.logs_wait();
                assert_contains!(
                    logs.stderr,
                    "exited with code 3 (exit status 3). The step after it was not run."
                );
            });
        },
    );
}

#[test]
#[ignore = "integration test"]
fn bad_configuration_fails_the_build() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("project.toml"),
        "[[com.heroku.phase.relase]]\ncommand = \"rake\"\n",
    )
    .unwrap();
    TestRunner::default().build(
        BuildConfig::new(BUILDER, app.path())
            .expected_pack_result(libcnb_test::PackResult::Failure),
        |context| {
            assert_contains!(
                context.pack_stdout,
                "`com.heroku.phase.relase` is not a key the release phase knows. Did you mean `release`?"
            );
        },
    );
}

#[test]
#[ignore = "integration test"]
fn static_artifacts_built_at_release_are_served_by_web() {
    // A file:// store shared by the `release` and `web` containers, as S3 would be.
    let store = tempfile::tempdir().unwrap();
    std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let settings = [
        ("STATIC_ARTIFACTS_URL", "file:///workspace/store"),
        ("RELEASE_ID", "itest-1"),
    ];
    TestRunner::default().build(
        BuildConfig::new(BUILDER, fixture("static_artifacts_web"))
            .buildpacks([BuildpackReference::CurrentCrate, helper_buildpack()]),
        |context| {
            context.start_container(
                ContainerConfig::new()
                    .entrypoint("release")
                    .envs(settings)
                    .bind_mount(store.path(), "/workspace/store"),
                |container| {
                    let logs = container.logs_wait();
                    assert_contains!(logs.stderr, "[1/2] release-build from project.toml");
                    assert_contains!(logs.stderr, "Release phase completed");
                },
            );
            let port = 8080;
            context.start_container(
                ContainerConfig::new()
                    .entrypoint("web")
                    .envs(settings)
                    .env("PORT", port.to_string())
                    .expose_port(port)
                    .bind_mount(store.path(), "/workspace/store"),
                |container| {
                    let address = container.address_for_port(port);
                    let index = http_get(address, "/index.html");
                    assert_contains!(index, "<h1>release itest-1</h1>");
                    assert_contains!(http_get(address, "/assets/site.css"), "body{}");
                    assert_eq!(http_get(address, "/loaded-release").trim(), "itest-1");
                    let logs = container.logs_now();
                    assert_contains!(logs.stderr, "itest-1");
                },
            );
        },
    );
}

/// The body of a `GET path` to the server at `address`, which may take a few seconds to start.
fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let attempt = std::net::TcpStream::connect(address).and_then(|mut stream| {
            write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        });
        match attempt {
            Ok(response) if response.starts_with("HTTP/1.0 200") => {
                return response
                    .split_once("\r\n\r\n")
                    .map(|(_, body)| body.to_string())
                    .unwrap_or_default();
            }
            Ok(response) if !response.is_empty() => panic!("GET {path}: {response}"),
            _ if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            other => panic!("GET {path} got no answer within 30 s: {other:?}"),
        }
    }
}
