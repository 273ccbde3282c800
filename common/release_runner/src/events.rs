//! One channel for everything the runner waits on: a command exiting, or a signal arriving.

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::process::ExitStatus;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

/// Something the runner must react to.
#[derive(Debug)]
pub(crate) enum Event {
    /// The running command ended (or waiting for it failed).
    Exited(std::io::Result<ExitStatus>),
    /// The runner received this signal.
    Signal(i32),
}

/// The event channel, with SIGTERM, SIGINT, SIGHUP and SIGQUIT delivered into it while it lives.
pub(crate) struct Events {
    pub(crate) sender: Sender<Event>,
    pub(crate) receiver: Receiver<Event>,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl Events {
    /// Starts catching SIGTERM, SIGINT, SIGHUP and SIGQUIT.
    pub(crate) fn start() -> std::io::Result<Self> {
        let (sender, receiver) = channel();
        let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGQUIT])?;
        let handle = signals.handle();
        let signal_sender = sender.clone();
        let thread = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if signal_sender.send(Event::Signal(signal)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Events {
            sender,
            receiver,
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
