//! `backorder-bot check [--rule NAME] [--json]`: evaluates the alert rules now and prints what
//! a run would post, changing no state.

use crate::app::alerts::{self, Plan};
use crate::app::{App, AppError};
use crate::domain::alerts::{build_message, Change, SkuFigures, CONTENT_LIMIT};
use serde_json::{json, Value};

fn figures_json(f: &SkuFigures) -> Value {
    json!({
        "sku": f.sku,
        "name": f.name,
        "supplier": f.supplier,
        "on_hand": f.on_hand,
        "allocated": f.allocated,
        "available": f.available(),
        "open_backorders": f.open_backorders,
        "backorder_units": f.backorder_units,
        "inbound": f.inbound_total,
        "inbound_within_lead_time": f.inbound_within_lead,
        "next_eta": f.next_eta.map(|d| d.to_string()),
        "projected": f.projected(),
        "reorder_point": f.reorder_point,
        "safety_stock": f.safety_stock,
        "daily_sales": f.daily_sales,
        "days_of_cover": f.days_of_cover().map(|d| (d * 10.0).round() / 10.0),
        "suggested_order": f.suggested_order(),
    })
}

fn change_str(c: Change) -> &'static str {
    match c {
        Change::New => "new",
        Change::Escalated => "escalated",
        Change::Repeat => "repeat",
        Change::Resolved => "resolved",
    }
}

/// The check's output: one JSON array (one object per rule) or text.
pub async fn run(app: &App, rule: Option<&str>, as_json: bool) -> Result<String, AppError> {
    let rules = match rule {
        Some(name) => vec![alerts::rule(app, name)?.clone()],
        None => app.settings.alerts.rules.clone(),
    };
    let now = app.clock.now();
    let mut objects = Vec::new();
    let mut text = String::new();
    if rules.is_empty() {
        text.push_str("no alert rules configured ([[alerts.rules]] in the config file)\n");
    }
    for r in &rules {
        let Plan {
            counts,
            lines,
            firing,
            ..
        } = alerts::plan(app, r, now).await?;
        let message = (!lines.is_empty()).then(|| build_message(&r.name, &lines, CONTENT_LIMIT));
        if as_json {
            let post_of = |sku: &str| {
                lines
                    .iter()
                    .find(|l| l.figures.sku == sku && l.change != Change::Resolved)
                    .map(|l| change_str(l.change))
            };
            let alerts: Vec<Value> = firing
                .iter()
                .map(|f| {
                    let mut v = figures_json(&f.figures);
                    v["severity"] = json!(f.severity.map(|s| s.as_str()));
                    v["would_post"] = json!(post_of(&f.figures.sku));
                    v
                })
                .collect();
            let resolved: Vec<Value> = lines
                .iter()
                .filter(|l| l.change == Change::Resolved)
                .map(|l| figures_json(&l.figures))
                .collect();
            objects.push(json!({
                "rule": r.name,
                "channel_id": r.channel_id.to_string(),
                "evaluated": counts.evaluated,
                "firing": counts.firing,
                "alerts": alerts,
                "resolved": resolved,
                "message": message.as_ref().map(|m| m.content.clone()),
                "attachment": message.as_ref().and_then(|m| m.attachment.as_ref().map(|a| a.0.clone())),
            }));
        } else {
            text.push_str(&format!(
                "rule {} → channel {}: {} firing of {} evaluated\n",
                r.name, r.channel_id, counts.firing, counts.evaluated
            ));
            match &message {
                Some(m) => {
                    text.push_str(&m.content);
                    text.push('\n');
                    if let Some((name, csv)) = &m.attachment {
                        text.push_str(&format!(
                            "(attachment {name}: {} lines)\n",
                            csv.lines().count().saturating_sub(1)
                        ));
                    }
                }
                None => text.push_str("nothing would be posted\n"),
            }
        }
    }
    Ok(if as_json {
        serde_json::to_string_pretty(&Value::Array(objects)).map_err(anyhow::Error::from)?
    } else {
        text
    })
}
