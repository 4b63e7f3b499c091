//! `/backorder show|prioritize|cancel|fulfil id:`: one backorder.

use super::spec::{
    choices, max_length, opt, CommandSpec, OptionKind, ACTIVE_BACKORDER_ID, ALLOCATED_BACKORDER_ID,
    BACKORDER_ID, REASON, REASON_MAX_LENGTH,
};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};
use crate::domain::BackorderId;

pub const SHOW: CommandSpec = CommandSpec {
    name: "backorder",
    sub: Some("show"),
    description: "One backorder in full, with its priority broken down",
    options: &[BACKORDER_ID],
    mutating: false,
    defer: true,
};

pub async fn show(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let detail = app::backorders::show(cx.app, backorder_id(args)?).await?;
    Ok(render::backorder(&detail, &cx.app.settings.shop.currency))
}

pub const PRIORITIZE: CommandSpec = CommandSpec {
    name: "backorder",
    sub: Some("prioritize"),
    description: "Move a backorder in its SKU's queue",
    options: &[
        BACKORDER_ID,
        choices(
            opt("position", "Where to move it", OptionKind::Text, true),
            &["top", "up", "down", "reset"],
        ),
        max_length(
            opt(
                "reason",
                "Why (kept in the audit log)",
                OptionKind::Text,
                false,
            ),
            REASON_MAX_LENGTH,
        ),
    ],
    mutating: true,
    defer: true,
};

pub async fn prioritize(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let r = app::backorders::prioritize(
        cx.app,
        cx.actor,
        backorder_id(args)?,
        args.req("position")?,
        args.text("reason")?.unwrap_or(""),
    )
    .await?;
    Ok(render::changed("Backorder moved", &r))
}

pub const CANCEL: CommandSpec = CommandSpec {
    name: "backorder",
    sub: Some("cancel"),
    description: "Cancel a backorder (records a lost sale, releases its stock)",
    options: &[ACTIVE_BACKORDER_ID, REASON],
    mutating: true,
    defer: true,
};

pub async fn cancel(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let r =
        app::backorders::cancel(cx.app, cx.actor, backorder_id(args)?, args.req("reason")?).await?;
    Ok(render::changed("Backorder cancelled", &r))
}

pub const FULFIL: CommandSpec = CommandSpec {
    name: "backorder",
    sub: Some("fulfil"),
    description: "Mark an allocated backorder shipped",
    options: &[ALLOCATED_BACKORDER_ID],
    mutating: true,
    defer: true,
};

pub async fn fulfil(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let r = app::backorders::fulfil(cx.app, cx.actor, backorder_id(args)?).await?;
    Ok(render::changed("Backorder fulfilled", &r))
}

fn backorder_id(args: &Args) -> Result<BackorderId, AppError> {
    match args.int("id")? {
        Some(id) if id > 0 => Ok(BackorderId(id)),
        _ => Err(AppError::invalid(
            "id",
            "must be a backorder number like 42",
        )),
    }
}
