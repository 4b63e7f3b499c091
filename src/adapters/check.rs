//! `backorder-bot check [--rule NAME] [--json]`: evaluates the alert rules now and prints what
//! a run would post, changing no state.

use crate::app::alerts::{self, Firing, Plan};
use crate::app::{App, AppError};
use crate::domain::alerts::{build_message, AlertRule, Change, SkuFigures, CONTENT_LIMIT};
use serde::Serialize;
use std::io::Write;

/// One SKU in the JSON output. Fields in alphabetical order: the order the output always had.
#[derive(Serialize)]
struct SkuJson<'a> {
    allocated: i64,
    available: i64,
    daily_sales: f64,
    /// Where `daily_sales` comes from: the stored forecast's method, or `mean_28d`.
    daily_sales_source: &'static str,
    days_of_cover: Option<f64>,
    inbound: i64,
    inbound_within_lead_time: i64,
    name: &'a str,
    next_eta: Option<String>,
    on_hand: i64,
    open_backorders: i64,
    projected: i64,
    reorder_point: i64,
    safety_stock: i64,
    /// Firing SKUs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<&'static str>,
    sku: &'a str,
    suggested_order: i64,
    supplier: Option<&'a str>,
    /// Firing SKUs only: what a run would post, or null.
    #[serde(skip_serializing_if = "Option::is_none")]
    would_post: Option<Option<&'static str>>,
}

impl<'a> SkuJson<'a> {
    fn new(f: &'a SkuFigures) -> Self {
        Self {
            allocated: f.allocated,
            available: f.available(),
            daily_sales: f.daily_sales,
            daily_sales_source: f.rate_source.as_str(),
            days_of_cover: f.days_of_cover().map(|d| (d * 10.0).round() / 10.0),
            inbound: f.inbound_total,
            inbound_within_lead_time: f.inbound_within_lead,
            name: &f.name,
            next_eta: f.next_eta.map(|d| d.to_string()),
            on_hand: f.on_hand,
            open_backorders: f.open_backorders,
            projected: f.projected(),
            reorder_point: f.reorder_point,
            safety_stock: f.safety_stock,
            severity: None,
            sku: &f.sku,
            suggested_order: f.suggested_order(),
            supplier: f.supplier.as_deref(),
            would_post: None,
        }
    }

    fn firing(f: &'a Firing) -> Self {
        Self {
            severity: Some(f.severity.as_str()),
            would_post: Some(f.post.map(change_str)),
            ..Self::new(&f.figures)
        }
    }
}

/// One rule in the JSON output.
#[derive(Serialize)]
struct RuleJson<'a> {
    alerts: Vec<SkuJson<'a>>,
    attachment: Option<&'a str>,
    channel_id: String,
    evaluated: i64,
    firing: i64,
    message: Option<&'a str>,
    resolved: Vec<SkuJson<'a>>,
    rule: &'a str,
}

fn change_str(c: Change) -> &'static str {
    match c {
        Change::New => "new",
        Change::Escalated => "escalated",
        Change::Repeat => "repeat",
        Change::Resolved => "resolved",
    }
}

/// Writes the check's output for the configured rules (or the one named) to `out`: one JSON
/// array (one object per rule) or text. It is written as it is made, not held whole (105,000
/// firing SKUs make 67 MB of JSON).
pub async fn run(
    app: &App,
    rule: Option<&str>,
    as_json: bool,
    out: &mut impl Write,
) -> Result<(), AppError> {
    let rules = match rule {
        Some(name) => vec![alerts::rule(app, name)?.clone()],
        None => app.settings.alerts.rules.clone(),
    };
    report(app, &rules, as_json, out).await
}

/// [`run`] for these rules (`bench alerts` passes its own). A failed write comes back as
/// [`crate::adapters::stdout::write_error`] makes it.
pub async fn report(
    app: &App,
    rules: &[AlertRule],
    as_json: bool,
    out: &mut impl Write,
) -> Result<(), AppError> {
    let now = app.clock.now();
    let mut planned = Vec::with_capacity(rules.len());
    for r in rules {
        let plan = alerts::plan(app, r, now).await?;
        let message =
            (!plan.lines.is_empty()).then(|| build_message(&r.name, &plan.lines, CONTENT_LIMIT));
        planned.push((r, plan, message));
    }
    let written = if as_json {
        let objects: Vec<RuleJson> = planned
            .iter()
            .map(|(r, plan, message)| rule_json(r, plan, message.as_ref()))
            .collect();
        serde_json::to_writer_pretty(&mut *out, &objects)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
    } else {
        let mut written = Ok(());
        if rules.is_empty() {
            written =
                out.write_all(b"no alert rules configured ([[alerts.rules]] in the config file)\n");
        }
        for (r, plan, message) in &planned {
            written = written.and_then(|()| text(out, r, plan, message.as_ref()));
        }
        written
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| AppError::Unexpected(crate::adapters::stdout::write_error(e)))
}

fn rule_json<'a>(
    r: &'a AlertRule,
    plan: &'a Plan,
    message: Option<&'a crate::domain::alerts::AlertMessage>,
) -> RuleJson<'a> {
    RuleJson {
        alerts: plan.firing.iter().map(SkuJson::firing).collect(),
        attachment: message.and_then(|m| m.attachment.as_ref().map(|a| a.1.as_str())),
        channel_id: r.channel_id.to_string(),
        evaluated: plan.counts.evaluated,
        firing: plan.counts.firing,
        message: message.map(|m| m.content.as_str()),
        resolved: plan
            .lines
            .iter()
            .filter(|l| l.change == Change::Resolved)
            .map(|l| SkuJson::new(&l.figures))
            .collect(),
        rule: &r.name,
    }
}

fn text(
    out: &mut impl Write,
    r: &AlertRule,
    plan: &Plan,
    message: Option<&crate::domain::alerts::AlertMessage>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "rule {} → channel {}: {} firing of {} evaluated",
        r.name, r.channel_id, plan.counts.firing, plan.counts.evaluated
    )?;
    match message {
        Some(m) => {
            // The message as the console shows it: names as typed, control characters escaped.
            writeln!(
                out,
                "{}",
                crate::domain::markup::to_console(&m.content, None)
            )?;
            if let Some((name, csv)) = &m.attachment {
                writeln!(
                    out,
                    "(attachment {name}: {} lines)",
                    csv.lines().count().saturating_sub(1)
                )?;
            }
            Ok(())
        }
        None => out.write_all(b"nothing would be posted\n"),
    }
}
