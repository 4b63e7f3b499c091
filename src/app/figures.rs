//! The figures operators watch, read for a `GET /metrics` scrape.

use crate::app::{App, AppResult};
use crate::domain::alerts::Severity;
use crate::domain::figures::{QueueFigures, ShopFigures};
use crate::domain::outbox::{OutboxStatus, PostStatus};
use crate::store::figures as store;

/// Reads the shop's figures on one reader connection. Alerts are counted for each configured
/// rule and every severity, zeros included (the states of a rule no longer configured are
/// left out).
pub async fn read(app: &App) -> AppResult<ShopFigures> {
    let mut conn = app.store.reader().await?;
    let (open_backorders, open_units, open_value) = store::open_backorders(&mut conn).await?;
    let firing = store::alerts_firing(&mut conn).await?;
    let ([pending, sending, failed], [posts_pending, posts_failed]) =
        store::queues(&mut conn).await?;
    let alerts_firing = app
        .settings
        .alerts
        .rules
        .iter()
        .flat_map(|rule| Severity::ALL.map(|s| (rule.name.clone(), s)))
        .map(|(rule, severity)| {
            let n = firing
                .iter()
                .find(|(r, s, _)| *r == rule && *s == severity)
                .map_or(0, |(_, _, n)| *n);
            (rule, severity, n)
        })
        .collect();
    Ok(ShopFigures {
        open_backorders,
        open_units,
        open_value,
        alerts_firing,
        customer_updates: QueueFigures {
            waiting: vec![
                (OutboxStatus::Pending.as_str(), pending),
                (OutboxStatus::Sending.as_str(), sending),
            ],
            failed,
        },
        channel_posts: QueueFigures {
            waiting: vec![(PostStatus::Pending.as_str(), posts_pending)],
            failed: posts_failed,
        },
    })
}
