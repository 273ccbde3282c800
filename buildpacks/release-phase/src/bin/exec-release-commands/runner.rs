//! `exec-release-commands`: runs the release plan (the `release` process type).

// The doc comments below are the program's --help text, written for people, not rustdoc.
#![allow(clippy::doc_markdown)]

use crate::hooks::ArtifactHooks;
use clap::Parser;
use release_commands::ReleasePlan;
use release_runner::{NoArtifacts, RunOptions, assess_plan, run_plan};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The folder the release-build command writes its output to, in the app folder.
const STATIC_ARTIFACTS: &str = "static-artifacts";

/// Runs the release phase: with a release-build command, checks the static artifacts store,
/// runs release-build and uploads its static-artifacts folder; then runs each release command in
/// order, stopping at the first failure; then publishes the release's artifacts as the latest.
/// Each step is a goal: a done-when check that exits 0 skips it ("already achieved"), retries
/// run a failed command again, and an optional step's failure lets the release go on. With a
/// store configured (STATIC_ARTIFACTS_URL), the run is recorded in release-<RELEASE_ID>.phase.json.
///
/// Exit status: 0 when every step is achieved (or failed but optional); otherwise the failing
/// command's own code, 128+N when it was killed by signal N, 124 when it timed out, 127 when it
/// could not be found or started (a done-when check that exits with neither 0 nor 1 gives its
/// status the same way), 1 when a goal is still not achieved after its command, the plan cannot
/// be read or a static-artifacts step failed, and 2 for bad arguments.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// The release plan written by the buildpack at build time.
    plan_file: PathBuf,

    /// Print the plan (each step with its source and timeout) and exit without running it.
    #[arg(long, conflicts_with = "assess")]
    plan: bool,

    /// Run only the done-when checks, in order, and print for each step "already achieved",
    /// "would run" or "check failed"; run no command and exit 0. A check may depend on earlier
    /// steps (a check that a migration ran, before the migration), so this tells what a release
    /// phase would find now, not what it would do.
    #[arg(long)]
    assess: bool,
}

pub(crate) fn main(name: &'static str) -> ExitCode {
    let args: Args = crate::cli::parse(name);
    let stderr = &mut std::io::stderr().lock();
    let plan = match ReleasePlan::read_from(&args.plan_file) {
        Ok(plan) => plan,
        Err(error) => {
            let _ = writeln!(stderr, "[release-phase] Release phase failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    if args.plan {
        return print_plan(&plan);
    }
    if args.assess {
        let assessed = assess_plan(&plan, &RunOptions::default(), &mut std::io::stdout().lock());
        return match assessed {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => {
                let _ = writeln!(stderr, "[release-phase] Couldn't assess the plan: {error}");
                ExitCode::FAILURE
            }
        };
    }
    // The store keeps the artifacts of release-build, and the record of every run.
    let store_configured =
        std::env::var_os("STATIC_ARTIFACTS_URL").is_some_and(|url| !url.is_empty());
    let result = if plan.release_build.is_some() || store_configured {
        let artifacts = plan.release_build.is_some();
        match ArtifactHooks::new(PathBuf::from(STATIC_ARTIFACTS), artifacts) {
            Ok(mut hooks) => run_plan(&plan, &mut hooks, &RunOptions::default(), stderr),
            Err(error) => {
                let _ = writeln!(
                    stderr,
                    "[release-phase] Release phase failed: couldn't start: {error}"
                );
                return ExitCode::FAILURE;
            }
        }
    } else {
        run_plan(&plan, &mut NoArtifacts, &RunOptions::default(), stderr)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => ExitCode::from(u8::try_from(failure.exit_code()).unwrap_or(1)),
    }
}

fn print_plan(plan: &ReleasePlan) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let mut lines = plan
        .steps()
        .enumerate()
        .map(|(index, step)| format!("{}. {step}", index + 1));
    let written = lines.try_for_each(|line| writeln!(stdout, "{line}"));
    if written.is_ok() && plan.is_empty() {
        let _ = writeln!(stdout, "The plan is empty: nothing would run.");
    }
    ExitCode::SUCCESS
}
