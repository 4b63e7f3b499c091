//! `/pos [supplier:] [status:] [late:] [page:]`

use super::spec::{choices, list_options, opt, CommandSpec, OptionKind};
use super::{render, Args, Ctx, Reply};
use crate::app::purchasing::PoQuery;
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "pos",
    sub: None,
    description: "Open purchase orders: supplier, lines, next ETA, late ones flagged",
    options: list_options![
        opt("supplier", "Supplier code or name", OptionKind::Text, false),
        choices(
            opt(
                "status",
                "PO status (default: open and partly received)",
                OptionKind::Text,
                false,
            ),
            &crate::domain::PoStatus::FILTER_CHOICES,
        ),
        opt(
            "late",
            "Only POs with an ETA that has passed",
            OptionKind::Boolean,
            false,
        ),
    ],
    mutating: false,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let page = app::purchasing::list_pos(
        cx.app,
        &PoQuery {
            supplier: args.text("supplier")?,
            status: args.text("status")?,
            late: args.flag("late")?,
            page: args.paging()?,
        },
    )
    .await?;
    Ok(render::pos(&page, cx.inv))
}
