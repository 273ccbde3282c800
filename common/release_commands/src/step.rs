//! One step of the plan: a command and its kind, written the same way everywhere (build log,
//! `--plan`, the release log).

use crate::{ReleaseCommand, Timeout};
use std::fmt;

/// What a step is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
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
/// use release_commands::{Check, ReleaseCommand, Step, StepKind, Timeout};
///
/// let command = ReleaseCommand {
///     command: "bash".into(),
///     args: vec!["-c".into(), "rake db:migrate".into()],
///     timeout: Some("15m".parse::<Timeout>().unwrap()),
///     source: "project.toml".into(),
///     ..ReleaseCommand::default()
/// };
/// let step = Step { kind: StepKind::Release, command: &command };
/// assert_eq!(
///     step.to_string(),
///     "release from project.toml: bash -c 'rake db:migrate' (timeout 15m)"
/// );
///
/// let goal = ReleaseCommand {
///     done_when: Some(Check { command: "./bin/migrated".into(), args: vec![] }),
///     retries: 2,
///     optional: true,
///     ..command
/// };
/// let step = Step { kind: StepKind::Release, command: &goal };
/// assert_eq!(
///     step.to_string(),
///     "release from project.toml: bash -c 'rake db:migrate' (timeout 15m, optional, \
///      2 retries from 5s, done when ./bin/migrated exits 0)"
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
        let retries = (command.retries > 0).then(|| {
            let first = command.retry_wait(2);
            let first = Timeout::from_secs(first.as_secs()).map_or_else(
                |_| format!("{}s", first.as_secs()),
                |first| first.to_string(),
            );
            match command.retries {
                1 => format!("1 retry after {first}"),
                count => format!("{count} retries from {first}"),
            }
        });
        let notes: Vec<String> = command
            .timeout
            .map(|timeout| format!("timeout {timeout}"))
            .into_iter()
            .chain(command.optional.then(|| "optional".to_string()))
            .chain(retries)
            .chain(
                command
                    .done_when
                    .as_ref()
                    .map(|check| format!("done when {} exits 0", check.command_line())),
            )
            .collect();
        if !notes.is_empty() {
            write!(f, " ({})", notes.join(", "))?;
        }
        Ok(())
    }
}
