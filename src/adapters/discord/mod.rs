//! Discord: serenity + poise shims over the shared command layer.
//!
//! The slash commands are generated from [`crate::commands::COMMANDS`] ([`slash`]); every
//! one builds an [`crate::commands::Invocation`], runs it through [`crate::commands::run`] as
//! `discord:<user id>` and renders the [`crate::commands::Reply`] as an embed ([`render`]).
//! Paged replies get Prev/Next buttons; every click and modal goes through [`components`],
//! whichever way it came. Gateway reconnects (RESUME / re-IDENTIFY) are serenity's own. The same
//! commands and clicks also arrive over HTTP, without the gateway ([`interactions`]).

pub mod alert_buttons;
pub mod approval_buttons;
pub mod components;
pub mod interactions;
pub mod poster;
pub mod render;
pub mod slash;

use crate::app::App;
use crate::shutdown::Shutdown;
use anyhow::Context;
use poise::serenity_prelude as serenity;
use secrecy::{ExposeSecret, SecretString};

/// The real Discord API root; anything else (a test fake) is reached through serenity's proxy.
pub const DISCORD_API: &str = "https://discord.com";

/// Error type of the poise framework.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// State shared by the handlers.
pub struct Data {
    /// The use cases.
    pub app: App,
}

/// How long shutdown waits for the gateway connection to close.
const GATEWAY_CLOSE: std::time::Duration = std::time::Duration::from_millis(500);

/// Serves Discord until shutdown; not started without `DISCORD_TOKEN`.
///
/// Discord being unreachable must not stop the console, the API or the scheduler: a connection
/// that ends or cannot be made is retried with backoff (5 s doubling to 5 min) until shutdown.
pub async fn run(app: App, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let Some(token) = app.settings.secrets.discord_token.clone() else {
        return Ok(());
    };
    let mut delay = std::time::Duration::from_secs(5);
    loop {
        let ended = connect(app.clone(), token.clone(), shutdown.clone()).await;
        if shutdown.is_shutdown() {
            return Ok(());
        }
        match ended {
            Ok(()) => tracing::warn!(retry_in = ?delay, "Discord connection ended; reconnecting"),
            Err(e) => {
                tracing::error!(error = ?e, retry_in = ?delay, "Discord unavailable; everything else keeps running")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.recv() => return Ok(()),
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(300));
    }
}

/// One connection: connects to Discord and serves the commands until shutdown or disconnection.
async fn connect(app: App, token: SecretString, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let settings = app.settings.discord.clone();
    if settings.api_base_url != DISCORD_API {
        tracing::info!(api = %settings.api_base_url, "Discord: using a custom API root");
    }
    let http = http_builder(&settings, Some(&token)).build();

    let data = Data { app };
    let guild_ids = settings.guild_ids.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: slash::framework_commands(),
            event_handler: |fw, event| Box::pin(event_handler(fw, event)),
            on_error: |error| Box::pin(on_error(error)),
            initialize_owners: false,
            // Anything poise sends itself (error notes) pings no one either.
            allowed_mentions: Some(render::allowed_mentions(&[])),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            // Registered from the very list poise dispatches on, so the two cannot differ.
            let commands = slash::registration(&framework.options().commands);
            Box::pin(async move {
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "Discord: connected");
                // A failed setup would stall every later event: log registration errors only.
                register(&ctx.http, &guild_ids, &commands).await;
                Ok(data)
            })
        })
        .build();

    let intents = serenity::GatewayIntents::GUILDS;
    // Building the client asks the API who the bot is: an API that does not answer must not
    // hold up shutdown.
    let building = serenity::ClientBuilder::new_with_http(http, intents).framework(framework);
    let mut client = tokio::select! {
        built = building => built.context("Discord: cannot create the client")?,
        _ = shutdown.recv() => return Ok(()),
    };
    // Stops the shards even when this future is dropped (the caller may stop waiting first).
    let mut guard = StopOnDrop(Some(client.shard_manager.clone()));
    let mut task = tokio::spawn(async move { client.start().await });
    tokio::select! {
        r = &mut task => {
            return match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::Error::new(e).context("Discord: the gateway connection ended")),
                Err(e) => Err(anyhow::Error::new(e).context("Discord: client task failed")),
            };
        }
        _ = shutdown.recv() => {}
    }
    tracing::info!("Discord: shutting down");
    // Closing the gateway politely is worth a moment, not more: Discord drops a silent session
    // itself, and nothing unsaved waits on it (commands run in their own tasks).
    let closing = async {
        if let Some(shards) = guard.0.take() {
            shards.shutdown_all().await;
        }
        let _ = (&mut task).await;
    };
    if tokio::time::timeout(GATEWAY_CLOSE, closing).await.is_err() {
        tracing::info!("Discord: the gateway did not close at once; leaving it");
        task.abort();
    }
    Ok(())
}

struct StopOnDrop(Option<std::sync::Arc<serenity::ShardManager>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let (Some(shards), Ok(rt)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move { shards.shutdown_all().await });
        }
    }
}

/// A REST client for `discord.api_base_url`, authorised by the bot token when there is one
/// (the interaction webhooks need none).
pub fn http_builder(
    settings: &crate::config::DiscordSettings,
    token: Option<&SecretString>,
) -> serenity::HttpBuilder {
    let http = serenity::HttpBuilder::new(token.map_or("", |t| t.expose_secret()));
    if settings.api_base_url == DISCORD_API {
        http
    } else {
        // serenity ignores the proxy while its rate limiter is on.
        http.proxy(settings.api_base_url.clone())
            .ratelimiter_disabled(true)
    }
}

/// Registers the commands over REST alone, for a bot without a gateway connection
/// (`discord.gateway = false`): asks Discord for the application id, then registers as the
/// gateway's setup does. A failure is logged, not fatal, like there.
pub async fn register_over_rest(app: App, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let Some(token) = app.settings.secrets.discord_token.clone() else {
        return Ok(());
    };
    let http = http_builder(&app.settings.discord, Some(&token)).build();
    let registering = async {
        match http.get_current_application_info().await {
            Ok(info) => {
                http.set_application_id(info.id);
                let commands = slash::registration(&slash::framework_commands());
                register(&http, &app.settings.discord.guild_ids, &commands).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "Discord: cannot read the application id; commands not registered")
            }
        }
    };
    tokio::select! {
        _ = registering => {}
        _ = shutdown.recv() => {}
    }
    Ok(())
}

/// Registers the commands in each configured guild (instant), or globally when there are none.
async fn register(http: &serenity::Http, guild_ids: &[u64], commands: &serde_json::Value) {
    if guild_ids.is_empty() {
        match http.create_global_commands(commands).await {
            Ok(c) => tracing::info!(count = c.len(), "Discord: registered global commands"),
            Err(e) => tracing::error!(error = %e, "Discord: registering global commands failed"),
        }
    } else {
        for &g in guild_ids {
            match http
                .create_guild_commands(serenity::GuildId::new(g), commands)
                .await
            {
                Ok(c) => tracing::info!(guild = g, count = c.len(), "Discord: registered commands"),
                Err(e) => {
                    tracing::error!(guild = g, error = %e, "Discord: registering commands failed")
                }
            }
        }
    }
}

async fn event_handler(
    fw: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ops = &fw.user_data.app.settings.discord.ops_role_ids;
    match event {
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(mci),
        } => {
            let click = components::Click::component(mci, ops);
            let response = components::answer(fw.user_data, &click).await;
            mci.create_response(fw.serenity_context, response).await?;
            Ok(())
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(modal),
        } => {
            let click = components::Click::modal(modal, ops);
            let response = components::answer(fw.user_data, &click).await;
            modal.create_response(fw.serenity_context, response).await?;
            Ok(())
        }
        serenity::FullEvent::Resume { .. } => {
            tracing::info!("Discord: gateway session resumed");
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::warn!(command = %ctx.command().qualified_name, error = %error, "Discord: answering failed");
        }
        poise::FrameworkError::EventHandler { error, event, .. } => {
            tracing::warn!(event = event.snake_case_name(), error = %error, "Discord: event handler failed");
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(error = %e, "Discord: error handler failed");
            }
        }
    }
}
