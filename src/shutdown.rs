//! One way to stop (mini-redis `shutdown.rs`): every long-running task holds a [`Shutdown`] and
//! finishes its current unit of work once it fires.

use tokio::sync::watch;

/// Listens for the shutdown signal; clones listen to the same one.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// A signal and its listener; [`Signal::fire`] stops every clone.
    pub fn new() -> (Signal, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Signal { tx }, Shutdown { rx })
    }

    /// Whether shutdown was signalled.
    pub fn is_shutdown(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown is signalled. When the signal can no longer come (its sender is
    /// gone without firing) it never resolves: nobody can ask this task to stop, so it keeps
    /// serving.
    pub async fn recv(&mut self) {
        if self.rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl From<watch::Receiver<bool>> for Shutdown {
    fn from(rx: watch::Receiver<bool>) -> Self {
        Self { rx }
    }
}

/// Fires the shutdown.
#[derive(Debug)]
pub struct Signal {
    tx: watch::Sender<bool>,
}

impl Signal {
    /// Tells every listener to stop.
    pub fn fire(&self) {
        let _ = self.tx.send(true);
    }
}
