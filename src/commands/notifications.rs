//! `/notifications backorder:`: what a backorder's customer was sent, when, how, and its status.

use super::reply::{data, plural, truncate};
use super::spec::{at_least, opt, suggest, CommandSpec, OptionKind, Suggest};
use super::{Args, Ctx, Reply, Severity};
use crate::app::{self, AppError};
use crate::domain::{BackorderId, OutboxStatus};

pub const SPEC: CommandSpec = CommandSpec {
    name: "notifications",
    sub: None,
    description:
        "Updates about a backorder: queued or retrying (soonest first), sent (newest first), and superseded",
    options: &[suggest(
        at_least(
            opt("backorder", "Backorder id", OptionKind::Integer, true),
            1,
        ),
        Suggest::Backorder,
    )],
    mutating: false,
    defer: false,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let id = match args.int("backorder")? {
        Some(id) if id > 0 => BackorderId(id),
        _ => {
            return Err(AppError::invalid(
                "backorder",
                "must be a backorder number like 42",
            ))
        }
    };
    // Unknown ids are an error, not an empty list.
    app::backorders::show(cx.app, id).await?;
    let queued = app::notify::queued_for(cx.app, id).await?;
    let sent = app::notify::for_backorder(cx.app, id).await?;
    let superseded = app::notify::superseded_for(cx.app, id).await?;
    if queued.is_empty() && sent.is_empty() && superseded.is_empty() {
        return Ok(Reply::new(
            format!("No messages about backorder {id} yet"),
            Severity::Info,
        ));
    }
    let mut r = Reply::new(format!("Messages about backorder {id}"), Severity::Info);
    r.lines = queued
        .iter()
        .map(|q| {
            let state = match (q.status, q.attempts) {
                (OutboxStatus::Sending, _) => "being sent".to_string(),
                (OutboxStatus::Held, _) => "held for approval (/approvals)".to_string(),
                (_, 0) => "queued".to_string(),
                (_, n) => format!("retrying after {}", plural(n, "attempt", "attempts")),
            };
            let error = q.last_error.as_deref().map_or(String::new(), |e| {
                format!(" · last error: {}", data(&truncate(e, 120)))
            });
            format!(
                "due {} · {} update · not sent yet: {state}{error}",
                q.due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                q.kind
            )
        })
        .collect();
    r.lines.extend(sent.iter().map(|m| {
        format!(
            "{} · {} · {} ({}) to {} · {}",
            m.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            m.kind,
            m.channel,
            m.transport,
            data(&m.to),
            data(&m.status)
        )
    }));
    r.lines.extend(superseded.iter().map(|u| {
        format!(
            "{} · {} update · not sent: superseded by a newer update",
            u.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            u.kind
        )
    }));
    Ok(r)
}
