//! Per-command time limits, written as `"90s"`, `"15m"`, `"1h"`, `"1h30m"` or whole seconds.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long a release command may run before it is stopped.
///
/// ```
/// use release_commands::Timeout;
///
/// let timeout: Timeout = "1h30m".parse().unwrap();
/// assert_eq!(timeout.as_secs(), 5400);
/// assert_eq!(timeout.to_string(), "1h30m");
/// assert_eq!(Timeout::from_secs(90).unwrap().to_string(), "1m30s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(u64);

/// Why a timeout value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutError {
    /// The value was empty.
    #[error("it is empty")]
    Empty,
    /// The value was zero.
    #[error("it is zero (leave `timeout` out to run without a limit)")]
    Zero,
    /// The value was negative.
    #[error("it is negative")]
    Negative,
    /// The value did not have the `<number><unit>` shape.
    #[error("`{0}` is not a number followed by `s`, `m` or `h`")]
    Malformed(String),
    /// The value is longer than [`Timeout::MAX_SECS`].
    #[error("`{0}` is longer than 720h (30 days), the longest timeout allowed")]
    TooLarge(String),
}

impl Timeout {
    /// The longest timeout: 30 days (far beyond any release command, and far from the
    /// overflow of a deadline computed from it).
    pub const MAX_SECS: u64 = 30 * 24 * 3600;

    /// A timeout of `secs` seconds; zero and more than [`Timeout::MAX_SECS`] are refused.
    ///
    /// # Errors
    ///
    /// Returns [`TimeoutError::Zero`] when `secs` is zero, [`TimeoutError::TooLarge`] when it
    /// is longer than [`Timeout::MAX_SECS`].
    pub fn from_secs(secs: u64) -> Result<Self, TimeoutError> {
        match secs {
            0 => Err(TimeoutError::Zero),
            secs if secs > Self::MAX_SECS => Err(TimeoutError::TooLarge(format!("{secs}"))),
            secs => Ok(Self(secs)),
        }
    }

    /// The timeout in whole seconds.
    #[must_use]
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// The timeout as a [`Duration`].
    #[must_use]
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl FromStr for Timeout {
    type Err = TimeoutError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let text = value.trim();
        if text.is_empty() {
            return Err(TimeoutError::Empty);
        }
        if text.starts_with('-') {
            return Err(TimeoutError::Negative);
        }
        let malformed = || TimeoutError::Malformed(value.to_string());
        let too_large = || TimeoutError::TooLarge(value.to_string());
        let capped = |secs: u64| match Self::from_secs(secs) {
            Err(TimeoutError::TooLarge(_)) => Err(too_large()),
            other => other,
        };
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return capped(text.parse().map_err(|_| too_large())?);
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(malformed()),
            };
            if digits.is_empty() {
                return Err(malformed());
            }
            let number: u64 = digits.parse().map_err(|_| too_large())?;
            total = number
                .checked_mul(unit)
                .and_then(|secs| total.checked_add(secs))
                .ok_or_else(too_large)?;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(malformed());
        }
        capped(total)
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hours, minutes, seconds) = (self.0 / 3600, self.0 / 60 % 60, self.0 % 60);
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        if seconds > 0 {
            write!(f, "{seconds}s")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_units_and_plain_seconds() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("1h", 3600),
            ("1h30m", 5400),
            ("2m5s", 125),
            ("900", 900),
            (" 45s ", 45),
        ] {
            assert_eq!(
                text.parse::<Timeout>().map(Timeout::as_secs),
                Ok(secs),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!("".parse::<Timeout>(), Err(TimeoutError::Empty));
        assert_eq!("0s".parse::<Timeout>(), Err(TimeoutError::Zero));
        assert_eq!("0".parse::<Timeout>(), Err(TimeoutError::Zero));
        assert_eq!("-5m".parse::<Timeout>(), Err(TimeoutError::Negative));
        for text in ["15 minutes", "m", "1.5h", "10d", "h1", "5s5"] {
            assert_eq!(
                text.parse::<Timeout>(),
                Err(TimeoutError::Malformed(text.to_string())),
                "{text}"
            );
        }
        assert!(matches!(
            "99999999999999999999h".parse::<Timeout>(),
            Err(TimeoutError::TooLarge(_))
        ));
        assert!(matches!(
            "6000000000000000h".parse::<Timeout>(),
            Err(TimeoutError::TooLarge(_))
        ));
        // Values that fit in 64 bits but would overflow the runner's deadline.
        for text in ["9223372036854775807", "5124095576030431h", "721h"] {
            assert_eq!(
                text.parse::<Timeout>(),
                Err(TimeoutError::TooLarge(text.to_string())),
                "{text}"
            );
        }
        assert_eq!(
            "720h".parse::<Timeout>().map(Timeout::as_secs),
            Ok(Timeout::MAX_SECS)
        );
    }

    #[test]
    fn displays_round_trip() {
        for secs in [1, 59, 60, 61, 3600, 3661, 86_400] {
            let timeout = Timeout::from_secs(secs).unwrap();
            assert_eq!(timeout.to_string().parse::<Timeout>(), Ok(timeout));
        }
    }
}
