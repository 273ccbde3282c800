//! The AWS conventions of the S3 store, one row each: where the region comes from (the URL's
//! host, `STATIC_ARTIFACTS_REGION`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile, `us-east-1`)
//! and the endpoint (`STATIC_ARTIFACTS_ENDPOINT`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`),
//! checked on the client the store is built with: its region, the URL of a request and the
//! region it is signed for, and the store's name in messages. Every variable comes from a list.

use super::tests::settings;
use crate::Store;

/// What a row's settings give.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    /// The client's region.
    region: String,
    /// The region the request is signed for.
    signed_for: String,
    /// The URL of a GET of `latest.json`.
    url: String,
    /// `Store::describe()`.
    describe: String,
}

async fn seen(vars: &[(&str, String)]) -> Result<Seen, String> {
    let vars: Vec<(&str, &str)> = vars
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let settings = settings(&vars).map_err(|error| error.to_string())?;
    let store = settings.open_store().await.unwrap();
    let Store::S3(s3) = &store else {
        panic!("not an S3 store: {}", store.describe());
    };
    let (url, signed_for) = s3.request_of_get("latest.json").await;
    Ok(Seen {
        region: s3.client_region().unwrap(),
        signed_for,
        url,
        describe: store.describe(),
    })
}

/// A row: its name, the variables it sets over the base ones, and what they give.
type Row = (&'static str, Vec<(&'static str, String)>, Seen);

/// Settings for AWS S3 in `region`: the URL's virtual host.
fn aws(region: &str) -> Seen {
    Seen {
        region: region.to_string(),
        signed_for: region.to_string(),
        url: format!("https://assets.s3.{region}.amazonaws.com/app/latest.json"),
        describe: format!("s3://assets/app (AWS S3 in {region})"),
    }
}

/// Settings for the S3-compatible store at `endpoint`, path-style, signed for `region`.
fn at(endpoint: &str, region: &str) -> Seen {
    Seen {
        region: region.to_string(),
        signed_for: region.to_string(),
        url: format!("{endpoint}/assets/app/latest.json"),
        describe: format!("s3://assets/app ({endpoint})"),
    }
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one table, read top to bottom
async fn the_region_and_endpoint_follow_the_aws_conventions() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[default]\nregion = ca-central-1\n",
    )
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    let config = files.path().join("config");
    std::fs::write(
        &config,
        "[default]\nregion = sa-east-1\n\n[profile x]\nregion = ap-northeast-1\n\n[profile noregion]\noutput = json\n",
    )
    .unwrap();
    let credentials = files.path().join("credentials");
    std::fs::write(&credentials, "[y]\nregion = eu-north-1\n").unwrap();
    let home = home.path().display().to_string();
    let config = config.display().to_string();
    let credentials = credentials.display().to_string();
    let missing = files.path().join("missing").display().to_string();

    let rows: Vec<Row> = vec![
        ("nothing set: us-east-1", vec![], aws("us-east-1")),
        (
            "the URL's AWS host beats every other region",
            vec![
                (
                    "STATIC_ARTIFACTS_URL",
                    "s3://assets.s3.ap-south-1.amazonaws.com/app".into(),
                ),
                ("STATIC_ARTIFACTS_REGION", "eu-central-1".into()),
                ("AWS_REGION", "eu-west-3".into()),
                ("AWS_CONFIG_FILE", config.clone()),
                ("AWS_PROFILE", "x".into()),
            ],
            aws("ap-south-1"),
        ),
        (
            "STATIC_ARTIFACTS_REGION beats AWS_REGION and the profile",
            vec![
                ("STATIC_ARTIFACTS_REGION", "eu-central-1".into()),
                ("AWS_REGION", "eu-west-3".into()),
                ("AWS_CONFIG_FILE", config.clone()),
                ("AWS_PROFILE", "x".into()),
            ],
            aws("eu-central-1"),
        ),
        (
            "STATIC_ARTIFACTS_REGION: a bad AWS_REGION is not used, so not refused",
            vec![
                ("STATIC_ARTIFACTS_REGION", "eu-central-1".into()),
                ("AWS_REGION", "eu west".into()),
            ],
            aws("eu-central-1"),
        ),
        (
            "AWS_REGION beats AWS_DEFAULT_REGION and the profile",
            vec![
                ("AWS_REGION", "eu-west-3".into()),
                ("AWS_DEFAULT_REGION", "eu-west-2".into()),
                ("AWS_CONFIG_FILE", config.clone()),
                ("AWS_PROFILE", "x".into()),
            ],
            aws("eu-west-3"),
        ),
        (
            "AWS_DEFAULT_REGION beats the profile",
            vec![
                ("AWS_DEFAULT_REGION", "eu-west-2".into()),
                ("AWS_CONFIG_FILE", config.clone()),
                ("AWS_PROFILE", "x".into()),
            ],
            aws("eu-west-2"),
        ),
        (
            "the AWS_PROFILE of AWS_CONFIG_FILE",
            vec![
                ("AWS_CONFIG_FILE", config.clone()),
                ("AWS_PROFILE", "x".into()),
                ("HOME", home.clone()),
            ],
            aws("ap-northeast-1"),
        ),
        (
            "the default profile of AWS_CONFIG_FILE",
            vec![("AWS_CONFIG_FILE", config.clone()), ("HOME", home.clone())],
            aws("sa-east-1"),
        ),
        (
            "the default profile of ~/.aws/config",
            vec![("HOME", home.clone())],
            aws("ca-central-1"),
        ),
        (
            "a profile without a region: us-east-1",
            vec![
                ("AWS_CONFIG_FILE", config.clone()),
                ("AWS_PROFILE", "noregion".into()),
            ],
            aws("us-east-1"),
        ),
        (
            "an AWS_PROFILE that no file defines: us-east-1, not the default profile's",
            vec![
                ("AWS_CONFIG_FILE", config.clone()),
                ("AWS_PROFILE", "nowhere".into()),
            ],
            aws("us-east-1"),
        ),
        (
            "a missing AWS_CONFIG_FILE: us-east-1",
            vec![("AWS_CONFIG_FILE", missing.clone())],
            aws("us-east-1"),
        ),
        (
            "the profile of AWS_SHARED_CREDENTIALS_FILE",
            vec![
                ("AWS_SHARED_CREDENTIALS_FILE", credentials.clone()),
                ("AWS_CONFIG_FILE", missing.clone()),
                ("AWS_PROFILE", "y".into()),
            ],
            aws("eu-north-1"),
        ),
        (
            "AWS_ENDPOINT_URL: path-style, named by the endpoint",
            vec![("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/".into())],
            at("http://127.0.0.1:9000", "us-east-1"),
        ),
        (
            "AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL",
            vec![
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000".into()),
                ("AWS_ENDPOINT_URL_S3", "http://minio.internal:9100".into()),
                ("AWS_REGION", "eu-west-3".into()),
            ],
            at("http://minio.internal:9100", "eu-west-3"),
        ),
        (
            "STATIC_ARTIFACTS_ENDPOINT beats both (unchecked)",
            vec![
                ("AWS_ENDPOINT_URL", "not a url".into()),
                ("AWS_ENDPOINT_URL_S3", "ftp://x".into()),
                ("STATIC_ARTIFACTS_ENDPOINT", "https://r2.example.com".into()),
                ("STATIC_ARTIFACTS_REGION", "auto".into()),
            ],
            at("https://r2.example.com", "auto"),
        ),
        (
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: AWS",
            vec![
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000".into()),
                ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9100".into()),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE".into()),
                ("AWS_PROFILE", "x".into()),
                ("AWS_CONFIG_FILE", config.clone()),
            ],
            aws("ap-northeast-1"),
        ),
        (
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: STATIC_ARTIFACTS_ENDPOINT still counts",
            vec![
                ("STATIC_ARTIFACTS_ENDPOINT", "http://127.0.0.1:9000".into()),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true".into()),
            ],
            at("http://127.0.0.1:9000", "us-east-1"),
        ),
    ];

    let mut failures = Vec::new();
    for (name, overrides, expected) in rows {
        let mut vars: Vec<(&str, String)> = vec![
            ("STATIC_ARTIFACTS_URL", "s3://assets/app".into()),
            ("STATIC_ARTIFACTS_ACCESS_KEY_ID", "AKIAEXAMPLE".into()),
            ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", "secret".into()),
        ];
        for (variable, value) in overrides {
            vars.retain(|(known, _)| *known != variable);
            vars.push((variable, value));
        }
        match seen(&vars).await {
            Ok(seen) if seen == expected => {}
            other => failures.push(format!(
                "{name}:\n  got    {other:?}\n  wanted {expected:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_aws_endpoint_and_region_variables_are_checked_when_used() {
    let read = |vars: &[(&str, &str)]| {
        settings(&[vars, &[("STATIC_ARTIFACTS_URL", "s3://assets/app")]].concat())
    };
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("AWS_ENDPOINT_URL_S3", "127.0.0.1:9000")],
            "AWS_ENDPOINT_URL_S3 is invalid: \"127.0.0.1:9000\" has no scheme. Set it to a URL such as",
        ),
        (
            &[("AWS_ENDPOINT_URL", "http://user:pass@127.0.0.1:9000")],
            "AWS_ENDPOINT_URL is invalid: it must not hold user info (user:password@).",
        ),
        (
            // AWS_ENDPOINT_URL_S3 is the one used, and it is wrong.
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
                ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000/?x"),
            ],
            "AWS_ENDPOINT_URL_S3 is invalid: it must be a plain http(s)://host[:port] URL",
        ),
        (
            &[("AWS_REGION", "eu west")],
            "AWS_REGION is invalid: \"eu west\" is not a region name. Set it to one such as us-east-1.",
        ),
        (
            &[("AWS_DEFAULT_REGION", "../x")],
            "AWS_DEFAULT_REGION is invalid: \"../x\" is not a region name.",
        ),
    ];
    for (vars, expected) in cases {
        let message = read(vars).unwrap_err().to_string();
        assert!(
            message.starts_with(expected),
            "{vars:?}\ngave: {message}\nwanted: {expected}"
        );
    }
    // Not used, so not checked: the used one wins, and the URL's region beats AWS_REGION.
    for vars in [
        &[
            ("AWS_ENDPOINT_URL", "not a url"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"),
        ][..],
        &[
            ("AWS_ENDPOINT_URL", "not a url"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ][..],
        &[
            (
                "STATIC_ARTIFACTS_URL",
                "s3://assets.s3.eu-west-1.amazonaws.com",
            ),
            ("AWS_REGION", "eu west"),
        ][..],
        &[
            ("STATIC_ARTIFACTS_URL", "file:///srv/artifacts"),
            ("AWS_REGION", "eu west"),
        ][..],
    ] {
        assert!(read(vars).is_ok(), "{vars:?} is refused");
    }
}
