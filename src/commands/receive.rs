//! `/receive po: [sku:] [qty:]`

use super::spec::{opt, range, CommandSpec, OptionKind, PO, SKU_OPT};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};
use crate::domain::Quantity;

pub const SPEC: CommandSpec = CommandSpec {
    name: "receive",
    sub: None,
    description: "Receive stock on a purchase order and allocate it to backorders",
    options: &[
        PO,
        SKU_OPT,
        range(
            opt(
                "qty",
                "Units received (default: all remaining)",
                OptionKind::Integer,
                false,
            ),
            Some(1),
            Some(Quantity::MAX),
        ),
    ],
    mutating: true,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let r = app::purchasing::receive(
        cx.app,
        cx.actor,
        args.req("po")?,
        args.text("sku")?,
        args.int("qty")?,
    )
    .await?;
    let reply = render::received(&r);
    Ok(match &r.held {
        Some(held) => reply.field("Approval", held.explain(cx.app), false),
        None => reply,
    })
}
