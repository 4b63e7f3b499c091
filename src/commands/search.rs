//! `/search query:`

use super::spec::{opt, CommandSpec, OptionKind};
use super::{render, Args, Ctx, Reply};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "search",
    sub: None,
    description: "Find products by SKU prefix, name words or any part of either",
    options: &[opt(
        "query",
        "SKU prefix, words of the name, or any part of either",
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
        &app::search::products(cx.app, query).await?,
    ))
}
