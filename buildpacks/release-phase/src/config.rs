//! The release plan of this build: `project.toml` and the `release-phase` Build Plan entries,
//! merged, with the plan printed for the build log.

use crate::PLAN_NAME;
use crate::errors::ReleasePhaseError;
use bullet_stream::global::print;
use libcnb::data::buildpack_plan::BuildpackPlan;
use release_commands::{ConfigWarning, ReleasePlan, read_build_plan_entry, read_project_toml};
use std::path::Path;

/// Reads and merges every source of release commands. Returns the plan and the warnings about
/// unknown keys in Build Plan entries.
///
/// Entries are numbered from 1 among those with metadata, so this buildpack's own (empty)
/// `release-phase` require does not count.
pub(crate) fn read_release_plan(
    app_dir: &Path,
    buildpack_plan: &BuildpackPlan,
) -> Result<(ReleasePlan, Vec<ConfigWarning>), ReleasePhaseError> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for (index, entry) in buildpack_plan
        .entries
        .iter()
        .filter(|entry| entry.name == PLAN_NAME && !entry.metadata.is_empty())
        .enumerate()
    {
        let entry =
            read_build_plan_entry(index + 1, &entry.metadata).map_err(ReleasePhaseError::Config)?;
        warnings.extend(entry.warnings);
        entries.push(entry.config);
    }
    let project_toml = read_project_toml(app_dir).map_err(ReleasePhaseError::Config)?;
    Ok((ReleasePlan::merge(entries, project_toml), warnings))
}

/// Prints each warning.
pub(crate) fn print_warnings(warnings: &[ConfigWarning]) {
    for warning in warnings {
        print::warning(warning.to_string());
    }
}

/// Prints the ordered plan, each step as the release log shows it.
pub(crate) fn print_plan(plan: &ReleasePlan) {
    print::bullet("Release plan, in the order it runs");
    for (index, step) in plan.steps().enumerate() {
        print::sub_bullet(format!("{}. {step}", index + 1));
    }
}
