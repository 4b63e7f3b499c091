//! One customer at a glance.

use super::backorders::customer_by_external_id;
use super::page::{paged, PageRequest, Paged};
use super::{App, AppResult};
use crate::domain::page::Seek;
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
    /// One page of open backorders, oldest order first (its count: all open backorders).
    pub open: Paged<OpenBackorder>,
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
    /// The page of open backorders.
    pub page: PageRequest<'a>,
}

/// `/customer id:`: the customer, and a page of their open backorders (oldest order first, by
/// keyset from `backorders_customer_age`) with ETA and queue place.
pub async fn show(app: &App, q: &CustomerQuery<'_>) -> AppResult<CustomerView> {
    let mut conn = app.store.reader().await?;
    let customer = customer_by_external_id(&mut conn, q.id).await?;
    let order = ListOrder::Age;
    let filter = Filter {
        customer_id: Some(customer.id),
        status: Some(BackorderStatus::Open),
        ..Filter::default()
    };
    let marks = app.store.landmarks();
    let page = paged(app, &q.page, order.columns(), async |seek, size| {
        store::backorders::list(&mut conn, marks, &filter, order, seek, size).await
    })
    .await?;
    let ids: Vec<BackorderId> = page.rows.iter().map(|r| r.id).collect();
    let places = store::backorders::queue_places(&mut conn, &ids).await?;
    let open = page.map(|row| OpenBackorder {
        place: places.get(&row.id).copied(),
        row,
    });
    // Stock is set aside for these: they wait only for someone to ship them.
    let ready_filter = Filter {
        status: Some(BackorderStatus::Allocated),
        ..filter
    };
    let (ready, _, ready_total) = store::backorders::list(
        &mut conn,
        marks,
        &ready_filter,
        order,
        &Seek::First,
        i64::from(app.settings.console.page_size),
    )
    .await?;
    Ok(CustomerView {
        customer,
        open,
        ready,
        ready_total,
    })
}
