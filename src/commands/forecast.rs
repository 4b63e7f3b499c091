//! `/forecast sku: [days:90]`: a SKU's demand forecast and what it means for its stock, with a
//! chart attached (on-hand over the last `days`, free stock projected with its band, reorder
//! point, safety stock, inbound arrivals).

use super::reply::{data, plural, Attachment};
use super::spec::{opt, range, CommandSpec, OptionKind, SKU};
use super::{Args, Ctx, Reply, Severity};
use crate::app::forecast::{self, ForecastChart, SkuForecast, MAX_CHART_DAYS};
use crate::app::AppError;

/// Days of history drawn when `days:` is not given.
pub const DEFAULT_DAYS: i64 = 90;

/// Days forecast and listed, as `backorder-bot forecast --sku` prints by default.
pub const HORIZON_DAYS: u32 = 14;

pub const SPEC: CommandSpec = CommandSpec {
    name: "forecast",
    sub: None,
    description: "Demand forecast of a SKU: cover, stock-out date, safety stock, with a chart",
    options: &[
        SKU,
        range(
            opt(
                "days",
                "Days of stock history the chart shows (default 90)",
                OptionKind::Integer,
                false,
            ),
            Some(1),
            Some(MAX_CHART_DAYS as i64),
        ),
    ],
    mutating: false,
    // Forecasting and drawing may take more than Discord's 3 s on a long history.
    defer: true,
};

pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
    let days = args.int("days")?.unwrap_or(DEFAULT_DAYS);
    let chart = forecast::forecast_chart(cx.app, args.req("sku")?, days, HORIZON_DAYS).await?;
    let png = super::chart::forecast(&chart)?;
    let mut reply = figures(&chart, days);
    reply.attachment = Some(Attachment {
        filename: format!("forecast-{}.png", file_safe(&chart.figures.sku)),
        bytes: png,
    });
    Ok(reply)
}

/// `TENT-2P` as it may stand in a file name: anything but letters, digits, `-`, `_` and `.`
/// becomes `_`.
fn file_safe(sku: &str) -> String {
    sku.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The figures `backorder-bot forecast --sku` prints, as a reply.
fn figures(c: &ForecastChart, days: i64) -> Reply {
    let f = &c.figures;
    let fc = &f.forecast;
    let severity = if f.cover.stockout_date.is_some_and(|d| {
        // A stock-out within the lead time cannot be fixed by an order placed today.
        (d - fc.start).num_days() < i64::from(f.lead_time_days)
    }) {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut r = Reply::new(
        format!("Forecast — {} — {}", data(&f.sku), data(&c.product_name)),
        severity,
    )
    .describe(format!(
        "History {} to {} ({}); {}.",
        f.history.0,
        f.history.1,
        plural((f.history.1 - f.history.0).num_days() + 1, "day", "days"),
        method_summary(f)
    ))
    .field("Free to promise", f.free_stock.to_string(), true)
    .field(
        "Days of cover",
        f.cover
            .days_of_cover
            .map_or("more than ten years".to_string(), |d| format!("{d:.1}")),
        true,
    )
    .field("Projected stock-out", stockout_summary(f), true)
    .field(
        "Lead time",
        format!(
            "{}{}",
            plural(i64::from(f.lead_time_days), "day", "days"),
            if f.lead_time_assumed {
                " (assumed: no product or supplier lead time)"
            } else {
                ""
            }
        ),
        true,
    )
    .field("Safety stock", format!("{:.1}", f.safety_stock), true)
    .field("Reorder point", format!("{:.1}", f.reorder_point), true);
    let inbound: Vec<String> = f
        .inbound
        .iter()
        .map(|i| match i.eta {
            Some(eta) => format!("{} units on {eta} ({})", i.units, data(&i.po_number)),
            None => format!(
                "{} units without an ETA ({}), not counted",
                i.units,
                data(&i.po_number)
            ),
        })
        .collect();
    r = r.field(
        "Inbound",
        if inbound.is_empty() {
            "none".to_string()
        } else {
            inbound.join("\n")
        },
        false,
    );
    r.lines.push("**Forecast per day**".to_string());
    for (i, units) in fc.per_day.iter().enumerate() {
        let day = fc.start + chrono::Days::new(i as u64);
        r.lines
            .push(format!("{day} {}  {units:.2}", day.format("%a")));
    }
    r.footer = Some(format!(
        "Chart: on hand over the last {}; free stock projected with a band of ± {:.2} × σ × √days ({:.0}% service level).",
        plural(days, "day", "days"),
        c.band_z,
        c.service_level * 100.0
    ));
    r
}

/// `method ses (auto), alpha 0.10, classification smooth (ADI 1.00, CV² 0.12)`, and whether
/// weekday seasonality applies: the printout's line, `/forecast`'s too.
pub fn method_summary(f: &SkuForecast) -> String {
    let fc = &f.forecast;
    let c = &fc.classification;
    format!(
        "method {}{}, alpha {:.2}, classification {} (ADI {:.2}, CV² {:.2}){}",
        f.method(),
        if f.auto { " (auto)" } else { "" },
        fc.alpha.get(),
        c.class.as_str(),
        c.adi,
        c.cv2,
        if fc.weekday_index.is_some() {
            ", weekday seasonality"
        } else {
            ""
        }
    )
}

/// The projected stock-out date, saying when it comes before an inbound that would cover it.
pub fn stockout_summary(f: &SkuForecast) -> String {
    let Some(d) = f.cover.stockout_date else {
        return "none within ten years".to_string();
    };
    let next = f
        .inbound
        .iter()
        .filter_map(|i| i.eta)
        .filter(|e| *e > d)
        .min();
    match next {
        Some(eta) => format!("{d}, before the inbound of {eta}"),
        None => d.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_safe("TENT-2P"), "TENT-2P");
        assert_eq!(file_safe("a/b c"), "a_b_c");
    }
}
