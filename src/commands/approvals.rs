//! `/approvals [page:]`: the batches of customer updates waiting for ops.

use super::render::listed;
use super::spec::{list_options, CommandSpec};
use super::{Args, Ctx, Reply, Severity};
use crate::app::{self, AppError};
use crate::domain::markup::data;
use crate::domain::text::plural;

pub const SPEC: CommandSpec = CommandSpec {
    name: "approvals",
    sub: None,
    description: "Batches of customer updates held for approval, oldest first",
    options: list_options![],
    mutating: false,
    defer: false,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let page = app::approvals::list(cx.app, &args.paging()?).await?;
    let r = Reply::new(
        format!("Held for approval ({})", page.nav.total),
        if page.nav.total > 0 {
            Severity::Warning
        } else {
            Severity::Info
        },
    )
    .describe("No customer hears of these until someone approves: /approve batch: [note:], or /withhold batch:.");
    Ok(listed(r, &page, cx.inv, |b| {
        format!(
            "#{} — {} by {} — {}, {} held, largest shift {}{} — since {} UTC",
            b.id,
            data(&b.change),
            data(&b.actor),
            plural(b.customers, "customer", "customers"),
            plural(b.updates, "update", "updates"),
            b.largest_shift_days
                .map_or("none".to_string(), |d| plural(d, "day", "days")),
            b.note
                .as_deref()
                .map_or(String::new(), |n| format!(" — note \"{}\"", data(n))),
            b.created_at.format("%Y-%m-%d %H:%M"),
        )
    }))
}
