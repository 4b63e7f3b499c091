//! `/customer id: [page:]`

use super::reply::data;
use super::spec::{list_options, opt, suggest, CommandSpec, OptionKind, Suggest};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

/// Messages shown under "Last messages".
const LAST_MESSAGES: usize = 5;

pub const SPEC: CommandSpec = CommandSpec {
    name: "customer",
    sub: None,
    description:
        "One customer: tier, channel, opt-outs, open backorders with ETAs and queue places",
    options: list_options![suggest(
        opt("id", "Customer id", OptionKind::Text, true),
        Suggest::Customer,
    ),],
    mutating: false,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let view = app::customers::show(
        cx.app,
        &app::customers::CustomerQuery {
            id: args.req("id")?,
            page: args.paging()?,
        },
    )
    .await?;
    let mut reply = render::customer(&view, &cx.app.settings.shop.currency, cx.inv);
    let sent = app::notify::for_customer(cx.app, view.customer.id).await?;
    if !sent.is_empty() {
        let lines: Vec<String> = sent
            .iter()
            .take(LAST_MESSAGES)
            .map(|m| {
                format!(
                    "{} · {} · {} ({}) to {} · {}",
                    m.at,
                    m.kind,
                    m.channel,
                    m.transport,
                    data(&m.to),
                    data(&m.status)
                )
            })
            .collect();
        reply = reply.field("Last messages", lines.join("\n"), false);
    }
    Ok(reply)
}
