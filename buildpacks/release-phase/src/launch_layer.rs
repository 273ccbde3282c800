//! The launch layer: the plan file, the runtime programs on `bin/`, the web loader under
//! `exec.d/web/` (only with `release-build`), and the `release` process type.

use crate::ReleasePhaseBuildpack;
use crate::errors::ReleasePhaseError;
use bullet_stream::global::print;
use bullet_stream::style;
use libcnb::build::BuildContext;
use libcnb::data::launch::{Launch, LaunchBuilder, ProcessBuilder};
use libcnb::data::{layer_name, process_type};
use libcnb::layer::UncachedLayerDefinition;
use release_commands::ReleasePlan;
use std::path::{Path, PathBuf};

/// The plan file's name inside the layer.
const PLAN_FILE: &str = "release-plan.toml";
/// The runner behind the `release` process.
const RUNNER: &str = "exec-release-commands";
/// Programs copied onto the layer's `bin/`.
const PROGRAMS: &[&str] = &[
    RUNNER,
    "upload-release-artifacts",
    "download-release-artifacts",
    "release-artifacts",
];
/// Other names of programs, as links in `bin/`: (alias, program).
const ALIASES: &[(&str, &str)] = &[
    ("save-release-artifacts", "upload-release-artifacts"),
    ("load-release-artifacts", "download-release-artifacts"),
];
/// The program that loads static artifacts when a `web` process starts.
const WEB_LOADER: &str = "download-release-artifacts";

/// Writes the layer and returns the launch configuration with the `release` process.
pub(crate) fn write(
    context: &BuildContext<ReleasePhaseBuildpack>,
    plan: &ReleasePlan,
) -> Result<Launch, libcnb::Error<ReleasePhaseError>> {
    let layer = context.uncached_layer(
        layer_name!("release-phase"),
        UncachedLayerDefinition {
            build: false,
            launch: true,
        },
    )?;
    let layer_dir = layer.path();
    let plan_path = layer_dir.join(PLAN_FILE);
    plan.write_to(&plan_path)
        .map_err(ReleasePhaseError::CannotWritePlan)?;

    let programs = context
        .buildpack_dir
        .join(".libcnb-cargo")
        .join("additional-bin");
    let bin_dir = layer_dir.join("bin");
    for program in PROGRAMS {
        install(&programs.join(program), &bin_dir.join(program))?;
    }
    for (alias, program) in ALIASES {
        let link = bin_dir.join(alias);
        std::os::unix::fs::symlink(program, &link).map_err(|source| {
            ReleasePhaseError::CannotInstallProgram {
                from: PathBuf::from(program),
                to: link.clone(),
                source,
            }
        })?;
    }
    if plan.release_build.is_some() {
        let loader = layer_dir.join("exec.d").join("web").join(WEB_LOADER);
        install(&programs.join(WEB_LOADER), &loader)?;
        print::bullet(format!(
            "Static artifacts of {} will be loaded when a {} process starts",
            style::value("release-build"),
            style::value("web")
        ));
    }

    let runner = bin_dir.join(RUNNER);
    print::bullet(format!(
        "Added the {} process type, which runs the plan before each release",
        style::value("release")
    ));
    Ok(LaunchBuilder::new()
        .process(
            ProcessBuilder::new(process_type!("release"), [runner.to_string_lossy()])
                .arg(plan_path.to_string_lossy())
                .default(false)
                .build(),
        )
        .build())
}

/// Copies a program of the buildpack into the layer, creating its folder.
fn install(from: &Path, to: &Path) -> Result<(), ReleasePhaseError> {
    let copy = || -> std::io::Result<()> {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to).map(|_| ())
    };
    copy().map_err(|source| ReleasePhaseError::CannotInstallProgram {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    })
}
