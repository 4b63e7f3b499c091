//! Keeping promises: allocate what can be allocated and re-promise every open backorder of the
//! SKUs a change touched, writing ETA history and customer updates in the caller's transaction.

use super::{App, AppResult};
use crate::domain::priority::PriorityInput;
pub use crate::domain::promise::Cause;
use crate::domain::promise::{
    join, plan, served_in_order, Demand, Eta, Inbound, PlanInput, Planned,
};
use crate::domain::queue::{RankedQueue, Waiting};
use crate::domain::{BackorderId, BackorderStatus, CustomerId, Money, ProductId, UpdateKind};
use crate::store::backorders::{EtaChange, QueueRow};
use crate::store::products::ProductRow;
use crate::store::{self, Conn};
use chrono::NaiveDate;
use serde_json::json;
use std::collections::HashMap;

/// A backorder whose promise moved.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedEta {
    pub backorder_id: BackorderId,
    pub sku: String,
    /// Customer name (mask before showing); filled for the first [`SHOWN_BY_NAME`] only.
    pub customer_name: String,
    /// Customer row id.
    pub customer_id: CustomerId,
    pub old: Eta,
    pub new: Eta,
}

/// How many moved promises carry the customer's name (replies list the first ten).
pub const SHOWN_BY_NAME: usize = 10;

/// What settling did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settled {
    /// Promises that moved.
    pub moved: Vec<MovedEta>,
    /// Backorders now entirely allocated (ready to ship).
    pub allocated: Vec<BackorderId>,
    /// Units allocated in all.
    pub units_allocated: i64,
}

impl Settled {
    /// Distinct customers with a moved promise.
    pub fn customers(&self) -> usize {
        let mut ids: Vec<CustomerId> = self.moved.iter().map(|m| m.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    fn absorb(&mut self, other: Settled) {
        self.moved.extend(other.moved);
        self.allocated.extend(other.allocated);
        self.units_allocated += other.units_allocated;
    }
}

fn stored_eta(row: &QueueRow) -> Eta {
    Eta {
        date: row.promised_eta,
        kind: row.eta_kind,
    }
}

/// The priority input of a stored backorder.
pub fn priority_input(row: &QueueRow) -> PriorityInput {
    PriorityInput {
        id: row.id,
        tier: row.tier,
        value_minor: Money(row.unit_price_minor).times(row.qty).0,
        ordered_at: row.ordered_at,
        manual: row.manual_priority,
    }
}

/// A product's open backorders in priority order.
pub async fn ranked_queue(
    app: &App,
    conn: &mut Conn,
    product_id: ProductId,
) -> AppResult<Vec<QueueRow>> {
    let rows = store::backorders::open_queue(conn, product_id).await?;
    let keyed = rows.into_iter().map(|r| (priority_input(&r), r)).collect();
    Ok(app.settings.priority.rank(keyed, app.clock.now()))
}

/// Allocates and re-promises the given products. With `dry_run` nothing is written and the
/// result says what would change.
pub async fn settle(
    app: &App,
    conn: &mut Conn,
    product_ids: &[ProductId],
    cause: Cause,
    actor: &str,
    reason: &str,
    dry_run: bool,
) -> AppResult<Settled> {
    let mut ids = product_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut all = Settled::default();
    for id in ids {
        all.absorb(settle_one(app, conn, id, cause, actor, reason, dry_run).await?);
    }
    if !dry_run && (!all.moved.is_empty() || !all.allocated.is_empty()) {
        app.wake_dispatcher();
    }
    Ok(all)
}

async fn settle_one(
    app: &App,
    conn: &mut Conn,
    product_id: ProductId,
    cause: Cause,
    actor: &str,
    reason: &str,
    dry_run: bool,
) -> AppResult<Settled> {
    let Some(product) = store::products::by_id(conn, product_id).await? else {
        return Ok(Settled::default());
    };
    let queue = ranked_queue(app, conn, product_id).await?;
    if queue.is_empty() {
        return Ok(Settled::default());
    }
    let mut input = supply(app, conn, &product).await?;
    input.queue = queue
        .iter()
        .map(|b| Demand {
            id: b.id,
            remaining: b.qty - b.qty_allocated,
        })
        .collect();
    let planned = plan(&input);
    let steps: Vec<(&QueueRow, Planned)> = queue.iter().zip(planned).collect();
    let out = apply(app, conn, &product, &steps, cause, actor, reason, dry_run).await?;
    if !dry_run {
        keep(app, conn, &product, &input, &steps).await?;
    }
    Ok(out)
}

/// Everything [`plan`] needs of a product but its queue: free stock, inbound, lead time.
async fn supply(app: &App, conn: &mut Conn, product: &ProductRow) -> AppResult<PlanInput> {
    let position = store::stock::position(conn, product.id).await?;
    let inbound = store::purchasing::inbound_for_product(conn, product.id).await?;
    Ok(PlanInput {
        today: app.clock.now().date_naive(),
        free_stock: crate::domain::stock::available(position.on_hand, position.allocated),
        inbound: inbound
            .iter()
            .map(|l| Inbound {
                eta: l.eta,
                qty: l.remaining(),
            })
            .collect(),
        lead_time_days: product.effective_lead_time(),
        queue: Vec::new(),
        rules: app.settings.fulfilment,
    })
}

/// Writes what a plan says for some backorders: allocations (and "on its way" updates), new
/// promises with their history and customer updates.
#[allow(clippy::too_many_arguments)]
async fn apply(
    app: &App,
    conn: &mut Conn,
    product: &ProductRow,
    steps: &[(&QueueRow, Planned)],
    cause: Cause,
    actor: &str,
    reason: &str,
    dry_run: bool,
) -> AppResult<Settled> {
    let product_id = product.id;
    let now = app.clock.now();
    let mut out = Settled::default();
    let mut changes = Vec::new();
    let mut payloads: std::collections::HashMap<(Eta, Eta), String> =
        std::collections::HashMap::new();
    for (row, p) in steps {
        let old = stored_eta(row);
        let mut fully_allocated = false;
        if p.allocate_now > 0 {
            out.units_allocated += p.allocate_now;
            let status =
                BackorderStatus::after_allocation(row.qty, row.qty_allocated + p.allocate_now);
            fully_allocated = status == BackorderStatus::Allocated;
            if !dry_run {
                store::orders::insert_reservation(
                    conn,
                    row.order_line_id,
                    Some(row.id),
                    product_id,
                    p.allocate_now,
                    now,
                )
                .await?;
                store::stock::change_allocated(conn, product_id, p.allocate_now).await?;
                store::backorders::add_allocation(conn, row.id, p.allocate_now, status).await?;
            }
            if fully_allocated {
                out.allocated.push(row.id);
                if !dry_run {
                    let payload = json!({
                        "backorder_id": row.id, "sku": product.sku, "product": product.name,
                        "qty": row.qty,
                    });
                    store::outbox::enqueue(
                        conn,
                        row.id,
                        row.customer_id,
                        UpdateKind::Allocated,
                        &payload.to_string(),
                        now,
                    )
                    .await?;
                }
            }
        }
        if p.eta == old {
            continue;
        }
        // A backorder that ships now hears "on its way", not a new date.
        // The update says what moved; the sender reads the backorder and customer for the rest,
        // so one payload serves every backorder whose promise moved the same way.
        let payload = (!fully_allocated).then(|| {
            payloads
                .entry((old, p.eta))
                .or_insert_with(|| {
                    json!({
                        "sku": product.sku, "product": product.name,
                        "old_eta": old.date, "old_kind": old.kind.as_str(),
                        "new_eta": p.eta.date, "new_kind": p.eta.kind.as_str(), "cause": cause.as_str(),
                    })
                    .to_string()
                })
                .clone()
        });
        if !fully_allocated {
            out.moved.push(MovedEta {
                backorder_id: row.id,
                sku: product.sku.clone(),
                customer_name: String::new(),
                customer_id: row.customer_id,
                old,
                new: p.eta,
            });
        }
        changes.push(EtaChange {
            backorder_id: row.id,
            old_eta: old.date,
            old_kind: old.kind,
            new_eta: p.eta.date,
            new_kind: p.eta.kind,
            payload,
        });
    }
    // Replies show the first few moves by name; 100,000 names are not worth reading.
    for m in out.moved.iter_mut().take(SHOWN_BY_NAME) {
        m.customer_name = store::backorders::customer_name(conn, m.customer_id).await?;
    }
    if !dry_run && !changes.is_empty() {
        store::backorders::apply_eta_changes(conn, &changes, cause, actor, reason, now).await?;
    }
    Ok(out)
}

/// Settled queues of SKUs with many open backorders, kept between writes so that an order
/// joining one costs the promises it moves rather than a read of the whole queue
/// ([`join_new_backorder`]). Each is used only while its product's token (migration 0017) is
/// the one its writer left and its day is today; otherwise it is dropped and the next write
/// plans the whole queue again.
#[derive(Debug, Default)]
pub struct Queues {
    kept: std::sync::Mutex<HashMap<ProductId, Kept>>,
    joins: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Kept {
    token: i64,
    today: NaiveDate,
    queue: RankedQueue,
}

/// Queues shorter than this are planned whole: reading them costs less than keeping them.
const KEEP_FROM: usize = 64;
/// Most queues kept at once (the hot SKUs).
const KEEP_MAX: usize = 64;

impl Queues {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProductId, Kept>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Backorders that joined a kept queue since start.
    pub fn joins(&self) -> u64 {
        self.joins.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a queue is kept for the product.
    pub fn holds(&self, product_id: ProductId) -> bool {
        self.lock().contains_key(&product_id)
    }

    /// Takes the product's queue out if it is still the database's (same token, same day).
    fn take(
        &self,
        product_id: ProductId,
        token: Option<i64>,
        today: NaiveDate,
    ) -> Option<RankedQueue> {
        let kept = self.lock().remove(&product_id)?;
        (Some(kept.token) == token && kept.today == today).then_some(kept.queue)
    }

    fn put(&self, product_id: ProductId, kept: Kept) {
        let mut map = self.lock();
        if map.len() >= KEEP_MAX && !map.contains_key(&product_id) {
            map.clear();
        }
        map.insert(product_id, kept);
    }

    /// Forgets every kept queue.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Keeps a product's queue as settled by `steps` (the whole queue in rank order), with the
/// token its writes left, when the rules serve in order and the queue is long.
async fn keep(
    app: &App,
    conn: &mut Conn,
    product: &ProductRow,
    input: &PlanInput,
    steps: &[(&QueueRow, Planned)],
) -> AppResult<()> {
    if !served_in_order(input.rules) || steps.len() < KEEP_FROM {
        app.queues.lock().remove(&product.id);
        return Ok(());
    }
    let waiting = steps
        .iter()
        .filter(|(row, p)| row.qty - row.qty_allocated > p.allocate_now)
        .map(|(row, p)| Waiting {
            key: app.settings.priority.rank_key(&priority_input(row)),
            remaining: row.qty - row.qty_allocated - p.allocate_now,
            eta: p.eta,
        })
        .collect();
    let Some(token) = store::backorders::queue_token(conn, product.id).await? else {
        return Ok(());
    };
    app.queues.put(
        product.id,
        Kept {
            token,
            today: input.today,
            queue: RankedQueue::from_ranked(waiting),
        },
    );
    Ok(())
}

/// The product's token before a write, when its queue is kept (read it in the write
/// transaction before changing anything of the product; pass it to [`join_new_backorder`]).
pub async fn token_before(
    app: &App,
    conn: &mut Conn,
    product_id: ProductId,
) -> AppResult<Option<i64>> {
    if !app.queues.holds(product_id) {
        return Ok(None);
    }
    Ok(store::backorders::queue_token(conn, product_id).await?)
}

/// Settles a product after one new backorder joined its queue (an order): with the kept queue,
/// only the new backorder and the promises it moves are read and written; without one (or
/// with one another write made stale), the whole queue is planned, as [`settle`] does.
/// `token` is [`token_before`]'s answer.
pub async fn join_new_backorder(
    app: &App,
    conn: &mut Conn,
    product: &ProductRow,
    backorder_id: BackorderId,
    token: Option<i64>,
    actor: &str,
    reason: &str,
) -> AppResult<Settled> {
    let cause = Cause::BackorderCreated;
    let product_id = product.id;
    let today = app.clock.now().date_naive();
    let Some(mut queue) = token.and_then(|t| app.queues.take(product_id, Some(t), today)) else {
        return settle(app, conn, &[product_id], cause, actor, reason, false).await;
    };
    let Some(row) = store::backorders::queue_rows(conn, &[backorder_id])
        .await?
        .into_iter()
        .next()
    else {
        return settle(app, conn, &[product_id], cause, actor, reason, false).await;
    };
    let input = supply(app, conn, product).await?;
    let newcomer = Waiting {
        key: app.settings.priority.rank_key(&priority_input(&row)),
        remaining: row.qty - row.qty_allocated,
        eta: stored_eta(&row),
    };
    let Some(joined) = join(&input, &mut queue, newcomer) else {
        return settle(app, conn, &[product_id], cause, actor, reason, false).await;
    };
    let moved_ids: Vec<BackorderId> = joined.moved.iter().map(|(id, _, _)| *id).collect();
    let mut rows = store::backorders::queue_rows(conn, &moved_ids).await?;
    let new_eta: HashMap<BackorderId, Eta> =
        joined.moved.iter().map(|(id, _, e)| (*id, *e)).collect();
    rows.sort_by_key(|r| r.id);
    let mut steps: Vec<(&QueueRow, Planned)> = vec![(
        &row,
        Planned {
            id: row.id,
            allocate_now: joined.allocate_now,
            eta: joined.eta,
        },
    )];
    steps.extend(rows.iter().map(|r| {
        (
            r,
            Planned {
                id: r.id,
                allocate_now: 0,
                eta: new_eta.get(&r.id).copied().unwrap_or_else(|| stored_eta(r)),
            },
        )
    }));
    let out = apply(app, conn, product, &steps, cause, actor, reason, false).await?;
    app.queues
        .joins
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(token) = store::backorders::queue_token(conn, product_id).await? {
        app.queues.put(
            product_id,
            Kept {
                token,
                today,
                queue,
            },
        );
    }
    if !out.moved.is_empty() || !out.allocated.is_empty() {
        app.wake_dispatcher();
    }
    Ok(out)
}
