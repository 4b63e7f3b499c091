//! One customer at a glance.

use super::backorders::customer_by_external_id;
use super::promise::ranked_queue;
use super::{App, AppResult};
use crate::domain::BackorderStatus;
use crate::store::backorders::BackorderRow;
use crate::store::customers::CustomerRow;
use crate::store::{self};
use std::collections::HashMap;

/// At most this many open backorders are shown.
const OPEN_SHOWN: i64 = 25;

/// An open backorder of the customer with its place in its SKU's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenBackorder {
    /// The backorder.
    pub row: BackorderRow,
    /// 1-based place and queue length.
    pub place: Option<(usize, usize)>,
}

/// `/customer id:`
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView {
    /// The customer (contacts are masked when shown).
    pub customer: CustomerRow,
    /// Open backorders, oldest order first.
    pub open: Vec<OpenBackorder>,
}

/// `/customer id:`: the customer, and their open backorders with ETA and queue place.
pub async fn show(app: &App, external_id: &str) -> AppResult<CustomerView> {
    let mut conn = app.store.conn().await?;
    let customer = customer_by_external_id(&mut conn, external_id).await?;
    let rows =
        store::backorders::of_customer(&mut conn, customer.id, BackorderStatus::Open, OPEN_SHOWN)
            .await?;
    // One ranked queue per SKU the customer waits for (a customer waits for few SKUs).
    let mut places: HashMap<i64, (usize, usize)> = HashMap::new();
    let mut products: Vec<i64> = rows.iter().map(|r| r.product_id).collect();
    products.sort_unstable();
    products.dedup();
    for product_id in products {
        let queue = ranked_queue(app, &mut conn, product_id).await?;
        let n = queue.len();
        for (i, b) in queue.iter().enumerate() {
            if b.customer_id == customer.id {
                places.insert(b.id, (i + 1, n));
            }
        }
    }
    let open = rows
        .into_iter()
        .map(|row| OpenBackorder {
            place: places.get(&row.id).copied(),
            row,
        })
        .collect();
    Ok(CustomerView { customer, open })
}
