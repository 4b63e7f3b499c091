//! Building and running the application: the same path for `main` and for the tests.

use crate::adapters;
use crate::app::{demo, Actor, App, Clock};
use crate::config::Settings;
use crate::shutdown::Shutdown;
use crate::store::Store;
use anyhow::Context;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::task::JoinSet;

/// A built application, ready to run its long-running tasks.
pub struct Application {
    /// The use cases.
    pub app: App,
    http: Option<tokio::net::TcpListener>,
}

impl Application {
    /// Opens and migrates the database and, on first start, loads the demo shop.
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let store = Store::open(&settings.database).await?;
        store.sync_priority_weights(&settings.priority).await?;
        // A template that does not compile stops the start, like a bad setting.
        crate::app::templates::Templates::load(settings.notify.templates_dir.as_deref())?;
        let app = App::new(store, Arc::new(settings), clock);
        if app.settings.shop.demo_data_on_first_start
            && demo::load_bundled(&app, &Actor::operator("demo-data"))
                .await
                .context("cannot load the demo shop")?
                .is_some()
        {
            tracing::info!("empty database: loaded the demo shop");
        }
        Ok(Self { app, http: None })
    }

    /// Binds the HTTP listener (`http.bind`; port 0 picks a free port) and returns its address.
    pub async fn bind_http(&mut self) -> anyhow::Result<std::net::SocketAddr> {
        let addr = self.app.settings.http.bind;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("config: http.bind: cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        self.http = Some(listener);
        Ok(local)
    }

    /// Runs the service until shutdown is signalled, or until one of its tasks ends (the console
    /// closing ends the service): HTTP (when bound), Discord, the alert scheduler, the posters,
    /// the dispatcher and the `service` lease that tells other processes a service is running,
    /// plus the console when `console` is true. Then lets each task finish its current unit of
    /// work for up to `[shutdown] grace` and closes the store. A task with nothing to do
    /// is not started.
    pub async fn run_until_stopped(
        self,
        console: bool,
        shutdown: impl Into<Shutdown>,
    ) -> anyhow::Result<()> {
        let app = self.app.clone();
        // The tasks listen to `stop`, fired on the caller's signal or when a task ends.
        let (signal, stop) = Shutdown::new();
        let mut tasks = Tasks::default();
        tasks.spawn(
            "service-lease",
            keep_service_lease(app.clone(), stop.clone()),
        );
        if console {
            tasks.spawn("console", adapters::console::run(app.clone(), stop.clone()));
        }
        if app.settings.secrets.discord_token.is_some() && app.settings.discord.gateway {
            tasks.spawn("discord", adapters::discord::run(app.clone(), stop.clone()));
        } else if app.settings.secrets.discord_token.is_some() {
            tracing::info!(
                "discord.gateway = false: no gateway connection; commands come over HTTP only, alerts go out over REST"
            );
            if app.settings.discord.public_key.is_none() {
                tracing::warn!("discord.gateway = false without DISCORD_PUBLIC_KEY: Discord cannot reach the bot's commands at all");
            }
            tasks.spawn_once(
                "discord-commands",
                adapters::discord::register_over_rest(app.clone(), stop.clone()),
            );
        } else if console {
            tracing::info!(
                "DISCORD_TOKEN not set: Discord is off, the console is the chat surface"
            );
        } else {
            tracing::info!("DISCORD_TOKEN not set: Discord is off");
        }
        if app.settings.alerts.rules.is_empty() {
            tracing::info!("no [[alerts.rules]]: the alert scheduler is not started");
        } else {
            tasks.spawn(
                "alert-scheduler",
                adapters::scheduler::run(app.clone(), stop.clone()),
            );
        }
        if app.settings.forecast.schedule.is_some() {
            tasks.spawn(
                "forecast-scheduler",
                adapters::scheduler::run_forecasts(app.clone(), stop.clone()),
            );
        }
        tasks.spawn(
            "discord-poster",
            adapters::discord::poster::run(app.clone(), stop.clone()),
        );
        if let Some(listener) = self.http {
            tasks.spawn(
                "http",
                adapters::http::serve(app.clone(), listener, stop.clone()),
            );
        }
        // Done once the counts are read; its end stops nothing.
        tasks.spawn_once(
            "search-counts",
            read_trigram_counts(app.clone(), stop.clone()),
        );
        if app.settings.notify.enabled {
            tasks.spawn(
                "dispatcher",
                adapters::dispatcher::run(app.clone(), stop.clone()),
            );
        } else {
            tracing::info!("notify.enabled = false: customer updates are queued but not sent");
        }
        supervise(app, tasks, signal, shutdown.into()).await
    }

    /// Runs the console alone beside the data, until it closes or shutdown is signalled: no HTTP
    /// listener, no Discord, no scheduler, no dispatcher. What it queues is sent by the service
    /// (`run`), in this process or another one on the same database.
    pub async fn run_console(self, shutdown: impl Into<Shutdown>) -> anyhow::Result<()> {
        let app = self.app.clone();
        let (signal, stop) = Shutdown::new();
        let mut tasks = Tasks::default();
        tasks.spawn("console", adapters::console::run(app.clone(), stop.clone()));
        tasks.spawn_once(
            "search-counts",
            read_trigram_counts(app.clone(), stop.clone()),
        );
        supervise(app, tasks, signal, shutdown.into()).await
    }
}

/// Waits for the caller's shutdown or the end of a long-running task, stops the others, gives
/// them `[shutdown] grace` to finish their current unit of work, and closes the store.
async fn supervise(
    app: App,
    mut tasks: Tasks,
    signal: crate::shutdown::Signal,
    mut requested: Shutdown,
) -> anyhow::Result<()> {
    let mut failure = None;
    loop {
        tokio::select! {
            _ = requested.recv() => {
                tracing::info!("shutdown requested");
                break;
            }
            Some((name, once, result)) = tasks.join_next() => match result {
                Ok(()) if once => tracing::info!(task = name, "task done"),
                Ok(()) => {
                    tracing::info!(task = name, "task finished; stopping the others");
                    break;
                }
                Err(e) => {
                    tracing::error!(task = name, error = ?e, "task failed; stopping the others");
                    failure = Some(e.context(format!("{name} failed")));
                    break;
                }
            },
        }
    }
    signal.fire();

    let grace = app.settings.shutdown.grace;
    let drained = tokio::time::timeout(grace, async {
        while let Some((name, _, result)) = tasks.join_next().await {
            match result {
                Ok(()) => tracing::info!(task = name, "stopped"),
                Err(e) => tracing::warn!(task = name, error = ?e, "stopped with an error"),
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_seconds = grace.as_secs(),
            unfinished = tasks.set.len(),
            "tasks did not stop within the grace period; aborting them"
        );
        tasks.set.shutdown().await;
    }
    app.store.close().await;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Keeps the `service` lease fresh while the service runs, so that consoles and `ask` beside it
/// know their customer updates will be sent; gives it up on shutdown. A failed renewal is
/// logged, not fatal: the service goes on sending whether or not others can see it.
async fn keep_service_lease(app: App, mut stop: Shutdown) -> anyhow::Result<()> {
    let heartbeat = crate::app::service::Heartbeat::new();
    loop {
        if let Err(e) = heartbeat.beat(&app).await {
            tracing::warn!(error = ?e, "cannot renew the service lease");
        }
        tokio::select! {
            _ = tokio::time::sleep(crate::app::service::RENEW_EVERY) => {}
            _ = stop.recv() => break,
        }
    }
    if let Err(e) = heartbeat.release(&app).await {
        tracing::warn!(error = ?e, "cannot release the service lease");
    }
    Ok(())
}

/// The supervised tasks, each known by its name, so that a panic is reported by it too.
#[derive(Default)]
struct Tasks {
    set: JoinSet<anyhow::Result<()>>,
    /// Name and whether the task is a one-off whose end stops nothing, by task id.
    names: HashMap<tokio::task::Id, (&'static str, bool)>,
}

impl Tasks {
    /// A long-running task: its end stops the service.
    fn spawn<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let id = self.set.spawn(task).id();
        self.names.insert(id, (name, false));
    }

    /// A one-off task: its end stops nothing, unless it fails.
    fn spawn_once<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let id = self.set.spawn(task).id();
        self.names.insert(id, (name, true));
    }

    /// The next task to end: its name, whether it was a one-off, and how it ended (a panic is
    /// an error).
    async fn join_next(&mut self) -> Option<(&'static str, bool, anyhow::Result<()>)> {
        let (id, result) = match self.set.join_next_with_id().await? {
            Ok((id, result)) => (id, result),
            Err(e) => {
                let id = e.id();
                (
                    id,
                    Err(anyhow::Error::new(e).context("task panicked or was cancelled")),
                )
            }
        };
        let (name, once) = self.names.remove(&id).unwrap_or(("task", false));
        Some((name, once, result))
    }
}

/// Reads the search indexes' trigram counts once, in the background: the other tasks serve
/// meanwhile, and a search before it ends counts what it needs itself. A failure is logged,
/// not fatal: searches count trigrams as they meet them.
async fn read_trigram_counts(app: App, mut stop: Shutdown) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    tokio::select! {
        read = crate::app::search::read_trigram_counts(&app) => match read {
            Ok(trigrams) => tracing::info!(
                trigrams,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "search trigram counts read"
            ),
            Err(e) => tracing::warn!(error = ?e, "cannot read the search trigram counts"),
        },
        _ = stop.recv() => {}
    }
    Ok(())
}

/// A shutdown that fires on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> anyhow::Result<Shutdown> {
    let (stop, shutdown) = Shutdown::new();
    // The handlers are installed here, before any task starts: a signal that arrives while the
    // service is still starting must stop it cleanly, not kill it with the default action.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        tokio::spawn(async move {
            tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
            stop.fire();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.fire();
    });
    Ok(shutdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicked_task_is_reported_by_its_name() {
        let mut tasks = Tasks::default();
        tasks.spawn("dispatcher", async { panic!("boom") });
        let (name, once, result) = tasks.join_next().await.unwrap();
        assert_eq!((name, once), ("dispatcher", false));
        assert!(format!("{:?}", result.unwrap_err()).contains("panicked"));
        assert!(tasks.join_next().await.is_none());
    }
}
