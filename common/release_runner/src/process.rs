//! Running one command in its own process group, under a timeout, forwarding signals to it.

use crate::CommandResult;
use crate::events::{Event, Events};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use release_commands::ReleaseCommand;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// How one command ended, and the signal the runner forwarded to it, if any.
pub(crate) struct Ended {
    pub(crate) result: CommandResult,
    pub(crate) interrupted_by: Option<i32>,
}

/// Where the runner is in stopping a command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Running,
    /// SIGTERM (or a forwarded signal) was sent; SIGKILL follows at the deadline.
    Stopping,
    Killed,
}

/// Runs `command` to its end. `grace` is how long a command may take to stop after SIGTERM
/// (sent on timeout) or a forwarded signal before its process group gets SIGKILL.
pub(crate) fn run_command(command: &ReleaseCommand, events: &Events, grace: Duration) -> Ended {
    let ended = |result| Ended {
        result,
        interrupted_by: None,
    };
    let mut process = std::process::Command::new(&command.command);
    process.args(&command.args).process_group(0);
    let child = match process.spawn() {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return ended(CommandResult::NotFound(error));
        }
        Err(error) => return ended(CommandResult::CannotStart(error)),
    };
    let Ok(raw_pid) = i32::try_from(child.id()) else {
        return ended(CommandResult::CannotWait(std::io::Error::other(
            "the process id does not fit in a pid_t",
        )));
    };
    let group = Pid::from_raw(raw_pid);
    let started = Instant::now();

    let sender = events.sender.clone();
    let waiter = std::thread::Builder::new()
        .name("wait".into())
        .spawn(move || {
            let mut child = child;
            let _ = sender.send(Event::Exited(child.wait()));
        });
    if let Err(error) = waiter {
        // The child was dropped with the closure; stop it rather than leave it running alone.
        signal_group(group, Signal::SIGKILL);
        return ended(CommandResult::CannotWait(error));
    }

    let timeout = command.timeout.map(release_commands::Timeout::as_duration);
    let (
        status,
        Watched {
            stage,
            timed_out,
            interrupted_by,
        },
    ) = watch(
        group,
        events,
        timeout.map(|timeout| started + timeout),
        grace,
    );
    if stage != Stage::Running {
        // The command is being stopped: nothing it started may outlive it, such as a background
        // job that ignores SIGINT.
        signal_group(group, Signal::SIGKILL);
    }
    let result = match status {
        Err(error) => CommandResult::CannotWait(error),
        Ok(_) if timed_out => CommandResult::TimedOut {
            after: timeout.unwrap_or_default(),
            killed: stage == Stage::Killed,
        },
        Ok(status) => match (status.code(), status.signal()) {
            (Some(0), _) => CommandResult::Succeeded,
            (Some(code), _) => CommandResult::Failed(code),
            (None, Some(signal)) => CommandResult::Killed(signal),
            (None, None) => CommandResult::CannotWait(std::io::Error::other(format!(
                "unknown exit status {status:?}"
            ))),
        },
    };
    Ended {
        result,
        interrupted_by,
    }
}

/// How the command's run went, as seen while waiting for it.
struct Watched {
    stage: Stage,
    timed_out: bool,
    /// The first signal the release process passed on to the command.
    interrupted_by: Option<i32>,
}

/// Waits for the command's exit: passes signals on to its group, and stops it at `deadline`
/// (SIGTERM, then SIGKILL after `grace`).
fn watch(
    group: Pid,
    events: &Events,
    mut deadline: Option<Instant>,
    grace: Duration,
) -> (std::io::Result<std::process::ExitStatus>, Watched) {
    let mut watched = Watched {
        stage: Stage::Running,
        timed_out: false,
        interrupted_by: None,
    };
    let status = loop {
        let event = match deadline {
            Some(deadline) => events
                .receiver
                .recv_timeout(deadline.saturating_duration_since(Instant::now())),
            None => events
                .receiver
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(Event::Exited(status)) => break status,
            Ok(Event::Signal(signal)) => {
                if let Ok(signal) = Signal::try_from(signal) {
                    signal_group(group, signal);
                }
                watched.interrupted_by.get_or_insert(signal);
                if watched.stage == Stage::Running {
                    watched.stage = Stage::Stopping;
                    deadline = Some(Instant::now() + grace);
                }
            }
            Err(RecvTimeoutError::Timeout) if watched.stage == Stage::Running => {
                watched.timed_out = true;
                signal_group(group, Signal::SIGTERM);
                watched.stage = Stage::Stopping;
                deadline = Some(Instant::now() + grace);
            }
            Err(RecvTimeoutError::Timeout) => {
                signal_group(group, Signal::SIGKILL);
                watched.stage = Stage::Killed;
                deadline = None;
            }
            Err(RecvTimeoutError::Disconnected) => {
                break Err(std::io::Error::other("the event channel closed"));
            }
        }
    };
    (status, watched)
}

/// Sends `signal` to the command's process group. The group may already be gone, which is fine.
fn signal_group(group: Pid, signal: Signal) {
    let _ = killpg(group, signal);
}
