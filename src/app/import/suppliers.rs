//! Suppliers: upserted by code, in one statement.

use super::{ImportReport, Problems, Row};
use crate::app::AppResult;
use crate::domain::{ident, text, EmailAddress, PhoneNumber, ProductId, SupplierId};
use crate::store::{self, suppliers::SupplierRow, Conn};

/// A checked supplier row.
pub(super) type Supplier = SupplierRow;

pub(super) fn parse(rows: &[Row], p: &mut Problems) -> Vec<Supplier> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let code = p.required(row, "code", ident::identifier);
        let name = p.required(row, "name", text::name);
        let email = p.cell(row, "email", EmailAddress::parse);
        let phone = p.cell(row, "phone", PhoneNumber::parse);
        let lead = p
            .cell(row, "lead_time_days", super::lead_time)
            .unwrap_or(14);
        if let (Some(code), Some(name)) = (code, name) {
            out.push(SupplierRow {
                id: SupplierId(0),
                code,
                name,
                email: email.map(|e| e.expose().to_string()),
                phone: phone.map(|p| p.expose().to_string()),
                lead_time_days: lead,
            });
        }
    }
    out
}

pub(super) async fn stage(conn: &mut Conn, rows: &[Supplier]) -> AppResult<()> {
    store::import::stage_suppliers(conn, rows).await?;
    Ok(())
}

pub(super) async fn apply(conn: &mut Conn, report: &mut ImportReport) -> AppResult<Vec<ProductId>> {
    report.changed = store::import::apply_suppliers(conn).await?;
    report.unchanged = report.rows - report.changed;
    Ok(Vec::new())
}
