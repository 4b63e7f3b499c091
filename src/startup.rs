//! Building and running the application: the same path for `main` and for the tests.

use crate::app::{demo, Actor, App, Clock};
use crate::config::Settings;
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::watch;

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
        let app = App::new(store, Arc::new(settings), clock);
        if app.settings.shop.demo_data_on_first_start
            && demo::load_bundled(&app, &Actor::operator("demo-data"))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
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
            .map_err(|e| anyhow::anyhow!("config: http.bind: cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr()?;
        self.http = Some(listener);
        Ok(local)
    }

    /// Runs until shutdown is signalled (or the console ends when `console` is set).
    pub async fn run_until_stopped(
        self,
        console: bool,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let app = self.app.clone();
        let console_task = async {
            if console {
                crate::adapters::console::run(app.clone(), shutdown.clone()).await
            } else {
                std::future::pending::<anyhow::Result<()>>().await
            }
        };
        let discord_task = async {
            match app.settings.secrets.discord_token.clone() {
                Some(token) => {
                    // Discord being down must not stop the console, the API or the scheduler:
                    // reconnect with backoff until shutdown.
                    let mut delay = std::time::Duration::from_secs(5);
                    let mut stop = shutdown.clone();
                    loop {
                        let ended = crate::adapters::discord::run(
                            app.clone(),
                            token.clone(),
                            shutdown.clone(),
                        )
                        .await;
                        if *shutdown.borrow() {
                            break;
                        }
                        match ended {
                            Ok(()) => {
                                tracing::warn!(retry_in = ?delay, "Discord connection ended; reconnecting")
                            }
                            Err(e) => {
                                tracing::error!(error = %e, retry_in = ?delay, "Discord unavailable; everything else keeps running")
                            }
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = stop.changed() => break,
                        }
                        delay = (delay * 2).min(std::time::Duration::from_secs(300));
                    }
                    std::future::pending::<anyhow::Result<()>>().await
                }
                None => {
                    tracing::info!(
                        "DISCORD_TOKEN not set: Discord is off, the console is the chat surface"
                    );
                    std::future::pending::<anyhow::Result<()>>().await
                }
            }
        };
        let http_task = async {
            match self.http {
                Some(listener) => {
                    crate::adapters::http::serve(app.clone(), listener, shutdown.clone()).await
                }
                None => std::future::pending::<anyhow::Result<()>>().await,
            }
        };
        let mut stop = shutdown.clone();
        tokio::select! {
            r = console_task => { tracing::info!("console closed"); r?; }
            r = discord_task => { tracing::warn!("Discord stopped"); r?; }
            r = http_task => { tracing::warn!("HTTP server stopped"); r?; }
            _ = stop.changed() => { tracing::info!("shutdown requested"); }
        }
        self.app.store.close().await;
        Ok(())
    }
}

/// A channel that turns true on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        let _ = tx.send(true);
    });
    rx
}
