//! The artifact programs as users run them: arguments, settings, exit codes and messages.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::{download, manage, runner, upload};

const SECRET: &str = "RecognizableSecret/abcdefghijklmnop0123456789";
const TOKEN: &str = "RecognizableSessionToken0123456789";

/// Runs `program` in `dir` with only `env` (and PATH) set.
fn run(program: &str, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains(SECRET) && !text.contains(TOKEN),
            "a secret was printed: {text}"
        );
    }
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Checks that the app's `static-artifacts/` of [`app_with_artifacts`] is as it was.
fn assert_old_content(app: &Path) {
    assert_eq!(
        std::fs::read_to_string(app.join("static-artifacts/index.html")).unwrap(),
        "hello",
        "the old content is intact"
    );
}

fn app_with_artifacts() -> tempfile::TempDir {
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(app.path().join("static-artifacts/css")).unwrap();
    std::fs::write(app.path().join("static-artifacts/index.html"), "hello").unwrap();
    std::fs::write(app.path().join("static-artifacts/css/site.css"), "body{}").unwrap();
    app
}

#[test]
fn every_program_explains_itself() {
    // The one program file, linked under every name it answers to, as the launch layer does.
    let file = std::fs::canonicalize(runner()).unwrap();
    let links = tempfile::tempdir().unwrap();
    for (name, words) in [
        ("upload-release-artifacts", "Exit status: 0 stored"),
        ("save-release-artifacts", "Exit status: 0 stored"),
        (
            "download-release-artifacts",
            "STATIC_ARTIFACTS_LOADED_FROM_KEY",
        ),
        ("load-release-artifacts", "STATIC_ARTIFACTS_LOADED_FROM_KEY"),
        ("release-artifacts", "promote"),
        ("exec-release-commands", "--assess"),
    ] {
        let program = links.path().join(name);
        std::os::unix::fs::symlink(&file, &program).unwrap();
        let program = program.to_str().unwrap();
        let output = run(program, &["--help"], Path::new("/"), &[]);
        assert!(output.status.success(), "{name}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains(words), "{name}: {help}");
        assert!(help.contains(&format!("Usage: {name} ")), "{name}: {help}");
        // It ends with every setting the settings module reads (its own list, which a unit
        // test checks against the names it asks for).
        let Some(at) = help.find("\nEnvironment:\n") else {
            panic!("{name}: no Environment section: {help}");
        };
        let environment = &help[at..];
        for (variable, _) in release_artifacts::ENVIRONMENT {
            assert!(
                environment.contains(&format!("\n  {variable} ")),
                "{name}: {variable} is missing: {help}"
            );
        }

        let output = run(program, &["--version"], Path::new("/"), &[]);
        assert!(output.status.success(), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION")),
            "--version names the program as it was called"
        );
    }

    // A typo gets a suggestion, and the exit status of bad arguments.
    let output = run(manage(), &["lsit"], Path::new("/"), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("a similar subcommand exists: 'list'"),
        "{}",
        stderr(&output)
    );
    let output = run(manage(), &["list", "--jsno"], Path::new("/"), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("a similar argument exists: '--json'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn upload_then_download_by_hand() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let env = [("STATIC_ARTIFACTS_URL", url.as_str()), ("RELEASE_ID", "v9")];
    let app = app_with_artifacts();
    let output = run(upload(), &[], app.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("[upload-release-artifacts] Uploaded release v9: "),
        "{}",
        stderr(&output)
    );

    // Without file descriptor 3 (not an exec.d run), it loads and says so on stderr.
    let web = tempfile::tempdir().unwrap();
    let output = run(download(), &["public"], web.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(web.path().join("public/css/site.css")).unwrap(),
        "body{}"
    );
    assert!(
        stderr(&output).contains("Loaded release v9 into public: "),
        "{}",
        stderr(&output)
    );

    let output = run(manage(), &["list"], web.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(
        listing.starts_with(&format!("Releases in {url}, oldest first:\nv9 ")),
        "{listing}"
    );

    let output = run(manage(), &["verify"], web.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Release v9 verified: "),
        "{}",
        stderr(&output)
    );

    let other = tempfile::tempdir().unwrap();
    let to = format!("file://{}", other.path().display());
    let output = run(manage(), &["promote", "--to", &to], web.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(other.path().join("release-v9.json").is_file());
}

/// A program, its environment, and what it must say.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn missing_and_bad_settings_exit_with_3_and_say_what_to_set() {
    let app = app_with_artifacts();
    let cases: &[Case] = &[
        (
            upload(),
            &[("STATIC_ARTIFACTS_URL", "file:///tmp/x")],
            "Upload failed: RELEASE_ID is not set. Set RELEASE_ID to this release's id",
        ),
        (
            upload(),
            &[("RELEASE_ID", "v1")],
            "Upload failed: STATIC_ARTIFACTS_URL is not set. Set it to file:///absolute/folder, s3://bucket[/prefix]",
        ),
        (
            download(),
            &[
                ("RELEASE_ID", "v1"),
                ("STATIC_ARTIFACTS_URL", "https://example.com/x"),
            ],
            "Loading static artifacts failed: STATIC_ARTIFACTS_URL is invalid: the scheme `https://` is not supported.",
        ),
        (
            download(),
            &[
                ("RELEASE_ID", "../v1"),
                ("STATIC_ARTIFACTS_URL", "file:///tmp/x"),
            ],
            "The release id from RELEASE_ID is invalid: \"../v1\" is not a valid release id",
        ),
        (
            upload(),
            &[
                ("RELEASE_ID", "v1"),
                ("STATIC_ARTIFACTS_URL", "s3://bucket"),
                ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", SECRET),
            ],
            "STATIC_ARTIFACTS_SECRET_ACCESS_KEY is invalid: it is set but STATIC_ARTIFACTS_ACCESS_KEY_ID is not.",
        ),
        (
            upload(),
            &[
                ("RELEASE_ID", "v1"),
                ("STATIC_ARTIFACTS_URL", "s3://bucket"),
                ("STATIC_ARTIFACTS_SESSION_TOKEN", TOKEN),
            ],
            "STATIC_ARTIFACTS_SESSION_TOKEN is invalid: it is set without",
        ),
    ];
    for (program, env, expected) in cases {
        let output = run(program, &[], app.path(), env);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{env:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{env:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_release_without_artifacts_and_no_fallback_exits_with_4() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let app = tempfile::tempdir().unwrap();
    let env = [
        ("STATIC_ARTIFACTS_URL", url.as_str()),
        ("RELEASE_ID", "v1"),
        ("STATIC_ARTIFACTS_FALLBACK", "none"),
    ];
    let output = run(download(), &[], app.path(), &env);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Release v1 has no static artifacts in "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_black_holed_store_gives_up_within_the_load_timeout_and_changes_nothing() {
    // Accepts connections (the kernel does) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = app_with_artifacts();
    let env = [
        ("STATIC_ARTIFACTS_URL", "s3://artifacts/app"),
        ("STATIC_ARTIFACTS_ENDPOINT", endpoint.as_str()),
        ("STATIC_ARTIFACTS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", SECRET),
        ("STATIC_ARTIFACTS_SESSION_TOKEN", TOKEN),
        ("RELEASE_ID", "v1"),
        ("STATIC_ARTIFACTS_LOAD_TIMEOUT", "2"),
    ];
    let started = Instant::now();
    let output = run(download(), &[], app.path(), &env);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(124), "{}", stderr(&output));
    assert!(took < Duration::from_secs(6), "gave up after {took:?}");
    assert!(
        stderr(&output).contains("Gave up after 2 s (STATIC_ARTIFACTS_LOAD_TIMEOUT): looking up release v1's artifacts in s3://artifacts/app"),
        "{}",
        stderr(&output)
    );
    assert_old_content(app.path());
    let names: Vec<_> = std::fs::read_dir(app.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["static-artifacts"], "nothing else was created");
    drop(listener);
}

#[test]
fn without_static_keys_the_standard_aws_credential_chain_is_used() {
    let server = test_servers::s3_server::S3Server::start().unwrap();
    let url = format!(
        "s3://artifacts/{}",
        test_servers::s3_server::unique_prefix("chain")
    );
    let app = app_with_artifacts();
    let env = [
        ("STATIC_ARTIFACTS_URL", url.as_str()),
        ("STATIC_ARTIFACTS_ENDPOINT", server.endpoint()),
        ("AWS_ACCESS_KEY_ID", test_servers::s3_server::ACCESS_KEY_ID),
        (
            "AWS_SECRET_ACCESS_KEY",
            test_servers::s3_server::SECRET_ACCESS_KEY,
        ),
        ("RELEASE_ID", "v1"),
    ];
    let output = run(upload(), &[], app.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));
    let wrong = [
        ("STATIC_ARTIFACTS_URL", url.as_str()),
        ("STATIC_ARTIFACTS_ENDPOINT", server.endpoint()),
        ("AWS_ACCESS_KEY_ID", test_servers::s3_server::ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("RELEASE_ID", "v2"),
    ];
    let output = run(upload(), &[], app.path(), &wrong);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Check the secret key of the standard AWS credential chain (AWS_SECRET_ACCESS_KEY, a profile or a role), or set STATIC_ARTIFACTS_SECRET_ACCESS_KEY."),
        "{}",
        stderr(&output)
    );
}

#[test]
fn sigterm_sighup_and_sigquit_during_an_upload_abort_the_multipart_upload_and_exit_128_n() {
    use nix::sys::signal::Signal;
    for (signal, code) in [
        (Signal::SIGTERM, 143),
        (Signal::SIGHUP, 129),
        (Signal::SIGQUIT, 131),
    ] {
        upload_stopped_by(signal, code);
    }
}

fn upload_stopped_by(signal: nix::sys::signal::Signal, code: i32) {
    use test_servers::fault_proxy::FaultProxy;
    let server = test_servers::s3_server::S3Server::start().unwrap();
    let proxy = FaultProxy::start(server.endpoint()).unwrap();
    let app = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // 80 MiB that do not compress: more parts than the upload holds at once, so the archive is
    // still being written when the signal comes.
    std::fs::create_dir(app.path().join("static-artifacts")).unwrap();
    let mut random = fastrand::Rng::with_seed(5);
    let noise: Vec<u8> = (0..80 << 20).map(|_| random.u8(..)).collect();
    std::fs::write(app.path().join("static-artifacts/noise.bin"), noise).unwrap();
    proxy.set_latency(Duration::from_secs(1));
    let endpoint = proxy.endpoint();
    let tmp_path = tmp.path().display().to_string();
    let child = Command::new(upload())
        .current_dir(app.path())
        .env_clear()
        .envs([
            ("PATH", std::env::var("PATH").unwrap_or_default().as_str()),
            ("TMPDIR", tmp_path.as_str()),
            ("STATIC_ARTIFACTS_URL", "s3://artifacts/sigterm"),
            ("STATIC_ARTIFACTS_ENDPOINT", endpoint.as_str()),
            (
                "STATIC_ARTIFACTS_ACCESS_KEY_ID",
                test_servers::s3_server::ACCESS_KEY_ID,
            ),
            (
                "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
                test_servers::s3_server::SECRET_ACCESS_KEY,
            ),
            ("RELEASE_ID", "v1"),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !proxy
        .request_log()
        .iter()
        .any(|request| request.target.contains("partNumber="))
    {
        assert!(Instant::now() < deadline, "no part upload started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("Stopped by {}: the upload of release v1's static artifacts was cancelled, and nothing was stored", signal.as_str())),
        "{}",
        stderr(&output)
    );
    let aborted = proxy
        .request_log()
        .iter()
        .any(|request| request.method == "DELETE" && request.target.contains("uploadId="));
    assert!(
        aborted,
        "the multipart upload was aborted: {:?}",
        proxy.request_log()
    );
    let stored: Vec<_> = std::fs::read_dir(server.bucket_dir("artifacts").join("sigterm"))
        .map(|entries| entries.map(|entry| entry.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert_eq!(
        stored,
        Vec::<std::ffi::OsString>::new(),
        "no object is stored"
    );
    let root = server.bucket_dir("artifacts");
    let uploads: Vec<String> = std::fs::read_dir(root.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("upload"))
        .collect();
    assert_eq!(uploads, Vec::<String>::new(), "no part is left");
    let temporary: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(temporary.is_empty(), "no temporary file is left");
}

#[test]
fn a_write_that_fails_during_extraction_fails_cleanly_and_keeps_the_old_content() {
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", store.path().display());
    let env = [("STATIC_ARTIFACTS_URL", url.as_str()), ("RELEASE_ID", "v1")];
    let app = app_with_artifacts();
    std::fs::write(
        app.path().join("static-artifacts/big.bin"),
        vec![7u8; 3 << 20],
    )
    .unwrap();
    let output = run(upload(), &[], app.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));

    let web = tempfile::tempdir().unwrap();
    std::fs::create_dir(web.path().join("static-artifacts")).unwrap();
    std::fs::write(web.path().join("static-artifacts/old.html"), "old").unwrap();
    // Files over 1 MiB cannot be written (RLIMIT_FSIZE, with SIGXFSZ ignored so that the write
    // fails with EFBIG instead of killing the program): the 3 MiB file fails mid-way.
    let limited = format!("ulimit -f 1024; trap '' XFSZ; exec {}", download());
    let output = run("bash", &["-c", &limited], web.path(), &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("File too large"),
        "says what failed: {}",
        stderr(&output)
    );
    let names: Vec<_> = std::fs::read_dir(web.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["static-artifacts"], "no staging folder is left");
    let kept: Vec<_> = std::fs::read_dir(web.path().join("static-artifacts"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(kept, ["old.html"], "the old content is intact");
}

/// Environment for the programs with a `file://` store in `store`.
fn file_store_env(store: &Path, id: &str) -> Vec<(String, String)> {
    vec![
        (
            "STATIC_ARTIFACTS_URL".into(),
            format!("file://{}", store.display()),
        ),
        ("RELEASE_ID".into(), id.into()),
    ]
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn an_upload_killed_outright_leaves_no_temporary_file_in_a_file_store() {
    let app = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir(app.path().join("static-artifacts")).unwrap();
    let mut random = fastrand::Rng::with_seed(7);
    let noise: Vec<u8> = (0..400 << 20).map(|_| random.u8(..)).collect();
    std::fs::write(app.path().join("static-artifacts/noise.bin"), noise).unwrap();
    let env = file_store_env(store.path(), "v1");
    let mut child = Command::new(upload())
        .current_dir(app.path())
        .env_clear()
        .envs(pairs(&env))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the archive is being written into the store, then kill it outright.
    let fds = format!("/proc/{}/fd", child.id());
    let store_path = store.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let writing = || {
        std::fs::read_dir(&fds)
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with(&store_path))
            })
    };
    while !writing() {
        assert!(
            Instant::now() < deadline,
            "the upload never wrote into the store"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed before it finished");
    let left: Vec<_> = std::fs::read_dir(store.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the store: {left:?}");
}

#[test]
fn a_load_stopped_by_a_signal_removes_its_staging_folder_and_keeps_the_old_content() {
    use nix::sys::signal::Signal;
    use test_servers::fault_proxy::FaultProxy;
    let server = test_servers::s3_server::S3Server::start().unwrap();
    let proxy = FaultProxy::start(server.endpoint()).unwrap();
    let endpoint = proxy.endpoint();
    let prefix = test_servers::s3_server::unique_prefix("load-signal");
    let url = format!("s3://artifacts/{prefix}");
    let env = [
        ("STATIC_ARTIFACTS_URL", url.as_str()),
        ("STATIC_ARTIFACTS_ENDPOINT", endpoint.as_str()),
        (
            "STATIC_ARTIFACTS_ACCESS_KEY_ID",
            test_servers::s3_server::ACCESS_KEY_ID,
        ),
        (
            "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
            test_servers::s3_server::SECRET_ACCESS_KEY,
        ),
        ("RELEASE_ID", "v1"),
    ];
    let source = tempfile::tempdir().unwrap();
    std::fs::create_dir(source.path().join("static-artifacts")).unwrap();
    let mut random = fastrand::Rng::with_seed(9);
    let noise: Vec<u8> = (0..24 << 20).map(|_| random.u8(..)).collect();
    std::fs::write(source.path().join("static-artifacts/noise.bin"), noise).unwrap();
    let output = run(upload(), &[], source.path(), &env);
    assert!(output.status.success(), "{}", stderr(&output));
    proxy.set_bandwidth(Some(256 * 1024));
    for (signal, code) in [
        (Signal::SIGTERM, 143),
        (Signal::SIGINT, 130),
        (Signal::SIGHUP, 129),
    ] {
        let app = app_with_artifacts();
        let child = Command::new(download())
            .current_dir(app.path())
            .env_clear()
            .envs(env)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let staging = || {
            std::fs::read_dir(app.path())
                .unwrap()
                .flatten()
                .any(|entry| entry.file_name().to_string_lossy().contains(".loading-"))
        };
        while !staging() {
            assert!(
                Instant::now() < deadline,
                "the load never started extracting"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("Stopped by {} while downloading", signal.as_str()))
                && stderr(&output).contains("Nothing was changed."),
            "{}",
            stderr(&output)
        );
        let names: Vec<_> = std::fs::read_dir(app.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["static-artifacts"],
            "{signal}: nothing else is left"
        );
        assert_old_content(app.path());
    }
}

#[test]
fn store_objects_that_are_not_files_fail_at_once_and_management_has_a_time_limit() {
    let app = app_with_artifacts();
    let store = tempfile::tempdir().unwrap();
    let env = file_store_env(store.path(), "v1");
    let output = run(upload(), &[], app.path(), &pairs(&env));
    assert!(output.status.success(), "{}", stderr(&output));
    // A fifo in place of the manifest (a hung network mount blocks the same way).
    std::fs::remove_file(store.path().join("release-v1.json")).unwrap();
    nix::unistd::mkfifo(
        &store.path().join("release-v1.json"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    for args in [&[][..], &["verify"][..]] {
        let program = if args.is_empty() {
            download()
        } else {
            manage()
        };
        let started = Instant::now();
        let output = run(program, args, app.path(), &pairs(&env));
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            stderr(&output).contains("release-v1.json: it is not a regular file"),
            "{}",
            stderr(&output)
        );
    }
    assert_old_content(app.path());

    // A store that never answers: every management command gives up at --timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let env = [
        ("STATIC_ARTIFACTS_URL", "s3://artifacts/app"),
        ("STATIC_ARTIFACTS_ENDPOINT", endpoint.as_str()),
        ("STATIC_ARTIFACTS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", SECRET),
        ("RELEASE_ID", "v1"),
    ];
    for command in [
        &["--timeout", "2", "verify"][..],
        &["--timeout", "2", "list"],
        &["--timeout", "2", "prune", "--keep", "1"],
        &["--timeout", "2", "promote", "--to", "file:///nonexistent/x"],
    ] {
        let started = Instant::now();
        let output = run(manage(), command, app.path(), &env);
        assert_eq!(
            output.status.code(),
            Some(124),
            "{command:?}: {}",
            stderr(&output)
        );
        assert!(started.elapsed() < Duration::from_secs(6), "{command:?}");
        assert!(
            stderr(&output).contains("Gave up after 2 s (--timeout)"),
            "{}",
            stderr(&output)
        );
    }
    drop(listener);
}

#[test]
fn a_load_refuses_the_working_directory_and_the_home_folder() {
    let app = app_with_artifacts();
    let store = tempfile::tempdir().unwrap();
    let mut env = file_store_env(store.path(), "v1");
    let output = run(upload(), &[], app.path(), &pairs(&env));
    assert!(output.status.success(), "{}", stderr(&output));
    let home = app.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join(".profile"), "mine").unwrap();
    env.push(("HOME".into(), home.display().to_string()));
    let home_text = home.display().to_string();
    for (dir, says) in [
        (".", "it is the working directory (the app)"),
        ("..", "which a load would delete"),
        (home_text.as_str(), "it is the home folder"),
    ] {
        let output = run(download(), &[dir], app.path(), &pairs(&env));
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(stderr(&output).contains(says), "{dir}: {}", stderr(&output));
    }
    assert_eq!(
        std::fs::read_to_string(home.join(".profile")).unwrap(),
        "mine"
    );
    assert_old_content(app.path());
}

#[test]
fn without_any_credentials_the_message_says_to_set_them() {
    let app = app_with_artifacts();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().display().to_string();
    // Nothing listens on port 9: the message must be about credentials, not the store.
    let env = [
        ("STATIC_ARTIFACTS_URL", "s3://artifacts/app"),
        ("STATIC_ARTIFACTS_ENDPOINT", "http://127.0.0.1:9"),
        ("HOME", home_path.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("RELEASE_ID", "v1"),
    ];
    let output = run(upload(), &[], app.path(), &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("no credentials were found")
            && said.contains(
                "Set STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY"
            )
            && !said.contains("check that the store is up"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "{said}");
}

#[test]
fn an_unreadable_file_fails_the_upload_naming_it_and_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let app = app_with_artifacts();
    let store = tempfile::tempdir().unwrap();
    let secret = app.path().join("static-artifacts/css/secret.css");
    std::fs::write(&secret, "body{}").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    for dir in [app.path(), store.path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let env = file_store_env(&store.path().join("artifacts"), "v1");
    // Root reads any file: run as nobody. (A file this test made is owned by its user.) The
    // program runs from a copy that nobody can reach: the checkout may sit in a private folder.
    let as_root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&secret).unwrap()) == 0;
    let reachable = tempfile::tempdir().unwrap();
    let program = reachable.path().join("upload-release-artifacts");
    std::fs::copy(upload(), &program).unwrap();
    std::fs::set_permissions(reachable.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut command = Command::new(&program);
    command
        .current_dir(app.path())
        .env_clear()
        .envs(pairs(&env));
    if as_root {
        command.uid(65534).gid(65534);
    }
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("couldn't read \"css/secret.css\": Permission denied (os error 13). Make it readable by the user the release phase runs as (chmod), or remove it"),
        "{}",
        stderr(&output)
    );
    let stored: Vec<_> = std::fs::read_dir(store.path())
        .unwrap()
        .flat_map(|entry| {
            std::fs::read_dir(entry.unwrap().path())
                .into_iter()
                .flatten()
        })
        .collect();
    assert!(stored.is_empty(), "nothing is stored: {stored:?}");
}

/// A store as the earlier buildpack (v1.0.x) left it: archives made by `tar -czf`, no
/// manifests, no `latest.json`; `release-v2.tgz` is the newest by modification time.
fn legacy_file_store() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let base = std::time::SystemTime::now() - Duration::from_hours(48);
    for (id, age) in [("v1", 0), ("v3", 60), ("v2", 120)] {
        let site = root.path().join(format!("site-{id}"));
        std::fs::create_dir_all(site.join("css")).unwrap();
        std::fs::write(site.join("index.html"), format!("release {id}")).unwrap();
        std::fs::write(site.join("css/site.css"), "body{}").unwrap();
        let archive = store.join(format!("release-{id}.tgz"));
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&site)
            .arg("-czf")
            .arg(&archive)
            .arg(".")
            .status()
            .unwrap();
        assert!(tar.success());
        let file = std::fs::File::options().write(true).open(&archive).unwrap();
        file.set_modified(base + Duration::from_secs(age)).unwrap();
    }
    std::fs::write(store.join("release-junk.tgz"), "not gzip").unwrap();
    root
}

/// Every file of a folder and its content.
fn files_of(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn adopt_makes_a_store_of_the_earlier_buildpack_serve_loads() {
    let root = legacy_file_store();
    let store = root.path().join("store");
    let env = file_store_env(&store, "v9");
    let before = files_of(&store);

    let dry = run(manage(), &["adopt", "--dry-run"], root.path(), &pairs(&env));
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(files_of(&store), before, "a dry run changes nothing");
    let text = stderr(&dry);
    for line in [
        "Would adopt ",
        "Would publish release v2, the newest adopted archive",
        "release-junk.tgz: it is not a readable archive",
        "Dry run: would adopt 3 archives in ",
        "; skipped 1 that could not be adopted (see the warning above).",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }

    let adopt = run(manage(), &["adopt", "--json"], root.path(), &pairs(&env));
    assert_eq!(adopt.status.code(), Some(0), "{}", stderr(&adopt));
    let report: serde_json::Value = serde_json::from_slice(&adopt.stdout).unwrap();
    assert_eq!(report["adopted"].as_array().unwrap().len(), 3, "{report}");
    assert_eq!(report["published"], "v2", "{report}");
    assert_eq!(report["skipped"][0]["key"], "release-junk.tgz", "{report}");

    // A release of the new buildpack without artifacts loads the adopted latest; every adopted
    // release verifies.
    let app = tempfile::tempdir().unwrap();
    let load = run(download(), &[], app.path(), &pairs(&env));
    assert_eq!(load.status.code(), Some(0), "{}", stderr(&load));
    assert_eq!(
        std::fs::read_to_string(app.path().join("static-artifacts/index.html")).unwrap(),
        "release v2"
    );
    for id in ["v1", "v2", "v3"] {
        let verify = run(
            manage(),
            &["verify", "--release", id],
            root.path(),
            &pairs(&env),
        );
        assert_eq!(verify.status.code(), Some(0), "{id}: {}", stderr(&verify));
    }
    // They are releases like any other: pruning keeps the two newest by modification time.
    let prune = run(
        manage(),
        &["prune", "--keep", "2", "--json"],
        root.path(),
        &pairs(&env),
    );
    assert_eq!(prune.status.code(), Some(0), "{}", stderr(&prune));
    let pruned: serde_json::Value = serde_json::from_slice(&prune.stdout).unwrap();
    assert_eq!(pruned["deleted"], serde_json::json!(["v1"]), "{pruned}");
    assert!(!store.join("release-v1.tgz").exists());

    let again = run(manage(), &["adopt"], root.path(), &pairs(&env));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("Adopted 0 archives in "),
        "{}",
        stderr(&again)
    );
}
