//! Every `STATIC_ARTIFACTS_*` setting, read from the environment and checked up front.

use crate::release_id::{ReleaseIdSource, read_release_id};
use crate::store::{Connection, StaticCredentials};
use crate::{BadReleaseId, BadStoreUrl, ReleaseId, Store, StoreUrl};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the archive is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Zstandard, `.tar.zst` (the default).
    Zstd,
    /// Gzip, `.tgz`.
    Gzip,
}

impl Compression {
    /// The archive's file extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Zstd => "tar.zst",
            Compression::Gzip => "tgz",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        })
    }
}

/// What the web loader does when this release has no artifacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// Load the latest published release's artifacts, with a warning (the default).
    Latest,
    /// Fail.
    None,
}

/// A setting that is missing or wrong; the text names the variable and what to put there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required variable is not set.
    #[error("{name} is not set. {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// A variable holds a value that cannot be used.
    #[error("{name} is invalid: {message}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// The release id is not valid.
    #[error(
        "The release id from {origin} is invalid: {error}. {}",
        release_id_fix(origin)
    )]
    BadReleaseId {
        /// Where it came from.
        origin: ReleaseIdSource,
        /// What is wrong.
        error: BadReleaseId,
    },
    /// The release id file exists but cannot be read.
    #[error("Couldn't read the release id from {}: {message}", path.display())]
    CannotReadReleaseIdFile {
        /// The file.
        path: PathBuf,
        /// The read error.
        message: String,
    },
}

/// What to do about an invalid release id from `origin`.
fn release_id_fix(origin: &ReleaseIdSource) -> &'static str {
    match origin {
        ReleaseIdSource::Env => {
            "Set RELEASE_ID to 1-128 characters of A-Z a-z 0-9 . _ -, other than `.` and `..`."
        }
        ReleaseIdSource::File(_) => {
            "Write 1-128 characters of A-Z a-z 0-9 . _ -, other than `.` and `..`, to that file, or remove it to use RELEASE_ID."
        }
    }
}

/// The artifact settings of this process.
#[derive(Clone, Debug)]
pub struct Settings {
    pub(crate) release_id: Option<(ReleaseId, ReleaseIdSource)>,
    pub(crate) url: Option<StoreUrl>,
    pub(crate) credentials: Option<StaticCredentials>,
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    /// How new archives are compressed.
    pub compression: Compression,
    /// What the loader does when this release has no artifacts.
    pub fallback: Fallback,
    /// How long the web loader may take in all.
    pub load_timeout: Duration,
    /// How many published releases publishing keeps, if set.
    pub keep: Option<usize>,
}

const URL_HINT: &str = "Set it to file:///absolute/folder, s3://bucket[/prefix] or s3://bucket.s3.REGION.amazonaws.com[/prefix].";
const RELEASE_ID_HINT: &str = "Set RELEASE_ID to this release's id (1-128 characters of A-Z a-z 0-9 . _ -), or write it to /etc/heroku/release_id.";

impl Settings {
    /// Reads the settings from this process's environment and [`crate::RELEASE_ID_FILE`].
    ///
    /// # Errors
    ///
    /// Returns the first setting that is present but wrong.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(
            |name| std::env::var(name).ok(),
            Path::new(crate::RELEASE_ID_FILE),
        )
    }

    /// Reads the settings from `var` (a variable lookup) and `release_id_file`.
    ///
    /// ```
    /// use release_artifacts::{Compression, Settings};
    ///
    /// let vars = |name: &str| match name {
    ///     "RELEASE_ID" => Some("v42".to_string()),
    ///     "STATIC_ARTIFACTS_URL" => Some("s3://assets/app".to_string()),
    ///     "STATIC_ARTIFACTS_COMPRESSION" => Some("gzip".to_string()),
    ///     _ => None,
    /// };
    /// let settings = Settings::from_vars(vars, "/nonexistent".as_ref()).unwrap();
    /// assert_eq!(settings.release_id().unwrap().as_str(), "v42");
    /// assert_eq!(settings.compression, Compression::Gzip);
    /// assert_eq!(settings.region(), "us-east-1");
    /// ```
    ///
    /// # Errors
    ///
    /// Returns the first setting that is present but wrong.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        release_id_file: &Path,
    ) -> Result<Self, SettingsError> {
        // An empty variable counts as unset.
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let invalid =
            |name: &'static str, message: String| SettingsError::Invalid { name, message };

        let release_id = read_release_id(release_id_file, get("RELEASE_ID").as_deref())?;
        let url = get("STATIC_ARTIFACTS_URL")
            .map(|text| text.parse::<StoreUrl>())
            .transpose()
            .map_err(|BadStoreUrl(message)| invalid("STATIC_ARTIFACTS_URL", message))?;

        let credentials = read_credentials(&get)?;

        let region = get("STATIC_ARTIFACTS_REGION")
            .map(|region| {
                let region = region.trim().to_string();
                if region
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    Ok(region)
                } else {
                    Err(invalid(
                        "STATIC_ARTIFACTS_REGION",
                        format!(
                            "{region:?} is not a region name. Set it to one such as us-east-1."
                        ),
                    ))
                }
            })
            .transpose()?;
        let endpoint = get("STATIC_ARTIFACTS_ENDPOINT")
            .map(|endpoint| check_endpoint(endpoint.trim()))
            .transpose()
            .map_err(|message| invalid("STATIC_ARTIFACTS_ENDPOINT", message))?;

        let (compression, fallback) = read_choices(&get)?;
        let load_timeout = match get("STATIC_ARTIFACTS_LOAD_TIMEOUT") {
            None => Duration::from_secs(50),
            Some(text) => read_load_timeout(text.trim())
                .map_err(|message| invalid("STATIC_ARTIFACTS_LOAD_TIMEOUT", message))?,
        };
        let keep = get("STATIC_ARTIFACTS_KEEP")
            .map(|text| read_keep(text.trim()))
            .transpose()
            .map_err(|message| invalid("STATIC_ARTIFACTS_KEEP", message))?;

        Ok(Settings {
            release_id,
            url,
            credentials,
            region,
            endpoint,
            compression,
            fallback,
            load_timeout,
            keep,
        })
    }

    /// This release's id.
    ///
    /// # Errors
    ///
    /// Returns [`SettingsError::Missing`] when neither the file nor `RELEASE_ID` gives one.
    pub fn release_id(&self) -> Result<&ReleaseId, SettingsError> {
        self.release_id
            .as_ref()
            .map(|(id, _)| id)
            .ok_or(SettingsError::Missing {
                name: "RELEASE_ID",
                hint: RELEASE_ID_HINT,
            })
    }

    /// The store's URL.
    ///
    /// # Errors
    ///
    /// Returns [`SettingsError::Missing`] when `STATIC_ARTIFACTS_URL` is not set.
    pub fn url(&self) -> Result<&StoreUrl, SettingsError> {
        self.url.as_ref().ok_or(SettingsError::Missing {
            name: "STATIC_ARTIFACTS_URL",
            hint: URL_HINT,
        })
    }

    /// How to reach the store besides its URL: region, endpoint and credentials.
    #[must_use]
    pub fn connection(&self) -> Connection {
        Connection {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            credentials: self.credentials.clone(),
        }
    }

    /// Opens the store of `STATIC_ARTIFACTS_URL`.
    ///
    /// # Errors
    ///
    /// Returns [`SettingsError::Missing`] when `STATIC_ARTIFACTS_URL` is not set.
    pub async fn open_store(&self) -> Result<Store, SettingsError> {
        Ok(Store::open(self.url()?, &self.connection()).await)
    }

    /// The S3 region: the one in an AWS host name, else `STATIC_ARTIFACTS_REGION`, else
    /// `us-east-1`.
    #[must_use]
    pub fn region(&self) -> String {
        match &self.url {
            Some(StoreUrl::S3 {
                region: Some(region),
                ..
            }) => region.clone(),
            _ => self
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".to_string()),
        }
    }

    /// The S3-compatible endpoint, if one is set.
    #[must_use]
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
}

/// Static credentials: both keys (in either spelling) and maybe a session token, or none.
fn read_credentials(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<StaticCredentials>, SettingsError> {
    let invalid = |name: &'static str, message: &str| SettingsError::Invalid {
        name,
        message: message.to_string(),
    };
    let access_key = get("STATIC_ARTIFACTS_ACCESS_KEY_ID")
        .map(|v| ("STATIC_ARTIFACTS_ACCESS_KEY_ID", v))
        .or_else(|| {
            get("STATIC_ARTIFACTS_AWS_ACCESS_KEY_ID")
                .map(|v| ("STATIC_ARTIFACTS_AWS_ACCESS_KEY_ID", v))
        });
    let secret = get("STATIC_ARTIFACTS_SECRET_ACCESS_KEY")
        .map(|v| ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", v))
        .or_else(|| {
            get("STATIC_ARTIFACTS_AWS_SECRET_ACCESS_KEY")
                .map(|v| ("STATIC_ARTIFACTS_AWS_SECRET_ACCESS_KEY", v))
        });
    let session_token = get("STATIC_ARTIFACTS_SESSION_TOKEN");
    Ok(match (access_key, secret) {
        (Some((_, access_key_id)), Some((_, secret_access_key))) => Some(StaticCredentials {
            access_key_id: access_key_id.trim().to_string(),
            secret_access_key: secret_access_key.trim().to_string(),
            session_token: session_token.map(|token| token.trim().to_string()),
        }),
        (Some((name, _)), None) => {
            return Err(invalid(
                name,
                "it is set but STATIC_ARTIFACTS_SECRET_ACCESS_KEY is not. Set both, or neither to use the standard AWS credential chain.",
            ));
        }
        (None, Some((name, _))) => {
            return Err(invalid(
                name,
                "it is set but STATIC_ARTIFACTS_ACCESS_KEY_ID is not. Set both, or neither to use the standard AWS credential chain.",
            ));
        }
        (None, None) if session_token.is_some() => {
            return Err(invalid(
                "STATIC_ARTIFACTS_SESSION_TOKEN",
                "it is set without STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY. Set all three.",
            ));
        }
        (None, None) => None,
    })
}

/// The longest `STATIC_ARTIFACTS_LOAD_TIMEOUT`: a day. Longer ones mean nothing for a process
/// that waits for its artifacts before it starts, and would overflow its deadline.
const MAX_LOAD_TIMEOUT: Duration = Duration::from_hours(24);

/// `STATIC_ARTIFACTS_LOAD_TIMEOUT`, written as a `timeout` of project.toml is.
fn read_load_timeout(text: &str) -> Result<Duration, String> {
    const FIX: &str = "Set it to a number of seconds, such as 50.";
    if text.chars().any(char::is_control) {
        return Err(format!("it contains control characters. {FIX}"));
    }
    let timeout = match text.parse::<release_commands::Timeout>() {
        Ok(timeout) => timeout.as_duration(),
        // Unlike `timeout` in project.toml, leaving it out gives the default, not no limit.
        Err(release_commands::TimeoutError::Zero) => return Err(format!("it is zero. {FIX}")),
        Err(error) => return Err(format!("{error}. {FIX}")),
    };
    if timeout > MAX_LOAD_TIMEOUT {
        return Err(format!(
            "it is longer than a day ({} seconds). {FIX}",
            MAX_LOAD_TIMEOUT.as_secs()
        ));
    }
    Ok(timeout)
}

/// `STATIC_ARTIFACTS_KEEP`.
fn read_keep(text: &str) -> Result<usize, String> {
    const FIX: &str = "Set it to the number of published releases to keep, such as 10, or leave it unset to keep them all.";
    match text.parse::<usize>() {
        Ok(keep) if keep > 0 => Ok(keep),
        Err(error) if *error.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("{text:?} is too large. {FIX}"))
        }
        _ => Err(format!(
            "{text:?} is not a whole number of at least 1 (the number of published releases to keep). {FIX}"
        )),
    }
}

/// `STATIC_ARTIFACTS_COMPRESSION` and `STATIC_ARTIFACTS_FALLBACK`.
fn read_choices(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(Compression, Fallback), SettingsError> {
    let invalid = |name: &'static str, message: String| SettingsError::Invalid { name, message };
    let compression = match get("STATIC_ARTIFACTS_COMPRESSION")
        .as_deref()
        .map(str::trim)
    {
        None | Some("zstd") => Compression::Zstd,
        Some("gzip") => Compression::Gzip,
        Some(other) => {
            return Err(invalid(
                "STATIC_ARTIFACTS_COMPRESSION",
                format!("{other:?} is not a compression. Set it to zstd (the default) or gzip."),
            ));
        }
    };
    let fallback = match get("STATIC_ARTIFACTS_FALLBACK").as_deref().map(str::trim) {
        None | Some("latest") => Fallback::Latest,
        Some("none") => Fallback::None,
        Some(other) => {
            return Err(invalid(
                "STATIC_ARTIFACTS_FALLBACK",
                format!("{other:?} is not a fallback. Set it to latest (the default) or none."),
            ));
        }
    };
    Ok((compression, fallback))
}

fn check_endpoint(endpoint: &str) -> Result<String, String> {
    // An endpoint never holds user info; when it seems to, the value may hold a password and
    // is not repeated in the message.
    if endpoint.contains('@') {
        return Err("it must not hold user info (user:password@). Credentials go in STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY; set the endpoint to a URL such as https://ACCOUNT.r2.cloudflarestorage.com.".to_string());
    }
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Err(format!(
            "{endpoint:?} has no scheme. Set it to a URL such as http://127.0.0.1:9000 or https://ACCOUNT.r2.cloudflarestorage.com."
        ));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(format!(
            "the scheme `{scheme}://` is not supported; use http:// or https://."
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !is_host_and_port(authority) || rest.contains(['?', '#']) {
        return Err(
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment."
                .to_string(),
        );
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with a DNS name or an IP address as host.
fn is_host_and_port(authority: &str) -> bool {
    let (host_ok, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((address, rest)) = v6.split_once(']') else {
            return false;
        };
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port),
            None if rest.is_empty() => None,
            None => return false,
        };
        (address.parse::<std::net::Ipv6Addr>().is_ok(), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        (host_ok, port)
    };
    host_ok && port.is_none_or(|port| port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
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

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.compression, Compression::Zstd);
        assert_eq!(s.fallback, Fallback::Latest);
        assert_eq!(s.load_timeout, Duration::from_secs(50));
        assert_eq!(s.keep, None);
        assert_eq!(s.region(), "us-east-1");
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

    #[test]
    fn reads_every_setting() {
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
        assert_eq!(s.region(), "eu-central-1");
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

    #[test]
    fn the_region_of_an_aws_host_name_wins() {
        let s = settings(&[
            (
                "STATIC_ARTIFACTS_URL",
                "s3://assets.s3.ap-south-1.amazonaws.com",
            ),
            ("STATIC_ARTIFACTS_REGION", "eu-central-1"),
        ])
        .unwrap();
        assert_eq!(s.region(), "ap-south-1");
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
}
