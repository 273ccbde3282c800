//! How to reach a store beyond its URL: the region, an S3-compatible endpoint and static
//! credentials, and what the standard AWS configuration says about the region.

use aws_config::meta::region::ProvideRegion;
use aws_config::profile::ProfileFileRegionProvider;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use std::fmt;
use std::path::PathBuf;

/// Static credentials; their values never appear in any output.
#[derive(Clone)]
pub struct StaticCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl StaticCredentials {
    /// Credentials of an access key, with a session token for temporary ones.
    #[must_use]
    pub fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    ) -> Self {
        StaticCredentials {
            access_key_id,
            secret_access_key,
            session_token,
        }
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticCredentials(** redacted **)")
    }
}

/// What an S3 store needs besides its URL. A `file://` store needs none of it.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// The region when the URL names none; without it, the standard AWS configuration's
    /// (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`), else `us-east-1`.
    pub region: Option<String>,
    /// An S3-compatible endpoint instead of AWS, reached with path-style addressing. The
    /// client's endpoint is exactly this: the SDK's own endpoint settings are not used.
    pub endpoint: Option<String>,
    /// Credentials; without them, the standard AWS chain's.
    pub credentials: Option<StaticCredentials>,
    /// The standard AWS configuration's region settings, read with the other settings.
    pub(crate) aws: AwsRegionConfig,
}

impl Connection {
    /// The region of a store whose URL names `url_region`: that one, else [`Connection::region`]
    /// (`STATIC_ARTIFACTS_REGION`), else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the
    /// `region` of the AWS profile, else `us-east-1`.
    ///
    /// This is the SDK's default region chain without its last step, the EC2 instance metadata
    /// service (IMDS): on a machine without IMDS, asking it costs seconds of timeouts and retries,
    /// and the web loader opens the store at every start.
    pub(crate) async fn resolve_region(&self, url_region: Option<&str>) -> String {
        if let Some(region) = url_region
            .or(self.region.as_deref())
            .or(self.aws.env_region.as_deref())
        {
            return region.to_string();
        }
        match self.aws.profile_region().await {
            Some(region) => region,
            None => "us-east-1".to_string(),
        }
    }
}

/// The region settings of the standard AWS configuration, read from a variable lookup (the
/// process's environment, or a list in tests) rather than by the SDK from the process itself.
#[derive(Clone, Debug, Default)]
pub(crate) struct AwsRegionConfig {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, as the SDK reads them.
    pub(crate) env_region: Option<String>,
    /// `AWS_PROFILE`; without it, the `default` profile.
    pub(crate) profile: Option<String>,
    /// `AWS_CONFIG_FILE`, else `~/.aws/config` (when `HOME` is set).
    pub(crate) config_file: Option<PathBuf>,
    /// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials` (when `HOME` is set).
    pub(crate) credentials_file: Option<PathBuf>,
}

impl AwsRegionConfig {
    /// Reads the AWS variables through `get` (which treats blank values as unset).
    pub(crate) fn read(get: &impl Fn(&str) -> Option<String>, env_region: Option<String>) -> Self {
        let home = get("HOME").map(|home| home.trim().to_string());
        let file = |variable: &str, default: &str| -> Option<PathBuf> {
            match get(variable) {
                Some(path) => Some(expand_home(path.trim(), home.as_deref())),
                None => home
                    .as_deref()
                    .map(|home| PathBuf::from(home).join(".aws").join(default)),
            }
        };
        AwsRegionConfig {
            env_region,
            profile: get("AWS_PROFILE").map(|profile| profile.trim().to_string()),
            config_file: file("AWS_CONFIG_FILE", "config"),
            credentials_file: file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        }
    }

    /// The `region` of the selected profile (following `source_profile`), parsed by the SDK's
    /// own profile provider. A file that is missing or unreadable counts as empty, as the SDK
    /// counts its default files.
    async fn profile_region(&self) -> Option<String> {
        let mut files = EnvConfigFiles::builder();
        let mut any = false;
        for (kind, path) in [
            (EnvConfigFileKind::Config, &self.config_file),
            (EnvConfigFileKind::Credentials, &self.credentials_file),
        ] {
            if let Some(path) = path
                && let Ok(contents) = tokio::fs::read_to_string(path).await
            {
                files = files.with_contents(kind, contents);
                any = true;
            }
        }
        if !any {
            return None;
        }
        let provider = ProfileFileRegionProvider::builder()
            .profile_name(self.profile.as_deref().unwrap_or("default"))
            .profile_files(files.build())
            .build();
        provider
            .region()
            .await
            .map(|region| region.as_ref().trim().to_string())
            .filter(|region| !region.is_empty())
    }
}

/// `path` with a leading `~` replaced by `home`, as the SDK expands `AWS_CONFIG_FILE`.
fn expand_home(path: &str, home: Option<&str>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}
