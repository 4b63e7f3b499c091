//! Whether the service (`backorder-bot run`) is up, for the processes beside it.
//!
//! `run` is the one process that sends what the others queue. While it runs it keeps the
//! `service` lease row fresh ([`Heartbeat`]); `console` and `ask` read that row to tell the
//! operator when their customer updates wait for a service that is not there ([`queued_note`]).

use crate::app::lease::Lease;
use crate::app::App;
use crate::store::{alerts as leases, notify};
use std::time::Duration;

/// Name of the lease row the service keeps fresh.
pub const LEASE: &str = "service";
/// How often the service renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How long a lease lasts without renewal: a service that died is seen as gone after this.
pub const LEASE_FOR: Duration = Duration::from_secs(30);

/// The running service's mark in the database.
#[derive(Debug)]
pub struct Heartbeat {
    lease: Lease,
}

impl Heartbeat {
    /// A heartbeat for this process.
    pub fn new() -> Self {
        Self {
            lease: Lease::new(LEASE),
        }
    }

    /// Takes or renews the lease. Another service holding it is fine: a service is running.
    pub async fn beat(&self, app: &App) -> anyhow::Result<()> {
        let now = app.clock.now();
        let until = now + chrono::Duration::from_std(LEASE_FOR)?;
        let mut conn = app.store.conn().await?;
        self.lease.take(&mut conn, now, until).await?;
        Ok(())
    }

    /// Gives the lease up: the service is stopping.
    pub async fn release(&self, app: &App) -> anyhow::Result<()> {
        self.lease.release(app).await
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a service holds a fresh lease.
pub async fn is_running(app: &App) -> anyhow::Result<bool> {
    let mut conn = app.store.conn().await?;
    leases::lease_held(&mut conn, LEASE, app.clock.now()).await
}

/// Customer updates queued and not yet sent.
pub async fn unsent_updates(app: &App) -> anyhow::Result<i64> {
    let mut conn = app.store.conn().await?;
    notify::unsent_count(&mut conn).await
}

/// What to tell the operator after a command, given the unsent count before it: when it queued
/// customer updates that no running service will send, "3 customer messages queued; start
/// `backorder-bot run` to send them". `None` when nothing was queued, a service runs, or
/// delivery is off (`notify.enabled = false`: the service would not send them either).
pub async fn queued_note(app: &App, unsent_before: i64) -> anyhow::Result<Option<String>> {
    if !app.settings.notify.enabled {
        return Ok(None);
    }
    let unsent = unsent_updates(app).await?;
    if unsent <= unsent_before || is_running(app).await? {
        return Ok(None);
    }
    let noun = if unsent == 1 { "message" } else { "messages" };
    Ok(Some(format!(
        "{unsent} customer {noun} queued; start `backorder-bot run` to send them"
    )))
}
