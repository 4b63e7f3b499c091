//! Stock questions and stock adjustments.

use super::promise::{settle, Cause, Settled};
use super::{field, Actor, App, AppError, AppResult};
use crate::domain::audit::AuditEntry;
use crate::domain::stock::InboundLine;
use crate::domain::{text, MovementKind, Sku, StockDelta, StockPosition};
use crate::store::products::{Alternative, ProductRow};
use crate::store::{self, audit, stock::Movement};

/// The answer to `/stock`.
#[derive(Debug, Clone, PartialEq)]
pub struct StockReport {
    pub product: ProductRow,
    pub position: StockPosition,
    /// Substitutes with stock (when nothing is available).
    pub substitutes: Vec<Alternative>,
    /// Same-category products with stock (when nothing is available).
    pub same_category: Vec<Alternative>,
}

/// A product's stock position, read in one connection.
pub async fn position_of(conn: &mut store::Conn, product: &ProductRow) -> AppResult<StockPosition> {
    let (pos, open, units) = store::stock::position_with_backorders(conn, product.id).await?;
    let inbound = store::purchasing::inbound_for_product(conn, product.id).await?;
    Ok(StockPosition {
        on_hand: pos.on_hand,
        allocated: pos.allocated,
        inbound: inbound_lines(&inbound),
        open_backorders: open,
        backordered_units: units,
        reorder_point: product.reorder_point,
        safety_stock: product.safety_stock,
    })
}

fn inbound_lines(lines: &[store::purchasing::PoLineRow]) -> Vec<InboundLine> {
    lines
        .iter()
        .filter(|l| l.remaining() > 0)
        .map(|l| InboundLine {
            po_number: l.po_number.clone(),
            qty: l.remaining(),
            eta: l.eta,
        })
        .collect()
}

/// `/stock sku:`
pub async fn query_stock(app: &App, sku: &str) -> AppResult<StockReport> {
    let mut conn = app.store.reader().await?;
    let key = field("sku", Sku::parse(sku))?.key();
    let Some(snap) = store::products::stock_snapshot(&mut conn, &key).await? else {
        // Not there: let the shared lookup build the error with its suggestions.
        app.product(&mut conn, sku).await?;
        return Err(AppError::invalid("sku", "vanished while being read"));
    };
    let inbound = snap.inbound()?;
    let product = snap.product;
    let position = StockPosition {
        on_hand: snap.on_hand,
        allocated: snap.allocated,
        inbound,
        open_backorders: snap.open_backorders,
        backordered_units: snap.backordered_units,
        reorder_point: product.reorder_point,
        safety_stock: product.safety_stock,
    };
    let (mut substitutes, mut same_category) = (Vec::new(), Vec::new());
    if position.available_to_sell() == 0 {
        let alternatives =
            store::products::alternatives_in_stock(&mut conn, product.id, &product.category, 5)
                .await?;
        for (alt, is_substitute) in alternatives {
            if is_substitute {
                substitutes.push(alt);
            } else {
                same_category.push(alt);
            }
        }
    }
    Ok(StockReport {
        product,
        position,
        substitutes,
        same_category,
    })
}

/// What `/adjust` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjusted {
    pub sku: String,
    /// New position.
    pub position: StockPosition,
    /// Allocations and moved promises that followed.
    pub settled: Settled,
}

/// `/adjust sku: delta: reason:` — a ledger adjustment; on hand never drops below allocated.
pub async fn adjust(
    app: &App,
    actor: &Actor,
    sku: &str,
    delta: i64,
    reason: &str,
) -> AppResult<Adjusted> {
    let mut tx = app.store.begin_write().await?;
    let done = adjust_in(
        app,
        super::idempotency::Unit(&mut tx),
        actor,
        sku,
        delta,
        reason,
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// [`adjust`] inside the caller's write transaction (the ingest API commits it together with the
/// idempotency record).
pub async fn adjust_in(
    app: &App,
    tx: super::idempotency::Unit<'_>,
    actor: &Actor,
    sku: &str,
    delta: i64,
    reason: &str,
) -> AppResult<Adjusted> {
    let tx = tx.0;
    let change = super::approvals::begin(&mut *tx).await?;
    let delta = field("delta", StockDelta::new(delta))?.get();
    let reason = field("reason", text::reason(reason))?;
    let product = app.product(&mut *tx, sku).await?;
    let pos = store::stock::position(&mut *tx, product.id).await?;
    if pos.on_hand + delta < pos.allocated {
        return Err(AppError::Refused(format!(
            "refused: {} has {} on hand of which {} are allocated; on hand cannot go below {} (the most you can remove is {})",
            product.sku,
            pos.on_hand,
            pos.allocated,
            pos.allocated,
            crate::domain::stock::available(pos.on_hand, pos.allocated)
        )));
    }
    let now = app.clock.now();
    store::stock::record_movement(
        &mut *tx,
        &Movement {
            product_id: product.id,
            kind: MovementKind::Adjustment,
            qty: delta,
            actor: &actor.name,
            reason: &reason,
            reference: None,
            at: now,
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        &AuditEntry::ok(&actor.name, "adjust", format!("{} {delta:+}", product.sku))
            .because(&reason),
        now,
    )
    .await?;
    let settled = settle(
        app,
        &mut *tx,
        &[product.id],
        Cause::StockAdjusted,
        &actor.name,
        &reason,
        false,
    )
    .await?;
    let what = format!("stock adjustment {} {delta:+}: {reason}", product.sku);
    super::approvals::judge(app, &mut *tx, change, &actor.name, &what).await?;
    let position = position_of(&mut *tx, &product).await?;
    Ok(Adjusted {
        sku: product.sku,
        position,
        settled,
    })
}
