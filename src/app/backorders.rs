//! Backorder questions and the changes ops make to single backorders.

use super::promise::{priority_input, ranked_queue, settle, Cause, Settled};
use super::{field, Actor, App, AppError, AppResult};
use crate::domain::priority::{manual_points_for, PriorityScore, Reprioritize};
use crate::domain::{text, BackorderStatus, Money, MovementKind, ReservationStatus};
use crate::store::backorders::{BackorderRow, Filter, ListOrder};
use crate::store::{self, audit, stock::Movement};
use chrono::NaiveDate;
use std::collections::HashMap;

/// How `/backorders` orders its rows (`sort:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Highest priority first: the order backorders are served in.
    #[default]
    Priority,
    /// Oldest order first.
    Age,
    /// Earliest promised date first, unknown last.
    Eta,
    /// Largest backordered value first.
    Value,
}

impl Sort {
    /// The `sort:` choices.
    pub const CHOICES: [&'static str; 4] = ["priority", "age", "eta", "value"];

    /// Parses a `sort:` value.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "priority" => Ok(Self::Priority),
            "age" => Ok(Self::Age),
            "eta" => Ok(Self::Eta),
            "value" => Ok(Self::Value),
            other => Err(AppError::invalid(
                "sort",
                format!("\"{other}\" is not an order (priority, age, eta or value)"),
            )),
        }
    }

    /// How the reply names the order.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Priority => "priority (the order they are served in)",
            Self::Age => "age (oldest order first)",
            Self::Eta => "ETA (earliest first, unknown last)",
            Self::Value => "value (largest first)",
        }
    }
}

/// What `/backorders` asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    /// Only this SKU: its queue.
    pub sku: Option<&'a str>,
    /// Only this customer (the shop's id).
    pub customer: Option<&'a str>,
    /// A status, `all`, or `None` for open ones.
    pub status: Option<&'a str>,
    pub sort: Sort,
    /// 1-based page.
    pub page: u32,
}

/// One listed backorder with what the list shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedBackorder {
    /// The backorder.
    pub row: BackorderRow,
    /// Priority score now.
    pub score: f64,
    /// 1-based place in its SKU's queue (open backorders of a `sku:` list only).
    pub place: Option<usize>,
}

/// A page of backorders.
#[derive(Debug, Clone, PartialEq)]
pub struct BackorderPage {
    /// Rows on this page.
    pub rows: Vec<ListedBackorder>,
    /// 1-based page.
    pub page: u32,
    /// Number of pages (at least 1).
    pub pages: u32,
    /// Rows in all.
    pub total: i64,
    /// The order of the rows.
    pub sort: Sort,
    /// The SKU whose queue this is (`sku:` given), as the shop spells it.
    pub sku: Option<String>,
}

/// Pages: (offset, limit) of `page`, or an error naming the last page.
pub(crate) fn page_window(page: u32, total: i64, size: i64) -> AppResult<(u32, i64)> {
    if page == 0 {
        return Err(AppError::invalid("page", "pages start at 1"));
    }
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
    Ok((pages, (i64::from(page) - 1) * size))
}

/// `/backorders [sku:] [customer:] [status:] [sort:] [page:]`
///
/// With `sku:` and open backorders the rows come from the same ranked queue that allocation and
/// promises walk, so place 1 is the one served next; other lists are ordered in SQL by the same
/// score.
pub async fn list(app: &App, q: &ListQuery<'_>) -> AppResult<BackorderPage> {
    let mut conn = app.store.conn().await?;
    let mut filter = Filter::default();
    let mut sku = None;
    if let Some(s) = q.sku {
        let product = app.product(&mut conn, s).await?;
        filter.product_id = Some(product.id);
        sku = Some(product.sku);
    }
    if let Some(c) = q.customer {
        filter.customer_id = Some(customer_by_external_id(&mut conn, c).await?.id);
    }
    match q.status.map(|s| s.trim().to_ascii_lowercase()) {
        None => filter.status = Some(BackorderStatus::Open),
        Some(s) if s == "all" => {}
        Some(s) => {
            filter.status = Some(BackorderStatus::parse(&s).map_err(|_| {
                AppError::invalid(
                    "status",
                    format!(
                        "\"{s}\" is not a status (open, allocated, fulfilled, cancelled or all)"
                    ),
                )
            })?)
        }
    }
    let size = i64::from(app.settings.console.page_size);
    let now = app.clock.now();
    let weights = &app.settings.priority;
    let score = |r: &BackorderRow| weights.score(&priority_input(&r.into()), now).total();
    let (rows, total, pages) = match filter.product_id {
        Some(product_id) if filter.status == Some(BackorderStatus::Open) => {
            let mut queue = ranked_queue(app, &mut conn, product_id).await?;
            let places: HashMap<i64, usize> = queue
                .iter()
                .enumerate()
                .map(|(i, b)| (b.id, i + 1))
                .collect();
            if let Some(c) = filter.customer_id {
                queue.retain(|b| b.customer_id == c);
            }
            // Stable sorts over the ranked queue: ties stay in service order.
            match q.sort {
                Sort::Priority => {}
                Sort::Age => {
                    queue.sort_by(|a, b| a.ordered_at.cmp(&b.ordered_at).then(a.id.cmp(&b.id)))
                }
                Sort::Eta => queue.sort_by_key(|b| b.promised_eta.unwrap_or(NaiveDate::MAX)),
                Sort::Value => {
                    queue.sort_by_key(|b| std::cmp::Reverse(Money(b.unit_price_minor).times(b.qty)))
                }
            }
            let total = queue.len() as i64;
            let (pages, offset) = page_window(q.page, total, size)?;
            let ids: Vec<i64> = queue
                .iter()
                .skip(offset as usize)
                .take(size as usize)
                .map(|b| b.id)
                .collect();
            let rows = store::backorders::by_ids(&mut conn, &ids)
                .await?
                .into_iter()
                .map(|row| ListedBackorder {
                    score: score(&row),
                    place: places.get(&row.id).copied(),
                    row,
                })
                .collect();
            (rows, total, pages)
        }
        _ => {
            let order = match q.sort {
                Sort::Priority => ListOrder::Priority(weights.clone()),
                Sort::Age => ListOrder::Age,
                Sort::Eta => ListOrder::Eta(weights.clone()),
                Sort::Value => ListOrder::Value(weights.clone()),
            };
            let page = q.page.max(1);
            let offset = (i64::from(page) - 1) * size;
            let (rows, total) =
                store::backorders::list(&mut conn, &filter, &order, offset, size).await?;
            let (pages, _) = page_window(q.page, total, size)?;
            let rows = rows
                .into_iter()
                .map(|row| ListedBackorder {
                    score: score(&row),
                    place: None,
                    row,
                })
                .collect();
            (rows, total, pages)
        }
    };
    Ok(BackorderPage {
        rows,
        page: q.page,
        pages,
        total,
        sort: q.sort,
        sku,
    })
}

pub(crate) async fn customer_by_external_id(
    conn: &mut store::Conn,
    external_id: &str,
) -> AppResult<store::customers::CustomerRow> {
    store::customers::by_external_id(conn, external_id.trim())
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "customer",
            id: external_id.trim().to_string(),
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
    /// Oldest first.
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
    let rank = if row.status == BackorderStatus::Open {
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
    // Optional here, but cleaned like every reason.
    let reason = text::clean(reason);
    let reason = reason.trim();
    let mut tx = app.store.begin_write().await?;
    let target = row(&mut tx, id).await?;
    if target.status != BackorderStatus::Open {
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
    let reason = field("reason", text::reason(reason))?;
    let mut tx = app.store.begin_write().await?;
    let target = row(&mut tx, id).await?;
    if !target.status.is_active() {
        return Err(AppError::Refused(format!(
            "backorder {id} is already {}",
            target.status
        )));
    }
    let now = app.clock.now();
    let released =
        store::orders::close_backorder_reservations(&mut tx, id, ReservationStatus::Released)
            .await?;
    if released > 0 {
        store::stock::change_allocated(&mut tx, target.product_id, -released).await?;
    }
    store::backorders::close(&mut tx, id, BackorderStatus::Cancelled, &reason, now).await?;
    let product = store::products::by_id(&mut tx, target.product_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_else(|| target.sku.clone());
    crate::app::notify::queue_cancelled(&mut tx, &target, &product, now).await?;
    app.wake_dispatcher();
    let lost = Money(target.unit_price_minor).times(target.qty).0;
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
    if target.status != BackorderStatus::Allocated {
        return Err(AppError::Refused(format!(
            "backorder {id} is {}; only allocated backorders can be fulfilled ({} of {} allocated)",
            target.status, target.qty_allocated, target.qty
        )));
    }
    let now = app.clock.now();
    let shipped =
        store::orders::close_backorder_reservations(&mut tx, id, ReservationStatus::Shipped)
            .await?;
    store::stock::change_allocated(&mut tx, target.product_id, -shipped).await?;
    let reference = format!("backorder {id}");
    store::stock::record_movement(
        &mut tx,
        &Movement {
            product_id: target.product_id,
            kind: MovementKind::Sale,
            qty: -shipped,
            actor: &actor.name,
            reason: "backorder shipped",
            reference: Some(&target.order_number),
            at: now,
        },
    )
    .await?;
    store::backorders::close(&mut tx, id, BackorderStatus::Fulfilled, "shipped", now).await?;
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
