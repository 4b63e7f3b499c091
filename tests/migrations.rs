//! A new migration takes a number above every migration already released.
//!
//! sqlx reads the version from the file name (the integer before the first `_`) and applies, in
//! ascending version order, every version the database has not recorded yet. A migration added
//! late with a low number, say `0004_…` after `0017_…` is released, runs *after* 0017 on a
//! database that already has 0001–0017, but *before* 0005 on a new one: the two databases end up
//! built in different orders, and a migration written against the latest schema may not even
//! apply to the early one. The numbering has gaps (0004, 0007, 0008), which makes such a file
//! easy to add by mistake.
//!
//! `RELEASED` below is append-only: a new migration is added at its end, and this test checks it
//! is numbered above the one before it.

use std::collections::BTreeMap;
use std::path::Path;

/// Every migration file, in the order they were released. Append only.
const RELEASED: &[&str] = &[
    "0001_initial.sql",
    "0002_partial_eta_history_indexes.sql",
    "0003_idempotency_request_hash.sql",
    "0005_notifications.sql",
    "0006_alerts.sql",
    "0009_search_and_queue_keys.sql",
    "0010_keyset_lists.sql",
    "0011_alert_aggregates.sql",
    "0012_bulk_search_index.sql",
    "0013_po_next_eta_on_insert.sql",
    "0014_list_changes.sql",
    "0015_customers_trigram_vocabulary.sql",
    "0016_superseded_and_backordered.sql",
    "0017_queue_tokens.sql",
    "0018_demand_history.sql",
    "0019_forecasts.sql",
    "0020_people_in_the_loop.sql",
    "0021_approvals.sql",
    // 0022 was assigned to the customer page before 0023 landed; it touches no table 0023 does.
    "0022_customer_page.sql",
    "0023_discount_codes.sql",
];

/// The version sqlx reads from a migration file name, or `None` for a file sqlx ignores
/// (`sqlx-core` `migrate/source.rs`: `<VERSION>_<DESCRIPTION>.sql`).
fn version(file_name: &str) -> Option<i64> {
    let (version, rest) = file_name.split_once('_')?;
    if !rest.ends_with(".sql") {
        return None;
    }
    Some(
        version
            .parse()
            .unwrap_or_else(|_| panic!("{file_name}: sqlx needs an integer before the first `_`")),
    )
}

#[test]
fn migrations_are_numbered_in_the_order_they_were_released() {
    check_released("sqlite", RELEASED);
}

/// The PostgreSQL migrations, numbered on their own (docs/postgresql.md): the same rule.
const POSTGRES_RELEASED: &[&str] = &[
    "0001_schema.sql",
    "0002_approvals_and_customer_page.sql",
    "0003_id_lists.sql",
    "0004_set_based_backorder_triggers.sql",
    "0005_set_based_backorder_totals.sql",
    "0007_set_based_stock_position_tokens.sql",
];

#[test]
fn postgres_migrations_are_numbered_in_the_order_they_were_released() {
    check_released("postgres", POSTGRES_RELEASED);
}

fn check_released(engine: &str, released: &[&str]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    let mut by_version = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(v) = version(&name) {
            if let Some(other) = by_version.insert(v, name.clone()) {
                panic!("{name} and {other} have the same version {v}");
            }
        }
    }

    for pair in released.windows(2) {
        assert!(
            version(pair[0]) < version(pair[1]),
            "{} is listed after {} but numbered below it: a new migration takes a number above \
             every released one and goes at the end of the released list",
            pair[1],
            pair[0],
        );
    }
    let on_disk: Vec<&str> = by_version.values().map(String::as_str).collect();
    assert_eq!(
        on_disk,
        released,
        "migrations/{engine}/ and its released list differ: add a new migration at the end of \
         the list, numbered above {}; a released migration is never renamed or removed",
        released.last().unwrap(),
    );
}
