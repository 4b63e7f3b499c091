//! Benchmarks that print figures (`backorder-bot bench stock|eta`); never timed tests.

use crate::app::{Actor, App};
use crate::commands::{self, Invocation, Outcome};
use crate::store;
use std::time::{Duration, Instant};

/// The `p` quantile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Runs a named benchmark.
pub async fn run(app: &App, which: &str, n: u64) -> anyhow::Result<()> {
    match which {
        "stock" => stock(app, n).await,
        "eta" => eta(app, n).await,
        other => anyhow::bail!("unknown benchmark \"{other}\" (stock or eta)"),
    }
}

/// Cheap deterministic pseudo-random numbers (xorshift), so runs are repeatable.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `/stock` through the command layer over random synthetic SKUs, next to the sqlite3 CLI.
pub async fn stock(app: &App, iterations: u64) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE sku_key LIKE 'SYN-%'")
        .fetch_one(&mut *conn)
        .await?;
    let ledger: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stock_movements")
        .fetch_one(&mut *conn)
        .await?;
    drop(conn);
    anyhow::ensure!(
        count > 0,
        "no synthetic SKUs: run `backorder-bot demo-data --skus N` on this database first"
    );
    let actor = Actor::operator("bench");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let skus: Vec<String> = (0..iterations)
        .map(|_| format!("SYN-{:07}", 1 + rng.next() % count as u64))
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
    println!(
        "/stock via command layer: {} products, {} ledger rows, {} lookups",
        count,
        ledger,
        skus.len()
    );
    println!(
        "  p50 {:?}  p99 {:?}  max {:?}  mean {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        total / skus.len().max(1) as u32
    );
    sqlite3_reference(app, &skus[..skus.len().min(2000)]);
    Ok(())
}

/// The same lookups (product, position, inbound, backorder summary) by the sqlite3 CLI.
fn sqlite3_reference(app: &App, skus: &[String]) {
    let path = &app.settings.database.path;
    let mut script = String::from(".output /dev/null\n");
    for sku in skus {
        script.push_str(&format!(
            "SELECT p.id, p.sku, p.name, s.code FROM products p LEFT JOIN suppliers s ON s.id = p.supplier_id WHERE p.sku_key = '{sku}';
SELECT on_hand, allocated FROM stock_positions WHERE product_id = (SELECT id FROM products WHERE sku_key = '{sku}');
SELECT l.id, po.po_number, l.qty_ordered, l.eta FROM po_lines l JOIN purchase_orders po ON po.id = l.po_id WHERE l.product_id = (SELECT id FROM products WHERE sku_key = '{sku}') AND l.status IN ('open', 'partially_received');
SELECT COUNT(*), COALESCE(SUM(qty - qty_allocated), 0) FROM backorders WHERE product_id = (SELECT id FROM products WHERE sku_key = '{sku}') AND status = 'open';
"
        ));
    }
    let run = |script: &str| -> Option<Duration> {
        use std::io::Write;
        let t = Instant::now();
        let mut child = std::process::Command::new("sqlite3")
            .arg(path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(script.as_bytes()).ok()?;
        child.wait().ok()?;
        Some(t.elapsed())
    };
    match (run(".output /dev/null\nSELECT 1;\n"), run(&script)) {
        (Some(empty), Some(full)) => {
            let per = full.saturating_sub(empty) / skus.len().max(1) as u32;
            println!("sqlite3 CLI, same lookups: mean {per:?} per /stock over {} lookups (process start-up subtracted)", skus.len());
        }
        _ => println!("sqlite3 CLI not found: no reference figure"),
    }
}

/// One PO whose ETA change moves `n` backorders' ETAs: command to commit.
pub async fn eta(app: &App, n: u64) -> anyhow::Result<()> {
    let mut tx = app.store.begin_write().await?;
    let po = store::bulk::bench_backorders(&mut tx, n as i64, app.clock.now()).await?;
    tx.commit().await?;
    let actor = Actor::operator("bench");
    let today = app.clock.today();
    let day = |d: u64| (today + chrono::Days::new(d)).to_string();
    // First run gives every backorder its first promise; the measured runs move them all.
    let first = Invocation::new(
        "eta",
        None,
        &[("po", &po), ("date", &day(20)), ("reason", "bench setup")],
    );
    commands::run(app, &actor, &first).await;
    for (i, d) in [30u64, 40, 50].iter().enumerate() {
        let inv = Invocation::new(
            "eta",
            None,
            &[("po", &po), ("date", &day(*d)), ("reason", "bench")],
        );
        let t = Instant::now();
        let (reply, outcome) = commands::run(app, &actor, &inv).await;
        let took = t.elapsed();
        anyhow::ensure!(outcome == Outcome::Ok, "eta failed: {}", reply.to_text());
        println!(
            "run {}: /eta on {po}: {} Command to commit: {took:?}",
            i + 1,
            reply.description.unwrap_or_default()
        );
    }
    Ok(())
}
