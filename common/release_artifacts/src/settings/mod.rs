//! Every `STATIC_ARTIFACTS_*` setting, read from the environment and checked up front.

mod environment;
mod values;

pub use environment::{ENVIRONMENT, environment_help};

use values::{
    check_region, read_choices, read_credentials, read_endpoint, read_env_region, read_keep,
    read_load_timeout,
};

use crate::release_id::{ReleaseIdSource, read_release_id};
use crate::store::{AwsRegionConfig, Connection, StaticCredentials};
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
    pub(crate) aws: AwsRegionConfig,
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
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// assert_eq!(runtime.block_on(settings.region()), "us-east-1");
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
            .map(|region| check_region(&region))
            .transpose()
            .map_err(|message| invalid("STATIC_ARTIFACTS_REGION", message))?;
        // `AWS_REGION` and `AWS_DEFAULT_REGION` are checked only when they decide the region.
        let env_region_needed =
            region.is_none() && matches!(url, Some(StoreUrl::S3 { region: None, .. }));
        let aws = AwsRegionConfig::read(&get, read_env_region(&get, env_region_needed)?);
        let endpoint = read_endpoint(&get)?;

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
            aws,
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
            aws: self.aws.clone(),
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
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the `region` of the AWS profile
    /// (`AWS_PROFILE`, else `default`, in `AWS_CONFIG_FILE` or `~/.aws/config`, and the
    /// credentials file), else `us-east-1`. The instance metadata service is not asked.
    pub async fn region(&self) -> String {
        let url_region = match &self.url {
            Some(StoreUrl::S3 {
                region: Some(region),
                ..
            }) => Some(region.as_str()),
            _ => None,
        };
        self.connection().resolve_region(url_region).await
    }

    /// The S3-compatible endpoint, if one is set: `STATIC_ARTIFACTS_ENDPOINT`, else
    /// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`.
    #[must_use]
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
}

#[cfg(test)]
mod aws_tests;
#[cfg(test)]
mod tests;
