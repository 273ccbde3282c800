//! Every environment variable the settings read, with what it means. The programs' `--help`
//! ends with this list; a test checks it against the names the settings actually ask for, so a
//! new setting cannot be left out.

use std::fmt::Write;

/// Each variable [`Settings`](super::Settings) reads, and what it means.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "RELEASE_ID",
        "The release's id (the file /etc/heroku/release_id wins when present).",
    ),
    (
        "STATIC_ARTIFACTS_URL",
        "The store: file:///folder, s3://bucket[/prefix] or s3://bucket.s3.REGION.amazonaws.com[/prefix].",
    ),
    (
        "STATIC_ARTIFACTS_ACCESS_KEY_ID",
        "Static credentials, with STATIC_ARTIFACTS_SECRET_ACCESS_KEY; else the AWS chain's.",
    ),
    (
        "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
        "The secret of STATIC_ARTIFACTS_ACCESS_KEY_ID.",
    ),
    (
        "STATIC_ARTIFACTS_AWS_ACCESS_KEY_ID",
        "Accepted for STATIC_ARTIFACTS_ACCESS_KEY_ID (as buildpack v1.0.x named it).",
    ),
    (
        "STATIC_ARTIFACTS_AWS_SECRET_ACCESS_KEY",
        "Accepted for STATIC_ARTIFACTS_SECRET_ACCESS_KEY.",
    ),
    (
        "STATIC_ARTIFACTS_SESSION_TOKEN",
        "The session token of temporary static credentials.",
    ),
    (
        "STATIC_ARTIFACTS_REGION",
        "The S3 region when the URL's host names none.",
    ),
    (
        "STATIC_ARTIFACTS_ENDPOINT",
        "An S3-compatible endpoint, http(s)://host[:port], reached path-style.",
    ),
    (
        "STATIC_ARTIFACTS_COMPRESSION",
        "zstd (default) or gzip, for new archives.",
    ),
    (
        "STATIC_ARTIFACTS_FALLBACK",
        "latest (default): a release without artifacts loads the latest ones; none: it fails.",
    ),
    (
        "STATIC_ARTIFACTS_LOAD_TIMEOUT",
        "Seconds a load may take in all (default 50).",
    ),
    (
        "STATIC_ARTIFACTS_KEEP",
        "N: publishing deletes all but the N newest releases.",
    ),
    (
        "AWS_REGION",
        "The region after STATIC_ARTIFACTS_REGION; then AWS_DEFAULT_REGION.",
    ),
    (
        "AWS_DEFAULT_REGION",
        "The region after AWS_REGION; then the AWS profile's.",
    ),
    (
        "AWS_PROFILE",
        "The AWS profile for the region and credentials (default: default).",
    ),
    (
        "AWS_CONFIG_FILE",
        "The AWS config file (default ~/.aws/config).",
    ),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "The AWS credentials file (default ~/.aws/credentials).",
    ),
    (
        "AWS_ENDPOINT_URL_S3",
        "Used as STATIC_ARTIFACTS_ENDPOINT when that is not set.",
    ),
    (
        "AWS_ENDPOINT_URL",
        "Used as STATIC_ARTIFACTS_ENDPOINT when neither that nor AWS_ENDPOINT_URL_S3 is set.",
    ),
    (
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "true: AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL are not used.",
    ),
    ("HOME", "Where ~/.aws/ is."),
];

/// The "Environment:" section of a program's `--help`: `also` (the program's own variables),
/// then [`ENVIRONMENT`], one per line, and a word on the AWS SDK's credential variables.
#[must_use]
pub fn environment_help(also: &[(&str, &str)]) -> String {
    let all: Vec<&(&str, &str)> = also.iter().chain(ENVIRONMENT).collect();
    let width = all.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut help = String::from("Environment:\n");
    for (name, meaning) in all {
        let _ = writeln!(help, "  {name:<width$}  {meaning}");
    }
    help.push_str(
        "  Without static credentials, the AWS SDK's credential chain reads its own variables\n  (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ROLE_ARN,\n  AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_FULL_URI, ...).",
    );
    help
}

#[cfg(test)]
mod tests {
    use super::ENVIRONMENT;
    use crate::Settings;
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::sync::Mutex;

    /// The names the settings ask for when only `given` are set.
    fn names_read(given: &[(&str, &str)]) -> BTreeSet<String> {
        let asked = Mutex::new(BTreeSet::new());
        let _ = Settings::from_vars(
            |name| {
                if let Ok(mut asked) = asked.lock() {
                    asked.insert(name.to_string());
                }
                given
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_string())
            },
            Path::new("/nonexistent/release_id"),
        );
        asked.into_inner().unwrap_or_default()
    }

    #[test]
    fn the_environment_list_holds_exactly_what_the_settings_read() {
        let mut read = BTreeSet::new();
        for given in [
            &[
                ("STATIC_ARTIFACTS_URL", "s3://bucket/prefix"),
                ("RELEASE_ID", "v1"),
            ][..],
            &[
                ("STATIC_ARTIFACTS_URL", "file:///srv/store"),
                ("RELEASE_ID", "v1"),
            ],
            &[
                ("STATIC_ARTIFACTS_URL", "s3://bucket"),
                ("RELEASE_ID", "v1"),
                ("HOME", "/home/app"),
            ],
        ] {
            read.extend(names_read(given));
        }
        let listed: BTreeSet<String> = ENVIRONMENT
            .iter()
            .map(|(name, _)| (*name).to_string())
            .collect();
        assert_eq!(
            read, listed,
            "every variable the settings read is listed, and only those"
        );
    }

    #[test]
    fn the_help_section_names_every_variable_once() {
        let help = super::environment_help(&[("EXTRA", "a program's own")]);
        assert!(help.starts_with("Environment:\n  EXTRA "), "{help}");
        for (name, _) in ENVIRONMENT {
            assert_eq!(
                help.lines()
                    .filter(|line| line.trim_start().starts_with(&format!("{name} ")))
                    .count(),
                1,
                "{name}: {help}"
            );
        }
    }
}
