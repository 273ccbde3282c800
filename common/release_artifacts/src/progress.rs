//! Log lines of the artifact programs, and progress reports for long transfers.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the programs write their lines (stderr, or a buffer in tests). Cheap to clone.
#[derive(Clone)]
pub struct Log {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    prefix: &'static str,
    progress_every: Duration,
}

impl Log {
    /// A log writing to stderr, each line starting with `prefix`, with progress every 5 s.
    #[must_use]
    pub fn stderr(prefix: &'static str) -> Self {
        Self::new(Box::new(std::io::stderr()), prefix, Duration::from_secs(5))
    }

    /// A log writing to `out`, reporting progress every `progress_every`.
    #[must_use]
    pub fn new(out: Box<dyn Write + Send>, prefix: &'static str, progress_every: Duration) -> Self {
        Log {
            out: Arc::new(Mutex::new(out)),
            prefix,
            progress_every,
        }
    }

    /// Writes one line and flushes it.
    pub fn line(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            for line in text.lines() {
                let _ = writeln!(out, "{}{line}", self.prefix);
            }
            let _ = out.flush();
        }
    }

    /// Writes a warning, set apart so it is noticed.
    pub fn warning(&self, text: &str) {
        self.line(&format!("WARNING: {text}"));
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

/// Bytes as MiB with one decimal (KiB below 1 MiB).
pub(crate) fn mib(bytes: u64) -> String {
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
