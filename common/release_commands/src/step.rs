//! One step of the plan: a command and its kind, written the same way everywhere (build log,
//! `--plan`, the release log).

use crate::ReleaseCommand;
use std::fmt;

/// What a step is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// `release-build`: builds the static artifacts, which are uploaded right after it.
    ReleaseBuild,
    /// A `release` command.
    Release,
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepKind::ReleaseBuild => "release-build",
            StepKind::Release => "release",
        })
    }
}

/// A step of the plan, in the order it runs.
///
/// ```
/// use release_commands::{ReleaseCommand, Step, StepKind, Timeout};
///
/// let command = ReleaseCommand {
///     command: "bash".into(),
///     args: vec!["-c".into(), "rake db:migrate".into()],
///     timeout: Some("15m".parse::<Timeout>().unwrap()),
///     source: "project.toml".into(),
///     optional: false,
/// };
/// let step = Step { kind: StepKind::Release, command: &command };
/// assert_eq!(
///     step.to_string(),
///     "release from project.toml: bash -c 'rake db:migrate' (timeout 15m)"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// What the step is for.
    pub kind: StepKind,
    /// Its command.
    pub command: &'a ReleaseCommand,
}

impl fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Step { kind, command } = self;
        write!(f, "{kind} from {}: {command}", command.source)?;
        let notes: Vec<String> = command
            .timeout
            .map(|timeout| format!("timeout {timeout}"))
            .into_iter()
            .chain(command.optional.then(|| "optional".to_string()))
            .collect();
        if !notes.is_empty() {
            write!(f, " ({})", notes.join(", "))?;
        }
        Ok(())
    }
}
