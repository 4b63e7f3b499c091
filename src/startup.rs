//! Building and running the application: the same path for `main` and for the tests.

use crate::adapters;
use crate::app::{demo, Actor, App, Clock};
use crate::config::Settings;
use crate::store::Store;
use anyhow::Context;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// A long-running task: `run(app, shutdown)` of an adapter.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

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

    /// Runs the long-running tasks until shutdown is signalled, or until one of them ends (the
    /// console closing ends the service), then lets each finish its current unit of work for up
    /// to `[shutdown] grace_seconds` and closes the store.
    pub async fn run_until_stopped(
        self,
        console: bool,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let app = self.app.clone();
        // The tasks watch `stop`, which turns true on the caller's signal or when a task ends.
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
        let mut spawn = |name: &'static str, task: Task| {
            tasks.spawn(async move { (name, task.await) });
        };
        if console {
            spawn(
                "console",
                Box::pin(adapters::console::run(app.clone(), stop.clone())),
            );
        }
        spawn(
            "discord",
            Box::pin(adapters::discord::run(app.clone(), stop.clone())),
        );
        spawn(
            "alert-scheduler",
            Box::pin(adapters::scheduler::run(app.clone(), stop.clone())),
        );
        spawn(
            "discord-poster",
            Box::pin(adapters::discord::poster::run(app.clone(), stop.clone())),
        );
        if let Some(listener) = self.http {
            spawn(
                "http",
                Box::pin(adapters::http::serve(app.clone(), listener, stop.clone())),
            );
        }
        spawn(
            "search-counts",
            Box::pin(read_trigram_counts(app.clone(), stop.clone())),
        );
        spawn(
            "dispatcher",
            Box::pin(adapters::dispatcher::run(app.clone(), stop.clone())),
        );

        let mut failure = None;
        let mut requested = shutdown;
        tokio::select! {
            _ = wait_for(&mut requested) => tracing::info!("shutdown requested"),
            Some(ended) = tasks.join_next() => {
                let (name, result) = flatten(ended);
                match result {
                    Ok(()) => tracing::info!(task = name, "task finished; stopping the others"),
                    Err(e) => {
                        tracing::error!(task = name, error = ?e, "task failed; stopping the others");
                        failure = Some(e.context(format!("{name} failed")));
                    }
                }
            }
        }
        let _ = stop_tx.send(true);

        let grace = app.settings.shutdown.grace;
        let drained = tokio::time::timeout(grace, async {
            while let Some(ended) = tasks.join_next().await {
                let (name, result) = flatten(ended);
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
                unfinished = tasks.len(),
                "tasks did not stop within the grace period; aborting them"
            );
            tasks.shutdown().await;
        }
        self.app.store.close().await;
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Reads the search indexes' trigram counts once (in the background: the other tasks serve
/// meanwhile, and a search before it ends counts what it needs itself), then waits for the
/// stop. A failure is logged, not fatal: searches count trigrams as they meet them.
async fn read_trigram_counts(app: App, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
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
        _ = wait_for(&mut stop) => return Ok(()),
    }
    wait_for(&mut stop).await;
    Ok(())
}

fn flatten(
    joined: Result<(&'static str, anyhow::Result<()>), tokio::task::JoinError>,
) -> (&'static str, anyhow::Result<()>) {
    joined.unwrap_or_else(|e| {
        (
            "task",
            Err(anyhow::Error::new(e).context("task panicked or was cancelled")),
        )
    })
}

/// Resolves once `rx` is true; never if its sender is gone without saying so.
pub async fn wait_for(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A channel that turns true on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> anyhow::Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    // The handlers are installed here, before any task starts: a signal that arrives while the
    // service is still starting must stop it cleanly, not kill it with the default action.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        tokio::spawn(async move {
            tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
            let _ = tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    Ok(rx)
}
