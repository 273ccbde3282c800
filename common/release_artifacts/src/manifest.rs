//! The store's layout: immutable archives, their JSON manifests, and `latest.json`.
//!
//! ```text
//! <prefix>/release-<ID>.tar.zst   (or .tgz)  the archive of static-artifacts/
//! <prefix>/release-<ID>.json                 its manifest, written after the archive
//! <prefix>/latest.json                       the last published release
//! <prefix>/release-<ID>.phase.json           the record of its last release phase
//! ```

use crate::{Compression, ReleaseId};
use serde::{Deserialize, Serialize};

/// The key of `latest.json`, relative to the prefix.
pub const LATEST_KEY: &str = "latest.json";

/// The key of a release's archive, relative to the prefix.
#[must_use]
pub fn archive_key(id: &ReleaseId, compression: Compression) -> String {
    format!("release-{id}.{}", compression.extension())
}

/// The key of a release's manifest, relative to the prefix.
#[must_use]
pub fn manifest_key(id: &ReleaseId) -> String {
    format!("release-{id}.json")
}

/// The release id of a manifest key (`release-<ID>.json`), if it is one; a record's key is
/// not (no release id ends in `.phase`).
#[must_use]
pub fn release_of_manifest_key(key: &str) -> Option<ReleaseId> {
    let id = key.strip_prefix("release-")?.strip_suffix(".json")?;
    ReleaseId::new(id).ok()
}

/// The key of the record of a release's last release phase, relative to the prefix.
#[must_use]
pub fn record_key(id: &ReleaseId) -> String {
    format!("release-{id}{RECORD_SUFFIX}")
}

/// What ends a record's key.
const RECORD_SUFFIX: &str = ".phase.json";

/// The release id of a record key (`release-<ID>.phase.json`), if it is one.
#[must_use]
pub fn release_of_record_key(key: &str) -> Option<ReleaseId> {
    let id = key.strip_prefix("release-")?.strip_suffix(RECORD_SUFFIX)?;
    ReleaseId::new(id).ok()
}

/// What is known about a stored archive: written after the archive, so its presence means the
/// archive is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The release id.
    pub release_id: String,
    /// The archive's key, relative to the prefix.
    pub archive_key: String,
    /// How the archive is compressed.
    pub format: Compression,
    /// The archive's size in bytes.
    pub size: u64,
    /// The archive's SHA-256, in lowercase hex.
    pub sha256: String,
    /// How many files (and links) the archive holds.
    pub file_count: u64,
    /// The total size of the files once extracted.
    pub unpacked_size: u64,
    /// When the archive was stored, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// When the release was first published, in milliseconds since the Unix epoch; from then on
    /// its archive is never replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at_ms: Option<u64>,
}

/// Why a manifest or `latest.json` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{key} is not a valid {what}: {message}")]
pub struct BadDocument {
    /// The key that was read.
    pub key: String,
    /// "manifest" or "latest.json".
    pub what: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Manifest {
    /// Parses a manifest stored at `key` and checks that it describes `id` (when given).
    ///
    /// # Errors
    ///
    /// Returns [`BadDocument`] when the JSON is invalid or names another release or an archive
    /// key outside the layout.
    pub fn parse(bytes: &[u8], key: &str, id: Option<&ReleaseId>) -> Result<Self, BadDocument> {
        let bad = |message: String| BadDocument {
            key: key.to_string(),
            what: "manifest",
            message,
        };
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|error| bad(error.to_string()))?;
        let manifest_id =
            ReleaseId::new(&manifest.release_id).map_err(|error| bad(error.to_string()))?;
        if let Some(id) = id
            && &manifest_id != id
        {
            return Err(bad(format!("it describes release {manifest_id}, not {id}")));
        }
        if manifest.archive_key != archive_key(&manifest_id, manifest.format) {
            return Err(bad(format!(
                "its archive key {:?} is not {:?}",
                manifest.archive_key,
                archive_key(&manifest_id, manifest.format)
            )));
        }
        if manifest.sha256.len() != 64 || !manifest.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("its sha256 is not 64 hex digits".to_string()));
        }
        Ok(manifest)
    }

    /// The release id it describes.
    #[must_use]
    pub fn id(&self) -> Option<ReleaseId> {
        ReleaseId::new(&self.release_id).ok()
    }

    /// The manifest as JSON.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// The content of `latest.json`: the last published release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latest {
    /// The published release id.
    pub release_id: String,
    /// Its manifest's key, relative to the prefix.
    pub manifest_key: String,
    /// When it was published, in seconds since the Unix epoch.
    pub published_at: u64,
}

impl Latest {
    /// Parses `latest.json`.
    ///
    /// # Errors
    ///
    /// Returns [`BadDocument`] when the JSON is invalid or inconsistent.
    pub fn parse(bytes: &[u8]) -> Result<Self, BadDocument> {
        let bad = |message: String| BadDocument {
            key: LATEST_KEY.to_string(),
            what: "latest.json",
            message,
        };
        let latest: Latest =
            serde_json::from_slice(bytes).map_err(|error| bad(error.to_string()))?;
        let id = ReleaseId::new(&latest.release_id).map_err(|error| bad(error.to_string()))?;
        if latest.manifest_key != manifest_key(&id) {
            return Err(bad(format!(
                "its manifest key {:?} does not match release {id}",
                latest.manifest_key
            )));
        }
        Ok(latest)
    }

    /// The published release id.
    #[must_use]
    pub fn id(&self) -> Option<ReleaseId> {
        ReleaseId::new(&self.release_id).ok()
    }

    /// `latest.json` as JSON.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn now() -> u64 {
    now_ms() / 1000
}

/// Milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A time in milliseconds since the Unix epoch as people read it: `2026-12-03 21:40:14 UTC`.
///
/// ```
/// assert_eq!(
///     release_artifacts::manifest::utc_time(1_796_334_014_250),
///     "2026-12-03 21:40:14 UTC"
/// );
/// ```
#[must_use]
pub fn utc_time(millis: u64) -> String {
    use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
    let secs = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
    // RFC 3339 (`2026-12-03T21:40:14Z`), with a space and the zone spelt out.
    DateTime::from_secs(secs)
        .fmt(DateTimeFormat::DateTime)
        .map_or_else(
            |_| format!("{secs} s after the Unix epoch"),
            |text| format!("{} UTC", text.replace('T', " ").trim_end_matches('Z')),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let id = ReleaseId::new("v1").unwrap();
        Manifest {
            release_id: "v1".into(),
            archive_key: archive_key(&id, Compression::Zstd),
            format: Compression::Zstd,
            size: 10,
            sha256: "ab".repeat(32),
            file_count: 2,
            unpacked_size: 20,
            created_at_ms: 1,
            published_at_ms: None,
        }
    }

    #[test]
    fn manifests_round_trip_and_are_checked() {
        let id = ReleaseId::new("v1").unwrap();
        let json = manifest().to_json();
        assert_eq!(
            Manifest::parse(&json, "release-v1.json", Some(&id)).unwrap(),
            manifest()
        );
        let other = ReleaseId::new("v2").unwrap();
        let error = Manifest::parse(&json, "release-v2.json", Some(&other)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "release-v2.json is not a valid manifest: it describes release v1, not v2"
        );
        let escaping = Manifest {
            archive_key: "../../etc/passwd".into(),
            ..manifest()
        };
        let error = Manifest::parse(&escaping.to_json(), "k", None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("its archive key \"../../etc/passwd\" is not \"release-v1.tar.zst\""),
            "{error}"
        );
        assert!(Manifest::parse(b"{", "k", None).is_err());
    }

    #[test]
    fn keys_follow_the_layout() {
        let id = ReleaseId::new("v1.2").unwrap();
        assert_eq!(archive_key(&id, Compression::Zstd), "release-v1.2.tar.zst");
        assert_eq!(archive_key(&id, Compression::Gzip), "release-v1.2.tgz");
        assert_eq!(manifest_key(&id), "release-v1.2.json");
        assert_eq!(release_of_manifest_key("release-v1.2.json"), Some(id));
        assert_eq!(release_of_manifest_key("latest.json"), None);
        assert_eq!(release_of_manifest_key("release-a/b.json"), None);
    }
}
