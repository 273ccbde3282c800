use super::*;

/// The settings of only `vars` (the first of a name wins).
pub(super) fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    Settings::from_vars(
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        Path::new("/nonexistent/release_id"),
    )
}

fn error(vars: &[(&str, &str)]) -> String {
    settings(vars).unwrap_err().to_string()
}

#[tokio::test]
async fn defaults() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.compression, Compression::Zstd);
    assert_eq!(s.fallback, Fallback::Latest);
    assert_eq!(s.load_timeout, Duration::from_secs(50));
    assert_eq!(s.keep, None);
    assert_eq!(s.region().await, "us-east-1");
    assert!(s.credentials.is_none());
    assert_eq!(
        s.release_id().unwrap_err().to_string(),
        "RELEASE_ID is not set. Set RELEASE_ID to this release's id (1-128 characters of A-Z a-z 0-9 . _ -), or write it to /etc/heroku/release_id."
    );
    assert_eq!(
        s.url().unwrap_err().to_string(),
        "STATIC_ARTIFACTS_URL is not set. Set it to file:///absolute/folder, s3://bucket[/prefix] or s3://bucket.s3.REGION.amazonaws.com[/prefix]."
    );
}

#[tokio::test]
async fn reads_every_setting() {
    let s = settings(&[
        ("RELEASE_ID", "v7"),
        ("STATIC_ARTIFACTS_URL", "s3://assets/app"),
        ("STATIC_ARTIFACTS_AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("STATIC_ARTIFACTS_AWS_SECRET_ACCESS_KEY", "secret"),
        ("STATIC_ARTIFACTS_SESSION_TOKEN", "token"),
        ("STATIC_ARTIFACTS_REGION", "eu-central-1"),
        ("STATIC_ARTIFACTS_ENDPOINT", "http://127.0.0.1:9000/"),
        ("STATIC_ARTIFACTS_COMPRESSION", "gzip"),
        ("STATIC_ARTIFACTS_FALLBACK", "none"),
        ("STATIC_ARTIFACTS_LOAD_TIMEOUT", "20"),
        ("STATIC_ARTIFACTS_KEEP", "5"),
    ])
    .unwrap();
    assert_eq!(s.release_id().unwrap().as_str(), "v7");
    assert_eq!(s.region().await, "eu-central-1");
    assert_eq!(s.endpoint(), Some("http://127.0.0.1:9000"));
    let credentials = s.credentials.as_ref().unwrap();
    assert_eq!(credentials.access_key_id, "AKIAEXAMPLE");
    assert_eq!(credentials.session_token.as_deref(), Some("token"));
    assert_eq!(s.compression, Compression::Gzip);
    assert_eq!(s.fallback, Fallback::None);
    assert_eq!(s.load_timeout, Duration::from_secs(20));
    assert_eq!(s.keep, Some(5));
    assert!(
        !format!("{s:?}").contains("secret"),
        "Debug never shows secrets"
    );
}

#[tokio::test]
async fn the_region_of_an_aws_host_name_wins() {
    let s = settings(&[
        (
            "STATIC_ARTIFACTS_URL",
            "s3://assets.s3.ap-south-1.amazonaws.com",
        ),
        ("STATIC_ARTIFACTS_REGION", "eu-central-1"),
    ])
    .unwrap();
    assert_eq!(s.region().await, "ap-south-1");
}

#[test]
fn every_bad_setting_names_its_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("RELEASE_ID", "a/b")],
            "The release id from RELEASE_ID is invalid: \"a/b\" is not a valid release id",
        ),
        (
            &[("STATIC_ARTIFACTS_URL", "http://x")],
            "STATIC_ARTIFACTS_URL is invalid: the scheme `http://` is not supported.",
        ),
        (
            &[("STATIC_ARTIFACTS_ACCESS_KEY_ID", "AKIA")],
            "STATIC_ARTIFACTS_ACCESS_KEY_ID is invalid: it is set but STATIC_ARTIFACTS_SECRET_ACCESS_KEY is not.",
        ),
        (
            &[("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", "s")],
            "STATIC_ARTIFACTS_SECRET_ACCESS_KEY is invalid: it is set but STATIC_ARTIFACTS_ACCESS_KEY_ID is not.",
        ),
        (
            &[("STATIC_ARTIFACTS_SESSION_TOKEN", "t")],
            "STATIC_ARTIFACTS_SESSION_TOKEN is invalid: it is set without",
        ),
        (
            &[("STATIC_ARTIFACTS_REGION", "eu west")],
            "STATIC_ARTIFACTS_REGION is invalid: \"eu west\" is not a region name",
        ),
        (
            &[("STATIC_ARTIFACTS_ENDPOINT", "127.0.0.1:9000")],
            "STATIC_ARTIFACTS_ENDPOINT is invalid: \"127.0.0.1:9000\" has no scheme.",
        ),
        (
            &[("STATIC_ARTIFACTS_ENDPOINT", "http://user:pa/ss@127.0.0.1:9")],
            "STATIC_ARTIFACTS_ENDPOINT is invalid: it must not hold user info (user:password@).",
        ),
        (
            &[("STATIC_ARTIFACTS_ENDPOINT", "http://127.0.0.1:notaport")],
            "STATIC_ARTIFACTS_ENDPOINT is invalid: it must be a plain http(s)://host[:port] URL",
        ),
        (
            &[("STATIC_ARTIFACTS_ENDPOINT", "ftp://x")],
            "STATIC_ARTIFACTS_ENDPOINT is invalid: the scheme `ftp://` is not supported",
        ),
        (
            &[("STATIC_ARTIFACTS_COMPRESSION", "xz")],
            "STATIC_ARTIFACTS_COMPRESSION is invalid: \"xz\" is not a compression. Set it to zstd (the default) or gzip.",
        ),
        (
            &[("STATIC_ARTIFACTS_FALLBACK", "previous")],
            "STATIC_ARTIFACTS_FALLBACK is invalid: \"previous\" is not a fallback. Set it to latest (the default) or none.",
        ),
        (
            &[("STATIC_ARTIFACTS_LOAD_TIMEOUT", "soon")],
            "STATIC_ARTIFACTS_LOAD_TIMEOUT is invalid: `soon` is not a number followed by",
        ),
        (
            &[("STATIC_ARTIFACTS_LOAD_TIMEOUT", "0")],
            "STATIC_ARTIFACTS_LOAD_TIMEOUT is invalid: it is zero",
        ),
        (
            &[("STATIC_ARTIFACTS_KEEP", "0")],
            "STATIC_ARTIFACTS_KEEP is invalid: \"0\" is not a whole number of at least 1",
        ),
        (
            &[("STATIC_ARTIFACTS_KEEP", "-2")],
            "STATIC_ARTIFACTS_KEEP is invalid: \"-2\" is not a whole number",
        ),
    ];
    for (vars, expected) in cases {
        let message = error(vars);
        assert!(
            message.starts_with(expected),
            "{vars:?}\ngave: {message}\nwanted: {expected}"
        );
    }
}
