//! Backorders that keep their promises: ETAs, allocation on receipt, priority, invariants.

mod common;

use backorder_bot::commands::Outcome;
use backorder_bot::domain::{BackorderId, ProductId};
use backorder_bot::store::{backorders, purchasing, stock};
use common::{spawn_demo_app, spawn_demo_app_with, TestApp};

async fn outbox(t: &TestApp, kind: &str) -> i64 {
    t.scalar(&format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = '{kind}'"
    ))
    .await
}

/// Backorder `id` as stored, on either engine.
async fn backorder(t: &TestApp, id: i64) -> backorders::BackorderRow {
    let mut conn = t.app.store.conn().await.unwrap();
    backorders::by_id(&mut conn, BackorderId(id))
        .await
        .unwrap()
        .expect("the backorder exists")
}

async fn status_of(t: &TestApp, id: i64) -> String {
    backorder(t, id).await.status.as_str().to_string()
}

async fn eta_of(t: &TestApp, id: i64) -> Option<String> {
    backorder(t, id).await.promised_eta.map(|d| d.to_string())
}

async fn eta_kind_of(t: &TestApp, id: i64) -> String {
    backorder(t, id).await.eta_kind.as_str().to_string()
}

#[tokio::test]
async fn every_backorder_gets_a_promise_when_it_is_created() {
    let t = spawn_demo_app().await;
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM backorders WHERE status = 'open' AND promised_eta IS NULL")
            .await,
        0
    );
    // JACKET-RAIN-M: 5 inbound on 12-16 cover Mei's 4; Jonas's 3 need a reorder: an estimate.
    assert_eq!(eta_of(&t, 6).await.as_deref(), Some("2026-12-16"));
    assert_eq!(eta_kind_of(&t, 7).await, "estimated");
}

#[tokio::test]
async fn eta_change_notifies_each_customer_once() {
    let t = spawn_demo_app().await;
    let before_history = t
        .scalar("SELECT COUNT(*) FROM eta_history WHERE backorder_id IS NOT NULL")
        .await;
    let before = outbox(&t, "eta_changed").await;
    let text = t
        .ok("/eta po:PO-1002 date:2026-12-20 reason:\"carrier delay\"")
        .await;
    assert!(
        text.contains("3 backorder(s) of 3 customer(s) get a new ETA"),
        "{text}"
    );
    assert_eq!(eta_of(&t, 4).await.as_deref(), Some("2026-12-20"));
    assert_eq!(outbox(&t, "eta_changed").await - before, 3);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM eta_history WHERE backorder_id IS NOT NULL")
            .await
            - before_history,
        3
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM eta_history WHERE po_line_id IS NOT NULL AND reason = 'carrier delay'").await, 2);
    // The same date again changes nothing and queues nothing.
    let text = t.ok("/eta po:PO-1002 date:2026-12-20 reason:again").await;
    assert!(text.contains("0 line(s) moved; 0 backorder(s)"), "{text}");
    assert_eq!(outbox(&t, "eta_changed").await - before, 3);
}

#[tokio::test]
async fn eta_preview_changes_nothing() {
    let t = spawn_demo_app().await;
    let before = outbox(&t, "eta_changed").await;
    let text = t
        .ok("/eta po:PO-1002 date:2026-12-20 sku:BAG-DOWN-M reason:x preview:true")
        .await;
    assert!(
        text.contains("Preview") && text.contains("1 backorder(s) of 1 customer(s) would get"),
        "{text}"
    );
    assert_eq!(eta_of(&t, 4).await.as_deref(), Some("2026-12-08"));
    assert_eq!(outbox(&t, "eta_changed").await, before);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM eta_history WHERE reason = 'x'")
            .await,
        0
    );
}

#[tokio::test]
async fn receipt_allocates_by_priority_and_queues_on_its_way_updates() {
    let t = spawn_demo_app().await;
    // TENT-2P: #1 Alan (standard, 1), #2 Ada (vip, 2), #3 Grace (gold, 1). Three arrive.
    let text = t.ok("/receive po:PO-1001 sku:TENT-2P qty:3").await;
    assert!(
        text.contains("Allocated to backorders: 3 unit(s)"),
        "{text}"
    );
    assert_eq!(status_of(&t, 2).await, "allocated");
    assert_eq!(status_of(&t, 3).await, "allocated");
    assert_eq!(
        status_of(&t, 1).await,
        "open",
        "the standard customer waits"
    );
    assert_eq!(outbox(&t, "allocated").await, 2);
    assert_eq!(t.scalar("SELECT allocated FROM stock_positions WHERE product_id = (SELECT id FROM products WHERE sku = 'TENT-2P')").await, 3);
    // Fulfil ships: a sale in the ledger, allocation released.
    t.ok("/backorder fulfil id:2").await;
    assert_eq!(status_of(&t, 2).await, "fulfilled");
    assert_eq!(t.scalar("SELECT on_hand FROM stock_positions WHERE product_id = (SELECT id FROM products WHERE sku = 'TENT-2P')").await, 1);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM stock_movements WHERE kind = 'sale' AND qty = -2")
            .await,
        1
    );
    let err = t.user_error("/backorder fulfil id:1").await;
    assert!(
        err.contains("only allocated backorders can be fulfilled"),
        "{err}"
    );
}

#[tokio::test]
async fn strict_rules_keep_a_small_backorder_behind_a_large_one() {
    let t = spawn_demo_app().await;
    // #2 (vip, 2 units) is ahead of #3 (gold, 1). One unit arrives: nobody is served.
    t.ok("/receive po:PO-1001 sku:TENT-2P qty:1").await;
    assert_eq!(status_of(&t, 2).await, "open");
    assert_eq!(status_of(&t, 3).await, "open");
}

#[tokio::test]
async fn skipping_serves_a_small_backorder_when_it_delays_nobody() {
    let t = spawn_demo_app_with(&[("BACKORDER_BOT__FULFILMENT__SKIP_BLOCKED", "true")]).await;
    t.ok("/receive po:PO-1001 sku:TENT-2P qty:1").await;
    assert_eq!(status_of(&t, 2).await, "open");
    assert_eq!(
        status_of(&t, 3).await,
        "allocated",
        "gold's single unit ships, vip's 2 still come with the rest of PO-1001"
    );
    assert_eq!(eta_of(&t, 2).await.as_deref(), Some("2026-12-02"));
}

#[tokio::test]
async fn partial_rules_give_the_head_what_there_is() {
    let t = spawn_demo_app_with(&[("BACKORDER_BOT__FULFILMENT__ALLOW_PARTIAL", "true")]).await;
    t.ok("/receive po:PO-1001 sku:TENT-2P qty:1").await;
    assert_eq!(
        t.scalar("SELECT qty_allocated FROM backorders WHERE id = 2")
            .await,
        1
    );
    assert_eq!(status_of(&t, 2).await, "open");
}

#[tokio::test]
async fn prioritize_moves_a_backorder_and_its_promise() {
    let t = spawn_demo_app().await;
    // JACKET-RAIN-M: Mei (#6, gold, 4) is covered by PO-1002's 5; Jonas (#7, standard, 3) is not.
    let text = t
        .ok("/backorder prioritize id:7 position:top reason:\"complained twice\"")
        .await;
    assert!(text.contains("Backorder moved"), "{text}");
    assert_eq!(eta_of(&t, 7).await.as_deref(), Some("2026-12-16"));
    assert_eq!(
        eta_kind_of(&t, 6).await,
        "estimated",
        "Mei now waits for a reorder"
    );
    let text = t.ok("/backorder id:7").await;
    assert!(text.contains("Queue place: 1 of 2"), "{text}");
    let err = t
        .user_error("/backorder prioritize id:7 position:top")
        .await;
    assert!(err.contains("already there"), "{err}");
    t.ok("/backorder prioritize id:7 position:reset").await;
    assert!(t
        .ok("/backorder id:7")
        .await
        .contains("Queue place: 2 of 2"));
}

#[tokio::test]
async fn cancel_releases_stock_and_records_a_lost_sale() {
    let t = spawn_demo_app().await;
    t.ok("/receive po:PO-1001 sku:TENT-2P qty:3").await;
    t.ok("/backorder cancel id:2 reason:\"customer gave up\"")
        .await;
    assert_eq!(status_of(&t, 2).await, "cancelled");
    // Ada's two units go back and serve Alan.
    assert_eq!(status_of(&t, 1).await, "allocated");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'cancel_backorder' AND subject LIKE '%lost sale 49800%'").await, 1);
    let err = t.user_error("/backorder cancel id:2 reason:again").await;
    assert!(err.contains("already cancelled"), "{err}");
}

#[tokio::test]
async fn stock_adjusted_up_allocates_waiting_backorders() {
    let t = spawn_demo_app().await;
    t.ok("/adjust sku:STOVE-GAS delta:2 reason:found").await;
    assert_eq!(status_of(&t, 5).await, "allocated");
}

#[tokio::test]
async fn a_tier_change_reranks_that_customers_backorders() {
    let t = spawn_demo_app().await;
    assert!(t
        .ok("/backorder id:1")
        .await
        .contains("Queue place: 3 of 3"));
    t.import(
        "customers",
        "id,name,email,tier,channel\nC-1003,Alan Turing,alan@example.com,vip,email\n",
    )
    .await
    .unwrap();
    assert!(
        t.ok("/backorder id:1")
            .await
            .contains("Queue place: 2 of 3"),
        "vip now, behind the other vip whose order is worth more"
    );
}

/// Tiny deterministic generator for event sequences.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn check_invariants(t: &TestApp, step: &str) {
    let bad = t
        .scalar("SELECT COUNT(*) FROM stock_positions WHERE allocated > on_hand OR allocated < 0")
        .await;
    assert_eq!(bad, 0, "allocated ≤ on hand after {step}");
    let bad = t.scalar(
        "SELECT COUNT(*) FROM stock_positions sp WHERE sp.on_hand <> COALESCE((SELECT SUM(qty) FROM stock_movements m WHERE m.product_id = sp.product_id), 0)",
    )
    .await;
    assert_eq!(bad, 0, "on hand = ledger sum after {step}");
    let bad = t
        .scalar("SELECT COUNT(*) FROM backorders WHERE qty_allocated > qty")
        .await;
    assert_eq!(bad, 0, "allocation ≤ quantity after {step}");
    let bad = t.scalar(
        "SELECT COUNT(*) FROM stock_positions sp WHERE sp.allocated <> COALESCE((SELECT SUM(qty) FROM reservations r WHERE r.product_id = sp.product_id AND r.status = 'held'), 0)",
    )
    .await;
    assert_eq!(bad, 0, "allocated = held reservations after {step}");
    // Priority respected: within a SKU, an open backorder ranked higher never has a later ETA.
    for sku in ["TENT-2P", "BAG-DOWN-M", "STOVE-GAS", "JACKET-RAIN-M"] {
        let mut conn = t.app.store.conn().await.unwrap();
        let product = t.app.product(&mut conn, sku).await.unwrap();
        let queue = backorder_bot::app::promise::ranked_queue(&t.app, &mut conn, product.id)
            .await
            .unwrap();
        let etas: Vec<chrono::NaiveDate> = queue
            .iter()
            .map(|b| b.promised_eta.unwrap_or(chrono::NaiveDate::MAX))
            .collect();
        assert!(
            etas.windows(2).all(|w| w[0] <= w[1]),
            "{sku} ETAs out of priority order after {step}: {etas:?}"
        );
    }
}

async fn state(t: &TestApp) -> Vec<String> {
    // Read through the store, so that it reads the same on either engine.
    let last_backorder = t
        .scalar("SELECT COALESCE(MAX(id), 0) FROM backorders")
        .await;
    let ids: Vec<BackorderId> = (1..=last_backorder).map(BackorderId).collect();
    let mut conn = t.app.store.conn().await.unwrap();
    let rows: Vec<(i64, String, i64, Option<String>, String)> = backorders::by_ids(&mut conn, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|b| {
            (
                b.id.0,
                b.status.as_str().to_string(),
                b.qty_allocated,
                b.promised_eta.map(|d| d.to_string()),
                b.eta_kind.as_str().to_string(),
            )
        })
        .collect();
    let last_product = t.scalar("SELECT COALESCE(MAX(id), 0) FROM products").await;
    let mut pos: Vec<(i64, i64, i64)> = Vec::new();
    for id in 1..=last_product {
        let p = stock::position(&mut conn, ProductId(id)).await.unwrap();
        pos.push((id, p.on_hand, p.allocated));
    }
    rows.iter()
        .map(|r| format!("{r:?}"))
        .chain(pos.iter().map(|p| format!("{p:?}")))
        .collect()
}

async fn replay(seed: u64) -> Vec<String> {
    let t = spawn_demo_app().await;
    let mut rng = Rng(seed);
    let skus = ["TENT-2P", "BAG-DOWN-M", "STOVE-GAS", "JACKET-RAIN-M"];
    let customers = ["C-1001", "C-1002", "C-1003", "C-1004", "C-1005"];
    for step in 0..40 {
        let sku = skus[rng.next(4) as usize];
        let line = match rng.next(7) {
            0 => format!(
                "/adjust sku:{sku} delta:{} reason:count",
                rng.next(5) as i64 - 1
            ),
            1 => {
                format!(
                    "/receive po:{} ",
                    ["PO-1001", "PO-1002"][rng.next(2) as usize]
                ) + &format!("sku:{sku} qty:{}", 1 + rng.next(3))
            }
            2 => format!(
                "/eta po:{} date:2026-12-{:02} reason:moved",
                ["PO-1001", "PO-1002"][rng.next(2) as usize],
                1 + rng.next(28)
            ),
            3 => format!("/backorder cancel id:{} reason:test", 1 + rng.next(12)),
            4 => format!(
                "/backorder prioritize id:{} position:{}",
                1 + rng.next(12),
                ["top", "up", "down", "reset"][rng.next(4) as usize]
            ),
            5 => format!("/backorder fulfil id:{}", 1 + rng.next(12)),
            _ => {
                let csv = format!(
                    "order,customer,sku,qty,ordered_at\nR-{seed}-{step},{},{sku},{},2026-11-2{}\n",
                    customers[rng.next(5) as usize],
                    1 + rng.next(4),
                    rng.next(6)
                );
                t.import("orders", &csv).await.expect("order imports");
                check_invariants(&t, &format!("order {step}")).await;
                continue;
            }
        };
        let (reply, outcome) = t.ask(&line).await;
        assert_ne!(outcome, Outcome::Internal, "{line}: {}", reply.to_text());
        check_invariants(&t, &line).await;
    }
    state(&t).await
}

#[tokio::test]
async fn random_event_sequences_keep_the_invariants_and_replay_identically() {
    for seed in [3, 17, 99, 2024] {
        let first = replay(seed).await;
        let second = replay(seed).await;
        assert_eq!(first, second, "seed {seed} replays differently");
    }
}

/// Every open backorder of `sku` holds exactly the promise, and nothing waits that could be
/// allocated, that planning its whole queue from scratch gives now.
async fn promises_match_a_recomputation(t: &TestApp, sku: &str, step: &str) -> usize {
    use backorder_bot::domain::promise::{plan, Demand, Inbound, PlanInput};
    let mut conn = t.app.store.conn().await.unwrap();
    let product = t.app.product(&mut conn, sku).await.unwrap();
    let queue = backorder_bot::app::promise::ranked_queue(&t.app, &mut conn, product.id)
        .await
        .unwrap();
    let stock::PositionRow { on_hand, allocated } =
        stock::position(&mut conn, product.id).await.unwrap();
    let inbound: Vec<(Option<chrono::NaiveDate>, i64)> =
        purchasing::inbound_for_product(&mut conn, product.id)
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.eta, l.qty_ordered - l.qty_received))
            .collect();
    let input = PlanInput {
        today: t.app.clock.now().date_naive(),
        free_stock: on_hand - allocated,
        inbound: inbound
            .iter()
            .map(|(eta, qty)| Inbound {
                eta: *eta,
                qty: *qty,
            })
            .collect(),
        lead_time_days: product.effective_lead_time(),
        queue: queue
            .iter()
            .map(|b| Demand {
                id: b.id,
                remaining: b.qty - b.qty_allocated,
            })
            .collect(),
        rules: t.app.settings.fulfilment,
    };
    for (row, p) in queue.iter().zip(plan(&input)) {
        assert_eq!(
            p.allocate_now, 0,
            "#{} could be allocated after {step}",
            row.id
        );
        assert_eq!(
            (row.promised_eta, row.eta_kind),
            (p.eta.date, p.eta.kind),
            "#{} promise after {step}",
            row.id
        );
    }
    queue.len()
}

#[tokio::test]
async fn a_viral_sku_keeps_every_promise_exact_while_orders_join_its_kept_queue() {
    let t = spawn_demo_app().await;
    t.import(
        "products",
        "sku,name,unit_price,on_hand,supplier\nVIRAL-1,Viral gadget,20.00,0,ACME\n",
    )
    .await
    .unwrap();
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta,status\nPO-V1,ACME,VIRAL-1,300,2026-12-04,open\nPO-V2,ACME,VIRAL-1,250,2026-12-11,open\n",
    )
    .await
    .unwrap();
    // A second process on the same database: its writes must make the first one's kept queue
    // stale.
    let other = backorder_bot::startup::Application::build(
        (*t.app.settings).clone(),
        backorder_bot::app::Clock::fixed(common::test_now()),
    )
    .await
    .unwrap()
    .app;
    let customers = ["C-1001", "C-1002", "C-1003", "C-1004"];
    let mut rng = Rng(7);
    let mut joined_before = 0;
    for i in 0..420u64 {
        let order = backorder_bot::app::orders::NewOrder {
            order: format!("V-{i}"),
            customer: customers[rng.next(4) as usize].to_string(),
            ordered_at: Some(common::test_now() - chrono::Duration::minutes(rng.next(3000) as i64)),
            lines: vec![(
                "VIRAL-1".to_string(),
                1 + rng.next(4) as i64,
                Some(500 + 100 * rng.next(40) as i64),
            )],
        };
        let by = if i % 97 == 50 { &other } else { &t.app };
        backorder_bot::app::orders::place_order(by, &TestApp::ops(), &order)
            .await
            .unwrap();
        match i {
            150 => {
                t.ok("/eta po:PO-V1 date:2026-12-06 reason:late").await;
            }
            220 => {
                t.ok("/backorder cancel id:20 reason:test").await;
            }
            300 => {
                t.ok("/receive po:PO-V1 sku:VIRAL-1 qty:40").await;
            }
            _ => {}
        }
        if i % 70 == 69 {
            let waiting =
                promises_match_a_recomputation(&t, "VIRAL-1", &format!("order {i}")).await;
            assert!(
                waiting > 64,
                "the queue is long enough to be kept: {waiting}"
            );
        }
        if i == 140 {
            joined_before = t.app.queues.joins();
        }
    }
    promises_match_a_recomputation(&t, "VIRAL-1", "the spike").await;
    check_invariants(&t, "the spike").await;
    assert!(
        joined_before > 50 && t.app.queues.joins() > joined_before + 200,
        "most orders joined the kept queue: {} then {}",
        joined_before,
        t.app.queues.joins()
    );
}

/// Each stored aggregate of backorders and purchase orders against the rows it sums
/// (PostgreSQL keeps them by per-statement triggers, migrations 0004 and 0005; SQLite per row).
async fn aggregates_match_the_rows(t: &TestApp, step: &str) {
    let checks = [
        (
            "backorder_counts.n = backorders per status",
            "SELECT COUNT(*) FROM (SELECT status, COUNT(*) AS n FROM backorders GROUP BY status) b
             FULL JOIN backorder_counts c ON c.status = b.status
             WHERE COALESCE(c.n, 0) <> COALESCE(b.n, 0)",
        ),
        (
            "stock_positions open backorders and units = open backorders",
            "SELECT COUNT(*) FROM stock_positions sp WHERE sp.open_backorders <>
                 (SELECT COUNT(*) FROM backorders b WHERE b.product_id = sp.product_id AND b.status = 'open')
             OR sp.backorder_units <> COALESCE((SELECT CAST(SUM(b.qty - b.qty_allocated) AS BIGINT)
                 FROM backorders b WHERE b.product_id = sp.product_id AND b.status = 'open'), 0)",
        ),
        (
            "purchase_orders.next_eta = earliest ETA of a line expecting units",
            "SELECT COUNT(*) FROM purchase_orders po WHERE po.next_eta IS DISTINCT FROM
                 (SELECT MIN(l.eta) FROM po_lines l WHERE l.po_id = po.id
                  AND l.status IN ('open', 'partially_received'))",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(t.scalar(sql).await, 0, "{what} after {step}");
    }
}

#[tokio::test]
async fn aggregates_match_the_rows_after_a_large_eta_fan_out_a_receipt_and_bulk_cancels() {
    let t = spawn_demo_app().await;
    const N: i64 = 3_000;
    let po = {
        let mut tx = t.app.store.begin_write().await.unwrap();
        let po = backorder_bot::store::bulk::bench_backorders(&mut tx, N, common::test_now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        po
    };
    aggregates_match_the_rows(&t, "the bulk insert").await;
    let today = common::test_now().date_naive();
    for days in [20, 30] {
        let date = today + chrono::Days::new(days);
        let text = t
            .ok(&format!("/eta po:{po} date:{date} reason:\"fan-out\""))
            .await;
        assert!(text.contains(&format!("{N} backorder(s)")), "{text}");
        aggregates_match_the_rows(&t, &format!("the ETA fan-out to {date}")).await;
    }
    t.ok(&format!("/receive po:{po} sku:BENCH-ETA-{N} qty:1500"))
        .await;
    aggregates_match_the_rows(&t, "the receipt").await;
    let cancelled = t
        .exec("UPDATE backorders SET status = 'cancelled', qty_allocated = 0 WHERE status = 'open' AND id % 5 = 0")
        .await;
    assert!(cancelled > 100, "{cancelled}");
    aggregates_match_the_rows(&t, "cancelling many in one statement").await;
    t.exec("UPDATE backorders SET qty = qty + 1 WHERE status = 'open' AND id % 3 = 0")
        .await;
    aggregates_match_the_rows(&t, "raising many quantities in one statement").await;
    check_invariants(&t, "the fan-out").await;
}
