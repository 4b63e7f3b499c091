//! `bench spike`: a SKU goes viral; its orders through the HTTP ingest API.

use super::stats::percentile;
use super::{print_times, reference, Scratch, CLIENTS};
use backorder_bot::app::App;
use backorder_bot::outln;
use backorder_bot::store;
use std::path::Path;
use std::time::{Duration, Instant};

/// `bench spike --n ORDERS`: a SKU goes viral. A fresh database holds one product with no stock,
/// two inbound POs and customers of every tier; `n` one-line orders for it (1–3 units, prices
/// varying, so gold and VIP orders jump ahead of waiting ones) go through the HTTP ingest API
/// from [`CLIENTS`] concurrent keep-alive clients, each with an `Idempotency-Key`. Prints
/// orders/s, p50/p99 per order at queue lengths 1k, 10k and `n`, checks every promise against a
/// plan of the whole queue, and times the `sqlite3` CLI writing the same rows in one
/// transaction as the floor.
pub async fn spike(app: &App, n: u64) -> anyhow::Result<()> {
    use backorder_bot::app::import::{import, ImportKind};
    use backorder_bot::app::Actor;
    let scratch = Scratch::new(app)?;
    let mut settings = (*app.settings).clone();
    settings.database.path = scratch.dir.join("spike.db");
    settings.secrets.ingest_api_token = Some(secrecy::SecretString::from("spike".to_string()));
    settings.notify.enabled = false;
    let store = store::Store::open(&settings.database).await?;
    store.sync_priority_weights(&settings.priority).await?;
    let spike_app = App::new(store, std::sync::Arc::new(settings), app.clock.clone());
    let ops = Actor::operator("bench");
    let today = spike_app.clock.now().date_naive();
    let customers = 2_000u64;
    let mut csv = String::from("id,name,email,tier,channel\n");
    for i in 0..customers {
        // 5% vip, 15% gold, 25% silver, the rest standard.
        let tier = match i % 20 {
            0 => "vip",
            1..=3 => "gold",
            4..=8 => "silver",
            _ => "standard",
        };
        csv.push_str(&format!(
            "SC-{i},Spike customer {i},spike{i}@example.com,{tier},email\n"
        ));
    }
    let load = |kind, text: String| {
        import(
            &spike_app,
            &ops,
            kind,
            std::io::Cursor::new(text.into_bytes()),
        )
    };
    load(
        ImportKind::Suppliers,
        "code,name,lead_time_days\nSPIKE,Spike supplier,21\n".into(),
    )
    .await?;
    load(
        ImportKind::Products,
        "sku,name,unit_price,on_hand,supplier\nVIRAL-1,Viral gadget,25.00,0,SPIKE\n".into(),
    )
    .await?;
    load(ImportKind::Customers, csv).await?;
    let third = (n / 3).max(1);
    load(
        ImportKind::PurchaseOrders,
        format!(
            "po,supplier,sku,qty,eta,status\nPO-S1,SPIKE,VIRAL-1,{third},{},open\nPO-S2,SPIKE,VIRAL-1,{third},{},open\n",
            today + chrono::Days::new(7),
            today + chrono::Days::new(14)
        ),
    )
    .await?;
    let floor_db = scratch.dir.join("floor.db");
    spike_app.store.backup(&floor_db).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1/orders", listener.local_addr()?);
    let router = backorder_bot::adapters::http::router(spike_app.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let order = move |i: u64| {
        let (qty, price) = spike_line(i);
        serde_json::json!({
            "order": format!("S-{i}"),
            "customer": format!("SC-{}", spike_customer(i, customers)),
            "lines": [{"sku": "VIRAL-1", "qty": qty, "unit_price_minor": price}],
        })
        .to_string()
    };
    outln!(
        "spike: {n} orders for VIRAL-1 (no stock; POs of {third} and {third} units) from {CLIENTS} HTTP clients"
    )?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let base = base.clone();
        tasks.spawn(async move {
            let client = reqwest::Client::new();
            let mut times = Vec::new();
            let mut i = c;
            while i < n {
                let t = Instant::now();
                let resp = client
                    .post(&base)
                    .bearer_auth("spike")
                    .header("idempotency-key", format!("spike-{i}"))
                    .header("content-type", "application/json")
                    .body(order(i))
                    .send()
                    .await?;
                let status = resp.status();
                let body = resp.text().await?;
                anyhow::ensure!(status.as_u16() == 201, "order {i}: {status} {body}");
                times.push((i, t.elapsed()));
                i += CLIENTS;
            }
            anyhow::Ok(times)
        });
    }
    let mut all: Vec<(u64, Duration)> = Vec::with_capacity(n as usize);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    let elapsed = started.elapsed();
    server.abort();
    outln!(
        "  {n} orders in {elapsed:.2?} = {:.0} orders/s ({} joined the kept queue)",
        n as f64 / elapsed.as_secs_f64(),
        spike_app.queues.joins()
    )?;
    // Orders go out in number order, so order i meets a queue of about i backorders.
    let mut marks: Vec<u64> = [1_000, 10_000].into_iter().filter(|&m| m < n).collect();
    marks.push(n);
    let mut p99s = Vec::new();
    for m in marks {
        let mut window: Vec<Duration> = all
            .iter()
            .filter(|(i, _)| *i < m && *i + 1_000 >= m)
            .map(|(_, d)| *d)
            .collect();
        window.sort();
        print_times(&format!("queue {}..{m}", m.saturating_sub(1_000)), &window)?;
        p99s.push(percentile(&window, 0.99));
    }
    if let (Some(first), Some(last)) = (p99s.first(), p99s.last()) {
        outln!(
            "  p99 at {n} / p99 at the first mark: {:.2}",
            last.as_secs_f64() / first.as_secs_f64().max(1e-9)
        )?;
    }
    // Every promise as a plan of the whole queue gives it now.
    let mut tx = spike_app.store.begin_write().await?;
    let product = spike_app.product(&mut tx, "VIRAL-1").await?;
    let open = backorder_bot::app::promise::ranked_queue(&spike_app, &mut tx, product.id)
        .await?
        .len();
    let check = backorder_bot::app::promise::settle(
        &spike_app,
        &mut tx,
        &[product.id],
        backorder_bot::app::promise::Cause::BackorderCreated,
        "bench",
        "check",
        true,
    )
    .await?;
    tx.rollback().await?;
    outln!(
        "  promises checked against a plan of the whole queue: {open} open backorders, {} would move, {} units would be allocated",
        check.moved.len(),
        check.units_allocated
    )?;
    anyhow::ensure!(
        check.moved.is_empty() && check.units_allocated == 0,
        "promises differ from a plan of the whole queue"
    );
    spike_floor(&spike_app, &floor_db, n, customers).await
}

/// (qty, unit price) of order i of [`spike`].
fn spike_line(i: u64) -> (i64, i64) {
    (1 + (i % 3) as i64, 1500 + ((i * 31) % 2000) as i64)
}

/// The customer (number) of order i of [`spike`].
fn spike_customer(i: u64, customers: u64) -> u64 {
    (i * 7919) % customers
}

/// The `sqlite3` CLI writing the spike's rows in one transaction on a copy of the database as
/// it stood before the spike.
async fn spike_floor(app: &App, floor_db: &Path, n: u64, customers: u64) -> anyhow::Result<()> {
    let ids = async {
        let mut conn = app.store.conn().await?;
        let product = app.product(&mut conn, "VIRAL-1").await?.id.0;
        let first_customer = store::customers::by_external_id(&mut conn, "SC-0")
            .await?
            .map(|c| c.id.0)
            .unwrap_or(1);
        anyhow::Ok((product, first_customer))
    }
    .await;
    let Ok((product_id, first_customer)) = ids else {
        return outln!("  sqlite3 floor: cannot read ids");
    };
    let at = chrono::Utc::now().to_rfc3339();
    let eta = (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string();
    let numbers: Vec<String> = (0..n).map(|i| format!("S-{i}")).collect();
    let orders: Vec<reference::SpikeOrder<'_>> = (0..n)
        .map(|i| {
            let (qty, price) = spike_line(i);
            reference::SpikeOrder {
                number: &numbers[i as usize],
                customer_id: first_customer + spike_customer(i, customers) as i64,
                product_id,
                qty,
                unit_price_minor: price,
                at: &at,
                eta: &eta,
            }
        })
        .collect();
    let script = floor_db.with_extension("sql");
    if std::fs::write(&script, reference::spike_orders(&orders)).is_err() {
        return outln!("  sqlite3 floor: cannot write the script");
    }
    let started = Instant::now();
    let status = std::process::Command::new("sqlite3")
        .arg(floor_db)
        .arg(format!(".read {}", script.display()))
        .stdout(std::process::Stdio::null())
        .status();
    let took = started.elapsed();
    match status {
        Ok(s) if s.success() => outln!(
            "  sqlite3 CLI, the same {n} orders' rows in one transaction: {took:.2?} = {:.0} orders/s",
            n as f64 / took.as_secs_f64()
        )?,
        _ => outln!("  sqlite3 CLI not found or failed: no floor figure")?,
    }
    Ok(())
}
