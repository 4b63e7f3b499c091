//! `/help`: every command in the table, with its options.

use super::spec::CommandSpec;
use super::{render, Args, Ctx, Reply};
use crate::app::AppError;

pub const SPEC: CommandSpec = CommandSpec {
    name: "help",
    sub: None,
    description: "List the commands and their options",
    options: &[],
    mutating: false,
    defer: false,
};

pub async fn run(_cx: &Ctx<'_>, _args: &Args) -> Result<Reply, AppError> {
    Ok(render::help())
}
