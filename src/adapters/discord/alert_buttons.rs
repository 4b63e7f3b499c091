//! Clicks on an alert message: "Snooze 7 days" and the SKU select menu. Ops role only.

use super::components::Click;
use super::poster::{SNOOZE_RUN, SNOOZE_SKUS};
use super::{Data, Error};
use crate::app::alerts;
use crate::domain::{markup, AlertRunId};
use poise::serenity_prelude as serenity;

/// Days a click snoozes for.
const DAYS: i64 = 7;

/// The private answer to a click: what was snoozed, or why not. `None`: not an alert component.
pub async fn respond(
    data: &Data,
    click: &Click,
) -> Result<Option<serenity::CreateInteractionResponse>, Error> {
    let actor = &click.actor;
    let id = &click.custom_id;
    let result = if let Some(run) = id.strip_prefix(SNOOZE_RUN) {
        match run.parse::<AlertRunId>() {
            Ok(run) => alerts::snooze_run(&data.app, actor, run, DAYS)
                .await
                .map(|n| format!("Snoozed {n} SKUs of this alert for {DAYS} days.")),
            Err(_) => return Ok(None),
        }
    } else if let Some(run) = id.strip_prefix(SNOOZE_SKUS) {
        match run.parse::<AlertRunId>() {
            Ok(run) => alerts::snooze_run_skus(&data.app, actor, run, &click.values, DAYS)
                .await
                .map(|s| format!("Snoozed {} for {DAYS} days.", markup::data(&s.join(", ")))),
            Err(_) => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    let text = match result {
        Ok(t) => {
            tracing::info!(actor = %actor.name, custom_id = %id, "alert snoozed");
            t
        }
        Err(crate::app::AppError::Unexpected(e)) => {
            let reference = crate::app::report_unexpected(&e, "alert snooze");
            format!("Something went wrong (reference {reference}).")
        }
        Err(e) => e.to_string(),
    };
    Ok(Some(serenity::CreateInteractionResponse::Message(
        serenity::CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(super::render::allowed_mentions(&[])),
    )))
}
