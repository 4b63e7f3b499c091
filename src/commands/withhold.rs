//! `/withhold batch:`: closes a held batch of customer updates; no customer is told.

use super::approve::{batch, BATCH};
use super::spec::CommandSpec;
use super::{Args, Ctx, Reply, Severity};
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "withhold",
    sub: None,
    description: "Close a held batch of customer updates without sending them",
    options: &[BATCH],
    mutating: true,
    defer: false,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let d = app::approvals::withhold(cx.app, cx.actor, batch(args)?).await?;
    Ok(Reply::new(format!("Batch #{} withheld", d.id), Severity::Success).describe(d.describe()))
}
