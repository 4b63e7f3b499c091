//! `backorder-bot forecast --sku SKU [--method …] [--horizon N] [--json]` and
//! `backorder-bot forecast --backtest [--horizon N]`: print what `app::forecast` computed.

use crate::app::forecast::{self, BacktestReport, SkuForecast, WORST_BY};
use crate::app::{App, AppError, AppResult};
use crate::commands::forecast::{method_summary, stockout_summary};
use crate::domain::forecast::{Contender, Scores};
use serde::Serialize;
use std::io::Write;

/// The `--json` object: exactly these keys.
#[derive(Serialize)]
struct ForecastJson<'a> {
    sku: &'a str,
    method: &'static str,
    alpha: f64,
    classification: &'static str,
    per_day: &'a [f64],
    horizon: u32,
    days_of_cover: Option<f64>,
    stockout_date: Option<String>,
    safety_stock: f64,
    reorder_point: f64,
}

/// Forecasts one SKU and prints it, as text or one JSON object.
pub async fn run_sku(
    app: &App,
    sku: &str,
    method: Option<&str>,
    horizon: u32,
    json: bool,
    out: &mut impl Write,
) -> AppResult<()> {
    let method = method.map_or(Ok(Default::default()), forecast::method)?;
    let f = forecast::forecast_sku(app, sku, method, horizon).await?;
    let written = if json {
        serde_json::to_writer(&mut *out, &as_json(&f))
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
    } else {
        write_text(&f, out)
    };
    flushed(written, out)
}

/// The end of a printout: flushed, a reader gone away reported as `stdout::Closed` (quiet exit).
fn flushed(written: std::io::Result<()>, out: &mut impl Write) -> AppResult<()> {
    written
        .and_then(|()| out.flush())
        .map_err(|e| AppError::Unexpected(crate::adapters::stdout::write_error(e)))
}

fn as_json(f: &SkuForecast) -> ForecastJson<'_> {
    ForecastJson {
        sku: &f.sku,
        method: f.method().as_str(),
        alpha: f.forecast.alpha.get(),
        classification: f.forecast.classification.class.as_str(),
        per_day: &f.forecast.per_day,
        horizon: f.forecast.horizon(),
        days_of_cover: f.cover.days_of_cover,
        stockout_date: f.cover.stockout_date.map(|d| d.to_string()),
        safety_stock: f.safety_stock,
        reorder_point: f.reorder_point,
    }
}

fn write_text(f: &SkuForecast, out: &mut impl Write) -> std::io::Result<()> {
    let fc = &f.forecast;
    writeln!(
        out,
        "{}: history {} to {} ({} days)",
        f.sku,
        f.history.0,
        f.history.1,
        (f.history.1 - f.history.0).num_days() + 1
    )?;
    writeln!(out, "{}", method_summary(f))?;
    writeln!(out, "forecast per day:")?;
    for (i, units) in fc.per_day.iter().enumerate() {
        let day = fc.start + chrono::Days::new(i as u64);
        writeln!(out, "  {day} {}  {units:.2}", day.format("%a"))?;
    }
    let cover = f
        .cover
        .days_of_cover
        .map_or("more than ten years".to_string(), |d| {
            format!("{d:.1} days")
        });
    writeln!(out, "free to promise {}: covers {cover}", f.free_stock)?;
    for i in &f.inbound {
        match i.eta {
            Some(eta) => writeln!(out, "inbound {} units on {eta} ({})", i.units, i.po_number)?,
            None => writeln!(
                out,
                "inbound {} units without an ETA ({}), not counted",
                i.units, i.po_number
            )?,
        }
    }
    writeln!(out, "projected stock-out: {}", stockout_summary(f))?;
    writeln!(
        out,
        "lead time {} days{}: safety stock {:.1}, reorder point {:.1}",
        f.lead_time_days,
        if f.lead_time_assumed {
            " (assumed: no product or supplier lead time)"
        } else {
            ""
        },
        f.safety_stock,
        f.reorder_point
    )
}

/// Runs the backtest and prints its figures.
pub async fn run_backtest(app: &App, horizon: u32, out: &mut impl Write) -> AppResult<()> {
    let report = forecast::backtest(app, horizon).await?;
    let written = write_backtest(&report, out);
    flushed(written, out)
}

/// Refreshes every stored forecast now (as the nightly job does) and says what it did.
pub async fn run_refresh(
    app: &App,
    out: &mut impl Write,
) -> AppResult<crate::app::forecast::RefreshReport> {
    use crate::app::forecast_job::{run_job, JobOutcome};
    let started = std::time::Instant::now();
    let report = match run_job(app, crate::domain::schedule::Trigger::Manual, None, None).await? {
        JobOutcome::Done { report, .. } => report,
        JobOutcome::Skipped(_) => {
            return Err(AppError::Refused(
                "a forecast refresh is running already; try again when it has finished".into(),
            ))
        }
    };
    let written = writeln!(
        out,
        "forecasts refreshed: {} SKUs in {:.1?} ({} {}, the longest {:.0?})",
        report.forecasts,
        started.elapsed(),
        report.writes,
        if report.writes == 1 {
            "write"
        } else {
            "writes"
        },
        report.longest_write
    );
    flushed(written, out).map(|()| report)
}

/// A figure with two decimals, or `-` when there is none.
fn figure(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.2}"))
}

fn write_backtest(r: &BacktestReport, out: &mut impl Write) -> std::io::Result<()> {
    let o = &r.options;
    let b = &r.results;
    writeln!(
        out,
        "backtest: {} SKUs scored, {} too short (fewer than {} days of history); horizon {} days, origins every {} days",
        b.scored(),
        b.skipped(),
        o.min_train + o.horizon as usize,
        o.horizon,
        o.step
    )?;
    if b.scored() == 0 {
        return Ok(());
    }
    writeln!(out, "overall (WAPE pooled, MASE mean over SKUs):")?;
    writeln!(out, "  {:<8} {:>6} {:>6}", "method", "WAPE", "MASE")?;
    for c in Contender::ALL {
        writeln!(
            out,
            "  {:<8} {:>6} {:>6}",
            c.as_str(),
            figure(b.wape(c)),
            figure(b.mase(c))
        )?;
    }
    let worst = b.worst();
    writeln!(
        out,
        "{} worst SKUs by {} MASE (WAPE/MASE per method):",
        worst.len(),
        WORST_BY.0.as_str()
    )?;
    write!(out, "  {:<20}", "sku")?;
    for c in Contender::ALL {
        write!(out, " {:>11}", c.as_str())?;
    }
    writeln!(out)?;
    for (sku, scores) in worst {
        write!(out, "  {sku:<20}")?;
        for c in Contender::ALL {
            let s: &Scores = scores.get(c);
            write!(
                out,
                " {:>11}",
                format!("{}/{}", figure(s.wape()), figure(s.mase()))
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
