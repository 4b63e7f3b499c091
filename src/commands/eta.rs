//! `/eta po: date: [sku:] reason: [preview:]`

use super::spec::{opt, CommandSpec, OptionKind, PO, REASON, SKU_OPT};
use super::{render, Args, Ctx, Reply};
use crate::app::purchasing::Approval;
use crate::app::{self, AppError};

pub const SPEC: CommandSpec = CommandSpec {
    name: "eta",
    sub: None,
    description: "Set a purchase order's (or one line's) ETA and re-promise backorders",
    options: &[
        PO,
        opt("date", "New ETA, YYYY-MM-DD", OptionKind::Date, true),
        SKU_OPT,
        REASON,
        opt(
            "preview",
            "Show the effect without changing anything",
            OptionKind::Boolean,
            false,
        ),
    ],
    mutating: true,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let date = args
        .date("date")?
        .ok_or_else(|| AppError::invalid("date", "is required"))?;
    let r = app::purchasing::set_eta(
        cx.app,
        cx.actor,
        args.req("po")?,
        date,
        args.text("sku")?,
        args.req("reason")?,
        args.flag("preview")?,
    )
    .await?;
    let mut reply = render::eta(&r);
    match &r.approval {
        Approval::Preview(v) => {
            reply = reply.field(
                "Approval",
                v.explain(&cx.app.settings.notify.approval),
                false,
            )
        }
        Approval::Held(held) => reply = reply.field("Approval", held.explain(cx.app), false),
        Approval::NotNeeded => {}
    }
    if r.preview && !r.settled.moved.is_empty() {
        let messages = app::notify::preview(cx.app, &r.settled.moved).await?;
        reply = reply.field(
            format!(
                "Messages (first {} customers)",
                app::notify::PREVIEW_CUSTOMERS
            ),
            messages.join("\n"),
            false,
        );
    }
    Ok(reply)
}
