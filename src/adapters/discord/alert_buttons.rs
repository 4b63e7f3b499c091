//! Clicks on an alert message: "Snooze 7 days" and the SKU select menu. Ops role only.

use super::poster::{SNOOZE_RUN, SNOOZE_SKUS};
use super::{slash, Data, Error};
use crate::app::alerts;
use crate::app::approvals::InteractionReply;
use crate::domain::{markup, AlertRunId};
use poise::serenity_prelude as serenity;

/// Days a click snoozes for.
const DAYS: i64 = 7;

/// Whether a custom id belongs to an alert message.
pub fn is_alert_component(custom_id: &str) -> bool {
    custom_id.starts_with(SNOOZE_RUN) || custom_id.starts_with(SNOOZE_SKUS)
}

/// Answers a click privately with what was snoozed, or why not.
pub async fn handle(
    ctx: &serenity::Context,
    data: &Data,
    mci: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let actor = slash::actor(
        &mci.user,
        mci.member.as_ref(),
        &data.app.settings.discord.ops_role_ids,
    );
    let id = &mci.data.custom_id;
    let result = if let Some(run) = id.strip_prefix(SNOOZE_RUN) {
        match run.parse::<AlertRunId>() {
            Ok(run) => alerts::snooze_run(&data.app, &actor, run, DAYS)
                .await
                .map(|n| format!("Snoozed {n} SKUs of this alert for {DAYS} days.")),
            Err(_) => return Ok(()),
        }
    } else if let Some(run) = id.strip_prefix(SNOOZE_SKUS) {
        let skus = match &mci.data.kind {
            serenity::ComponentInteractionDataKind::StringSelect { values } => values.clone(),
            _ => Vec::new(),
        };
        match run.parse::<AlertRunId>() {
            Ok(run) => alerts::snooze_run_skus(&data.app, &actor, run, &skus, DAYS)
                .await
                .map(|s| format!("Snoozed {} for {DAYS} days.", markup::data(&s.join(", ")))),
            Err(_) => return Ok(()),
        }
    } else {
        return Ok(());
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
    mci.create_response(
        ctx,
        super::approval_buttons::response(InteractionReply::Private(text)),
    )
    .await?;
    Ok(())
}
