//! CSV import: the shop's data in. One file is one transaction; any bad row writes nothing.

use super::orders::{place_line, OrderLineInput};
use super::promise::{settle, Cause};
use super::purchasing::{upsert_po_line, PoLineInput};
use super::{Actor, App, AppError, AppResult};
use crate::domain::customer::parse_timezone;
use crate::domain::date::parse_date;
use crate::domain::{
    parse_positive_quantity, parse_quantity, Channel, EmailAddress, Money, PhoneNumber, Sku, Tier,
};
use crate::store::{
    self, audit, customers::CustomerRow, products::NewProduct, suppliers::SupplierRow,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Products.
    Products,
    /// Suppliers.
    Suppliers,
    /// Customers.
    Customers,
    /// Purchase-order lines.
    PurchaseOrders,
    /// Order lines.
    Orders,
}

impl ImportKind {
    /// Parses the CLI spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "products" => Self::Products,
            "suppliers" => Self::Suppliers,
            "customers" => Self::Customers,
            "purchase-orders" => Self::PurchaseOrders,
            "orders" => Self::Orders,
            _ => return None,
        })
    }

    /// Columns, key first; the required ones are marked.
    pub fn columns(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::Products => &[
                ("sku", true),
                ("name", true),
                ("category", false),
                ("unit_price", true),
                ("on_hand", false),
                ("reorder_point", false),
                ("safety_stock", false),
                ("reorder_qty", false),
                ("lead_time_days", false),
                ("supplier", false),
                ("substitutes", false),
            ],
            Self::Suppliers => &[
                ("code", true),
                ("name", true),
                ("email", false),
                ("phone", false),
                ("lead_time_days", false),
            ],
            Self::Customers => &[
                ("id", true),
                ("name", true),
                ("email", false),
                ("phone", false),
                ("tier", false),
                ("channel", false),
                ("timezone", false),
            ],
            Self::PurchaseOrders => &[
                ("po", true),
                ("supplier", false),
                ("sku", true),
                ("qty", true),
                ("eta", false),
                ("status", false),
            ],
            Self::Orders => &[
                ("order", true),
                ("customer", true),
                ("sku", true),
                ("qty", true),
                ("unit_price", false),
                ("ordered_at", false),
            ],
        }
    }
}

/// One bad cell or row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: usize,
    /// Column, if one is to blame.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// Why a file was refused: every problem found, the first 20 shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors {
    /// Problems in file order.
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "import refused, nothing was written: {} problem(s)",
            self.errors.len()
        )?;
        for e in self.errors.iter().take(20) {
            match &e.column {
                Some(c) => write!(f, "\n  line {}, column {c}: {}", e.line, e.reason)?,
                None => write!(f, "\n  line {}: {}", e.line, e.reason)?,
            }
        }
        if self.errors.len() > 20 {
            write!(f, "\n  … and {} more", self.errors.len() - 20)?;
        }
        Ok(())
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    /// Rows that created or changed something.
    pub changed: usize,
    /// Rows that matched what was stored.
    pub unchanged: usize,
    /// Backorders created (orders).
    pub backorders_created: usize,
    /// Warnings (unknown columns).
    pub warnings: Vec<String>,
}

struct Row {
    line: usize,
    cells: HashMap<&'static str, String>,
}

impl Row {
    fn get(&self, col: &str) -> Option<&str> {
        self.cells
            .get(col)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

/// Collects problems with row and column while rows are checked.
#[derive(Default)]
struct Problems(Vec<RowError>);

impl Problems {
    fn add(&mut self, line: usize, column: &str, reason: impl fmt::Display) {
        self.0.push(RowError {
            line,
            column: Some(column.to_string()),
            reason: reason.to_string(),
        });
    }

    /// Parses a cell; records the problem and returns `None` on failure.
    fn cell<T, E: fmt::Display>(
        &mut self,
        row: &Row,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = row.get(col)?;
        match parse(raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(row.line, col, e);
                None
            }
        }
    }

    fn cell_sku(&mut self, line: usize, raw: &str) -> Option<Sku> {
        match Sku::parse(raw) {
            Ok(s) => Some(s),
            Err(e) => {
                self.add(line, "substitutes", e);
                None
            }
        }
    }

    fn required<T, E: fmt::Display>(
        &mut self,
        row: &Row,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        if row.get(col).is_none() {
            self.add(row.line, col, "is empty");
            return None;
        }
        self.cell(row, col, parse)
    }
}

fn read_rows(kind: ImportKind, input: impl Read) -> Result<(Vec<Row>, Vec<String>), ImportErrors> {
    let fail = |line: usize, reason: String| ImportErrors {
        errors: vec![RowError {
            line,
            column: None,
            reason,
        }],
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| fail(1, format!("cannot read the header row: {e}")))?
        .clone();
    let header: Vec<String> = headers
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let known = kind.columns();
    let missing: Vec<&str> = known
        .iter()
        .filter(|(c, req)| *req && !header.iter().any(|h| h == c))
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(fail(
            1,
            format!(
                "the header row lacks required column(s): {}",
                missing.join(", ")
            ),
        ));
    }
    let unknown: Vec<&String> = header
        .iter()
        .filter(|h| !known.iter().any(|(c, _)| c == h))
        .collect();
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        warnings.push(format!(
            "ignored unknown column(s): {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        match record {
            Ok(rec) => {
                let mut cells = HashMap::new();
                for (h, v) in header.iter().zip(rec.iter()) {
                    if let Some((name, _)) = known.iter().find(|(c, _)| c == h) {
                        cells.insert(*name, v.to_string());
                    }
                }
                rows.push(Row {
                    line: rec.position().map_or(line, |p| p.line() as usize),
                    cells,
                });
            }
            Err(e) => errors.push(RowError {
                line,
                column: None,
                reason: format!("not a valid CSV row: {e}"),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ImportErrors { errors });
    }
    Ok((rows, warnings))
}

fn lead_time(raw: &str) -> Result<i64, String> {
    let n = parse_quantity(raw).map_err(|e| e.to_string())?;
    if n > 730 {
        return Err(format!("{n} days is more than two years"));
    }
    Ok(n)
}

fn ordered_at(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| format!("\"{raw}\" is not a date (2026-11-26) or time (2026-11-26T10:00:00Z)"))
}

/// Imports one CSV file of the given kind as one transaction.
pub async fn import(
    app: &App,
    actor: &Actor,
    kind: ImportKind,
    input: impl Read,
) -> AppResult<ImportReport> {
    let (rows, warnings) = read_rows(kind, input)?;
    let mut tx = app.store.begin_write().await?;
    let mut report = ImportReport {
        rows: rows.len(),
        warnings,
        ..ImportReport::default()
    };
    let mut p = Problems::default();
    let mut touched: Vec<i64> = Vec::new();
    let mut cause = Cause::PoChanged;
    match kind {
        ImportKind::Suppliers => {
            for row in &rows {
                let code = p.required(row, "code", |s| Ok::<_, String>(s.to_string()));
                let name = p.required(row, "name", |s| Ok::<_, String>(s.to_string()));
                let email = p.cell(row, "email", EmailAddress::parse);
                let phone = p.cell(row, "phone", PhoneNumber::parse);
                let lead = p.cell(row, "lead_time_days", lead_time).unwrap_or(14);
                if let (Some(code), Some(name)) = (code, name) {
                    let s = SupplierRow {
                        id: 0,
                        code,
                        name,
                        email: email.map(|e| e.expose().to_string()),
                        phone: phone.map(|p| p.expose().to_string()),
                        lead_time_days: lead,
                    };
                    count(&mut report, store::suppliers::upsert(&mut tx, &s).await?);
                }
            }
        }
        ImportKind::Customers => {
            cause = Cause::TierChanged;
            for row in &rows {
                let id = p.required(row, "id", |s| Ok::<_, String>(s.to_string()));
                let name = p.required(row, "name", |s| Ok::<_, String>(s.to_string()));
                let email = p.cell(row, "email", EmailAddress::parse);
                let phone = p.cell(row, "phone", PhoneNumber::parse);
                let tier = p.cell(row, "tier", Tier::parse).unwrap_or(Tier::Standard);
                let channel = p
                    .cell(row, "channel", Channel::parse)
                    .unwrap_or(Channel::Email);
                let tz = p
                    .cell(row, "timezone", parse_timezone)
                    .unwrap_or_else(|| "UTC".to_string());
                if channel == Channel::Sms && phone.is_none() && row.get("phone").is_none() {
                    p.add(row.line, "phone", "is needed when channel is sms");
                }
                if channel == Channel::Email && email.is_none() && row.get("email").is_none() {
                    p.add(row.line, "email", "is needed when channel is email");
                }
                if let (Some(external_id), Some(name)) = (id, name) {
                    let c = CustomerRow {
                        id: 0,
                        external_id,
                        name,
                        email: email.map(|e| e.expose().to_string()),
                        phone: phone.map(|p| p.expose().to_string()),
                        tier: tier.as_str().to_string(),
                        channel: channel.as_str().to_string(),
                        timezone: tz,
                        sms_opt_out: false,
                        email_opt_out: false,
                    };
                    let (cid, changed, tier_changed) =
                        store::customers::upsert(&mut tx, &c).await?;
                    count(&mut report, changed);
                    if tier_changed {
                        touched.extend(
                            store::backorders::open_products_of_customer(&mut tx, cid).await?,
                        );
                    }
                }
            }
        }
        ImportKind::Products => {
            cause = Cause::StockAdjusted;
            let mut subs: Vec<(usize, i64, Vec<Sku>, bool)> = Vec::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for row in &rows {
                let sku = p.required(row, "sku", Sku::parse);
                let name = p.required(row, "name", |s| Ok::<_, String>(s.to_string()));
                let price = p.required(row, "unit_price", Money::parse);
                let on_hand = p.cell(row, "on_hand", parse_quantity);
                let rp = p.cell(row, "reorder_point", parse_quantity).unwrap_or(0);
                let ss = p.cell(row, "safety_stock", parse_quantity).unwrap_or(0);
                let rq = p.cell(row, "reorder_qty", parse_quantity).unwrap_or(0);
                let lead = p.cell(row, "lead_time_days", lead_time);
                let mut supplier_id = None;
                if let Some(code) = row.get("supplier") {
                    match store::suppliers::by_code(&mut tx, code).await? {
                        Some(s) => supplier_id = Some(s.id),
                        None => p.add(row.line, "supplier", format!("unknown supplier \"{code}\"")),
                    }
                }
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
                let np = NewProduct {
                    sku: sku.to_string(),
                    name,
                    category: row.get("category").unwrap_or("").to_string(),
                    unit_price_minor: price.0,
                    reorder_point: rp,
                    safety_stock: ss,
                    reorder_qty: rq,
                    lead_time_days: lead,
                    supplier_id,
                };
                let (pid, mut changed) = store::products::upsert(&mut tx, &np).await?;
                if let Some(target) = on_hand {
                    let pos = store::stock::position(&mut tx, pid).await?;
                    let delta = target - pos.on_hand;
                    if delta != 0 {
                        if target < pos.allocated {
                            p.add(
                                row.line,
                                "on_hand",
                                format!(
                                    "{target} is below the {} units already allocated",
                                    pos.allocated
                                ),
                            );
                        } else {
                            store::stock::record_movement(
                                &mut tx,
                                &store::stock::Movement {
                                    product_id: pid,
                                    kind: "adjustment",
                                    qty: delta,
                                    actor: &actor.name,
                                    reason: "import: on_hand",
                                    reference: None,
                                    at: app.clock.now(),
                                },
                            )
                            .await?;
                            changed = true;
                            touched.push(pid);
                        }
                    }
                }
                subs.push((row.line, pid, substitutes, changed));
            }
            // Substitutes may name products further down the same file.
            for (line, pid, skus, changed) in subs {
                let keys: Vec<String> = skus.iter().map(Sku::key).collect();
                let found = store::products::ids_by_keys(&mut tx, &keys).await?;
                for k in &keys {
                    if !found.iter().any(|(fk, _)| fk == k) {
                        p.add(line, "substitutes", format!("unknown SKU \"{k}\""));
                    }
                }
                let ids: Vec<i64> = found.into_iter().map(|(_, id)| id).collect();
                let subs_changed = store::products::set_substitutes(&mut tx, pid, &ids).await?;
                count(&mut report, changed || subs_changed);
            }
        }
        ImportKind::PurchaseOrders => {
            for row in &rows {
                let po = p.required(row, "po", |s| Ok::<_, String>(s.to_string()));
                let sku = p.required(row, "sku", Sku::parse);
                let qty = p.required(row, "qty", parse_positive_quantity);
                let eta = p.cell(row, "eta", parse_date);
                let status = p.cell(row, "status", |s| match s.to_ascii_lowercase().as_str() {
                    "open" | "partially_received" | "received" => Ok("open".to_string()),
                    "cancelled" => Ok("cancelled".to_string()),
                    other => Err(format!("\"{other}\" is not a status (open or cancelled)")),
                });
                let mut supplier_id = None;
                if let Some(code) = row.get("supplier") {
                    match store::suppliers::by_code(&mut tx, code).await? {
                        Some(s) => supplier_id = Some(s.id),
                        None => p.add(row.line, "supplier", format!("unknown supplier \"{code}\"")),
                    }
                }
                let product = match &sku {
                    Some(s) => match store::products::by_key(&mut tx, &s.key()).await? {
                        Some(prod) => Some(prod),
                        None => {
                            p.add(row.line, "sku", format!("unknown SKU \"{s}\""));
                            None
                        }
                    },
                    None => None,
                };
                let (Some(po), Some(product), Some(qty)) = (po, product, qty) else {
                    continue;
                };
                let (po_id, header_changed) =
                    store::purchasing::upsert_po(&mut tx, &po, supplier_id, app.clock.now())
                        .await?;
                let input = PoLineInput {
                    product_id: product.id,
                    qty,
                    eta,
                    status: status.unwrap_or_else(|| "open".to_string()),
                };
                match upsert_po_line(app, &mut tx, &actor.name, po_id, &input).await {
                    Ok(changed) => {
                        store::purchasing::refresh_po_status(&mut tx, po_id).await?;
                        count(&mut report, changed || header_changed);
                        if changed {
                            touched.push(product.id);
                        }
                    }
                    Err(AppError::Invalid { field, reason }) => p.add(row.line, &field, reason),
                    Err(e) => return Err(e),
                }
            }
        }
        ImportKind::Orders => {
            cause = Cause::BackorderCreated;
            for row in &rows {
                let order = p.required(row, "order", |s| Ok::<_, String>(s.to_string()));
                let customer = match row.get("customer") {
                    None => {
                        p.add(row.line, "customer", "is empty");
                        None
                    }
                    Some(c) => match store::customers::by_external_id(&mut tx, c).await? {
                        Some(c) => Some(c),
                        None => {
                            p.add(row.line, "customer", format!("unknown customer \"{c}\""));
                            None
                        }
                    },
                };
                let sku = p.required(row, "sku", Sku::parse);
                let qty = p.required(row, "qty", parse_positive_quantity);
                let price = p.cell(row, "unit_price", Money::parse);
                let at = p
                    .cell(row, "ordered_at", ordered_at)
                    .unwrap_or_else(|| app.clock.now());
                let product = match &sku {
                    Some(s) => match store::products::by_key(&mut tx, &s.key()).await? {
                        Some(prod) => Some(prod),
                        None => {
                            p.add(row.line, "sku", format!("unknown SKU \"{s}\""));
                            None
                        }
                    },
                    None => None,
                };
                let (Some(order), Some(customer), Some(product), Some(qty)) =
                    (order, customer, product, qty)
                else {
                    continue;
                };
                let line = OrderLineInput {
                    product_id: product.id,
                    sku: product.sku.clone(),
                    qty,
                    unit_price_minor: price.map_or(product.unit_price_minor, |m| m.0),
                };
                match place_line(app, &mut tx, &order, customer.id, at, &line).await {
                    Ok(out) => {
                        count(&mut report, !out.unchanged);
                        if out.backorder_id.is_some() {
                            report.backorders_created += 1;
                            touched.push(product.id);
                        }
                    }
                    Err(AppError::Invalid { field, reason }) => p.add(row.line, &field, reason),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    if !p.0.is_empty() {
        // Dropping the transaction rolls back every row.
        p.0.sort_by_key(|e| e.line);
        return Err(ImportErrors { errors: p.0 }.into());
    }
    settle(app, &mut tx, &touched, cause, &actor.name, "import", false).await?;
    audit::record(
        &mut tx,
        &actor.name,
        "import",
        &format!("{kind:?}: {} rows, {} changed", report.rows, report.changed),
        "",
        "ok",
        app.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

fn count(report: &mut ImportReport, changed: bool) {
    if changed {
        report.changed += 1;
    } else {
        report.unchanged += 1;
    }
}
