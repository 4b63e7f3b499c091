//! What the console shows reads as plain words: labels that say what a number is, statuses as
//! words, plurals that agree, no chat markup, and help that fits today and the command.

mod common;

use chrono::Days;
use common::{spawn_app, test_now, TestApp};

/// One mouse backordered by one customer; a purchase order of 3 on the way.
async fn shop() -> TestApp {
    let t = spawn_app().await;
    t.import("suppliers", "code,name,lead_time_days\nACME,Acme Mice,30\n")
        .await
        .unwrap();
    t.import(
        "products",
        "sku,name,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,supplier\n\
         MS-200,Mouse,50.00,0,5,2,10,ACME\n",
    )
    .await
    .unwrap();
    t.import(
        "customers",
        "id,name,phone,email,tier,channel\nC-ADA,Ada Lovelace,,,vip,none\n",
    )
    .await
    .unwrap();
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta\nPO-1,ACME,MS-200,3,2026-12-10\n",
    )
    .await
    .unwrap();
    t.import(
        "orders",
        "order,customer,sku,qty,unit_price,ordered_at\nO-1,C-ADA,MS-200,1,50.00,2026-11-20T12:00:00Z\n",
    )
    .await
    .unwrap();
    t
}

#[tokio::test]
async fn labels_say_what_a_number_is() {
    let t = shop().await;
    let id = t.scalar("SELECT MIN(id) FROM backorders").await;
    let text = t.ok(&format!("/backorder {id}")).await;
    assert!(text.contains("age points"), "{text}");
    assert!(!text.contains("+ age 1"), "{text}");
    let text = t.ok("/lowstock").await;
    assert!(text.contains("suggested order "), "{text}");
    assert!(!text.contains("· order "), "{text}");
}

#[tokio::test]
async fn statuses_read_as_words_and_plurals_agree() {
    let t = shop().await;
    let text = t.ok("/stock MS-200").await;
    assert!(text.contains("Open backorders: 1 (1 unit)"), "{text}");
    assert!(!text.contains("1 units"), "{text}");
    t.ok("/receive PO-1 MS-200 1").await;
    let text = t.ok("/po PO-1").await;
    assert!(text.contains("partly received"), "{text}");
    assert!(!text.contains("partially_received"), "{text}");
    let text = t.ok("/pos status:partially_received").await;
    assert!(text.contains("partly received"), "{text}");
    assert!(
        text.contains("1 line, 2 units to come") && !text.contains("(s)"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unknown_alert_rule_is_named_without_a_stray_quote() {
    let t = shop().await;
    let text = t.user_error("/alerts run nightly").await;
    assert!(
        text.contains("\"nightly\" is not an alert rule (none are configured)"),
        "{text}"
    );
    assert!(!text.contains(")\""), "{text}");
}

#[tokio::test]
async fn a_command_group_alone_shows_its_subcommands() {
    let t = shop().await;
    let text = t.ok("/alerts").await;
    assert!(!text.contains("no subcommand"), "{text}");
    for sub in [
        "/alerts list",
        "/alerts run",
        "/alerts snooze",
        "/alerts unsnooze",
    ] {
        assert!(text.contains(sub), "{sub}: {text}");
    }
}

#[tokio::test]
async fn help_examples_use_dates_ahead_of_today_and_reasons_that_fit() {
    let t = shop().await;
    let ahead = (test_now().date_naive() + Days::new(14)).to_string();
    let text = t.ok("/help eta").await;
    assert!(text.contains(&ahead), "{text}");
    let later = test_now() + chrono::Duration::days(400);
    t.app.clock.set(later);
    let text = t.ok("/help eta").await;
    let ahead = (later.date_naive() + Days::new(14)).to_string();
    assert!(
        text.contains(&ahead),
        "the example moves with today: {text}"
    );
    let text = t.ok("/help adjust").await;
    let example = text.lines().find(|l| l.contains("Example:")).unwrap();
    assert!(!example.contains("carrier delay"), "{text}");
    assert!(
        text.contains("Example: /adjust TENT-2P 1 \"stock count\""),
        "{text}"
    );
    let text = t.ok("/help backorder cancel").await;
    assert!(text.contains("\"customer changed mind\""), "{text}");
}
