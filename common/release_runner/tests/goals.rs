//! Steps as goals against real processes: `done-when` checks, retries, optional steps, and the
//! record the runner hands to its hooks.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_commands::{
    Check, PhaseOutcome, PhaseRecord, ReleaseCommand, ReleasePlan, StepOutcome, Timeout,
};
use release_runner::{Failure, HookError, ReleaseHooks, RunOptions, run_plan};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn sh(script: &str) -> ReleaseCommand {
    ReleaseCommand {
        command: "sh".into(),
        args: vec!["-c".into(), script.into()],
        source: "test".into(),
        ..ReleaseCommand::default()
    }
}

fn check(script: &str) -> Check {
    Check {
        command: "sh".into(),
        args: vec!["-c".into(), script.into()],
    }
}

/// Keeps every record the runner hands over.
#[derive(Default)]
struct Records(Vec<PhaseRecord>);

impl ReleaseHooks for Records {
    fn preflight(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        Ok(())
    }
    fn upload(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        Ok(())
    }
    fn publish(&mut self, _log: &mut dyn Write) -> Result<(), HookError> {
        Ok(())
    }
    fn record(&mut self, record: &PhaseRecord, _log: &mut dyn Write) {
        self.0.push(record.clone());
    }
}

struct Ran {
    result: Result<(), Failure>,
    log: String,
    /// The record at the start, and at the end.
    records: Vec<PhaseRecord>,
}

impl Ran {
    fn last_record(&self) -> &PhaseRecord {
        self.records.last().unwrap()
    }

    fn outcomes(&self) -> Vec<StepOutcome> {
        self.last_record()
            .steps
            .iter()
            .map(|step| step.outcome)
            .collect()
    }

    fn exit_code(&self) -> i32 {
        self.result.as_ref().map_or_else(Failure::exit_code, |()| 0)
    }
}

fn run(commands: Vec<ReleaseCommand>) -> Ran {
    let plan = ReleasePlan {
        release: commands,
        release_build: None,
    };
    let mut records = Records::default();
    let mut log = Vec::new();
    let options = RunOptions {
        kill_grace: Duration::from_secs(1),
    };
    let result = run_plan(&plan, &mut records, &options, &mut log);
    Ran {
        result,
        log: String::from_utf8(log).unwrap(),
        records: records.0,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A migration-like step: it creates `marker`, and its check asks whether `marker` exists.
fn migration(dir: &Path) -> ReleaseCommand {
    let (marker, trace) = (dir.join("migrated"), dir.join("trace"));
    ReleaseCommand {
        done_when: Some(check(&format!("test -e '{}'", marker.display()))),
        ..sh(&format!(
            "echo migrate >> '{}' && touch '{}'",
            trace.display(),
            marker.display()
        ))
    }
}

#[test]
fn a_step_with_done_when_runs_once_and_is_skipped_when_its_goal_is_already_achieved() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(vec![migration(dir.path())]);
    assert!(first.result.is_ok(), "{}", first.log);
    assert!(
        first
            .log
            .contains("[1/1] release not achieved yet: its done-when check exited 1 in "),
        "{}",
        first.log
    );
    assert!(
        first
            .log
            .contains("and its done-when check confirms it: newly achieved."),
        "{}",
        first.log
    );
    assert_eq!(first.outcomes(), [StepOutcome::NewlyAchieved]);
    let step = &first.last_record().steps[0];
    assert_eq!(step.checks.len(), 2, "checked before and after");
    assert_eq!(
        step.checks
            .iter()
            .map(|c| c.exit_status)
            .collect::<Vec<_>>(),
        [1, 0]
    );
    assert_eq!(step.attempts.len(), 1);

    let second = run(vec![migration(dir.path())]);
    assert!(second.result.is_ok(), "{}", second.log);
    assert_eq!(read(&dir.path().join("trace")), "migrate\n", "it ran once");
    assert!(
        second
            .log
            .contains("[1/1] release already achieved (skipped): its done-when check exited 0 in "),
        "{}",
        second.log
    );
    assert!(
        second
            .log
            .lines()
            .last()
            .unwrap()
            .ends_with(": 0 steps newly achieved, 1 already achieved (skipped)."),
        "{}",
        second.log
    );
    assert_eq!(second.outcomes(), [StepOutcome::AlreadyAchieved]);
    assert!(second.last_record().steps[0].attempts.is_empty());
}

#[test]
fn a_goal_still_not_achieved_after_its_command_fails_the_release_and_nothing_after_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let never = ReleaseCommand {
        done_when: Some(check("exit 1")),
        ..sh("true")
    };
    let ran = run(vec![
        never,
        sh(&format!("echo after >> '{}'", trace.display())),
    ]);
    assert_eq!(ran.exit_code(), 1, "{}", ran.log);
    assert_eq!(read(&trace), "", "the step after it did not run");
    assert!(
        ran.log.contains("[1/2] release succeeded in ")
            && ran
                .log
                .contains(", but its goal is not achieved: its done-when check still exits 1."),
        "{}",
        ran.log
    );
    assert!(
        ran.log.lines().last().unwrap().contains(
            "succeeded, but its goal is not achieved: its done-when check still exits 1 (exit status 1). The step after it was not run."
        ),
        "{}",
        ran.log
    );
    assert_eq!(ran.outcomes(), [StepOutcome::Failed, StepOutcome::NotRun]);
    assert_eq!(ran.last_record().outcome, PhaseOutcome::Failed);
    assert_eq!(ran.last_record().exit_status, Some(1));
}

#[test]
fn a_check_that_cannot_tell_fails_the_step_with_its_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let cases = [
        (
            Some(check("exit 2")),
            None,
            2,
            "its done-when check exited with code 2",
        ),
        (
            Some(check("sleep 30")),
            Timeout::from_secs(1).ok(),
            124,
            "its done-when check timed out after 1.00s",
        ),
        (
            Some(Check {
                command: "no-such-check-here".into(),
                args: vec![],
            }),
            None,
            127,
            "its done-when check could not be started: the program was not found",
        ),
        (
            Some(check("kill -9 $$")),
            None,
            137,
            "its done-when check was killed by signal 9",
        ),
    ];
    for (done_when, timeout, code, says) in cases {
        let step = ReleaseCommand {
            done_when,
            timeout,
            ..sh(&format!("echo ran >> '{}'", trace.display()))
        };
        let ran = run(vec![
            step,
            sh(&format!("echo after >> '{}'", trace.display())),
        ]);
        assert_eq!(ran.exit_code(), code, "{}", ran.log);
        assert!(ran.log.contains(says), "{says}: {}", ran.log);
        assert!(
            ran.log
                .contains("A check must exit 0 (the goal is achieved) or 1 (it is not)"),
            "{}",
            ran.log
        );
        assert_eq!(ran.outcomes(), [StepOutcome::Failed, StepOutcome::NotRun]);
        assert_eq!(read(&trace), "", "neither the step nor the next one ran");
    }
}

/// A command that fails (with code 3) until it has run `succeed_on` times.
fn flaky(dir: &Path, succeed_on: u32, retries: u32) -> ReleaseCommand {
    let count = dir.join("count");
    ReleaseCommand {
        retries,
        retry_delay: Timeout::from_secs(1).ok(),
        ..sh(&format!(
            "echo x >> '{count}'; test $(wc -l < '{count}') -ge {succeed_on} || exit 3",
            count = count.display()
        ))
    }
}

#[test]
fn a_failed_attempt_is_retried_as_often_as_retries_allow() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(vec![flaky(dir.path(), 3, 2)]);
    assert!(ran.result.is_ok(), "{}", ran.log);
    assert!(
        ran.log.contains("[1/1] release exited with code 3, after ")
            && ran.log.contains(" (attempt 1 of 3). Retrying in ")
            && ran.log.contains(" (attempt 2 of 3). Retrying in "),
        "{}",
        ran.log
    );
    let step = &ran.last_record().steps[0];
    assert_eq!(step.outcome, StepOutcome::NewlyAchieved);
    assert_eq!(
        step.attempts
            .iter()
            .map(|a| a.exit_status)
            .collect::<Vec<_>>(),
        [3, 3, 0]
    );
    // The second wait (about 2 s, with jitter) is longer than the first (about 1 s).
    let gap = |a: usize| {
        let (before, after) = (&step.attempts[a], &step.attempts[a + 1]);
        after.started_at_ms - (before.started_at_ms + before.duration_ms)
    };
    assert!((500..=2_000).contains(&gap(0)), "first wait {} ms", gap(0));
    assert!(
        (1_000..=3_000).contains(&gap(1)),
        "second wait {} ms",
        gap(1)
    );

    let dir = tempfile::tempdir().unwrap();
    let ran = run(vec![flaky(dir.path(), 3, 1)]);
    assert_eq!(ran.exit_code(), 3, "the command's own code: {}", ran.log);
    assert!(
        ran.log.contains("[1/1] release failed after 2 attempts."),
        "{}",
        ran.log
    );
    assert!(
        ran.log
            .lines()
            .last()
            .unwrap()
            .contains("exited with code 3 after 2 attempts (exit status 3)."),
        "{}",
        ran.log
    );
    assert_eq!(ran.last_record().steps[0].attempts.len(), 2);
}

#[test]
fn with_done_when_the_check_runs_before_each_retry_and_ends_the_step_when_achieved() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("done");
    // Achieves its goal, then fails (a migration whose connection drops after commit).
    let step = ReleaseCommand {
        retries: 3,
        retry_delay: Timeout::from_secs(1).ok(),
        done_when: Some(check(&format!("test -e '{}'", marker.display()))),
        ..sh(&format!("touch '{}'; exit 75", marker.display()))
    };
    let ran = run(vec![step]);
    assert!(ran.result.is_ok(), "{}", ran.log);
    assert!(
        ran.log.contains(
            "[1/1] release is achieved after all: its done-when check exited 0 before attempt 2 of 4. Newly achieved."
        ),
        "{}",
        ran.log
    );
    let step = &ran.last_record().steps[0];
    assert_eq!(step.outcome, StepOutcome::NewlyAchieved);
    assert_eq!(step.attempts.len(), 1);
    assert_eq!(
        step.checks
            .iter()
            .map(|c| c.exit_status)
            .collect::<Vec<_>>(),
        [1, 0]
    );
}

#[test]
fn a_missing_program_is_not_retried() {
    let ran = run(vec![ReleaseCommand {
        command: "no-such-program-here".into(),
        retries: 5,
        ..sh("")
    }]);
    assert_eq!(ran.exit_code(), 127, "{}", ran.log);
    assert_eq!(ran.last_record().steps[0].attempts.len(), 1);
    assert!(!ran.log.contains("Retrying"), "{}", ran.log);
}

#[test]
fn an_optional_step_that_finally_fails_lets_the_release_complete_and_the_record_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let optional = ReleaseCommand {
        optional: true,
        ..flaky(dir.path(), 10, 1)
    };
    let ran = run(vec![
        optional,
        sh(&format!("echo after >> '{}'", trace.display())),
    ]);
    assert!(ran.result.is_ok(), "{}", ran.log);
    assert_eq!(read(&trace), "after\n");
    assert!(
        ran.log.contains(
            "[1/2] release failed after 2 attempts.\n[release-phase] WARNING: [1/2] release is optional, failed: the release phase goes on.\n"
        ),
        "{}",
        ran.log
    );
    assert!(
        ran.log
            .lines()
            .last()
            .unwrap()
            .ends_with(": 1 step newly achieved, 1 optional step failed."),
        "{}",
        ran.log
    );
    let record = ran.last_record();
    assert_eq!(record.outcome, PhaseOutcome::Completed);
    assert_eq!(record.exit_status, Some(0));
    assert_eq!(
        ran.outcomes(),
        [StepOutcome::OptionalFailed, StepOutcome::NewlyAchieved]
    );
}

#[test]
fn the_record_is_handed_over_at_the_start_and_at_the_end() {
    let ran = run(vec![sh("true"), sh("exit 4"), sh("true")]);
    assert_eq!(ran.exit_code(), 4);
    assert_eq!(ran.records.len(), 2, "{}", ran.log);
    let (start, end) = (&ran.records[0], &ran.records[1]);
    assert_eq!(start.outcome, PhaseOutcome::Running);
    assert_eq!(start.ended_at_ms, None);
    assert!(
        start
            .steps
            .iter()
            .all(|step| step.outcome == StepOutcome::NotRun && step.attempts.is_empty())
    );
    assert_eq!(end.outcome, PhaseOutcome::Failed);
    assert_eq!(end.exit_status, Some(4));
    assert!(end.ended_at_ms.unwrap() >= end.started_at_ms);
    assert_eq!(
        end.reason.as_deref(),
        ran.log
            .lines()
            .last()
            .unwrap()
            .strip_prefix("[release-phase] ")
    );
    assert_eq!(
        ran.outcomes(),
        [
            StepOutcome::NewlyAchieved,
            StepOutcome::Failed,
            StepOutcome::NotRun
        ]
    );
    assert_eq!(
        end.failed_step()
            .map(|(n, step)| (n, step.command.as_str())),
        Some((2, "sh -c 'exit 4'"))
    );
}
