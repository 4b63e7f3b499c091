//! Purchase orders: looking them up, moving their ETAs, receiving them.

use super::page::{paged, PageRequest, Paged};
use super::promise::{settle, Cause, Settled};
use super::{approvals, field, Actor, App, AppError, AppResult};
use crate::domain::audit::AuditEntry;
use crate::domain::date::check_eta_window;
use crate::domain::order::repeated_sku;
use crate::domain::text;
use crate::domain::{MovementKind, PoNumber, PoStatus, ProductId, PurchaseOrderId, Quantity, Sku};
use crate::store::purchasing::{PoLineRow, PoRow, PoSummaryRow, PO_ORDER};
use crate::store::{self, audit, stock::Movement, Conn};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// A PO with its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct PoView {
    pub po: PoRow,
    pub lines: Vec<PoLineRow>,
}

async fn po(conn: &mut Conn, number: &str) -> AppResult<PoRow> {
    let n = field("po", PoNumber::parse(number))?;
    let n = n.as_str();
    store::purchasing::po_by_number(conn, n)
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "purchase order",
            id: n.to_string(),
        })
}

/// The lines of a PO (or its one line for `sku`) that still expect units; an error says why
/// there are none ("… has nothing left to {verb}").
async fn open_lines(
    app: &App,
    conn: &mut Conn,
    po: &PoRow,
    sku: Option<&str>,
    verb: &str,
) -> AppResult<Vec<PoLineRow>> {
    let mut lines = store::purchasing::lines_of_po(conn, po.id).await?;
    if let Some(sku) = sku {
        let product = app.product(conn, sku).await?;
        lines.retain(|l| l.product_id == product.id);
        if lines.is_empty() {
            return Err(AppError::invalid(
                "sku",
                format!("{} is not on {}", product.sku, po.po_number),
            ));
        }
    }
    lines.retain(|l| l.remaining() > 0);
    if lines.is_empty() {
        return Err(AppError::Refused(format!(
            "{} has nothing left to {verb}",
            po.po_number
        )));
    }
    Ok(lines)
}

/// `/po id:`
pub async fn show_po(app: &App, number: &str) -> AppResult<PoView> {
    let mut conn = app.store.reader().await?;
    let po = po(&mut conn, number).await?;
    let lines = store::purchasing::lines_of_po(&mut conn, po.id).await?;
    Ok(PoView { po, lines })
}

/// What `/eta` did (or would do, in preview).
#[derive(Debug, Clone, PartialEq)]
pub struct EtaSet {
    pub po_number: String,
    /// Lines whose ETA changed.
    pub lines_changed: usize,
    /// Re-promised backorders.
    pub settled: Settled,
    /// Nothing was written.
    pub preview: bool,
    /// Whether its customer updates wait for ops.
    pub approval: Approval,
}

/// What the approval rule made of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Approval {
    /// The updates go out as usual.
    NotNeeded,
    /// The updates wait for ops in this batch.
    Held(approvals::Held),
    /// A preview: what the rule would say.
    Preview(crate::domain::approval::Verdict),
}

/// `/eta po: date: [sku:] reason: [preview:]`
pub async fn set_eta(
    app: &App,
    actor: &Actor,
    po_number: &str,
    date: NaiveDate,
    sku: Option<&str>,
    reason: &str,
    preview: bool,
) -> AppResult<EtaSet> {
    let date = field("date", check_eta_window(date, app.clock.today()))?;
    let reason = field("reason", text::reason(reason))?;
    let mut tx = app.store.begin_write().await?;
    let change = approvals::begin(&mut tx).await?;
    let po = po(&mut tx, po_number).await?;
    let lines = open_lines(app, &mut tx, &po, sku, "arrive").await?;
    let now = app.clock.now();
    let mut products = Vec::new();
    let mut changed = 0;
    for l in &lines {
        if l.eta == Some(date) {
            continue;
        }
        changed += 1;
        products.push(l.product_id);
        store::purchasing::update_line(&mut tx, l.id, l.qty_ordered, Some(date), l.status).await?;
        store::purchasing::record_line_eta_change(
            &mut tx,
            l.id,
            l.eta,
            Some(date),
            &actor.name,
            &reason,
            now,
        )
        .await?;
    }
    let settled = settle(
        app,
        &mut tx,
        &products,
        Cause::PoEtaChanged,
        &actor.name,
        &reason,
        false,
    )
    .await?;
    let what = format!(
        "/eta {} {date}{}: {reason}",
        po.po_number,
        sku.map(|s| format!(" sku:{s}")).unwrap_or_default()
    );
    let approval = if preview {
        let verdict = approvals::verdict(app, &mut tx, change).await?;
        // Everything above ran for real inside the transaction; dropping it undoes it all.
        tx.rollback().await?;
        Approval::Preview(verdict)
    } else {
        audit::record(
            &mut tx,
            &AuditEntry::ok(&actor.name, "set_eta", format!("{} → {date}", po.po_number))
                .because(reason),
            now,
        )
        .await?;
        let held = approvals::judge(app, &mut tx, change, &actor.name, &what).await?;
        tx.commit().await?;
        held.map_or(Approval::NotNeeded, Approval::Held)
    };
    Ok(EtaSet {
        po_number: po.po_number,
        lines_changed: changed,
        settled,
        preview,
        approval,
    })
}

/// What `/receive` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub po_number: String,
    /// (SKU, units) received.
    pub lines: Vec<(String, i64)>,
    /// Allocations and moved promises.
    pub settled: Settled,
    /// The approval batch holding the customer updates of the moved promises, if the receipt
    /// moved enough of them (`[notify] approval_*`).
    pub held: Option<approvals::Held>,
}

/// `/receive po: [sku:] [qty:]` — books the receipt, then allocates to backorders.
pub async fn receive(
    app: &App,
    actor: &Actor,
    po_number: &str,
    sku: Option<&str>,
    qty: Option<i64>,
) -> AppResult<Received> {
    if qty.is_some() && sku.is_none() {
        return Err(AppError::invalid(
            "qty",
            "needs sku: to say which line it is for",
        ));
    }
    if let Some(q) = qty {
        field("qty", Quantity::new(q))?;
    }
    let mut tx = app.store.begin_write().await?;
    let change = approvals::begin(&mut tx).await?;
    let po = po(&mut tx, po_number).await?;
    if !po.status.expects_more() {
        return Err(AppError::Refused(format!(
            "{} is {}",
            po.po_number, po.status
        )));
    }
    let lines = open_lines(app, &mut tx, &po, sku, "receive").await?;
    let now = app.clock.now();
    let mut received = Vec::new();
    for l in &lines {
        let units = qty.unwrap_or(l.remaining());
        if units > l.remaining() {
            return Err(AppError::invalid(
                "qty",
                format!(
                    "{units} is more than the {} still expected of {} on {}",
                    l.remaining(),
                    l.sku,
                    po.po_number
                ),
            ));
        }
        let status = PoStatus::of_line(l.qty_ordered, l.qty_received + units, false);
        store::purchasing::add_received(&mut tx, l.id, units, status).await?;
        store::stock::record_movement(
            &mut tx,
            &Movement {
                product_id: l.product_id,
                kind: MovementKind::Receipt,
                qty: units,
                actor: &actor.name,
                reason: "purchase order receipt",
                reference: Some(&po.po_number),
                at: now,
            },
        )
        .await?;
        received.push((l.sku.clone(), units));
    }
    store::purchasing::refresh_po_status(&mut tx, po.id).await?;
    let products: Vec<ProductId> = lines.iter().map(|l| l.product_id).collect();
    let summary = received
        .iter()
        .map(|(s, q)| format!("{s}×{q}"))
        .collect::<Vec<_>>()
        .join(", ");
    audit::record(
        &mut tx,
        &AuditEntry::ok(
            &actor.name,
            "receive",
            format!("{} {summary}", po.po_number),
        ),
        now,
    )
    .await?;
    let settled = settle(
        app,
        &mut tx,
        &products,
        Cause::Received,
        &actor.name,
        "",
        false,
    )
    .await?;
    let held = approvals::judge(
        app,
        &mut tx,
        change,
        &actor.name,
        &format!("receipt of {} {summary}", po.po_number),
    )
    .await?;
    tx.commit().await?;
    Ok(Received {
        po_number: po.po_number,
        lines: received,
        settled,
        held,
    })
}

/// One PO line to create or update (CSV import and ingest API).
#[derive(Debug, Clone, PartialEq)]
pub struct PoLineInput {
    pub product_id: ProductId,
    /// Units ordered.
    pub qty: i64,
    pub eta: Option<NaiveDate>,
    /// No more units expected (the received states follow from receipts).
    pub cancelled: bool,
}

/// Creates or updates a PO line inside the caller's transaction; returns whether it changed.
/// Records an ETA-history row when the ETA moved; the caller settles the product afterwards.
pub async fn upsert_po_line(
    app: &App,
    conn: &mut Conn,
    actor: &str,
    po_id: PurchaseOrderId,
    input: &PoLineInput,
) -> AppResult<bool> {
    let now = app.clock.now();
    match store::purchasing::line(conn, po_id, input.product_id).await? {
        None => {
            store::purchasing::insert_line(
                conn,
                po_id,
                input.product_id,
                input.qty,
                input.eta,
                PoStatus::of_line(input.qty, 0, input.cancelled),
            )
            .await?;
            Ok(true)
        }
        Some(existing) => {
            if input.qty < existing.qty_received {
                return Err(AppError::invalid(
                    "qty",
                    format!(
                        "{} is less than the {} already received",
                        input.qty, existing.qty_received
                    ),
                ));
            }
            let status = PoStatus::of_line(input.qty, existing.qty_received, input.cancelled);
            let same = existing.qty_ordered == input.qty
                && existing.eta == input.eta
                && existing.status == status;
            if same {
                return Ok(false);
            }
            store::purchasing::update_line(conn, existing.id, input.qty, input.eta, status).await?;
            if existing.eta != input.eta {
                store::purchasing::record_line_eta_change(
                    conn,
                    existing.id,
                    existing.eta,
                    input.eta,
                    actor,
                    "import",
                    now,
                )
                .await?;
            }
            Ok(true)
        }
    }
}

/// A purchase order as the shop's systems send it (create, or change lines).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PoInput {
    /// PO number.
    pub po: String,
    /// Supplier code.
    pub supplier: Option<String>,
    /// ETA applied to every line that names none.
    pub eta: Option<NaiveDate>,
    /// Cancel the whole PO.
    pub cancel: bool,
    /// (SKU, qty, ETA, cancelled) — qty `None` keeps the current quantity.
    pub lines: Vec<(String, Option<i64>, Option<NaiveDate>, bool)>,
}

/// What a PO change did.
#[derive(Debug, Clone, PartialEq)]
pub struct PoSaved {
    /// PO number.
    pub po: String,
    /// Lines created or changed.
    pub lines_changed: usize,
    /// Allocations and moved promises.
    pub settled: Settled,
}

/// Creates or changes a purchase order in one transaction (ingest API). With `must_exist` the PO
/// has to be there already (PATCH).
pub async fn save_po(
    app: &App,
    actor: &Actor,
    input: &PoInput,
    must_exist: bool,
) -> AppResult<PoSaved> {
    let mut tx = app.store.begin_write().await?;
    let saved = save_po_in(
        app,
        super::idempotency::Unit(&mut tx),
        actor,
        input,
        must_exist,
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// [`save_po`] inside the caller's write transaction (the ingest API commits it together with
/// the idempotency record).
pub async fn save_po_in(
    app: &App,
    tx: super::idempotency::Unit<'_>,
    actor: &Actor,
    input: &PoInput,
    must_exist: bool,
) -> AppResult<PoSaved> {
    let tx = tx.0;
    let change = approvals::begin(&mut *tx).await?;
    let number = field("po", PoNumber::parse(&input.po))?;
    let number = number.as_str();
    let today = app.clock.today();
    if let Some(eta) = input.eta {
        field("eta", check_eta_window(eta, today))?;
    }
    let mut skus = Vec::with_capacity(input.lines.len());
    for (i, (sku, qty, eta, _)) in input.lines.iter().enumerate() {
        skus.push(field(&format!("lines[{i}].sku"), Sku::parse(sku))?);
        if let Some(q) = qty {
            field(&format!("lines[{i}].qty"), Quantity::new(*q))?;
        }
        if let Some(eta) = eta {
            field(&format!("lines[{i}].eta"), check_eta_window(*eta, today))?;
        }
    }
    if let Some((first, again)) = repeated_sku(&skus) {
        return Err(AppError::invalid(
            format!("lines[{again}].sku"),
            format!(
                "{} is already on lines[{first}]; a PO names each SKU once",
                skus[again]
            ),
        ));
    }
    let existing = store::purchasing::po_by_number(&mut *tx, number).await?;
    if must_exist && existing.is_none() {
        return Err(AppError::NotFound {
            what: "purchase order",
            id: number.to_string(),
        });
    }
    if existing.is_none() && input.lines.is_empty() {
        return Err(AppError::invalid(
            "lines",
            "a new purchase order needs at least one line",
        ));
    }
    let supplier_id = match &input.supplier {
        Some(code) => Some(
            store::suppliers::by_code(&mut *tx, code.trim())
                .await?
                .ok_or_else(|| {
                    AppError::invalid("supplier", format!("unknown supplier \"{}\"", code.trim()))
                })?
                .id,
        ),
        None => None,
    };
    let now = app.clock.now();
    let (po_id, _) = match &existing {
        Some(po) if input.supplier.is_none() => (po.id, false),
        _ => {
            store::purchasing::upsert_po(
                &mut *tx,
                existing.as_ref().map_or(number, |p| p.po_number.as_str()),
                supplier_id,
                now,
            )
            .await?
        }
    };
    let current = store::purchasing::lines_of_po(&mut *tx, po_id).await?;
    // By product: a PO may have thousands of lines, each looked up once per line of the body.
    let current_of: HashMap<ProductId, &PoLineRow> =
        current.iter().map(|l| (l.product_id, l)).collect();
    let mut changed = 0;
    let mut products = Vec::new();
    // Lines named in the body, plus — for a PO-wide ETA or cancel — every other open line.
    let mut wanted: Vec<(ProductId, PoLineInput, Option<usize>)> = Vec::new();
    for (i, (sku, qty, eta, cancelled)) in input.lines.iter().enumerate() {
        let product = app
            .product(&mut *tx, sku)
            .await
            .map_err(|e| e.within(&format!("lines[{i}]")))?;
        let before = current_of.get(&product.id).copied();
        let qty = match (qty, before) {
            (Some(q), _) => *q,
            (None, Some(b)) => b.qty_ordered,
            (None, None) => {
                return Err(AppError::invalid(
                    format!("lines[{i}].qty"),
                    "is required for a new line",
                ))
            }
        };
        let eta = eta.or(input.eta).or_else(|| before.and_then(|b| b.eta));
        wanted.push((
            product.id,
            PoLineInput {
                product_id: product.id,
                qty,
                eta,
                cancelled: *cancelled || input.cancel,
            },
            Some(i),
        ));
    }
    if input.eta.is_some() || input.cancel {
        let named: HashSet<ProductId> = wanted.iter().map(|(pid, _, _)| *pid).collect();
        for l in current.iter().filter(|l| l.remaining() > 0) {
            if !named.contains(&l.product_id) {
                wanted.push((
                    l.product_id,
                    PoLineInput {
                        product_id: l.product_id,
                        qty: l.qty_ordered,
                        eta: input.eta.or(l.eta),
                        cancelled: input.cancel,
                    },
                    None,
                ));
            }
        }
    }
    for (pid, line, index) in &wanted {
        let line_changed = upsert_po_line(app, &mut *tx, &actor.name, po_id, line)
            .await
            .map_err(|e| match index {
                Some(i) => e.within(&format!("lines[{i}]")),
                None => e,
            })?;
        if line_changed {
            changed += 1;
            products.push(*pid);
        }
    }
    store::purchasing::refresh_po_status(&mut *tx, po_id).await?;
    let cause = if input.eta.is_some() || input.lines.iter().any(|l| l.2.is_some()) {
        Cause::PoEtaChanged
    } else {
        Cause::PoChanged
    };
    let settled = settle(
        app,
        &mut *tx,
        &products,
        cause,
        &actor.name,
        "ingest API",
        false,
    )
    .await?;
    audit::record(
        &mut *tx,
        &AuditEntry::ok(&actor.name, "save_po", number),
        now,
    )
    .await?;
    approvals::judge(
        app,
        &mut *tx,
        change,
        &actor.name,
        &format!("purchase order {number} saved"),
    )
    .await?;
    Ok(PoSaved {
        po: number.to_string(),
        lines_changed: changed,
        settled,
    })
}

/// What `/pos` asks for.
#[derive(Debug, Clone, Default)]
pub struct PoQuery<'a> {
    /// Supplier code or name.
    pub supplier: Option<&'a str>,
    /// A status, `all`, or `None` for open and partly received ones.
    pub status: Option<&'a str>,
    /// Only late ones.
    pub late: bool,
    pub page: PageRequest<'a>,
}

/// A page of purchase orders.
pub type PoPage = Paged<PoSummaryRow>;

/// `/pos [supplier:] [status:] [late:] [page:]`
pub async fn list_pos(app: &App, q: &PoQuery<'_>) -> AppResult<PoPage> {
    let mut conn = app.store.reader().await?;
    let mut filter = store::purchasing::PoFilter {
        late_only: q.late,
        ..Default::default()
    };
    if let Some(s) = q.supplier.map(str::trim).filter(|s| !s.is_empty()) {
        let supplier = store::suppliers::by_code_or_name(&mut conn, s)
            .await?
            .ok_or_else(|| AppError::NotFound {
                what: "supplier",
                id: s.to_string(),
            })?;
        filter.supplier_id = Some(supplier.id);
    }
    match q.status.map(|s| s.trim().to_ascii_lowercase()) {
        None => {
            filter.statuses = PoStatus::ALL
                .into_iter()
                .filter(|s| s.expects_more())
                .collect()
        }
        Some(s) if s == "all" => {}
        Some(s) => {
            filter.statuses = vec![PoStatus::parse(&s).map_err(|_| {
                AppError::invalid(
                    "status",
                    format!(
                        "\"{s}\" is not a status (open, partially_received, received, cancelled or all)"
                    ),
                )
            })?]
        }
    }
    let (marks, today) = (app.store.landmarks(), app.clock.today());
    paged(app, &q.page, &PO_ORDER, async |seek, size| {
        store::purchasing::list_pos(&mut conn, marks, &filter, today, seek, size).await
    })
    .await
}
