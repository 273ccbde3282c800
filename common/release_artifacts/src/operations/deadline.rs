//! When an operation gives up, and which setting says so.

use crate::ArtifactError;
use std::time::{Duration, Instant};

/// The moment an operation gives up, with the limit and the setting that gave it (for the
/// message).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    /// When to give up.
    pub at: Instant,
    /// The limit the setting gives.
    pub limit: Duration,
    /// The setting, such as `STATIC_ARTIFACTS_LOAD_TIMEOUT` or `--timeout`.
    pub setting: &'static str,
}

impl Deadline {
    /// `limit` after `started`, as `setting` asks.
    #[must_use]
    pub fn new(started: Instant, limit: Duration, setting: &'static str) -> Self {
        Deadline {
            at: started + limit,
            limit,
            setting,
        }
    }

    /// `limit` from now, as `setting` asks.
    #[must_use]
    pub fn after(limit: Duration, setting: &'static str) -> Self {
        Self::new(Instant::now(), limit, setting)
    }

    /// The error for giving up at this deadline while `doing`.
    pub(crate) fn passed(&self, doing: String) -> ArtifactError {
        ArtifactError::TimedOut {
            limit: self.limit,
            setting: self.setting,
            doing,
        }
    }
}
