//! `/stock sku:`

use super::spec::{CommandSpec, SKU};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "stock",
    sub: None,
    description: "Stock position of a SKU: on hand, allocated, inbound, backorders, alternatives",
    options: &[SKU],
    mutating: false,
    defer: false,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let report = app::stock::query_stock(cx.app, args.req("sku")?).await?;
    Ok(render::stock(&report, &cx.app.settings.shop.currency))
}
