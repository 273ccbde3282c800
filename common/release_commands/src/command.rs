//! One command of the release plan and where it came from.

use crate::Timeout;
use std::fmt;
use std::time::Duration;

/// The most times a failed command may be run again (`retries`).
pub const MAX_RETRIES: u32 = 10;
/// The wait before the first retry when `retry-delay` is not given.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(5);
/// The longest wait between two attempts: the delay doubles per attempt up to this.
pub const MAX_RETRY_DELAY: Duration = Duration::from_mins(5);
/// How long a `done-when` check may run when its step has no timeout.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_mins(10);

/// A `done-when` check: a program that exits 0 when the step's goal is already achieved and 1
/// when it is not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Check {
    /// The program, looked up on `PATH` unless it contains a `/`.
    pub command: String,
    /// Arguments passed to the program as they are.
    pub args: Vec<String>,
}

/// A program to run with its arguments, optional time limit, and origin, and how the release
/// phase treats it as a goal (`done-when`, `retries`, `optional`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseCommand {
    /// The program, looked up on `PATH` unless it contains a `/`.
    pub command: String,
    /// Arguments passed to the program as they are (no shell is involved).
    pub args: Vec<String>,
    /// How long the command may run; `None` means no limit.
    pub timeout: Option<Timeout>,
    /// Where the command was configured: `project.toml` or the name of a buildpack.
    pub source: String,
    /// Whether the release phase goes on when this command fails (never for `release-build`).
    pub optional: bool,
    /// The check that tells whether the step's goal is already achieved, if any.
    pub done_when: Option<Check>,
    /// How many times a failed attempt is run again (at most [`MAX_RETRIES`]).
    pub retries: u32,
    /// The wait before the first retry; `None` means [`DEFAULT_RETRY_DELAY`].
    pub retry_delay: Option<Timeout>,
}

impl ReleaseCommand {
    /// The command line as a shell would need it typed, for logs.
    ///
    /// ```
    /// use release_commands::ReleaseCommand;
    ///
    /// let command = ReleaseCommand {
    ///     command: "bash".into(),
    ///     args: vec!["-c".into(), "rake db:migrate".into()],
    ///     timeout: None,
    ///     source: "project.toml".into(),
    ///     ..ReleaseCommand::default()
    /// };
    /// assert_eq!(command.command_line(), "bash -c 'rake db:migrate'");
    /// ```
    #[must_use]
    pub fn command_line(&self) -> String {
        command_line(&self.command, &self.args)
    }

    /// The `done-when` check as a command of its own: the step's timeout, or
    /// [`DEFAULT_CHECK_TIMEOUT`] without one.
    #[must_use]
    pub fn check_command(&self) -> Option<ReleaseCommand> {
        let check = self.done_when.as_ref()?;
        let default_timeout = Timeout::from_secs(DEFAULT_CHECK_TIMEOUT.as_secs()).ok();
        Some(ReleaseCommand {
            command: check.command.clone(),
            args: check.args.clone(),
            timeout: self.timeout.or(default_timeout),
            source: self.source.clone(),
            ..ReleaseCommand::default()
        })
    }

    /// The wait before attempt number `attempt` (counting from 1; the second attempt is the
    /// first retry): `retry-delay`, doubled for each retry after the first, at most
    /// [`MAX_RETRY_DELAY`]. Jitter is the runner's business.
    ///
    /// ```
    /// use release_commands::ReleaseCommand;
    /// use std::time::Duration;
    ///
    /// let command = ReleaseCommand { retries: 10, ..ReleaseCommand::default() };
    /// assert_eq!(command.retry_wait(2), Duration::from_secs(5));
    /// assert_eq!(command.retry_wait(3), Duration::from_secs(10));
    /// assert_eq!(command.retry_wait(9), Duration::from_secs(300));
    /// ```
    #[must_use]
    pub fn retry_wait(&self, attempt: u32) -> Duration {
        let first = self
            .retry_delay
            .map_or(DEFAULT_RETRY_DELAY, Timeout::as_duration);
        let doublings = attempt.saturating_sub(2).min(16);
        first.saturating_mul(1 << doublings).min(MAX_RETRY_DELAY)
    }
}

impl Check {
    /// The check's command line as a shell would need it typed, for logs.
    #[must_use]
    pub fn command_line(&self) -> String {
        command_line(&self.command, &self.args)
    }
}

fn command_line(command: &str, args: &[String]) -> String {
    std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .map(shell_quoted)
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for ReleaseCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.command_line())
    }
}

fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_words_a_shell_would_split() {
        let command = ReleaseCommand {
            command: "echo".into(),
            args: vec![String::new(), "it's".into(), "a b".into(), "$HOME".into()],
            timeout: None,
            source: "project.toml".into(),
            ..ReleaseCommand::default()
        };
        assert_eq!(command.command_line(), r"echo '' 'it'\''s' 'a b' '$HOME'");
    }
}
