//! `bench forecast`: every SKU of the shop forecast and stored, as `forecast --refresh` runs it
//! (output included), beside the `sqlite3` CLI reading the same demand rows.

use super::proc_self::{anon_kib, cpu_time, memory, AnonPeak};
use backorder_bot::app::forecast::REFRESH_PAGE;
use backorder_bot::app::App;
use backorder_bot::outln;
use backorder_bot::store;
use std::io::Write;
use std::time::{Duration, Instant};

/// The longest a write of the job may hold the writer's turn.
const WRITE_LIMIT: Duration = Duration::from_secs(1);

/// Refreshes every forecast once and prints the wall and CPU time, the peak anonymous memory,
/// the writes and the longest one, then the `sqlite3` CLI running the job's demand read over the
/// same pages (the floor: reading the rows, no fitting or writing) and the ratio.
pub async fn forecast(app: &App) -> anyhow::Result<()> {
    let today = app.clock.today();
    let (products, rows, max_id) = {
        let mut conn = app.store.conn().await?;
        store::demand::history_size(&mut conn, today).await?
    };
    anyhow::ensure!(
        rows > 0,
        "no demand history: run `backorder-bot demo-data --skus N --sales-days 90` on this database first"
    );
    outln!("forecast every SKU: {products} products, {rows} days with demand before today")?;
    backorder_bot::memory::release_freed();
    let anon_before = anon_kib().unwrap_or(0);
    let peak = AnonPeak::start();
    let cpu = cpu_time().unwrap_or_default().own;
    let t = Instant::now();
    let mut out = std::io::stdout();
    write!(out, "  ")?;
    let report = backorder_bot::adapters::forecast::run_refresh(app, &mut out).await?;
    let wall = t.elapsed();
    let cpu = cpu_time().unwrap_or_default().own.saturating_sub(cpu);
    let peak = peak.stop();
    outln!(
        "  bot: wall {wall:.2?}, CPU {cpu:.2?}; peak anonymous RSS {:.1} MB ({:.1} MB before), peak RSS {}",
        peak as f64 / 1024.0,
        anon_before as f64 / 1024.0,
        memory("VmHWM:")
    )?;
    outln!(
        "  {} writes of at most {REFRESH_PAGE} SKUs; the longest held the writer's turn {:.1?} ({})",
        report.writes,
        report.longest_write,
        if report.longest_write <= WRITE_LIMIT {
            "within the 1 s limit"
        } else {
            "OVER the 1 s limit"
        }
    )?;
    // The same statement per page, pages by id range (the bot's pages end on existing ids; the
    // rows are the same).
    let mut script = String::from(".output /dev/null\n");
    let mut after = 0;
    while after < max_id {
        let upto = (after + REFRESH_PAGE).min(max_id);
        script.push_str(
            &store::forecasts::DEMAND_PAGE_SQL
                .replace("$1", &after.to_string())
                .replace("$2", &upto.to_string())
                .replace("$3", &format!("'{today}'")),
        );
        script.push_str(";\n");
        after = upto;
    }
    match super::sqlite3_wall(app, &script) {
        Some(floor) => outln!(
            "  sqlite3 CLI reading the same demand rows (the job's page statement over every page): {floor:.2?} wall (start-up subtracted); bot / sqlite3 {:.2}×",
            wall.as_secs_f64() / floor.as_secs_f64().max(1e-9)
        )?,
        None => outln!("  sqlite3 CLI not found: no reference figure")?,
    }
    Ok(())
}
