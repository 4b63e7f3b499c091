//! Clicks on message components and submitted modals, whichever way they came (the gateway or
//! `POST /discord/interactions`): each is read into a [`Click`] and answered by the first
//! handler in [`HANDLERS`] whose custom id prefix it carries. A handler returns the interaction
//! response; the transport sends it (a callback over REST, or the HTTP answer).

use super::poster::{SNOOZE_RUN, SNOOZE_SKUS};
use super::{alert_buttons, approval_buttons, slash, Data, Error};
use crate::app::Actor;
use poise::serenity_prelude as serenity;

/// A component click or modal submission, transport aside.
#[derive(Debug, Clone)]
pub struct Click {
    pub custom_id: String,
    /// Who clicked (a Discord user id).
    pub user_id: u64,
    /// The clicker as an actor: `discord:<id>`, changing data only with an ops role.
    pub actor: Actor,
    /// The values picked in a select menu.
    pub values: Vec<String>,
    /// A submitted modal's text inputs, as (custom id, value).
    pub fields: Vec<(String, String)>,
}

impl Click {
    /// A component interaction (button or select menu).
    pub fn component(mci: &serenity::ComponentInteraction, ops_role_ids: &[u64]) -> Self {
        let values = match &mci.data.kind {
            serenity::ComponentInteractionDataKind::StringSelect { values } => values.clone(),
            _ => Vec::new(),
        };
        Self {
            custom_id: mci.data.custom_id.clone(),
            user_id: mci.user.id.get(),
            actor: slash::actor(&mci.user, mci.member.as_ref(), ops_role_ids),
            values,
            fields: Vec::new(),
        }
    }

    /// A submitted modal.
    pub fn modal(m: &serenity::ModalInteraction, ops_role_ids: &[u64]) -> Self {
        let fields = m
            .data
            .components
            .iter()
            .flat_map(|row| &row.components)
            .filter_map(|c| match c {
                serenity::ActionRowComponent::InputText(t) => {
                    Some((t.custom_id.clone(), t.value.clone().unwrap_or_default()))
                }
                _ => None,
            })
            .collect();
        Self {
            custom_id: m.data.custom_id.clone(),
            user_id: m.user.id.get(),
            actor: slash::actor(&m.user, m.member.as_ref(), ops_role_ids),
            values: Vec::new(),
            fields,
        }
    }
}

/// What a handler answers: `None` when the custom id turned out not to be its own.
pub type Answer = Result<Option<serenity::CreateInteractionResponse>, Error>;

/// A handler of clicks whose custom id starts with its prefix.
pub type Handler = for<'a> fn(&'a Data, &'a Click) -> poise::BoxFuture<'a, Answer>;

/// Custom id prefix → handler, first match answers. A new kind of button or modal adds a line.
pub static HANDLERS: &[(&str, Handler)] = &[
    (SNOOZE_RUN, alert),
    (SNOOZE_SKUS, alert),
    ("pg|", page),
    ("pk|", page),
    (crate::domain::approval::CUSTOM_ID_PREFIX, approval),
];

fn alert<'a>(data: &'a Data, click: &'a Click) -> poise::BoxFuture<'a, Answer> {
    Box::pin(alert_buttons::respond(data, click))
}

fn approval<'a>(data: &'a Data, click: &'a Click) -> poise::BoxFuture<'a, Answer> {
    Box::pin(approval_buttons::respond(data, click))
}

fn page<'a>(data: &'a Data, click: &'a Click) -> poise::BoxFuture<'a, Answer> {
    Box::pin(slash::page_response(data, click))
}

/// The answer of the first handler whose prefix the click's custom id carries, whichever way
/// the click came. A click nobody handles (a stale or foreign component) is acknowledged
/// without a change, so Discord does not show it as failed; a handler's error gets a private
/// apology with a reference.
pub async fn answer(data: &Data, click: &Click) -> serenity::CreateInteractionResponse {
    let answered = match HANDLERS
        .iter()
        .find(|(prefix, _)| click.custom_id.starts_with(prefix))
    {
        Some((_, handler)) => handler(data, click).await,
        None => {
            tracing::debug!(custom_id = %click.custom_id, "discord: component nobody handles");
            Ok(None)
        }
    };
    match answered {
        Ok(Some(response)) => response,
        Ok(None) => serenity::CreateInteractionResponse::Acknowledge,
        Err(e) => {
            let reference =
                crate::app::report_unexpected(&anyhow::anyhow!("{e}"), "Discord component");
            let reply = crate::commands::Reply::error(format!(
                "Something went wrong (reference {reference})."
            ));
            serenity::CreateInteractionResponse::Message(
                serenity::CreateInteractionResponseMessage::new()
                    .embed(super::render::embed(&reply))
                    .ephemeral(true)
                    .allowed_mentions(super::render::allowed_mentions(&[])),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interaction(kind: u8, data: serde_json::Value, roles: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "id": "10", "application_id": "11", "type": kind, "token": "t", "version": 1,
            "channel_id": "12", "guild_id": "13", "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 8_388_608,
            "app_permissions": "0", "authorizing_integration_owners": {}, "data": data,
            "member": {"user": {"id": "14", "username": "u", "discriminator": "0"},
                       "roles": roles, "joined_at": "2024-01-01T00:00:00+00:00",
                       "deaf": false, "mute": false, "flags": 0, "permissions": "0"},
        })
    }

    #[test]
    fn a_modal_becomes_a_click_with_its_text_inputs_and_the_actor_by_role() {
        let data = serde_json::json!({"custom_id": "approve:7", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "note", "value": "ok <@1>"}]},
            {"type": 1, "components": [{"type": 4, "custom_id": "empty"}]},
        ]});
        let m: serenity::ModalInteraction =
            serde_json::from_value(interaction(5, data, &["99"])).unwrap();
        let click = Click::modal(&m, &[99]);
        assert_eq!(click.custom_id, "approve:7");
        assert_eq!(click.user_id, 14);
        assert_eq!(click.actor.name, "discord:14");
        assert!(click.actor.may_change);
        assert_eq!(
            click.fields,
            [
                ("note".to_string(), "ok <@1>".to_string()),
                ("empty".to_string(), String::new())
            ]
        );
        assert!(!Click::modal(&m, &[98]).actor.may_change);
    }

    #[test]
    fn a_select_menu_click_carries_its_values() {
        let data = serde_json::json!({"custom_id": "alerts:snoozesku:3", "component_type": 3,
                                      "values": ["FAR", "NEAR"]});
        let mut payload = interaction(3, data, &[]);
        payload["message"] = serde_json::json!({
            "id": "15", "channel_id": "12", "author": {"id": "11", "username": "bot", "discriminator": "0"},
            "content": "", "timestamp": "2024-01-01T00:00:00+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0,
        });
        let mci: serenity::ComponentInteraction = serde_json::from_value(payload).unwrap();
        let click = Click::component(&mci, &[99]);
        assert_eq!(click.values, ["FAR", "NEAR"]);
        assert!(!click.actor.may_change);
    }

    #[test]
    fn prefixes_do_not_shadow_each_other() {
        // A prefix that starts another would take its clicks.
        for (i, (a, _)) in HANDLERS.iter().enumerate() {
            for (b, _) in &HANDLERS[i + 1..] {
                assert!(!b.starts_with(a), "{a} shadows {b}");
            }
        }
    }
}
