//! Discord: serenity + poise shims over the shared command layer.

use crate::app::App;
use secrecy::SecretString;
use tokio::sync::watch;

/// Connects to Discord and serves the commands until shutdown.
pub async fn run(
    app: App,
    token: SecretString,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let _ = (app, token);
    let _ = shutdown.changed().await;
    Ok(())
}
