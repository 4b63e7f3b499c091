//! `/backorders [sku:] [customer:] [status:] [sort:] [page:]`

use super::spec::{choices, list_options, opt, suggest, CommandSpec, OptionKind, Suggest, SKU_OPT};
use super::{render, Args, Ctx, Reply};
use crate::app::backorders::{ListQuery, Sort};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "backorders",
    sub: None,
    description: "List backorders: a SKU's queue in service order, or by customer or status",
    options: list_options![
        SKU_OPT,
        suggest(
            opt("customer", "Customer id", OptionKind::Text, false),
            Suggest::Customer,
        ),
        choices(
            opt("status", "Backorder status", OptionKind::Text, false),
            &crate::domain::BackorderStatus::FILTER_CHOICES,
        ),
        choices(
            opt(
                "sort",
                "Order of the list (priority: served first on top)",
                OptionKind::Text,
                false,
            ),
            &Sort::CHOICES,
        ),
    ],
    mutating: false,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let sort = args.text("sort")?.map(Sort::parse).transpose()?;
    let result = app::backorders::list(
        cx.app,
        &ListQuery {
            sku: args.text("sku")?,
            customer: args.text("customer")?,
            status: args.text("status")?,
            sort: sort.unwrap_or_default(),
            page: args.paging()?,
        },
    )
    .await?;
    Ok(render::backorders(&result, cx.inv, cx.app.clock.now()))
}
