//! The stock ledger and the position row kept beside it.

use super::{ts, Conn};
use crate::domain::{MovementKind, ProductId};
use crate::store::run;
use chrono::{DateTime, Utc};

/// [`AVAILABLE`]'s text, as a macro so that `concat!` can build constant statements from it.
macro_rules! available_sql {
    () => {
        "(CASE WHEN COALESCE(sp.on_hand, 0) > COALESCE(sp.allocated, 0) \
          THEN COALESCE(sp.on_hand, 0) - COALESCE(sp.allocated, 0) ELSE 0 END)"
    };
}
pub(crate) use available_sql;

/// [`crate::domain::stock::available`] over `stock_positions` read as `sp` (no row reads as 0).
/// A CASE rather than SQLite's two-argument `MAX`, which PostgreSQL spells `GREATEST`.
pub const AVAILABLE: &str = available_sql!();

/// [`crate::domain::stock::free_to_promise`] over `stock_positions` read as `sp`: the units owed
/// to open backorders are the `backorder_units` that migration 0011's triggers keep.
pub const FREE_TO_PROMISE: &str = "(CASE WHEN COALESCE(sp.on_hand, 0) > COALESCE(sp.allocated, 0) \
    + COALESCE(sp.backorder_units, 0) THEN COALESCE(sp.on_hand, 0) - COALESCE(sp.allocated, 0) \
    - COALESCE(sp.backorder_units, 0) ELSE 0 END)";

/// On hand and allocated for one product.
#[derive(Debug, Clone, Copy, sqlx::FromRow, PartialEq, Eq)]
pub struct PositionRow {
    pub on_hand: i64,
    pub allocated: i64,
}

/// Reads a product's position (zero when it has none yet).
pub async fn position(conn: &mut Conn, product_id: ProductId) -> anyhow::Result<PositionRow> {
    Ok(run!(
        conn,
        sqlx::query_as("SELECT on_hand, allocated FROM stock_positions WHERE product_id = $1")
            .bind(product_id),
        fetch_optional
    )?
    .unwrap_or(PositionRow {
        on_hand: 0,
        allocated: 0,
    }))
}

/// A stock movement to record.
#[derive(Debug, Clone)]
pub struct Movement<'a> {
    pub product_id: ProductId,
    pub kind: MovementKind,
    /// Signed units.
    pub qty: i64,
    pub actor: &'a str,
    pub reason: &'a str,
    /// PO number, order number…
    pub reference: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Writes a movement and moves on-hand by the same amount, in the caller's transaction.
pub async fn record_movement(conn: &mut Conn, m: &Movement<'_>) -> anyhow::Result<()> {
    run!(conn, sqlx::query(
        "INSERT INTO stock_movements (product_id, kind, qty, actor, reason, reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.product_id)
    .bind(m.kind)
    .bind(m.qty)
    .bind(m.actor)
    .bind(m.reason)
    .bind(m.reference)
    .bind(ts(m.at)), execute)?;
    // An UPDATE, not an upsert: SQLite checks CHECK constraints on the would-be inserted row.
    let updated = run!(
        conn,
        sqlx::query("UPDATE stock_positions SET on_hand = on_hand + $1 WHERE product_id = $2")
            .bind(m.qty)
            .bind(m.product_id),
        execute
    )?;
    if updated == 0 {
        run!(
            conn,
            sqlx::query("INSERT INTO stock_positions (product_id, on_hand) VALUES ($1, $2)")
                .bind(m.product_id)
                .bind(m.qty),
            execute
        )?;
    }
    Ok(())
}

/// Moves the allocated count (positive to allocate, negative to release or ship).
pub async fn change_allocated(
    conn: &mut Conn,
    product_id: ProductId,
    delta: i64,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("UPDATE stock_positions SET allocated = allocated + $1 WHERE product_id = $2")
            .bind(delta)
            .bind(product_id),
        execute
    )?;
    Ok(())
}

/// On hand, allocated, and the count and units still owed of open backorders (the totals
/// migration 0011's triggers keep), in one read of one row.
pub async fn position_with_backorders(
    conn: &mut Conn,
    product_id: ProductId,
) -> anyhow::Result<(PositionRow, i64, i64)> {
    let row: Option<(i64, i64, i64, i64)> = run!(
        conn,
        sqlx::query_as(
            "SELECT on_hand, allocated, open_backorders, backorder_units
         FROM stock_positions WHERE product_id = $1",
        )
        .bind(product_id),
        fetch_optional
    )?;
    let (on_hand, allocated, open, units) = row.unwrap_or_default();
    Ok((PositionRow { on_hand, allocated }, open, units))
}

/// One product's net stock movement per UTC day from `from` on (inclusive), days with movements
/// only, oldest first: what on-hand history is rebuilt from, backwards from today's on hand.
pub async fn net_movements_by_day(
    conn: &mut Conn,
    product_id: ProductId,
    from: chrono::NaiveDate,
) -> anyhow::Result<Vec<(chrono::NaiveDate, i64)>> {
    let rows: Vec<(String, i64)> = run!(
        conn,
        sqlx::query_as(
            "SELECT substr(created_at, 1, 10) AS d, SUM(qty) FROM stock_movements
         WHERE product_id = $1 AND created_at >= $2 GROUP BY d ORDER BY d",
        )
        .bind(product_id)
        .bind(super::day(from)),
        fetch_all
    )?;
    rows.into_iter()
        .map(|(d, qty)| Ok((super::parse_day(&d)?, qty)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{AVAILABLE, FREE_TO_PROMISE};
    use crate::domain::stock::{available, free_to_promise};
    use crate::store::{run, Conn};
    use sqlx::Connection;

    /// The SQL fragments give what the domain functions give, a missing position row included.
    #[tokio::test]
    async fn sql_fragments_agree_with_the_domain_rules() {
        let mut conn = Conn::from(
            sqlx::SqliteConnection::connect("sqlite::memory:")
                .await
                .unwrap(),
        );
        let values = [None, Some(0), Some(3), Some(10), Some(25)];
        for on_hand in values {
            for allocated in values {
                for owed in values {
                    let (a, f): (i64, i64) = run!(
                        &mut conn,
                        sqlx::query_as(&format!(
                            "SELECT {AVAILABLE}, {FREE_TO_PROMISE}
                         FROM (SELECT $1 AS on_hand, $2 AS allocated, $3 AS backorder_units) sp"
                        ))
                        .bind(on_hand)
                        .bind(allocated)
                        .bind(owed),
                        fetch_one
                    )
                    .unwrap();
                    let (o, l, u) = (
                        on_hand.unwrap_or(0),
                        allocated.unwrap_or(0),
                        owed.unwrap_or(0),
                    );
                    assert_eq!(a, available(o, l), "{on_hand:?} {allocated:?}");
                    assert_eq!(
                        f,
                        free_to_promise(o, l, u),
                        "{on_hand:?} {allocated:?} {owed:?}"
                    );
                }
            }
        }
    }
}
