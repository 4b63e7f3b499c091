//! Order lines: reserve free stock, backorder the shortfall.

use super::{count, ImportReport, Lookups, Problems, Row};
use crate::app::orders::{place_line, OrderLineInput};
use crate::app::{App, AppError, AppResult};
use crate::domain::{parse_positive_quantity, Money, Sku};
use crate::store::Conn;
use chrono::{DateTime, NaiveDate, Utc};

/// A checked order line row.
pub(super) struct OrderLine {
    line: usize,
    order: String,
    customer_id: i64,
    /// `None`: now, when the file is applied.
    ordered_at: Option<DateTime<Utc>>,
    input: OrderLineInput,
}

fn ordered_at(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| format!("\"{raw}\" is not a date (2026-11-26) or time (2026-11-26T10:00:00Z)"))
}

pub(super) async fn parse(
    conn: &mut Conn,
    rows: &[Row],
    p: &mut Problems,
    look: &mut Lookups,
) -> AppResult<Vec<OrderLine>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let order = p.required(row, "order", |s| Ok::<_, String>(s.to_string()));
        let customer = look.customer(conn, p, row).await?;
        let sku = p.required(row, "sku", Sku::parse);
        let qty = p.required(row, "qty", parse_positive_quantity);
        let price = p.cell(row, "unit_price", Money::parse);
        let at = p.cell(row, "ordered_at", ordered_at);
        let product = look.product(conn, p, row.line, sku.as_ref()).await?;
        let (Some(order), Some(customer), Some(product), Some(qty)) =
            (order, customer, product, qty)
        else {
            continue;
        };
        out.push(OrderLine {
            line: row.line,
            order,
            customer_id: customer.id,
            ordered_at: at,
            input: OrderLineInput {
                product_id: product.id,
                sku: product.sku.clone(),
                qty,
                unit_price_minor: price.map_or(product.unit_price_minor, |m| m.0),
            },
        });
    }
    Ok(out)
}

/// Returns the products that got a backorder.
pub(super) async fn apply(
    app: &App,
    conn: &mut Conn,
    rows: &[OrderLine],
    report: &mut ImportReport,
    p: &mut Problems,
) -> AppResult<Vec<i64>> {
    let mut touched = Vec::new();
    let now = app.clock.now();
    for row in rows {
        let at = row.ordered_at.unwrap_or(now);
        match place_line(app, conn, &row.order, row.customer_id, at, &row.input).await {
            Ok(out) => {
                count(report, !out.unchanged);
                if out.backorder_id.is_some() {
                    report.backorders_created += 1;
                    touched.push(row.input.product_id);
                }
            }
            Err(AppError::Invalid { field, reason }) => p.add(row.line, &field, reason),
            Err(e) => return Err(e),
        }
    }
    Ok(touched)
}
