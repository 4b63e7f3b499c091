//! Charts: `/forecast sku: [days:]` (the figures, the chart attached: a PNG of the chart size with
//! a plot drawn; the console writing it to `charts/` beside the database and printing its path),
//! and the backorders-over-time chart `/report` attaches.

mod common;

use backorder_bot::adapters::console;
use backorder_bot::commands::chart;
use backorder_bot::commands::Outcome;
use chrono::{Days, NaiveDate};
use common::{spawn_demo_app, test_now, TestApp};

/// 60 days of sales of `sku` before the tests' today (1 to 4 units a day, none on Sundays), and
/// two stock receipts in the last month (in the ledger and on hand), so the chart has history, a
/// forecast and movements.
async fn with_history(t: &TestApp, sku: &str) {
    let id = t
        .scalar(&format!("SELECT id FROM products WHERE sku = '{sku}'"))
        .await;
    let today = test_now().date_naive();
    let now = test_now().to_rfc3339();
    for n in 1..=60u64 {
        let day = today - chrono::Days::new(n);
        if n % 7 == 3 {
            continue;
        }
        t.exec(&format!(
            "INSERT INTO sales_history (product_id, order_number, customer, qty, sold_at, day, nth, imported_at)
             VALUES ({id}, 'H-{n}', NULL, {qty}, '{day}', '{day}', 1, '{now}')",
            qty = 1 + (n % 4) as i64,
        ))
        .await;
    }
    for (n, qty) in [(20u64, 12i64), (6, 8)] {
        t.exec(&format!(
            "INSERT INTO stock_movements (product_id, kind, qty, actor, reason, created_at)
             VALUES ({id}, 'receipt', {qty}, 'test', '', '{}T09:00:00.000Z')",
            today - chrono::Days::new(n)
        ))
        .await;
        t.exec(&format!(
            "UPDATE stock_positions SET on_hand = on_hand + {qty} WHERE product_id = {id}"
        ))
        .await;
    }
}

/// Width and height of a PNG (after its signature and IHDR chunk).
fn png_size(png: &[u8]) -> (u32, u32) {
    chart::png_dimensions(png).expect("a PNG")
}

/// Pixels that are not white in the middle three fifths of the image (the plot area).
fn inked_pixels_in_plot_area(png: &[u8]) -> usize {
    let mut reader = png::Decoder::new(png).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let px = info.color_type.samples();
    (h / 5..h * 4 / 5)
        .flat_map(|y| (w / 5..w * 4 / 5).map(move |x| (y * w + x) * px))
        .filter(|&i| buf[i..i + 3] != [255, 255, 255])
        .count()
}

#[tokio::test]
async fn forecast_replies_with_the_figures_and_a_chart_of_the_chart_size() {
    let t = spawn_demo_app().await;
    with_history(&t, "TENT-2P").await;
    let (reply, outcome) = t.ask("/forecast TENT-2P days:30").await;
    assert_eq!(outcome, Outcome::Ok, "{}", reply.to_text());
    let text = reply.to_text();
    assert!(
        text.contains("Forecast — TENT-2P — Trailhead 2-person tent"),
        "{text}"
    );
    assert!(
        text.contains("History 2026-09-27 to 2026-11-25 (60 days)"),
        "{text}"
    );
    for figure in [
        "Days of cover:",
        "Projected stock-out:",
        "Safety stock:",
        "Reorder point:",
    ] {
        assert!(text.contains(figure), "{figure} in {text}");
    }
    // Fourteen days forecast, today first.
    assert!(text.contains("2026-11-26 Thu"), "{text}");
    assert!(text.contains("2026-12-09 Wed"), "{text}");
    assert!(text.contains("on hand over the last 30 days"), "{text}");
    let file = reply.attachment.expect("a chart is attached");
    assert_eq!(file.filename, "forecast-TENT-2P.png");
    assert_eq!(png_size(&file.bytes), (chart::WIDTH, chart::HEIGHT));
    let inked = inked_pixels_in_plot_area(&file.bytes);
    assert!(inked > 5_000, "only {inked} pixels drawn in the plot area");
}

#[tokio::test]
async fn the_console_writes_the_chart_beside_the_database_and_prints_its_path() {
    let t = spawn_demo_app().await;
    with_history(&t, "TENT-2P").await;
    let (reply, outcome) = console::ask(&t.app, &TestApp::ops(), "/forecast TENT-2P").await;
    assert_eq!(outcome, Outcome::Ok, "{}", reply.to_text());
    assert!(
        reply.attachment.is_none(),
        "the console keeps no file in the reply"
    );
    let path = t.dir.path().join("charts").join("forecast-TENT-2P.png");
    let text = reply.to_text();
    assert!(
        text.contains(&format!("Chart written to {}", path.display())),
        "{text}"
    );
    assert!(text.contains("on hand over the last 90 days"), "{text}");
    let png = std::fs::read(&path).unwrap();
    assert_eq!(png_size(&png), (chart::WIDTH, chart::HEIGHT));
}

#[tokio::test]
async fn a_days_value_out_of_range_is_refused_naming_the_option() {
    let t = spawn_demo_app().await;
    with_history(&t, "TENT-2P").await;
    let low = t.user_error("/forecast TENT-2P days:0").await;
    assert!(low.contains("days: must be at least 1"), "{low}");
    let high = t.user_error("/forecast TENT-2P days:366").await;
    assert!(high.contains("days: must be at most 365"), "{high}");
    let word = t.user_error("/forecast TENT-2P days:many").await;
    assert!(
        word.contains("days: \"many\" is not a whole number"),
        "{word}"
    );
    let (reply, outcome) = t.ask("/forecast TENT-2P days:365").await;
    assert_eq!(outcome, Outcome::Ok, "{}", reply.to_text());
}

#[test]
fn backorders_over_time_is_a_png_of_the_chart_size_with_a_line_in_the_plot_area() {
    let start: NaiveDate = "2026-10-28".parse().unwrap();
    let series: Vec<(NaiveDate, u32)> = (0..30u32)
        .map(|i| (start + Days::new(u64::from(i)), (i * 7) % 23))
        .collect();
    let png = chart::backorders_over_time(&series, "Open backorders, last 30 days").unwrap();
    assert_eq!(png_size(&png), (chart::WIDTH, chart::HEIGHT));
    let inked = inked_pixels_in_plot_area(&png);
    assert!(inked > 2_000, "only {inked} pixels drawn in the plot area");
}
