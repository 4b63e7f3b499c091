//! The stored aggregates behind the alert evaluation (migration 0011: open backorder totals and
//! units sold on `stock_positions`, `sales_daily`) stay equal to a recomputation from the raw
//! rows through a random series of writes, and the evaluation that reads them (with its SQL
//! prefilters) finds exactly what a brute-force evaluation of every SKU finds.

mod common;

use backorder_bot::app::orders::NewOrder;
use backorder_bot::app::{self, Actor};
use backorder_bot::domain::alerts::{
    daily_sales_rate, AlertRule, RateSource, Scope, Severity, SkuFigures, SALES_WINDOW_DAYS,
};
use backorder_bot::domain::forecast::Method;
use backorder_bot::domain::{BackorderId, MovementKind};
use backorder_bot::store::stock::{record_movement, Movement};
use backorder_bot::store::Engine;
use chrono::{Duration, NaiveDate};
use common::{spawn_app, TestApp};

const SKUS: [&str; 8] = ["A1", "A2", "B1", "B2", "C1", "C2", "FAST", "SLOW"];

async fn shop() -> TestApp {
    let t = spawn_app().await;
    t.import(
        "suppliers",
        "code,name,email,phone,lead_time_days\nACME,Acme,,,14\nQUICK,Quick,,,3\n",
    )
    .await
    .unwrap();
    t.import(
        "products",
        "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
         A1,Alpha one,a,1.00,10,5,2,10,,ACME,\n\
         A2,Alpha two,a,1.00,3,5,2,10,,ACME,\n\
         B1,Beta one,b,1.00,20,8,3,20,30,ACME,\n\
         B2,Beta two,b,1.00,0,2,0,5,,QUICK,\n\
         C1,Gamma one,c,1.00,6,1,4,10,,QUICK,\n\
         C2,Gamma two,c,1.00,40,10,5,10,,,\n\
         FAST,Fast seller,c,1.00,60,5,2,50,,ACME,\n\
         SLOW,Slow seller,c,1.00,200,5,2,50,,QUICK,\n",
    )
    .await
    .unwrap();
    t.import(
        "customers",
        "id,name,email,phone,tier,channel,timezone\nK1,Kim,,,gold,none,UTC\nK2,Lee,,,standard,none,UTC\nK3,Max,,,vip,none,UTC\n",
    )
    .await
    .unwrap();
    t
}

/// The UTC day of a stored timestamp `column`, as `sales_daily.day` holds it.
fn day_of(column: &str) -> String {
    if common::on_postgres() {
        format!("CAST(({column} AT TIME ZONE 'UTC') AS DATE)")
    } else {
        format!("substr({column}, 1, 10)")
    }
}

/// Rows where a stored aggregate differs from its recomputation (0 when in step).
async fn drift(t: &TestApp) -> i64 {
    let sale_day = day_of("created_at");
    t.scalar(&format!(
        "SELECT
           (SELECT COUNT(*) FROM stock_positions sp WHERE
              open_backorders <> (SELECT COUNT(*) FROM backorders b
                  WHERE b.product_id = sp.product_id AND b.status = 'open')
              OR backorder_units <> (SELECT COALESCE(SUM(b.qty - b.qty_allocated), 0) FROM backorders b
                  WHERE b.product_id = sp.product_id AND b.status = 'open')
              OR units_sold <> (SELECT COALESCE(SUM(CASE WHEN m.qty < 0 THEN -m.qty ELSE 0 END), 0)
                  FROM stock_movements m
                  WHERE m.product_id = sp.product_id AND m.kind = 'sale'))
         + (SELECT COUNT(*) FROM backorders b WHERE b.status = 'open' AND NOT EXISTS
              (SELECT 1 FROM stock_positions sp WHERE sp.product_id = b.product_id))
         + (SELECT COUNT(*) FROM (
              SELECT product_id, day, units FROM sales_daily
              EXCEPT SELECT product_id, {sale_day}, -SUM(qty) FROM stock_movements
                     WHERE kind = 'sale' GROUP BY product_id, {sale_day}) AS missing)
         + (SELECT COUNT(*) FROM (
              SELECT product_id, {sale_day}, -SUM(qty) FROM stock_movements
                     WHERE kind = 'sale' GROUP BY product_id, {sale_day}
              EXCEPT SELECT product_id, day, units FROM sales_daily) AS astray)",
    ))
    .await
}

/// The rows of `sql` with text binds `binds`, on either engine.
async fn fetch_all<T>(t: &TestApp, sql: &str, binds: &[String]) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let mut conn = t.app.store.conn().await.unwrap();
    match conn.engine() {
        Engine::Sqlite(c) => {
            let mut q = sqlx::query_as(sql);
            for b in binds {
                q = q.bind(b);
            }
            q.fetch_all(c).await
        }
        Engine::Postgres(c) => {
            let mut q = sqlx::query_as(sql);
            for b in binds {
                q = q.bind(b);
            }
            q.fetch_all(c).await
        }
    }
    .unwrap()
}

async fn open_backorders(t: &TestApp, status: &str) -> Vec<i64> {
    let rows: Vec<(i64,)> = fetch_all(
        t,
        "SELECT id FROM backorders WHERE status = $1 ORDER BY id",
        &[status.to_string()],
    )
    .await;
    rows.into_iter().map(|r| r.0).collect()
}

async fn sell(t: &TestApp, sku: &str, units: i64) -> anyhow::Result<()> {
    let mut tx = t.app.store.begin_write().await?;
    let p = t.app.product(&mut tx, sku).await?;
    record_movement(
        &mut tx,
        &Movement {
            product_id: p.id,
            kind: MovementKind::Sale,
            qty: -units,
            actor: "test",
            reason: "till",
            reference: None,
            at: t.app.clock.now(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One random write; errors (over-receipts, stock below allocated…) are part of the series:
/// they must leave the aggregates as they were.
async fn random_write(t: &TestApp, rng: &mut fastrand::Rng, step: usize) {
    let ops = Actor::operator("tester");
    let sku = SKUS[rng.usize(..SKUS.len())];
    match rng.u8(..10) {
        0 | 1 => {
            let order = NewOrder {
                order: format!("SO-{step}"),
                customer: format!("K{}", rng.u8(1..4)),
                ordered_at: None,
                lines: vec![(sku.to_string(), rng.i64(1..8), None)],
            };
            let _ = app::orders::place_order(&t.app, &ops, &order).await;
        }
        2 => {
            let delta = rng.i64(-6..15);
            if delta != 0 {
                let _ = app::stock::adjust(&t.app, &ops, sku, delta, "count").await;
            }
        }
        3 => {
            let _ = sell(t, sku, rng.i64(1..6)).await;
        }
        4 => {
            let eta = (t.app.clock.today() + Duration::days(rng.i64(-2..40))).to_string();
            let status = if rng.u8(..5) == 0 {
                "cancelled"
            } else {
                "open"
            };
            let po = format!("PO-{}", rng.u8(1..5));
            let supplier = if po == "PO-1" || po == "PO-3" {
                "ACME"
            } else {
                "QUICK"
            };
            let _ = t
                .import(
                    "purchase-orders",
                    &format!(
                        "po,supplier,sku,qty,eta,status\n{po},{supplier},{sku},{},{eta},{status}\n",
                        rng.i64(5..40)
                    ),
                )
                .await;
        }
        5 => {
            let po = format!("PO-{}", rng.u8(1..5));
            let _ =
                app::purchasing::receive(&t.app, &ops, &po, Some(sku), Some(rng.i64(1..10))).await;
        }
        6 => {
            let open = open_backorders(t, "open").await;
            if !open.is_empty() {
                let id = open[rng.usize(..open.len())];
                let _ = app::backorders::cancel(&t.app, &ops, BackorderId(id), "customer gave up")
                    .await;
            }
        }
        7 => {
            let allocated = open_backorders(t, "allocated").await;
            if !allocated.is_empty() {
                let id = allocated[rng.usize(..allocated.len())];
                let _ = app::backorders::fulfil(&t.app, &ops, BackorderId(id)).await;
            }
        }
        8 => {
            let _ = t
                .import(
                    "orders",
                    &format!(
                        "order,customer,sku,qty\nIM-{step},K{},{sku},{}\nIM-{step},K1,FAST,{}\n",
                        rng.u8(1..4),
                        rng.i64(1..6),
                        rng.i64(1..4)
                    ),
                )
                .await;
        }
        _ => {
            let _ = t
                .import(
                    "products",
                    &format!(
                        "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
                         {sku},Counted {sku},c,1.00,{},{},2,10,,ACME,\n",
                        rng.i64(0..50),
                        rng.i64(1..12)
                    ),
                )
                .await;
        }
    }
    // Sales spread over days, and the window moves past the oldest ones.
    t.app
        .clock
        .set(t.app.clock.now() + Duration::minutes(rng.i64(0..12 * 60)));
}

fn rule(min_severity: Severity) -> AlertRule {
    AlertRule {
        name: "check".into(),
        schedule: backorder_bot::domain::schedule::CronSchedule::parse("0 7 * * *").unwrap(),
        timezone: chrono_tz::UTC,
        channel_id: 1,
        scope: Scope::default(),
        min_severity,
        repeat_interval: Duration::hours(24),
        resolve_margin: 0.1,
    }
}

type Raw = (
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<f64>,
    Option<String>,
);

/// Every SKU's figures straight from the raw tables (no stored aggregate), judged by the domain.
async fn brute_force(t: &TestApp, min: Severity) -> Vec<(String, Severity, i64, i64, String)> {
    let today = t.app.clock.today();
    let since = today - Duration::days(SALES_WINDOW_DAYS - 1);
    let (lead_end, since_day) = if common::on_postgres() {
        (
            "CAST($1 AS DATE) + CAST(COALESCE(p.lead_time_days, s.lead_time_days, 14) AS INTEGER)",
            "CAST($2 AS DATE)",
        )
    } else {
        (
            "date($1, '+' || COALESCE(p.lead_time_days, s.lead_time_days, 14) || ' days')",
            "$2",
        )
    };
    let sale_day = day_of("m.created_at");
    let rows: Vec<Raw> = fetch_all(
        t,
        &format!(
            "SELECT p.sku, COALESCE(sp.on_hand, 0), COALESCE(sp.allocated, 0),
            (SELECT COUNT(*) FROM backorders b WHERE b.product_id = p.id AND b.status = 'open'),
            (SELECT CAST(COALESCE(SUM(b.qty - b.qty_allocated), 0) AS BIGINT) FROM backorders b
              WHERE b.product_id = p.id AND b.status = 'open'),
            (SELECT CAST(COALESCE(SUM(l.qty_ordered - l.qty_received), 0) AS BIGINT) FROM po_lines l
              WHERE l.product_id = p.id AND l.status IN ('open', 'partially_received')
                AND l.eta <= {lead_end}),
            (SELECT CAST(COALESCE(SUM(l.qty_ordered - l.qty_received), 0) AS BIGINT) FROM po_lines l
              WHERE l.product_id = p.id AND l.status IN ('open', 'partially_received')),
            (SELECT CAST(MIN(l.eta) AS TEXT) FROM po_lines l
              WHERE l.product_id = p.id AND l.status IN ('open', 'partially_received')),
            p.reorder_point, p.safety_stock, p.reorder_qty,
            COALESCE(p.lead_time_days, s.lead_time_days, 14),
            (SELECT CAST(COALESCE(-SUM(m.qty), 0) AS BIGINT) FROM stock_movements m
              WHERE m.product_id = p.id AND m.kind = 'sale' AND {sale_day} >= {since_day}),
            (SELECT f.rate FROM forecasts f WHERE f.product_id = p.id),
            (SELECT f.method FROM forecasts f WHERE f.product_id = p.id)
         FROM products p
         LEFT JOIN stock_positions sp ON sp.product_id = p.id
         LEFT JOIN suppliers s ON s.id = p.supplier_id"
        ),
        &[today.to_string(), since.to_string()],
    )
    .await;
    let mut out: Vec<_> = rows
        .into_iter()
        .filter_map(|r| {
            let f = SkuFigures {
                product_id: backorder_bot::domain::ProductId(0),
                sku: r.0,
                name: String::new(),
                supplier: None,
                on_hand: r.1,
                allocated: r.2,
                open_backorders: r.3,
                backorder_units: r.4,
                inbound_within_lead: r.5,
                inbound_total: r.6,
                next_eta: r.7.map(|d| d.parse::<NaiveDate>().unwrap()),
                reorder_point: r.8,
                safety_stock: r.9,
                reorder_qty: r.10,
                lead_time_days: r.11,
                daily_sales: r.13.unwrap_or(daily_sales_rate(r.12, SALES_WINDOW_DAYS)),
                rate_source: match r.14.as_deref() {
                    Some(m) => RateSource::Forecast(
                        Method::ALL.into_iter().find(|x| x.as_str() == m).unwrap(),
                    ),
                    None => RateSource::SalesMean,
                },
            };
            let sev = f.severity(today).filter(|s| *s >= min)?;
            Some(summary(&f, sev))
        })
        .collect();
    out.sort();
    out
}

fn summary(f: &SkuFigures, sev: Severity) -> (String, Severity, i64, i64, String) {
    (
        f.sku.clone(),
        sev,
        f.projected(),
        f.suggested_order(),
        format!("{:?}", f.days_of_cover().map(|d| (d * 1000.0).round())),
    )
}

async fn evaluated(t: &TestApp, min: Severity) -> Vec<(String, Severity, i64, i64, String)> {
    let e = app::alerts::evaluate(&t.app, &rule(min)).await.unwrap();
    let mut out: Vec<_> = e
        .findings
        .iter()
        .map(|f| summary(&f.figures, f.severity.unwrap()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn stored_aggregates_equal_a_recomputation_after_a_random_series_of_writes() {
    for seed in [7_u64, 1_234] {
        let t = shop().await;
        assert_eq!(drift(&t).await, 0);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut open_seen = 0;
        for step in 0..160 {
            random_write(&t, &mut rng, step).await;
            if step % 20 == 19 {
                assert_eq!(drift(&t).await, 0, "seed {seed}, after step {step}");
                open_seen += t
                    .scalar("SELECT COUNT(*) FROM backorders WHERE status = 'open'")
                    .await;
            }
        }
        assert!(open_seen > 0, "seed {seed}: never an open backorder");
        // The series did what it is meant to exercise.
        for (what, sql) in [
            ("closed backorders", "SELECT COUNT(*) FROM backorders WHERE status IN ('cancelled', 'fulfilled', 'allocated')"),
            ("cancelled", "SELECT COUNT(*) FROM backorders WHERE status = 'cancelled'"),
            ("fulfilled", "SELECT COUNT(*) FROM backorders WHERE status = 'fulfilled'"),
            ("sales days", "SELECT COUNT(DISTINCT day) FROM sales_daily"),
            ("receipts", "SELECT COUNT(*) FROM stock_movements WHERE kind = 'receipt'"),
        ] {
            assert!(t.scalar(sql).await > 0, "seed {seed}: no {what}");
        }
        assert!(
            t.scalar("SELECT COUNT(DISTINCT day) FROM sales_daily")
                .await
                > 3,
            "sales spread over days"
        );
    }
}

#[tokio::test]
async fn the_evaluation_finds_what_a_brute_force_evaluation_of_every_sku_finds() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in [3_u64, 99, 2_026] {
        let t = shop().await;
        let mut rng = fastrand::Rng::with_seed(seed);
        for step in 0..120 {
            random_write(&t, &mut rng, step).await;
            // From half-way on, some SKUs have stored forecasts and the rest the 28-day mean.
            if step % 60 == 59 {
                app::forecast::refresh_all(&t.app, None).await.unwrap();
                assert!(t.scalar("SELECT COUNT(*) FROM forecasts").await > 0);
                let copies_astray = "SELECT COUNT(*) FROM stock_positions sp
                    LEFT JOIN forecasts f ON f.product_id = sp.product_id
                    WHERE sp.forecast_rate IS DISTINCT FROM f.rate
                        OR sp.forecast_method IS DISTINCT FROM f.method";
                assert_eq!(t.scalar(copies_astray).await, 0);
            }
            if step % 15 == 14 {
                for min in [Severity::AtRisk, Severity::Low, Severity::Out] {
                    let want = brute_force(&t, min).await;
                    assert_eq!(
                        evaluated(&t, min).await,
                        want,
                        "seed {seed}, step {step}, min {min:?}"
                    );
                    seen.extend(want.iter().map(|w| w.1));
                }
            }
        }
    }
    // Every severity came up, so each branch of the SQL filter was compared, with and without
    // forecasts.
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn a_sku_sold_out_with_inbound_covering_it_is_out_and_one_with_slow_sales_is_not_at_risk() {
    let t = shop().await;
    let eta = (t.app.clock.today() + Duration::days(3)).to_string();
    t.import(
        "purchase-orders",
        &format!("po,supplier,sku,qty,eta,status\nPO-9,ACME,A1,50,{eta},open\n"),
    )
    .await
    .unwrap();
    // A1: 10 sold today, nothing available, no backorders, 50 inbound within the lead time
    // (projected 50, far above the reorder point): OUT by demand alone.
    sell(&t, "A1", 10).await.unwrap();
    // SLOW: 200 on hand, 28 sold in the window (1 a day), 14 days to the next inbound: 186
    // days of cover, not at risk. FAST: 60 on hand, 50 sold (1.8 a day), 10 left (above its
    // reorder point of 5, 5.6 days of cover) for a 14-day lead time: at risk.
    sell(&t, "SLOW", 14).await.unwrap();
    sell(&t, "FAST", 50).await.unwrap();
    t.app.clock.set(t.app.clock.now() + Duration::days(10));
    sell(&t, "SLOW", 14).await.unwrap();
    for min in [Severity::Out, Severity::Low] {
        let found = evaluated(&t, min).await;
        assert_eq!(found, brute_force(&t, min).await);
        assert!(
            found.iter().any(|f| f.0 == "A1" && f.1 == Severity::Out),
            "{found:?}"
        );
    }
    let found = evaluated(&t, Severity::AtRisk).await;
    assert_eq!(found, brute_force(&t, Severity::AtRisk).await);
    let severity = |sku: &str| found.iter().find(|f| f.0 == sku).map(|f| f.1);
    assert_eq!(severity("A1"), Some(Severity::Out), "{found:?}");
    assert_eq!(severity("FAST"), Some(Severity::AtRisk), "{found:?}");
    assert_eq!(severity("SLOW"), None, "{found:?}");
    // Four weeks on, the early sales have left the window: FAST's rate is 0, so it is no
    // longer at risk, and A1's demand is gone too (nothing sold in the window).
    t.app
        .clock
        .set(t.app.clock.now() + Duration::days(SALES_WINDOW_DAYS));
    let later = evaluated(&t, Severity::AtRisk).await;
    assert_eq!(later, brute_force(&t, Severity::AtRisk).await);
    assert!(
        later.iter().all(|f| f.0 != "FAST" && f.0 != "A1"),
        "{later:?}"
    );
}
