//! Products: upserted by SKU, `on_hand` counted into the ledger, substitutes replaced. Applied
//! set-based (see [`crate::store::import`]): a million rows are a handful of statements.

use super::{Lookups, Problems, Row};
use crate::app::{Actor, App, AppResult};
use crate::domain::{parse_quantity, Money, Sku};
use crate::store::{self, import::ProductIn, Conn};
use std::collections::HashMap;

/// Checks every row and stages the good ones on `conn` (nothing is staged when a row is bad).
pub(super) async fn stage(
    conn: &mut Conn,
    rows: &[Row],
    p: &mut Problems,
    look: &mut Lookups,
) -> AppResult<()> {
    let mut staged: Vec<ProductIn> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for row in rows {
        let sku = p.required(row, "sku", Sku::parse);
        let name = p.required(row, "name", |s| Ok::<_, String>(s.to_string()));
        let price = p.required(row, "unit_price", Money::parse);
        let on_hand = p.cell(row, "on_hand", parse_quantity);
        let rp = p.cell(row, "reorder_point", parse_quantity).unwrap_or(0);
        let ss = p.cell(row, "safety_stock", parse_quantity).unwrap_or(0);
        let rq = p.cell(row, "reorder_qty", parse_quantity).unwrap_or(0);
        let lead = p.cell(row, "lead_time_days", super::lead_time);
        let supplier_id = look.supplier(conn, p, row).await?;
        let substitutes: Vec<Sku> = row
            .get("substitutes")
            .map(|s| {
                s.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| p.cell_sku(row.line, s))
                    .collect()
            })
            .unwrap_or_default();
        let (Some(sku), Some(name), Some(price)) = (sku, name, price) else {
            continue;
        };
        if let Some(first) = seen.insert(sku.key(), row.line) {
            p.add(row.line, "sku", format!("{sku} is already on line {first}"));
            continue;
        }
        staged.push(ProductIn {
            line: row.line as i64,
            sku: sku.to_string(),
            name,
            category: row.get("category").unwrap_or("").to_string(),
            unit_price_minor: price.0,
            on_hand,
            reorder_point: rp,
            safety_stock: ss,
            reorder_qty: rq,
            lead_time_days: lead,
            supplier_id,
            substitutes: substitutes.iter().map(Sku::key).collect(),
        });
    }
    // Substitutes may name products further down the same file, or ones already stored.
    for row in &staged {
        for key in &row.substitutes {
            if seen.contains_key(key) {
                continue;
            }
            let known = match Sku::parse(key) {
                Ok(sku) => look.product_by_key(conn, &sku).await?.is_some(),
                Err(_) => false,
            };
            if !known {
                p.add(
                    row.line as usize,
                    "substitutes",
                    format!("unknown SKU \"{key}\""),
                );
            }
        }
    }
    if p.0.is_empty() {
        store::import::stage_products(conn, &staged).await?;
    }
    Ok(())
}

/// Writes the staged products; returns the products to settle (stock moved, backorders open).
pub(super) async fn apply(
    app: &App,
    conn: &mut Conn,
    actor: &Actor,
    report: &mut super::ImportReport,
    p: &mut Problems,
) -> AppResult<Vec<i64>> {
    let below = store::import::check_products(conn).await?;
    if !below.is_empty() {
        for b in below {
            p.add(
                b.line as usize,
                "on_hand",
                format!(
                    "{} is below the {} units already allocated",
                    b.on_hand, b.allocated
                ),
            );
        }
        return Ok(Vec::new());
    }
    let applied = store::import::apply_products(conn, &actor.name, app.clock.now()).await?;
    report.changed = applied.changed;
    report.unchanged = report.rows - applied.changed;
    Ok(applied.restocked_with_backorders)
}
