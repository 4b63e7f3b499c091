//! `/report`: the figures of a shop built step by step through the app with the clock moved by
//! hand, worked out below from the steps; the console answer; bad `days:`.

mod common;
#[path = "support/mock_twilio.rs"]
mod mock_twilio;

use backorder_bot::adapters::dispatcher::Dispatcher;
use backorder_bot::app::orders::{place_order, NewOrder};
use backorder_bot::app::report::report;
use backorder_bot::domain::report::{ReportDays, Tally};
use backorder_bot::domain::{BackorderId, Money};
use backorder_bot::store::Engine;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::{spawn_app_with, test_now, TestApp};
use mock_twilio::MockTwilio;

/// Noon UTC of a day of 2026.
fn noon(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 12, 0, 0).unwrap()
}

fn date(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, day).unwrap()
}

/// C1 is texted (through the mock); C2 wants no messages.
const C1_PHONE: &str = "+447700900001";

struct Shop {
    t: TestApp,
    _sms: MockTwilio,
    /// Backorder ids in the order they were made.
    backorders: Vec<BackorderId>,
}

impl Shop {
    fn at(&self, t: DateTime<Utc>) {
        self.t.app.clock.set(t);
    }

    /// Places an order now; keeps the ids of the backorders it made.
    async fn order(&mut self, number: &str, customer: &str, lines: &[(&str, i64)]) {
        let placed = place_order(
            &self.t.app,
            &TestApp::ops(),
            &NewOrder {
                order: number.into(),
                customer: customer.into(),
                ordered_at: None,
                lines: lines
                    .iter()
                    .map(|(s, q)| (s.to_string(), *q, None))
                    .collect(),
            },
        )
        .await
        .unwrap();
        self.backorders
            .extend(placed.lines.iter().filter_map(|(_, o)| o.backorder_id));
        self.send().await;
    }

    /// Sends the customer updates due now, as the dispatcher does.
    async fn send(&self) {
        Dispatcher::new(&self.t.app)
            .unwrap()
            .run_once(&self.t.app)
            .await
            .unwrap();
    }

    async fn ok(&self, line: &str) -> String {
        let out = self.t.ok(line).await;
        self.send().await;
        out
    }
}

/// The shop, step by step (the window of a 30-day report on 2026-11-26 12:00 starts 2026-10-27
/// 12:00):
///
/// | when | what | backorder |
/// | --- | --- | --- |
/// | 10-01 | suppliers, products (A-1 10.00 none, B-2 25.00 ×2, C-3 5.00 ×100, D-4 7.50 none), customers | |
/// | 10-20 | O-1 (C1): A-1×2, D-4×1 | #1 A-1 2, #2 D-4 1 |
/// | 10-21 | C1 texts a question (before the window) | |
/// | 11-01 | PO-1 Acme A-1×4 due 11-10, PO-2 Bolt B-2×5 due 11-12 | |
/// | 11-02 | O-2 (C2): B-2×3 (2 from stock), C-3×1; O-3 (C1): A-1×1 | #3 B-2 1, #4 A-1 1 |
/// | 11-05 | PO-1 moved to 11-12 | |
/// | 11-09 | PO-2 received: #3 allocated | |
/// | 11-13 | PO-1 received: #1 and #4 allocated | |
/// | 11-14 | #1 shipped; C1 texts a question | |
/// | 11-15 | the text telling C1 of the allocation is reported undelivered | |
/// | 11-20 | O-4 (C2): A-1×3 (1 from stock) | #5 A-1 2 |
/// | 11-21 | O-5 (C2): B-2×2 (from stock) | |
/// | 11-22 | O-6 (C2): A-1×5 | #6 A-1 5 |
/// | 11-24 | #6 cancelled | |
/// | 11-25 | O-7 (C1): A-1×1 | #7 A-1 1 |
async fn shop() -> Shop {
    let sms = MockTwilio::start().await;
    let mut vars = sms.settings_vars();
    vars.extend(common::vars(&[
        ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
        ("BACKORDER_BOT__SHOP__CURRENCY", "EUR"),
    ]));
    let t = spawn_app_with(&vars).await;
    let mut s = Shop {
        t,
        _sms: sms,
        backorders: Vec::new(),
    };
    s.at(noon(10, 1));
    s.t.import(
        "suppliers",
        "code,name\nACME,Acme *Tools* @everyone\nBOLT,Bolt Ltd\n",
    )
    .await
    .unwrap();
    s.t.import(
        "products",
        "sku,name,unit_price,on_hand,supplier\n\
         A-1,Alpha widget,10.00,0,ACME\n\
         B-2,Beta _gadget_,25.00,2,BOLT\n\
         C-3,Gamma,5.00,100,\n\
         D-4,Delta,7.50,0,\n",
    )
    .await
    .unwrap();
    s.t.import(
        "customers",
        &format!("id,name,phone,channel\nC1,Ada Lovelace,{C1_PHONE},sms\nC2,Bob Moss,,none\n"),
    )
    .await
    .unwrap();

    s.at(noon(10, 20));
    s.order("O-1", "C1", &[("A-1", 2), ("D-4", 1)]).await;
    s.at(noon(10, 21));
    inquiry(&s.t, "where is my order?").await;

    s.at(noon(11, 1));
    s.t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta\nPO-1,ACME,A-1,4,2026-11-10\nPO-2,BOLT,B-2,5,2026-11-12\n",
    )
    .await
    .unwrap();
    s.send().await;

    s.at(noon(11, 2));
    s.order("O-2", "C2", &[("B-2", 3), ("C-3", 1)]).await;
    s.order("O-3", "C1", &[("A-1", 1)]).await;

    s.at(noon(11, 5));
    s.ok("/eta PO-1 2026-11-12 carrier delay").await;
    s.at(noon(11, 9));
    s.ok("/receive PO-2").await;
    s.at(noon(11, 13));
    s.ok("/receive PO-1").await;
    s.at(noon(11, 14));
    s.ok(&format!("/backorder fulfil {}", s.backorders[0]))
        .await;
    inquiry(&s.t, "and the lamp?").await;
    s.at(noon(11, 15));
    let sid: String = {
        let sql = "SELECT provider_sid FROM messages WHERE kind = 'allocated'";
        let mut conn = s.t.app.store.conn().await.unwrap();
        match conn.engine() {
            Engine::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await,
            Engine::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await,
        }
        .unwrap()
    };
    let known =
        backorder_bot::app::notify::status_callback(&s.t.app, &sid, "undelivered", Some("30003"))
            .await
            .unwrap();
    assert!(known);

    s.at(noon(11, 20));
    s.order("O-4", "C2", &[("A-1", 3)]).await;
    s.at(noon(11, 21));
    s.order("O-5", "C2", &[("B-2", 2)]).await;
    s.at(noon(11, 22));
    s.order("O-6", "C2", &[("A-1", 5)]).await;
    s.at(noon(11, 24));
    s.ok(&format!(
        "/backorder cancel {} customer changed mind",
        s.backorders[5]
    ))
    .await;
    s.at(noon(11, 25));
    s.order("O-7", "C1", &[("A-1", 1)]).await;
    s.at(test_now());
    s
}

async fn inquiry(t: &TestApp, body: &str) {
    let (kind, _) = backorder_bot::app::notify::inbound(&t.app, C1_PHONE, body, None)
        .await
        .unwrap();
    assert_eq!(
        kind,
        backorder_bot::domain::notify::InboundKind::Inquiry,
        "{body}"
    );
}

fn tally(count: i64, units: i64, value_minor: i64) -> Tally {
    Tally {
        count,
        units,
        value: Money(value_minor),
    }
}

#[tokio::test]
async fn report_figures_match_the_shop_worked_out_by_hand() {
    let s = shop().await;
    assert_eq!(s.backorders.len(), 7, "{:?}", s.backorders);
    let r = report(&s.t.app, ReportDays::DEFAULT).await.unwrap();
    assert_eq!((r.from, r.to), (noon(10, 27), noon(11, 26)));

    // Open now: #2 (D-4 1 × 7.50, 37 days old), #5 (A-1 2 × 10.00, 6 days), #7 (A-1 1 × 10.00,
    // 1 day). #1, #3, #4 are allocated or shipped, #6 cancelled.
    assert_eq!(r.open.total, tally(3, 4, 3750));
    assert_eq!(
        r.open.by_age,
        [
            tally(1, 1, 1000),
            tally(1, 2, 2000),
            Tally::default(),
            tally(1, 1, 750)
        ]
    );

    // Lines ordered in the window: O-2 (2), O-3, O-4, O-5, O-6, O-7 = 7; backordered: B-2 of
    // O-2, O-3, O-4, O-6, O-7 = 5 (O-4 partly from stock is still a backordered line).
    assert_eq!((r.lines.fill.part, r.lines.fill.whole), (2, 7));
    assert_eq!((r.lines.backorder.part, r.lines.backorder.whole), (5, 7));

    // Allocated in full in the window: #3 (11-02 → 11-09: 7 days), #4 (11-02 → 11-13: 11 days),
    // #1 (ordered 10-20, allocated 11-13: 24 days; shipped since). Mean 42 / 3 = 14, p95 is the
    // 3rd of 3 (nearest rank) = 24.
    assert_eq!(r.fulfil.count, 3);
    assert_eq!(r.fulfil.mean_days, Some(14.0));
    assert_eq!(r.fulfil.p95_days, Some(24.0));

    // Lost: #6, 5 × 10.00.
    assert_eq!(r.lost, tally(1, 5, 5000));

    // The inquiry of 11-14; the one of 10-21 is before the window.
    assert_eq!(r.messages.inquiries, 1);
    // Texts to C1 in the window, one per update: promise 11-01, backordered 11-02, promise moved
    // 11-05, allocated 11-13 (reported undelivered on 11-15), backordered 11-25. The backordered
    // text of 10-20 is older.
    assert_eq!((r.messages.sent, r.messages.failed), (4, 1));

    // Created in the window: A-1 #4 1, #5 2, #6 5, #7 1 = 9 units, 90.00; B-2 #3 1, 25.00.
    // D-4's #2 is older.
    let top: Vec<(&str, Tally)> = r
        .top_skus
        .iter()
        .map(|s| (s.sku.as_str(), s.tally))
        .collect();
    assert_eq!(
        top,
        [("A-1", tally(4, 9, 9000)), ("B-2", tally(1, 1, 2500))]
    );

    // Acme: PO-1's first ETA 11-10, received 11-13: late by 3. Bolt: PO-2 due 11-12, received
    // 11-09: on time, 3 days early.
    let sup: Vec<(Option<&str>, i64, i64, f64)> = r
        .suppliers
        .iter()
        .map(|s| {
            (
                s.supplier.as_deref(),
                s.on_time.part,
                s.on_time.whole,
                s.mean_slip_days,
            )
        })
        .collect();
    assert_eq!(
        sup,
        [
            (Some("Acme *Tools* @everyone"), 0, 1, 3.0),
            (Some("Bolt Ltd"), 1, 1, -3.0)
        ]
    );

    // Open at the end of each day: #1 and #2 before the window; +#3 +#4 on 11-02; −#3 on 11-09;
    // −#1 −#4 on 11-13; +#5 on 11-20; +#6 on 11-22, −#6 on 11-24; +#7 on 11-25.
    assert_eq!(r.open_over_time.len(), 30);
    assert_eq!(r.open_over_time[0], (date(10, 28), 2));
    let on = |m, d| {
        r.open_over_time
            .iter()
            .find(|(day, _)| *day == date(m, d))
            .unwrap()
            .1
    };
    assert_eq!(
        [
            on(11, 1),
            on(11, 2),
            on(11, 9),
            on(11, 13),
            on(11, 20),
            on(11, 22),
            on(11, 24),
            on(11, 25),
            on(11, 26)
        ],
        [2, 4, 3, 1, 2, 3, 2, 3, 3]
    );
    assert_eq!(r.open_over_time.last().unwrap().1, r.open.total.count);

    // A 5-day window (from 11-21 12:00) keeps only what happened since.
    let r5 = report(&s.t.app, ReportDays::new(5).unwrap()).await.unwrap();
    // O-5 at 11-21 12:00 is on the window's first instant: O-5, O-6, O-7.
    assert_eq!((r5.lines.fill.part, r5.lines.fill.whole), (1, 3));
    assert_eq!(r5.fulfil.count, 0);
    assert_eq!(r5.lost, tally(1, 5, 5000));
    assert!(r5.suppliers.is_empty());
    assert_eq!(r5.open.total, r.open.total, "open backorders are as of now");
    assert_eq!(r5.open_over_time.len(), 5);
}

#[tokio::test]
async fn the_console_report_names_its_window_and_shows_every_figure() {
    let s = shop().await;
    let text = s.t.ok("/report").await;
    let expected = "\
Backorder report — last 30 days
2026-10-27 12:00 → 2026-11-26 12:00 UTC; open backorders as of now
  Open backorders: 3 (4 units, 37.50 EUR)
  By age: 0–3 d: 1 · 4–7 d: 1 · 8–14 d: 0 · 15+ d: 1
  Fill rate: 28.6% (2 of 7 lines)
  Backorder rate: 71.4% (5 of 7 lines)
  Days to fulfil: mean 14.0 · p95 24.0 (3 backorders)
  Lost sales: 50.00 EUR (1 backorder cancelled, 5 units)
  Customer messages: 1 inquiry · 4 sent · 1 failed
  Top backordered SKUs: 1. A-1 — Alpha widget: 9 units, 4 backorders, 90.00 EUR
    2. B-2 — Beta _gadget_: 1 unit, 1 backorder, 25.00 EUR
  Suppliers: Acme *Tools* @everyone: on time 0.0% (0 of 1 line), mean slip +3.0 d
    Bolt Ltd: on time 100.0% (1 of 1 line), mean slip -3.0 d";
    assert_eq!(text, expected);
    let week = s.t.ok("/report days:7").await;
    assert!(
        week.starts_with("Backorder report — last 7 days\n2026-11-19 12:00 → 2026-11-26 12:00 UTC"),
        "{week}"
    );
    assert!(
        week.contains("Suppliers: no PO line received in full in the window"),
        "{week}"
    );
    assert!(
        week.contains("Days to fulfil: none allocated in full in the window"),
        "{week}"
    );
}

#[tokio::test]
async fn outside_names_cannot_format_or_ping_in_the_reply_markup() {
    let s = shop().await;
    let (reply, _) = s.t.ask("/report").await;
    let field = |name: &str| {
        reply
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
            .unwrap_or_else(|| panic!("no field {name}"))
    };
    let suppliers = field("Suppliers");
    // Escaped for Discord: no bold, no mention.
    assert!(suppliers.contains("Acme \\*Tools\\*"), "{suppliers}");
    assert!(!suppliers.contains("@everyone"), "{suppliers}");
    let top = field("Top backordered SKUs");
    assert!(top.contains("Beta \\_gadget\\_"), "{top}");
}

#[tokio::test]
async fn a_bad_days_value_is_refused_naming_the_option() {
    let t = common::spawn_app().await;
    for (line, why) in [
        ("/report days:0", "days: must be at least 1"),
        ("/report days:366", "days: must be at most 365"),
        ("/report days:month", "days:"),
        ("/report 400", "days: must be at most 365"),
    ] {
        let text = t.user_error(line).await;
        assert!(text.contains(why), "{line} → {text}");
    }
    // An empty shop reports zeros, not errors.
    let text = t.ok("/report days:1").await;
    assert!(
        text.contains("Open backorders: 0 (0 units, 0.00 "),
        "{text}"
    );
    assert!(text.contains("Fill rate: — (no lines)"), "{text}");
}

#[tokio::test]
async fn the_report_attaches_a_chart_of_open_backorders_and_the_console_writes_it() {
    use backorder_bot::adapters::console;
    use backorder_bot::commands::{chart, Outcome};
    let s = shop().await;
    let (reply, outcome) = s.t.ask("/report days:7").await;
    assert_eq!(outcome, Outcome::Ok, "{}", reply.to_text());
    let file = reply.attachment.expect("a chart is attached");
    assert_eq!(file.filename, "report-backorders.png");
    assert_eq!(
        chart::png_dimensions(&file.bytes),
        Some((chart::WIDTH, chart::HEIGHT))
    );
    let (reply, outcome) = console::ask(&s.t.app, &TestApp::ops(), "/report").await;
    assert_eq!(outcome, Outcome::Ok, "{}", reply.to_text());
    let path = s.t.dir.path().join("charts").join("report-backorders.png");
    let text = reply.to_text();
    assert!(
        text.contains(&format!("Chart written to {}", path.display())),
        "{text}"
    );
    let png = std::fs::read(&path).unwrap();
    assert_eq!(
        chart::png_dimensions(&png),
        Some((chart::WIDTH, chart::HEIGHT))
    );
}
