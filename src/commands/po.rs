//! `/po id:`

use super::spec::{opt, suggest, CommandSpec, OptionKind, Suggest};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "po",
    sub: None,
    description: "A purchase order with its lines",
    options: &[suggest(
        opt("id", "Purchase order number", OptionKind::Text, true),
        Suggest::Po,
    )],
    mutating: false,
    defer: false,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    Ok(render::po(
        &app::purchasing::show_po(cx.app, args.req("id")?).await?,
    ))
}
