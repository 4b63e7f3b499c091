//! `/lowstock [rule:]`: what an alert rule finds now, changing no state.

use super::reply::Severity;
use super::spec::{opt, CommandSpec, OptionKind};
use super::{Args, Ctx, Reply};
use crate::app::alerts;
use crate::app::AppError;
use crate::domain::alerts::{AlertLine, AlertRule, Change, Scope, Severity as Level};
use crate::domain::schedule::CronSchedule;

pub const SPEC: CommandSpec = CommandSpec {
    name: "lowstock",
    sub: None,
    description: "SKUs low, critical, out or at risk now (an alert rule's view; changes nothing)",
    options: &[opt(
        "rule",
        "Alert rule (default: every SKU, low or worse)",
        OptionKind::Text,
        false,
    )],
    mutating: false,
    defer: true,
};

/// Lines shown; the rest are counted.
const SHOWN: usize = 20;

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let rule = match args.text("rule")? {
        Some(name) => alerts::rule(cx.app, name)?.clone(),
        None => everything(cx.app.settings.discord.alert_channel_id.unwrap_or(0))?,
    };
    crate::memory::release_freed();
    let e = alerts::evaluate(cx.app, &rule).await?;
    let mut counts = [0usize; 4];
    for f in &e.findings {
        if let Some(s) = f.severity {
            counts[s as usize] += 1;
        }
    }
    let severity = if e.findings.is_empty() {
        Severity::Success
    } else {
        Severity::Warning
    };
    let mut r = Reply::new(format!("Low stock — {}", rule.name), severity);
    for s in Level::ALL {
        r = r.field(s.label(), counts[s as usize].to_string(), true);
    }
    r.lines = e
        .findings
        .iter()
        .take(SHOWN)
        .map(|f| {
            AlertLine {
                change: Change::New,
                severity: f.severity.unwrap_or(Level::Low),
                figures: f.figures.clone(),
            }
            .text()
            .trim_end_matches(" [new]")
            .to_string()
        })
        .collect();
    if e.findings.len() > SHOWN {
        r.footer = Some(format!(
            "… and {} more (backorder-bot check --rule NAME --json lists all)",
            e.findings.len() - SHOWN
        ));
    } else if e.findings.is_empty() {
        r = r.describe("Nothing is low.");
    }
    Ok(r)
}

/// The view without a rule: every SKU, low or worse.
fn everything(channel_id: u64) -> Result<AlertRule, AppError> {
    Ok(AlertRule {
        name: "all SKUs".into(),
        schedule: CronSchedule::parse("0 0 * * *").map_err(anyhow::Error::msg)?,
        timezone: chrono_tz::UTC,
        channel_id,
        scope: Scope::default(),
        min_severity: Level::Low,
        repeat_interval: chrono::Duration::hours(24),
        resolve_margin: 0.1,
    })
}
