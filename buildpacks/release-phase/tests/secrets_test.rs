//! Secret hygiene: every program, on every failure path the fault proxy can cause and on
//! success, run with recognizable credentials and a session token; no byte of the secret key or
//! the token may appear in stdout, stderr, the store's files or temporary files.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::{download, manage, upload};
use test_servers::fault_proxy::{Break, ErrorReply, FaultProxy};
use test_servers::s3_server::{ACCESS_KEY_ID, S3Server, SECRET_ACCESS_KEY};

const TOKEN: &str = "SessionTokenRecognizable/0123456789+abcdefXYZ==";
const WRONG_SECRET: &str = "WrongSecretRecognizable/abcdef0123456789+XYZ";

/// Every file under `dir` whose bytes contain one of `needles`.
fn files_containing(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            if metadata.is_dir() {
                pending.push(path);
            } else if metadata.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                if needles
                    .iter()
                    .any(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
                {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

/// Puts the proxy into a faulty state.
type Fault = Box<dyn Fn(&FaultProxy)>;

struct Run<'a> {
    server: &'a S3Server,
    proxy: &'a FaultProxy,
    app: &'a Path,
    tmp: &'a Path,
}

impl Run<'_> {
    /// Runs `program` with credentials (`secret`, and always the session token) and checks
    /// that no secret is in its output; returns its exit code.
    fn program(&self, program: &str, args: &[&str], secret: &str, extra: &[(&str, &str)]) -> i32 {
        let endpoint = self.proxy.endpoint();
        let tmp = self.tmp.display().to_string();
        let output = Command::new(program)
            .args(args)
            .current_dir(self.app)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TMPDIR", &tmp)
            .env("STATIC_ARTIFACTS_URL", "s3://artifacts/secrets")
            .env("STATIC_ARTIFACTS_ENDPOINT", &endpoint)
            .env("STATIC_ARTIFACTS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", secret)
            .env("STATIC_ARTIFACTS_SESSION_TOKEN", TOKEN)
            .env("STATIC_ARTIFACTS_LOAD_TIMEOUT", "3")
            .env("RELEASE_ID", "v1")
            .envs(extra.iter().copied())
            .output()
            .unwrap();
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            for needle in [secret, TOKEN] {
                assert!(
                    !text.contains(needle),
                    "{program} {args:?}: {stream} holds a secret:\n{text}"
                );
            }
        }
        output.status.code().unwrap_or(-1)
    }

    /// No file of the store or of `$TMPDIR` holds a secret.
    fn files_are_clean(&self, secret: &str) {
        let root = self.server.bucket_dir("artifacts");
        let needles = [secret, TOKEN, WRONG_SECRET];
        assert_eq!(
            files_containing(root.parent().unwrap(), &needles),
            Vec::<String>::new()
        );
        assert_eq!(files_containing(self.tmp, &needles), Vec::<String>::new());
        assert_eq!(files_containing(self.app, &needles), Vec::<String>::new());
    }
}

#[test]
fn no_failure_path_prints_or_stores_a_secret() {
    let server = S3Server::start().unwrap();
    let proxy = FaultProxy::start(server.endpoint()).unwrap();
    let app = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(app.path().join("static-artifacts")).unwrap();
    std::fs::write(app.path().join("static-artifacts/index.html"), "hello").unwrap();
    let run = Run {
        server: &server,
        proxy: &proxy,
        app: app.path(),
        tmp: tmp.path(),
    };

    // Success first: the store then holds an archive, a manifest and latest.json to inspect.
    assert_eq!(run.program(upload(), &[], SECRET_ACCESS_KEY, &[]), 0);
    assert_eq!(
        run.program(
            manage(),
            &["promote", "--to", "s3://artifacts/promoted"],
            SECRET_ACCESS_KEY,
            &[]
        ),
        0
    );
    assert_eq!(
        run.program(download(), &["loaded"], SECRET_ACCESS_KEY, &[]),
        0
    );
    assert_eq!(run.program(manage(), &["list"], SECRET_ACCESS_KEY, &[]), 0);
    assert_eq!(
        run.program(manage(), &["verify"], SECRET_ACCESS_KEY, &[]),
        0
    );

    // Each fault, with every program.
    let faults: Vec<(&str, Fault)> = vec![
        (
            "refused",
            Box::new(|proxy| proxy.set_refusing(true).unwrap()),
        ),
        (
            "throttled",
            Box::new(|proxy| proxy.fail_requests(u32::MAX, ErrorReply::SlowDown)),
        ),
        (
            "failing",
            Box::new(|proxy| proxy.fail_requests(u32::MAX, ErrorReply::InternalError)),
        ),
        (
            "reset",
            Box::new(|proxy| proxy.break_responses(100, u32::MAX, Break::Reset)),
        ),
        (
            "cut",
            Box::new(|proxy| proxy.break_requests(200, u32::MAX, Break::Close)),
        ),
    ];
    let programs: [(&str, &[&str]); 6] = [
        (upload(), &[]),
        (download(), &["loaded"]),
        (manage(), &["list"]),
        (manage(), &["verify"]),
        (manage(), &["prune", "--keep", "1"]),
        (manage(), &["promote", "--to", "s3://artifacts/elsewhere"]),
    ];
    for (name, fault) in &faults {
        fault(&proxy);
        for (program, args) in programs {
            let code = run.program(program, args, SECRET_ACCESS_KEY, &[("RELEASE_ID", "v2")]);
            assert_ne!(code, 0, "{name}: {program} {args:?} failed");
        }
        proxy.heal().unwrap();
    }

    // A black hole: the loader gives up at its timeout.
    proxy.set_black_hole(true);
    assert_eq!(
        run.program(download(), &["loaded"], SECRET_ACCESS_KEY, &[]),
        124
    );
    proxy.heal().unwrap();

    // Wrong credentials, with every program.
    for (program, args) in programs {
        let code = run.program(program, args, WRONG_SECRET, &[("RELEASE_ID", "v3")]);
        assert_ne!(code, 0, "wrong secret: {program} {args:?}");
    }

    // Secrets where no secret belongs: in the URL's user info, or as the endpoint's password.
    let in_url = format!("s3://{ACCESS_KEY_ID}:{WRONG_SECRET}@artifacts/secrets");
    let in_endpoint = format!("http://user:{WRONG_SECRET}@127.0.0.1:9");
    for extra in [
        [("STATIC_ARTIFACTS_URL", in_url.as_str())],
        [("STATIC_ARTIFACTS_ENDPOINT", in_endpoint.as_str())],
    ] {
        for (program, args) in programs {
            let code = run.program(program, args, WRONG_SECRET, &extra);
            assert_ne!(code, 0, "{extra:?}: {program} {args:?}");
        }
    }

    // Everything stays out of the files too.
    std::thread::sleep(Duration::from_millis(100));
    run.files_are_clean(SECRET_ACCESS_KEY);
}
