//! `bench stock`: `/stock` lookups through the command layer.

use super::stats::percentile;
use super::{reference, sqlite3_mean};
use backorder_bot::app::{Actor, App};
use backorder_bot::commands::{self, Invocation, Outcome};
use backorder_bot::outln;
use backorder_bot::store;
use std::time::Instant;

/// `/stock` through the command layer over random synthetic SKUs, next to the sqlite3 CLI.
pub async fn stock(app: &App, iterations: u64) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    let (count, ledger) = store::bulk::synthetic_sizes(&mut conn).await?;
    drop(conn);
    anyhow::ensure!(
        count > 0,
        "no synthetic SKUs: run `backorder-bot demo-data --skus N` on this database first"
    );
    let actor = Actor::operator("bench");
    let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    let skus: Vec<String> = (0..iterations)
        .map(|_| format!("SYN-{:07}", rng.u64(1..=count as u64)))
        .collect();
    for sku in skus.iter().take(200) {
        commands::run(
            app,
            &actor,
            &Invocation::new("stock", None, &[("sku", sku)]),
        )
        .await;
    }
    let mut times = Vec::with_capacity(skus.len());
    let started = Instant::now();
    for sku in &skus {
        let t = Instant::now();
        let (_, outcome) = commands::run(
            app,
            &actor,
            &Invocation::new("stock", None, &[("sku", sku)]),
        )
        .await;
        times.push(t.elapsed());
        anyhow::ensure!(outcome == Outcome::Ok, "/stock {sku} failed");
    }
    let total = started.elapsed();
    times.sort();
    outln!(
        "/stock via command layer: {} products, {} ledger rows, {} lookups",
        count,
        ledger,
        skus.len()
    )?;
    outln!(
        "  p50 {:?}  p99 {:?}  max {:?}  mean {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        total / skus.len().max(1) as u32
    )?;
    sqlite3_reference(app, &skus[..skus.len().min(2000)])?;
    Ok(())
}

/// The same lookups (product, position, inbound, backorder summary) by the sqlite3 CLI.
fn sqlite3_reference(app: &App, skus: &[String]) -> anyhow::Result<()> {
    let groups: Vec<String> = skus
        .iter()
        .map(|sku| reference::stock_lookups(&sku.to_ascii_uppercase()))
        .collect();
    match sqlite3_mean(app, &groups) {
        Some(per) => outln!("sqlite3 CLI, same lookups: mean {per:?} per /stock over {} lookups (process start-up subtracted)", skus.len())?,
        None => outln!("sqlite3 CLI not found: no reference figure")?,
    }
    Ok(())
}
