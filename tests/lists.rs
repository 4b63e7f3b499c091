//! The lists people read: a SKU's queue in service order, other orders on request, purchase
//! orders at a glance and one customer. The fixture's scores are worked out by hand below.

mod common;

use chrono::{TimeZone, Utc};
use common::{spawn_app_with, test_now, TestApp};

/// Today is 2026-11-26 12:00 UTC. Weights: standard 0, silver 30, gold 60, vip 100; 0.1 point per
/// currency unit of the backordered line; 2 points per day waited. MS-200 costs 50.00, LAMP-1 20.00.
///
/// | backorder | customer (tier)  | line          | ordered          | score                  |
/// | O-1       | Grace (standard) | 2 × MS-200    | 11-16 (10 days)  | 0 + 10 + 20  = 30.0    |
/// | O-2       | Ada (vip)        | 1 × MS-200    | 11-25 (1 day)    | 100 + 5 + 2  = 107.0   |
/// | O-3       | Alan (gold)      | 1 × MS-200    | 11-21 (5 days)   | 60 + 5 + 10  = 75.0    |
/// | O-4       | Kat (silver)     | 10 × MS-200   | 11-24 (2 days)   | 30 + 50 + 4  = 84.0    |
/// | O-5       | Grace (standard) | 1 × LAMP-1    | 11-26 00:00      | 0 + 2 + 1    = 3.0     |
///
/// Service order of MS-200: Ada, Kat, Alan, Grace. Age: Grace, Alan, Kat, Ada.
/// Value: Kat (500), Grace (100), then Ada and Alan (50 each) in priority order.
async fn shop(extra: &[(&str, &str)]) -> TestApp {
    let t = spawn_app_with(extra).await;
    // The purchase orders are placed a while ago, so one of them can be late today.
    t.app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap());
    t.import(
        "suppliers",
        "code,name,lead_time_days\nACME,Acme Mice,30\nLUX,Lux Lamps,30\n",
    )
    .await
    .unwrap();
    t.import(
        "products",
        "sku,name,unit_price,on_hand,supplier\nMS-200,Mouse,50.00,0,ACME\nLAMP-1,Desk lamp,20.00,0,LUX\n",
    )
    .await
    .unwrap();
    t.import(
        "customers",
        "id,name,phone,email,tier,channel\n\
         C-GRACE,Grace Hopper,+15551234567,grace@example.com,standard,sms\n\
         C-ADA,Ada Lovelace,,ada@example.com,vip,email\n\
         C-ALAN,Alan Turing,,,gold,none\n\
         C-KAT,Katherine Johnson,,,silver,none\n",
    )
    .await
    .unwrap();
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta\nPO-1,ACME,MS-200,3,2026-12-10\nPO-2,LUX,LAMP-1,5,2026-12-01\nPO-OLD,LUX,LAMP-1,2,2026-11-20\n",
    )
    .await
    .unwrap();
    t.app.clock.set(test_now());
    t.import(
        "orders",
        "order,customer,sku,qty,unit_price,ordered_at\n\
         O-1,C-GRACE,MS-200,2,50.00,2026-11-16T12:00:00Z\n\
         O-2,C-ADA,MS-200,1,50.00,2026-11-25T12:00:00Z\n\
         O-3,C-ALAN,MS-200,1,50.00,2026-11-21T12:00:00Z\n\
         O-4,C-KAT,MS-200,10,50.00,2026-11-24T12:00:00Z\n\
         O-5,C-GRACE,LAMP-1,1,20.00,2026-11-26T00:00:00Z\n",
    )
    .await
    .unwrap();
    t
}

/// The customer ids of the listed rows, in order.
fn customers_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(" (C-"))
        .map(|(_, rest)| format!("C-{}", rest.split(',').next().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_skus_queue_is_listed_in_service_order_with_places_and_scores() {
    let t = shop(&[]).await;
    let text = t.ok("/backorders sku:MS-200").await;
    assert_eq!(
        customers_in(&text),
        ["C-ADA", "C-KAT", "C-ALAN", "C-GRACE"],
        "{text}"
    );
    assert!(text.contains("Queue of MS-200 (4 open)"), "{text}");
    assert!(text.contains("Order: priority"), "{text}");
    for (place, score) in [(1, "107.0"), (2, "84.0"), (3, "75.0"), (4, "30.0")] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{place}. #")))
            .unwrap_or_else(|| panic!("no place {place}: {text}"));
        assert!(line.contains(&format!("score {score}")), "{line}");
    }
}

#[tokio::test]
async fn the_queue_place_agrees_with_the_backorder_itself() {
    let t = shop(&[]).await;
    let text = t.ok("/backorders sku:MS-200").await;
    let first = text
        .lines()
        .find(|l| l.trim_start().starts_with("1. #"))
        .unwrap();
    let id = first.trim_start()["1. #".len()..]
        .split_whitespace()
        .next()
        .unwrap();
    let shown = t.ok(&format!("/backorder id:{id}")).await;
    assert!(shown.contains("Queue place: 1 of 4 for MS-200"), "{shown}");
}

#[tokio::test]
async fn sort_by_age_value_and_eta_reorders_the_queue_and_names_the_order() {
    let t = shop(&[]).await;
    let age = t.ok("/backorders sku:MS-200 sort:age").await;
    assert_eq!(customers_in(&age), ["C-GRACE", "C-ALAN", "C-KAT", "C-ADA"]);
    assert!(age.contains("Order: age"), "{age}");
    // Places stay those of the service order.
    assert!(age.contains("4. #"), "{age}");
    let value = t.ok("/backorders sku:MS-200 sort:value").await;
    assert_eq!(
        customers_in(&value),
        ["C-KAT", "C-GRACE", "C-ADA", "C-ALAN"]
    );
    assert!(value.contains("Order: value"), "{value}");
    let eta = t.ok("/backorders sku:MS-200 sort:eta").await;
    assert!(eta.contains("Order: ETA"), "{eta}");
    // Ada's unit comes on PO-1 (2026-12-10); the others wait for estimated dates, in priority order.
    assert_eq!(customers_in(&eta), ["C-ADA", "C-KAT", "C-ALAN", "C-GRACE"]);
}

#[tokio::test]
async fn the_list_across_skus_orders_by_the_same_score() {
    let t = shop(&[]).await;
    let all = t.ok("/backorders").await;
    assert_eq!(
        customers_in(&all),
        ["C-ADA", "C-KAT", "C-ALAN", "C-GRACE", "C-GRACE"],
        "{all}"
    );
    let lines: Vec<&str> = all.lines().filter(|l| l.contains(" (C-")).collect();
    assert!(
        lines[3].contains("MS-200") && lines[4].contains("LAMP-1"),
        "{all}"
    );
    assert_eq!(
        customers_in(&t.ok("/backorders sort:age").await),
        ["C-GRACE", "C-ALAN", "C-KAT", "C-ADA", "C-GRACE"]
    );
    let value = t.ok("/backorders sort:value").await;
    assert_eq!(
        customers_in(&value),
        ["C-KAT", "C-GRACE", "C-ADA", "C-ALAN", "C-GRACE"],
        "{value}"
    );
    // LAMP-1 comes first by ETA: PO-OLD's date has passed, PO-2's is 2026-12-01.
    let eta = t.ok("/backorders sort:eta").await;
    assert!(
        eta.lines()
            .find(|l| l.contains(" (C-"))
            .unwrap()
            .contains("LAMP-1"),
        "{eta}"
    );
}

#[tokio::test]
async fn a_queue_pages_with_page_and_keeps_counting_places() {
    let t = shop(&[("BACKORDER_BOT__CONSOLE__PAGE_SIZE", "2")]).await;
    let (reply, _) = t.ask("/backorders sku:MS-200 page:2").await;
    let text = reply.to_text();
    assert_eq!(customers_in(&text), ["C-ALAN", "C-GRACE"], "{text}");
    assert!(text.contains("3. #") && text.contains("4. #"), "{text}");
    let paging = reply.paging.expect("a paged reply");
    assert_eq!((paging.page, paging.pages), (2, 2));
    assert!(t
        .user_error("/backorders sku:MS-200 page:3")
        .await
        .contains("only 2"));
}

#[tokio::test]
async fn pos_lists_open_purchase_orders_next_eta_first_and_flags_late_ones() {
    let t = shop(&[]).await;
    let text = t.ok("/pos").await;
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("PO-")).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].contains("LATE") && rows[0].contains("PO-OLD"),
        "{text}"
    );
    assert!(
        rows[1].contains("PO-2") && !rows[1].contains("LATE"),
        "{text}"
    );
    assert!(
        rows[2].contains("PO-1") && rows[2].contains("Acme Mice (ACME)"),
        "{text}"
    );
    assert!(
        rows[2].contains("1 line(s), 3 unit(s) to come — next ETA 2026-12-10"),
        "{text}"
    );
    assert!(!text.contains("**"), "{text}");

    let late = t.ok("/pos late:true").await;
    assert_eq!(
        late.lines().filter(|l| l.contains("PO-")).count(),
        1,
        "{late}"
    );
    let lux = t.ok("/pos supplier:lux").await;
    assert_eq!(lux.matches("Lux Lamps").count(), 2, "{lux}");
    assert!(!lux.contains("PO-1 "), "{lux}");
    assert!(t.ok("/pos status:received").await.contains("None match."));
    assert!(t.user_error("/pos supplier:NOPE").await.contains("NOPE"));
}

#[tokio::test]
async fn customer_shows_tier_channel_and_open_backorders_with_places_contacts_masked() {
    let t = shop(&[]).await;
    let text = t.ok("/customer id:c-grace").await;
    assert!(text.contains("Customer C-GRACE — Grace H."), "{text}");
    assert!(text.contains("Tier: standard"), "{text}");
    assert!(text.contains("Channel: sms"), "{text}");
    assert!(text.contains("Opted out of: nothing"), "{text}");
    assert!(text.contains("Open backorders (2)"), "{text}");
    assert!(
        text.contains("2 × MS-200") && text.contains("place 4 of 4"),
        "{text}"
    );
    assert!(
        text.contains("1 × LAMP-1") && text.contains("place 1 of 1"),
        "{text}"
    );
    assert!(
        !text.contains("+15551234567") && !text.contains("grace@example.com"),
        "{text}"
    );
    assert!(
        text.contains("+15•") && text.contains("g•••@example.com"),
        "{text}"
    );
    assert!(t
        .user_error("/customer id:C-NOBODY")
        .await
        .contains("C-NOBODY"));
}
