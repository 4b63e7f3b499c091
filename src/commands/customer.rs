//! `/customer id:`

use super::spec::{opt, suggest, CommandSpec, OptionKind, Suggest};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "customer",
    sub: None,
    description:
        "One customer: tier, channel, opt-outs, open backorders with ETAs and queue places",
    options: &[suggest(
        opt("id", "Customer id", OptionKind::Text, true),
        Suggest::Customer,
    )],
    mutating: false,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let view = app::customers::show(cx.app, args.req("id")?).await?;
    Ok(render::customer(&view, &cx.app.settings.shop.currency))
}
