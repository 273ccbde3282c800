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
use std::path::Path;

/// The plan file's name inside the layer.
const PLAN_FILE: &str = "release-plan.toml";
/// The runner behind the `release` process, and the layer's one program file: called by another
/// program's name, it runs that program.
const RUNNER: &str = "exec-release-commands";
/// The other programs on the layer's `bin/`, as links: (name, target).
const LINKS: &[(&str, &str)] = &[
    ("upload-release-artifacts", RUNNER),
    ("download-release-artifacts", RUNNER),
    ("release-artifacts", RUNNER),
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

    // libcnb has already read CNB_BUILDPACK_DIR (the macro's path) to make `context`.
    let program_file = libcnb::additional_buildpack_binary_path!("exec-release-commands");
    let bin_dir = layer_dir.join("bin");
    let runner = bin_dir.join(RUNNER);
    install(&program_file, &runner)?;
    for (name, target) in LINKS {
        let link = bin_dir.join(name);
        std::os::unix::fs::symlink(target, &link).map_err(|source| {
            ReleasePhaseError::CannotLinkProgram {
                link: link.clone(),
                source,
            }
        })?;
    }
    if plan.release_build.is_some() {
        // A hard link: a regular file to whatever lists exec.d, and no second copy.
        let loader = layer_dir.join("exec.d").join("web").join(WEB_LOADER);
        let linked = loader
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::hard_link(&runner, &loader));
        linked.map_err(|source| ReleasePhaseError::CannotAddWebLoader {
            loader: loader.clone(),
            source,
        })?;
        print::bullet(format!(
            "Static artifacts of {} will be loaded when a {} process starts",
            style::value("release-build"),
            style::value("web")
        ));
    }

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
    copy().map_err(|source| ReleasePhaseError::CannotCopyProgram {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    })
}
