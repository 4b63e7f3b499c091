//! Leases: the one row (by name) a single process among several sharing a database holds to do a
//! job alone (the alert scheduler, the forecast scheduler) or to say it is up (the service).

use crate::app::App;
use crate::store::{alerts as leases, Conn};
use chrono::{DateTime, Utc};

/// This process's claim on one lease row.
#[derive(Debug)]
pub struct Lease {
    name: &'static str,
    /// `pid:uuid`, unique to this process and this claim.
    holder: String,
}

impl Lease {
    /// A claim on the lease row `name` for this process (nothing is written yet).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            holder: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()),
        }
    }

    /// This process's lease holder id.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes the lease, or renews it if held already, until `until`; false: another process
    /// holds it.
    pub async fn take(
        &self,
        conn: &mut Conn,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        leases::try_lease(conn, self.name, &self.holder, now, until).await
    }

    /// Gives the lease up so another process can take over at once.
    pub async fn release(&self, app: &App) -> anyhow::Result<()> {
        let mut conn = app.store.conn().await?;
        leases::release_lease(&mut conn, self.name, &self.holder).await
    }
}
