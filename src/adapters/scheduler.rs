//! The alert scheduler task: runs each `[[alerts.rules]]` at its cron times in its timezone.
//!
//! Only the process holding the `alert-scheduler` lease row schedules (several processes may
//! share one database). Each pass runs every rule whose latest cron time has come and was not
//! run yet; on the first pass that includes a time missed while the bot was down, if it is at
//! most `alerts.catch_up` old (a rule that never ran is not caught up). Runs are recorded, and
//! the store refuses a second run of a rule while one is in progress or of a cron time already
//! run. Shutdown is looked at between rules: the rule being run finishes (about a second over a
//! million SKUs, well inside `shutdown.grace_seconds`), the rules after it are left to the next
//! start's catch-up.

use crate::app::alerts::{run_rule, RunOutcome};
use crate::app::App;
use crate::store::alerts::{self as store, Trigger};
use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// Name of the lease row.
pub const LEASE: &str = "alert-scheduler";
/// A lease lasts this long unless renewed.
const LEASE_SECS: i64 = 90;
/// Longest sleep between passes (the lease is renewed every pass).
const MAX_WAIT_SECS: i64 = 30;
/// A cron time reached this late still counts as on time, not as a catch-up.
const GRACE_SECS: i64 = 120;

/// The scheduler's state between passes.
#[derive(Debug)]
pub struct Scheduler {
    holder: String,
    started: DateTime<Utc>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pass {
    /// Whether this process holds the lease.
    pub leader: bool,
    /// `(rule, cron time, trigger)` of the runs started.
    pub ran: Vec<(String, DateTime<Utc>, Trigger)>,
    /// How long to wait before the next pass.
    pub wait: std::time::Duration,
    /// Shutdown came during the pass: rules still due were left for the next start.
    pub interrupted: bool,
}

impl Scheduler {
    /// A scheduler whose process started now.
    pub fn new(app: &App) -> Self {
        Self {
            holder: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            started: app.clock.now(),
        }
    }

    /// This process's lease holder id.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// One pass: take or renew the lease, run the rules that are due, say when to come back.
    pub async fn tick(&mut self, app: &App) -> anyhow::Result<Pass> {
        self.tick_until(app, None).await
    }

    /// [`Self::tick`] that starts no further rule once `shutdown` is true.
    pub async fn tick_until(
        &mut self,
        app: &App,
        shutdown: Option<&watch::Receiver<bool>>,
    ) -> anyhow::Result<Pass> {
        let now = app.clock.now();
        let mut conn = app.store.conn().await?;
        let leader = store::try_lease(
            &mut conn,
            LEASE,
            &self.holder,
            now,
            now + Duration::seconds(LEASE_SECS),
        )
        .await?;
        if !leader {
            return Ok(Pass {
                leader,
                ran: vec![],
                wait: std::time::Duration::from_secs(MAX_WAIT_SECS as u64),
                interrupted: false,
            });
        }
        let catch_up = app
            .settings
            .alerts
            .catch_up
            .max(Duration::seconds(GRACE_SECS));
        let mut ran = Vec::new();
        let mut interrupted = false;
        for rule in &app.settings.alerts.rules {
            if shutdown.is_some_and(|s| *s.borrow()) {
                interrupted = true;
                break;
            }
            let last = store::last_scheduled(&mut conn, &rule.name).await?;
            // Never earlier than the catch-up window; a rule that never ran starts with us.
            let from = last
                .unwrap_or(self.started - Duration::seconds(1))
                .max(now - catch_up);
            let Some(due) = rule.schedule.latest_between(rule.timezone, from, now) else {
                continue;
            };
            let trigger = if now - due > Duration::seconds(GRACE_SECS) {
                Trigger::CatchUp
            } else {
                Trigger::Schedule
            };
            drop(conn);
            match run_rule(app, rule, trigger, Some(due)).await {
                Ok(RunOutcome::Done(_)) => ran.push((rule.name.clone(), due, trigger)),
                Ok(RunOutcome::Skipped(why)) => {
                    tracing::info!(rule = %rule.name, ?why, "alert run skipped")
                }
                Err(e) => tracing::error!(rule = %rule.name, error = ?e, "alert run failed"),
            }
            conn = app.store.conn().await?;
        }
        let now = app.clock.now();
        let next = app
            .settings
            .alerts
            .rules
            .iter()
            .filter_map(|r| r.schedule.next_after(r.timezone, now))
            .min();
        let max = Duration::seconds(MAX_WAIT_SECS);
        let wait = next.map(|n| (n - now).min(max)).unwrap_or(max);
        Ok(Pass {
            leader,
            ran,
            wait: wait.to_std().unwrap_or_default(),
            interrupted,
        })
    }

    /// Gives the lease up so another process can take over at once.
    pub async fn release(&self, app: &App) -> anyhow::Result<()> {
        let mut conn = app.store.conn().await?;
        store::release_lease(&mut conn, LEASE, &self.holder).await
    }
}

/// Schedules the alert rules until shutdown; the run in progress finishes first, and no other
/// rule starts after shutdown.
pub async fn run(app: App, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    if app.settings.alerts.rules.is_empty() {
        // Ending early would read as a stopped task to the supervisor: idle until shutdown.
        tracing::info!("no [[alerts.rules]]: the alert scheduler is idle");
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
        return Ok(());
    }
    let mut scheduler = Scheduler::new(&app);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let wait = match scheduler.tick_until(&app, Some(&shutdown)).await {
            Ok(pass) => pass.wait,
            Err(e) => {
                tracing::error!(error = ?e, "alert scheduler pass failed");
                std::time::Duration::from_secs(MAX_WAIT_SECS as u64)
            }
        };
        // Wake a moment after the cron time so it is not missed by a rounding second.
        let wait = wait + std::time::Duration::from_millis(250);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            r = shutdown.changed() => if r.is_err() { break },
        }
    }
    if let Err(e) = scheduler.release(&app).await {
        tracing::warn!(error = %e, "alert scheduler: releasing the lease failed");
    }
    Ok(())
}
