//! Backorder questions and the changes ops make to single backorders.

use super::page::{paged, PageRequest, Paged};
use super::promise::{priority_input, ranked_queue, settle, Cause, Settled};
use super::{field, Actor, App, AppError, AppResult};
use crate::domain::audit::AuditEntry;
use crate::domain::notify::UpdateKind;
use crate::domain::priority::{manual_points_for, PriorityScore, Reprioritize};
use crate::domain::{text, BackorderId, BackorderStatus, Money, MovementKind, ReservationStatus};
use crate::store::backorders::{BackorderRow, Filter, ListOrder};
use crate::store::{self, audit, stock::Movement};
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
    pub page: PageRequest<'a>,
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
    pub list: Paged<ListedBackorder>,
    /// The order of the rows.
    pub sort: Sort,
    /// The SKU whose queue this is (`sku:` given), as the shop spells it.
    pub sku: Option<String>,
}

/// `/backorders [sku:] [customer:] [status:] [sort:] [page:]`
///
/// Every order pages by keyset from an index (`store::backorders::ListOrder`). A `sku:` list of
/// open backorders is that SKU's queue: its places are counted in the same index allocation and
/// promises rank by (the stored sort key), so place 1 is the one served next.
pub async fn list(app: &App, q: &ListQuery<'_>) -> AppResult<BackorderPage> {
    let mut conn = app.store.reader().await?;
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
    let order = match q.sort {
        Sort::Priority => ListOrder::Priority,
        Sort::Age => ListOrder::Age,
        Sort::Eta => ListOrder::Eta,
        Sort::Value => ListOrder::Value,
    };
    let marks = app.store.landmarks();
    let page = paged(app, &q.page, order.columns(), async |seek, size| {
        store::backorders::list(&mut conn, marks, &filter, order, seek, size).await
    })
    .await?;
    let places = if filter.product_id.is_some() && filter.status == Some(BackorderStatus::Open) {
        let ids: Vec<BackorderId> = page.rows.iter().map(|r| r.id).collect();
        store::backorders::queue_places(&mut conn, &ids).await?
    } else {
        HashMap::new()
    };
    let now = app.clock.now();
    let weights = &app.settings.priority;
    let list = page.map(|row| ListedBackorder {
        score: weights.score(&priority_input(&(&row).into()), now).total(),
        place: places.get(&row.id).map(|(p, _)| *p),
        row,
    });
    Ok(BackorderPage {
        list,
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

async fn row(conn: &mut store::Conn, id: BackorderId) -> AppResult<BackorderRow> {
    store::backorders::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "backorder",
            id: id.to_string(),
        })
}

/// `/backorder id:`
pub async fn show(app: &App, id: BackorderId) -> AppResult<BackorderDetail> {
    let mut conn = app.store.reader().await?;
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
    id: BackorderId,
    position: &str,
    reason: &str,
) -> AppResult<Changed> {
    let moves = field("position", Reprioritize::parse(position))?;
    // Optional here, but cleaned like every reason.
    let reason = text::clean(reason);
    let reason = reason.trim();
    let mut tx = app.store.begin_write().await?;
    let change = super::approvals::begin(&mut tx).await?;
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
        &AuditEntry::ok(
            &actor.name,
            "prioritize",
            format!("backorder {id} {position}"),
        )
        .because(reason),
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
    let what = format!("/backorder prioritize {id} {position}");
    super::approvals::judge(app, &mut tx, change, &actor.name, &what).await?;
    let row = row(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Changed { row, settled })
}

/// `/backorder cancel id: reason:` — releases any allocation and records a lost sale.
pub async fn cancel(app: &App, actor: &Actor, id: BackorderId, reason: &str) -> AppResult<Changed> {
    let reason = field("reason", text::reason(reason))?;
    let mut tx = app.store.begin_write().await?;
    let change = super::approvals::begin(&mut tx).await?;
    let changed = cancel_in(app, &mut tx, actor, id, &reason).await?;
    let what = format!("/backorder cancel {id}: {reason}");
    super::approvals::judge(app, &mut tx, change, &actor.name, &what).await?;
    tx.commit().await?;
    Ok(changed)
}

/// [`cancel`] inside the caller's write transaction (a customer cancelling on their page).
pub async fn cancel_in(
    app: &App,
    tx: &mut store::Conn,
    actor: &Actor,
    id: BackorderId,
    reason: &str,
) -> AppResult<Changed> {
    let reason = field("reason", text::reason(reason))?;
    let target = row(tx, id).await?;
    if !target.status.is_active() {
        return Err(AppError::Refused(format!(
            "backorder {id} is already {}",
            target.status
        )));
    }
    let product = store::products::by_id(tx, target.product_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_else(|| target.sku.clone());
    let lost = Money(target.unit_price_minor).times(target.qty).0;
    let entry = AuditEntry::ok(
        &actor.name,
        "cancel_backorder",
        format!(
            "backorder {id} ({} × {}, lost sale {lost} minor units)",
            target.qty, target.sku
        ),
    )
    .because(&reason);
    let settled = close_in(
        app,
        tx,
        &target,
        &Closing {
            actor: &actor.name,
            reason: &reason,
            update: UpdateKind::Cancelled,
            product: &product,
            entry,
        },
    )
    .await?;
    app.wake_dispatcher();
    let row = row(tx, id).await?;
    Ok(Changed { row, settled })
}

/// How an active backorder ends: who ends it and why, what its customer is told, what the
/// audit log records.
pub(crate) struct Closing<'a> {
    pub actor: &'a str,
    pub reason: &'a str,
    pub update: UpdateKind,
    /// The product's name, for the customer's update.
    pub product: &'a str,
    pub entry: AuditEntry,
}

/// Closes an active backorder as cancelled inside the caller's transaction: releases what it
/// holds, queues the customer's update, records the audit entry and settles its product. Ops'
/// cancel and a customer's switch on their page both end a backorder this way.
pub(crate) async fn close_in(
    app: &App,
    tx: &mut store::Conn,
    target: &BackorderRow,
    closing: &Closing<'_>,
) -> AppResult<Settled> {
    let now = app.clock.now();
    let released =
        store::orders::close_backorder_reservations(tx, target.id, ReservationStatus::Released)
            .await?;
    if released > 0 {
        store::stock::change_allocated(tx, target.product_id, -released).await?;
    }
    store::backorders::close(
        tx,
        target.id,
        BackorderStatus::Cancelled,
        closing.reason,
        now,
    )
    .await?;
    crate::app::notify::queue_update(tx, target, closing.update, closing.product, now).await?;
    audit::record(tx, &closing.entry, now).await?;
    settle(
        app,
        tx,
        &[target.product_id],
        Cause::BackorderClosed,
        closing.actor,
        closing.reason,
        false,
    )
    .await
}

/// `/backorder fulfil id:` — ships an allocated backorder: a sale in the ledger.
pub async fn fulfil(app: &App, actor: &Actor, id: BackorderId) -> AppResult<Changed> {
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
        &AuditEntry::ok(&actor.name, "fulfil_backorder", &reference),
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
