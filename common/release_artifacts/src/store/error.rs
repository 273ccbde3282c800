//! Why a store operation failed, as types: what was being done, and the reason, each worded
//! with what to fix.

/// Why a store operation failed; the text says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist.
    #[error("{key} was not found in {store}")]
    NotFound {
        /// The key, relative to the prefix.
        key: String,
        /// The store, as `s3://bucket/prefix` or `file:///dir`.
        store: String,
    },
    /// Retrying will not help: credentials, a missing bucket, bad data.
    #[error("Couldn't {target}{reason}")]
    Refused {
        /// What was being done, such as `read s3://bucket/key`.
        target: String,
        /// Why the store refused it.
        reason: Refusal,
    },
    /// The credentials may not do this (HTTP 403). S3 also answers 403 for a missing object
    /// when the credentials may not list the bucket.
    #[error(
        "Couldn't {target}: access denied{detail}. Check that these credentials may {action} objects under {scope}."
    )]
    Denied {
        /// What was being done.
        target: String,
        /// What the store said, such as ` (AccessDenied: Access Denied)`.
        detail: String,
        /// The action, such as `read`.
        action: String,
        /// Where the objects are, such as `s3://bucket/prefix/`.
        scope: String,
    },
    /// The store or the network failed repeatedly; a later attempt may succeed.
    #[error("Couldn't {target}{reason}")]
    Unavailable {
        /// What was being done.
        target: String,
        /// What kept failing.
        reason: Unavailability,
    },
    /// The writer of an upload's bytes stopped before the end, so the upload was not completed.
    #[error("The upload of {location} stopped before the end; nothing was stored.")]
    Unconfirmed {
        /// The object.
        location: String,
    },
    /// A write that may only create the object found it there already.
    #[error("{location} already exists")]
    Exists {
        /// The object.
        location: String,
    },
}

/// Why the store refused a request, worded to follow "Couldn't read" and the object.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The bucket is not there.
    #[error(
        ": the bucket {bucket} does not exist at {endpoint}{detail}. Check the bucket name in STATIC_ARTIFACTS_URL, and STATIC_ARTIFACTS_ENDPOINT or the region."
    )]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The store's endpoint.
        endpoint: String,
        /// What the store said.
        detail: String,
    },
    /// The store does not know the access key id.
    #[error(
        ": the store does not know this access key id{detail}. Check {setting} (and STATIC_ARTIFACTS_ENDPOINT)."
    )]
    UnknownAccessKey {
        /// What the store said.
        detail: String,
        /// Where the key id came from.
        setting: &'static str,
    },
    /// The secret does not match the key id.
    #[error(": the secret access key does not match the access key id{detail}. Check {setting}.")]
    WrongSecret {
        /// What the store said.
        detail: String,
        /// Where the secret came from.
        setting: &'static str,
    },
    /// The session token is invalid or expired.
    #[error(
        ": the session token is invalid or expired{detail}. Renew STATIC_ARTIFACTS_SESSION_TOKEN."
    )]
    BadSessionToken {
        /// What the store said.
        detail: String,
    },
    /// The bucket is in another region.
    #[error(
        ": the bucket is in another region{detail}. Set STATIC_ARTIFACTS_REGION, or use s3://bucket.s3.REGION.amazonaws.com in STATIC_ARTIFACTS_URL."
    )]
    WrongRegion {
        /// What the store said.
        detail: String,
    },
    /// No credentials anywhere.
    #[error(
        ": no credentials were found (none in STATIC_ARTIFACTS_*, and none from the standard AWS chain: environment, profile, web identity, container or instance metadata). Set STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or give this machine a profile or a role)."
    )]
    NoCredentials,
    /// The store answered a ranged GET with more than the range.
    #[error(
        ": the store sent more bytes than the range asked for. Use a store that supports ranged GETs (HTTP Range)."
    )]
    RangeIgnored,
    /// A `file://` store holds something other than a file where an object should be.
    #[error(
        ": it is not a regular file (a fifo, socket or device), so it cannot be a stored object. Remove it from the folder of STATIC_ARTIFACTS_URL."
    )]
    NotARegularFile,
    /// A file operation of a `file://` store failed.
    #[error(": {error}.{}", if error.kind() == std::io::ErrorKind::PermissionDenied {
        " Check that this process may read and write the folder of STATIC_ARTIFACTS_URL."
    } else {
        ""
    })]
    Io {
        /// The error.
        error: std::io::Error,
    },
    /// Another answer of the store, with what it said (or nothing more when it said nothing).
    #[error("{detail}.")]
    Answer {
        /// What the store said, such as ` (InvalidArgument: ...)`.
        detail: String,
    },
    /// A failure the store's client could not classify.
    #[error(": {reason}.")]
    Unexplained {
        /// The client's description.
        reason: String,
    },
    /// The task doing the work failed (it panicked or was cancelled).
    #[error(": {reason}")]
    TaskFailed {
        /// What happened to it.
        reason: String,
    },
}

/// What kept failing, worded to follow "Couldn't read" and the object.
#[derive(Debug, thiserror::Error)]
pub enum Unavailability {
    /// HTTP 5xx after the retries.
    #[error(": the store kept failing with HTTP {status}{detail}, after retries. Try again later.")]
    ServerErrors {
        /// The last status.
        status: u16,
        /// What the store said.
        detail: String,
    },
    /// Throttling after the retries.
    #[error(": the store kept throttling requests{detail}, after retries. Try again later.")]
    Throttled {
        /// What the store said.
        detail: String,
    },
    /// No answer in time after the retries.
    #[error(": {endpoint} did not answer in time, after retries.")]
    NoAnswer {
        /// The store's endpoint.
        endpoint: String,
    },
    /// No connection after the retries.
    #[error(
        ": couldn't reach {endpoint} ({causes}), after retries. Check that the store is up and reachable from here."
    )]
    Unreachable {
        /// The store's endpoint.
        endpoint: String,
        /// The network's reasons.
        causes: String,
    },
    /// A body broke off, `times` times in a row when given.
    #[error(": the transfer broke off ({causes}){}", times.map(|times| format!(", {times} times in a row. Try again later.")).unwrap_or_default())]
    BrokeOff {
        /// The network's reasons.
        causes: String,
        /// How many times in a row, once the attempts are used up.
        times: Option<u32>,
    },
    /// The object ended before its size.
    #[error(": the object is shorter than expected")]
    Short,
    /// A small object's body could not be read whole.
    #[error(": {reason}")]
    Body {
        /// Why.
        reason: String,
    },
}

impl StoreError {
    /// Whether the error is a missing object.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }
}
