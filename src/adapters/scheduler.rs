//! The alert scheduler task: runs each `[[alerts.rules]]` at its cron times in its timezone.
//!
//! The task only loops: each pass is [`Scheduler::tick_until`] (`app::schedule`), which takes
//! the lease and runs the rules that are due. Shutdown is looked at between rules: the rule being
//! run finishes (about a second over a million SKUs, well inside `shutdown.grace`), the
//! rules after it are left to the next start's catch-up.

pub use crate::app::schedule::{Pass, Scheduler, LEASE};
use crate::app::App;
use crate::domain::schedule::MAX_WAIT_SECS;
use crate::shutdown::Shutdown;

/// Schedules the alert rules until shutdown; the run in progress finishes first, and no other
/// rule starts after shutdown.
/// Not started without `[[alerts.rules]]`.
pub async fn run(app: App, mut shutdown: Shutdown) -> anyhow::Result<()> {
    if app.settings.alerts.rules.is_empty() {
        return Ok(());
    }
    let mut scheduler = Scheduler::new(&app);
    loop {
        if shutdown.is_shutdown() {
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
            _ = shutdown.recv() => break,
        }
    }
    if let Err(e) = scheduler.release(&app).await {
        tracing::warn!(error = %e, "alert scheduler: releasing the lease failed");
    }
    Ok(())
}

/// Refreshes the stored forecasts at `[forecast] schedule` until shutdown (a refresh in
/// progress stops after the page it is writing). Not started when the schedule is off.
pub async fn run_forecasts(app: App, mut shutdown: Shutdown) -> anyhow::Result<()> {
    use crate::app::forecast_job::ForecastScheduler;
    let mut scheduler = ForecastScheduler::new(&app);
    loop {
        if shutdown.is_shutdown() {
            break;
        }
        let wait = match scheduler.tick(&app, Some(&shutdown)).await {
            Ok(pass) => pass.wait,
            Err(e) => {
                tracing::error!(error = ?e, "forecast scheduler pass failed");
                std::time::Duration::from_secs(MAX_WAIT_SECS as u64)
            }
        };
        let wait = wait + std::time::Duration::from_millis(250);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.recv() => break,
        }
    }
    if let Err(e) = scheduler.release(&app).await {
        tracing::warn!(error = %e, "forecast scheduler: releasing the lease failed");
    }
    Ok(())
}
