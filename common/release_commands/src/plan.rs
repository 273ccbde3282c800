//! The merged release plan and the file that carries it from build time to release time.

use crate::{Check, PhaseConfig, ReleaseCommand, Step, StepKind, Timeout};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every command the release phase runs: `release_build` first, then `release` in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleasePlan {
    /// The `release` commands, in the order they run.
    pub release: Vec<ReleaseCommand>,
    /// The `release-build` command, if any.
    pub release_build: Option<ReleaseCommand>,
}

/// Why the plan file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The file cannot be read.
    #[error("Couldn't read the release plan {}: {source}", path.display())]
    CannotRead {
        /// The plan file.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// The file is not a release plan.
    #[error("Couldn't parse the release plan {}: {message}", path.display())]
    Invalid {
        /// The plan file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The plan cannot be written.
    #[error("Couldn't write the release plan {}: {source}", path.display())]
    CannotWrite {
        /// The plan file.
        path: PathBuf,
        /// The write error.
        source: std::io::Error,
    },
}

impl ReleasePlan {
    /// Merges configuration: `release` commands of the Build Plan entries in plan order, then
    /// those of `project.toml`; the `release-build` of `project.toml`, or else that of the last
    /// Build Plan entry that has one.
    ///
    /// ```
    /// use release_commands::{PhaseConfig, ReleaseCommand, ReleasePlan};
    ///
    /// let command = |name: &str, source: &str| ReleaseCommand {
    ///     command: name.into(),
    ///     args: vec![],
    ///     timeout: None,
    ///     source: source.into(),
    ///     ..ReleaseCommand::default()
    /// };
    /// let from_buildpack = PhaseConfig {
    ///     release: vec![command("migrate", "Ruby")],
    ///     release_build: Some(command("build", "Ruby")),
    /// };
    /// let from_project = PhaseConfig {
    ///     release: vec![command("notify", "project.toml")],
    ///     release_build: None,
    /// };
    /// let plan = ReleasePlan::merge(vec![from_buildpack], from_project);
    /// let names: Vec<_> = plan.release.iter().map(|c| c.command.as_str()).collect();
    /// assert_eq!(names, ["migrate", "notify"]);
    /// assert_eq!(plan.release_build.unwrap().command, "build");
    /// ```
    #[must_use]
    pub fn merge(build_plan_entries: Vec<PhaseConfig>, project_toml: PhaseConfig) -> Self {
        let mut plan = ReleasePlan::default();
        for entry in build_plan_entries
            .into_iter()
            .chain(std::iter::once(project_toml))
        {
            plan.release.extend(entry.release);
            if entry.release_build.is_some() {
                plan.release_build = entry.release_build;
            }
        }
        plan
    }

    /// The steps in the order they run: `release-build` first, then every `release` command.
    ///
    /// ```
    /// use release_commands::{ReleaseCommand, ReleasePlan};
    ///
    /// let command = |name: &str| ReleaseCommand {
    ///     command: name.into(),
    ///     args: vec![],
    ///     timeout: None,
    ///     source: "project.toml".into(),
    ///     ..ReleaseCommand::default()
    /// };
    /// let plan = ReleasePlan {
    ///     release: vec![command("migrate")],
    ///     release_build: Some(command("build")),
    /// };
    /// let steps: Vec<_> = plan.steps().map(|step| step.to_string()).collect();
    /// assert_eq!(
    ///     steps,
    ///     ["release-build from project.toml: build", "release from project.toml: migrate"]
    /// );
    /// ```
    pub fn steps(&self) -> impl Iterator<Item = Step<'_>> {
        let step = |kind| move |command| Step { kind, command };
        self.release_build
            .iter()
            .map(step(StepKind::ReleaseBuild))
            .chain(self.release.iter().map(step(StepKind::Release)))
    }

    /// Whether the plan runs nothing at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.release.is_empty() && self.release_build.is_none()
    }

    /// The plan as the TOML text of a plan file.
    #[must_use]
    pub fn to_toml(&self) -> String {
        let file = PlanFile {
            release_build: self.release_build.as_ref().map(CommandEntry::from),
            release: self.release.iter().map(CommandEntry::from).collect(),
        };
        // A plan holds only strings, integers, arrays and tables, which always serialize.
        toml::to_string(&file).unwrap_or_default()
    }

    /// Writes the plan file.
    ///
    /// # Errors
    ///
    /// Returns [`PlanFileError::CannotWrite`] when the file cannot be written.
    pub fn write_to(&self, path: &Path) -> Result<(), PlanFileError> {
        std::fs::write(path, self.to_toml()).map_err(|source| PlanFileError::CannotWrite {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a plan file written by [`ReleasePlan::write_to`].
    ///
    /// # Errors
    ///
    /// Returns a [`PlanFileError`] when the file cannot be read or is not a plan.
    pub fn read_from(path: &Path) -> Result<Self, PlanFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::CannotRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| PlanFileError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    fn from_toml(text: &str) -> Result<Self, String> {
        let file: PlanFile = toml::from_str(text).map_err(|error| error.to_string())?;
        let command = |entry: CommandEntry| -> Result<ReleaseCommand, String> {
            Ok(ReleaseCommand {
                command: entry.command,
                args: entry.args,
                timeout: entry
                    .timeout
                    .map(Timeout::from_secs)
                    .transpose()
                    .map_err(|error| format!("bad timeout: {error}"))?,
                source: entry.source,
                optional: entry.optional,
                done_when: entry.done_when.map(|check| Check {
                    command: check.command,
                    args: check.args,
                }),
                retries: entry.retries,
                retry_delay: entry
                    .retry_delay
                    .map(Timeout::from_secs)
                    .transpose()
                    .map_err(|error| format!("bad retry-delay: {error}"))?,
            })
        };
        Ok(ReleasePlan {
            release: file
                .release
                .into_iter()
                .map(command)
                .collect::<Result<_, _>>()?,
            release_build: file.release_build.map(command).transpose()?,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(
        rename = "release-build",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    release_build: Option<CommandEntry>,
    #[serde(default)]
    release: Vec<CommandEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandEntry {
    command: String,
    #[serde(default)]
    args: Vec<String>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout: Option<u64>,
    source: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    optional: bool,
    #[serde(rename = "done-when", default, skip_serializing_if = "Option::is_none")]
    done_when: Option<CheckEntry>,
    #[serde(default, skip_serializing_if = "is_zero")]
    retries: u32,
    /// Seconds.
    #[serde(
        rename = "retry-delay",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    retry_delay: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckEntry {
    command: String,
    #[serde(default)]
    args: Vec<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_zero(count: &u32) -> bool {
    *count == 0
}

impl From<&ReleaseCommand> for CommandEntry {
    fn from(command: &ReleaseCommand) -> Self {
        CommandEntry {
            command: command.command.clone(),
            args: command.args.clone(),
            timeout: command.timeout.map(Timeout::as_secs),
            source: command.source.clone(),
            optional: command.optional,
            done_when: command.done_when.as_ref().map(|check| CheckEntry {
                command: check.command.clone(),
                args: check.args.clone(),
            }),
            retries: command.retries,
            retry_delay: command.retry_delay.map(Timeout::as_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(name: &str, source: &str, timeout: Option<u64>) -> ReleaseCommand {
        ReleaseCommand {
            command: name.into(),
            args: vec!["-c".into(), "it's \"quoted\"".into()],
            timeout: timeout.and_then(|secs| Timeout::from_secs(secs).ok()),
            source: source.into(),
            ..ReleaseCommand::default()
        }
    }

    #[test]
    fn merge_orders_buildpacks_first_and_project_toml_release_build_wins() {
        let first = PhaseConfig {
            release: vec![command("a", "A", None)],
            release_build: Some(command("build-a", "A", None)),
        };
        let second = PhaseConfig {
            release: vec![command("b", "B", None)],
            release_build: Some(command("build-b", "B", None)),
        };
        let project = PhaseConfig {
            release: vec![command("p", "project.toml", None)],
            release_build: None,
        };
        let plan = ReleasePlan::merge(vec![first.clone(), second.clone()], project.clone());
        let names: Vec<_> = plan.release.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(names, ["a", "b", "p"]);
        assert_eq!(
            plan.release_build.map(|c| c.command),
            Some("build-b".into())
        );

        let project = PhaseConfig {
            release_build: Some(command("build-p", "project.toml", None)),
            ..project
        };
        let plan = ReleasePlan::merge(vec![first, second], project);
        assert_eq!(
            plan.release_build.map(|c| c.command),
            Some("build-p".into())
        );
    }

    #[test]
    fn plan_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.toml");
        let plan = ReleasePlan {
            release: vec![
                command("bash", "project.toml", Some(900)),
                ReleaseCommand {
                    optional: true,
                    done_when: Some(Check {
                        command: "test".into(),
                        args: vec!["-e".into(), "done".into()],
                    }),
                    retries: 3,
                    retry_delay: Timeout::from_secs(10).ok(),
                    ..command("x", "B", None)
                },
            ],
            release_build: Some(command("npm", "Front-end", Some(60))),
        };
        plan.write_to(&path).unwrap();
        assert_eq!(ReleasePlan::read_from(&path).unwrap(), plan);
    }

    #[test]
    fn bad_plan_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.toml");
        let error = ReleasePlan::read_from(&path).unwrap_err().to_string();
        assert!(
            error.starts_with("Couldn't read the release plan "),
            "{error}"
        );
        std::fs::write(&path, "[[release]]\ncommand = 1\nsource = \"x\"\n").unwrap();
        let error = ReleasePlan::read_from(&path).unwrap_err().to_string();
        assert!(
            error.starts_with("Couldn't parse the release plan "),
            "{error}"
        );
        std::fs::write(
            &path,
            "[[release]]\ncommand = \"x\"\nsource = \"x\"\ntimeout = 0\n",
        )
        .unwrap();
        let error = ReleasePlan::read_from(&path).unwrap_err().to_string();
        assert!(
            error.ends_with("bad timeout: it is zero (leave `timeout` out to run without a limit)"),
            "{error}"
        );
    }
}
