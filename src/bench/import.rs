//! `bench import`: a generated CSV file imported into a fresh database, beside the `sqlite3`
//! CLI's `.import` of the same file.

use super::proc_self::cpu_time;
use super::Scratch;
use anyhow::Context;
use backorder_bot::app::import::{self as csv_import, ImportKind};
use backorder_bot::app::{Actor, App};
use backorder_bot::outln;
use backorder_bot::store;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Writes a CSV file row by row.
fn write_csv(
    path: &Path,
    header: &str,
    rows: u64,
    mut row: impl FnMut(u64, &mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{header}")?;
    for i in 1..=rows {
        row(i, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

const PRODUCTS_HEADER: &str =
    "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier";

/// `n` product rows `IMP-0000001`…, every column filled, a supplier on each.
fn products_csv(path: &Path, n: u64) -> anyhow::Result<()> {
    let mut rng = fastrand::Rng::with_seed(0x2545_F491_4F6C_DD1D);
    write_csv(path, PRODUCTS_HEADER, n, |i, out| {
        let r = rng.u64(..);
        writeln!(
            out,
            "IMP-{i:07},Imported product {i} {},category-{},{}.{:02},{},{},{},{},{},BENCH-SUP-{}",
            ["blue", "red", "green", "black"][(r % 4) as usize],
            i % 200,
            1 + r % 500,
            (r >> 9) % 100,
            (r >> 17) % 300,
            5 + (r >> 25) % 20,
            2 + (r >> 30) % 5,
            50,
            5 + (r >> 33) % 25,
            1 + (r >> 40) % 20,
        )
    })
}

/// Checks, stages and applies one file the way `import` does, timing the read-and-check part
/// (no lock) and the write transaction separately.
async fn timed_import(
    app: &App,
    kind: ImportKind,
    path: &Path,
) -> anyhow::Result<(csv_import::ImportReport, Duration, Duration)> {
    let actor = Actor::operator("bench");
    let mut conn = app.store.conn().await?;
    let started = Instant::now();
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let staged = csv_import::stage(&mut conn, kind, file, app.clock.now())
        .await
        .context("cannot stage the file")?;
    let staged_in = started.elapsed();
    let locked = Instant::now();
    let mut tx = store::begin_write_on(&mut conn).await?;
    let report = csv_import::apply(app, &mut tx, &actor, staged)
        .await
        .context("cannot apply the file")?;
    tx.commit().await?;
    let locked_for = locked.elapsed();
    store::import::clear(&mut conn).await?;
    Ok((report, staged_in, locked_for))
}

/// The `sqlite3` CLI's `.import` of the same file into a plain table of a fresh database.
fn sqlite3_import(dir: &Path, csv: &Path) -> Option<Duration> {
    let db = dir.join("plain.db");
    let _ = std::fs::remove_file(&db);
    let started = Instant::now();
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(format!(".import --csv {} plain", csv.display()))
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    let took = started.elapsed();
    status.success().then_some(took)
}

fn per_second(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64().max(1e-9)
}

/// `bench import --rows N [--kind products|orders|purchase-orders]`: a generated file of N rows imported into a
/// fresh database, beside the `sqlite3` CLI's `.import` of the same file into a plain table.
pub async fn import(app: &App, kind: ImportKind, rows: u64) -> anyhow::Result<()> {
    let scratch = Scratch::new(app)?;
    let bench_app = scratch.app(app).await?;
    let suppliers = scratch.dir.join("suppliers.csv");
    write_csv(&suppliers, "code,name,lead_time_days", 20, |i, out| {
        writeln!(out, "BENCH-SUP-{i},Bench supplier {i},{}", 5 + i)
    })?;
    timed_import(&bench_app, ImportKind::Suppliers, &suppliers).await?;
    let file = scratch.dir.join("data.csv");
    match kind {
        ImportKind::Products => products_csv(&file, rows)?,
        ImportKind::Orders => {
            // A shop to order from: a product per ten lines (at least 100), 1,000 customers.
            let products = scratch.dir.join("products.csv");
            let skus = (rows / 10).max(100);
            products_csv(&products, skus)?;
            timed_import(&bench_app, ImportKind::Products, &products).await?;
            let customers = scratch.dir.join("customers.csv");
            write_csv(&customers, "id,name,email,tier", 1000, |i, out| {
                let tier = ["standard", "silver", "gold", "vip"][(i % 4) as usize];
                writeln!(out, "BC-{i},Bench customer {i},bench{i}@example.com,{tier}")
            })?;
            timed_import(&bench_app, ImportKind::Customers, &customers).await?;
            let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
            write_csv(
                &file,
                "order,customer,sku,qty,unit_price,ordered_at",
                rows,
                |i, out| {
                    let r = rng.u64(..);
                    writeln!(
                        out,
                        "SO-B{i},BC-{},IMP-{:07},{},{}.00,2026-{:02}-{:02}",
                        1 + r % 1000,
                        1 + (r >> 10) % skus,
                        1 + (r >> 30) % 3,
                        1 + (r >> 33) % 300,
                        1 + (r >> 40) % 10,
                        1 + (r >> 45) % 28,
                    )
                },
            )?;
        }
        ImportKind::PurchaseOrders => {
            // A product per ten lines (at least 100); ten lines per PO, each PO one supplier.
            let products = scratch.dir.join("products.csv");
            let skus = (rows / 10).max(100);
            products_csv(&products, skus)?;
            timed_import(&bench_app, ImportKind::Products, &products).await?;
            let today = app.clock.today();
            let mut rng = fastrand::Rng::with_seed(0xD1B5_4A32_D192_ED03);
            write_csv(&file, "po,supplier,sku,qty,eta,status", rows, |i, out| {
                let r = rng.u64(..);
                let po = (i - 1) / 10;
                let eta = today + chrono::Days::new(7 + r % 120);
                writeln!(
                    out,
                    "PO-B{po},BENCH-SUP-{},IMP-{:07},{},{eta},open",
                    1 + po % 20,
                    1 + (i - 1) % skus,
                    1 + (r >> 8) % 200,
                )
            })?;
        }
        other => {
            anyhow::bail!("bench import covers products, orders and purchase-orders, not {other:?}")
        }
    }
    let size = std::fs::metadata(&file)?.len();
    let cpu_before = cpu_time();
    let (first, staged_in, locked_for) = timed_import(&bench_app, kind, &file).await?;
    let total = staged_in + locked_for;
    let cpu_import = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.own.saturating_sub(before.own));
    outln!(
        "import {kind:?}: {} rows ({:.1} MB) in {total:.2?}: {:.0} rows/s (read and check {staged_in:.2?}, write lock held {locked_for:.2?}); {} changed, {} backorders created",
        first.rows,
        size as f64 / 1e6,
        per_second(first.rows, total),
        first.changed,
        first.backorders_created,
    )?;
    let (again, staged_again, locked_again) = timed_import(&bench_app, kind, &file).await?;
    outln!(
        "same file again: {:.2?} ({:.0} rows/s, write lock held {locked_again:.2?}); {} changed",
        staged_again + locked_again,
        per_second(again.rows, staged_again + locked_again),
        again.changed,
    )?;
    bench_app.store.close().await;
    let cpu_before = cpu_time();
    match sqlite3_import(&scratch.dir, &file) {
        Some(cli) => {
            outln!(
                "sqlite3 CLI .import of the same file into a plain table: {cli:.2?} ({:.0} rows/s); import takes {:.1}× as long",
                per_second(first.rows, cli),
                total.as_secs_f64() / cli.as_secs_f64().max(1e-9),
            )?;
            let cpu_cli = cpu_time()
                .zip(cpu_before)
                .map(|(after, before)| after.children.saturating_sub(before.children));
            if let (Some(ours), Some(theirs)) = (cpu_import, cpu_cli) {
                outln!(
                    "CPU time: import {ours:.2?} ({:.0} rows/s), sqlite3 CLI {theirs:.2?}; {:.1}×",
                    per_second(first.rows, ours),
                    ours.as_secs_f64() / theirs.as_secs_f64().max(0.01),
                )?;
            }
        }
        None => {
            outln!("sqlite3 CLI not found: no side-by-side figure (install sqlite3 to get one)")?
        }
    }
    Ok(())
}
