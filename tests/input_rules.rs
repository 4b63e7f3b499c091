//! One parser per rule: CSV import and chat commands refuse the same values the API refuses.

mod common;

use common::{spawn_app, spawn_demo_app};

#[tokio::test]
async fn csv_errors_name_the_physical_line_after_a_multi_line_field() {
    let t = spawn_app().await;
    let csv = "sku,name,unit_price\nOK-1,\"Two\nline name\",1.00\nBAD-2,Broken,abc\n";
    let err = t.import("products", csv).await.unwrap_err().to_string();
    assert!(err.contains("line 4, column unit_price"), "{err}");
    let csv = "sku,name,unit_price\nOK-1,\"Two\nline\nname\",1.00\nBAD-3,only-two\n";
    let err = t.import("products", csv).await.unwrap_err().to_string();
    assert!(err.contains("line 5:"), "{err}");
    assert!(err.contains("2 fields where the header has 3"), "{err}");
}

#[tokio::test]
async fn csv_amounts_and_quantities_are_bounded_like_the_api() {
    let t = spawn_app().await;
    let err = t
        .import(
            "products",
            "sku,name,unit_price\nBIG-1,Big,10000000000.01\n",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2, column unit_price"), "{err}");
    t.import("products", "sku,name,unit_price\nOK-1,Fine,1.00\n")
        .await
        .unwrap();
    let err = t
        .import("purchase-orders", "po,sku,qty\nPO-1,OK-1,1000001\n")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2, column qty"), "{err}");
}

#[tokio::test]
async fn a_delta_of_the_smallest_integer_is_refused_in_chat_too() {
    let t = spawn_demo_app().await;
    let err = t
        .user_error("/adjust sku:LAMP-HEAD delta:-9223372036854775808 reason:wrap")
        .await;
    assert!(err.contains("delta"), "{err}");
    let err = t
        .user_error("/adjust sku:LAMP-HEAD delta:1 reason:\"\u{202E}\u{0}\"")
        .await;
    assert!(err.contains("reason: cannot be empty"), "{err}");
}

#[tokio::test]
async fn csv_orders_and_purchase_orders_use_the_api_parsers() {
    let t = spawn_demo_app().await;
    for (kind, csv, expected) in [
        (
            "orders",
            "order,customer,sku,qty,ordered_at\nSO-9,C-1005,TENT-3P,1,0001-01-01\n",
            "line 2, column ordered_at",
        ),
        (
            "orders",
            "order,customer,sku,qty,ordered_at\nSO-9,C-1005,TENT-3P,1,+10000-01-01T00:00:00Z\n",
            "line 2, column ordered_at",
        ),
        (
            "orders",
            "order,customer,sku,qty,ordered_at\nSO-9,C-1005,TENT-3P,1,2026-11-28T12:00:00Z\n",
            "line 2, column ordered_at: 2026-11-28T12:00:00Z is more than a day in the future",
        ),
        (
            "orders",
            "order,customer,sku,qty\nSO-\u{202E}9,C-1005,TENT-3P,1\n",
            "line 2, column order: contains an invisible or control character (U+202E)",
        ),
        (
            "purchase-orders",
            "po,sku,qty,status\nPO-9,TENT-3P,1,received\n",
            "line 2, column status",
        ),
        (
            "purchase-orders",
            "po,sku,qty\n\u{2066}PO-9,TENT-3P,1\n",
            "line 2, column po",
        ),
        (
            "purchase-orders",
            "po,sku,qty,eta\nPO-9,TENT-3P,1,2026-11-01\n",
            "line 2, column eta: 2026-11-01 is in the past",
        ),
        (
            "purchase-orders",
            "po,sku,qty,eta\nPO-9,TENT-3P,1,+10000-01-01\n",
            "line 2, column eta",
        ),
    ] {
        let err = t.import(kind, csv).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{kind} {csv:?}: {err}");
    }
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM orders WHERE order_number = 'SO-9'")
            .await,
        0
    );
}

#[tokio::test]
async fn the_last_text_option_takes_the_rest_of_the_line_and_ids_may_be_written_as_listed() {
    let t = spawn_demo_app().await;
    let out = t.ok("/search rain jacket").await;
    assert!(out.contains("JACKET-RAIN-M"), "{out}");
    let out = t.ok("/backorder #2").await;
    assert!(out.contains("#2"), "{out}");
    let out = t.ok("/backorder cancel #4 customer changed mind").await;
    assert!(out.contains("#4"), "{out}");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM audit_log WHERE reason = 'customer changed mind'")
            .await,
        1
    );
}

#[tokio::test]
async fn each_error_names_what_was_typed_wrong() {
    let t = spawn_demo_app().await;
    let err = t
        .user_error("/eta PO-1002 2027-01-10 reason:late date:2027-01-11")
        .await;
    assert!(
        err.contains("date: is given twice: \"2027-01-10\" by position, then date:2027-01-11"),
        "{err}"
    );
    let err = t.user_error("/backorders page:99999999999999999999").await;
    assert!(
        err.contains("page: 99999999999999999999 is too large (at most 100000)"),
        "{err}"
    );
    let err = t
        .import("suppliers", "code;name\nACME;Acme\n")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 1: the separator must be a comma"),
        "{err}"
    );
}
