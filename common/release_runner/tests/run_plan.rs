//! The runner against real processes: order, stopping, exit statuses, timeouts and hooks.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_commands::{ReleaseCommand, ReleasePlan, Timeout};
use release_runner::{Failure, HookError, NoArtifacts, ReleaseHooks, RunOptions, run_plan};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn sh(script: &str) -> ReleaseCommand {
    ReleaseCommand {
        command: "sh".into(),
        args: vec!["-c".into(), script.into()],
        timeout: None,
        source: "test".into(),
        ..ReleaseCommand::default()
    }
}

fn with_timeout(command: ReleaseCommand, secs: u64) -> ReleaseCommand {
    ReleaseCommand {
        timeout: Timeout::from_secs(secs).ok(),
        ..command
    }
}

fn run(
    plan: &ReleasePlan,
    hooks: &mut dyn ReleaseHooks,
    grace: Duration,
) -> (Result<(), Failure>, String) {
    let mut log = Vec::new();
    let result = run_plan(plan, hooks, &RunOptions { kill_grace: grace }, &mut log);
    (result, String::from_utf8(log).unwrap())
}

fn release(commands: Vec<ReleaseCommand>) -> ReleasePlan {
    ReleasePlan {
        release: commands,
        release_build: None,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn runs_release_build_then_release_commands_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let step = |name: &str| sh(&format!("echo {name} >> '{}'", trace.display()));
    let plan = ReleasePlan {
        release: vec![step("first"), step("second")],
        release_build: Some(step("build")),
    };
    let (result, log) = run(&plan, &mut NoArtifacts, Duration::from_secs(1));
    assert!(result.is_ok(), "{log}");
    assert_eq!(read(&trace), "build\nfirst\nsecond\n");
    assert!(
        log.contains("[1/3] release-build from test: sh -c"),
        "{log}"
    );
    assert!(log.contains("[3/3] release succeeded in "), "{log}");
    assert!(log.contains("s: newly achieved.\n"), "{log}");
    assert!(
        log.lines()
            .last()
            .unwrap()
            .strip_prefix("[release-phase] Release phase completed in ")
            .is_some_and(|rest| rest.ends_with(": 3 steps newly achieved.")),
        "{log}"
    );
}

#[test]
fn stops_at_the_first_failure_and_keeps_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let plan = release(vec![
        sh(&format!("echo one >> '{}'", trace.display())),
        sh("exit 3"),
        sh(&format!("echo three >> '{}'", trace.display())),
    ]);
    let (result, log) = run(&plan, &mut NoArtifacts, Duration::from_secs(1));
    let failure = result.unwrap_err();
    assert_eq!(failure.exit_code(), 3);
    assert_eq!(read(&trace), "one\n");
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("step 2/3 (release from test: sh -c 'exit 3') exited with code 3 (exit status 3). The step after it was not run."),
        "{log}"
    );
}

#[test]
fn an_optional_command_that_fails_is_a_warning_and_the_release_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let optional = ReleaseCommand {
        optional: true,
        ..sh("exit 3")
    };
    let plan = release(vec![
        sh(&format!("echo one >> '{}'", trace.display())),
        optional,
        sh(&format!("echo three >> '{}'", trace.display())),
    ]);
    let (result, log) = run(&plan, &mut NoArtifacts, Duration::from_secs(1));
    assert!(result.is_ok(), "{log}");
    assert_eq!(read(&trace), "one\nthree\n", "the step after it ran");
    assert!(
        log.contains("[2/3] release from test: sh -c 'exit 3' (optional)\n"),
        "{log}"
    );
    assert!(
        log.contains("[2/3] release exited with code 3, after "),
        "{log}"
    );
    assert!(
        log.contains("WARNING: [2/3] release is optional, failed: the release phase goes on.\n"),
        "{log}"
    );
    let last = log.lines().last().unwrap();
    assert!(
        last.starts_with("[release-phase] Release phase completed in ")
            && last.ends_with(": 2 steps newly achieved, 1 optional step failed."),
        "{log}"
    );
}

#[test]
fn a_command_killed_by_a_signal_gives_128_plus_the_signal() {
    let (result, log) = run(
        &release(vec![sh("kill -9 $$")]),
        &mut NoArtifacts,
        Duration::from_secs(1),
    );
    assert_eq!(result.unwrap_err().exit_code(), 137, "{log}");
    assert!(log.contains("was killed by signal 9 (SIGKILL)"), "{log}");
}

#[test]
fn a_command_past_its_timeout_is_stopped_with_sigterm_and_gives_124() {
    let started = Instant::now();
    let (result, log) = run(
        &release(vec![with_timeout(sh("sleep 30"), 1), sh("echo never")]),
        &mut NoArtifacts,
        Duration::from_secs(20),
    );
    assert_eq!(result.unwrap_err().exit_code(), 124, "{log}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "SIGTERM alone must stop `sleep`"
    );
    assert!(
        log.contains("timed out after 1.00s and was stopped with SIGTERM"),
        "{log}"
    );
    assert!(!log.contains("[2/2]"), "{log}");
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let child_pid = dir.path().join("pid");
    // The background `sleep` shares the command's process group, so it must die too.
    let script = format!(
        "trap '' TERM; sleep 30 & echo $! > '{}'; wait",
        child_pid.display()
    );
    let (result, log) = run(
        &release(vec![with_timeout(sh(&script), 1)]),
        &mut NoArtifacts,
        Duration::from_millis(300),
    );
    assert_eq!(result.unwrap_err().exit_code(), 124, "{log}");
    assert!(
        log.contains("was killed with SIGKILL because SIGTERM did not stop it"),
        "{log}"
    );
    let pid: u32 = read(&child_pid).trim().parse().unwrap();
    assert!(
        cnb_platform::wait_until_process_ends(pid, Duration::from_secs(5)),
        "the command's child {pid} outlived SIGKILL"
    );
}

#[test]
fn a_missing_program_gives_127() {
    let plan = release(vec![ReleaseCommand {
        command: "no-such-program-here".into(),
        args: vec![],
        timeout: None,
        source: "project.toml".into(),
        ..ReleaseCommand::default()
    }]);
    let (result, log) = run(&plan, &mut NoArtifacts, Duration::from_secs(1));
    assert_eq!(result.unwrap_err().exit_code(), 127);
    assert!(
        log.contains("could not be started: the program was not found"),
        "{log}"
    );
    assert!(
        log.contains("Check that it is installed in the image and on PATH"),
        "{log}"
    );
}

#[test]
fn a_program_that_is_not_executable_gives_127() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\ntrue\n").unwrap();
    let plan = release(vec![ReleaseCommand {
        command: script.display().to_string(),
        args: vec![],
        timeout: None,
        source: "project.toml".into(),
        ..ReleaseCommand::default()
    }]);
    let (result, log) = run(&plan, &mut NoArtifacts, Duration::from_secs(1));
    assert_eq!(result.unwrap_err().exit_code(), 127);
    assert!(
        log.contains("Check that the program is executable"),
        "{log}"
    );
}

/// Records the order of hook calls and fails the one named in `fail`.
struct Recording<'a> {
    fail: Option<&'static str>,
    trace: &'a Path,
}

impl Recording<'_> {
    fn step(&mut self, name: &'static str, log: &mut dyn Write) -> Result<(), HookError> {
        let mut trace = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.trace)
            .unwrap();
        writeln!(trace, "{name}").unwrap();
        writeln!(log, "hook {name}").unwrap();
        if self.fail == Some(name) {
            Err(HookError::new(format!("{name} broke")))
        } else {
            Ok(())
        }
    }
}

impl ReleaseHooks for Recording<'_> {
    fn preflight(&mut self, log: &mut dyn Write) -> Result<(), HookError> {
        self.step("preflight", log)
    }
    fn upload(&mut self, log: &mut dyn Write) -> Result<(), HookError> {
        self.step("upload", log)
    }
    fn publish(&mut self, log: &mut dyn Write) -> Result<(), HookError> {
        self.step("publish", log)
    }
}

#[test]
fn hooks_run_around_the_commands_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let step = |name: &str| sh(&format!("echo {name} >> '{}'", trace.display()));
    let plan = ReleasePlan {
        release: vec![step("migrate")],
        release_build: Some(step("build")),
    };
    let mut hooks = Recording {
        fail: None,
        trace: &trace,
    };
    let (result, log) = run(&plan, &mut hooks, Duration::from_secs(1));
    assert!(result.is_ok(), "{log}");
    assert_eq!(read(&trace), "preflight\nbuild\nupload\nmigrate\npublish\n");
}

#[test]
fn without_release_build_there_is_no_preflight_or_upload() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let plan = release(vec![sh(&format!("echo migrate >> '{}'", trace.display()))]);
    let mut hooks = Recording {
        fail: None,
        trace: &trace,
    };
    let (result, log) = run(&plan, &mut hooks, Duration::from_secs(1));
    assert!(result.is_ok(), "{log}");
    assert_eq!(read(&trace), "migrate\npublish\n");
}

#[test]
fn a_failing_hook_stops_the_release_where_it_fails() {
    for (fail, expected_trace, expected_line) in [
        (
            "preflight",
            "preflight\n",
            "the preflight check of the artifact store failed: preflight broke (exit status 1). The 2 steps after it were not run.",
        ),
        (
            "upload",
            "preflight\nbuild\nupload\n",
            "the upload after step 1/2 (release-build from test: sh -c",
        ),
        (
            "publish",
            "preflight\nbuild\nupload\nmigrate\npublish\n",
            "publishing the static artifacts failed: publish broke (exit status 1).",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("trace");
        let step = |name: &str| sh(&format!("echo {name} >> '{}'", trace.display()));
        let plan = ReleasePlan {
            release: vec![step("migrate")],
            release_build: Some(step("build")),
        };
        let mut hooks = Recording {
            fail: Some(fail),
            trace: &trace,
        };
        let (result, log) = run(&plan, &mut hooks, Duration::from_secs(1));
        assert_eq!(result.unwrap_err().exit_code(), 1, "{log}");
        assert_eq!(read(&trace), expected_trace, "{fail}");
        assert!(
            log.lines().last().unwrap().contains(expected_line),
            "{fail}: {log}"
        );
    }
}
