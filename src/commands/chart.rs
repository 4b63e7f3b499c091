//! Charts as PNG images, drawn in process with plotters and the bundled DejaVu Sans
//! (`chart/DejaVuSans.ttf`, licence beside it), so no system font is needed. Sized and lettered
//! to be read on a phone: 1000×560 pixels, labelled axes, dates on the time axis.
//!
//! - [`forecast`]: one SKU's on-hand history, its free stock projected from the forecast with the
//!   error band, reorder point and safety stock lines, and inbound arrivals at their ETAs.
//! - [`backorders_over_time`]: open backorders per day.

use crate::app::forecast::ForecastChart;
use chrono::{Days, NaiveDate};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

/// Width of every chart, in pixels.
pub const WIDTH: u32 = 1000;
/// Height of every chart, in pixels.
pub const HEIGHT: u32 = 560;
// Readable on a phone: at least 800×450.
const _: () = assert!(WIDTH >= 800 && HEIGHT >= 450);

/// The family the bundled font is registered as; plotters' `sans-serif` resolves to it.
const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("chart/DejaVuSans.ttf");

const TITLE_SIZE: u32 = 28;
const LABEL_SIZE: u32 = 18;
const AXIS_SIZE: u32 = 20;

const HISTORY: RGBColor = RGBColor(31, 119, 180);
const PROJECTED: RGBColor = RGBColor(255, 127, 14);
const REORDER: RGBColor = RGBColor(214, 39, 40);
const SAFETY: RGBColor = RGBColor(148, 103, 189);
const INBOUND: RGBColor = RGBColor(44, 160, 44);
const TODAY: RGBColor = RGBColor(120, 120, 120);

fn register_font() -> anyhow::Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| anyhow::anyhow!("the bundled chart font does not load"));
    });
    result
}

/// Draws on a white `WIDTH`×`HEIGHT` bitmap and returns it as a PNG.
fn render(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    register_font()?;
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        draw(&root)?;
        root.present().map_err(plot_error)?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(png)
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the chart: {e}")
}

/// `Nov 26` for day `x` counted from `origin`.
fn date_label(origin: NaiveDate, x: f64) -> String {
    let day = if x >= 0.0 {
        origin.checked_add_days(Days::new(x.round() as u64))
    } else {
        origin.checked_sub_days(Days::new((-x).round() as u64))
    };
    day.map_or_else(String::new, |d| d.format("%b %d").to_string())
}

/// The y range that holds `values` and 0, with some room below and `headroom` (a fraction of
/// the values' span) above.
fn y_range(values: impl Iterator<Item = f64>, headroom: f64) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((0.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = hi - lo;
    (if lo < 0.0 { lo - span * 0.08 } else { 0.0 })..(hi + span * headroom)
}

/// Room above the forecast chart's lines for its legend, so the legend covers none of them.
const LEGEND_HEADROOM: f64 = 0.6;

type DatedChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled chart over days from `origin` (x, labelled with dates) and units (y), its grid and
/// axis labels drawn.
fn dated_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    title: &str,
    origin: NaiveDate,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    y_desc: &str,
) -> anyhow::Result<DatedChart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, TITLE_SIZE))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&|x| date_label(origin, *x))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_desc("Date (UTC)")
        .y_desc(y_desc)
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, AXIS_SIZE))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

fn legend_line(colour: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(width))
}

/// The `/forecast` chart of one SKU (x: days from today, labelled with dates; y: units).
///
/// - on hand at the end of each day of the window (blue);
/// - free stock projected from today (orange): free to promise, plus inbound on its ETA, less
///   the forecast demand; the shaded band is ± z·σ·√n after n days, with z of the service level
///   and σ the forecast's one-step error, as the safety stock is computed;
/// - reorder point (red) and safety stock (purple) as horizontal lines;
/// - inbound arrivals (green triangles on the projection at their ETAs, with PO and units);
/// - today (grey vertical line).
pub fn forecast(c: &ForecastChart) -> anyhow::Result<Vec<u8>> {
    let today = c.figures.forecast.start;
    let x_of = |d: NaiveDate| (d - today).num_days() as f64;
    let x_min = c.on_hand.first().map_or(-1.0, |(d, _)| x_of(*d)).min(-1.0);
    let x_max = c.projection.last().map_or(1.0, |p| x_of(p.date)).max(1.0);
    let ys = c
        .on_hand
        .iter()
        .map(|(_, u)| *u as f64)
        .chain(c.projection.iter().flat_map(|p| [p.low, p.high]))
        .chain([c.figures.reorder_point, c.figures.safety_stock]);
    let y = y_range(ys, LEGEND_HEADROOM);
    let title = format!("{} — stock and forecast", c.figures.sku);
    render(|root| {
        let mut chart = dated_chart(root, &title, today, x_min..x_max, y.clone(), "Units")?;
        let band: Vec<(f64, f64)> = c
            .projection
            .iter()
            .map(|p| (x_of(p.date), p.high))
            .chain(c.projection.iter().rev().map(|p| (x_of(p.date), p.low)))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                band,
                PROJECTED.mix(0.2).filled(),
            )))
            .map_err(plot_error)?
            .label(format!(
                "forecast band (± {:.2}·σ·√days, {:.0}% service level)",
                c.band_z,
                c.service_level * 100.0
            ))
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 6), (x + 24, y + 6)], PROJECTED.mix(0.2).filled())
            });
        for (value, colour, name) in [
            (c.figures.reorder_point, REORDER, "reorder point"),
            (c.figures.safety_stock, SAFETY, "safety stock"),
        ] {
            chart
                .draw_series(LineSeries::new(
                    [(x_min, value), (x_max, value)],
                    colour.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(format!("{name} {value:.1}"))
                .legend(legend_line(colour, 2));
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, y.start), (0.0, y.end)],
                TODAY.stroke_width(1),
            ))
            .map_err(plot_error)?;
        chart
            .draw_series(LineSeries::new(
                c.on_hand.iter().map(|(d, u)| (x_of(*d), *u as f64)),
                HISTORY.stroke_width(3),
            ))
            .map_err(plot_error)?
            .label("on hand")
            .legend(legend_line(HISTORY, 3));
        chart
            .draw_series(LineSeries::new(
                c.projection.iter().map(|p| (x_of(p.date), p.units)),
                PROJECTED.stroke_width(3),
            ))
            .map_err(plot_error)?
            .label(format!("projected free stock ({})", c.figures.method()))
            .legend(legend_line(PROJECTED, 3));
        let arrivals: Vec<(f64, f64, String)> = c
            .figures
            .inbound
            .iter()
            .filter_map(|i| {
                let eta = i.eta?.max(today);
                let at = c.projection.iter().find(|p| p.date == eta)?;
                Some((x_of(eta), at.units, format!("{} +{}", i.po_number, i.units)))
            })
            .collect();
        if !arrivals.is_empty() {
            chart
                .draw_series(
                    arrivals
                        .iter()
                        .map(|(x, y, _)| TriangleMarker::new((*x, *y), 9, INBOUND.filled())),
                )
                .map_err(plot_error)?
                .label("inbound (PO, units) at ETA")
                .legend(|(x, y)| TriangleMarker::new((x + 12, y), 7, INBOUND.filled()));
            chart
                .draw_series(arrivals.iter().map(|(x, y, text)| {
                    // Beside the marker, not under it.
                    EmptyElement::at((*x, *y))
                        + Text::new(
                            text.clone(),
                            (12, -24),
                            (FONT, 16).into_font().color(&INBOUND),
                        )
                }))
                .map_err(plot_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(plot_error)?;
        Ok(())
    })
}

/// Open backorders per day (x: dates, y: backorders), for `/report`: `series` is one count per
/// day, oldest first. An empty series draws the axes around today-less-nothing: an empty chart.
pub fn backorders_over_time(series: &[(NaiveDate, u32)], title: &str) -> anyhow::Result<Vec<u8>> {
    let origin = series.first().map_or_else(
        || NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
        |p| p.0,
    );
    let x_of = |d: NaiveDate| (d - origin).num_days() as f64;
    let x_max = series.last().map_or(1.0, |(d, _)| x_of(*d)).max(1.0);
    let y = y_range(series.iter().map(|(_, n)| f64::from(*n)), 0.08);
    render(|root| {
        let mut chart = dated_chart(root, title, origin, 0.0..x_max, y, "Open backorders")?;
        chart
            .draw_series(LineSeries::new(
                series.iter().map(|(d, n)| (x_of(*d), f64::from(*n))),
                REORDER.stroke_width(3),
            ))
            .map_err(plot_error)?;
        Ok(())
    })
}

/// Width and height of a PNG, from its IHDR chunk; `None` when `bytes` is not a PNG.
pub fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_empty_or_one_day_series_still_draws_a_chart() {
        let png = backorders_over_time(&[], "Open backorders").unwrap();
        assert_eq!(png_dimensions(&png), Some((WIDTH, HEIGHT)));
        let png = backorders_over_time(&[(d("2026-11-26"), 0)], "x").unwrap();
        assert_eq!(png_dimensions(&png), Some((WIDTH, HEIGHT)));
        assert_eq!(png_dimensions(b"GIF89a"), None);
    }

    #[test]
    fn dates_label_the_time_axis() {
        assert_eq!(date_label(d("2026-11-26"), -2.0), "Nov 24");
        assert_eq!(date_label(d("2026-11-26"), 6.4), "Dec 02");
    }
}
