//! Past sales: demand history for the forecasts. Stored beside the ledger, never in it, so
//! on-hand does not move (the stock count already reflects them). Keyed by (order, SKU), or by
//! the whole row when there is no order; what counts as demand is migration 0018's rule.

use super::{ImportKind, ImportReport, Lookups, Problems, Row, RowReader};
use crate::app::AppResult;
use crate::domain::date::{check_ordered_at, parse_date, parse_timestamp};
use crate::domain::{
    parse_positive_quantity, CustomerRef, OrderNumber, ParseError, ProductId, Sku,
};
use crate::store::{self, demand::SaleIn, Conn};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::collections::HashMap;
use std::io::Read;

/// When a sale happened: its stored form and its UTC day. A date stays a date; a time is stored
/// in UTC.
fn sold_at(raw: &str, now: DateTime<Utc>) -> Result<(String, NaiveDate), ParseError> {
    if raw.len() == 10 {
        let d = parse_date(raw)?;
        check_ordered_at(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(), now)?;
        return Ok((d.to_string(), d));
    }
    let at = check_ordered_at(parse_timestamp(raw)?, now)?;
    Ok((
        at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        at.date_naive(),
    ))
}

/// Reads the file as a stream, checks every row and stages the good ones on `conn`. Rows of one
/// file with the same order and SKU add up (the SKU on two lines of one order) and keep the
/// first row's time and customer; identical rows without an order are numbered so that both
/// are kept. Returns the rows read and the warnings.
pub(super) async fn stage(
    conn: &mut Conn,
    input: impl Read,
    p: &mut Problems,
    now: DateTime<Utc>,
) -> AppResult<(usize, Vec<String>)> {
    let mut reader = RowReader::open(ImportKind::Sales, input)?;
    let mut look = Lookups::default();
    let mut row = reader.blank();
    let mut rows = 0;
    let mut out: Vec<SaleIn> = Vec::new();
    let mut by_order: HashMap<(String, ProductId), usize> = HashMap::new();
    let mut repeats: HashMap<(ProductId, String, i64, Option<String>), i64> = HashMap::new();
    while reader.next_valid(&mut row, p) {
        rows += 1;
        if let Some(sale) = check(conn, &row, p, &mut look, now).await? {
            add(&mut out, &mut by_order, &mut repeats, sale);
        }
    }
    store::demand::stage_sales(conn, &out).await?;
    Ok((rows, reader.warnings))
}

/// One row's sale, or `None` with its problems recorded.
async fn check(
    conn: &mut Conn,
    row: &Row,
    p: &mut Problems,
    look: &mut Lookups,
    now: DateTime<Utc>,
) -> AppResult<Option<SaleIn>> {
    let sku = p.required(row, "sku", Sku::parse);
    let product = look.product(conn, p, row.line, sku.as_ref()).await?;
    let qty = p.required(row, "qty", parse_positive_quantity);
    let at = p.required(row, "sold_at", |raw| sold_at(raw, now));
    let order = p.cell(row, "order", |s| {
        OrderNumber::parse(s).map(|n| n.to_string())
    });
    let customer = p.cell(row, "customer", |s| {
        CustomerRef::parse(s).map(|c| c.to_string())
    });
    let bad_cell = (row.get("order").is_some() && order.is_none())
        || (row.get("customer").is_some() && customer.is_none());
    let (Some(product), Some(qty), Some((sold_at, day))) = (product, qty, at) else {
        return Ok(None);
    };
    if bad_cell {
        return Ok(None);
    }
    Ok(Some(SaleIn {
        product_id: product.id,
        order_number: order,
        customer,
        qty,
        sold_at,
        day,
        nth: 1,
        rows: 1,
    }))
}

/// Adds a checked sale to the file's sales: merged into an earlier row of the same order and
/// SKU, or numbered among identical rows without an order.
fn add(
    out: &mut Vec<SaleIn>,
    by_order: &mut HashMap<(String, ProductId), usize>,
    repeats: &mut HashMap<(ProductId, String, i64, Option<String>), i64>,
    mut sale: SaleIn,
) {
    match &sale.order_number {
        Some(order) => {
            let key = (order.clone(), sale.product_id);
            if let Some(&i) = by_order.get(&key) {
                out[i].qty += sale.qty;
                out[i].rows += 1;
                return;
            }
            by_order.insert(key, out.len());
        }
        None => {
            let key = (
                sale.product_id,
                sale.sold_at.clone(),
                sale.qty,
                sale.customer.clone(),
            );
            let n = repeats.entry(key).or_insert(0);
            *n += 1;
            sale.nth = *n;
        }
    }
    out.push(sale);
}

/// Writes the staged sales: new keys inserted, stored orders whose quantity, time or customer
/// changed updated. Nothing touches stock or backorders.
pub(super) async fn apply(
    conn: &mut Conn,
    report: &mut ImportReport,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let changed = store::demand::apply_sales(conn, now).await?;
    report.changed = changed;
    report.unchanged = report.rows.saturating_sub(changed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-05T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn sold_at_keeps_a_date_and_stores_a_time_in_utc() {
        let (s, d) = sold_at("2026-11-02", now()).unwrap();
        assert_eq!(
            (s.as_str(), d.to_string().as_str()),
            ("2026-11-02", "2026-11-02")
        );
        // 23:30 at UTC−2 is 01:30 UTC the next day: the day is the UTC one.
        let (s, d) = sold_at("2026-11-02T23:30:00-02:00", now()).unwrap();
        assert_eq!(s, "2026-11-03T01:30:00Z");
        assert_eq!(d.to_string(), "2026-11-03");
        assert!(sold_at("02.11.2026", now()).is_err());
        assert!(sold_at("2026-12-09", now()).is_err(), "days ahead");
        assert!(sold_at("1999-12-31", now()).is_err());
    }

    fn sale(order: Option<&str>, qty: i64) -> SaleIn {
        SaleIn {
            product_id: ProductId(7),
            order_number: order.map(str::to_string),
            customer: None,
            qty,
            sold_at: "2026-11-02".to_string(),
            day: "2026-11-02".parse().unwrap(),
            nth: 1,
            rows: 1,
        }
    }

    #[test]
    fn one_order_adds_up_and_identical_rows_without_one_are_numbered() {
        let (mut out, mut by_order, mut repeats) = (Vec::new(), HashMap::new(), HashMap::new());
        for s in [
            sale(Some("A-1"), 2),
            sale(None, 1),
            sale(Some("A-1"), 3),
            sale(None, 1),
            sale(None, 4),
        ] {
            add(&mut out, &mut by_order, &mut repeats, s);
        }
        let got: Vec<(Option<&str>, i64, i64)> = out
            .iter()
            .map(|s| (s.order_number.as_deref(), s.qty, s.nth))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("A-1"), 5, 1),
                (None, 1, 1),
                (None, 1, 2),
                (None, 4, 1)
            ]
        );
    }
}
