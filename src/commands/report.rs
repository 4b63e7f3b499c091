//! `/report [days:]`: what backorders cost and how the backorder process is doing.

use super::reply::{data, plural, Attachment, Severity};
use super::spec::{opt, range, CommandSpec, OptionKind};
use super::{Args, Ctx, Reply};
use crate::app::report::BackorderReport;
use crate::app::{self, field, AppError};
use crate::domain::report::{AgeBucket, Rate, ReportDays};
use chrono::{DateTime, Utc};

pub const SPEC: CommandSpec = CommandSpec {
    name: "report",
    sub: None,
    description:
        "Backorder costs and health: open, fill rate, days to fulfil, lost sales, suppliers",
    options: &[range(
        opt(
            "days",
            "Days back the report looks (default 30)",
            OptionKind::Integer,
            false,
        ),
        Some(ReportDays::MIN),
        Some(ReportDays::MAX),
    )],
    mutating: false,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let days = match args.int("days")? {
        Some(n) => field("days", ReportDays::new(n))?,
        None => ReportDays::DEFAULT,
    };
    let report = app::report::report(cx.app, days).await?;
    let mut reply = render(&report, &cx.app.settings.shop.currency);
    let series: Vec<_> = report
        .open_over_time
        .iter()
        .map(|&(day, n)| (day, u32::try_from(n).unwrap_or(0)))
        .collect();
    let title = format!("Open backorders, last {} days", days.get());
    reply.attachment = Some(Attachment {
        filename: "report-backorders.png".to_string(),
        bytes: super::chart::backorders_over_time(&series, &title)?,
    });
    Ok(reply)
}

/// The report as a reply: the window first, then one field per figure.
pub fn render(r: &BackorderReport, currency: &str) -> Reply {
    let open = &r.open;
    let ages = AgeBucket::ALL
        .iter()
        .map(|b| format!("{}: {}", b.label(), open.by_age[*b as usize].count))
        .collect::<Vec<_>>()
        .join(" · ");
    let fulfil = match (r.fulfil.mean_days, r.fulfil.p95_days) {
        (Some(mean), Some(p95)) => format!(
            "mean {mean:.1} · p95 {p95:.1} ({})",
            plural(r.fulfil.count, "backorder", "backorders")
        ),
        _ => "none allocated in full in the window".to_string(),
    };
    let top = if r.top_skus.is_empty() {
        "none".to_string()
    } else {
        r.top_skus
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{}. {} — {}: {}, {}, {}",
                    i + 1,
                    data(&s.sku),
                    data(&s.name),
                    plural(s.tally.units, "unit", "units"),
                    plural(s.tally.count, "backorder", "backorders"),
                    s.tally.value.format(currency)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let suppliers = if r.suppliers.is_empty() {
        "no PO line received in full in the window".to_string()
    } else {
        r.suppliers
            .iter()
            .map(|s| {
                format!(
                    "{}: on time {}, mean slip {:+.1} d",
                    s.supplier
                        .as_deref()
                        .map_or("(no supplier)".to_string(), data),
                    share(s.on_time, "line", "lines"),
                    s.mean_slip_days
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Reply::new(
        format!(
            "Backorder report — last {}",
            plural(i64::from(r.days.get()), "day", "days")
        ),
        Severity::Info,
    )
    .describe(format!(
        "{} → {} UTC; open backorders as of now",
        minute(r.from),
        minute(r.to)
    ))
    .field(
        "Open backorders",
        format!(
            "{} ({}, {})",
            open.total.count,
            plural(open.total.units, "unit", "units"),
            open.total.value.format(currency)
        ),
        true,
    )
    .field("By age", ages, true)
    .field("Fill rate", share(r.lines.fill, "line", "lines"), true)
    .field(
        "Backorder rate",
        share(r.lines.backorder, "line", "lines"),
        true,
    )
    .field("Days to fulfil", fulfil, true)
    .field(
        "Lost sales",
        format!(
            "{} ({} cancelled, {})",
            r.lost.value.format(currency),
            plural(r.lost.count, "backorder", "backorders"),
            plural(r.lost.units, "unit", "units")
        ),
        true,
    )
    .field(
        "Customer messages",
        format!(
            "{} · {} sent · {} failed",
            plural(r.messages.inquiries, "inquiry", "inquiries"),
            r.messages.sent,
            r.messages.failed
        ),
        false,
    )
    .field("Top backordered SKUs", top, false)
    .field("Suppliers", suppliers, false)
    .within_limits()
}

/// `75.0% (3 of 4 lines)`, or `— (no lines)`.
fn share(rate: Rate, one: &str, many: &str) -> String {
    match rate.percent() {
        Some(p) => format!(
            "{p:.1}% ({} of {})",
            rate.part,
            plural(rate.whole, one, many)
        ),
        None => format!("— (no {many})"),
    }
}

fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}
