//! The packaged buildpack driven as the CNB lifecycle drives it: `bin/detect` and `bin/build`
//! as separate processes, then the image's processes launched with layer env and exec.d.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use test_support::release_phase::{buildpack_source_dir, copy_app, release_phase_group};
use test_support::{Built, Platform};

const BUILDPACK_ID: &str = "heroku/release-phase";

fn platform() -> &'static Platform {
    static PLATFORM: OnceLock<Platform> = OnceLock::new();
    PLATFORM.get_or_init(|| {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_release-phase"))
            .parent()
            .expect("the binary has a folder");
        let work_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("platform_test");
        release_phase_group(&work_dir, bin_dir).expect("the buildpacks can be packaged")
    })
}

/// Builds a copy of the fixture `name`; the copy lives as long as the returned folder.
fn build_fixture(name: &str) -> (tempfile::TempDir, Built) {
    let app = copy_app(&buildpack_source_dir().join("tests/fixtures").join(name))
        .expect("the fixture can be copied");
    let built = platform().build(app.path()).expect("detect passes and build runs");
    (app, built)
}

/// Builds an app holding only this `project.toml`.
fn build_project_toml(text: &str) -> (tempfile::TempDir, Built) {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("project.toml"), text).unwrap();
    let built = platform().build(app.path()).expect("detect passes and build runs");
    (app, built)
}

fn our_build(built: &Built) -> &test_support::BuildOutput {
    built.build_output(BUILDPACK_ID).expect("our buildpack ran")
}

fn trace(app: &Path) -> String {
    std::fs::read_to_string(app.join("release-trace.txt")).unwrap_or_default()
}

fn layer_dir(built: &Built) -> PathBuf {
    built.buildpack_layers_dir(BUILDPACK_ID).join("release-phase")
}

#[test]
fn without_configuration_build_says_so_in_one_line_and_adds_nothing() {
    let (_app, built) = build_fixture("no_config");
    assert!(built.success());
    let build = our_build(&built);
    eprintln!("STDOUT:\n{}\nSTDERR:\n{}", build.stdout, build.stderr);
    assert_eq!(build.stdout, "");
    assert_eq!(
        bullet_stream::strip_ansi(&build.stderr),
        "- Release Phase: no release commands configured in `project.toml` or the Build Plan, nothing to do\n"
    );
    let layers: Vec<_> = std::fs::read_dir(built.buildpack_layers_dir(BUILDPACK_ID))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(layers.is_empty(), "{layers:?}");
    assert!(!built.processes().unwrap().contains_key("release"));
}

#[test]
fn release_commands_run_in_order_through_the_release_process() {
    let (app, built) = build_fixture("release_only");
    assert!(built.success(), "{:?}", built.builds);
    let build = our_build(&built);
    eprintln!("STDERR:\n{}", build.stderr);
    let release = built.launch("release", &[]).unwrap();
    eprintln!("RELEASE STDOUT:\n{}\nRELEASE STDERR:\n{}", release.stdout, release.stderr);
    assert!(release.status.success());
    assert_eq!(trace(app.path()), "migrate\npurge\n");
}
