//! The release plan of this build: `project.toml` and the `release-phase` Build Plan entries,
//! merged, with the plan printed for the build log.

use crate::PLAN_NAME;
use crate::errors::ReleasePhaseError;
use bullet_stream::global::print;
use bullet_stream::style;
use libcnb::data::buildpack_plan::BuildpackPlan;
use release_commands::{ReleasePlan, read_build_plan_entry, read_project_toml};
use std::path::Path;

/// Reads and merges every source of release commands; warns about unknown Build Plan keys.
pub(crate) fn read_release_plan(
    app_dir: &Path,
    buildpack_plan: &BuildpackPlan,
) -> Result<ReleasePlan, ReleasePhaseError> {
    let mut entries = Vec::new();
    for (index, entry) in buildpack_plan
        .entries
        .iter()
        .filter(|entry| entry.name == PLAN_NAME)
        .enumerate()
    {
        let entry = read_build_plan_entry(index + 1, &entry.metadata)
            .map_err(ReleasePhaseError::Config)?;
        for warning in &entry.warnings {
            print::warning(warning.to_string());
        }
        entries.push(entry.config);
    }
    let project_toml = read_project_toml(app_dir).map_err(ReleasePhaseError::Config)?;
    Ok(ReleasePlan::merge(entries, project_toml))
}

/// Prints the ordered plan, each command with its source and timeout.
pub(crate) fn print_plan(plan: &ReleasePlan) {
    print::bullet("Release plan, in the order it runs");
    for (number, (kind, command)) in plan.steps().enumerate() {
        let timeout = command
            .timeout
            .map(|timeout| format!(", timeout {timeout}"))
            .unwrap_or_default();
        print::sub_bullet(format!(
            "{}. {kind}: {} (from {}{timeout})",
            number + 1,
            style::command(command.command_line()),
            command.source
        ));
    }
}
