//! `/search query:`

use super::spec::{opt, CommandSpec, OptionKind};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "search",
    sub: None,
    description: "Find products by SKU prefix or name words",
    options: &[opt(
        "query",
        "SKU prefix or words of the name",
        OptionKind::Text,
        true,
    )],
    mutating: false,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let query = args.req("query")?;
    Ok(render::search(
        query,
        &app::stock::search(cx.app, query).await?,
    ))
}
