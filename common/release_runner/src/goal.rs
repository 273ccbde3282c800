//! One step pursued as a goal: its `done-when` check before and after, its attempts, and the
//! waits between them.

use crate::events::{Event, Events};
use crate::process::{Ended, run_command};
use crate::signals::signal_name;
use crate::{CommandResult, Failure, format_duration};
use release_commands::{ReleaseCommand, Run, StepRecord, now_ms};
use std::io::Write;
use std::time::{Duration, Instant};

/// How a step's goal was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reached {
    /// The command ran (at least once) and the goal is achieved.
    Newly,
    /// The check found the goal achieved before the command ran.
    Already,
}

/// What a `done-when` check says.
enum Verdict {
    Achieved,
    NotAchieved,
}

/// Pursues one step, logging with `prefix` (such as `[2/3] release`) and recording every
/// check and attempt in `record`.
pub(crate) struct Pursuit<'a> {
    pub(crate) events: &'a Events,
    pub(crate) grace: Duration,
    pub(crate) log: &'a mut dyn Write,
    pub(crate) prefix: &'a str,
    pub(crate) record: &'a mut StepRecord,
}

impl Pursuit<'_> {
    /// Runs the step until its goal is reached or it finally fails.
    pub(crate) fn pursue(&mut self, command: &ReleaseCommand) -> Result<Reached, Failure> {
        let check = command.check_command();
        let allowed = command.retries.saturating_add(1);
        for attempt in 1..=allowed {
            if let Some(check) = &check {
                let first = attempt == 1;
                match self.check(check, first.then_some("before it runs"))? {
                    Verdict::Achieved if first => return Ok(Reached::Already),
                    Verdict::Achieved => {
                        self.say(&format!(
                            "{} is achieved after all: its done-when check exited 0 before \
                             attempt {attempt} of {allowed}. Newly achieved.",
                            self.prefix
                        ));
                        return Ok(Reached::Newly);
                    }
                    Verdict::NotAchieved => {}
                }
            }
            let started = Instant::now();
            let ended = self.run(command, &mut |record| &mut record.attempts);
            let took = format_duration(started.elapsed());
            let Ended {
                result,
                interrupted_by,
            } = ended;
            if let (CommandResult::Succeeded, None) = (&result, interrupted_by) {
                let Some(check) = &check else {
                    self.say(&format!(
                        "{} succeeded in {took}: newly achieved.",
                        self.prefix
                    ));
                    return Ok(Reached::Newly);
                };
                return match self.check(check, None)? {
                    Verdict::Achieved => {
                        self.say(&format!(
                            "{} succeeded in {took}, and its done-when check confirms it: newly \
                             achieved.",
                            self.prefix
                        ));
                        Ok(Reached::Newly)
                    }
                    Verdict::NotAchieved => {
                        self.say(&format!(
                            "{} succeeded in {took}, but its goal is not achieved: its done-when \
                             check still exits 1.",
                            self.prefix
                        ));
                        Err(Failure::GoalNotAchieved)
                    }
                };
            }
            let interrupted = interrupted_by
                .map(|signal| format!(" after the release phase received {}", signal_name(signal)))
                .unwrap_or_default();
            let counted = if allowed > 1 {
                format!(" (attempt {attempt} of {allowed})")
            } else {
                String::new()
            };
            let last = attempt == allowed || interrupted_by.is_some() || !result.is_retryable();
            if last {
                self.say(&format!(
                    "{} {result}{interrupted}, after {took}{counted}.",
                    self.prefix
                ));
                if attempt > 1 {
                    self.say(&format!("{} failed after {attempt} attempts.", self.prefix));
                }
                return Err(Failure::Command {
                    result,
                    interrupted_by,
                });
            }
            let wait = jittered(command.retry_wait(attempt + 1));
            self.say(&format!(
                "{} {result}, after {took}{counted}. Retrying in {}.",
                self.prefix,
                format_duration(wait)
            ));
            if let Some(signal) = self.pause(wait) {
                return Err(Failure::Interrupted(signal));
            }
        }
        // The loop returns on its last attempt.
        Err(Failure::GoalNotAchieved)
    }

    /// Runs the `done-when` check; `before` says when, for its log line, on the first run.
    fn check(&mut self, check: &ReleaseCommand, before: Option<&str>) -> Result<Verdict, Failure> {
        let started = Instant::now();
        let ended = self.run(check, &mut |record| &mut record.checks);
        let took = format_duration(started.elapsed());
        match (ended.result, ended.interrupted_by) {
            (CommandResult::Succeeded, None) => {
                if before.is_some() {
                    self.say(&format!(
                        "{} already achieved (skipped): its done-when check exited 0 in {took}.",
                        self.prefix
                    ));
                }
                Ok(Verdict::Achieved)
            }
            (CommandResult::Failed(1), None) => {
                if before.is_some() {
                    self.say(&format!(
                        "{} not achieved yet: its done-when check exited 1 in {took}. Running it.",
                        self.prefix
                    ));
                }
                Ok(Verdict::NotAchieved)
            }
            (result, interrupted_by) => {
                self.say(&format!(
                    "{}: its done-when check {result}, after {took}. A check must exit 0 (the goal \
                     is achieved) or 1 (it is not); any other end leaves the goal unknown, so the \
                     step fails.",
                    self.prefix
                ));
                Err(Failure::Check {
                    result,
                    interrupted_by,
                })
            }
        }
    }

    /// Runs `command` and records the run in the list `runs` picks from the step's record.
    fn run(
        &mut self,
        command: &ReleaseCommand,
        runs: &mut dyn FnMut(&mut StepRecord) -> &mut Vec<Run>,
    ) -> Ended {
        let (started_at_ms, started) = (now_ms(), Instant::now());
        let ended = run_command(command, self.events, self.grace);
        let exit_status = match (&ended.result, ended.interrupted_by) {
            (CommandResult::Succeeded, Some(signal)) => 128 + signal,
            (result, _) => result.exit_status(),
        };
        runs(self.record).push(Run {
            started_at_ms,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            exit_status,
            result: ended.result.to_string(),
        });
        ended
    }

    /// Waits `wait` before a retry; the stopping signal that cut it short, if one did.
    fn pause(&self, wait: Duration) -> Option<i32> {
        let until = Instant::now() + wait;
        loop {
            match self
                .events
                .receiver
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(Event::Signal(signal)) => return Some(signal),
                // No command runs during the wait.
                Ok(Event::Exited(_)) => {}
                Err(_) => return None,
            }
        }
    }

    fn say(&mut self, line: &str) {
        crate::runner::say(self.log, line);
    }
}

/// `wait` with jitter: between half of it and all of it, so that many releases retrying
/// against the same service do not retry in step.
fn jittered(wait: Duration) -> Duration {
    let half = wait / 2;
    half + half.mul_f64(fastrand::f64())
}
