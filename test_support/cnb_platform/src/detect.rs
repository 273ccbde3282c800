//! The detect phase: run every `bin/detect`, then resolve the group's Build Plan.

use crate::{Platform, PlatformError, buildpack_id};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// What one buildpack's detect did.
#[derive(Clone, Debug)]
pub struct DetectOutput {
    /// The buildpack id.
    pub buildpack: String,
    /// How `bin/detect` exited.
    pub status: ExitStatus,
    /// What it printed (stdout, then stderr).
    pub output: String,
}

/// A require of the Build Plan, handed to the buildpacks that provide its name.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PlanEntry {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) metadata: toml::Table,
}

/// A buildpack of the group after detect, with its Buildpack Plan entries.
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) dir: PathBuf,
    pub(crate) entries: Vec<PlanEntry>,
}

/// The outcome of a passing detect phase.
pub(crate) struct Detected {
    pub(crate) root: tempfile::TempDir,
    pub(crate) outputs: Vec<DetectOutput>,
    pub(crate) members: Vec<Member>,
}

#[derive(Deserialize, Default)]
struct BuildPlanToml {
    #[serde(default)]
    provides: Vec<Provide>,
    #[serde(default)]
    requires: Vec<PlanEntry>,
}

#[derive(Deserialize)]
struct Provide {
    name: String,
}

/// Runs detect for the whole group and resolves the Build Plan.
pub(crate) fn detect(platform: &Platform, app_dir: &Path) -> Result<Detected, PlatformError> {
    let root =
        tempfile::tempdir().map_err(|error| PlatformError::io(Path::new("$TMPDIR"), error))?;
    let platform_dir = root.path().join("platform");
    let plans_dir = root.path().join("detect-plans");
    for dir in [platform_dir.join("env"), plans_dir.clone()] {
        std::fs::create_dir_all(&dir).map_err(|error| PlatformError::io(&dir, error))?;
    }

    let mut outputs = Vec::new();
    let mut plans = Vec::new();
    for (index, buildpack_dir) in platform.buildpacks.iter().enumerate() {
        let id = buildpack_id(buildpack_dir)?;
        let plan_path = plans_dir.join(format!("{index}.toml"));
        std::fs::write(&plan_path, "").map_err(|error| PlatformError::io(&plan_path, error))?;
        let program = buildpack_dir.join("bin").join("detect");
        let output = platform
            .phase_command(&program, buildpack_dir, app_dir)
            .arg(&platform_dir)
            .arg(&plan_path)
            .env("CNB_PLATFORM_DIR", &platform_dir)
            .env("CNB_BUILD_PLAN_PATH", &plan_path)
            .output()
            .map_err(|error| PlatformError::io(&program, error))?;
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            return Err(PlatformError::DetectFailed {
                buildpack: id,
                code: output.status.code(),
                output: printed,
            });
        }
        let plan: BuildPlanToml = crate::read_toml(&plan_path)?;
        outputs.push(DetectOutput {
            buildpack: id.clone(),
            status: output.status,
            output: printed,
        });
        plans.push((id, buildpack_dir.clone(), plan));
    }

    let members = resolve(&plans)?;
    Ok(Detected {
        root,
        outputs,
        members,
    })
}

/// A require counts only when the same or an earlier buildpack provides it; a provide needs a
/// require from the same or a later buildpack. Each provider gets the requires of its names.
fn resolve(plans: &[(String, PathBuf, BuildPlanToml)]) -> Result<Vec<Member>, PlatformError> {
    let provides = |plan: &BuildPlanToml, name: &str| plan.provides.iter().any(|p| p.name == name);
    let requires = |plan: &BuildPlanToml, name: &str| plan.requires.iter().any(|r| r.name == name);
    for (index, (id, _, plan)) in plans.iter().enumerate() {
        for require in &plan.requires {
            if !plans[..=index]
                .iter()
                .any(|(_, _, p)| provides(p, &require.name))
            {
                return Err(PlatformError::Unresolved(format!(
                    "{id} requires `{}`, which neither it nor an earlier buildpack provides",
                    require.name
                )));
            }
        }
        for provide in &plan.provides {
            if !plans[index..]
                .iter()
                .any(|(_, _, p)| requires(p, &provide.name))
            {
                return Err(PlatformError::Unresolved(format!(
                    "{id} provides `{}`, which neither it nor a later buildpack requires",
                    provide.name
                )));
            }
        }
    }
    Ok(plans
        .iter()
        .enumerate()
        .map(|(index, (id, dir, plan))| Member {
            id: id.clone(),
            dir: dir.clone(),
            entries: plans[index..]
                .iter()
                .flat_map(|(_, _, later)| &later.requires)
                .filter(|require| provides(plan, &require.name))
                .cloned()
                .collect(),
        })
        .collect())
}
