//! The nightly forecast refresh (`[forecast] schedule`): one run per cron time, by the one
//! process holding the `forecast-scheduler` lease, recorded in `forecast_runs` so that neither
//! two processes nor a restart run a cron time twice.

use super::forecast::{refresh_all, RefreshReport};
use super::lease::Lease;
use super::{App, AppResult};
use crate::domain::alerts::RunStatus;
use crate::domain::schedule::{self, NotStarted, Trigger};
use crate::shutdown::Shutdown;
use crate::store::forecasts as store;
use crate::telemetry::metrics::JobOutcome as Counted;
use chrono::{DateTime, Duration, Utc};

/// A run older than this is taken for dead (its process crashed): a million SKUs take well
/// under a minute.
const STALE_RUN_MINUTES: i64 = 60;

/// A refresh that ran, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Done { run_id: i64, report: RefreshReport },
    Skipped(NotStarted),
}

/// Runs the refresh once for `scheduled_for` (a cron time, or `None` by hand), unless one is
/// running or that cron time has run.
#[tracing::instrument(skip_all, err)]
pub async fn run_job(
    app: &App,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
    shutdown: Option<&Shutdown>,
) -> AppResult<JobOutcome> {
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let started = store::start_run(
        &mut tx,
        scheduled_for,
        trigger,
        now,
        now - Duration::minutes(STALE_RUN_MINUTES),
    )
    .await?;
    tx.commit().await?;
    let run_id = match started {
        Ok(id) => id,
        Err(why) => {
            app.metrics.forecast_run(Counted::Skipped);
            return Ok(JobOutcome::Skipped(why));
        }
    };
    let result = refresh_all(app, shutdown).await;
    let (status, skus) = match &result {
        Ok(r) if r.interrupted => (RunStatus::Abandoned, r.forecasts),
        Ok(r) => (RunStatus::Done, r.forecasts),
        Err(_) => (RunStatus::Failed, 0),
    };
    let mut conn = app.store.conn().await?;
    store::finish_run(&mut conn, run_id, status, skus, app.clock.now()).await?;
    app.metrics.forecast_run(match status {
        RunStatus::Done => Counted::Done,
        RunStatus::Failed => Counted::Failed,
        _ => Counted::Skipped,
    });
    result.map(|report| JobOutcome::Done { run_id, report })
}

/// The forecast job's scheduler between passes.
#[derive(Debug)]
pub struct ForecastScheduler {
    lease: Lease,
    started: DateTime<Utc>,
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPass {
    /// Whether this process holds the lease.
    pub leader: bool,
    /// The cron time run in this pass, and how.
    pub ran: Option<(DateTime<Utc>, Trigger)>,
    /// How long to wait before the next pass.
    pub wait: std::time::Duration,
}

impl ForecastScheduler {
    /// A scheduler whose process started now.
    pub fn new(app: &App) -> Self {
        Self {
            lease: Lease::new(store::LEASE),
            started: app.clock.now(),
        }
    }

    /// One pass: take or renew the lease, run the refresh if its cron time (UTC) has come, say
    /// when to come back. A time missed while down is caught up within `alerts.catch_up`, as
    /// the alert rules are.
    pub async fn tick(
        &mut self,
        app: &App,
        shutdown: Option<&Shutdown>,
    ) -> anyhow::Result<JobPass> {
        let Some(cron) = &app.settings.forecast.schedule else {
            return Ok(JobPass {
                leader: false,
                ran: None,
                wait: schedule::wait_until(None, app.clock.now()),
            });
        };
        let now = app.clock.now();
        let mut conn = app.store.conn().await?;
        let leader = self
            .lease
            .take(&mut conn, now, schedule::lease_until(now))
            .await?;
        let mut ran = None;
        if leader {
            let last = store::last_scheduled(&mut conn).await?;
            drop(conn);
            if let Some((due, trigger)) = schedule::due_run(
                cron,
                chrono_tz::UTC,
                last,
                self.started,
                now,
                app.settings.alerts.catch_up,
            ) {
                match run_job(app, trigger, Some(due), shutdown).await {
                    Ok(JobOutcome::Done { report, .. }) => {
                        tracing::info!(
                            forecasts = report.forecasts,
                            longest_write_ms = report.longest_write.as_millis() as u64,
                            "forecasts refreshed"
                        );
                        ran = Some((due, trigger));
                    }
                    Ok(JobOutcome::Skipped(why)) => {
                        tracing::info!(?why, "forecast refresh skipped")
                    }
                    Err(e) => tracing::error!(error = ?e, "forecast refresh failed"),
                }
            }
        }
        let now = app.clock.now();
        Ok(JobPass {
            leader,
            ran,
            wait: schedule::wait_until(cron.next_after(chrono_tz::UTC, now), now),
        })
    }

    /// Gives the lease up so another process can take over at once.
    pub async fn release(&self, app: &App) -> anyhow::Result<()> {
        self.lease.release(app).await
    }
}
