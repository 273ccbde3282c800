//! `STATIC_ARTIFACTS_URL`: where artifacts are stored, `file:///dir` or `s3://bucket[/prefix]`.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// A parsed `STATIC_ARTIFACTS_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    /// A local (or mounted) folder.
    File {
        /// The absolute folder.
        dir: PathBuf,
    },
    /// An S3 bucket and key prefix.
    S3 {
        /// The bucket name.
        bucket: String,
        /// The key prefix without leading or trailing `/` (may be empty).
        prefix: String,
        /// The region named in an AWS host name, such as `eu-west-1`.
        region: Option<String>,
    },
}

/// Why a URL was refused; the text says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadStoreUrl(pub String);

const FORMS: &str = "Use file:///absolute/folder, s3://bucket[/prefix] or s3://bucket.s3.REGION.amazonaws.com[/prefix]";

impl FromStr for StoreUrl {
    type Err = BadStoreUrl;

    /// ```
    /// use release_artifacts::StoreUrl;
    ///
    /// let url: StoreUrl = "s3://my.assets.s3.eu-west-1.amazonaws.com/app/".parse().unwrap();
    /// assert_eq!(
    ///     url,
    ///     StoreUrl::S3 {
    ///         bucket: "my.assets".into(),
    ///         prefix: "app".into(),
    ///         region: Some("eu-west-1".into()),
    ///     }
    /// );
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| Err(BadStoreUrl(format!("{why}. {FORMS}.")));
        let text = text.trim();
        if text.chars().any(char::is_control) {
            return bad("it contains control characters");
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return bad("it does not start with `file://` or `s3://`");
        };
        if rest.contains(['?', '#']) {
            return bad("it has a query (`?`) or fragment (`#`), which have no meaning here");
        }
        match scheme.to_ascii_lowercase().as_str() {
            "file" => parse_file(rest),
            "s3" => parse_s3(rest),
            other => bad(&format!("the scheme `{other}://` is not supported")),
        }
    }
}

fn parse_file(rest: &str) -> Result<StoreUrl, BadStoreUrl> {
    let bad = |why: &str| {
        Err(BadStoreUrl(format!(
            "{why}. Write file:///absolute/folder (three slashes)."
        )))
    };
    let (host, path) = match rest.find('/') {
        Some(index) => rest.split_at(index),
        None => (rest, ""),
    };
    // A password may hold `/`: nothing of a URL with user info is shown.
    if !(host.is_empty() || host == "localhost") && rest.contains('@') {
        return bad("it contains user info (`user@`), which has no meaning for a folder");
    }
    if !(host.is_empty() || host == "localhost") {
        return bad(&format!(
            "`file://{rest}` names the host `{host}`, or is a relative path"
        ));
    }
    if !Path::new(path)
        .components()
        .any(|part| matches!(part, Component::Normal(_)))
    {
        return bad("it names no folder (the root folder is not allowed)");
    }
    if path.split('/').any(|segment| segment == "..") {
        return bad("it contains `..`");
    }
    Ok(StoreUrl::File {
        dir: PathBuf::from(path.trim_end_matches('/')),
    })
}

fn parse_s3(rest: &str) -> Result<StoreUrl, BadStoreUrl> {
    let bad = |why: &str| Err(BadStoreUrl(format!("{why}. {FORMS}.")));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.contains('@') {
        return bad(
            "it contains user info (`user@`); give credentials in STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY instead",
        );
    }
    if host.contains(':') {
        return bad(
            "it contains a port; give an S3-compatible endpoint in STATIC_ARTIFACTS_ENDPOINT instead",
        );
    }
    let bare_bucket = host;
    let host = host.to_ascii_lowercase();
    let (bucket, region) = match host.strip_suffix(".amazonaws.com") {
        Some(aws) => {
            let Some((bucket, service)) = aws
                .split_once(".s3.")
                .or_else(|| aws.split_once(".s3-"))
                .or_else(|| aws.strip_suffix(".s3").map(|bucket| (bucket, "")))
            else {
                return bad(&format!("`{host}` is an AWS host name, but not an S3 one"));
            };
            let region = service
                .strip_prefix("dualstack.")
                .unwrap_or(service)
                .to_string();
            (bucket.to_string(), (!region.is_empty()).then_some(region))
        }
        // Not a host name but a bucket name, whose case counts (`MyAssets` is not `myassets`).
        None => (bare_bucket.to_string(), None),
    };
    if let Err(why) = check_bucket(&bucket) {
        return bad(&why);
    }
    if let Some(region) = &region
        && !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return bad(&format!("`{region}` is not a region name"));
    }
    // One trailing `/` is allowed; `s3://bucket//app` is the key prefix `/app`, not `app`.
    let prefix = path.strip_suffix('/').unwrap_or(path);
    if prefix
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
        && !prefix.is_empty()
    {
        return bad("its prefix has an empty, `.` or `..` segment");
    }
    Ok(StoreUrl::S3 {
        bucket,
        prefix: prefix.to_string(),
        region,
    })
}

fn check_bucket(bucket: &str) -> Result<(), String> {
    if bucket.is_empty() {
        return Err("it names no bucket".to_string());
    }
    if !(3..=63).contains(&bucket.len()) {
        return Err(format!(
            "`{bucket}` is not a bucket name: it must be 3 to 63 characters long"
        ));
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(format!(
            "`{bucket}` is not a bucket name: use lowercase letters, digits, `.` and `-`"
        ));
    }
    if !bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
        || bucket.contains("..")
    {
        return Err(format!(
            "`{bucket}` is not a bucket name: it must start and end with a letter or digit, and have no `..`"
        ));
    }
    Ok(())
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::File { dir } => write!(f, "file://{}", dir.display()),
            StoreUrl::S3 { bucket, prefix, .. } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, prefix: &str, region: Option<&str>) -> StoreUrl {
        StoreUrl::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
            region: region.map(Into::into),
        }
    }

    #[test]
    fn parses_every_documented_form() {
        let cases = [
            ("s3://assets", s3("assets", "", None)),
            ("s3://assets/", s3("assets", "", None)),
            ("s3://assets/my/app/", s3("assets", "my/app", None)),
            ("s3://my.dotted.bucket/p", s3("my.dotted.bucket", "p", None)),
            ("s3://assets.s3.amazonaws.com/p", s3("assets", "p", None)),
            (
                "s3://assets.s3.eu-west-1.amazonaws.com/p",
                s3("assets", "p", Some("eu-west-1")),
            ),
            (
                "s3://a.b.c.s3.us-west-2.amazonaws.com",
                s3("a.b.c", "", Some("us-west-2")),
            ),
            (
                "s3://assets.s3-eu-west-1.amazonaws.com/p",
                s3("assets", "p", Some("eu-west-1")),
            ),
            (
                "S3://Assets.S3.EU-WEST-1.amazonaws.com/P",
                s3("assets", "P", Some("eu-west-1")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<StoreUrl>(), Ok(expected), "{text}");
        }
        assert_eq!(
            "file:///var/artifacts/".parse::<StoreUrl>(),
            Ok(StoreUrl::File {
                dir: "/var/artifacts".into()
            })
        );
        assert_eq!(
            "file://localhost/tmp/a".parse::<StoreUrl>(),
            Ok(StoreUrl::File {
                dir: "/tmp/a".into()
            })
        );
    }

    /// Found by the `store_url` fuzz target: `file:////` gave the empty path (the current
    /// folder), `file:///./` the root folder.
    #[test]
    fn refuses_file_urls_that_name_no_folder() {
        for text in [
            "file:////",
            "file://///",
            "file://localhost//",
            "file:///./",
            "file:///.",
            "file://localhost/././/",
        ] {
            match text.parse::<StoreUrl>() {
                Ok(url) => panic!("{text:?} gave {url:?}"),
                Err(BadStoreUrl(message)) => {
                    assert!(
                        message.contains("it names no folder"),
                        "{text:?}: {message}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_odd_urls_with_a_reason() {
        let cases = [
            ("assets", "it does not start with `file://` or `s3://`"),
            ("s3:/assets", "it does not start with `file://` or `s3://`"),
            ("s3://", "it names no bucket"),
            ("s3:///app", "it names no bucket"),
            ("s3://MyAssets", "use lowercase letters, digits"),
            (
                "s3://-assets",
                "it must start and end with a letter or digit",
            ),
            ("s3://as..sets", "and have no `..`"),
            ("s3://assets//app", "empty, `.` or `..` segment"),
            ("http://assets", "the scheme `http://` is not supported"),
            ("gs://assets", "the scheme `gs://` is not supported"),
            ("s3://key:secret@assets", "it contains user info"),
            ("s3://assets?versionId=1", "it has a query"),
            ("s3://assets#x", "fragment"),
            ("s3://127.0.0.1:9000/assets", "it contains a port"),
            ("s3://ab", "it must be 3 to 63 characters long"),
            ("s3://My_Bucket", "use lowercase letters, digits"),
            ("s3://assets/a/../b", "`..` segment"),
            ("s3://assets/a//b", "empty, `.` or `..` segment"),
            ("s3://assets.ec2.amazonaws.com", "not an S3 one"),
            (
                "file://relative/dir",
                "names the host `relative`, or is a relative path",
            ),
            ("file:///", "it names no folder"),
            ("file:///a/../b", "it contains `..`"),
            ("s3://assets\n", ""),
            ("s3://as\nsets", "control characters"),
        ];
        for (text, reason) in cases {
            match text.parse::<StoreUrl>() {
                Ok(url) if reason.is_empty() => assert_eq!(url, s3("assets", "", None)),
                Ok(url) => panic!("{text:?} gave {url:?}"),
                Err(BadStoreUrl(message)) => {
                    assert!(message.contains(reason), "{text:?}: {message}");
                }
            }
        }
    }
}
