//! The release sequence: preflight, release-build, upload, release commands, publish.

use crate::events::{Event, Events};
use crate::process::{Ended, run_command};
use crate::signals::signal_name;
use crate::{CommandResult, Failure, ReleaseHooks, format_duration};
use release_commands::{ReleasePlan, Step, StepKind};
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
/// command, `hooks.upload`, each `release` command, then `hooks.publish`. The first failure
/// stops the sequence; the last line logged says whether the release phase completed or failed
/// and why.
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
    let result = run_steps(plan, hooks, options, log);
    match &result {
        Ok(counts) => say(log, &completed_line(counts, started.elapsed())),
        Err((failure, at)) => say(log, &failure_line(failure, at.as_ref(), started.elapsed())),
    }
    result.map(|_| ()).map_err(|(failure, _)| failure)
}

/// How the steps of a completed release phase went.
struct Counts {
    succeeded: usize,
    /// Optional steps that failed.
    optional_failed: usize,
}

fn completed_line(counts: &Counts, took: Duration) -> String {
    let commands = |count: usize| format!("{count} command{}", if count == 1 { "" } else { "s" });
    let took = format_duration(took);
    match counts.optional_failed {
        0 => format!(
            "Release phase completed: {} succeeded in {took}.",
            commands(counts.succeeded)
        ),
        failed => format!(
            "Release phase completed in {took}: {} succeeded, and {} optional {} failed.",
            commands(counts.succeeded),
            failed,
            if failed == 1 { "command" } else { "commands" }
        ),
    }
}

/// Where in the plan a failure happened: "step 2/3 (release from X: cmd)" and how many steps
/// were skipped.
struct FailedAt {
    step: String,
    skipped: usize,
}

type StepFailure = (Failure, Option<FailedAt>);

fn run_steps(
    plan: &ReleasePlan,
    hooks: &mut dyn ReleaseHooks,
    options: &RunOptions,
    log: &mut dyn Write,
) -> Result<Counts, StepFailure> {
    let steps: Vec<Step> = plan.steps().collect();
    let mut counts = Counts {
        succeeded: 0,
        optional_failed: 0,
    };
    let total = steps.len();
    let events = Events::start().map_err(|error| (Failure::Runner(error), None))?;
    say(
        log,
        &format!("Running the release phase: {}.", describe_plan(plan)),
    );

    if plan.release_build.is_some() {
        hooks.preflight(log).map_err(|error| {
            hook_failed(
                error,
                "the preflight check of the artifact store".into(),
                total,
            )
        })?;
    }
    for (index, current) in steps.iter().enumerate() {
        let (number, kind) = (index + 1, current.kind);
        let step = format!("step {number}/{total} ({current})");
        let failed_at = || FailedAt {
            step: step.clone(),
            skipped: total - index,
        };
        if let Some(signal) = pending_signal(&events) {
            return Err((Failure::Interrupted(signal), Some(failed_at())));
        }
        say(log, &format!("[{number}/{total}] {current}"));
        let started = Instant::now();
        let ended = run_command(current.command, &events, options.kill_grace);
        let prefix = format!("[{number}/{total}] {kind}");
        let interrupted = ended.interrupted_by.is_some();
        if let Err(failure) = report_ended(log, ended, &prefix, started.elapsed()) {
            // A signal to the release process stops it, optional or not.
            if current.command.optional && !interrupted {
                say(
                    log,
                    &format!("WARNING: {prefix} is optional: the release phase goes on."),
                );
                counts.optional_failed += 1;
                continue;
            }
            let at = FailedAt {
                step,
                skipped: total - number,
            };
            return Err((failure, Some(at)));
        }
        counts.succeeded += 1;
        if kind == StepKind::ReleaseBuild {
            hooks.upload(log).map_err(|error| {
                hook_failed(error, format!("the upload after {step}"), total - number)
            })?;
        }
    }
    if let Some(signal) = pending_signal(&events) {
        return Err((Failure::Interrupted(signal), None));
    }
    hooks
        .publish(log)
        .map_err(|error| hook_failed(error, "publishing the static artifacts".into(), 0))?;
    Ok(counts)
}

/// Logs how a command ended (`prefix` names its step); its failure, if it failed.
fn report_ended(
    log: &mut dyn Write,
    ended: Ended,
    prefix: &str,
    took: Duration,
) -> Result<(), Failure> {
    let took = format_duration(took);
    if let (CommandResult::Succeeded, None) = (&ended.result, ended.interrupted_by) {
        say(log, &format!("{prefix} succeeded in {took}."));
        return Ok(());
    }
    let interrupted = ended
        .interrupted_by
        .map(|signal| format!(" after the release phase received {}", signal_name(signal)))
        .unwrap_or_default();
    say(
        log,
        &format!("{prefix} {}{interrupted}, after {took}.", ended.result),
    );
    Err(Failure::Command {
        result: ended.result,
        interrupted_by: ended.interrupted_by,
    })
}

fn hook_failed(error: crate::HookError, step: String, skipped: usize) -> StepFailure {
    (Failure::Hook(error), Some(FailedAt { step, skipped }))
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
    match (failure, at) {
        (Failure::Command { result, .. }, Some(at)) => format!(
            "Release phase failed after {took}: {} {result} (exit status {code}).{}",
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
        (Failure::Command { result, .. }, None) => {
            format!("Release phase failed after {took}: {result} (exit status {code}).")
        }
        (Failure::Runner(error), _) => format!(
            "Release phase failed: the runner could not start ({error}) (exit status {code})."
        ),
    }
}

/// Writes one log line and flushes it; a log that cannot be written must not stop the release.
fn say(log: &mut dyn Write, line: &str) {
    let _ = writeln!(log, "[release-phase] {line}");
    let _ = log.flush();
}
