//! How to reach a store beyond its URL: the region, an S3-compatible endpoint and static
//! credentials.

use std::fmt;

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
    /// The region when the URL names none (default `us-east-1`).
    pub region: Option<String>,
    /// An S3-compatible endpoint instead of AWS.
    pub endpoint: Option<String>,
    /// Credentials; without them, the standard AWS chain's.
    pub credentials: Option<StaticCredentials>,
}
