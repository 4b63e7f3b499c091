//! The poster task: sends queued channel posts (`channel_posts`) through Discord's REST API.
//!
//! Claim → commit → send → mark (`app::posts`): a post is leased before the request, so when
//! Discord fails the post waits (the domain's backoff) and is sent once when it returns; a
//! process dying mid-send resends it after the lease. That resend carries the same nonce with
//! `enforce_nonce` ([`nonce`]): Discord returns the message it already made for that nonce (within
//! its few minutes) instead of making a second one, so a replica killed between Discord's answer
//! and marking the post sent does not post twice. Without `DISCORD_TOKEN` posts are printed on the
//! console instead.

use super::render;
pub use crate::app::posts::SendError;
use crate::app::posts::{self, ApprovalButtons, Components, Post};
use crate::app::App;
use crate::config::DiscordSettings;
use crate::domain::approval::Action;
use crate::domain::{markup, ApprovalId};
use crate::shutdown::Shutdown;
use poise::serenity_prelude as serenity;
use secrecy::SecretString;
use std::sync::Arc;

/// Where posts go.
#[derive(Clone)]
pub enum Sender {
    /// Discord's REST API.
    Discord(Arc<serenity::Http>),
    /// Standard output (no token).
    Console,
}

impl Sender {
    /// The REST client, built like the gateway client's (`discord.api_base_url`).
    pub fn discord(settings: &DiscordSettings, token: &SecretString) -> Self {
        Sender::Discord(Arc::new(super::http_builder(settings, Some(token)).build()))
    }

    /// From the settings: Discord with a token, the console without.
    pub fn from_app(app: &App) -> Self {
        match &app.settings.secrets.discord_token {
            Some(token) => Self::discord(&app.settings.discord, token),
            None => Sender::Console,
        }
    }

    /// Sends one post; returns the Discord message id. `may_ping`: the roles it may mention
    /// (the config's; nothing else pings). An edit post (`edits_post`) changes the message
    /// `edited` instead: its text, and its buttons (none: removed).
    pub async fn send(
        &self,
        post: &Post,
        edited: Option<u64>,
        may_ping: &[u64],
    ) -> Result<Option<u64>, SendError> {
        match self {
            Sender::Console => {
                let what = if post.edits_post.is_some() {
                    "edit of a post in"
                } else {
                    "post to"
                };
                let printed = crate::outln!(
                    "── {what} channel {} ──\n{}",
                    post.channel_id,
                    markup::to_console(&post.content, None)
                )
                .and_then(|()| match &post.attachment {
                    Some((name, bytes)) => {
                        crate::outln!("(attachment {name}, {} bytes)", bytes.len())
                    }
                    None => Ok(()),
                });
                // The console stands in for Discord: a post nobody reads is still done with.
                if let Err(e) = printed {
                    tracing::warn!(error = %e, post_id = post.id.0, "post not printed");
                }
                Ok(None)
            }
            Sender::Discord(http) if post.edits_post.is_some() => {
                let Some(message) = edited else {
                    return Err(SendError::Retry(
                        "the post it edits is not sent yet".to_string(),
                    ));
                };
                let edit = serenity::EditMessage::new()
                    .content(post.content.clone())
                    .allowed_mentions(render::allowed_mentions(may_ping))
                    .components(
                        post.components
                            .as_deref()
                            .and_then(|c| serde_json::from_str::<ApprovalButtons>(c).ok())
                            .map(|b| approval_components(b.approval))
                            .unwrap_or_default(),
                    );
                match serenity::ChannelId::new(post.channel_id.max(1))
                    .edit_message(
                        http.as_ref(),
                        serenity::MessageId::new(message.max(1)),
                        edit,
                    )
                    .await
                {
                    Ok(_) => Ok(Some(message)),
                    Err(e) => Err(classify(e)),
                }
            }
            Sender::Discord(http) => {
                let mut msg = serenity::CreateMessage::new()
                    .content(post.content.clone())
                    .nonce(serenity::Nonce::String(nonce(post)))
                    .enforce_nonce(true)
                    // Only the alert role from the config may ping; outside text never
                    // carries a live mention (`markup::data`), so it reaches no one else.
                    .allowed_mentions(render::allowed_mentions(may_ping));
                if let Some((name, bytes)) = &post.attachment {
                    msg = msg.add_file(serenity::CreateAttachment::bytes(
                        bytes.clone(),
                        name.clone(),
                    ));
                }
                if let Some(c) = post
                    .components
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<Components>(c).ok())
                {
                    msg = msg.components(components(&c));
                } else if let Some(b) = post
                    .components
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<ApprovalButtons>(c).ok())
                {
                    msg = msg.components(approval_components(b.approval));
                }
                match serenity::ChannelId::new(post.channel_id.max(1))
                    .send_message(http.as_ref(), msg)
                    .await
                {
                    Ok(m) => Ok(Some(m.id.get())),
                    Err(e) => Err(classify(e)),
                }
            }
        }
    }
}

/// A post's nonce (Discord allows 25 characters): its id and the millisecond it was queued, in
/// base 36, so every attempt of one post carries the same nonce and posts of two databases (a
/// test shop and the real one on one bot) do not share one.
pub fn nonce(post: &Post) -> String {
    fn base36(mut n: u64) -> String {
        let mut digits = Vec::new();
        loop {
            digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
            n /= 36;
            if n == 0 {
                break;
            }
        }
        digits.iter().rev().collect()
    }
    let millis = u64::try_from(post.created_at.timestamp_millis()).unwrap_or(0);
    format!(
        "p{}.{}",
        base36(u64::try_from(post.id.0).unwrap_or(0)),
        base36(millis)
    )
}

fn classify(e: serenity::Error) -> SendError {
    if let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) = &e {
        let code = r.status_code.as_u16();
        if (400..500).contains(&code) && code != 429 && code != 408 {
            return SendError::Permanent(format!("Discord answered {code}: {}", r.error.message));
        }
        return SendError::Retry(format!("Discord answered {code}"));
    }
    SendError::Retry(e.to_string())
}

/// Custom id prefix of the "Snooze 7 days" button; the run id follows.
pub const SNOOZE_RUN: &str = "alerts:snooze:";
/// Custom id prefix of the snooze select menu; the run id follows.
pub const SNOOZE_SKUS: &str = "alerts:snoozesku:";

/// The alert message's button row and SKU select menu.
pub fn components(c: &Components) -> Vec<serenity::CreateActionRow> {
    let mut rows = vec![serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(format!("{SNOOZE_RUN}{}", c.snooze_run))
            .label("Snooze 7 days")
            .style(serenity::ButtonStyle::Secondary),
    ])];
    if !c.skus.is_empty() {
        let options: Vec<serenity::CreateSelectMenuOption> = c
            .skus
            .iter()
            .take(25)
            .map(|s| serenity::CreateSelectMenuOption::new(s.clone(), s.clone()))
            .collect();
        let n = options.len() as u8;
        rows.push(serenity::CreateActionRow::SelectMenu(
            serenity::CreateSelectMenu::new(
                format!("{SNOOZE_SKUS}{}", c.snooze_run),
                serenity::CreateSelectMenuKind::String { options },
            )
            .placeholder("Snooze single SKUs for 7 days")
            .min_values(1)
            .max_values(n),
        ));
    }
    rows
}

/// The buttons of a held batch's post.
pub fn approval_components(id: ApprovalId) -> Vec<serenity::CreateActionRow> {
    vec![serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(Action::Approve.custom_id(id.0))
            .label("Approve")
            .style(serenity::ButtonStyle::Success),
        serenity::CreateButton::new(Action::AskNote.custom_id(id.0))
            .label("Add note…")
            .style(serenity::ButtonStyle::Secondary),
        serenity::CreateButton::new(Action::Withhold.custom_id(id.0))
            .label("Withhold")
            .style(serenity::ButtonStyle::Danger),
    ])]
}

/// Sends every due post once (after queueing the approval reminders now due); returns how many
/// were sent.
pub async fn deliver_due(app: &App, sender: &Sender) -> anyhow::Result<usize> {
    // A failing reminder must not hold up the posts.
    if let Err(e) = crate::app::approvals::remind_due(app).await {
        tracing::error!(error = ?e, "approval reminders failed");
    }
    let may_ping: Vec<u64> = app.settings.alerts.mention_role.into_iter().collect();
    let mut sent = 0;
    for post in posts::claim_due(app).await? {
        let result = match posts::edited_message(app, &post).await? {
            Ok(edited) => sender.send(&post, edited, &may_ping).await,
            Err(never) => Err(SendError::Permanent(never)),
        };
        if result.is_err() {
            app.metrics.delivery_failed("discord");
        }
        if posts::record(app, &post, result).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Delivers queued posts until shutdown (finishing the post being sent).
pub async fn run(app: App, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let sender = Sender::from_app(&app);
    loop {
        if shutdown.is_shutdown() {
            break;
        }
        let wait = match deliver_due(&app, &sender).await {
            Ok(n) if n > 0 => std::time::Duration::ZERO,
            Ok(_) => posts::next_wait(&app).await?,
            Err(e) => {
                tracing::error!(error = %e, "poster: delivery round failed");
                std::time::Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.recv() => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn post(id: i64, millis: i64) -> Post {
        Post {
            id: crate::domain::PostId(id),
            channel_id: 1,
            content: String::new(),
            attachment: None,
            components: None,
            attempts: 1,
            edits_post: None,
            created_at: chrono::Utc.timestamp_millis_opt(millis).unwrap(),
        }
    }

    #[test]
    fn a_nonce_fits_discord_and_names_the_post_and_its_moment() {
        let largest = nonce(&post(i64::MAX, 253_402_300_799_999));
        assert!(largest.len() <= 25, "{largest}");
        let a = nonce(&post(7, 1_765_000_000_000));
        assert_eq!(a, nonce(&post(7, 1_765_000_000_000)), "every attempt alike");
        assert_ne!(a, nonce(&post(8, 1_765_000_000_000)));
        assert_ne!(
            a,
            nonce(&post(7, 1_765_000_000_001)),
            "another database's post 7"
        );
    }
}
