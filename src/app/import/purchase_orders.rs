//! Purchase-order lines: one row per line; the PO is created on its first line. Applied
//! set-based: what the file touches is read in a few statements, compared here with the domain's
//! status rules, and written with multi-row statements (see [`crate::store::import`]).

use super::{count, ImportReport, Lookups, Problems, Row};
use crate::app::{Actor, App, AppResult};
use crate::domain::date::{check_eta_window, parse_date};
use crate::domain::{
    ident, parse_positive_quantity, PoLineId, PoNumber, PoStatus, ProductId, PurchaseOrderId,
    RequestedStatus, Sku, SupplierId,
};
use crate::store::{import as bulk, Conn};
use std::collections::HashMap;

/// A checked PO line row.
pub(super) struct PoLine {
    line: usize,
    po: String,
    supplier_id: Option<SupplierId>,
    product_id: ProductId,
    qty: i64,
    eta: Option<chrono::NaiveDate>,
    cancelled: bool,
}

/// Checks every row. One PO names one supplier (or none) on all its rows, and a file has at
/// most one row per PO and SKU: a second would silently overwrite the first.
pub(super) async fn parse(
    conn: &mut Conn,
    rows: &[Row],
    p: &mut Problems,
    look: &mut Lookups,
) -> AppResult<Vec<PoLine>> {
    let mut out = Vec::with_capacity(rows.len());
    // PO → (its first line, supplier cell there, supplier id).
    let mut headers: HashMap<String, (usize, Option<String>, Option<SupplierId>)> = HashMap::new();
    let mut lines_of: HashMap<(String, ProductId), usize> = HashMap::new();
    for row in rows {
        let po = p.required(row, "po", |s| PoNumber::parse(s).map(|n| n.to_string()));
        let sku = p.required(row, "sku", Sku::parse);
        let qty = p.required(row, "qty", parse_positive_quantity);
        let eta = p.cell(row, "eta", parse_date);
        let status = p.cell(row, "status", RequestedStatus::parse);
        let supplier_id = look.supplier(conn, p, row).await?;
        let product = look.product(conn, p, row.line, sku.as_ref()).await?;
        let (Some(po), Some(product), Some(qty)) = (po, product, qty) else {
            continue;
        };
        // A refused code is not quoted back in a later row's message.
        let cell = row
            .get("supplier")
            .filter(|c| ident::identifier(c).is_ok())
            .map(str::to_string);
        match headers.get(&po) {
            None => {
                headers.insert(po.clone(), (row.line, cell, supplier_id));
            }
            Some((first, first_cell, first_id)) if *first_id != supplier_id => {
                let named = match first_cell {
                    Some(code) => format!("supplier \"{code}\""),
                    None => "no supplier".to_string(),
                };
                p.add(
                    row.line,
                    "supplier",
                    format!("{po} names {named} on line {first}; all its rows must agree"),
                );
                continue;
            }
            Some(_) => {}
        }
        if let Some(first) = lines_of.insert((po.clone(), product.id), row.line) {
            p.add(
                row.line,
                "sku",
                format!(
                    "{po} already has a line for {} on line {first}",
                    product.sku
                ),
            );
            continue;
        }
        out.push(PoLine {
            line: row.line,
            po,
            supplier_id,
            product_id: product.id,
            qty,
            eta,
            cancelled: status.is_some_and(RequestedStatus::is_cancelled),
        });
    }
    Ok(out)
}

/// Writes the lines; returns the products whose inbound changed. Everything is checked before
/// the first write, so a refused file has written nothing even before its rollback.
pub(super) async fn apply(
    app: &App,
    conn: &mut Conn,
    actor: &Actor,
    rows: &[PoLine],
    report: &mut ImportReport,
    p: &mut Problems,
) -> AppResult<Vec<ProductId>> {
    // The ETA window moves with the day the file is applied, so it is checked here.
    let today = app.clock.today();
    for row in rows {
        if let Some(Err(e)) = row.eta.map(|eta| check_eta_window(eta, today)) {
            p.add(row.line, "eta", e);
        }
    }
    // Headers in file order, each with the supplier its rows name.
    let mut numbers: Vec<&str> = Vec::new();
    let mut supplier_of: HashMap<&str, Option<SupplierId>> = HashMap::new();
    for row in rows {
        if supplier_of.insert(&row.po, row.supplier_id).is_none() {
            numbers.push(&row.po);
        }
    }
    let stored: HashMap<String, bulk::StoredPo> = bulk::pos_by_number(conn, &numbers)
        .await?
        .into_iter()
        .map(|po| (po.po_number.clone(), po))
        .collect();
    let pairs: Vec<(PurchaseOrderId, ProductId)> = rows
        .iter()
        .filter_map(|r| stored.get(&r.po).map(|po| (po.id, r.product_id)))
        .collect();
    let existing: HashMap<(PurchaseOrderId, ProductId), bulk::StoredPoLine> =
        bulk::po_lines_of(conn, &pairs)
            .await?
            .into_iter()
            .map(|l| ((l.po_id, l.product_id), l))
            .collect();

    // Decide every row against what is stored.
    enum Plan {
        Create,
        Change(
            bulk::PoLineChange,
            Option<(PoLineId, Option<chrono::NaiveDate>)>,
        ),
        Keep,
    }
    let mut plans = Vec::with_capacity(rows.len());
    for row in rows {
        let found = stored
            .get(&row.po)
            .and_then(|po| existing.get(&(po.id, row.product_id)));
        let plan = match found {
            None => Plan::Create,
            Some(line) if row.qty < line.qty_received => {
                p.add(
                    row.line,
                    "qty",
                    format!(
                        "{} is less than the {} already received",
                        row.qty, line.qty_received
                    ),
                );
                Plan::Keep
            }
            Some(line) => {
                let status = PoStatus::of_line(row.qty, line.qty_received, row.cancelled);
                if line.qty_ordered == row.qty && line.eta == row.eta && line.status == status {
                    Plan::Keep
                } else {
                    let moved = (line.eta != row.eta).then_some((line.id, line.eta));
                    let change = bulk::PoLineChange {
                        id: line.id,
                        qty: row.qty,
                        eta: row.eta,
                        status,
                    };
                    Plan::Change(change, moved)
                }
            }
        };
        plans.push(plan);
    }
    if !p.0.is_empty() {
        return Ok(Vec::new());
    }

    // Headers: create the new ones, set changed suppliers.
    let new_pos: Vec<(&str, Option<SupplierId>)> = numbers
        .iter()
        .filter(|n| !stored.contains_key(**n))
        .map(|n| (*n, supplier_of[n]))
        .collect();
    let created: HashMap<String, PurchaseOrderId> =
        bulk::insert_pos(conn, &new_pos, app.clock.now())
            .await?
            .into_iter()
            .collect();
    let supplier_changes: Vec<(PurchaseOrderId, Option<SupplierId>)> = stored
        .values()
        .filter(|po| po.supplier_id != supplier_of[po.po_number.as_str()])
        .map(|po| (po.id, supplier_of[po.po_number.as_str()]))
        .collect();
    bulk::set_po_suppliers(conn, &supplier_changes).await?;
    let header_changed = |po: &str| {
        stored
            .get(po)
            .map_or(true, |s| s.supplier_id != supplier_of[po])
    };
    let po_id = |po: &str| stored.get(po).map_or_else(|| created[po], |s| s.id);

    // Lines.
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut moved = Vec::new();
    let mut touched = Vec::new();
    for (row, plan) in rows.iter().zip(plans) {
        let changed = match plan {
            Plan::Create => {
                inserts.push(bulk::NewPoLine {
                    po_id: po_id(&row.po),
                    product_id: row.product_id,
                    qty: row.qty,
                    eta: row.eta,
                    status: PoStatus::of_line(row.qty, 0, row.cancelled),
                });
                true
            }
            Plan::Change(change, eta_moved) => {
                if let Some((line_id, old)) = eta_moved {
                    moved.push((line_id, old, row.eta));
                }
                updates.push(change);
                true
            }
            Plan::Keep => false,
        };
        count(report, changed || header_changed(&row.po));
        if changed {
            touched.push(row.product_id);
        }
    }
    bulk::insert_po_lines(conn, &inserts).await?;
    bulk::update_po_lines(conn, &updates).await?;
    bulk::record_po_eta_changes(conn, &moved, &actor.name, "import", app.clock.now()).await?;

    // Each PO's status follows from its lines.
    let ids: Vec<PurchaseOrderId> = numbers.iter().map(|n| po_id(n)).collect();
    let (lines, current) = bulk::po_states(conn, &ids).await?;
    let mut lines_by_po: HashMap<PurchaseOrderId, Vec<(PoStatus, i64)>> = HashMap::new();
    for (po, status, received) in lines {
        lines_by_po.entry(po).or_default().push((status, received));
    }
    let statuses: Vec<(PurchaseOrderId, PoStatus)> = current
        .into_iter()
        .filter_map(|(id, status)| {
            let now = PoStatus::of_po(lines_by_po.remove(&id).unwrap_or_default());
            (now != status).then_some((id, now))
        })
        .collect();
    bulk::set_po_statuses(conn, &statuses).await?;
    touched.sort_unstable();
    touched.dedup();
    Ok(touched)
}
