//! `bench lists`: `/backorders`, `/pos` and `/customer` pages from concurrent clients through
//! the command layer, beside the `sqlite3` CLI running the same statements.

use super::{commands_timed, print_times, reference, sqlite3_line, synthetic_count, CLIENTS};
use backorder_bot::app::{Actor, App};
use backorder_bot::commands::{self, Invocation, Outcome};
use backorder_bot::outln;
use backorder_bot::store;
use std::time::Instant;

/// `/backorders` (every order, page 1 and a deep page ~19,000 by its key, and `page:` typed),
/// `/pos` and `/customer`, through the command layer from 8 clients, beside the sqlite3 CLI
/// running the same statements; and the query plan of each order.
pub async fn lists(app: &App, n: u64) -> anyhow::Result<()> {
    use backorder_bot::domain::page::Seek;
    use backorder_bot::domain::BackorderStatus;
    use backorder_bot::store::backorders::{Filter, ListOrder};
    synthetic_count(app).await?;
    let size = i64::from(app.settings.console.page_size);
    let mut conn = app.store.conn().await?;
    let open = Filter {
        status: Some(BackorderStatus::Open),
        ..Filter::default()
    };
    let total = store::keyset::count(
        &mut conn,
        &store::backorders::source(&open, ListOrder::Priority),
    )
    .await?;
    let last = ((total + size - 1) / size).max(1);
    let deep = last.clamp(1, 19_000);
    outln!(
        "lists through the command layer, {CLIENTS} concurrent clients, page size {size}; {total} open backorders ({last} pages), deep page {deep}; each kind timed after a quarter as many untimed requests"
    )?;
    // The key a Next button on page deep - 1 carries (its last row's).
    let key_before_page =
        |keyed: &store::keyset::Keyed| keyed.last_key().map(|k| k.encode()).unwrap_or_default();
    let rows_sql = reference::BACKORDER_ROWS;
    for (sort, order) in [
        ("priority", ListOrder::Priority),
        ("age", ListOrder::Age),
        ("eta", ListOrder::Eta),
        ("value", ListOrder::Value),
    ] {
        let src = store::backorders::source(&open, order);
        let plan = store::keyset::explain(&mut conn, &src, &Seek::First).await?;
        outln!("  sort:{sort} plan: {}", plan.join(" / "))?;
        let prior =
            store::keyset::page(&mut conn, &src, &Seek::Skip((deep - 2).max(0) * size), size)
                .await?;
        let key = key_before_page(&prior);
        let page1 = commands_timed(app, n, 1, move |_| {
            Invocation::new("backorders", None, &[("sort", sort)])
        })
        .await?;
        print_times(&format!("/backorders sort:{sort} page 1"), &page1)?;
        let k2 = key.clone();
        let keyed = commands_timed(app, n, 2, move |_| {
            Invocation::new(
                "backorders",
                None,
                &[("sort", sort), ("after", &k2), ("page", &deep.to_string())],
            )
        })
        .await?;
        print_times(
            &format!("/backorders sort:{sort} page {deep} (Next key)"),
            &keyed,
        )?;
        let first = reference::page_statements(
            reference::BACKORDER_COUNT,
            &src,
            &Seek::First,
            size,
            rows_sql,
        );
        sqlite3_line(
            &format!("/backorders sort:{sort} page 1"),
            app,
            &vec![first; 20],
        )?;
        let seek = Seek::After(
            backorder_bot::domain::page::PageKey::parse(&key).map_err(|e| anyhow::anyhow!(e))?,
        );
        let deep_sql =
            reference::page_statements(reference::BACKORDER_COUNT, &src, &seek, size, rows_sql);
        sqlite3_line(
            &format!("/backorders sort:{sort} page {deep} (Next key)"),
            app,
            &vec![deep_sql; 20],
        )?;
    }
    // Typed pages: the first one deep into the list takes its landmarks on the way, the
    // others start from the landmark before their row.
    let started = Instant::now();
    let inv = Invocation::new("backorders", None, &[("page", &deep.to_string())]);
    let (reply, outcome) = commands::run(app, &Actor::operator("bench"), &inv).await;
    anyhow::ensure!(outcome == Outcome::Ok, "{}", reply.to_text());
    outln!(
        "  /backorders page:{deep} typed, first since start (takes {} landmarks): {:.1?}",
        (deep - 1) * size / app.store.landmarks().every(),
        started.elapsed()
    )?;
    let typed = commands_timed(app, n, 3, move |r| {
        Invocation::new(
            "backorders",
            None,
            &[("page", &(1 + r % deep as u64).to_string())],
        )
    })
    .await?;
    print_times(
        &format!("/backorders page:N typed, N in 1..={deep}"),
        &typed,
    )?;
    let src = store::backorders::source(&open, ListOrder::Priority);
    let skip = reference::page_statements(
        reference::BACKORDER_COUNT,
        &src,
        &Seek::Skip((deep - 1) * size),
        size,
        rows_sql,
    );
    sqlite3_line(
        &format!("/backorders page:{deep} by OFFSET"),
        app,
        &vec![skip; 10],
    )?;

    // A SKU's queue: the product with most open backorders.
    let (sku, queue) = store::bulk::busiest_sku(&mut conn).await?;
    let s2 = sku.clone();
    let times = commands_timed(app, n, 4, move |_| {
        Invocation::new("backorders", None, &[("sku", &s2)])
    })
    .await?;
    print_times(&format!("/backorders sku:{sku} ({queue} open)"), &times)?;

    // /pos: page 1 and a deep page by key.
    let pos_src = store::purchasing::pos_source(
        &store::purchasing::PoFilter {
            statuses: backorder_bot::domain::PoStatus::ALL
                .into_iter()
                .filter(|s| s.expects_more())
                .collect(),
            ..Default::default()
        },
        app.clock.today(),
    );
    let pos_total = store::keyset::count(&mut conn, &pos_src).await?;
    let pos_deep = ((pos_total + size - 1) / size).clamp(1, 9_000);
    outln!(
        "  /pos plan: {}",
        store::keyset::explain(&mut conn, &pos_src, &Seek::First)
            .await?
            .join(" / ")
    )?;
    let prior = store::keyset::page(
        &mut conn,
        &pos_src,
        &Seek::Skip((pos_deep - 2).max(0) * size),
        size,
    )
    .await?;
    let pos_key = key_before_page(&prior);
    let times = commands_timed(app, n, 5, |_| Invocation::new("pos", None, &[])).await?;
    print_times(&format!("/pos page 1 ({pos_total} POs)"), &times)?;
    let k2 = pos_key.clone();
    let times = commands_timed(app, n, 6, move |_| {
        Invocation::new(
            "pos",
            None,
            &[("after", &k2), ("page", &pos_deep.to_string())],
        )
    })
    .await?;
    print_times(&format!("/pos page {pos_deep} (Next key)"), &times)?;
    let po_rows = &reference::po_rows();
    sqlite3_line(
        "/pos page 1",
        app,
        &vec![
            reference::page_statements(
                &reference::po_count(),
                &pos_src,
                &Seek::First,
                size,
                po_rows
            );
            20
        ],
    )?;
    let seek = Seek::After(
        backorder_bot::domain::page::PageKey::parse(&pos_key).map_err(|e| anyhow::anyhow!(e))?,
    );
    sqlite3_line(
        &format!("/pos page {pos_deep} (Next key)"),
        app,
        &vec![
            reference::page_statements(&reference::po_count(), &pos_src, &seek, size, po_rows);
            20
        ],
    )?;

    // /customer: the customer with most open backorders.
    let (customer, many) = store::bulk::busiest_customer(&mut conn).await?;
    drop(conn);
    let c2 = customer.clone();
    let times = commands_timed(app, n, 7, move |_| {
        Invocation::new("customer", None, &[("id", &c2)])
    })
    .await?;
    print_times(&format!("/customer id:{customer} ({many} open)"), &times)?;
    Ok(())
}
