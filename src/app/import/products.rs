//! Products: upserted by SKU, `on_hand` counted into the ledger, substitutes replaced. Applied
//! set-based (see [`crate::store::import`]): a million rows are a handful of statements.

use super::{Lookups, Problems, Row, RowReader};
use crate::app::{Actor, App, AppResult};
use crate::domain::{ident, parse_quantity, text, Money, ProductId, Sku, SupplierId};
use crate::store::{self, import::ProductIn, Conn};
use std::collections::HashMap;
use std::io::Read;

/// Rows a parsing thread hands to the staging connection at a time.
const CHUNK: usize = 2000;

/// What the parsing thread found, besides the rows it handed over.
struct Parsed {
    rows: usize,
    problems: Problems,
    warnings: Vec<String>,
    /// `(line, key)` of substitutes not found among the file's own SKUs.
    outside_substitutes: Vec<(usize, String)>,
}

/// Reads, checks and stages a products file on `conn`. A thread parses and checks the rows while
/// the connection stages the previous ones, so the two overlap; bad rows are left out and their
/// problems recorded, and the good ones are still staged so that [`apply`] can check them against
/// the stored state: the error list is whole. Returns the number of data rows and the warnings.
pub(super) async fn stage(
    conn: &mut Conn,
    input: impl Read + Send + 'static,
    p: &mut Problems,
) -> AppResult<(usize, Vec<String>)> {
    let reader = RowReader::open(super::ImportKind::Products, input)?;
    // Suppliers are few and never deleted: look them all up once.
    let suppliers = store::suppliers::ids_by_code(conn).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<ProductIn>>(4);
    let parser = tokio::task::spawn_blocking(move || parse(reader, &suppliers, &tx));
    store::import::begin_products(conn).await?;
    let mut staging: AppResult<()> = Ok(());
    while let Some(chunk) = rx.recv().await {
        if staging.is_ok() {
            staging = store::import::stage_products(conn, chunk)
                .await
                .map_err(Into::into);
            if staging.is_err() {
                // Dropping the receiver stops the parser at its next chunk.
                rx.close();
            }
        }
    }
    let parsed = parser
        .await
        .map_err(|e| anyhow::anyhow!("the import's parsing thread failed: {e}"))?;
    staging?;
    p.0.extend(parsed.problems.0);
    // Substitutes may also name products already stored.
    let mut look = Lookups::default();
    for (line, key) in &parsed.outside_substitutes {
        let known = match Sku::parse(key) {
            Ok(sku) => look.product_by_key(conn, &sku).await?.is_some(),
            Err(_) => false,
        };
        if !known {
            p.add(*line, "substitutes", format!("unknown SKU \"{key}\""));
        }
    }
    Ok((parsed.rows, parsed.warnings))
}

/// Parses and checks every row, sending the good ones on in chunks.
fn parse(
    mut reader: RowReader<impl Read>,
    suppliers: &HashMap<String, SupplierId>,
    tx: &tokio::sync::mpsc::Sender<Vec<ProductIn>>,
) -> Parsed {
    let mut p = Problems::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut chunk: Vec<ProductIn> = Vec::with_capacity(CHUNK);
    let mut substitutes_of: Vec<(usize, Vec<String>)> = Vec::new();
    // False once the receiver is gone (staging failed; its error is reported).
    let mut sending = true;
    let mut rows = 0;
    let mut row = reader.blank();
    while reader.next_valid(&mut row, &mut p) {
        rows += 1;
        let Some(product) = check(&row, suppliers, &mut p, &mut seen) else {
            continue;
        };
        if !product.substitutes.is_empty() {
            substitutes_of.push((row.line, product.substitutes.clone()));
        }
        if sending {
            chunk.push(product);
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                // The receiver is gone only when staging failed; its error is reported.
                sending = tx.blocking_send(full).is_ok();
            }
        }
    }
    if sending && !chunk.is_empty() {
        let _ = tx.blocking_send(chunk);
    }
    let outside_substitutes = substitutes_of
        .into_iter()
        .flat_map(|(line, keys)| keys.into_iter().map(move |k| (line, k)))
        .filter(|(_, k)| !seen.contains_key(k))
        .collect();
    Parsed {
        rows,
        problems: p,
        warnings: reader.warnings,
        outside_substitutes,
    }
}

/// One row's checks; `None` when it is bad (its problems recorded) or repeats a SKU.
fn check(
    row: &Row,
    suppliers: &HashMap<String, SupplierId>,
    p: &mut Problems,
    seen: &mut HashMap<String, usize>,
) -> Option<ProductIn> {
    let sku = p.required(row, "sku", Sku::parse);
    let name = p.required(row, "name", text::name);
    let price = p.required(row, "unit_price", Money::parse);
    let on_hand = p.cell(row, "on_hand", parse_quantity);
    let rp = p.cell(row, "reorder_point", parse_quantity).unwrap_or(0);
    let ss = p.cell(row, "safety_stock", parse_quantity).unwrap_or(0);
    let rq = p.cell(row, "reorder_qty", parse_quantity).unwrap_or(0);
    let lead = p.cell(row, "lead_time_days", super::lead_time);
    let category = p.cell(row, "category", text::optional_name);
    let supplier_id = row.get("supplier").and_then(|code| {
        // Checked before the lookup so that "unknown supplier" never echoes a control character.
        if let Err(e) = ident::identifier(code) {
            p.add(row.line, "supplier", e);
            return None;
        }
        let id = suppliers.get(code).copied();
        if id.is_none() {
            p.add(row.line, "supplier", format!("unknown supplier \"{code}\""));
        }
        id
    });
    let substitutes: Vec<String> = row
        .get("substitutes")
        .map(|s| {
            s.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .filter_map(|s| p.cell_sku(row.line, s))
                .map(|s| s.key())
                .collect()
        })
        .unwrap_or_default();
    let (Some(sku), Some(name), Some(price)) = (sku, name, price) else {
        return None;
    };
    let sku_key = sku.key();
    match seen.entry(sku_key.clone()) {
        std::collections::hash_map::Entry::Occupied(first) => {
            let first = *first.get();
            p.add(row.line, "sku", format!("{sku} is already on line {first}"));
            return None;
        }
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(row.line);
        }
    }
    Some(ProductIn {
        line: row.line as i64,
        sku: sku.as_str().to_owned(),
        sku_key,
        name,
        category: category.unwrap_or_default(),
        unit_price_minor: price.0,
        on_hand,
        reorder_point: rp,
        safety_stock: ss,
        reorder_qty: rq,
        lead_time_days: lead,
        supplier_id,
        substitutes,
    })
}

/// Writes the staged products; returns the products to settle (stock moved, backorders open).
pub(super) async fn apply(
    app: &App,
    conn: &mut Conn,
    actor: &Actor,
    report: &mut super::ImportReport,
    p: &mut Problems,
) -> AppResult<Vec<ProductId>> {
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
    }
    if !p.0.is_empty() {
        return Ok(Vec::new());
    }
    let applied = store::import::apply_products(conn, &actor.name, app.clock.now()).await?;
    report.changed = applied.changed;
    report.unchanged = report.rows - applied.changed;
    Ok(applied.restocked_with_backorders)
}
