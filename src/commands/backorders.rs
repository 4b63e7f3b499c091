//! `/backorders [sku:] [customer:] [status:] [page:]`

use super::spec::{choices, opt, suggest, CommandSpec, OptionKind, Suggest, PAGE, SKU_OPT};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "backorders",
    sub: None,
    description: "List backorders by SKU, customer or status",
    options: &[
        SKU_OPT,
        suggest(
            opt("customer", "Customer id", OptionKind::Text, false),
            Suggest::Customer,
        ),
        choices(
            opt("status", "Backorder status", OptionKind::Text, false),
            &["open", "allocated", "fulfilled", "cancelled", "all"],
        ),
        PAGE,
    ],
    mutating: false,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let result = app::backorders::list(
        cx.app,
        args.text("sku")?,
        args.text("customer")?,
        args.text("status")?,
        args.page()?,
    )
    .await?;
    Ok(render::backorders(&result, cx.inv, cx.app.clock.now()))
}
