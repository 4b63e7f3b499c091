//! Clicks on an approval post (Approve, Add note…, Withhold) and the note form, answered by
//! [`crate::app::approvals::interact`]: this file only translates a [`Click`] (from the gateway
//! or over HTTP) into it and its reply back (a private message, or the form).

use super::components::{Answer, Click};
use super::{render, Data};
use crate::app::approvals::{self, Interaction, InteractionReply};
use poise::serenity_prelude as serenity;

/// Answers a click on an approval post's buttons, or its submitted note form (a
/// [`components`](super::components) handler).
pub async fn respond(data: &Data, click: &Click) -> Answer {
    let asked = Interaction {
        custom_id: &click.custom_id,
        form: &click.fields,
    };
    Ok(approvals::interact(&data.app, &click.actor, &asked)
        .await
        .map(response))
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
