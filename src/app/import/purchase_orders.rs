//! Purchase-order lines: one row per line; the PO is created on its first line.

use super::{count, ImportReport, Lookups, Problems, Row};
use crate::app::purchasing::{upsert_po_line, PoLineInput};
use crate::app::{Actor, App, AppError, AppResult};
use crate::domain::date::{check_eta_window, parse_date};
use crate::domain::{parse_positive_quantity, PoNumber, RequestedStatus, Sku};
use crate::store::{self, Conn};

/// A checked PO line row.
pub(super) struct PoLine {
    line: usize,
    po: String,
    supplier_id: Option<i64>,
    input: PoLineInput,
}

pub(super) async fn parse(
    conn: &mut Conn,
    rows: &[Row],
    p: &mut Problems,
    look: &mut Lookups,
) -> AppResult<Vec<PoLine>> {
    let mut out = Vec::with_capacity(rows.len());
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
        out.push(PoLine {
            line: row.line,
            po,
            supplier_id,
            input: PoLineInput {
                product_id: product.id,
                qty,
                eta,
                cancelled: status.is_some_and(RequestedStatus::is_cancelled),
            },
        });
    }
    Ok(out)
}

/// Returns the products whose inbound changed.
pub(super) async fn apply(
    app: &App,
    conn: &mut Conn,
    actor: &Actor,
    rows: &[PoLine],
    report: &mut ImportReport,
    p: &mut Problems,
) -> AppResult<Vec<i64>> {
    let mut touched = Vec::new();
    let today = app.clock.today();
    for row in rows {
        // The ETA window moves with the day the file is applied, so it is checked here.
        if let Some(Err(e)) = row.input.eta.map(|eta| check_eta_window(eta, today)) {
            p.add(row.line, "eta", e);
            continue;
        }
        let (po_id, header_changed) =
            store::purchasing::upsert_po(conn, &row.po, row.supplier_id, app.clock.now()).await?;
        match upsert_po_line(app, conn, &actor.name, po_id, &row.input).await {
            Ok(changed) => {
                store::purchasing::refresh_po_status(conn, po_id).await?;
                count(report, changed || header_changed);
                if changed {
                    touched.push(row.input.product_id);
                }
            }
            Err(AppError::Invalid { field, reason }) => p.add(row.line, &field, reason),
            Err(e) => return Err(e),
        }
    }
    Ok(touched)
}
