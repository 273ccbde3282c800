//! Hostile settings, one row of a table each, read through `Settings::from_vars`: every value is
//! either refused with a message that names its variable (or file) and says what to put there,
//! or accepted with one meaning, written down in the row. No secret ever appears in a message
//! or in the `Debug` output of `Settings`, and an accepted release id always gives safe keys.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::manifest::{archive_key, manifest_key};
use release_artifacts::{Compression, Fallback, Settings, SettingsError, StoreUrl};
use std::path::Path;
use std::time::Duration;

const ACCESS_KEY_ID: &str = "AKIAHOSTILEKEY0000001";
const SECRET_ACCESS_KEY: &str = "hostile-secret-0123456789abcdef";
const SESSION_TOKEN: &str = "hostile-session-token-xyz";
/// A password written into a URL: as secret as the others.
const URL_PASSWORD: &str = "hostile-url-password-42";
const SECRETS: [&str; 4] = [
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    URL_PASSWORD,
];

/// Every row starts from these (valid) settings, with static credentials, and overrides some.
fn base() -> Vec<(&'static str, String)> {
    [
        ("RELEASE_ID", "v1"),
        ("STATIC_ARTIFACTS_URL", "s3://assets/app"),
        ("STATIC_ARTIFACTS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("STATIC_ARTIFACTS_SESSION_TOKEN", SESSION_TOKEN),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_string()))
    .collect()
}

fn read(
    overrides: &[(&'static str, String)],
    release_id_file: &Path,
) -> Result<Settings, SettingsError> {
    let mut vars = base();
    for (name, value) in overrides {
        vars.retain(|(known, _)| known != name);
        vars.push((name, value.clone()));
    }
    Settings::from_vars(
        |name| {
            vars.iter()
                .find(|(known, _)| *known == name)
                .map(|(_, value)| value.clone())
        },
        release_id_file,
    )
}

/// Whatever `text` is (a message, a `Debug` output), it shows no secret.
fn check_no_secret(text: &str) -> Result<(), String> {
    match SECRETS.iter().find(|secret| text.contains(*secret)) {
        Some(secret) => Err(format!("{secret:?} appears in {text:?}")),
        None => Ok(()),
    }
}

/// A key that is safe to join to a prefix or a folder: one plain name.
fn check_safe_key(key: &str) -> Result<(), String> {
    if key.contains(['/', '\\'])
        || key == ".."
        || key == "."
        || key.chars().any(char::is_control)
        || !key.starts_with("release-")
    {
        return Err(format!("the key {key:?} is not safe"));
    }
    Ok(())
}

/// A refusal names its variable (or file), says what to put there, and holds no control
/// characters (it goes to logs) and no secret.
fn check_refusal(message: &str, names: &str, says: &str) -> Result<(), String> {
    if !message.contains(names) {
        return Err(format!("the message does not name {names}: {message:?}"));
    }
    if !message.contains(says) {
        return Err(format!("the message is {message:?}, wanted {says:?}"));
    }
    if !["Set ", "Use ", "Write ", "use ", "set ", "must be "]
        .iter()
        .any(|fix| message.contains(fix))
    {
        return Err(format!("the message does not say what to do: {message:?}"));
    }
    if message.chars().any(char::is_control) {
        return Err(format!("the message holds control characters: {message:?}"));
    }
    if message.len() > 600 {
        return Err(format!("the message is {} bytes long", message.len()));
    }
    check_no_secret(message)
}

// ---------------------------------------------------------------------------------------------
// RELEASE_ID, from the variable and from the file.

/// What a release id value gives.
#[derive(Clone, Copy)]
enum Id {
    /// Refused; the message says this.
    Refused(&'static str),
    /// Accepted as this id.
    Accepted(&'static str),
    /// Counts as not given: `RELEASE_ID` is then missing; a blank file gives way to
    /// `RELEASE_ID` (here `v1`).
    Unset,
}

struct IdCase {
    name: &'static str,
    value: String,
    expect: Id,
}

fn id_row(name: &'static str, value: impl Into<String>, expect: Id) -> IdCase {
    IdCase {
        name,
        value: value.into(),
        expect,
    }
}

const ONLY_SAFE_CHARACTERS: &str =
    "only letters, digits, `.`, `_` and `-` are allowed (it becomes part of an object key)";
const ID_RULE: &str = "1-128 characters of A-Z a-z 0-9 . _ -, other than `.` and `..`";

fn id_cases() -> Vec<IdCase> {
    use Id::{Accepted, Refused, Unset};
    vec![
        id_row("a slash", "a/b", Refused(ONLY_SAFE_CHARACTERS)),
        id_row("`..` and more", "../x", Refused(ONLY_SAFE_CHARACTERS)),
        id_row("`..`", "..", Refused("`.` and `..` are not allowed")),
        id_row("`.`", ".", Refused("`.` and `..` are not allowed")),
        // Keys are `release-.hidden.json`: one plain name, not a hidden file.
        id_row("starting with `.`", ".hidden", Accepted(".hidden")),
        id_row("starting with `-`", "-rf", Accepted("-rf")),
        // `release-....json` is one name, not a `..` component.
        id_row("three dots", "...", Accepted("...")),
        id_row("a space inside", "v 1", Refused(ONLY_SAFE_CHARACTERS)),
        // Both forms are trimmed: blanks around an id are not part of it.
        id_row("spaces around", "  v2  ", Accepted("v2")),
        id_row("a newline inside", "v1\nv2", Refused(ONLY_SAFE_CHARACTERS)),
        id_row("a trailing newline", "v2\n", Accepted("v2")),
        id_row("a trailing CRLF", "v2\r\n", Accepted("v2")),
        id_row("a tab inside", "v\t2", Refused(ONLY_SAFE_CHARACTERS)),
        id_row("a NUL", "v2\0", Refused(ONLY_SAFE_CHARACTERS)),
        id_row(
            "a terminal escape",
            "\u{1b}[31mv2",
            Refused(ONLY_SAFE_CHARACTERS),
        ),
        id_row("a backslash", "a\\b", Refused(ONLY_SAFE_CHARACTERS)),
        id_row("a colon", "v2:1", Refused(ONLY_SAFE_CHARACTERS)),
        id_row(
            "a percent-encoded slash",
            "a%2Fb",
            Refused(ONLY_SAFE_CHARACTERS),
        ),
        id_row("unicode", "v2-é", Refused(ONLY_SAFE_CHARACTERS)),
        id_row("fullwidth digits", "１２３", Refused(ONLY_SAFE_CHARACTERS)),
        // 130 bytes, but 65 characters: the problem is the characters, not the length.
        id_row(
            "65 accented letters",
            "é".repeat(65),
            Refused(ONLY_SAFE_CHARACTERS),
        ),
        id_row("empty", "", Unset),
        id_row("only blanks", " \t ", Unset),
        id_row("128 characters", "x".repeat(128), Accepted("128x")),
        id_row(
            "129 characters",
            "x".repeat(129),
            Refused("it is longer than 128 characters"),
        ),
        id_row(
            "10,000 characters",
            "x".repeat(10_000),
            Refused("it is longer than 128 characters"),
        ),
    ]
}

/// Checks what `value` gave against `expect`; `names` is what the message must name.
fn check_id(
    result: Result<Settings, SettingsError>,
    expect: Id,
    names: &str,
    when_unset: Option<&str>,
) -> Result<(), String> {
    match (expect, result) {
        (Id::Refused(says), Err(error @ SettingsError::BadReleaseId { .. })) => {
            check_refusal(&error.to_string(), names, says)?;
            check_refusal(&error.to_string(), names, ID_RULE)
        }
        (Id::Accepted(id), Ok(settings)) => {
            let id = if id == "128x" {
                "x".repeat(128)
            } else {
                id.to_string()
            };
            check_accepted_id(&settings, &id)
        }
        (Id::Unset, Ok(settings)) => match (when_unset, settings.release_id()) {
            (Some(fallback), _) => check_accepted_id(&settings, fallback),
            (None, Err(error)) => {
                check_refusal(&error.to_string(), "RELEASE_ID is not set", ID_RULE_SHORT)
            }
            (None, Ok(id)) => Err(format!("accepted as {id:?}")),
        },
        (_, Ok(settings)) => Err(format!("accepted as {:?}", settings.release_id())),
        (_, Err(error)) => Err(format!("unexpected error: {error}")),
    }
}

/// What the "not set" message says is allowed.
const ID_RULE_SHORT: &str = "1-128 characters of A-Z a-z 0-9 . _ -";

fn check_accepted_id(settings: &Settings, expected: &str) -> Result<(), String> {
    let id = settings.release_id().map_err(|error| error.to_string())?;
    if id.as_str() != expected {
        return Err(format!(
            "accepted as {:?}, wanted {expected:?}",
            id.as_str()
        ));
    }
    check_safe_key(&manifest_key(id))?;
    check_safe_key(&archive_key(id, Compression::Zstd))?;
    check_safe_key(&archive_key(id, Compression::Gzip))?;
    check_no_secret(&format!("{settings:?}"))
}

#[test]
fn every_hostile_release_id_is_refused_or_gives_a_safe_key() {
    let dir = tempfile::tempdir().unwrap();
    let no_file = dir.path().join("absent");
    let file = dir.path().join("release_id");
    let mut failures = Vec::new();
    for case in id_cases() {
        // From the variable, without a file.
        let result = read(&[("RELEASE_ID", case.value.clone())], &no_file);
        if let Err(why) = check_id(result, case.expect, "RELEASE_ID", None) {
            failures.push(format!("{} (RELEASE_ID): {why}", case.name));
        }
        // From the file, which wins over RELEASE_ID (`v1`) unless it is blank.
        std::fs::write(&file, &case.value).unwrap();
        let result = read(&[], &file);
        let names = format!("the file {}", file.display());
        if let Err(why) = check_id(result, case.expect, &names, Some("v1")) {
            failures.push(format!("{} (file): {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_release_id_file_that_cannot_be_read_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let not_utf8 = dir.path().join("not-utf8");
    std::fs::write(&not_utf8, b"v1\xff\xfe").unwrap();
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    for (name, path) in [("not UTF-8", &not_utf8), ("a folder", &folder)] {
        let error = read(&[], path).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "Couldn't read the release id from {}: ",
                path.display()
            )),
            "{name}: {error}"
        );
        check_no_secret(&error).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Every other setting.

enum Expect {
    /// Refused; the message names `variable` and says `says`.
    Refused {
        variable: &'static str,
        says: &'static str,
    },
    /// Accepted, meaning what `meaning` says; `check` asserts it.
    Accepted {
        meaning: &'static str,
        check: fn(&Settings),
    },
}

struct Case {
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    expect: Expect,
}

fn refused(
    name: &'static str,
    variable: &'static str,
    value: impl Into<String>,
    says: &'static str,
) -> Case {
    Case {
        name,
        vars: vec![(variable, value.into())],
        expect: Expect::Refused { variable, says },
    }
}

fn accepted(
    name: &'static str,
    variable: &'static str,
    value: impl Into<String>,
    meaning: &'static str,
    check: fn(&Settings),
) -> Case {
    Case {
        name,
        vars: vec![(variable, value.into())],
        expect: Expect::Accepted { meaning, check },
    }
}

fn s3(settings: &Settings) -> (String, String, Option<String>) {
    match settings.url().unwrap() {
        StoreUrl::S3 {
            bucket,
            prefix,
            region,
        } => (bucket.clone(), prefix.clone(), region.clone()),
        other @ StoreUrl::File { .. } => panic!("not S3: {other:?}"),
    }
}

/// The region the S3 store would be opened in.
fn region_of(settings: &Settings) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(settings.region())
}

fn folder(settings: &Settings) -> String {
    match settings.url().unwrap() {
        StoreUrl::File { dir } => dir.display().to_string(),
        other @ StoreUrl::S3 { .. } => panic!("not a folder: {other:?}"),
    }
}

const URL: &str = "STATIC_ARTIFACTS_URL";
const ENDPOINT: &str = "STATIC_ARTIFACTS_ENDPOINT";
const KEEP: &str = "STATIC_ARTIFACTS_KEEP";
const LOAD_TIMEOUT: &str = "STATIC_ARTIFACTS_LOAD_TIMEOUT";
const COMPRESSION: &str = "STATIC_ARTIFACTS_COMPRESSION";
const FALLBACK: &str = "STATIC_ARTIFACTS_FALLBACK";
const REGION: &str = "STATIC_ARTIFACTS_REGION";

#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn url_cases() -> Vec<Case> {
    let password = URL_PASSWORD;
    vec![
        refused(
            "http",
            URL,
            "http://assets/app",
            "the scheme `http://` is not supported",
        ),
        refused(
            "ftp",
            URL,
            "ftp://assets/app",
            "the scheme `ftp://` is not supported",
        ),
        refused(
            "https",
            URL,
            "https://assets.s3.amazonaws.com/app",
            "the scheme `https://` is not supported",
        ),
        accepted(
            "upper-case S3 scheme",
            URL,
            "S3://assets/app",
            "schemes are case-insensitive: bucket assets, prefix app",
            |s| assert_eq!(s3(s), ("assets".into(), "app".into(), None)),
        ),
        refused(
            "s3 with one slash",
            URL,
            "s3:/assets",
            "it does not start with `file://` or `s3://`",
        ),
        refused(
            "s3 without slashes",
            URL,
            "s3:assets",
            "it does not start with `file://` or `s3://`",
        ),
        refused(
            "no scheme",
            URL,
            "assets/app",
            "it does not start with `file://` or `s3://`",
        ),
        refused(
            "file without slashes",
            URL,
            "file:relative/path",
            "it does not start with `file://` or `s3://`",
        ),
        refused(
            "file with a relative path",
            URL,
            "file://relative",
            "names the host `relative`, or is a relative path",
        ),
        refused(
            "file with user info",
            URL,
            format!("file://admin:{password}@/srv/artifacts"),
            "it contains user info",
        ),
        refused(
            "file with `..`",
            URL,
            "file:///srv/a/../b",
            "it contains `..`",
        ),
        refused(
            "file naming the root folder",
            URL,
            "file:///",
            "it names no folder",
        ),
        refused(
            "file with a query",
            URL,
            "file:///srv/artifacts?x=1",
            "it has a query (`?`) or fragment (`#`)",
        ),
        accepted(
            "file with a percent sign",
            URL,
            "file:///srv/my%20dir",
            "taken literally, without percent-decoding: the folder /srv/my%20dir",
            |s| assert_eq!(folder(s), "/srv/my%20dir"),
        ),
        accepted(
            "file with a trailing slash",
            URL,
            "file:///srv/artifacts/",
            "the folder /srv/artifacts",
            |s| assert_eq!(folder(s), "/srv/artifacts"),
        ),
        refused(
            "s3 with a user and password",
            URL,
            format!("s3://admin:{password}@assets/prefix"),
            "it contains user info (`user@`); give credentials in STATIC_ARTIFACTS_ACCESS_KEY_ID",
        ),
        refused(
            "s3 with a password only",
            URL,
            format!("s3://{password}@assets"),
            "it contains user info",
        ),
        refused(
            "s3 with a password holding a slash",
            URL,
            format!("s3://admin:{password}/x@assets/prefix"),
            "it contains a port",
        ),
        refused(
            "s3 with a query",
            URL,
            "s3://assets/prefix?x=1",
            "it has a query (`?`) or fragment (`#`)",
        ),
        refused(
            "s3 with a fragment",
            URL,
            "s3://assets/prefix#frag",
            "it has a query (`?`) or fragment (`#`)",
        ),
        refused(
            "s3 without bucket",
            URL,
            "s3:///prefix",
            "it names no bucket",
        ),
        refused("s3 and nothing else", URL, "s3://", "it names no bucket"),
        refused(
            "bucket with an underscore",
            URL,
            "s3://my_assets",
            "use lowercase letters, digits, `.` and `-`",
        ),
        refused(
            "bucket with a space",
            URL,
            "s3://my assets/app",
            "use lowercase letters, digits, `.` and `-`",
        ),
        refused(
            "bucket with a `!`",
            URL,
            "s3://assets!",
            "use lowercase letters, digits, `.` and `-`",
        ),
        refused(
            "bucket in upper case",
            URL,
            "s3://MyAssets/app",
            "use lowercase letters, digits, `.` and `-`",
        ),
        accepted(
            "AWS host name in upper case",
            URL,
            "s3://Assets.S3.EU-WEST-1.amazonaws.com/App",
            "host names are case-insensitive: bucket assets in eu-west-1; the prefix keeps its case",
            |s| {
                assert_eq!(
                    s3(s),
                    ("assets".into(), "App".into(), Some("eu-west-1".into()))
                );
            },
        ),
        refused(
            "bucket of 64 characters",
            URL,
            format!("s3://{}", "a".repeat(64)),
            "it must be 3 to 63 characters long",
        ),
        accepted(
            "bucket of 63 characters",
            URL,
            format!("s3://{}", "a".repeat(63)),
            "that bucket",
            |s| assert_eq!(s3(s).0, "a".repeat(63)),
        ),
        refused(
            "bucket of 2 characters",
            URL,
            "s3://ab",
            "it must be 3 to 63 characters long",
        ),
        refused(
            "bucket starting with `-`",
            URL,
            "s3://-assets",
            "it must start and end with a letter or digit",
        ),
        refused(
            "bucket ending with `.`",
            URL,
            "s3://assets.",
            "it must start and end with a letter or digit",
        ),
        refused("bucket with `..`", URL, "s3://as..sets", "and have no `..`"),
        accepted(
            "bucket named like an AWS host of another domain",
            URL,
            "s3://assets.s3.amazonaws.com.example.org/app",
            "a dotted bucket of that whole name (not an AWS host name)",
            |s| {
                assert_eq!(
                    s3(s),
                    (
                        "assets.s3.amazonaws.com.example.org".into(),
                        "app".into(),
                        None
                    )
                );
            },
        ),
        refused(
            "AWS host name of another service",
            URL,
            "s3://assets.ec2.amazonaws.com",
            "is an AWS host name, but not an S3 one",
        ),
        refused(
            "a port",
            URL,
            "s3://127.0.0.1:9000/assets",
            "it contains a port; give an S3-compatible endpoint in STATIC_ARTIFACTS_ENDPOINT",
        ),
        refused(
            "`..` in the prefix",
            URL,
            "s3://assets/a/../b",
            "its prefix has an empty, `.` or `..` segment",
        ),
        refused(
            "`..` as the prefix",
            URL,
            "s3://assets/..",
            "its prefix has an empty, `.` or `..` segment",
        ),
        refused(
            "`.` in the prefix",
            URL,
            "s3://assets/./b",
            "its prefix has an empty, `.` or `..` segment",
        ),
        refused(
            "`//` in the prefix",
            URL,
            "s3://assets/a//b",
            "its prefix has an empty, `.` or `..` segment",
        ),
        refused(
            "`//` before the prefix",
            URL,
            "s3://assets//app",
            "its prefix has an empty, `.` or `..` segment",
        ),
        accepted(
            "a trailing slash",
            URL,
            "s3://assets/app/",
            "bucket assets, prefix app (keys app/release-ID.json)",
            |s| assert_eq!(s3(s), ("assets".into(), "app".into(), None)),
        ),
        accepted(
            "a percent-encoded slash in the prefix",
            URL,
            "s3://assets/my%2Fapp",
            "taken literally, without percent-decoding: keys my%2Fapp/release-ID.json",
            |s| assert_eq!(s3(s).1, "my%2Fapp"),
        ),
        accepted(
            "a percent-encoded `..` as the prefix",
            URL,
            "s3://assets/%2e%2e",
            "taken literally: the prefix is the name %2e%2e, not `..`",
            |s| assert_eq!(s3(s).1, "%2e%2e"),
        ),
        accepted(
            "unicode in the prefix",
            URL,
            "s3://assets/ünï",
            "the prefix ünï, as S3 keys are UTF-8",
            |s| assert_eq!(s3(s).1, "ünï"),
        ),
        refused(
            "a tab inside",
            URL,
            "s3://as\tsets",
            "it contains control characters",
        ),
        accepted(
            "a trailing newline",
            URL,
            "s3://assets/app\n",
            "blanks around the value are not part of it",
            |s| assert_eq!(s3(s), ("assets".into(), "app".into(), None)),
        ),
    ]
}

#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn other_cases() -> Vec<Case> {
    let password = URL_PASSWORD;
    vec![
        // STATIC_ARTIFACTS_ENDPOINT
        refused(
            "ftp endpoint",
            ENDPOINT,
            "ftp://minio:9000",
            "the scheme `ftp://` is not supported; use http:// or https://",
        ),
        refused(
            "s3 endpoint",
            ENDPOINT,
            "s3://minio:9000",
            "the scheme `s3://` is not supported",
        ),
        refused(
            "upper-case HTTP endpoint",
            ENDPOINT,
            "HTTP://minio:9000",
            "the scheme `HTTP://` is not supported",
        ),
        refused(
            "endpoint without scheme",
            ENDPOINT,
            "minio:9000",
            "\"minio:9000\" has no scheme",
        ),
        refused(
            "endpoint with user info",
            ENDPOINT,
            format!("http://admin:{password}@minio:9000"),
            "it must not hold user info (user:password@). Credentials go in STATIC_ARTIFACTS_ACCESS_KEY_ID",
        ),
        refused(
            "endpoint with user info and no scheme",
            ENDPOINT,
            format!("admin:{password}@minio:9000"),
            "it must not hold user info",
        ),
        refused(
            "endpoint with a query",
            ENDPOINT,
            "http://minio:9000/?x=1",
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment",
        ),
        refused(
            "endpoint with a fragment",
            ENDPOINT,
            "http://minio:9000#f",
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment",
        ),
        refused(
            "endpoint without host",
            ENDPOINT,
            "http://",
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment",
        ),
        refused(
            "endpoint with a space",
            ENDPOINT,
            "http://min io:9000",
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment",
        ),
        refused(
            "endpoint with a newline",
            ENDPOINT,
            "http://minio:9000\n/x",
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment",
        ),
        refused(
            "endpoint with a port past 65535",
            ENDPOINT,
            "http://minio:99999",
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment",
        ),
        accepted(
            "endpoint with a path",
            ENDPOINT,
            "http://minio:9000/storage/",
            "requests go under that path: http://minio:9000/storage/BUCKET/KEY",
            |s| assert_eq!(s.endpoint(), Some("http://minio:9000/storage")),
        ),
        accepted(
            "endpoint in IPv6",
            ENDPOINT,
            "http://[::1]:9000",
            "that address and port",
            |s| assert_eq!(s.endpoint(), Some("http://[::1]:9000")),
        ),
        // AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL: the same rules, naming their variable.
        refused(
            "AWS_ENDPOINT_URL_S3 with user info",
            "AWS_ENDPOINT_URL_S3",
            format!("http://admin:{password}@minio:9000"),
            "it must not hold user info",
        ),
        refused(
            "AWS_ENDPOINT_URL without scheme",
            "AWS_ENDPOINT_URL",
            "minio:9000",
            "\"minio:9000\" has no scheme",
        ),
        accepted(
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_S3",
            "http://minio:9000/",
            "the endpoint, as STATIC_ARTIFACTS_ENDPOINT would be",
            |s| assert_eq!(s.endpoint(), Some("http://minio:9000")),
        ),
        // AWS_REGION and AWS_DEFAULT_REGION, when they decide the region.
        refused(
            "AWS_REGION with a space",
            "AWS_REGION",
            "eu west",
            "\"eu west\" is not a region name",
        ),
        accepted(
            "AWS_DEFAULT_REGION",
            "AWS_DEFAULT_REGION",
            "ap-south-1\n",
            "ap-south-1",
            |s| assert_eq!(region_of(s), "ap-south-1"),
        ),
        // STATIC_ARTIFACTS_KEEP
        refused(
            "keep negative",
            KEEP,
            "-1",
            "\"-1\" is not a whole number of at least 1",
        ),
        refused(
            "keep zero",
            KEEP,
            "0",
            "\"0\" is not a whole number of at least 1",
        ),
        refused("keep a float", KEEP, "1.5", "\"1.5\" is not a whole number"),
        refused(
            "keep in hexadecimal",
            KEEP,
            "0x10",
            "\"0x10\" is not a whole number",
        ),
        refused(
            "keep with an exponent",
            KEEP,
            "1e3",
            "\"1e3\" is not a whole number",
        ),
        refused(
            "keep with a unit",
            KEEP,
            "10 releases",
            "\"10 releases\" is not a whole number",
        ),
        refused(
            "keep in Arabic digits",
            KEEP,
            "٣",
            "\"٣\" is not a whole number",
        ),
        refused(
            "keep huge",
            KEEP,
            "99999999999999999999",
            "\"99999999999999999999\" is too large",
        ),
        accepted("keep with a plus sign", KEEP, "+5", "5 releases", |s| {
            assert_eq!(s.keep, Some(5));
        }),
        accepted(
            "keep empty",
            KEEP,
            "",
            "unset: publishing deletes nothing",
            |s| assert_eq!(s.keep, None),
        ),
        accepted(
            "keep blank",
            KEEP,
            "  ",
            "unset: publishing deletes nothing",
            |s| assert_eq!(s.keep, None),
        ),
        // STATIC_ARTIFACTS_LOAD_TIMEOUT
        refused(
            "load timeout negative",
            LOAD_TIMEOUT,
            "-1",
            "it is negative. Set it to a number of seconds",
        ),
        refused(
            "load timeout zero",
            LOAD_TIMEOUT,
            "0",
            "it is zero. Set it to a number of seconds",
        ),
        refused(
            "load timeout a float",
            LOAD_TIMEOUT,
            "1.5",
            "`1.5` is not a number followed by `s`, `m` or `h`",
        ),
        refused(
            "load timeout a word",
            LOAD_TIMEOUT,
            "soon",
            "`soon` is not a number",
        ),
        refused(
            "load timeout in days",
            LOAD_TIMEOUT,
            "1d",
            "`1d` is not a number",
        ),
        refused(
            "load timeout in Arabic digits",
            LOAD_TIMEOUT,
            "٥٠",
            "is not a number",
        ),
        refused(
            "load timeout past 64 bits",
            LOAD_TIMEOUT,
            "99999999999999999999",
            "is longer than 720h",
        ),
        refused(
            "load timeout of 2^64-1 seconds",
            LOAD_TIMEOUT,
            "18446744073709551615",
            "is longer than 720h",
        ),
        refused(
            "load timeout of a day and a second",
            LOAD_TIMEOUT,
            "86401",
            "it is longer than a day",
        ),
        refused(
            "load timeout with a newline inside",
            LOAD_TIMEOUT,
            "5\n0",
            "it contains control characters",
        ),
        accepted(
            "load timeout of a day",
            LOAD_TIMEOUT,
            "86400",
            "86400 seconds",
            |s| assert_eq!(s.load_timeout, Duration::from_hours(24)),
        ),
        accepted(
            "load timeout with units",
            LOAD_TIMEOUT,
            "1m30s",
            "90 seconds, as `timeout` in project.toml",
            |s| assert_eq!(s.load_timeout, Duration::from_secs(90)),
        ),
        accepted(
            "load timeout empty",
            LOAD_TIMEOUT,
            "",
            "unset: the default, 50 seconds",
            |s| assert_eq!(s.load_timeout, Duration::from_secs(50)),
        ),
        // STATIC_ARTIFACTS_COMPRESSION
        refused(
            "compression in upper case",
            COMPRESSION,
            "ZSTD",
            "\"ZSTD\" is not a compression. Set it to zstd (the default) or gzip.",
        ),
        refused(
            "compression gz",
            COMPRESSION,
            "gz",
            "\"gz\" is not a compression",
        ),
        refused(
            "compression list",
            COMPRESSION,
            "zstd,gzip",
            "\"zstd,gzip\" is not a compression",
        ),
        refused(
            "compression in fullwidth letters",
            COMPRESSION,
            "ｚｓｔｄ",
            "is not a compression",
        ),
        refused(
            "compression a number",
            COMPRESSION,
            "3",
            "\"3\" is not a compression",
        ),
        accepted("compression empty", COMPRESSION, "", "unset: zstd", |s| {
            assert_eq!(s.compression, Compression::Zstd);
        }),
        accepted(
            "compression with blanks",
            COMPRESSION,
            " gzip\n",
            "gzip",
            |s| assert_eq!(s.compression, Compression::Gzip),
        ),
        // STATIC_ARTIFACTS_FALLBACK
        refused(
            "fallback in upper case",
            FALLBACK,
            "LATEST",
            "\"LATEST\" is not a fallback. Set it to latest (the default) or none.",
        ),
        refused(
            "fallback false",
            FALLBACK,
            "false",
            "\"false\" is not a fallback",
        ),
        refused("fallback zero", FALLBACK, "0", "\"0\" is not a fallback"),
        refused(
            "fallback in fullwidth letters",
            FALLBACK,
            "ｎｏｎｅ",
            "is not a fallback",
        ),
        accepted("fallback empty", FALLBACK, "", "unset: latest", |s| {
            assert_eq!(s.fallback, Fallback::Latest);
        }),
        accepted("fallback none", FALLBACK, "none", "fail instead", |s| {
            assert_eq!(s.fallback, Fallback::None);
        }),
        // STATIC_ARTIFACTS_REGION
        refused(
            "region with a space",
            REGION,
            "eu west",
            "\"eu west\" is not a region name",
        ),
        refused(
            "region with a slash",
            REGION,
            "../x",
            "\"../x\" is not a region name",
        ),
        refused(
            "region in unicode",
            REGION,
            "éu-west-1",
            "is not a region name",
        ),
        accepted(
            "region with a trailing newline",
            REGION,
            "eu-west-1\n",
            "eu-west-1",
            |s| assert_eq!(region_of(s), "eu-west-1"),
        ),
        // Credentials: the messages name variables, never values.
        Case {
            name: "a secret key without access key id",
            vars: vec![("STATIC_ARTIFACTS_ACCESS_KEY_ID", String::new())],
            expect: Expect::Refused {
                variable: "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
                says: "it is set but STATIC_ARTIFACTS_ACCESS_KEY_ID is not",
            },
        },
        Case {
            name: "an access key id without secret key",
            vars: vec![("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", " ".to_string())],
            expect: Expect::Refused {
                variable: "STATIC_ARTIFACTS_ACCESS_KEY_ID",
                says: "it is set but STATIC_ARTIFACTS_SECRET_ACCESS_KEY is not",
            },
        },
        Case {
            name: "a session token alone",
            vars: vec![
                ("STATIC_ARTIFACTS_ACCESS_KEY_ID", String::new()),
                ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", String::new()),
            ],
            expect: Expect::Refused {
                variable: "STATIC_ARTIFACTS_SESSION_TOKEN",
                says: "it is set without STATIC_ARTIFACTS_ACCESS_KEY_ID",
            },
        },
        accepted(
            "credentials with blanks around",
            "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
            format!("  {SECRET_ACCESS_KEY}\n"),
            "the secret without the blanks",
            |_| {},
        ),
    ]
}

#[test]
fn every_hostile_setting_is_refused_clearly_or_has_one_meaning() {
    let no_file = Path::new("/nonexistent/release_id");
    let mut failures = Vec::new();
    let cases: Vec<Case> = url_cases().into_iter().chain(other_cases()).collect();
    for case in &cases {
        let result = read(&case.vars, no_file);
        let outcome = match (&case.expect, result) {
            (Expect::Refused { variable, says }, Err(error)) => {
                // Shown with `--nocapture`: what each row gives, in the words users see.
                eprintln!("{}: {error}", case.name);
                check_refusal(
                    &error.to_string(),
                    &format!("{variable} is invalid: "),
                    says,
                )
                .and_then(|()| check_no_secret(&format!("{error:?}")))
            }
            (Expect::Accepted { meaning, check }, Ok(settings)) => {
                eprintln!("{}: accepted, meaning {meaning}", case.name);
                let check = *check;
                let shown = format!("{settings:?}");
                std::panic::catch_unwind(move || check(&settings))
                    .map_err(|_| format!("accepted, but does not mean {meaning:?}"))
                    .and_then(|()| check_no_secret(&shown))
            }
            (Expect::Refused { .. }, Ok(settings)) => Err(format!("accepted: {settings:?}")),
            (Expect::Accepted { .. }, Err(error)) => Err(format!("refused: {error}")),
        };
        if let Err(why) = outcome {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
