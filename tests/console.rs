//! The console as people type in it: positional values, `/help command`, plain replies.

mod common;

use common::{spawn_app, spawn_demo_app};

#[tokio::test]
async fn positional_values_answer_like_named_ones() {
    let t = spawn_demo_app().await;
    let named = t.ok("/stock sku:TENT-2P").await;
    assert_eq!(t.ok("stock TENT-2P").await, named);
    assert!(named.contains("TENT-2P"), "{named}");
    let preview = t
        .ok("/eta PO-1001 2026-12-20 \"carrier delay\" preview:true")
        .await;
    assert!(preview.contains("Preview — ETA of PO-1001"), "{preview}");
}

#[tokio::test]
async fn help_for_one_command_shows_its_options_choices_and_an_example() {
    let t = spawn_app().await;
    let stock = t.ok("/help stock").await;
    assert!(stock.starts_with("/stock"), "{stock}");
    assert!(stock.contains("sku — Product SKU (text)"), "{stock}");
    assert!(stock.contains("Example: /stock TENT-2P"), "{stock}");
    let backorders = t.ok("/help backorders").await;
    assert!(
        backorders.contains("sort (optional) — ")
            && backorders.contains("priority | age | eta | value"),
        "{backorders}"
    );
    assert!(
        backorders.contains("page (optional) — Page number (whole number, 1–100000)"),
        "{backorders}"
    );
    let eta = t.ok("/help eta").await;
    assert!(
        // Two weeks after the tests' today, 2026-11-26.
        eta.contains("Example: /eta PO-1001 2026-12-10 \"carrier delay\""),
        "{eta}"
    );
    let group = t.ok("/help backorder").await;
    for sub in [
        "/backorder show",
        "/backorder cancel",
        "/backorder prioritize",
    ] {
        assert!(group.contains(sub), "{group}");
    }
    assert!(t
        .user_error("/help nope")
        .await
        .contains("unknown command /nope"));
}

/// `/help backorder show` needs no quotes, positional or named, with or without slashes; every
/// spelling answers with the one subcommand. Discord's autocomplete offers the second word too.
#[tokio::test]
async fn help_for_a_subcommand_needs_no_quotes() {
    let t = spawn_app().await;
    let quoted = t.ok("/help \"backorder show\"").await;
    assert!(quoted.starts_with("/backorder show"), "{quoted}");
    assert!(!quoted.contains("/backorder cancel"), "{quoted}");
    for line in [
        "/help backorder show",
        "help backorder show",
        "/help /backorder show",
        "/help command:backorder show",
        "/help   backorder   show",
    ] {
        assert_eq!(t.ok(line).await, quoted, "{line}");
    }
    let snooze = t.ok("/help alerts snooze").await;
    assert!(snooze.starts_with("/alerts snooze"), "{snooze}");
    let offered = backorder_bot::commands::suggest(
        &t.app,
        backorder_bot::commands::Suggest::Command,
        "backorder pr",
    )
    .await;
    assert_eq!(
        offered,
        vec![(
            "/backorder prioritize".to_string(),
            "backorder prioritize".to_string()
        )]
    );
}

#[tokio::test]
async fn the_same_limits_as_discord_apply_in_the_console() {
    let t = spawn_demo_app().await;
    assert!(t
        .user_error("/backorders page:0")
        .await
        .contains("page: must be at least 1"));
    assert!(t
        .user_error("/receive PO-1001 qty:0")
        .await
        .contains("qty: must be at least 1"));
    let max = backorder_bot::domain::Sku::MAX_LEN;
    let long = "X".repeat(max + 1);
    assert!(t
        .user_error(&format!("/stock {long}"))
        .await
        .contains(&format!("longer than {max} characters")));
}

#[tokio::test]
async fn replies_never_show_bold_markup() {
    let t = spawn_demo_app().await;
    for line in ["/stock TENT-2P", "/pos", "/backorders", "/help"] {
        let text = t.ok(line).await;
        assert!(!text.contains("**"), "{line}: {text}");
    }
}
