//! `bench search` and `bench autocomplete`: requests from concurrent clients through the
//! command layer, beside the `sqlite3` CLI running the store's candidate statements.

use super::{
    commands_timed, concurrent, print_times, random, read_trigram_counts, reference, sqlite3_line,
    synthetic_count, Query, CLIENTS, WARM_UP_SHARE,
};
use backorder_bot::app::search::CANDIDATES;
use backorder_bot::app::App;
use backorder_bot::commands::{self, Invocation};
use backorder_bot::outln;

/// `/search` through the command layer from 8 clients, by kind of query, beside the sqlite3 CLI
/// running the candidate statements of the store.
pub async fn search(app: &App, n: u64) -> anyhow::Result<()> {
    let count = synthetic_count(app).await?;
    outln!("/search through the command layer, {CLIENTS} concurrent clients, {count} products; each kind timed after {} untimed requests", n / WARM_UP_SHARE)?;
    read_trigram_counts(app).await?;
    let kinds: [(&str, Query); 5] = [
        ("hit: name words (product 4321)", |r, c| {
            format!("product {}", 1 + r % c)
        }),
        ("hit: SKU prefix (SYN-00123)", |r, c| {
            format!("SYN-{:05}", (r % c) / 100)
        }),
        ("hit: substring (thetic 98 blu)", |r, _| {
            format!("thetic {} blu", r % 1000)
        }),
        ("no match (zzzz)", |_, _| "zzzz".to_string()),
        ("typo, did you mean (prodcut 4321)", |r, c| {
            format!(
                "{} {}",
                ["prodcut", "synthetci", "prodcuct"][(r % 3) as usize],
                1 + r % c
            )
        }),
    ];
    for (i, (label, make)) in kinds.into_iter().enumerate() {
        let times = commands_timed(app, n, 0x5EA2 + i as u64, move |r| {
            Invocation::new("search", None, &[("query", &make(r, count))])
        })
        .await?;
        print_times(label, &times)?;
    }
    let mut conn = app.store.conn().await?;
    let counts = app.store.trigram_counts();
    let mut hit: Vec<String> = Vec::new();
    for i in 0..100u64 {
        let query = format!("product {}", 1 + i * 7919 % count);
        hit.extend(reference::word_search(&mut conn, counts, &query, CANDIDATES).await?);
    }
    sqlite3_line("hit: name words (product N)", app, &hit)?;
    let zzzz = reference::word_search(&mut conn, counts, "zzzz", CANDIDATES)
        .await?
        .unwrap_or_default();
    let none = vec![
        format!(
            "{}\n{zzzz}",
            reference::hits_by_sku_prefix("ZZZZ", CANDIDATES),
        );
        20
    ];
    sqlite3_line("no match (zzzz), words and SKU prefix", app, &none)?;
    let like = vec![reference::name_scan("zzzz"); 3];
    sqlite3_line(
        "no match by LIKE scan (what the index replaces)",
        app,
        &like,
    )?;
    Ok(())
}

/// Autocomplete as Discord asks for it (SKU, customer, backorder, PO), from 8 clients.
pub async fn autocomplete(app: &App, n: u64) -> anyhow::Result<()> {
    use commands::Suggest;
    let count = synthetic_count(app).await?;
    outln!(
        "autocomplete through commands::suggest, {CLIENTS} concurrent clients, {count} products; each kind timed after {} untimed requests",
        n / WARM_UP_SHARE
    )?;
    read_trigram_counts(app).await?;
    let kinds: [(&str, Suggest, Query); 8] = [
        ("SKU by SKU prefix (SYN-0012)", Suggest::Sku, |r, c| {
            format!("SYN-{:04}", (r % c) / 1000)
        }),
        ("SKU by name (product 77)", Suggest::Sku, |r, _| {
            format!("product {}", r % 1000)
        }),
        ("SKU by name word (blue)", Suggest::Sku, |_, _| {
            "blue".to_string()
        }),
        ("customer by id (SYN-C12)", Suggest::Customer, |r, _| {
            format!("SYN-C{}", r % 500)
        }),
        (
            "customer by name (customer 33)",
            Suggest::Customer,
            |r, _| format!("customer {}", r % 5000),
        ),
        ("backorder by id (123)", Suggest::Backorder, |r, _| {
            format!("{}", 1 + r % 20000)
        }),
        (
            "backorder by product (product 550)",
            Suggest::Backorder,
            |r, _| format!("product {}0", r % 10000),
        ),
        ("PO by number (PO-SYN-12)", Suggest::Po, |r, _| {
            format!("PO-SYN-{}", r % 1000)
        }),
    ];
    for (i, (label, kind, make)) in kinds.into_iter().enumerate() {
        let app2 = app.clone();
        let times = concurrent(n, move |r| {
            let app = app2.clone();
            let q = make(random(0xA076 + i as u64, r), count);
            async move {
                commands::suggest(&app, kind, &q).await;
                Ok(())
            }
        })
        .await?;
        print_times(label, &times)?;
    }
    let prefix: Vec<String> = (0..200u64)
        .map(|i| reference::hits_by_sku_prefix(&format!("SYN-{:04}", i * 7), CANDIDATES))
        .collect();
    sqlite3_line("SKU by SKU prefix", app, &prefix)?;
    let mut conn = app.store.conn().await?;
    let mut name: Vec<String> = Vec::new();
    for i in 0..200u64 {
        let query = format!("product {}", i * 7 % 1000);
        name.extend(
            reference::word_search(&mut conn, app.store.trigram_counts(), &query, CANDIDATES)
                .await?,
        );
    }
    sqlite3_line("SKU by name (product N)", app, &name)?;
    Ok(())
}

/// Sizes by the sqlite3 CLI's `dbstat`: the whole database, the trigram search indexes
/// (migration 0009) and the list indexes, so "before the index" is the total less them.
pub fn index_sizes(app: &App) -> anyhow::Result<()> {
    let path = &app.settings.database.path;
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg(reference::INDEX_SIZES)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let parts: Vec<u64> = text
                .trim()
                .split('|')
                .filter_map(|p| p.parse().ok())
                .collect();
            if let [fts, lists, total] = parts[..] {
                let mb = |b: u64| b as f64 / 1_048_576.0;
                outln!(
                    "database {:.1} MB: trigram search indexes {:.1} MB (without them {:.1} MB); backorder and PO list indexes {:.1} MB",
                    mb(total),
                    mb(fts),
                    mb(total - fts),
                    mb(lists)
                )?;
            }
        }
        _ => outln!("sqlite3 CLI without dbstat: no size figures")?,
    }
    Ok(())
}
