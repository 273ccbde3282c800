//! `--assess`: which goals of a plan are already achieved, found by running only their
//! `done-when` checks.

use crate::events::Events;
use crate::process::run_command;
use crate::{CommandResult, RunOptions, signal_name};
use release_commands::ReleasePlan;
use std::io::Write;

/// What a step's check says about it, without running its command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assessment {
    /// Its check exited 0: the release phase would skip it.
    AlreadyAchieved,
    /// Its check exited 1, or it has no check: the release phase would run it.
    WouldRun,
    /// Its check ended otherwise: the release phase would fail at it.
    CheckFailed,
}

/// Runs the `done-when` check of each step in order (no command), writing one line per step to
/// `out`: "already achieved", "would run" or "check failed", with the reason. Returns each
/// step's assessment. A check may depend on what earlier steps would have done (a migration
/// check before the migration ran), so this tells what a release phase would find now.
///
/// # Errors
///
/// Returns an error when signals cannot be caught.
pub fn assess_plan(
    plan: &ReleasePlan,
    options: &RunOptions,
    out: &mut dyn Write,
) -> std::io::Result<Vec<Assessment>> {
    let events = Events::start()?;
    let mut assessments = Vec::new();
    let total = plan.steps().count();
    for (index, step) in plan.steps().enumerate() {
        let (assessment, why) = match step.command.check_command() {
            None => (
                Assessment::WouldRun,
                "it has no done-when check".to_string(),
            ),
            Some(check) => {
                let ended = run_command(&check, &events, options.kill_grace);
                match (ended.result, ended.interrupted_by) {
                    (_, Some(signal)) => {
                        let _ = writeln!(
                            out,
                            "{}/{total}. {step}\n     stopped: the assessment received {}.",
                            index + 1,
                            signal_name(signal)
                        );
                        break;
                    }
                    (CommandResult::Succeeded, None) => (
                        Assessment::AlreadyAchieved,
                        "its done-when check exited 0".to_string(),
                    ),
                    (CommandResult::Failed(1), None) => (
                        Assessment::WouldRun,
                        "its done-when check exited 1".to_string(),
                    ),
                    (result, None) => (
                        Assessment::CheckFailed,
                        format!("its done-when check {result}"),
                    ),
                }
            }
        };
        let verdict = match assessment {
            Assessment::AlreadyAchieved => "already achieved",
            Assessment::WouldRun => "would run",
            Assessment::CheckFailed => "check failed",
        };
        let _ = writeln!(out, "{}/{total}. {step}\n     {verdict}: {why}.", index + 1);
        assessments.push(assessment);
    }
    let _ = out.flush();
    Ok(assessments)
}
