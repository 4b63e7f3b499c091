//! The figures operators watch, read for a `GET /metrics` scrape.

use crate::app::{App, AppResult};
use crate::domain::alerts::Severity;
use crate::domain::figures::{QueueFigures, ShopFigures};
use crate::domain::outbox::{OutboxStatus, PostStatus};
use crate::store::figures as store;

/// Reads the shop's figures on one reader connection. Alerts are counted for each configured
/// rule and every severity, zeros included (the states of a rule no longer configured are
/// left out); each counted queue status is there, zero or not.
pub async fn read(app: &App) -> AppResult<ShopFigures> {
    let mut conn = app.store.reader().await?;
    let (open_backorders, open_units, open_value) = store::open_backorders(&mut conn).await?;
    let firing = store::alerts_firing(&mut conn).await?;
    let [pending, sending] = ShopFigures::UPDATES_WAITING;
    let updates =
        store::customer_updates(&mut conn, &[pending, sending, OutboxStatus::Failed]).await?;
    let [pending] = ShopFigures::POSTS_WAITING;
    let posts = store::channel_posts(&mut conn, &[pending, PostStatus::Failed]).await?;
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
            waiting: ShopFigures::UPDATES_WAITING
                .map(|s| (s.as_str(), count(&updates, s)))
                .to_vec(),
            failed: count(&updates, OutboxStatus::Failed),
        },
        channel_posts: QueueFigures {
            waiting: ShopFigures::POSTS_WAITING
                .map(|s| (s.as_str(), count(&posts, s)))
                .to_vec(),
            failed: count(&posts, PostStatus::Failed),
        },
    })
}

/// The count `found` holds for `status`; 0 when it holds none.
fn count<S: PartialEq>(found: &[(S, i64)], status: S) -> i64 {
    found
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(0, |(_, n)| *n)
}
