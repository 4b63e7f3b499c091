//! The alert scheduler task: runs each `[[alerts.rules]]` at its cron times in its timezone.
//!
//! The task only loops: each pass is [`Scheduler::tick_until`] (`app::schedule`), which takes
//! the lease and runs the rules that are due. Shutdown is looked at between rules: the rule being
//! run finishes (about a second over a million SKUs, well inside `shutdown.grace_seconds`), the
//! rules after it are left to the next start's catch-up.

pub use crate::app::schedule::{Pass, Scheduler, LEASE};
use crate::app::App;
use crate::domain::schedule::MAX_WAIT_SECS;
use tokio::sync::watch;

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
