//! One customer at a glance.

use super::backorders::{customer_by_external_id, nav_of, seek_of, PageNav};
use super::{App, AppResult};
use crate::domain::{BackorderId, BackorderStatus};
use crate::store::backorders::{BackorderRow, Filter, ListOrder};
use crate::store::customers::CustomerRow;
use crate::store::{self};

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
    /// One page of open backorders, oldest order first.
    pub open: Vec<OpenBackorder>,
    /// Page number, count (all open backorders) and neighbours.
    pub nav: PageNav,
    /// Allocated backorders not shipped yet, oldest order first (at most a page of them).
    pub ready: Vec<BackorderRow>,
    /// How many allocated backorders there are in all.
    pub ready_total: i64,
}

/// What `/customer` asks for.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery<'a> {
    /// The shop's customer id.
    pub id: &'a str,
    /// 1-based page of open backorders (shown; with no key, the page to skip to).
    pub page: u32,
    /// Key of a row shown: the page starts right after it ...
    pub after: Option<&'a str>,
    /// ... or ends right before it.
    pub before: Option<&'a str>,
}

/// `/customer id:`: the customer, and a page of their open backorders (oldest order first, by
/// keyset from `backorders_customer_age`) with ETA and queue place.
pub async fn show(app: &App, q: &CustomerQuery<'_>) -> AppResult<CustomerView> {
    let mut conn = app.store.reader().await?;
    let customer = customer_by_external_id(&mut conn, q.id).await?;
    let size = i64::from(app.settings.console.page_size);
    let order = ListOrder::Age;
    let shape: String = order.columns().iter().map(|c| c.kind).collect();
    let seek = seek_of(q.page, q.after, q.before, size, &shape)?;
    let filter = Filter {
        customer_id: Some(customer.id),
        status: Some(BackorderStatus::Open),
        ..Filter::default()
    };
    let (rows, keyed, total) = store::backorders::list(
        &mut conn,
        app.store.landmarks(),
        &filter,
        order,
        &seek,
        size,
    )
    .await?;
    let nav = nav_of(q.page, &seek, &keyed, total, size)?;
    let ids: Vec<BackorderId> = rows.iter().map(|r| r.id).collect();
    let places = store::backorders::queue_places(&mut conn, &ids).await?;
    let open = rows
        .into_iter()
        .map(|row| OpenBackorder {
            place: places.get(&row.id).copied(),
            row,
        })
        .collect();
    // Stock is set aside for these: they wait only for someone to ship them.
    let ready_filter = Filter {
        status: Some(BackorderStatus::Allocated),
        ..filter
    };
    let first = seek_of(1, None, None, size, &shape)?;
    let (ready, _, ready_total) = store::backorders::list(
        &mut conn,
        app.store.landmarks(),
        &ready_filter,
        order,
        &first,
        size,
    )
    .await?;
    Ok(CustomerView {
        customer,
        open,
        nav,
        ready,
        ready_total,
    })
}
