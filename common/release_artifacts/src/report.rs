//! How operations report what they do: lines and warnings go to a [`Report`] that the program
//! provides (the library never prints), and long transfers report their progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where an operation's lines go; the program decides how they are shown.
pub trait Report: Send + Sync {
    /// Shows one line of what is happening.
    fn line(&self, text: &str);

    /// Shows a warning: something the operator should look at, though the operation goes on.
    fn warning(&self, text: &str) {
        self.line(&format!("WARNING: {text}"));
    }
}

/// The [`Report`] an operation writes to, with how often transfers report progress. Cheap to
/// clone.
#[derive(Clone)]
pub struct Log {
    report: Arc<dyn Report>,
    progress_every: Duration,
}

impl Log {
    /// A log to `report`, reporting the progress of transfers every `progress_every`.
    #[must_use]
    pub fn new(report: impl Report + 'static, progress_every: Duration) -> Self {
        Log {
            report: Arc::new(report),
            progress_every,
        }
    }

    /// Shows one line.
    pub fn line(&self, text: &str) {
        self.report.line(text);
    }

    /// Shows a warning.
    pub fn warning(&self, text: &str) {
        self.report.warning(text);
    }

    /// Starts reporting the progress of a transfer of `total` bytes (if known), until the
    /// returned guard is dropped.
    pub(crate) fn progress(&self, verb: &'static str, total: Option<u64>) -> Progress {
        let bytes = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let log = self.clone();
        let counter = Arc::clone(&bytes);
        let every = self.progress_every;
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.tick().await;
            loop {
                interval.tick().await;
                let done = counter.load(Ordering::Relaxed);
                let percent = total
                    .filter(|total| *total > 0)
                    .map(|total| format!(" of {} ({}%)", mib(total), done * 100 / total))
                    .unwrap_or_default();
                log.line(&format!(
                    "{verb} {}{percent}, {}",
                    mib(done),
                    rate(done, started.elapsed())
                ));
            }
        });
        Progress { bytes, ticker }
    }
}

/// A transfer in progress: add bytes as they move.
pub(crate) struct Progress {
    pub(crate) bytes: Arc<AtomicU64>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

/// Bytes as MiB with one decimal (KiB below 1 MiB), as the reports show sizes.
#[must_use]
pub fn mib(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if bytes < 1_048_576 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{:.1} MiB", value / 1_048_576.0)
    }
}

/// A transfer rate in MiB/s.
pub(crate) fn rate(bytes: u64, elapsed: Duration) -> String {
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64 / 1_048_576.0 / elapsed.as_secs_f64().max(0.001);
    format!("{value:.1} MiB/s")
}
