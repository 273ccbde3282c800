//! How a command ended, and the exit status of the release process that follows from it.

use crate::signals::signal_name;
use std::fmt;
use std::time::Duration;

/// How one command ended.
#[derive(Debug)]
pub enum CommandResult {
    /// Exited with status 0.
    Succeeded,
    /// Exited with a non-zero status.
    Failed(i32),
    /// Was killed by this signal.
    Killed(i32),
    /// Ran past its timeout and was stopped.
    TimedOut {
        /// The timeout.
        after: Duration,
        /// Whether SIGKILL was needed because SIGTERM did not stop it.
        killed: bool,
    },
    /// The program does not exist.
    NotFound(std::io::Error),
    /// The program exists but could not be started (not executable, bad format, ...).
    CannotStart(std::io::Error),
    /// The runner lost track of the command.
    CannotWait(std::io::Error),
}

impl fmt::Display for CommandResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandResult::Succeeded => f.write_str("succeeded"),
            CommandResult::Failed(code) => write!(f, "exited with code {code}"),
            CommandResult::Killed(signal) => {
                write!(
                    f,
                    "was killed by signal {signal} ({})",
                    signal_name(*signal)
                )
            }
            CommandResult::TimedOut {
                after,
                killed: false,
            } => write!(
                f,
                "timed out after {} and was stopped with SIGTERM",
                crate::format_duration(*after)
            ),
            CommandResult::TimedOut {
                after,
                killed: true,
            } => write!(
                f,
                "timed out after {} and was killed with SIGKILL because SIGTERM did not stop it",
                crate::format_duration(*after)
            ),
            CommandResult::NotFound(error) => write!(
                f,
                "could not be started: the program was not found ({error}). Check that it is \
                 installed in the image and on PATH, or give its path"
            ),
            CommandResult::CannotStart(error) => write!(
                f,
                "could not be started ({error}). Check that the program is executable"
            ),
            CommandResult::CannotWait(error) => {
                write!(f, "could not be waited for ({error})")
            }
        }
    }
}

impl CommandResult {
    /// The exit status the release process gives for a command that ended so: its own code;
    /// 128+N when killed by signal N; 124 on timeout; 127 when it could not be found or
    /// started; 1 when it could not be waited for.
    #[must_use]
    pub fn exit_status(&self) -> i32 {
        match self {
            CommandResult::Succeeded => 0,
            CommandResult::Failed(code) => *code,
            CommandResult::Killed(signal) => 128 + signal,
            CommandResult::TimedOut { .. } => 124,
            CommandResult::NotFound(_) | CommandResult::CannotStart(_) => 127,
            CommandResult::CannotWait(_) => 1,
        }
    }

    /// Whether running the command again may help: not when it cannot be found or started.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            CommandResult::Succeeded | CommandResult::NotFound(_) | CommandResult::CannotStart(_)
        )
    }
}

/// Why a release failed, which decides the exit status of the release process.
#[derive(Debug)]
pub enum Failure {
    /// A command failed.
    Command {
        /// How it ended.
        result: CommandResult,
        /// The signal the runner received and forwarded, if any.
        interrupted_by: Option<i32>,
    },
    /// A `done-when` check could not tell whether the goal is achieved: it exited with neither
    /// 0 nor 1, timed out, could not start, or was killed.
    Check {
        /// How the check ended.
        result: CommandResult,
        /// The signal the runner received and forwarded, if any.
        interrupted_by: Option<i32>,
    },
    /// The command succeeded, but its `done-when` check still says the goal is not achieved.
    GoalNotAchieved,
    /// The runner was interrupted between commands.
    Interrupted(i32),
    /// An artifact step failed.
    Hook(crate::HookError),
    /// The runner itself could not work (e.g. signal handlers could not be installed).
    Runner(std::io::Error),
}

impl Failure {
    /// The exit status: the command's own code; 128+N when it was killed by signal N (or the
    /// runner, or an artifact step, was interrupted by N); 124 on timeout; 127 when it could not
    /// be found or started; the same for a `done-when` check that cannot tell; 1 when a goal is
    /// not achieved after its command succeeded, or an artifact step or the runner failed.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Command {
                result,
                interrupted_by,
            }
            | Failure::Check {
                result,
                interrupted_by,
            } => match result {
                CommandResult::Succeeded => interrupted_by.map_or(1, |signal| 128 + signal),
                // A check's "not achieved" is not an error in itself.
                other => other.exit_status(),
            },
            Failure::Interrupted(signal) => 128 + signal,
            Failure::Hook(error) => error.signal.map_or(1, |signal| 128 + signal),
            Failure::GoalNotAchieved | Failure::Runner(_) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let command = |result| Failure::Command {
            result,
            interrupted_by: None,
        };
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(command(CommandResult::Failed(3)).exit_code(), 3);
        assert_eq!(command(CommandResult::Killed(9)).exit_code(), 137);
        let timed_out = CommandResult::TimedOut {
            after: Duration::from_secs(1),
            killed: false,
        };
        assert_eq!(command(timed_out).exit_code(), 124);
        assert_eq!(command(CommandResult::NotFound(not_found)).exit_code(), 127);
        assert_eq!(command(CommandResult::CannotStart(denied)).exit_code(), 127);
        assert_eq!(Failure::Interrupted(15).exit_code(), 143);
        let graceful = Failure::Command {
            result: CommandResult::Succeeded,
            interrupted_by: Some(2),
        };
        assert_eq!(graceful.exit_code(), 130);
    }
}
