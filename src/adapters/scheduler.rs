//! The scheduler tasks: each `[[alerts.rules]]` at its cron times in its timezone, and the
//! forecast refresh at `[forecast] schedule`.
//!
//! The task only loops: each pass is [`Scheduler::tick_until`] (`app::schedule`), which takes
//! the lease and runs the rules that are due. Shutdown is looked at between rules: the rule being
//! run finishes (about a second over a million SKUs, well inside `shutdown.grace`), the
//! rules after it are left to the next start's catch-up.

use crate::app::forecast_job::ForecastScheduler;
pub use crate::app::schedule::{Pass, Scheduler, LEASE};
use crate::app::App;
use crate::domain::schedule::MAX_WAIT_SECS;
use crate::shutdown::Shutdown;
use crate::telemetry::metrics::JobOutcome;
use std::time::Duration;

/// Schedules the alert rules until shutdown; the run in progress finishes first, and no other
/// rule starts after shutdown.
/// Not started without `[[alerts.rules]]`.
pub async fn run(app: App, shutdown: Shutdown) -> anyhow::Result<()> {
    if app.settings.alerts.rules.is_empty() {
        return Ok(());
    }
    let scheduler = Scheduler::new(&app);
    run_passes(app, shutdown, scheduler).await
}

/// Refreshes the stored forecasts at `[forecast] schedule` until shutdown (a refresh in
/// progress stops after the page it is writing). Not started when the schedule is off.
pub async fn run_forecasts(app: App, shutdown: Shutdown) -> anyhow::Result<()> {
    let scheduler = ForecastScheduler::new(&app);
    run_passes(app, shutdown, scheduler).await
}

/// A scheduler of lease-holding passes.
trait Passes {
    const NAME: &'static str;
    /// One pass; how long to wait for the next.
    async fn pass(&mut self, app: &App, shutdown: &Shutdown) -> anyhow::Result<Duration>;
    async fn release(&self, app: &App) -> anyhow::Result<()>;
}

impl Passes for Scheduler {
    const NAME: &'static str = "alert scheduler";
    async fn pass(&mut self, app: &App, shutdown: &Shutdown) -> anyhow::Result<Duration> {
        let pass = self.tick_until(app, Some(shutdown)).await?;
        record(app, &pass);
        Ok(pass.wait)
    }
    async fn release(&self, app: &App) -> anyhow::Result<()> {
        Scheduler::release(self, app).await
    }
}

impl Passes for ForecastScheduler {
    const NAME: &'static str = "forecast scheduler";
    async fn pass(&mut self, app: &App, shutdown: &Shutdown) -> anyhow::Result<Duration> {
        Ok(self.tick(app, Some(shutdown)).await?.wait)
    }
    async fn release(&self, app: &App) -> anyhow::Result<()> {
        ForecastScheduler::release(self, app).await
    }
}

/// Runs passes until shutdown, then gives the lease up.
async fn run_passes<P: Passes>(app: App, mut shutdown: Shutdown, mut s: P) -> anyhow::Result<()> {
    loop {
        if shutdown.is_shutdown() {
            break;
        }
        let wait = match s.pass(&app, &shutdown).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::error!(error = ?e, scheduler = P::NAME, "scheduler pass failed");
                Duration::from_secs(MAX_WAIT_SECS as u64)
            }
        };
        // Wake a moment after the cron time so it is not missed by a rounding second.
        let wait = wait + Duration::from_millis(250);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.recv() => break,
        }
    }
    if let Err(e) = s.release(&app).await {
        tracing::warn!(error = %e, scheduler = P::NAME, "releasing the lease failed");
    }
    Ok(())
}

/// Counts the pass's rule runs in the metrics.
pub fn record(app: &App, pass: &Pass) {
    let runs = pass.ran.iter().map(|(rule, _, _)| (rule, JobOutcome::Done));
    let runs = runs
        .chain(pass.failed.iter().map(|rule| (rule, JobOutcome::Failed)))
        .chain(pass.skipped.iter().map(|rule| (rule, JobOutcome::Skipped)));
    for (rule, outcome) in runs {
        app.metrics.scheduler_run(rule, outcome);
    }
}
