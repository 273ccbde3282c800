//! Helpers shared by the test files: the programs under test, named as on the launch layer.

#![allow(clippy::expect_used, dead_code)]

use cnb_platform::release_phase::{ProgramLinks, programs_under_test};
use std::path::Path;
use std::sync::LazyLock;

/// Links named as on the launch layer, to the packaged program file when
/// `RELEASE_PHASE_BUILDPACK_DIR` is set, else to this test build's; one folder per test file.
static PROGRAMS: LazyLock<ProgramLinks> = LazyLock::new(|| {
    programs_under_test(
        Path::new(env!("CARGO_BIN_EXE_exec-release-commands")),
        &Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(concat!(env!("CARGO_CRATE_NAME"), "-programs")),
    )
    .expect("the programs can be linked")
});

/// `exec-release-commands`.
pub(crate) fn runner() -> &'static str {
    &PROGRAMS.runner
}

/// `upload-release-artifacts`.
pub(crate) fn upload() -> &'static str {
    &PROGRAMS.upload
}

/// `download-release-artifacts`.
pub(crate) fn download() -> &'static str {
    &PROGRAMS.download
}

/// `release-artifacts`.
pub(crate) fn manage() -> &'static str {
    &PROGRAMS.manage
}
