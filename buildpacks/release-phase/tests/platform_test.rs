//! The packaged buildpack driven as the CNB lifecycle drives it: `bin/detect` and `bin/build`
//! as separate processes, then the image's processes launched with layer env and exec.d.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cnb_platform::release_phase::{buildpack_source_dir, copy_app, release_phase_group};
use cnb_platform::{Built, Platform};
use indoc::indoc;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod support;

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
    let built = platform()
        .build(app.path())
        .expect("detect passes and build runs");
    (app, built)
}

/// Builds an app holding only this `project.toml`.
fn build_project_toml(text: &str) -> (tempfile::TempDir, Built) {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("project.toml"), text).unwrap();
    let built = platform()
        .build(app.path())
        .expect("detect passes and build runs");
    (app, built)
}

fn our_build(built: &Built) -> &cnb_platform::BuildOutput {
    built.build_output(BUILDPACK_ID).expect("our buildpack ran")
}

fn trace(app: &Path) -> String {
    std::fs::read_to_string(app.join("release-trace.txt")).unwrap_or_default()
}

fn layer_dir(built: &Built) -> PathBuf {
    built
        .buildpack_layers_dir(BUILDPACK_ID)
        .join("release-phase")
}

#[test]
fn without_configuration_build_says_so_in_one_line_and_adds_nothing() {
    let (_app, built) = build_fixture("no_config");
    assert!(built.success());
    let output = our_build(&built);
    assert_eq!(output.stdout, "");
    assert_eq!(
        strip(&output.stderr),
        "- Release Phase: no release commands configured in `project.toml` or the Build Plan, nothing to do\n"
    );
    let layers: Vec<_> = std::fs::read_dir(built.buildpack_layers_dir(BUILDPACK_ID))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(layers.is_empty(), "{layers:?}");
    assert!(!built.processes().unwrap().contains_key("release"));
}

/// The build output without colors, and with the build's duration (which varies) as `<time>`.
fn strip(text: &str) -> String {
    let plain = bullet_stream::strip_ansi(text);
    let mut normalized = String::new();
    for line in plain.lines() {
        if line.starts_with("- Done (finished in ") {
            normalized.push_str("- Done (finished in <time>)");
        } else {
            normalized.push_str(line);
        }
        normalized.push('\n');
    }
    normalized
}

/// Settings for a release with static artifacts in a `file://` store under `store`.
fn artifact_env<'a>(store: &'a str, release_id: &'a str) -> [(&'a str, &'a str); 2] {
    [("STATIC_ARTIFACTS_URL", store), ("RELEASE_ID", release_id)]
}

fn exit_code(status: std::process::ExitStatus) -> Option<i32> {
    status.code()
}

#[test]
fn detect_passes_and_later_buildpacks_can_require_release_phase() {
    let (_app, built) = build_fixture("commands_from_buildpack");
    assert!(built.detect.iter().all(|detect| detect.status.success()));
    assert!(built.success(), "{:?}", built.builds);
}

#[test]
fn release_commands_run_in_order_through_the_release_process() {
    let (app, built) = build_fixture("release_only");
    assert!(built.success(), "{:?}", built.builds);
    assert_eq!(
        strip(&our_build(&built).stderr),
        indoc! {r"

            ## Heroku Release Phase

            - Release plan, in the order it runs
              - 1. release from project.toml: bash -c 'echo '\''migrating database'\'' && echo migrate >> release-trace.txt' (timeout 15m)
              - 2. release from project.toml: bash -c 'echo purge >> release-trace.txt'
            - Added the `release` process type, which runs the plan before each release
            - Done (finished in <time>)
        "}
    );

    let layer = layer_dir(&built);
    let runner = layer.join("bin/exec-release-commands");
    assert!(runner.is_file() && !runner.is_symlink());
    // One program file; the other programs are links to it, and run as their names say.
    for (program, help) in [
        (
            "upload-release-artifacts",
            "Usage: upload-release-artifacts [DIR]",
        ),
        (
            "download-release-artifacts",
            "Usage: download-release-artifacts [DIR]",
        ),
        (
            "release-artifacts",
            "Usage: release-artifacts [OPTIONS] <COMMAND>",
        ),
        (
            "save-release-artifacts",
            "Usage: save-release-artifacts [DIR]",
        ),
        (
            "load-release-artifacts",
            "Usage: load-release-artifacts [DIR]",
        ),
    ] {
        let path = layer.join("bin").join(program);
        assert!(path.is_symlink(), "{program} is a link on the layer's bin/");
        assert_eq!(
            std::fs::canonicalize(&path).unwrap(),
            std::fs::canonicalize(&runner).unwrap()
        );
        let output = std::process::Command::new(&path)
            .arg("--help")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(help),
            "{program} --help: {stdout}"
        );
    }
    assert!(
        !layer.join("exec.d").exists(),
        "no artifact loader without release-build"
    );
    let layer_toml = std::fs::read_to_string(layer.with_extension("toml")).unwrap();
    assert!(
        layer_toml.contains("launch = true") && layer_toml.contains("cache = false"),
        "{layer_toml}"
    );

    let release = &built.processes().unwrap()["release"];
    assert!(!release.default, "release is not the default process");

    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "migrate\npurge\n");
    assert_eq!(run.stdout, "migrating database\n");
    let lines: Vec<_> = run.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "[release-phase] Running the release phase: 2 release commands."
    );
    assert_eq!(
        lines[1],
        r"[release-phase] [1/2] release from project.toml: bash -c 'echo '\''migrating database'\'' && echo migrate >> release-trace.txt' (timeout 15m)"
    );
    assert!(
        lines[2].starts_with("[release-phase] [1/2] release succeeded in 0.0"),
        "{}",
        run.stderr
    );
    assert!(
        lines[5].starts_with("[release-phase] Release phase completed in ")
            && lines[5].ends_with(": 2 steps newly achieved."),
        "{}",
        run.stderr
    );
    assert_eq!(lines.len(), 6, "{}", run.stderr);
}

#[test]
fn each_value_in_the_build_log_has_one_style() {
    let (_app, built) = build_fixture("release_and_release_build");
    assert!(built.success(), "{:?}", built.builds);
    let raw = &our_build(&built).stderr;
    assert!(raw.contains('\x1b'), "the build log is coloured: {raw:?}");
    // A colour code right after another (other than a reset) styles the same text twice.
    let codes: Vec<&str> = raw.split('\x1b').skip(1).collect();
    for pair in codes.windows(2) {
        let (first, second) = (pair[0], pair[1]);
        let first_is_bare_code = first.find('m').is_some_and(|end| end + 1 == first.len());
        assert!(
            !first_is_bare_code || first == "[0m",
            "two styles in a row: ESC{first}ESC{second} in {raw:?}"
        );
    }
}

#[test]
fn release_build_only_installs_the_web_loader_and_runs_release_build() {
    let (app, built) = build_fixture("release_build_only");
    assert!(built.success(), "{:?}", built.builds);
    let output = strip(&our_build(&built).stderr);
    assert!(
        output.contains("  - 1. release-build from project.toml: bash -c 'mkdir -p static-artifacts && echo built > static-artifacts/index.html && echo build >> release-trace.txt'\n- Static artifacts of `release-build` will be loaded when a `web` process starts\n"),
        "{output}"
    );
    let loader = layer_dir(&built).join("exec.d/web/download-release-artifacts");
    assert!(loader.is_file(), "the loader runs for web processes only");
    assert!(!loader.is_symlink());
    let runner = layer_dir(&built).join("bin/exec-release-commands");
    assert_eq!(
        (
            loader.metadata().unwrap().ino(),
            loader.metadata().unwrap().nlink()
        ),
        (runner.metadata().unwrap().ino(), 2),
        "the loader is a hard link to the layer's one program file, not a copy"
    );
    for (alias, program) in [
        ("save-release-artifacts", "upload-release-artifacts"),
        ("load-release-artifacts", "download-release-artifacts"),
    ] {
        let link = layer_dir(&built).join("bin").join(alias);
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new(program));
    }
    assert!(
        !layer_dir(&built)
            .join("exec.d/download-release-artifacts")
            .exists()
    );

    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let run = built.launch("release", &artifact_env(&url, "v1")).unwrap();
    assert_eq!(exit_code(run.status), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "build\n");
    assert!(
        store.path().join("release-v1.tar.zst").is_file(),
        "{}",
        run.stderr
    );
    assert!(
        store.path().join("release-v1.json").is_file(),
        "{}",
        run.stderr
    );
    assert!(store.path().join("latest.json").is_file(), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("[1/1] release-build from project.toml: bash -c"),
        "{}",
        run.stderr
    );
}

#[test]
fn release_build_runs_before_release_commands() {
    let (app, built) = build_fixture("release_and_release_build");
    assert!(built.success(), "{:?}", built.builds);
    let output = strip(&our_build(&built).stderr);
    assert!(
        output.contains("  - 1. release-build from project.toml: bash -c 'mkdir -p static-artifacts && echo built > static-artifacts/index.html && echo build >> release-trace.txt' (timeout 10m)\n  - 2. release from project.toml: bash -c 'echo migrate >> release-trace.txt'\n"),
        "{output}"
    );
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let run = built.launch("release", &artifact_env(&url, "v1")).unwrap();
    assert_eq!(exit_code(run.status), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "build\nmigrate\n");
    assert!(
        run.stderr.starts_with(
            "[release-phase] Running the release phase: release-build, then 1 release command.\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn commands_from_a_later_buildpack_run_before_those_of_project_toml() {
    let (app, built) = build_fixture("commands_from_buildpack");
    assert!(built.success(), "{:?}", built.builds);
    let output = strip(&our_build(&built).stderr);
    assert!(
        output.contains(indoc! {r"
            - Release plan, in the order it runs
              - 1. release from Test Front-end Buildpack: bash -c 'echo '\''buildpack: migrate'\'' && echo migrate >> release-trace.txt' (timeout 5m)
              - 2. release from Test Cache Warmer: bash -c 'echo warm-cache >> release-trace.txt'
              - 3. release from project.toml: bash -c 'echo '\''project.toml: notify'\'' && echo notify >> release-trace.txt'
        "}),
        "{output}"
    );

    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "migrate\nwarm-cache\nnotify\n");
    assert!(
        run.stderr
            .contains("[2/3] release from Test Cache Warmer: "),
        "{}",
        run.stderr
    );

    let web = built.launch("web", &[]).unwrap();
    assert!(
        web.exec_d.is_empty(),
        "no loader runs without release-build"
    );
    assert_eq!(exit_code(web.status), Some(0), "{}", web.stderr);
    assert!(
        web.stdout.ends_with("migrate\nwarm-cache\nnotify\n"),
        "{}",
        web.stdout
    );
}

#[test]
fn a_failing_command_stops_the_release_with_its_exit_code() {
    let (app, built) = build_fixture("failing_middle_command");
    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(3), "{}", run.stderr);
    assert_eq!(
        trace(app.path()),
        "first\nsecond\n",
        "the third command never ran"
    );
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("[release-phase] Release phase failed after "),
        "{last}"
    );
    assert!(
        last.ends_with(": step 2/3 (release from project.toml: bash -c 'echo second >> release-trace.txt; exit 3') exited with code 3 (exit status 3). The step after it was not run."),
        "{last}"
    );
}

#[test]
fn a_command_killed_by_a_signal_gives_128_plus_the_signal() {
    let (app, built) = build_fixture("command_killed_by_signal");
    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(137), "{}", run.stderr);
    assert_eq!(trace(app.path()), "");
    assert!(
        run.stderr
            .contains("[1/2] release was killed by signal 9 (SIGKILL), after "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_command_past_its_timeout_gives_124() {
    let (app, built) = build_fixture("command_timeout");
    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(124), "{}", run.stderr);
    assert_eq!(trace(app.path()), "");
    assert!(
        run.stderr
            .contains("[1/2] release timed out after 1.00s and was stopped with SIGTERM, after 1."),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_command_gives_127() {
    let (app, built) = build_fixture("missing_command");
    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(127), "{}", run.stderr);
    assert_eq!(trace(app.path()), "");
    assert!(
        run.stderr.contains("[1/2] release could not be started: the program was not found (No such file or directory (os error 2)). Check that it is installed in the image and on PATH, or give its path, after "),
        "{}",
        run.stderr
    );
}

#[test]
fn sigterm_sigint_sighup_and_sigquit_to_the_release_process_reach_the_running_command_and_nothing_after_it_runs()
 {
    use nix::sys::signal::Signal;
    for (signal, name) in [
        (Signal::SIGTERM, "TERM"),
        (Signal::SIGINT, "INT"),
        (Signal::SIGHUP, "HUP"),
        (Signal::SIGQUIT, "QUIT"),
    ] {
        let app = tempfile::tempdir().unwrap();
        std::fs::write(
            app.path().join("project.toml"),
            format!(
                r#"
                [[com.heroku.phase.release]]
                command = "bash"
                args = ["-c", "trap 'echo got-{name} >> release-trace.txt; exit 7' {name}; sleep 30 & echo $! > sleep.pid; echo started >> release-trace.txt; wait"]

                [[com.heroku.phase.release]]
                command = "bash"
                args = ["-c", "echo after >> release-trace.txt"]
                "#
            ),
        )
        .unwrap();
        let built = platform().build(app.path()).unwrap();
        let (mut command, _) = built.launch_command("release", &[]).unwrap();
        let child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while trace(app.path()) != "started\n" {
            assert!(
                std::time::Instant::now() < deadline,
                "the command never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(exit_code(output.status), Some(7), "{stderr}");
        let sleep_pid = std::fs::read_to_string(app.path().join("sleep.pid")).unwrap();
        assert!(
            cnb_platform::wait_until_process_ends(
                sleep_pid.trim().parse().unwrap(),
                std::time::Duration::from_secs(5)
            ),
            "the command's background job was killed with it"
        );
        assert_eq!(
            trace(app.path()),
            format!("started\ngot-{name}\n"),
            "the command got SIG{name} and the next command never ran"
        );
        assert!(
            stderr.contains(&format!(
                "[1/2] release exited with code 7 after the release phase received SIG{name}, after "
            )),
            "{stderr}"
        );
    }
}

#[test]
fn commands_get_the_process_environment_and_run_in_the_app_folder() {
    let (app, built) = build_project_toml(
        "[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", \"echo \\\"$GREETING from $PWD\\\"; read line; echo \\\"read: $line\\\"\"]\n",
    );
    let (mut command, _) = built
        .launch_command("release", &[("GREETING", "hello")])
        .unwrap();
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"from stdin\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("hello from {}\nread: from stdin\n", app.path().display())
    );
}

#[test]
fn the_plan_can_be_printed_without_running_anything() {
    let (app, built) = build_fixture("commands_from_buildpack");
    let plan_file = layer_dir(&built).join("release-plan.toml");
    let output = std::process::Command::new(layer_dir(&built).join("bin/exec-release-commands"))
        .arg("--plan")
        .arg(&plan_file)
        .current_dir(app.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        indoc! {r"
            1. release from Test Front-end Buildpack: bash -c 'echo '\''buildpack: migrate'\'' && echo migrate >> release-trace.txt' (timeout 5m)
            2. release from Test Cache Warmer: bash -c 'echo warm-cache >> release-trace.txt'
            3. release from project.toml: bash -c 'echo '\''project.toml: notify'\'' && echo notify >> release-trace.txt'
        "}
    );
    assert_eq!(trace(app.path()), "", "nothing ran");
}

#[test]
fn a_source_in_project_toml_names_the_step_in_the_build_and_release_logs() {
    let (_app, built) = build_project_toml(indoc! {r#"
        [[com.heroku.phase.release]]
        command = "true"
        source = "Rails migrations"
    "#});
    assert!(built.success(), "{:?}", built.builds);
    let build_log = strip(&our_build(&built).stderr);
    assert!(
        build_log.contains("  - 1. release from Rails migrations: true\n"),
        "{build_log}"
    );
    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("[release-phase] [1/1] release from Rails migrations: true\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_optional_release_command_that_fails_lets_the_release_go_on_and_release_build_may_not_be_optional()
 {
    let (app, built) = build_project_toml(indoc! {r#"
        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "exit 7"]
        optional = true

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo after >> release-trace.txt"]
    "#});
    assert!(built.success(), "{:?}", built.builds);
    let build_log = strip(&our_build(&built).stderr);
    assert!(
        build_log.contains("  - 1. release from project.toml: bash -c 'exit 7' (optional)\n"),
        "{build_log}"
    );
    let run = built.launch("release", &[]).unwrap();
    assert_eq!(exit_code(run.status), Some(0), "{}", run.stderr);
    assert_eq!(trace(app.path()), "after\n");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(": 1 step newly achieved, 1 optional step failed."),
        "{}",
        run.stderr
    );

    let (_app, built) = build_project_toml(indoc! {r#"
        [com.heroku.phase.release-build]
        command = "npm"
        optional = true
    "#});
    assert!(
        !built.success(),
        "optional on release-build fails the build"
    );
    assert!(
        strip(&our_build(&built).stderr)
            .contains("`com.heroku.phase.release-build.optional` is not allowed on release-build"),
        "{}",
        our_build(&built).stderr
    );
}

#[test]
fn a_missing_plan_file_is_a_clear_error() {
    let output = std::process::Command::new(support::runner())
        .arg("/no/such/release-plan.toml")
        .output()
        .unwrap();
    assert_eq!(exit_code(output.status), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "[release-phase] Release phase failed: Couldn't read the release plan /no/such/release-plan.toml: No such file or directory (os error 2)\n"
    );
}

/// Each bad `project.toml` fails the build with the documented message.
#[test]
fn bad_project_toml_fails_the_build_with_a_clear_message() {
    let cases = [
        (
            "[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = \"x\"\n",
            "`com.heroku.phase.release[1].args` must be an array of strings, but it is a string. Write it like this: args = [\"-c\", \"rake db:migrate\"]",
        ),
        (
            "[[com.heroku.phase.release]]\nargs = [\"x\"]\n",
            "`com.heroku.phase.release[1].command` is missing. It is required; write it like this: command = \"bash\"",
        ),
        (
            "[[com.heroku.phase.release]]\ncommand = \"\"\n",
            "`com.heroku.phase.release[1].command` is empty. Name the program to run, like this: command = \"bash\"",
        ),
        (
            "[[com.heroku.phase.release-build]]\ncommand = \"npm\"\n",
            "`com.heroku.phase.release-build` is an array of tables ([[...]]), but there can be only one release-build command.",
        ),
        (
            "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = \"soon\"\n",
            "`com.heroku.phase.release[1].timeout` is not a valid timeout: `soon` is not a number followed by `s`, `m` or `h`. Write a whole number of seconds (timeout = 900) or a duration such as timeout = \"90s\", \"15m\" or \"1h\".",
        ),
        (
            "[[com.heroku.phase.relase]]\ncommand = \"rake\"\n",
            "`com.heroku.phase.relase` is not a key the release phase knows. Did you mean `release`? The keys allowed here are: `release`, `release-build`. The build stops rather than ignore it, because a misspelt key would silently skip a command.",
        ),
    ];
    for (text, expected) in cases {
        let (app, built) = build_project_toml(text);
        assert!(!built.success(), "{text}");
        let stderr = strip(&our_build(&built).stderr);
        let path = app.path().join("project.toml");
        let expected = format!(
            "\n! Invalid release phase configuration\n!\n! Couldn't use {}: {expected}",
            path.display()
        );
        assert!(
            stderr.starts_with(&expected),
            "{text}\ngave:\n{stderr}\nwanted:\n{expected}"
        );
        assert!(
            stderr.contains("! Fix it and build again. The configuration is documented in the README of the heroku/release-phase buildpack.\n"),
            "{stderr}"
        );
    }
}

#[test]
fn malformed_project_toml_fails_the_build_naming_the_line() {
    let (app, built) = build_project_toml("[[com.heroku.phase.release]\ncommand = \"x\"\n");
    assert!(!built.success());
    let stderr = strip(&our_build(&built).stderr);
    let expected = format!(
        "\n! Invalid release phase configuration\n!\n! Couldn't parse {} as TOML. Fix the syntax error below (see https://toml.io):\n! TOML parse error at line 1,",
        app.path().join("project.toml").display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}

#[test]
fn build_plan_metadata_with_unknown_keys_warns_and_wrong_values_fail() {
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir(app.path().join("test-buildpack")).unwrap();
    let plan = app.path().join("test-buildpack/plan.toml");
    std::fs::write(
        &plan,
        "[[requires]]\nname = \"release-phase\"\n[requires.metadata]\nsource = \"Future Buildpack\"\nretries = 3\n[[requires.metadata.release]]\ncommand = \"true\"\n",
    )
    .unwrap();
    let built = platform().build(app.path()).unwrap();
    assert!(built.success(), "{:?}", built.builds);
    let stderr = strip(&our_build(&built).stderr);
    assert!(
        stderr.contains("! Ignoring the unknown key `retries` in the `release-phase` Build Plan entry #1 (from Future Buildpack). The buildpack that wrote this entry may be newer or older than this one.\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  - 1. release from Future Buildpack: true\n"),
        "{stderr}"
    );

    std::fs::write(
        &plan,
        "[[requires]]\nname = \"release-phase\"\n[requires.metadata]\nsource = \"Broken Buildpack\"\n[[requires.metadata.release]]\ncommand = [\"rake\"]\n",
    )
    .unwrap();
    let built = platform().build(app.path()).unwrap();
    assert!(!built.success());
    let stderr = strip(&our_build(&built).stderr);
    assert!(
        stderr.contains("! Couldn't use the `release-phase` Build Plan entry #1 (from Broken Buildpack): `release[1].command` must be a string, but it is an array."),
        "{stderr}"
    );
}

/// Build, then `release` for v1 and v2 (release-build, upload, release commands, publish), then
/// a `web` start for v1 whose exec.d loader replaces a stale folder with exactly v1's files.
fn full_flow(store_env: &[(String, String)], describe: &str) {
    let (app, built) = build_fixture("static_artifacts_flow");
    assert!(built.success(), "{:?}", built.builds);
    let env_for = |id: &'static str| -> Vec<(&str, &str)> {
        store_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("RELEASE_ID", id)])
            .collect()
    };
    for id in ["v1", "v2"] {
        let run = built.launch("release", &env_for(id)).unwrap();
        assert_eq!(
            exit_code(run.status),
            Some(0),
            "{describe} {id}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("Uploaded release {id}: ")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!(
                "Published release {id}'s static artifacts as the latest"
            )),
            "{}",
            run.stderr
        );
    }
    assert_eq!(trace(app.path()), "migrate\nmigrate\n");

    // Whatever is in the folder before the start must not survive it.
    std::fs::write(app.path().join("static-artifacts/stale.txt"), "old").unwrap();
    let web = built.launch("web", &env_for("v1")).unwrap();
    assert_eq!(exit_code(web.status), Some(0), "{}", web.stderr);
    assert_eq!(web.exec_d.len(), 1, "the loader ran once");
    let loader = &web.exec_d[0];
    assert!(
        loader
            .program
            .ends_with("exec.d/web/download-release-artifacts")
    );
    assert_eq!(loader.env["STATIC_ARTIFACTS_LOADED_RELEASE_ID"], "v1");
    assert!(
        loader.env["STATIC_ARTIFACTS_LOADED_FROM_KEY"].ends_with("release-v1.tar.zst"),
        "{:?}",
        loader.env
    );
    assert!(
        loader
            .stderr
            .contains("Loaded release v1 into static-artifacts: "),
        "{}",
        loader.stderr
    );
    let key = &loader.env["STATIC_ARTIFACTS_LOADED_FROM_KEY"];
    assert_eq!(
        web.stdout,
        format!(
            "loaded from {key} (release v1)\n.\n./assets\n./assets/nested\n./assets/nested/empty.txt\n./assets/site.css\n./index.html\n./style.css\n<h1>release v1</h1>\n"
        ),
        "{describe}"
    );
    let siblings: Vec<_> = std::fs::read_dir(app.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("loading"))
        .collect();
    assert!(
        siblings.is_empty(),
        "no staging folder is left behind: {siblings:?}"
    );

    // A web process without a release id gets a clear error, and does not start.
    let error = built
        .launch("web", &env_for("v1")[..store_env.len()])
        .unwrap_err()
        .to_string();
    assert!(error.contains("RELEASE_ID is not set."), "{error}");
}

#[test]
fn static_artifacts_flow_through_a_file_store() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    full_flow(&[("STATIC_ARTIFACTS_URL".into(), url)], "file://");
}

#[test]
fn static_artifacts_flow_through_s3() {
    let server = test_servers::s3_server::S3Server::start().unwrap();
    let mut targets = vec![test_servers::s3_server::S3Target::of(&server)];
    targets.extend(test_servers::s3_server::S3Target::moto());
    for target in targets {
        let prefix = test_servers::s3_server::unique_prefix("flow");
        full_flow(&target.env(&prefix), target.name);
    }
}

/// Store settings that reach the in-process server through `proxy`.
fn env_through(
    proxy: &test_servers::fault_proxy::FaultProxy,
    target: &test_servers::s3_server::S3Target,
    prefix: &str,
) -> Vec<(String, String)> {
    let mut env = target.env(prefix);
    for (name, value) in &mut env {
        if name == "STATIC_ARTIFACTS_ENDPOINT" {
            *value = proxy.endpoint();
        }
    }
    env
}

#[test]
fn a_store_down_at_preflight_fails_the_release_before_release_build_runs() {
    let server = test_servers::s3_server::S3Server::start().unwrap();
    let proxy = test_servers::fault_proxy::FaultProxy::start(server.endpoint()).unwrap();
    let target = test_servers::s3_server::S3Target::of(&server);
    let (app, built) = build_fixture("static_artifacts_flow");
    assert!(built.success(), "{:?}", built.builds);
    let env = env_through(&proxy, &target, "preflight");
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let token = "PreflightSessionTokenRecognizable0123";
    env.extend([
        ("RELEASE_ID", "v1"),
        ("STATIC_ARTIFACTS_SESSION_TOKEN", token),
    ]);

    proxy.set_refusing(true).unwrap();
    let run = built.launch("release", &env).unwrap();
    for secret in [token, target.secret_access_key.as_str()] {
        assert!(
            !run.stderr.contains(secret) && !run.stdout.contains(secret),
            "no secret is printed: {}",
            run.stderr
        );
    }
    assert_eq!(exit_code(run.status), Some(1), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("the preflight check of the artifact store failed")
            && last.contains(&proxy.endpoint())
            && last.contains("The 2 steps after it were not run."),
        "the last line names the endpoint: {}",
        run.stderr
    );
    assert!(
        !app.path().join("static-artifacts").exists(),
        "release-build never ran"
    );
    assert_eq!(trace(app.path()), "", "no release command ran");
}

#[test]
fn sigterm_during_the_upload_of_a_release_aborts_it_and_nothing_after_it_runs() {
    use nix::sys::signal::Signal;
    let server = test_servers::s3_server::S3Server::start().unwrap();
    let proxy = test_servers::fault_proxy::FaultProxy::start(server.endpoint()).unwrap();
    let target = test_servers::s3_server::S3Target::of(&server);
    let app = tempfile::tempdir().unwrap();
    // release-build writes 24 MiB that do not compress: three multipart upload parts.
    std::fs::write(
        app.path().join("project.toml"),
        r#"
        [com.heroku.phase.release-build]
        command = "bash"
        args = ["-c", "mkdir -p static-artifacts && head -c 25165824 /dev/urandom > static-artifacts/noise.bin"]

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo migrate >> release-trace.txt"]
        "#,
    )
    .unwrap();
    let built = platform().build(app.path()).unwrap();
    assert!(built.success(), "{:?}", built.builds);
    let env = env_through(&proxy, &target, "sigterm");
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("RELEASE_ID", "v1"));
    // Every request takes a second: the upload is still going when the signal comes.
    proxy.set_latency(std::time::Duration::from_secs(1));
    let (mut command, _) = built.launch_command("release", &env).unwrap();
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !proxy
        .request_log()
        .iter()
        .any(|request| request.target.contains("partNumber="))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no part upload started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(exit_code(output.status), Some(143), "{stderr}");
    assert!(
        stderr.contains(
            "Stopped by SIGTERM: the upload of release v1's static artifacts was cancelled"
        ),
        "{stderr}"
    );
    assert_eq!(trace(app.path()), "", "no release command ran");
    assert_no_upload_left(&server, "sigterm");
}

/// Nothing of an upload is in the server: no object under `prefix` but the release record of
/// `v1`, which says the release phase failed, and no multipart upload (or its parts) left.
fn assert_no_upload_left(server: &test_servers::s3_server::S3Server, prefix: &str) {
    let objects = server.bucket_dir("artifacts").join(prefix);
    let stored: Vec<_> = std::fs::read_dir(&objects)
        .map(|entries| entries.map(|entry| entry.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert_eq!(
        stored,
        [std::ffi::OsString::from("release-v1.phase.json")],
        "no object but the release record is stored"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(objects.join("release-v1.phase.json")).unwrap())
            .unwrap();
    assert_eq!(record["outcome"], "failed", "{record}");
    assert_eq!(record["exit_status"], 143, "{record}");
    let root = server.bucket_dir("artifacts");
    let uploads: Vec<_> = std::fs::read_dir(root.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("upload"))
        .collect();
    assert_eq!(uploads, Vec::<String>::new(), "no multipart upload is left");
}

/// What `cargo libcnb package --release` made (CI sets `RELEASE_PHASE_BUILDPACK_DIR` to it):
/// only what the layer needs, as static binaries that run on any base image.
#[test]
fn the_packaged_buildpack_holds_only_what_the_layer_needs() {
    let Some(dir) = cnb_platform::release_phase::packaged_buildpack().unwrap() else {
        eprintln!("RELEASE_PHASE_BUILDPACK_DIR is not set: nothing packaged to check");
        return;
    };
    assert_eq!(
        cnb_platform::files_under(&dir),
        [
            ".libcnb-cargo/additional-bin/exec-release-commands",
            "bin/build",
            "bin/detect",
            "buildpack.toml",
            "package.toml",
        ]
    );
    assert_eq!(
        std::fs::read_link(dir.join("bin/detect")).unwrap(),
        Path::new("build")
    );
    let descriptor = std::fs::read_to_string(dir.join("buildpack.toml")).unwrap();
    let source = std::fs::read_to_string(buildpack_source_dir().join("buildpack.toml")).unwrap();
    assert_eq!(
        descriptor, source,
        "the packaged buildpack.toml is this one"
    );
    for program in [
        "bin/build",
        ".libcnb-cargo/additional-bin/exec-release-commands",
    ] {
        let bytes = std::fs::read(dir.join(program)).unwrap();
        assert!(
            is_static_elf(&bytes),
            "{program} is a static executable (no program interpreter), so it runs on any base image"
        );
    }
}

/// Whether `elf` is a 64-bit little-endian ELF executable without a `PT_INTERP` program header
/// (that is, statically linked).
fn is_static_elf(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let number = |at: usize, len: usize| -> usize {
        elf[at..at + len]
            .iter()
            .rev()
            .fold(0, |value, byte| (value << 8) | usize::from(*byte))
    };
    if elf.len() < 64 || &elf[..6] != b"\x7fELF\x02\x01" {
        return false;
    }
    let (offset, size, count) = (number(0x20, 8), number(0x36, 2), number(0x38, 2));
    (0..count).all(|index| {
        let header = offset + index * size;
        u32::try_from(number(header, 4)).is_ok_and(|kind| kind != PT_INTERP)
    })
}

#[test]
fn a_release_build_leaving_a_link_outside_fails_the_release_before_any_release_command() {
    let (app, built) = build_project_toml(
        r#"
        [com.heroku.phase.release-build]
        command = "bash"
        args = ["-c", "mkdir -p static-artifacts && echo hi > static-artifacts/index.html && ln -s /etc/passwd static-artifacts/p"]

        [[com.heroku.phase.release]]
        command = "bash"
        args = ["-c", "echo release >> release-trace.txt"]
        "#,
    );
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}/store", store.path().display());
    let run = built
        .launch(
            "release",
            &[("STATIC_ARTIFACTS_URL", url.as_str()), ("RELEASE_ID", "v1")],
        )
        .unwrap();
    assert_eq!(exit_code(run.status), Some(1), "{}", run.stderr);
    assert_eq!(trace(app.path()), "", "no release command ran");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("\"p\": it links to /etc/passwd, outside the folder"),
        "{}",
        run.stderr
    );
    let stored: Vec<_> = std::fs::read_dir(store.path().join("store"))
        .map(|entries| entries.flatten().map(|entry| entry.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(
        stored,
        [std::ffi::OsString::from("release-v1.phase.json")],
        "nothing but the release record is stored"
    );
}
