//! Durations as people read them in logs.

use std::time::Duration;

/// Formats a duration for logs: `0.004s`, `1.25s`, `2m05s`, `1h02m03s`.
///
/// ```
/// use release_runner::format_duration;
/// use std::time::Duration;
///
/// assert_eq!(format_duration(Duration::from_millis(4)), "0.004s");
/// assert_eq!(format_duration(Duration::from_millis(1250)), "1.25s");
/// assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
/// assert_eq!(format_duration(Duration::from_secs(3723)), "1h02m03s");
/// ```
#[must_use]
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => format!("{:.3}s", duration.as_secs_f64()),
        1..60 => format!("{:.2}s", duration.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m{:02}s", secs / 3600, secs / 60 % 60, secs % 60),
    }
}
