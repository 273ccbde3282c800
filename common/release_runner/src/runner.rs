//! The release sequence: preflight, release-build, upload, release commands, publish.

use crate::events::{Event, Events};
use crate::goal::{Pursuit, Reached};
use crate::signals::signal_name;
use crate::{Failure, ReleaseHooks, format_duration};
use release_commands::{
    Check, PhaseOutcome, PhaseRecord, ReleasePlan, Step, StepKind, StepOutcome, StepRecord, now_ms,
};
use std::io::Write;
use std::time::{Duration, Instant};

/// How the runner treats commands.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How long a command may take to stop after SIGTERM before it gets SIGKILL.
    pub kill_grace: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            kill_grace: Duration::from_secs(10),
        }
    }
}

/// Runs `plan`, logging each step to `log`, and returns why it failed, if it did.
///
/// The order is: `hooks.preflight` (only with a `release-build` command), the `release-build`
/// command, `hooks.upload`, each `release` command, then `hooks.publish`. Each step is pursued
/// as a goal: its `done-when` check may find it already achieved, a failed attempt is retried
/// as its `retries` allow, and an optional step's failure lets the release go on. The first
/// other failure stops the sequence; the last line logged says whether the release phase
/// completed or failed and why. `hooks.record` receives the [`PhaseRecord`] at the start and at
/// the end.
///
/// # Errors
///
/// Returns the [`Failure`] that stopped the release; [`Failure::exit_code`] gives the exit
/// status for it.
pub fn run_plan(
    plan: &ReleasePlan,
    hooks: &mut dyn ReleaseHooks,
    options: &RunOptions,
    log: &mut dyn Write,
) -> Result<(), Failure> {
    let started = Instant::now();
    let mut record = PhaseRecord {
        release_id: String::new(),
        started_at_ms: now_ms(),
        ended_at_ms: None,
        outcome: PhaseOutcome::Running,
        exit_status: None,
        reason: None,
        steps: plan.steps().map(|step| step_record(&step)).collect(),
    };
    let result = run_steps(plan, hooks, options, log, &mut record);
    let last = match &result {
        Ok(()) => completed_line(&record.steps, started.elapsed()),
        Err((failure, at)) => failure_line(failure, at.as_ref(), started.elapsed()),
    };
    record.ended_at_ms = Some(now_ms());
    match &result {
        Ok(()) => {
            record.outcome = PhaseOutcome::Completed;
            record.exit_status = Some(0);
        }
        Err((failure, _)) => {
            record.outcome = PhaseOutcome::Failed;
            record.exit_status = Some(failure.exit_code());
            record.reason = Some(last.clone());
        }
    }
    // Before the last line, which stays last even when the record cannot be written.
    hooks.record(&record, log);
    say(log, &last);
    result.map_err(|(failure, _)| failure)
}

fn step_record(step: &Step) -> StepRecord {
    StepRecord {
        kind: step.kind,
        source: step.command.source.clone(),
        command: step.command.command_line(),
        done_when: step.command.done_when.as_ref().map(Check::command_line),
        optional: step.command.optional,
        outcome: StepOutcome::NotRun,
        attempts: Vec::new(),
        checks: Vec::new(),
    }
}

/// The last line of a completed release phase: how many steps were newly achieved, already
/// achieved, and optional and failed.
fn completed_line(steps: &[StepRecord], took: Duration) -> String {
    let count = |outcome| steps.iter().filter(|step| step.outcome == outcome).count();
    let plural =
        |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    let (newly, already, optional_failed) = (
        count(StepOutcome::NewlyAchieved),
        count(StepOutcome::AlreadyAchieved),
        count(StepOutcome::OptionalFailed),
    );
    let mut parts = vec![format!("{} newly achieved", plural(newly, "step"))];
    if already > 0 {
        parts.push(format!("{already} already achieved (skipped)"));
    }
    if optional_failed > 0 {
        parts.push(format!(
            "{} failed",
            plural(optional_failed, "optional step")
        ));
    }
    format!(
        "Release phase completed in {}: {}.",
        format_duration(took),
        parts.join(", ")
    )
}

/// Where in the plan a failure happened: "step 2/3 (release from X: cmd)", how many steps
/// were skipped, and how many attempts the step made.
struct FailedAt {
    step: String,
    skipped: usize,
    attempts: usize,
}

type StepFailure = (Failure, Option<FailedAt>);

fn run_steps(
    plan: &ReleasePlan,
    hooks: &mut dyn ReleaseHooks,
    options: &RunOptions,
    log: &mut dyn Write,
    record: &mut PhaseRecord,
) -> Result<(), StepFailure> {
    let steps: Vec<Step> = plan.steps().collect();
    let total = steps.len();
    let events = Events::start().map_err(|error| (Failure::Runner(error), None))?;
    say(
        log,
        &format!("Running the release phase: {}.", describe_plan(plan)),
    );
    hooks.record(record, log);

    if plan.release_build.is_some() {
        hooks.preflight(log).map_err(|error| {
            hook_failed(
                error,
                "the preflight check of the artifact store".into(),
                total,
            )
        })?;
    }
    for (index, (current, step_record)) in steps.iter().zip(&mut record.steps).enumerate() {
        let (number, kind) = (index + 1, current.kind);
        let step = format!("step {number}/{total} ({current})");
        if let Some(signal) = pending_signal(&events) {
            let at = FailedAt {
                step,
                skipped: total - index,
                attempts: 0,
            };
            return Err((Failure::Interrupted(signal), Some(at)));
        }
        say(log, &format!("[{number}/{total}] {current}"));
        let prefix = format!("[{number}/{total}] {kind}");
        let reached = Pursuit {
            events: &events,
            grace: options.kill_grace,
            log: &mut *log,
            prefix: &prefix,
            record: &mut *step_record,
        }
        .pursue(current.command);
        let reached = match reached {
            Ok(reached) => reached,
            // A signal to the release process stops it, optional or not.
            Err(failure) if current.command.optional && !is_interrupted(&failure) => {
                step_record.outcome = StepOutcome::OptionalFailed;
                say(
                    log,
                    &format!("WARNING: {prefix} is optional, failed: the release phase goes on."),
                );
                continue;
            }
            Err(failure) => {
                step_record.outcome = StepOutcome::Failed;
                let at = FailedAt {
                    step,
                    skipped: total - number,
                    attempts: step_record.attempts.len(),
                };
                return Err((failure, Some(at)));
            }
        };
        step_record.outcome = match reached {
            Reached::Newly => StepOutcome::NewlyAchieved,
            Reached::Already => StepOutcome::AlreadyAchieved,
        };
        match (kind, reached) {
            (StepKind::ReleaseBuild, Reached::Newly) => hooks.upload(log).map_err(|error| {
                hook_failed(error, format!("the upload after {step}"), total - number)
            })?,
            (StepKind::ReleaseBuild, Reached::Already) => say(
                log,
                &format!(
                    "{prefix}: its goal was already achieved, so nothing new is uploaded; \
                     publishing needs this release's artifacts in the store."
                ),
            ),
            (StepKind::Release, _) => {}
        }
    }
    if let Some(signal) = pending_signal(&events) {
        return Err((Failure::Interrupted(signal), None));
    }
    hooks
        .publish(log)
        .map_err(|error| hook_failed(error, "publishing the static artifacts".into(), 0))
}

/// Whether the failure comes from a signal sent to the release process.
fn is_interrupted(failure: &Failure) -> bool {
    match failure {
        Failure::Interrupted(_) => true,
        Failure::Command { interrupted_by, .. } | Failure::Check { interrupted_by, .. } => {
            interrupted_by.is_some()
        }
        Failure::Hook(error) => error.signal.is_some(),
        Failure::GoalNotAchieved | Failure::Runner(_) => false,
    }
}

fn hook_failed(error: crate::HookError, step: String, skipped: usize) -> StepFailure {
    let at = FailedAt {
        step,
        skipped,
        attempts: 0,
    };
    (Failure::Hook(error), Some(at))
}

/// A signal received while no command was running, if any.
fn pending_signal(events: &Events) -> Option<i32> {
    events.receiver.try_iter().find_map(|event| match event {
        Event::Signal(signal) => Some(signal),
        Event::Exited(_) => None,
    })
}

fn describe_plan(plan: &ReleasePlan) -> String {
    let release = match plan.release.len() {
        0 => "no release commands".to_string(),
        1 => "1 release command".to_string(),
        count => format!("{count} release commands"),
    };
    if plan.release_build.is_some() {
        format!("release-build, then {release}")
    } else {
        release
    }
}

fn failure_line(failure: &Failure, at: Option<&FailedAt>, elapsed: Duration) -> String {
    let code = failure.exit_code();
    let took = format_duration(elapsed);
    let skipped = |at: &FailedAt| match at.skipped {
        0 => String::new(),
        1 => " The step after it was not run.".to_string(),
        count => format!(" The {count} steps after it were not run."),
    };
    let attempts = |at: &FailedAt| match at.attempts {
        0 | 1 => String::new(),
        count => format!(" after {count} attempts"),
    };
    match (failure, at) {
        (Failure::Command { result, .. }, Some(at)) => format!(
            "Release phase failed after {took}: {} {result}{} (exit status {code}).{}",
            at.step,
            attempts(at),
            skipped(at)
        ),
        (Failure::Check { result, .. }, Some(at)) => format!(
            "Release phase failed after {took}: the done-when check of {} {result}, so whether \
             its goal is achieved is unknown (exit status {code}).{}",
            at.step,
            skipped(at)
        ),
        (Failure::GoalNotAchieved, Some(at)) => format!(
            "Release phase failed after {took}: {} succeeded, but its goal is not achieved: its \
             done-when check still exits 1 (exit status {code}).{}",
            at.step,
            skipped(at)
        ),
        (Failure::Interrupted(signal), Some(at)) => format!(
            "Release phase failed after {took}: interrupted by {} before {} (exit status {code}).",
            signal_name(*signal),
            at.step,
        ),
        (Failure::Interrupted(signal), None) => format!(
            "Release phase failed after {took}: interrupted by {} (exit status {code}).",
            signal_name(*signal)
        ),
        (Failure::Hook(error), Some(at)) => format!(
            "Release phase failed after {took}: {} failed: {error} (exit status {code}).{}",
            at.step,
            skipped(at)
        ),
        (Failure::Hook(error), None) => {
            format!("Release phase failed after {took}: {error} (exit status {code}).")
        }
        (Failure::Command { result, .. } | Failure::Check { result, .. }, None) => {
            format!("Release phase failed after {took}: {result} (exit status {code}).")
        }
        (Failure::GoalNotAchieved, None) => format!(
            "Release phase failed after {took}: a goal is not achieved (exit status {code})."
        ),
        (Failure::Runner(error), _) => format!(
            "Release phase failed: the runner could not start ({error}) (exit status {code})."
        ),
    }
}

/// Writes one log line and flushes it; a log that cannot be written must not stop the release.
pub(crate) fn say(log: &mut dyn Write, line: &str) {
    let _ = writeln!(log, "[release-phase] {line}");
    let _ = log.flush();
}
