//! The record of one run of the release phase: when it ran, how it ended, and what became of
//! each step. The runner fills it in; the store keeps it as `release-<ID>.phase.json`.
//! It holds command lines and results, never environment values.

use crate::StepKind;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One run of the release phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    /// The release the phase ran for (filled in by the writer, which knows it).
    #[serde(default)]
    pub release_id: String,
    /// When the run started, in milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// When it ended; `None` while it runs.
    #[serde(default)]
    pub ended_at_ms: Option<u64>,
    /// How it went.
    pub outcome: PhaseOutcome,
    /// The release process's exit status, once it ended.
    #[serde(default)]
    pub exit_status: Option<i32>,
    /// Why it failed, as the last log line says it.
    #[serde(default)]
    pub reason: Option<String>,
    /// Every step of the plan, in order, including those that did not run.
    pub steps: Vec<StepRecord>,
}

/// How a run of the release phase went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseOutcome {
    /// Still running (or stopped without a chance to say how it ended).
    Running,
    /// Every step is achieved, or failed but optional; the artifacts are published.
    Completed,
    /// A step or an artifact step failed, or a signal stopped the run.
    Failed,
}

/// One step of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// `release-build` or `release`.
    pub kind: StepKind,
    /// Where the command was configured.
    pub source: String,
    /// The command line.
    pub command: String,
    /// The `done-when` check's command line, if any.
    #[serde(default)]
    pub done_when: Option<String>,
    /// Whether the step is optional.
    #[serde(default)]
    pub optional: bool,
    /// What became of the step's goal.
    pub outcome: StepOutcome,
    /// Each run of the command, in order.
    #[serde(default)]
    pub attempts: Vec<Run>,
    /// Each run of the `done-when` check, in order.
    #[serde(default)]
    pub checks: Vec<Run>,
}

/// What became of a step's goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// The command ran and achieved it.
    NewlyAchieved,
    /// Its `done-when` check found it achieved: the command did not run.
    AlreadyAchieved,
    /// It failed, and stopped the release phase.
    Failed,
    /// It failed, but it is optional: the release phase went on.
    OptionalFailed,
    /// It was not reached (an earlier step failed, or a signal stopped the run).
    NotRun,
}

/// One run of a command or a check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Its exit status as the release process would report it (128+N for signal N, 124 for a
    /// timeout, 127 when it could not start).
    pub exit_status: i32,
    /// How it ended, in words.
    pub result: String,
}

impl PhaseRecord {
    /// The failed step that stopped the run, counting from 1, if one did.
    #[must_use]
    pub fn failed_step(&self) -> Option<(usize, &StepRecord)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, step)| step.outcome == StepOutcome::Failed)
            .map(|(index, step)| (index + 1, step))
    }

    /// How long the run took, once it ended.
    #[must_use]
    pub fn duration(&self) -> Option<Duration> {
        self.ended_at_ms
            .map(|ended| Duration::from_millis(ended.saturating_sub(self.started_at_ms)))
    }
}

impl StepOutcome {
    /// The outcome as the record writes it, such as `newly-achieved`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::NewlyAchieved => "newly-achieved",
            StepOutcome::AlreadyAchieved => "already-achieved",
            StepOutcome::Failed => "failed",
            StepOutcome::OptionalFailed => "optional-failed",
            StepOutcome::NotRun => "not-run",
        }
    }
}

impl PhaseOutcome {
    /// The outcome as the record writes it, such as `completed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseOutcome::Running => "running",
            PhaseOutcome::Completed => "completed",
            PhaseOutcome::Failed => "failed",
        }
    }
}

/// Milliseconds since the Unix epoch, now.
#[must_use]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_written_as_the_contract_names_them() {
        let step = StepRecord {
            kind: StepKind::ReleaseBuild,
            source: "project.toml".into(),
            command: "npm run build".into(),
            done_when: None,
            optional: false,
            outcome: StepOutcome::AlreadyAchieved,
            attempts: vec![],
            checks: vec![],
        };
        let text = serde_json_like(&step);
        assert!(text.contains("kind = \"release-build\""), "{text}");
        assert!(text.contains("outcome = \"already-achieved\""), "{text}");
        for outcome in [
            StepOutcome::NewlyAchieved,
            StepOutcome::AlreadyAchieved,
            StepOutcome::Failed,
            StepOutcome::OptionalFailed,
            StepOutcome::NotRun,
        ] {
            let text = serde_json_like(&StepRecord {
                outcome,
                ..step.clone()
            });
            assert!(text.contains(&format!("outcome = \"{}\"", outcome.as_str())));
        }
    }

    /// TOML stands in for JSON here: this crate has no JSON writer, and the names are the same.
    fn serde_json_like(step: &StepRecord) -> String {
        toml::to_string(step).unwrap()
    }
}
