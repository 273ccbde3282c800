//! The one way the release phase's programs learn of stopping signals: SIGTERM, SIGINT, SIGHUP
//! and SIGQUIT are caught (they no longer stop the process by themselves) and handed, one by
//! one, to a function on a thread of their own.

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::thread::JoinHandle;

/// The signals that ask a release phase's program to stop.
pub const STOPPING_SIGNALS: [i32; 4] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT];

/// Stopping signals being caught; they are caught until this is dropped.
pub struct SignalWatch {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

/// Catches [`STOPPING_SIGNALS`] from now on, calling `on_signal` with each one's number.
///
/// # Errors
///
/// Returns an error when the signals cannot be caught or the thread cannot start.
pub fn watch_signals(
    mut on_signal: impl FnMut(i32) + Send + 'static,
) -> std::io::Result<SignalWatch> {
    let mut signals = Signals::new(STOPPING_SIGNALS)?;
    let handle = signals.handle();
    let thread = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                on_signal(signal);
            }
        })?;
    Ok(SignalWatch {
        handle,
        thread: Some(thread),
    })
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The name of a signal, such as `SIGTERM`.
#[must_use]
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string())
}
