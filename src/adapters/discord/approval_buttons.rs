//! Clicks on an approval post (Approve, Add note…, Withhold) and the note form, answered by
//! [`crate::app::approvals::interact`]: this file only translates the gateway's interaction
//! into it and its reply back (a private message, or the form).

use super::{render, slash, Data, Error};
use crate::app::approvals::{self, Interaction, InteractionReply};
use poise::serenity_prelude as serenity;

/// Whether a custom id belongs to an approval post or its note form.
pub fn is_approval_component(custom_id: &str) -> bool {
    approvals::is_approval_component(custom_id)
}

/// Answers a button click.
pub async fn handle_click(
    ctx: &serenity::Context,
    data: &Data,
    mci: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let actor = slash::actor(
        &mci.user,
        mci.member.as_ref(),
        &data.app.settings.discord.ops_role_ids,
    );
    let asked = Interaction {
        custom_id: &mci.data.custom_id,
        form: &[],
    };
    let Some(reply) = approvals::interact(&data.app, &actor, &asked).await else {
        return Ok(());
    };
    mci.create_response(ctx, response(reply)).await?;
    Ok(())
}

/// Answers the note form.
pub async fn handle_form(
    ctx: &serenity::Context,
    data: &Data,
    modal: &serenity::ModalInteraction,
) -> Result<(), Error> {
    let actor = slash::actor(
        &modal.user,
        modal.member.as_ref(),
        &data.app.settings.discord.ops_role_ids,
    );
    let form: Vec<(String, String)> = modal
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .filter_map(|c| match c {
            serenity::ActionRowComponent::InputText(t) => {
                Some((t.custom_id.clone(), t.value.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    let asked = Interaction {
        custom_id: &modal.data.custom_id,
        form: &form,
    };
    let Some(reply) = approvals::interact(&data.app, &actor, &asked).await else {
        return Ok(());
    };
    modal.create_response(ctx, response(reply)).await?;
    Ok(())
}

/// The interaction response for a reply: private text (pinging no one), or the note form.
pub fn response(reply: InteractionReply) -> serenity::CreateInteractionResponse {
    match reply {
        InteractionReply::Private(text) => serenity::CreateInteractionResponse::Message(
            serenity::CreateInteractionResponseMessage::new()
                .content(text)
                .ephemeral(true)
                .allowed_mentions(render::allowed_mentions(&[])),
        ),
        InteractionReply::Form(f) => serenity::CreateInteractionResponse::Modal(
            serenity::CreateModal::new(f.custom_id, f.title).components(vec![
                serenity::CreateActionRow::InputText(
                    serenity::CreateInputText::new(
                        serenity::InputTextStyle::Short,
                        f.label,
                        f.field_id,
                    )
                    .max_length(f.max_len)
                    .required(true),
                ),
            ]),
        ),
    }
}
