//! `/customer id: [page:]`

use super::reply::data;
use super::spec::{list_options, opt, suggest, CommandSpec, OptionKind, Suggest};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

/// Messages shown under "Last messages".
const LAST_MESSAGES: usize = 5;
/// Codes shown under "Discount codes" (newest first).
const CODES_SHOWN: usize = 10;

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
    let codes = app::incentives::for_customer(cx.app, view.customer.id).await?;
    if !codes.is_empty() {
        let mut lines: Vec<String> = codes.iter().take(CODES_SHOWN).map(code_line).collect();
        if codes.len() > CODES_SHOWN {
            lines.push(format!("… and {} more", codes.len() - CODES_SHOWN));
        }
        reply = reply.field("Discount codes", lines.join("\n"), false);
    }
    Ok(reply)
}

/// `#2 TENT-2P: SORRY-1 (10% off your next order) — sent 2026-11-26 12:00 UTC`; code and SKU
/// are outside text.
fn code_line(c: &app::incentives::IssuedCode) -> String {
    let when = match c.told {
        Some((_, at)) => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
        None => format!(
            "issued {}, not sent yet",
            c.issued_at.format("%Y-%m-%d %H:%M UTC")
        ),
    };
    format!(
        "#{} {}: {} ({}) — {when}",
        c.backorder_id,
        data(&c.sku),
        data(&c.code),
        c.value.in_words()
    )
}
