//! `/alerts list|run|snooze|unsnooze`: the scheduled low-stock alert rules.

use super::reply::Severity;
use super::spec::{opt, range, CommandSpec, OptionKind, SKU};
use super::{Args, Ctx, Reply};
use crate::app::alerts::{self, RunOutcome};
use crate::app::AppError;
use crate::domain::schedule::{NotStarted, Trigger};

const RULE: super::OptionSpec = opt("rule", "Alert rule name", OptionKind::Text, true);

pub const LIST: CommandSpec = CommandSpec {
    name: "alerts",
    sub: Some("list"),
    description: "Alert rules: next run in the rule's timezone, last run and what it posted",
    options: &[],
    mutating: false,
    defer: false,
};

pub async fn list(cx: &Ctx<'_>, _args: &Args) -> Result<Reply, AppError> {
    let rules = alerts::list(cx.app).await?;
    let mut r = Reply::new("Alert rules", Severity::Info);
    if rules.is_empty() {
        return Ok(r.describe("No rules configured ([[alerts.rules]] in the config file)."));
    }
    for s in rules {
        let next = s
            .next_run
            .map(|t| {
                t.with_timezone(&s.rule.timezone)
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_else(|| "never".into());
        let last = match &s.last_run {
            Some(run) => format!(
                "{} ({}): {} firing, {} posted, {} resolved — {}",
                run.started_at
                    .with_timezone(&s.rule.timezone)
                    .format("%Y-%m-%d %H:%M %Z"),
                run.status,
                run.counts.firing,
                run.counts.posted_lines,
                run.counts.resolved,
                run.summary.lines().next().unwrap_or("")
            ),
            None => "never ran".into(),
        };
        r.lines.push(format!(
            "**{}** `{}` ({}) → <#{}>, min {} — next {next}; last {last}",
            s.rule.name,
            s.rule.schedule.as_str(),
            s.rule.timezone,
            s.rule.channel_id,
            s.rule.min_severity.as_str(),
        ));
    }
    Ok(r)
}

pub const RUN: CommandSpec = CommandSpec {
    name: "alerts",
    sub: Some("run"),
    description: "Run an alert rule now (posts what changed to its channel)",
    options: &[RULE],
    mutating: true,
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let rule = alerts::rule(cx.app, args.req("rule")?)?.clone();
    match alerts::run_rule(cx.app, &rule, Trigger::Manual, None).await? {
        RunOutcome::Done(report) => {
            let c = &report.counts;
            let r = Reply::new(format!("Alert rule {} ran", rule.name), Severity::Success)
                .field("Firing", c.firing.to_string(), true)
                .field("Posted", c.posted_lines.to_string(), true)
                .field("Resolved", c.resolved.to_string(), true);
            Ok(match report.post_id {
                Some(_) => r.describe(format!("Queued one message to <#{}>.", rule.channel_id)),
                None => r.describe("Nothing new to post."),
            })
        }
        RunOutcome::Skipped(NotStarted::Running) => Err(AppError::Refused(format!(
            "alert rule {} is running already",
            rule.name
        ))),
        RunOutcome::Skipped(NotStarted::AlreadyRun) => Err(AppError::Refused(format!(
            "alert rule {} has run for this time already",
            rule.name
        ))),
    }
}

pub const SNOOZE: CommandSpec = CommandSpec {
    name: "alerts",
    sub: Some("snooze"),
    description: "Keep a SKU out of alerts for some days",
    options: &[
        SKU,
        range(
            opt("days", "How many days (1-365)", OptionKind::Integer, true),
            Some(1),
            Some(365),
        ),
    ],
    mutating: true,
    defer: false,
};

pub async fn snooze(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let days = args
        .int("days")?
        .ok_or_else(|| AppError::invalid("days", "is required"))?;
    let (sku, until) = alerts::snooze_sku(cx.app, cx.actor, args.req("sku")?, days).await?;
    Ok(
        Reply::new(format!("Alerts snoozed: {sku}"), Severity::Success).describe(format!(
            "No alerts for {sku} until {} UTC.",
            until.format("%Y-%m-%d %H:%M")
        )),
    )
}

pub const UNSNOOZE: CommandSpec = CommandSpec {
    name: "alerts",
    sub: Some("unsnooze"),
    description: "End a SKU's alert snoozes",
    options: &[SKU],
    mutating: true,
    defer: false,
};

pub async fn unsnooze(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let (sku, n) = alerts::unsnooze_sku(cx.app, cx.actor, args.req("sku")?).await?;
    Ok(
        Reply::new(format!("Alerts unsnoozed: {sku}"), Severity::Success).describe(if n == 0 {
            format!("{sku} was not snoozed.")
        } else {
            format!("{sku} is in alerts again.")
        }),
    )
}
