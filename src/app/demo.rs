//! Demo data: the bundled demo shop, and deterministic synthetic shops for benchmarks.

use super::import::{apply, stage, ImportKind};
use super::{Actor, App, AppError, AppResult};
pub use crate::store::import::ShopCounts;
use chrono::{Days, NaiveDate};

/// The bundled demo shop, in import order. Dates are written relative to today
/// (`{today+6}`) so the shop looks alive whenever it is loaded.
const DEMO: [(ImportKind, &str); 5] = [
    (
        ImportKind::Suppliers,
        include_str!("../../config/demo/suppliers.csv"),
    ),
    (
        ImportKind::Products,
        include_str!("../../config/demo/products.csv"),
    ),
    (
        ImportKind::Customers,
        include_str!("../../config/demo/customers.csv"),
    ),
    (
        ImportKind::PurchaseOrders,
        include_str!("../../config/demo/purchase-orders.csv"),
    ),
    (
        ImportKind::Orders,
        include_str!("../../config/demo/orders.csv"),
    ),
];

/// Replaces `{today}`, `{today+N}` and `{today-N}` with dates.
pub fn relative_dates(text: &str, today: NaiveDate) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{today") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let Some(end) = after.find('}') else { break };
        let offset: i64 = after[..end].parse().unwrap_or(0);
        let date = if offset >= 0 {
            today.checked_add_days(Days::new(offset as u64))
        } else {
            today.checked_sub_days(Days::new(offset.unsigned_abs()))
        }
        .unwrap_or(today);
        out.push_str(&date.to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Loads the bundled demo shop, but only into a database with no rows in any table: it never
/// overwrites anything. Its customers are made up, so the updates loading it would queue for
/// them (new backorders, promises) are dropped in the same transaction: nothing is sent. The check is repeated inside the one write transaction that loads all
/// five files, so a process writing at the same moment cannot be overwritten either. Returns
/// what it added, or `None` when the database was not empty.
pub async fn load_bundled(app: &App, actor: &Actor) -> AppResult<Option<ShopCounts>> {
    let mut conn = app.store.conn().await?;
    // A plain read first: a database in use is not worth taking the write lock for.
    if !crate::store::import::database_is_empty(&mut conn).await? {
        return Ok(None);
    }
    let today = app.clock.today();
    let result: AppResult<Option<ShopCounts>> = async {
        let mut tx = crate::store::begin_write_on(&mut conn).await?;
        if !crate::store::import::database_is_empty(&mut tx).await? {
            return Ok(None);
        }
        for (kind, text) in DEMO {
            let text = relative_dates(text, today);
            let staged = stage(
                &mut tx,
                kind,
                std::io::Cursor::new(text.into_bytes()),
                app.clock.now(),
            )
            .await?;
            apply(app, &mut tx, actor, staged).await?;
        }
        crate::store::outbox::discard_all(&mut tx).await?;
        // The database was empty: what it holds now is what was added.
        let added = crate::store::import::shop_counts(&mut tx).await?;
        tx.commit().await?;
        Ok(Some(added))
    }
    .await;
    crate::store::import::clear(&mut conn).await?;
    result
}

/// Marks an empty database as a shop that starts from its own data: an audit entry, so the
/// database is no longer empty and the demo shop is never loaded into it on first start.
/// Returns `false` (and changes nothing) when the database was not empty.
pub async fn start_empty(app: &App, actor: &Actor) -> AppResult<bool> {
    let mut tx = app.store.begin_write().await?;
    if !crate::store::import::database_is_empty(&mut tx).await? {
        return Ok(false);
    }
    crate::store::audit::record(
        &mut tx,
        &crate::domain::audit::AuditEntry::ok(
            &actor.name,
            "init",
            "an empty shop for its own data: no demo data",
        ),
        app.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// What a synthetic shop holds.
pub use crate::store::bulk::SynthCounts;

/// Creates (or tops up to) a deterministic synthetic shop of `skus` products.
pub async fn synthetic(app: &App, skus: u64, seed: u64) -> AppResult<SynthCounts> {
    if skus == 0 {
        return Err(AppError::invalid("--skus", "must be at least 1"));
    }
    let mut tx = app.store.begin_write().await?;
    let counts =
        crate::store::bulk::synthesize(&mut tx, skus as i64, seed as i64, app.clock.now()).await?;
    tx.commit().await?;
    Ok(counts)
}

/// Products per write of [`synthetic_sales`]: about a million history rows, a second or two.
const SALES_PAGE: i64 = 20_000;

/// Gives every synthetic SKU without sales history `days` days of it, up to yesterday (see
/// [`crate::store::bulk::synthesize_sales`] for the demand patterns). Returns the rows added.
pub async fn synthetic_sales(app: &App, days: u64, seed: u64) -> AppResult<u64> {
    if days == 0 || days > 3660 {
        return Err(AppError::invalid(
            "--sales-days",
            "must be between 1 and 3660",
        ));
    }
    let now = app.clock.now();
    let mut added = 0;
    let mut after = 0;
    loop {
        let mut tx = app.store.begin_write().await?;
        let Some(upto) = crate::store::demand::page_end(&mut tx, after, SALES_PAGE).await? else {
            break;
        };
        added += crate::store::bulk::synthesize_sales(
            &mut tx,
            after,
            upto,
            days as i64,
            seed as i64,
            now.date_naive(),
            now,
        )
        .await?;
        tx.commit().await?;
        after = upto;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dates_are_filled_in() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(
            relative_dates("a,{today+6},{today-1},{today}", today),
            "a,2026-12-02,2026-11-25,2026-11-26"
        );
    }
}
