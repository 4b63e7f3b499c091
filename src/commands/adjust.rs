//! `/adjust sku: delta: reason:`

use super::spec::{opt, range, CommandSpec, OptionKind, REASON, SKU};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};
use crate::domain::Quantity;

pub const SPEC: CommandSpec = CommandSpec {
    name: "adjust",
    sub: None,
    description: "Correct on-hand stock (written to the ledger)",
    options: &[
        SKU,
        // The same bound as the domain's `StockDelta`.
        range(
            opt(
                "delta",
                "Units to add (negative to remove)",
                OptionKind::Integer,
                true,
            ),
            Some(-Quantity::MAX),
            Some(Quantity::MAX),
        ),
        REASON,
    ],
    mutating: true,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let delta = args
        .int("delta")?
        .ok_or_else(|| AppError::invalid("delta", "is required"))?;
    let adjusted = app::stock::adjust(
        cx.app,
        cx.actor,
        args.req("sku")?,
        delta,
        args.req("reason")?,
    )
    .await?;
    Ok(render::adjusted(&adjusted))
}
