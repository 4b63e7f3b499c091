//! The alert schedule's use case: one pass of the scheduler.
//!
//! Only the process holding the `alert-scheduler` lease row schedules (several processes may
//! share one database). Each pass runs every rule whose latest cron time has come and was not
//! run yet; on the first pass that includes a time missed while the bot was down, if it is at
//! most `alerts.catch_up` old (a rule that never ran is not caught up). Runs are recorded, and
//! the store refuses a second run of a rule while one is in progress or of a cron time already
//! run. Shutdown is looked at between rules: the rule being run finishes, the rules after it are
//! left to the next start's catch-up.

use crate::app::alerts::{resume_run, run_rule, RunOutcome};
use crate::app::lease::Lease;
use crate::app::App;
use crate::domain::schedule::{self, Trigger};
use crate::shutdown::Shutdown;
use crate::store::alerts as store;
use chrono::{DateTime, Utc};

/// Name of the lease row.
pub const LEASE: &str = "alert-scheduler";

/// The scheduler's state between passes.
#[derive(Debug)]
pub struct Scheduler {
    lease: Lease,
    started: DateTime<Utc>,
    /// Held the lease at the last pass: taking it from someone else means completing the runs
    /// they left.
    leading: bool,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pass {
    /// Whether this process holds the lease.
    pub leader: bool,
    /// `(rule, cron time, trigger)` of the runs done.
    pub ran: Vec<(String, DateTime<Utc>, Trigger)>,
    /// Rules whose run failed (the error is logged).
    pub failed: Vec<String>,
    /// Rules whose run was not started (another process ran it, or is running it).
    pub skipped: Vec<String>,
    /// How long to wait before the next pass.
    pub wait: std::time::Duration,
    /// Shutdown came during the pass: rules still due were left for the next start.
    pub interrupted: bool,
}

impl Scheduler {
    /// A scheduler whose process started now.
    pub fn new(app: &App) -> Self {
        Self {
            lease: Lease::new(LEASE),
            started: app.clock.now(),
            leading: false,
        }
    }

    /// This process's lease holder id.
    pub fn holder(&self) -> &str {
        self.lease.holder()
    }

    /// One pass: take or renew the lease, run the rules that are due, say when to come back.
    pub async fn tick(&mut self, app: &App) -> anyhow::Result<Pass> {
        self.tick_until(app, None).await
    }

    /// [`Self::tick`] that starts no further rule once `shutdown` is true.
    pub async fn tick_until(
        &mut self,
        app: &App,
        shutdown: Option<&Shutdown>,
    ) -> anyhow::Result<Pass> {
        let now = app.clock.now();
        let mut conn = app.store.conn().await?;
        let lease = app.settings.alerts.lease;
        let leader = self.lease.take(&mut conn, now, now + lease).await?;
        // Renewed (or tried for) three times per lease: a follower takes over within the lease
        // of the leader's death, not at its next half-minute pass.
        let renew = (lease / 3).to_std().unwrap_or_default();
        let took_over = leader && !self.leading;
        self.leading = leader;
        if !leader {
            return Ok(Pass {
                leader,
                ran: vec![],
                failed: vec![],
                skipped: vec![],
                wait: schedule::wait_until(None, now).min(renew),
                interrupted: false,
            });
        }
        let (mut ran, mut failed, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        let mut interrupted = false;
        if took_over {
            let left = store::unfinished_scheduled_runs(&mut conn).await?;
            drop(conn);
            for run in left {
                let Some(rule) = app.settings.alerts.rule(&run.rule) else {
                    continue;
                };
                match resume_run(app, rule, run.id).await {
                    Ok(Some(_)) => {
                        ran.push((rule.name.clone(), run.scheduled_for, Trigger::Schedule))
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(rule = %rule.name, error = ?e, "completing a run left by an earlier leader failed");
                        failed.push(rule.name.clone());
                    }
                }
            }
            conn = app.store.conn().await?;
        }
        for rule in &app.settings.alerts.rules {
            if shutdown.is_some_and(Shutdown::is_shutdown) {
                interrupted = true;
                break;
            }
            let last = store::last_scheduled(&mut conn, &rule.name).await?;
            let Some((due, trigger)) = schedule::due_run(
                &rule.schedule,
                rule.timezone,
                last,
                self.started,
                now,
                app.settings.alerts.catch_up,
            ) else {
                continue;
            };
            drop(conn);
            match run_rule(app, rule, trigger, Some(due)).await {
                Ok(RunOutcome::Done(_)) => ran.push((rule.name.clone(), due, trigger)),
                Ok(RunOutcome::Skipped(why)) => {
                    tracing::info!(rule = %rule.name, ?why, "alert run skipped");
                    skipped.push(rule.name.clone());
                }
                Err(e) => {
                    tracing::error!(rule = %rule.name, error = ?e, "alert run failed");
                    failed.push(rule.name.clone());
                }
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
        Ok(Pass {
            leader,
            ran,
            failed,
            skipped,
            wait: schedule::wait_until(next, now).min(renew),
            interrupted,
        })
    }

    /// The process id of the scheduler's leader, if the lease is held (its holder id starts
    /// with it).
    pub async fn leader_pid(app: &App) -> anyhow::Result<Option<u32>> {
        let mut conn = app.store.conn().await?;
        let holder = store::lease_holder(&mut conn, LEASE, app.clock.now()).await?;
        Ok(holder.and_then(|h| h.split(':').next()?.parse().ok()))
    }

    /// Gives the lease up so another process can take over at once.
    pub async fn release(&self, app: &App) -> anyhow::Result<()> {
        self.lease.release(app).await
    }
}
