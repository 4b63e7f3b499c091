//! `/approve batch: [note:]`: releases a held batch of customer updates.

use super::spec::{at_least, max_length, opt, CommandSpec, OptionKind, OptionSpec};
use super::{Args, Ctx, Reply, Severity};
use crate::app::{self, AppError};

/// `batch:` (the number `/approvals` shows).
pub const BATCH: OptionSpec = at_least(
    opt(
        "batch",
        "Batch number, as /approvals shows it",
        OptionKind::Integer,
        true,
    ),
    1,
);

pub const SPEC: CommandSpec = CommandSpec {
    name: "approve",
    sub: None,
    description:
        "Release a held batch of customer updates, optionally with a note in every message",
    options: &[
        BATCH,
        max_length(
            opt(
                "note",
                "One sentence added to every message of the batch",
                OptionKind::Text,
                false,
            ),
            crate::domain::approval::MAX_NOTE_CHARS as u16,
        ),
    ],
    mutating: true,
    defer: false,
};

/// The `batch:` given.
pub fn batch(args: &Args) -> Result<i64, AppError> {
    args.int("batch")?
        .ok_or_else(|| AppError::invalid("batch", "is required"))
}

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let d = app::approvals::approve(cx.app, cx.actor, batch(args)?, args.text("note")?).await?;
    Ok(Reply::new(format!("Batch #{} approved", d.id), Severity::Success).describe(d.describe()))
}
