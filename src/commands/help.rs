//! `/help [command:]`: every command in the table, or one in full.

use super::spec::{opt, suggest, CommandSpec, OptionKind, Suggest};
use super::{render, Args, Ctx, Reply};
use crate::app::AppError;

pub const SPEC: CommandSpec = CommandSpec {
    name: "help",
    sub: None,
    description: "List the commands, or one command with its options and an example",
    options: &[suggest(
        opt("command", "A command, e.g. stock", OptionKind::Text, false),
        Suggest::Command,
    )],
    mutating: false,
    defer: false,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    match args.text("command")? {
        None => Ok(render::help()),
        Some(name) => render::help_for(name, cx.app.clock.now().date_naive()),
    }
}
