//! The release plan: which commands the release phase runs, and in which order.
//!
//! Commands come from two places: the app's `project.toml` (`[[com.heroku.phase.release]]` and
//! `[com.heroku.phase.release-build]`) and the `release-phase` Build Plan entries that other
//! buildpacks require. This crate reads both strictly, merges them into one [`ReleasePlan`] and
//! writes that plan to the file the runner reads at release time; [`PhaseRecord`] is what became
//! of one run of it. It holds data and parsing only: running the plan is `release_runner`'s job.

mod build_plan;
mod command;
mod error;
mod plan;
mod project_toml;
mod record;
mod step;
mod table;
mod timeout;

pub use build_plan::{PlanEntryConfig, read_build_plan_entry};
pub use command::{
    Check, DEFAULT_CHECK_TIMEOUT, DEFAULT_RETRY_DELAY, MAX_RETRIES, MAX_RETRY_DELAY, ReleaseCommand,
};
pub use error::{ConfigError, ConfigWarning, Location, Problem};
pub use plan::{PlanFileError, ReleasePlan};
pub use project_toml::{PROJECT_TOML, PhaseConfig, parse_project_toml, read_project_toml};
pub use record::{PhaseOutcome, PhaseRecord, Run, StepOutcome, StepRecord, now_ms};
pub use step::{Step, StepKind};
pub use timeout::{Timeout, TimeoutError};
