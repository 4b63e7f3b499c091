//! Backorder questions and the changes ops make to single backorders.

use super::promise::{priority_input, ranked_queue, settle, Cause, Settled};
use super::stock::non_empty;
use super::{field, Actor, App, AppError, AppResult};
use crate::domain::priority::{manual_points_for, PriorityScore, Reprioritize};
use crate::store::backorders::{BackorderRow, Filter};
use crate::store::{self, audit, stock::Movement};

/// Statuses `/backorders status:` accepts.
pub const STATUSES: [&str; 4] = ["open", "allocated", "fulfilled", "cancelled"];

/// A page of backorders.
#[derive(Debug, Clone, PartialEq)]
pub struct BackorderPage {
    /// Rows on this page.
    pub rows: Vec<BackorderRow>,
    /// 1-based page.
    pub page: u32,
    /// Number of pages (at least 1).
    pub pages: u32,
    /// Rows in all.
    pub total: i64,
}

/// `/backorders [sku:] [customer:] [status:] [page:]`
pub async fn list(
    app: &App,
    sku: Option<&str>,
    customer: Option<&str>,
    status: Option<&str>,
    page: u32,
) -> AppResult<BackorderPage> {
    let mut conn = app.store.conn().await?;
    let mut filter = Filter::default();
    if let Some(sku) = sku {
        filter.product_id = Some(app.product(&mut conn, sku).await?.id);
    }
    if let Some(c) = customer {
        let row = store::customers::by_external_id(&mut conn, c.trim())
            .await?
            .ok_or_else(|| AppError::NotFound {
                what: "customer",
                id: c.trim().to_string(),
            })?;
        filter.customer_id = Some(row.id);
    }
    match status.map(|s| s.trim().to_ascii_lowercase()) {
        None => filter.status = Some("open".to_string()),
        Some(s) if s == "all" => {}
        Some(s) if STATUSES.contains(&s.as_str()) => filter.status = Some(s),
        Some(s) => {
            return Err(AppError::invalid(
                "status",
                format!("\"{s}\" is not a status (open, allocated, fulfilled, cancelled or all)"),
            ))
        }
    }
    if page == 0 {
        return Err(AppError::invalid("page", "pages start at 1"));
    }
    let size = i64::from(app.settings.console.page_size);
    let (rows, total) =
        store::backorders::list(&mut conn, &filter, (i64::from(page) - 1) * size, size).await?;
    let pages = ((total + size - 1) / size).max(1) as u32;
    if page > pages {
        return Err(AppError::invalid(
            "page",
            format!(
                "there {} only {pages}",
                if pages == 1 { "is" } else { "are" }
            ),
        ));
    }
    Ok(BackorderPage {
        rows,
        page,
        pages,
        total,
    })
}

/// `/backorder id:` in full.
#[derive(Debug, Clone, PartialEq)]
pub struct BackorderDetail {
    /// The backorder.
    pub row: BackorderRow,
    /// Priority broken into parts.
    pub score: PriorityScore,
    /// 1-based place in its SKU's queue (open backorders only).
    pub rank: Option<(usize, usize)>,
    /// ETA history: (old, new, cause, actor, reason, when).
    pub history: Vec<store::backorders::EtaHistoryRow>,
}

async fn row(conn: &mut store::Conn, id: i64) -> AppResult<BackorderRow> {
    store::backorders::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "backorder",
            id: id.to_string(),
        })
}

/// `/backorder id:`
pub async fn show(app: &App, id: i64) -> AppResult<BackorderDetail> {
    let mut conn = app.store.conn().await?;
    let row = row(&mut conn, id).await?;
    let score = app
        .settings
        .priority
        .score(&priority_input(&(&row).into()), app.clock.now());
    let rank = if row.status == "open" {
        let queue = ranked_queue(app, &mut conn, row.product_id).await?;
        queue
            .iter()
            .position(|b| b.id == id)
            .map(|i| (i + 1, queue.len()))
    } else {
        None
    };
    let history = store::backorders::eta_history(&mut conn, id).await?;
    Ok(BackorderDetail {
        row,
        score,
        rank,
        history,
    })
}

/// What a change to one backorder did.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    /// The backorder after the change.
    pub row: BackorderRow,
    /// Allocations and moved promises that followed.
    pub settled: Settled,
}

/// `/backorder prioritize id: position:`
pub async fn prioritize(
    app: &App,
    actor: &Actor,
    id: i64,
    position: &str,
    reason: &str,
) -> AppResult<Changed> {
    let moves = field("position", Reprioritize::parse(position))?;
    let mut tx = app.store.begin_write().await?;
    let target = row(&mut tx, id).await?;
    if target.status != "open" {
        return Err(AppError::Refused(format!(
            "backorder {id} is {}, only open backorders have a queue place",
            target.status
        )));
    }
    let queue = ranked_queue(app, &mut tx, target.product_id).await?;
    let inputs: Vec<_> = queue.iter().map(priority_input).collect();
    let now = app.clock.now();
    let Some(points) = manual_points_for(&app.settings.priority, &inputs, id, moves, now) else {
        return Err(AppError::Refused(format!(
            "backorder {id} is already there ({position})"
        )));
    };
    store::backorders::set_manual_priority(&mut tx, id, points).await?;
    audit::record(
        &mut tx,
        &actor.name,
        "prioritize",
        &format!("backorder {id} {position}"),
        reason,
        "ok",
        now,
    )
    .await?;
    let settled = settle(
        app,
        &mut tx,
        &[target.product_id],
        Cause::Reprioritized,
        &actor.name,
        reason,
        false,
    )
    .await?;
    let row = row(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed { row, settled })
}

/// `/backorder cancel id: reason:` — releases any allocation and records a lost sale.
pub async fn cancel(app: &App, actor: &Actor, id: i64, reason: &str) -> AppResult<Changed> {
    let reason = field("reason", non_empty(reason))?;
    let mut tx = app.store.begin_write().await?;
    let target = row(&mut tx, id).await?;
    if !matches!(target.status.as_str(), "open" | "allocated") {
        return Err(AppError::Refused(format!(
            "backorder {id} is already {}",
            target.status
        )));
    }
    let now = app.clock.now();
    let released = store::orders::close_backorder_reservations(&mut tx, id, "released").await?;
    if released > 0 {
        store::stock::change_allocated(&mut tx, target.product_id, -released).await?;
    }
    store::backorders::close(&mut tx, id, "cancelled", &reason, now).await?;
    let product = store::products::by_id(&mut tx, target.product_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_else(|| target.sku.clone());
    crate::app::notify::queue_cancelled(&mut tx, &target, &product, now).await?;
    app.wake_dispatcher();
    let lost = target.qty * target.unit_price_minor;
    audit::record(
        &mut tx,
        &actor.name,
        "cancel_backorder",
        &format!(
            "backorder {id} ({} × {}, lost sale {lost} minor units)",
            target.qty, target.sku
        ),
        &reason,
        "ok",
        now,
    )
    .await?;
    let settled = settle(
        app,
        &mut tx,
        &[target.product_id],
        Cause::BackorderClosed,
        &actor.name,
        &reason,
        false,
    )
    .await?;
    let row = row(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed { row, settled })
}

/// `/backorder fulfil id:` — ships an allocated backorder: a sale in the ledger.
pub async fn fulfil(app: &App, actor: &Actor, id: i64) -> AppResult<Changed> {
    let mut tx = app.store.begin_write().await?;
    let target = row(&mut tx, id).await?;
    if target.status != "allocated" {
        return Err(AppError::Refused(format!(
            "backorder {id} is {}; only allocated backorders can be fulfilled ({} of {} allocated)",
            target.status, target.qty_allocated, target.qty
        )));
    }
    let now = app.clock.now();
    let shipped = store::orders::close_backorder_reservations(&mut tx, id, "shipped").await?;
    store::stock::change_allocated(&mut tx, target.product_id, -shipped).await?;
    let reference = format!("backorder {id}");
    store::stock::record_movement(
        &mut tx,
        &Movement {
            product_id: target.product_id,
            kind: "sale",
            qty: -shipped,
            actor: &actor.name,
            reason: "backorder shipped",
            reference: Some(&target.order_number),
            at: now,
        },
    )
    .await?;
    store::backorders::close(&mut tx, id, "fulfilled", "shipped", now).await?;
    audit::record(
        &mut tx,
        &actor.name,
        "fulfil_backorder",
        &reference,
        "",
        "ok",
        now,
    )
    .await?;
    let row = row(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed {
        row,
        settled: Settled::default(),
    })
}
