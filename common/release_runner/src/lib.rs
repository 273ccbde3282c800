//! Runs a release plan: the `release-build` command, then every `release` command in order,
//! stopping at the first failure.
//!
//! Each command runs directly (no shell), in its own process group, with the runner's
//! environment, stdio and working directory. The runner forwards SIGTERM, SIGINT, SIGHUP and
//! SIGQUIT to that group, stops a command that outlives its timeout (SIGTERM, then SIGKILL after
//! a grace period), and turns the first failure into the process exit status documented in
//! [`Failure`].
//! Artifact steps (preflight, upload, publish) plug in through [`ReleaseHooks`].

// These serve the integration tests; unit tests need neither.
#[cfg(test)]
use {cnb_platform as _, tempfile as _};

mod assess;
mod duration;
mod events;
mod goal;
mod hooks;
mod outcome;
mod process;
mod runner;
mod signals;

pub use assess::{Assessment, assess_plan};
pub use duration::format_duration;
pub use hooks::{HookError, NoArtifacts, ReleaseHooks, StepError};
pub use outcome::{CommandResult, Failure};
pub use runner::{RunOptions, run_plan};
pub use signals::{STOPPING_SIGNALS, SignalWatch, signal_name, watch_signals};
