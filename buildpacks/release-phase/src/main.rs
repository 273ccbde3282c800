//! `heroku/release-phase`: gives an image a `release` process that runs ordered release commands
//! (and a `release-build` command) configured in `project.toml` or handed over by buildpacks
//! later in the group through the Build Plan.

// Unit tests see the package's dev-dependencies, which serve its integration tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod config;
mod errors;
mod launch_layer;

// Dependencies of the other binary of this package, `exec-release-commands`: every binary of a
// package sees them all (https://github.com/rust-lang/rust/issues/95513).
use clap as _;
use libc as _;
use nix as _;
use release_artifacts as _;
use release_runner as _;
use serde_json as _;
use thiserror as _;
use tokio as _;
use toml as _;

use bullet_stream::global::print;
use bullet_stream::style;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::build_plan::BuildPlanBuilder;
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

/// The Build Plan name this buildpack provides and requires, so that later buildpacks in the
/// group can require it with release commands as metadata.
pub(crate) const PLAN_NAME: &str = "release-phase";

struct ReleasePhaseBuildpack;

impl Buildpack for ReleasePhaseBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = errors::ReleasePhaseError;

    fn detect(&self, _context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        DetectResultBuilder::pass()
            .build_plan(
                BuildPlanBuilder::new()
                    .provides(PLAN_NAME)
                    .requires(PLAN_NAME)
                    .build(),
            )
            .build()
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let (plan, warnings) =
            config::read_release_plan(&context.app_dir, &context.buildpack_plan)?;
        if plan.is_empty() {
            config::print_warnings(&warnings);
            print::plain(format!(
                "- Release Phase: no release commands configured in {} or the Build Plan, nothing to do",
                style::value("project.toml")
            ));
            return BuildResultBuilder::new().build();
        }
        let started = print::buildpack("Heroku Release Phase");
        config::print_warnings(&warnings);
        config::print_plan(&plan);
        let launch = launch_layer::write(&context, &plan)?;
        print::all_done(&Some(started));
        BuildResultBuilder::new().launch(launch).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        errors::print_error(&error);
    }
}

buildpack_main!(ReleasePhaseBuildpack);
