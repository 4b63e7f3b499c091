//! Clicks on message components and submitted modals, whichever way they came (the gateway or
//! `POST /discord/interactions`): each is read into a [`Click`] and answered by the first
//! handler in [`HANDLERS`] whose custom id prefix it carries. A handler returns the interaction
//! response; the transport sends it (a callback over REST, or the HTTP answer).

use super::poster::{SNOOZE_RUN, SNOOZE_SKUS};
use super::{alert_buttons, slash, Data, Error};
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
];

fn alert<'a>(data: &'a Data, click: &'a Click) -> poise::BoxFuture<'a, Answer> {
    Box::pin(alert_buttons::respond(data, click))
}

fn page<'a>(data: &'a Data, click: &'a Click) -> poise::BoxFuture<'a, Answer> {
    Box::pin(slash::page_response(data, click))
}

/// The answer of the first handler whose prefix the click's custom id carries; `None` for ids
/// that are nobody's (a stale or foreign component).
pub async fn answer(data: &Data, click: &Click) -> Answer {
    for (prefix, handler) in HANDLERS {
        if click.custom_id.starts_with(prefix) {
            return handler(data, click).await;
        }
    }
    tracing::debug!(custom_id = %click.custom_id, "discord: component nobody handles");
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

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
