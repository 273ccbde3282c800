//! One channel for everything the runner waits on: a command exiting, or a signal arriving.

use crate::signals::{SignalWatch, watch_signals};
use std::process::ExitStatus;
use std::sync::mpsc::{Receiver, Sender, channel};

/// Something the runner must react to.
#[derive(Debug)]
pub(crate) enum Event {
    /// The running command ended (or waiting for it failed).
    Exited(std::io::Result<ExitStatus>),
    /// The runner received this signal.
    Signal(i32),
}

/// The event channel, with the stopping signals delivered into it while it lives.
pub(crate) struct Events {
    pub(crate) sender: Sender<Event>,
    pub(crate) receiver: Receiver<Event>,
    _signals: SignalWatch,
}

impl Events {
    /// Starts catching the stopping signals.
    pub(crate) fn start() -> std::io::Result<Self> {
        let (sender, receiver) = channel();
        let signal_sender = sender.clone();
        let signals = watch_signals(move |signal| {
            let _ = signal_sender.send(Event::Signal(signal));
        })?;
        Ok(Events {
            sender,
            receiver,
            _signals: signals,
        })
    }
}
