//! The build phase: every `bin/build` in group order, each with its own layers folder.

use crate::detect::{Detected, Member, PlanEntry};
use crate::{DetectOutput, Platform, PlatformError, escaped_id};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// What one buildpack's build did.
#[derive(Clone, Debug)]
pub struct BuildOutput {
    /// The buildpack id.
    pub buildpack: String,
    /// How `bin/build` exited.
    pub status: ExitStatus,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl BuildOutput {
    /// Whether `bin/build` succeeded.
    #[must_use]
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// A finished (or failed) build: its outputs and the layers it left, kept until dropped.
pub struct Built {
    pub(crate) root: tempfile::TempDir,
    pub(crate) app_dir: PathBuf,
    pub(crate) members: Vec<Member>,
    pub(crate) base_env: BTreeMap<String, String>,
    /// Each buildpack's detect.
    pub detect: Vec<DetectOutput>,
    /// Each buildpack's build, up to the first that failed.
    pub builds: Vec<BuildOutput>,
}

#[derive(serde::Serialize)]
struct BuildpackPlanToml<'a> {
    entries: &'a [PlanEntry],
}

impl Built {
    /// Whether every buildpack built.
    #[must_use]
    pub fn success(&self) -> bool {
        self.builds.len() == self.members.len() && self.builds.iter().all(BuildOutput::success)
    }

    /// The build of the buildpack `id`.
    #[must_use]
    pub fn build_output(&self, id: &str) -> Option<&BuildOutput> {
        self.builds.iter().find(|build| build.buildpack == id)
    }

    /// The folder holding the layers of all buildpacks (`/layers` in an image).
    #[must_use]
    pub fn layers_dir(&self) -> PathBuf {
        self.root.path().join("layers")
    }

    /// The layers folder of the buildpack `id`.
    #[must_use]
    pub fn buildpack_layers_dir(&self, id: &str) -> PathBuf {
        self.layers_dir().join(escaped_id(id))
    }

    /// The app folder the build ran in (`/workspace` in an image).
    #[must_use]
    pub fn app_dir(&self) -> &Path {
        &self.app_dir
    }
}

/// Runs every buildpack's build in order, stopping after the first failure.
pub(crate) fn build(
    platform: &Platform,
    app_dir: &Path,
    detected: Detected,
) -> Result<Built, PlatformError> {
    let Detected {
        root,
        outputs,
        members,
    } = detected;
    let platform_dir = root.path().join("platform");
    let plans_dir = root.path().join("buildpack-plans");
    std::fs::create_dir_all(&plans_dir).map_err(|error| PlatformError::io(&plans_dir, error))?;

    let mut builds = Vec::new();
    for member in &members {
        let layers = root.path().join("layers").join(escaped_id(&member.id));
        std::fs::create_dir_all(&layers).map_err(|error| PlatformError::io(&layers, error))?;
        let plan_path = plans_dir.join(format!("{}.toml", escaped_id(&member.id)));
        let plan = toml::to_string(&BuildpackPlanToml {
            entries: &member.entries,
        })
        .map_err(|error| PlatformError::BadToml {
            path: plan_path.clone(),
            message: error.to_string(),
        })?;
        std::fs::write(&plan_path, plan).map_err(|error| PlatformError::io(&plan_path, error))?;

        let program = member.dir.join("bin").join("build");
        let output = platform
            .phase_command(&program, &member.dir, app_dir)
            .arg(&layers)
            .arg(&platform_dir)
            .arg(&plan_path)
            .env("CNB_LAYERS_DIR", &layers)
            .env("CNB_PLATFORM_DIR", &platform_dir)
            .env("CNB_BP_PLAN_PATH", &plan_path)
            .output()
            .map_err(|error| PlatformError::io(&program, error))?;
        let failed = !output.status.success();
        builds.push(BuildOutput {
            buildpack: member.id.clone(),
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
        if failed {
            break;
        }
    }
    Ok(Built {
        root,
        app_dir: app_dir.to_path_buf(),
        members,
        base_env: platform.base_env.clone(),
        detect: outputs,
        builds,
    })
}
