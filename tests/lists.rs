//! The lists people read: a SKU's queue in service order, other orders on request, purchase
//! orders at a glance and one customer. The fixture's scores are worked out by hand below.

mod common;

use backorder_bot::commands::Outcome;
use backorder_bot::domain::page::Seek;
use backorder_bot::domain::{BackorderStatus, CustomerId, PoStatus, ProductId, SupplierId};
use backorder_bot::store::backorders::{self, Filter, ListOrder};
use backorder_bot::store::{keyset, purchasing};
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
        rows[2].contains("1 line, 3 units to come — next ETA 2026-12-10"),
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

/// The `#id` tokens of a reply, in order.
fn ids_in(text: &str) -> Vec<i64> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix('#'))
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// The PO numbers of a `/pos` reply, in order.
fn pos_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("PO-")))
        .map(str::to_string)
        .collect()
}

/// Three products without stock, each from its own supplier (estimated ETAs differ by lead
/// time), and `n` backorders of customers of every tier, ordered on different days.
async fn busy_shop(page_size: &str, n: usize) -> TestApp {
    let t = spawn_app_with(&[("BACKORDER_BOT__CONSOLE__PAGE_SIZE", page_size)]).await;
    t.import(
        "suppliers",
        "code,name,lead_time_days\nS10,Ten,10\nS20,Twenty,20\nS15,Fifteen,15\n",
    )
    .await
    .unwrap();
    t.import(
        "products",
        "sku,name,unit_price,on_hand,supplier\nA-1,Alpha,10.00,0,S10\nB-1,Beta,25.00,0,S20\nC-1,Gamma,7.50,0,S15\n",
    )
    .await
    .unwrap();
    let mut customers = String::from("id,name,tier,channel\n");
    for (i, tier) in ["standard", "silver", "gold", "vip", "standard", "silver"]
        .iter()
        .enumerate()
    {
        customers.push_str(&format!("K{i},Customer {i},{tier},none\n"));
    }
    t.import("customers", &customers).await.unwrap();
    for i in 0..n {
        order(&t, &format!("O-{i}"), i).await;
    }
    t
}

/// One order of 1–4 units of A-1, B-1 or C-1 by customer K0–K5, placed 1–29 days ago (so it
/// lands anywhere in each order); wholly backordered.
async fn order(t: &TestApp, number: &str, i: usize) {
    let sku = ["A-1", "B-1", "C-1"][i % 3];
    let day = 1 + (i * 7) % 29;
    t.import(
        "orders",
        &format!(
            "order,customer,sku,qty,ordered_at\n{number},K{},{sku},{},2026-10-{day:02}T{:02}:00:00Z\n",
            i % 6,
            1 + i % 4,
            (i * 5) % 24
        ),
    )
    .await
    .unwrap();
}

/// Every row of the list as the store orders it now, by id.
async fn full_order(t: &TestApp, order: ListOrder, filter: &Filter) -> Vec<i64> {
    let mut conn = t.app.store.conn().await.unwrap();
    let (rows, _, _) = backorders::list(
        &mut conn,
        t.app.store.landmarks(),
        filter,
        order,
        &Seek::First,
        100_000,
    )
    .await
    .unwrap();
    rows.iter().map(|r| r.id.0).collect()
}

/// `seen` holds every id of `before` exactly once, no id twice, and follows `now`'s order.
fn assert_walk(seen: &[i64], before: &[i64], now: &[i64], what: &str) {
    let mut unique = seen.to_vec();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "{what}: a row twice: {seen:?}");
    for id in before {
        assert!(seen.contains(id), "{what}: #{id} skipped: {seen:?}");
    }
    let places: Vec<usize> = seen
        .iter()
        .map(|id| now.iter().position(|x| x == id).unwrap())
        .collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "{what}: out of order: {seen:?} vs {now:?}"
    );
}

#[tokio::test]
async fn keyset_pages_cover_every_row_once_in_order_while_backorders_are_added() {
    let t = busy_shop("4", 18).await;
    let open = Filter {
        status: Some(BackorderStatus::Open),
        ..Filter::default()
    };
    let mut added = 0;
    for (sort, order_of) in [
        ("priority", ListOrder::Priority),
        ("age", ListOrder::Age),
        ("eta", ListOrder::Eta),
        ("value", ListOrder::Value),
    ] {
        let before = full_order(&t, order_of, &open).await;
        let mut seen = Vec::new();
        let mut line = format!("/backorders sort:{sort}");
        let mut pages = 0;
        loop {
            let (reply, outcome) = t.ask(&line).await;
            assert_eq!(outcome, Outcome::Ok, "{line}: {}", reply.to_text());
            seen.extend(ids_in(&reply.to_text()));
            pages += 1;
            assert!(pages < 50, "{sort}: never ends");
            // Someone orders between two page requests: rows land before and after the key.
            order(&t, &format!("N-{added}"), 100 + added * 5).await;
            added += 1;
            let paging = reply.paging.expect("a paged list");
            let Some(key) = paging.next_key else { break };
            line = format!("/backorders sort:{sort} after:{key}");
        }
        let now = full_order(&t, order_of, &open).await;
        assert!(now.len() > before.len());
        assert_walk(&seen, &before, &now, sort);
    }
}

#[tokio::test]
async fn prev_keys_walk_back_through_the_same_pages() {
    let t = busy_shop("4", 14).await;
    let mut forward: Vec<Vec<i64>> = Vec::new();
    let mut line = "/backorders sort:value".to_string();
    let last = loop {
        let (reply, _) = t.ask(&line).await;
        forward.push(ids_in(&reply.to_text()));
        match reply.paging.as_ref().unwrap().next_key.clone() {
            Some(k) => line = format!("/backorders sort:value after:{k}"),
            None => break Some(reply),
        }
    };
    assert_eq!(forward.len(), 4, "{forward:?}");
    assert_eq!(last.as_ref().unwrap().paging.as_ref().unwrap().page, 4);
    let mut backward = vec![forward.last().unwrap().clone()];
    let mut reply = last.unwrap();
    while let Some(k) = reply.paging.as_ref().unwrap().prev_key.clone() {
        reply = t.ask(&format!("/backorders sort:value before:{k}")).await.0;
        backward.push(ids_in(&reply.to_text()));
        assert!(backward.len() <= 4);
    }
    backward.reverse();
    assert_eq!(backward, forward);
    assert_eq!(reply.paging.unwrap().page, 1);
}

#[tokio::test]
async fn a_skus_queue_pages_by_key_with_places_counted_in_the_index() {
    let t = busy_shop("2", 15).await;
    let (first, _) = t.ask("/backorders sku:A-1").await;
    let key = first.paging.unwrap().next_key.unwrap();
    let text = t.ok(&format!("/backorders sku:A-1 after:{key}")).await;
    assert!(text.contains("3. #") && text.contains("4. #"), "{text}");
    // The place a page shows is the one `/backorder id:` gives.
    let id = ids_in(&text)[0];
    let detail = t.ok(&format!("/backorder id:{id}")).await;
    assert!(detail.contains("3 of 5"), "{detail}");
}

#[tokio::test]
async fn pos_pages_by_key_while_purchase_orders_are_added() {
    let t = busy_shop("3", 0).await;
    let mut csv = String::from("po,supplier,sku,qty,eta\n");
    for i in 0..11 {
        let eta = if i % 4 == 3 {
            String::new()
        } else {
            format!("2026-12-{:02}", 1 + (i * 5) % 28)
        };
        csv.push_str(&format!("PO-{i:02},S10,A-1,5,{eta}\n"));
    }
    t.import("purchase-orders", &csv).await.unwrap();
    let all = |t: &TestApp| {
        let app = t.app.clone();
        async move {
            let mut conn = app.store.conn().await.unwrap();
            let f = purchasing::PoFilter {
                statuses: vec![PoStatus::Open, PoStatus::PartiallyReceived],
                ..Default::default()
            };
            let (rows, _, _) = purchasing::list_pos(
                &mut conn,
                app.store.landmarks(),
                &f,
                app.clock.today(),
                &Seek::First,
                1000,
            )
            .await
            .unwrap();
            rows.into_iter().map(|r| r.po_number).collect::<Vec<_>>()
        }
    };
    let before = all(&t).await;
    assert_eq!(before.len(), 11);
    // Undated last, then by number.
    assert_eq!(&before[8..], ["PO-05", "PO-03", "PO-07"]);
    let mut seen: Vec<String> = Vec::new();
    let mut line = "/pos".to_string();
    for added in 0.. {
        let (reply, _) = t.ask(&line).await;
        seen.extend(pos_in(&reply.to_text()));
        let eta = if added % 2 == 0 {
            "2026-12-02".to_string()
        } else {
            String::new()
        };
        t.import(
            "purchase-orders",
            &format!("po,supplier,sku,qty,eta\nPO-N{added},S20,B-1,5,{eta}\n"),
        )
        .await
        .unwrap();
        match reply.paging.and_then(|p| p.next_key) {
            Some(k) => line = format!("/pos after:{k}"),
            None => break,
        }
        assert!(added < 20);
    }
    let now = all(&t).await;
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "{seen:?}");
    assert!(before.iter().all(|p| seen.contains(p)), "{seen:?}");
    let places: Vec<usize> = seen
        .iter()
        .map(|p| now.iter().position(|x| x == p).unwrap())
        .collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "{seen:?} vs {now:?}"
    );
}

#[tokio::test]
async fn customer_pages_through_all_open_backorders_oldest_first() {
    let t = busy_shop("3", 30).await;
    let filter = Filter {
        customer_id: Some(CustomerId(
            t.scalar("SELECT id FROM customers WHERE external_id = 'K2'")
                .await,
        )),
        status: Some(BackorderStatus::Open),
        ..Filter::default()
    };
    let before = full_order(&t, ListOrder::Age, &filter).await;
    assert_eq!(before.len(), 5);
    let (first, _) = t.ask("/customer id:K2").await;
    let text = first.to_text();
    assert!(text.contains("Open backorders (5)"), "{text}");
    let mut seen = ids_in(&text);
    assert_eq!(seen.len(), 3, "{text}");
    // An order of K2 placed before the others lands on the page already seen.
    t.import(
        "orders",
        "order,customer,sku,qty,ordered_at\nEARLY,K2,A-1,1,2026-09-01T00:00:00Z\n",
    )
    .await
    .unwrap();
    let key = first.paging.unwrap().next_key.unwrap();
    let (second, _) = t.ask(&format!("/customer id:K2 after:{key}")).await;
    seen.extend(ids_in(&second.to_text()));
    assert!(second.paging.unwrap().next_key.is_none());
    assert_eq!(seen, before);
    assert!(t
        .ok("/customer id:K2 page:2")
        .await
        .contains("Open backorders (6)"));
}

#[tokio::test]
async fn a_key_that_is_not_one_of_the_lists_is_the_users_error() {
    let t = busy_shop("2", 3).await;
    let text = t.user_error("/backorders after:hello").await;
    assert!(
        text.contains("after") && text.contains("not a key"),
        "{text}"
    );
    // A /pos key does not fit /backorders.
    let pos_key = backorder_bot::domain::page::PageKey(vec![
        backorder_bot::domain::page::KeyPart::Text("2026-12-01".into()),
        backorder_bot::domain::page::KeyPart::Text("PO-1".into()),
    ])
    .encode();
    assert!(t
        .user_error(&format!("/backorders before:{pos_key}"))
        .await
        .contains("not a key"));
    // The options stay out of help.
    assert!(!t.ok("/help backorders").await.contains("after"));
}

#[tokio::test]
async fn every_list_order_reads_an_index_without_sorting() {
    if common::on_postgres() {
        eprintln!("every_list_order_reads_an_index_without_sorting: SQLite only: reads EXPLAIN QUERY PLAN");
        return;
    }
    let t = busy_shop("2", 3).await;
    let mut conn = t.app.store.conn().await.unwrap();
    let key = |n| backorder_bot::domain::page::PageKey(n);
    use backorder_bot::domain::page::KeyPart::{Int, Real, Text};
    let status = Some(BackorderStatus::Open);
    let cases: Vec<(
        &str,
        keyset::Source<'static>,
        backorder_bot::domain::page::PageKey,
    )> = vec![
        (
            "open by priority",
            backorders::source(
                &Filter {
                    status,
                    ..Default::default()
                },
                ListOrder::Priority,
            ),
            key(vec![Real(-1.0), Int(1), Int(1)]),
        ),
        (
            "open by age",
            backorders::source(
                &Filter {
                    status,
                    ..Default::default()
                },
                ListOrder::Age,
            ),
            key(vec![Int(1), Int(1)]),
        ),
        (
            "open by eta",
            backorders::source(
                &Filter {
                    status,
                    ..Default::default()
                },
                ListOrder::Eta,
            ),
            key(vec![Text("2026-12-01".into()), Real(-1.0), Int(1), Int(1)]),
        ),
        (
            "open by value",
            backorders::source(
                &Filter {
                    status,
                    ..Default::default()
                },
                ListOrder::Value,
            ),
            key(vec![Int(100), Real(-1.0), Int(1), Int(1)]),
        ),
        (
            "a SKU's queue",
            backorders::source(
                &Filter {
                    status,
                    product_id: Some(ProductId(1)),
                    ..Default::default()
                },
                ListOrder::Priority,
            ),
            key(vec![Real(-1.0), Int(1), Int(1)]),
        ),
        (
            "a customer's by priority",
            backorders::source(
                &Filter {
                    status,
                    customer_id: Some(CustomerId(1)),
                    ..Default::default()
                },
                ListOrder::Priority,
            ),
            key(vec![Real(-1.0), Int(1), Int(1)]),
        ),
        (
            "a customer's by age (/customer)",
            backorders::source(
                &Filter {
                    status,
                    customer_id: Some(CustomerId(1)),
                    ..Default::default()
                },
                ListOrder::Age,
            ),
            key(vec![Int(1), Int(1)]),
        ),
        (
            "all statuses by priority",
            backorders::source(&Filter::default(), ListOrder::Priority),
            key(vec![Real(-1.0), Int(1), Int(1)]),
        ),
        (
            "POs expecting units",
            purchasing::pos_source(
                &purchasing::PoFilter {
                    statuses: vec![PoStatus::Open, PoStatus::PartiallyReceived],
                    ..Default::default()
                },
                t.app.clock.today(),
            ),
            key(vec![Text("2026-12-01".into()), Text("PO-1".into())]),
        ),
        (
            "POs of one status",
            purchasing::pos_source(
                &purchasing::PoFilter {
                    statuses: vec![PoStatus::Received],
                    ..Default::default()
                },
                t.app.clock.today(),
            ),
            key(vec![Text("2026-12-01".into()), Text("PO-1".into())]),
        ),
        (
            "all POs",
            purchasing::pos_source(&purchasing::PoFilter::default(), t.app.clock.today()),
            key(vec![Text("2026-12-01".into()), Text("PO-1".into())]),
        ),
        (
            "late POs",
            purchasing::pos_source(
                &purchasing::PoFilter {
                    statuses: vec![PoStatus::Open, PoStatus::PartiallyReceived],
                    late_only: true,
                    ..Default::default()
                },
                t.app.clock.today(),
            ),
            key(vec![Text("2026-12-01".into()), Text("PO-1".into())]),
        ),
        (
            "a supplier's POs",
            purchasing::pos_source(
                &purchasing::PoFilter {
                    supplier_id: Some(SupplierId(1)),
                    ..Default::default()
                },
                t.app.clock.today(),
            ),
            key(vec![Text("2026-12-01".into()), Text("PO-1".into())]),
        ),
    ];
    for (what, src, k) in cases {
        for seek in [Seek::First, Seek::After(k.clone()), Seek::Before(k)] {
            let lines = keyset::explain(&mut conn, &src, &seek).await.unwrap();
            let plan = lines.join(" / ");
            // A branch of a page after or before a key (`branch{i}`, as named for PostgreSQL,
            // which wants every subquery named) reads its few rows.
            let branch = |l: &str| l.contains("(subquery") || l.starts_with("SCAN branch");
            // Every read of the table is an index seek or an index walk in order ...
            let reads: Vec<&String> = lines
                .iter()
                .filter(|l| (l.starts_with("SEARCH ") || l.starts_with("SCAN ")) && !branch(l))
                .collect();
            assert!(!reads.is_empty(), "{what} {seek:?}: {plan}");
            for r in reads {
                assert!(r.contains("INDEX"), "{what} {seek:?}: {plan}");
            }
            // ... and the only sorting is of the branches' few rows (at most a page each).
            let sorts = lines.iter().filter(|l| l.contains("TEMP B-TREE")).count();
            let branches = lines
                .iter()
                .filter(|l| l.starts_with("SCAN ") && branch(l))
                .count();
            assert!(sorts <= branches, "{what} {seek:?}: {plan}");
        }
    }
    // Every order over all statuses has its own index too.
    for order in [ListOrder::Age, ListOrder::Eta, ListOrder::Value] {
        let src = backorders::source(&Filter::default(), order);
        let plan = keyset::explain(&mut conn, &src, &Seek::First)
            .await
            .unwrap()
            .join(" / ");
        assert!(
            plan.contains("INDEX backorders_all_") && !plan.contains("TEMP B-TREE"),
            "{order:?}: {plan}"
        );
    }
    // A product's or customer's list in an order without its own index reads that column's
    // index and sorts its few rows, never walking a whole status in order.
    for (filter, order, index) in [
        (
            Filter {
                status,
                product_id: Some(ProductId(1)),
                ..Default::default()
            },
            ListOrder::Age,
            "backorders_product_queue (product_id=?",
        ),
        (
            Filter {
                status,
                product_id: Some(ProductId(1)),
                ..Default::default()
            },
            ListOrder::Eta,
            "backorders_product_queue (product_id=?",
        ),
        (
            Filter {
                status,
                product_id: Some(ProductId(1)),
                ..Default::default()
            },
            ListOrder::Value,
            "backorders_product_queue (product_id=?",
        ),
        (
            Filter {
                status,
                customer_id: Some(CustomerId(1)),
                ..Default::default()
            },
            ListOrder::Eta,
            "(customer_id=?",
        ),
        (
            Filter {
                status,
                customer_id: Some(CustomerId(1)),
                ..Default::default()
            },
            ListOrder::Value,
            "(customer_id=?",
        ),
    ] {
        let src = backorders::source(&filter, order);
        let plan = keyset::explain(&mut conn, &src, &Seek::First)
            .await
            .unwrap()
            .join(" / ");
        assert!(plan.contains(index), "{filter:?} {order:?}: {plan}");
    }
}

#[tokio::test]
async fn list_titles_count_what_they_list_after_cancels_receipts_and_new_orders() {
    let t = busy_shop("3", 9).await;
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta\nPO-A,S10,A-1,2,2026-12-05\nPO-B,S20,B-1,1,2026-12-09\n",
    )
    .await
    .unwrap();
    let first = ids_in(&t.ok("/backorders").await)[0];
    t.ok(&format!(
        "/backorder cancel id:{first} reason:\"customer asked\""
    ))
    .await;
    t.ok("/receive po:PO-A").await;
    order(&t, "LATE-1", 3).await;
    for (line, sql) in [
        (
            "/backorders",
            "SELECT COUNT(*) FROM backorders WHERE status = 'open'",
        ),
        (
            "/backorders status:cancelled",
            "SELECT COUNT(*) FROM backorders WHERE status = 'cancelled'",
        ),
        (
            "/backorders status:allocated",
            "SELECT COUNT(*) FROM backorders WHERE status = 'allocated'",
        ),
        ("/backorders status:all", "SELECT COUNT(*) FROM backorders"),
        (
            "/pos",
            "SELECT COUNT(*) FROM purchase_orders WHERE status IN ('open', 'partially_received')",
        ),
        (
            "/pos status:received",
            "SELECT COUNT(*) FROM purchase_orders WHERE status = 'received'",
        ),
        ("/pos status:all", "SELECT COUNT(*) FROM purchase_orders"),
    ] {
        let want = t.scalar(sql).await;
        let text = t.ok(line).await;
        assert!(
            text.contains(&format!("({want}")),
            "{line}: {want} → {text}"
        );
    }
    assert!(
        t.scalar("SELECT COUNT(*) FROM backorders WHERE status <> 'open'")
            .await
            >= 2
    );
}

/// Every row of a list, a page at a time, skipping rows the slow way (`OFFSET`).
async fn pages_by_offset(t: &TestApp, src: &keyset::Source<'_>, size: i64) -> Vec<Vec<i64>> {
    let mut conn = t.app.store.conn().await.unwrap();
    let mut pages = Vec::new();
    for n in 0.. {
        let page = keyset::page(&mut conn, src, &Seek::Skip(n * size), size)
            .await
            .unwrap();
        if page.rows.is_empty() {
            break;
        }
        pages.push(page.ids());
    }
    pages
}

/// Typed `page:N` of every list order, page by page: the same rows as skipping N·size rows.
async fn typed_pages_agree(t: &TestApp, what: &str) {
    let open = Filter {
        status: Some(BackorderStatus::Open),
        ..Filter::default()
    };
    for (sort, order_of) in [
        ("priority", ListOrder::Priority),
        ("age", ListOrder::Age),
        ("eta", ListOrder::Eta),
        ("value", ListOrder::Value),
    ] {
        let expected = pages_by_offset(t, &backorders::source(&open, order_of), 4).await;
        assert!(expected.len() > 5, "{what}: {expected:?}");
        // Deepest first (every landmark taken at once), then every page from the top.
        for page in (1..=expected.len()).rev().take(1).chain(1..=expected.len()) {
            let (reply, outcome) = t.ask(&format!("/backorders sort:{sort} page:{page}")).await;
            assert_eq!(outcome, Outcome::Ok, "{what}: {}", reply.to_text());
            assert_eq!(
                ids_in(&reply.to_text()),
                expected[page - 1],
                "{what}: sort:{sort} page:{page}"
            );
            let paging = reply.paging.unwrap();
            assert_eq!(paging.next_key.is_some(), page < expected.len(), "{what}");
        }
    }
}

#[tokio::test]
async fn typed_pages_start_from_landmarks_and_agree_with_skipping_rows_after_every_change() {
    let t = busy_shop("4", 30).await;
    // A landmark every 3 rows: a page of 4 starts past one from page 2 on.
    t.app.store.landmarks().set_every(3);
    typed_pages_agree(&t, "at first").await;
    // Each change below moves rows across the landmarks taken before it.
    order(&t, "N-1", 7).await;
    typed_pages_agree(&t, "after a new order").await;
    let (_, ids, _) = {
        let mut conn = t.app.store.conn().await.unwrap();
        let open = Filter {
            status: Some(BackorderStatus::Open),
            ..Filter::default()
        };
        backorders::list(
            &mut conn,
            t.app.store.landmarks(),
            &open,
            ListOrder::Priority,
            &Seek::First,
            100,
        )
        .await
        .unwrap()
    };
    let ids = ids.ids();
    t.ok(&format!(
        "/backorder cancel id:{} reason:\"customer asked\"",
        ids[1]
    ))
    .await;
    typed_pages_agree(&t, "after a cancel").await;
    t.ok(&format!(
        "/backorder prioritize id:{} position:top reason:\"complained\"",
        ids[ids.len() - 1]
    ))
    .await;
    typed_pages_agree(&t, "after a manual priority").await;
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta\nPO-B,S20,B-1,50,2026-12-03\n",
    )
    .await
    .unwrap();
    typed_pages_agree(&t, "after promises moved").await;

    // /pos too, after a PO's next ETA moved.
    let mut csv = String::from("po,supplier,sku,qty,eta\n");
    for i in 0..20 {
        csv.push_str(&format!(
            "PO-{i:02},S10,A-1,5,2026-12-{:02}\n",
            1 + (i * 5) % 28
        ));
    }
    t.import("purchase-orders", &csv).await.unwrap();
    let f = purchasing::PoFilter {
        statuses: vec![PoStatus::Open, PoStatus::PartiallyReceived],
        ..Default::default()
    };
    for round in 0..2 {
        let src = purchasing::pos_source(&f, t.app.clock.today());
        let expected = pages_by_offset(&t, &src, 4).await;
        assert!(expected.len() >= 5, "{expected:?}");
        for page in (1..=expected.len()).rev().take(1).chain(1..=expected.len()) {
            let text = t.ok(&format!("/pos page:{page}")).await;
            let mut shown = Vec::new();
            for po in pos_in(&text) {
                let id = t
                    .scalar(&format!(
                        "SELECT id FROM purchase_orders WHERE po_number = '{po}'"
                    ))
                    .await;
                shown.push(id);
            }
            assert_eq!(shown, expected[page - 1], "round {round} page {page}");
        }
        t.ok("/eta po:PO-00 date:2026-12-30 reason:\"carrier delay\"")
            .await;
    }
}

/// The backorder id of an order number.
async fn backorder_of(t: &TestApp, order: &str) -> i64 {
    t.scalar(&format!(
        "SELECT b.id FROM backorders b JOIN order_lines ol ON ol.id = b.order_line_id
         JOIN orders o ON o.id = ol.order_id WHERE o.order_number = '{order}'"
    ))
    .await
}

#[tokio::test]
async fn notifications_show_updates_still_queued_or_retrying_with_due_time_and_attempts() {
    let t = shop(&[]).await;
    let id = backorder_of(&t, "O-2").await;
    t.exec("DELETE FROM outbox").await;
    // Ada, first in the queue, hears of a later date; the update waits in the queue.
    t.ok("/eta PO-1 2026-12-20 reason:\"carrier delay\"").await;
    let queued = t
        .scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE backorder_id = {id} AND status = 'pending'"
        ))
        .await;
    assert!(queued > 0, "the ETA change queues an update");
    let text = t.ok(&format!("/notifications backorder:{id}")).await;
    assert!(!text.contains("No messages"), "{text}");
    assert!(
        text.contains("eta_changed update") && text.contains("not sent yet: queued"),
        "{text}"
    );
    assert!(text.contains("due 2026-"), "{text}");
    // A failed attempt: it waits to retry, and says how often it was tried.
    t.exec("UPDATE outbox SET attempts = 2, last_error = 'gateway timeout'")
        .await;
    let text = t.ok(&format!("/notifications backorder:{id}")).await;
    assert!(
        text.contains("retrying after 2 attempts") && text.contains("gateway timeout"),
        "{text}"
    );
}

#[tokio::test]
async fn customer_shows_allocated_unshipped_backorders_as_ready_to_ship() {
    let t = shop(&[]).await;
    let id = backorder_of(&t, "O-2").await;
    // One mouse arrives: Ada, first in the queue, gets it.
    t.ok("/adjust MS-200 1 reason:\"stock count\"").await;
    let text = t.ok("/customer C-ADA").await;
    assert!(text.contains("Ready to ship (1)"), "{text}");
    assert!(
        text.contains(&format!("#{id} 1 × MS-200")) && text.contains("ready to ship"),
        "{text}"
    );
    assert!(text.contains("Open backorders (0)"), "{text}");
}

#[tokio::test]
async fn completion_after_fulfil_offers_allocated_backorders_and_cancel_offers_both() {
    use backorder_bot::commands::{suggest, Suggest};
    let t = shop(&[]).await;
    let allocated = backorder_of(&t, "O-2").await;
    let open = backorder_of(&t, "O-4").await;
    t.ok("/adjust MS-200 1 reason:\"stock count\"").await;
    let ids = |found: Vec<(String, String)>| -> Vec<String> {
        found.into_iter().map(|(_, v)| v).collect()
    };
    let spec = |sub: &str| {
        backorder_bot::commands::find("backorder", Some(sub))
            .unwrap()
            .spec
            .options[0]
            .suggest
            .unwrap()
    };
    let fulfil = ids(suggest(&t.app, spec("fulfil"), "").await);
    assert_eq!(fulfil, [allocated.to_string()]);
    assert_eq!(
        ids(suggest(&t.app, spec("fulfil"), "lovelace").await),
        [allocated.to_string()]
    );
    let cancel = ids(suggest(&t.app, spec("cancel"), "").await);
    assert!(
        cancel.contains(&allocated.to_string()) && cancel.contains(&open.to_string()),
        "{cancel:?}"
    );
    let prioritize = ids(suggest(&t.app, spec("prioritize"), "").await);
    assert!(
        !prioritize.contains(&allocated.to_string()) && prioritize.contains(&open.to_string()),
        "{prioritize:?}"
    );
    assert_eq!(spec("prioritize"), Suggest::Backorder);
}

#[tokio::test]
async fn closed_backorders_show_no_eta() {
    let t = shop(&[]).await;
    let id = backorder_of(&t, "O-3").await;
    let text = t
        .ok(&format!(
            "/backorder cancel {id} reason:\"customer changed mind\""
        ))
        .await;
    assert!(!text.contains("ETA"), "{text}");
    let text = t.ok(&format!("/backorder {id}")).await;
    assert!(text.contains("cancelled"), "{text}");
    assert!(!text.contains("ETA:"), "{text}");
    let text = t.ok("/backorders status:cancelled").await;
    assert!(text.contains(&format!("#{id} ")), "{text}");
    assert!(!text.contains("ETA"), "{text}");
    // Open ones keep theirs.
    let text = t.ok("/backorders sku:MS-200").await;
    assert!(text.contains("ETA"), "{text}");
}
