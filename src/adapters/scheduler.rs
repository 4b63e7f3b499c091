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
use crate::telemetry::metrics::JobOutcome;

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
            Ok(pass) => {
                record(&app, &pass);
                pass.wait
            }
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
