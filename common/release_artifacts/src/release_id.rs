//! The release id: part of every object key, so only a safe set of characters is accepted.

use std::fmt;
use std::path::Path;

/// Where the platform writes the release id; it wins over `RELEASE_ID`.
pub const RELEASE_ID_FILE: &str = "/etc/heroku/release_id";

/// A release id: 1 to 128 characters of `A-Z a-z 0-9 . _ -`, not `.` or `..`.
///
/// ```
/// use release_artifacts::ReleaseId;
///
/// assert!(ReleaseId::new("v42").is_ok());
/// assert!(ReleaseId::new("2f1c6a3e-7d6b-4b8e-9d1a-0c5f3e2b1a90").is_ok());
/// assert!(ReleaseId::new("../etc").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseId(String);

/// Why a release id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid release id: {reason}")]
pub struct BadReleaseId {
    /// The value given (cut to 140 characters).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ReleaseId {
    /// Checks `value` and makes it a release id.
    ///
    /// # Errors
    ///
    /// Returns [`BadReleaseId`] when `value` is empty, longer than 128 characters, `.` or `..`,
    /// or holds a character outside `A-Z a-z 0-9 . _ -`.
    pub fn new(value: &str) -> Result<Self, BadReleaseId> {
        let bad = |reason| BadReleaseId {
            value: value.chars().take(140).collect(),
            reason,
        };
        if value.is_empty() {
            return Err(bad("it is empty"));
        }
        // Characters, not bytes: `é` is refused for what it is, not for its length.
        if value.chars().count() > 128 {
            return Err(bad("it is longer than 128 characters"));
        }
        if value == "." || value == ".." {
            return Err(bad("`.` and `..` are not allowed"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(bad(
                "only letters, digits, `.`, `_` and `-` are allowed (it becomes part of an object key)",
            ));
        }
        // `release-<ID>.phase.json` is the record of release <ID>; a release named `<ID>.phase`
        // would have its manifest at the same key.
        #[allow(clippy::case_sensitive_file_extension_comparisons)] // keys are case-sensitive
        if value.ends_with(".phase") {
            return Err(bad(
                "it ends in `.phase`, which the store keeps for release records; name it differently",
            ));
        }
        Ok(ReleaseId(value.to_string()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a release id came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseIdSource {
    /// The file (normally [`RELEASE_ID_FILE`]).
    File(std::path::PathBuf),
    /// The `RELEASE_ID` variable.
    Env,
}

impl fmt::Display for ReleaseIdSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseIdSource::File(path) => write!(f, "the file {}", path.display()),
            ReleaseIdSource::Env => f.write_str("RELEASE_ID"),
        }
    }
}

/// Reads the release id: the contents of `file` when it exists and is not blank, else
/// `env_value`, trimmed alike (a trailing newline or blanks around the id are not part of it).
/// Returns `Ok(None)` when neither gives one.
pub(crate) fn read_release_id(
    file: &Path,
    env_value: Option<&str>,
) -> Result<Option<(ReleaseId, ReleaseIdSource)>, crate::SettingsError> {
    match std::fs::read_to_string(file) {
        Ok(text) if !text.trim().is_empty() => {
            let source = ReleaseIdSource::File(file.to_path_buf());
            return ReleaseId::new(text.trim())
                .map(|id| Some((id, source.clone())))
                .map_err(|error| crate::SettingsError::BadReleaseId {
                    origin: source,
                    error,
                });
        }
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(crate::SettingsError::CannotReadReleaseIdFile {
                path: file.to_path_buf(),
                message: error.to_string(),
            });
        }
    }
    match env_value {
        None => Ok(None),
        Some(value) => ReleaseId::new(value.trim())
            .map(|id| Some((id, ReleaseIdSource::Env)))
            .map_err(|error| crate::SettingsError::BadReleaseId {
                origin: ReleaseIdSource::Env,
                error,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unsafe_ids() {
        for value in [
            "", ".", "..", "a/b", "../x", "a b", "a\nb", "ü", "a%2f", "a:b",
        ] {
            assert!(ReleaseId::new(value).is_err(), "{value:?}");
        }
        assert!(ReleaseId::new(&"x".repeat(128)).is_ok());
        let error = ReleaseId::new(&"é".repeat(65)).unwrap_err();
        assert_eq!(error.reason, ReleaseId::new("é").unwrap_err().reason);
        let error = ReleaseId::new(&"x".repeat(10_000)).unwrap_err();
        assert_eq!(error.reason, "it is longer than 128 characters");
        assert_eq!(error.value.len(), 140);
    }

    #[test]
    fn an_id_ending_in_phase_is_refused_as_its_manifest_would_be_another_release_record() {
        let error = ReleaseId::new("v1.phase").unwrap_err();
        assert!(error.reason.contains("release records"), "{}", error.reason);
        assert!(ReleaseId::new("v1.phased").is_ok());
        assert!(ReleaseId::new("phase").is_ok());
    }

    #[test]
    fn the_file_wins_over_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("release_id");
        assert_eq!(read_release_id(&file, None).unwrap(), None);
        let (id, source) = read_release_id(&file, Some("from-env")).unwrap().unwrap();
        assert_eq!((id.as_str(), source), ("from-env", ReleaseIdSource::Env));
        std::fs::write(&file, "from-file\n").unwrap();
        let (id, source) = read_release_id(&file, Some("from-env")).unwrap().unwrap();
        assert_eq!(
            (id.as_str(), source),
            ("from-file", ReleaseIdSource::File(file.clone()))
        );
        std::fs::write(&file, "bad/id\n").unwrap();
        let error = read_release_id(&file, Some("from-env"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("\"bad/id\" is not a valid release id"),
            "{error}"
        );
        assert!(error.contains(&file.display().to_string()), "{error}");
    }
}
