//! Search: ranking and "did you mean" on a fixture worked out by hand, autocomplete by names,
//! the index kept in step with every write (a property test against a brute-force scan), and
//! the stored service-order keys.

mod common;

use backorder_bot::app::search::{self, SearchResult};
use backorder_bot::commands::{suggest, Suggest};
use backorder_bot::domain::priority::PriorityInput;
use backorder_bot::domain::search::{rank, MatchRank, SearchQuery};
use backorder_bot::domain::Tier;
use backorder_bot::store;
use common::{spawn_app, TestApp};
use proptest::prelude::*;

const SUPPLIERS: &str = "code,name,lead_time_days\nACME,Acme,10\n";

// sku, name, on hand. Worked out by hand below.
const PRODUCTS: &str = "sku,name,unit_price,on_hand,supplier\n\
MS-200,Wireless mouse,19.00,0,ACME\n\
MS-201,Ergonomic mouse,29.00,5,ACME\n\
MS-2010,Mouse pad,9.00,3,ACME\n\
KB-100,Wireless keyboard and mouse set,49.00,2,ACME\n\
CAB-MS,USB cable for mouse,5.00,0,ACME\n\
PAD-1,Mousepad XL,15.00,4,ACME\n\
TRK-1,Supermouse trackball,59.00,9,ACME\n";

const CUSTOMERS: &str =
    "id,name,tier,channel\nC-1,Ada Lovelace,vip,none\nC-2,Alan Turing,standard,none\n";

const POS: &str = "po,supplier,sku,qty,eta,status\n\
PO-7,ACME,MS-200,10,2026-12-10,open\n\
PO-8,ACME,KB-100,10,2026-12-12,open\n";

const ORDERS: &str = "order,customer,sku,qty,unit_price,ordered_at\n\
SO-1,C-2,MS-200,2,19.00,2026-11-20\n\
SO-2,C-1,MS-200,1,19.00,2026-11-22\n\
SO-3,C-2,CAB-MS,1,5.00,2026-11-21\n";

async fn shop() -> TestApp {
    let t = spawn_app().await;
    for (kind, csv) in [
        ("suppliers", SUPPLIERS),
        ("products", PRODUCTS),
        ("customers", CUSTOMERS),
        ("purchase-orders", POS),
        ("orders", ORDERS),
    ] {
        t.import(kind, csv).await.unwrap();
    }
    t
}

async fn found(t: &TestApp, query: &str) -> SearchResult {
    search::products(&t.app, query).await.unwrap()
}

fn skus(r: &SearchResult) -> Vec<&str> {
    r.hits.iter().map(|h| h.product.sku.as_str()).collect()
}

#[tokio::test]
async fn search_ranks_exact_sku_then_prefix_then_name_words_then_the_rest_in_stock_first() {
    let t = shop().await;
    // SKU prefix: in stock (MS-201, MS-2010) before out of stock (MS-200).
    assert_eq!(
        skus(&found(&t, "ms-20").await),
        ["MS-201", "MS-2010", "MS-200"]
    );
    // The exact SKU first, whatever its stock.
    let r = found(&t, "ms-2010").await;
    assert_eq!(skus(&r), ["MS-2010"]);
    assert_eq!(r.hits[0].rank, MatchRank::ExactSku);
    assert_eq!(skus(&found(&t, "MS-200").await), ["MS-200"]);
    // Name words: every product whose name has a word starting "mouse", in stock first, then
    // the one where "mouse" is inside a word (Supermouse) last.
    let r = found(&t, "mouse").await;
    assert_eq!(
        skus(&r),
        ["KB-100", "MS-201", "MS-2010", "PAD-1", "CAB-MS", "MS-200", "TRK-1"]
    );
    assert_eq!(r.hits[5].rank, MatchRank::NameWords);
    assert_eq!(r.hits[6].rank, MatchRank::Substring);
    assert_eq!(
        skus(&found(&t, "Wireless MOUSE").await),
        ["KB-100", "MS-200"]
    );
    // Substrings of names and of SKUs.
    assert_eq!(skus(&found(&t, "less").await), ["KB-100", "MS-200"]);
    assert_eq!(skus(&found(&t, "b-1").await), ["KB-100"]);
    // Two letters only: SKU prefixes only (CAB-MS has "ms" but not at the start).
    assert_eq!(
        skus(&found(&t, "ms").await),
        ["MS-201", "MS-2010", "MS-200"]
    );
    // A short word narrows a longer one: "ms" must be in the SKU or name too.
    assert_eq!(
        skus(&found(&t, "mouse ms").await),
        ["MS-201", "MS-2010", "CAB-MS", "MS-200"]
    );
}

#[tokio::test]
async fn a_typo_finds_nothing_but_offers_the_closest_products() {
    let t = shop().await;
    let r = found(&t, "mosue").await;
    assert!(r.hits.is_empty());
    let near: Vec<&str> = r.did_you_mean.iter().map(|p| p.sku.as_str()).collect();
    // "mosue" is one swap from "mouse" (0.8); Mousepad and Supermouse are too far.
    assert_eq!(near, ["CAB-MS", "KB-100", "MS-200", "MS-201", "MS-2010"]);
    let r = found(&t, "keybaord").await;
    assert_eq!(
        r.did_you_mean
            .iter()
            .map(|p| p.sku.as_str())
            .collect::<Vec<_>>(),
        ["KB-100"]
    );
    let r = found(&t, "zzzz").await;
    assert!(r.hits.is_empty() && r.did_you_mean.is_empty());
    let text = t.ok("/search query:mosue").await;
    assert!(text.contains("Did you mean"), "{text}");
    assert!(
        text.contains("MS-201 — Ergonomic mouse (5 available)"),
        "{text}"
    );
    assert!(t
        .ok("/search query:zzzz")
        .await
        .contains("No product matches."));
}

#[tokio::test]
async fn autocomplete_matches_names_as_well_as_ids() {
    let t = shop().await;
    let values = |v: Vec<(String, String)>| v.into_iter().map(|(_, v)| v).collect::<Vec<_>>();
    let skus = values(suggest(&t.app, Suggest::Sku, "mouse").await);
    assert!(skus.contains(&"MS-200".to_string()) && skus.contains(&"MS-201".to_string()));
    assert_eq!(
        values(suggest(&t.app, Suggest::Sku, "ms-20").await),
        ["MS-201", "MS-2010", "MS-200"]
    );
    // POs by number, and by the products they bring.
    assert_eq!(
        values(suggest(&t.app, Suggest::Po, "po-").await),
        ["PO-7", "PO-8"]
    );
    let pos = suggest(&t.app, Suggest::Po, "keyboard").await;
    assert_eq!(pos.len(), 1);
    assert_eq!(pos[0].1, "PO-8");
    assert!(pos[0].0.contains("KB-100"), "{}", pos[0].0);
    // Customers by id and by name; names are masked in the label.
    assert_eq!(
        values(suggest(&t.app, Suggest::Customer, "c-").await),
        ["C-1", "C-2"]
    );
    // Found by its id's prefix and by the id as a word: offered once.
    assert_eq!(
        values(suggest(&t.app, Suggest::Customer, "c-2").await),
        ["C-2"]
    );
    let by_name = suggest(&t.app, Suggest::Customer, "turing").await;
    assert_eq!(values(by_name.clone()), ["C-2"]);
    assert!(!by_name[0].0.contains("Turing"), "{}", by_name[0].0);
    // Backorders by id, by product and by customer name.
    let all = values(suggest(&t.app, Suggest::Backorder, "").await);
    assert_eq!(all.len(), 3);
    let by_product = values(suggest(&t.app, Suggest::Backorder, "wireless").await);
    assert_eq!(by_product.len(), 2, "the two MS-200 backorders");
    let by_customer = values(suggest(&t.app, Suggest::Backorder, "lovelace").await);
    assert_eq!(by_customer.len(), 1);
    // In the products' order (as `/search mouse` ranks them: names, in stock first, by SKU):
    // CAB-MS's one, then MS-200's two in service order (the VIP's first).
    let labels: Vec<String> = suggest(&t.app, Suggest::Backorder, "mouse")
        .await
        .into_iter()
        .map(|(label, _)| label)
        .collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels[0].contains("× CAB-MS"), "{labels:?}");
    assert!(
        labels[1..].iter().all(|l| l.contains("× MS-200")),
        "{labels:?}"
    );
    let vip = values(suggest(&t.app, Suggest::Backorder, "lovelace").await);
    assert!(
        labels[1].starts_with(&format!("#{} ", vip[0])),
        "{labels:?}"
    );
    let first = &all[0];
    assert_eq!(
        values(suggest(&t.app, Suggest::Backorder, first).await)[0],
        *first
    );
}

/// What the app's search returns for `q` with room for every match.
async fn via_index(t: &TestApp, q: &SearchQuery) -> Vec<(String, MatchRank)> {
    let mut conn = t.app.store.conn().await.unwrap();
    search::ranked(
        &mut conn,
        t.app.store.trigram_counts(),
        q,
        usize::MAX,
        i64::MAX,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|h| (h.product.sku, h.rank))
    .collect()
}

/// The same by reading every product and applying the rules.
async fn by_scan(t: &TestApp, q: &SearchQuery) -> Vec<(String, MatchRank)> {
    let mut conn = t.app.store.conn().await.unwrap();
    let mut all: Vec<(MatchRank, bool, String)> = store::search::all_products(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| rank(q, &p.sku, &p.name).map(|r| (r, p.available > 0, p.sku)))
        .collect();
    all.sort_by(|a, b| backorder_bot::domain::search::order((a.0, a.1, &a.2), (b.0, b.1, &b.2)));
    all.into_iter().map(|(r, _, sku)| (sku, r)).collect()
}

#[derive(Debug, Clone)]
enum Step {
    /// Import products (the set-based path of CSV import and demo data).
    Import(Vec<(u16, String)>),
    /// Upsert one product (the row-by-row store path).
    Upsert(u16, String),
    /// Delete a product nothing refers to.
    Delete(u16),
}

const WORDS: [&str; 10] = [
    "mouse", "wireless", "keyboard", "blue", "red", "usb", "cable", "ms", "hub", "pro",
];

fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            (0usize..WORDS.len()).prop_map(|i| WORDS[i].to_string()),
            (0u32..500).prop_map(|n| n.to_string()),
            (0usize..WORDS.len(), 0usize..WORDS.len())
                .prop_map(|(a, b)| format!("{}{}", WORDS[a], WORDS[b])),
        ],
        1..4,
    )
    .prop_map(|w| w.join(" "))
}

fn sku(n: u16) -> String {
    let prefix = ["MS", "KB", "CAB", "HUB"][(n % 4) as usize];
    format!("{prefix}-{}", n / 4)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        proptest::collection::vec((0u16..60, name()), 1..6).prop_map(Step::Import),
        (0u16..60, name()).prop_map(|(n, s)| Step::Upsert(n, s)),
        (0u16..60).prop_map(Step::Delete),
    ]
}

const QUERIES: [&str; 16] = [
    "mouse",
    "ouse",
    "wireless mouse",
    "ms",
    "ms-1",
    "MS-10",
    "kb",
    "cab-",
    "usb cable",
    "red ms",
    "blue 12",
    "e",
    "zzz",
    "prokeyboard",
    "hub-3",
    "1 2",
];

/// A product written one at a time, as the API and commands write it.
async fn upsert(t: &TestApp, sku: &str, name: &str) {
    let mut conn = t.app.store.conn().await.unwrap();
    store::products::upsert(
        &mut conn,
        &store::products::NewProduct {
            sku: sku.to_string(),
            name: name.to_string(),
            category: String::new(),
            unit_price_minor: 100,
            reorder_point: 0,
            safety_stock: 0,
            reorder_qty: 0,
            lead_time_days: None,
            supplier_id: None,
        },
    )
    .await
    .unwrap();
}

async fn apply(t: &TestApp, step: &Step) {
    match step {
        Step::Import(rows) => {
            let mut csv = String::from("sku,name,unit_price,on_hand\n");
            let mut seen = Vec::new();
            for (n, name) in rows {
                if !seen.contains(n) {
                    seen.push(*n);
                    csv.push_str(&format!("{},{name},1.00,{}\n", sku(*n), n % 3));
                }
            }
            t.import("products", &csv).await.unwrap();
        }
        Step::Upsert(n, name) => upsert(t, &sku(*n).to_lowercase(), name).await,
        Step::Delete(n) => {
            // The app never deletes products; the trigger must follow a delete all the same.
            let key = sku(*n);
            for sql in [
                "DELETE FROM stock_movements WHERE product_id IN (SELECT id FROM products WHERE sku_key = $1)",
                "DELETE FROM stock_positions WHERE product_id IN (SELECT id FROM products WHERE sku_key = $1)",
                "DELETE FROM products WHERE sku_key = $1",
            ] {
                t.exec(&sql.replace("$1", &format!("'{key}'"))).await;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// After any mix of imports, upserts, renames and deletes, the index finds exactly what a
    /// scan of every product finds, in the same order.
    #[test]
    fn search_agrees_with_a_brute_force_scan_after_random_writes(
        steps in proptest::collection::vec(step(), 1..12),
        extra in name(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t = spawn_app().await;
            for s in &steps {
                apply(&t, s).await;
            }
            let mut queries: Vec<String> = QUERIES.iter().map(|q| q.to_string()).collect();
            queries.push(extra.clone());
            for q in queries {
                let q = SearchQuery::parse(&q).unwrap();
                let a = via_index(&t, &q).await;
                let b = by_scan(&t, &q).await;
                assert_eq!(a, b, "query {:?} after {steps:?}", q.text);
            }
        });
    }
}

#[tokio::test]
async fn stored_sort_keys_follow_manual_points_tier_and_weights() {
    let t = shop().await;
    let id = t
        .scalar("SELECT b.id FROM backorders b JOIN orders o ON o.id = (SELECT order_id FROM order_lines WHERE id = b.order_line_id) WHERE o.order_number = 'SO-1'")
        .await;
    let id = backorder_bot::domain::BackorderId(id);
    let check = |t: &TestApp, id: backorder_bot::domain::BackorderId, tier: Tier, manual: f64| {
        let app = t.app.clone();
        async move {
            let mut conn = app.store.conn().await.unwrap();
            let row = store::backorders::by_id(&mut conn, id)
                .await
                .unwrap()
                .unwrap();
            let (key, epoch) = store::backorders::sort_key(&mut conn, id)
                .await
                .unwrap()
                .unwrap();
            let input = PriorityInput {
                id,
                tier,
                value_minor: row.qty * row.unit_price_minor,
                ordered_at: row.ordered_at,
                manual,
            };
            assert_eq!(epoch, input.ordered_at.timestamp());
            // The same double, not merely close.
            assert_eq!(
                key.to_bits(),
                app.settings.priority.sort_key(&input).to_bits()
            );
        }
    };
    check(&t, id, Tier::Standard, 0.0).await;
    t.ok(&format!("/backorder prioritize id:{id} position:top"))
        .await;
    let manual: f64 = {
        let sql = "SELECT manual_priority FROM backorders WHERE id = $1";
        let mut conn = t.app.store.conn().await.unwrap();
        match conn.engine() {
            store::Engine::Sqlite(c) => sqlx::query_scalar(sql).bind(id).fetch_one(c).await,
            store::Engine::Postgres(c) => sqlx::query_scalar(sql).bind(id).fetch_one(c).await,
        }
        .unwrap()
    };
    assert!(manual > 0.0);
    check(&t, id, Tier::Standard, manual).await;
    t.import(
        "customers",
        "id,name,tier,channel\nC-2,Alan Turing,gold,none\n",
    )
    .await
    .unwrap();
    check(&t, id, Tier::Gold, manual).await;

    // New weights at start-up recompute every key (a second process on the same database).
    let mut settings = common::settings(&t.dir, &[("BACKORDER_BOT__PRIORITY__PER_DAY", "7.5")]);
    settings.database = t.app.settings.database.clone();
    settings.shop.demo_data_on_first_start = false;
    let built = backorder_bot::startup::Application::build(
        settings,
        backorder_bot::app::Clock::fixed(common::test_now()),
    )
    .await
    .unwrap();
    let t2 = TestApp {
        app: built.app,
        dir: tempfile::tempdir().unwrap(),
    };
    assert_eq!(t2.app.settings.priority.per_day, 7.5);
    check(&t2, id, Tier::Gold, manual).await;
}

/// A products import indexes its new rows in one statement with the per-row trigger held off
/// inside its transaction; the trigger must be on again for every later write.
#[tokio::test]
async fn an_import_indexes_its_products_and_later_single_writes_are_indexed_too() {
    let t = shop().await;
    // SQLite's FTS5 tables are kept by triggers an import defers; PostgreSQL's pg_trgm indexes
    // need no flag.
    if !common::on_postgres() {
        assert_eq!(
            t.scalar("SELECT deferred FROM search_sync").await,
            0,
            "the flag is back to 0 once the import has committed"
        );
    }
    t.import(
        "products",
        "sku,name,unit_price\nZB-1,Zebra lamp,3.00\nZB-2,Zebra rug,4.00\n",
    )
    .await
    .unwrap();
    assert_eq!(skus(&found(&t, "zebra").await), ["ZB-1", "ZB-2"]);
    upsert(&t, "QX-9", "Quokka figurine").await;
    assert_eq!(skus(&found(&t, "quokka").await), ["QX-9"]);
    assert_eq!(skus(&found(&t, "okka fig").await), ["QX-9"]);
}

/// Remembered trigram counts only steer which trigrams the index is asked for: even when every
/// trigram of the fixture is (wrongly) remembered as common, search finds exactly what it found.
#[tokio::test]
async fn remembered_trigram_counts_change_no_result() {
    let t = shop().await;
    let queries = [
        "mouse",
        "ms-20",
        "wireless mouse",
        "pad",
        "ouse pa",
        "keybaord",
    ];
    let mut before = Vec::new();
    for q in queries {
        let r = found(&t, q).await;
        before.push((skus(&r).join(","), r.did_you_mean.len()));
    }
    for name in [
        "mouse",
        "ms-200",
        "wireless",
        "pad",
        "keyboard",
        "cable",
        "trackball",
        "ergonomic",
    ] {
        let chars: Vec<char> = name.chars().collect();
        for w in chars.windows(3) {
            t.app
                .store
                .trigram_counts()
                .remember_everywhere(&w.iter().collect::<String>());
        }
    }
    for (q, expected) in queries.iter().zip(before) {
        let r = found(&t, q).await;
        assert_eq!((skus(&r).join(","), r.did_you_mean.len()), expected, "{q}");
    }
}

/// Counts read from the indexes' vocabularies (as a long-running process does at start) are
/// what counting each trigram gives, bounded the same way, in both indexes; a trigram no row
/// holds is left to be counted; and searches steered by them alone find what a scan finds.
#[tokio::test]
async fn trigram_counts_read_from_the_vocabularies_are_those_counted_one_by_one() {
    use store::search::{trigram_counts, Index, TrigramCounts, PROBE};
    if common::on_postgres() {
        eprintln!("trigram_counts_read_from_the_vocabularies: SQLite only: fts5vocab (PostgreSQL's planner keeps the pg_trgm statistics)");
        return;
    }
    let t = shop().await;
    // Before any search: the store's counts are the vocabularies' alone.
    let n = search::read_trigram_counts(&t.app).await.unwrap();
    let read = t.app.store.trigram_counts();
    let mut held: Vec<String> = Vec::new();
    let texts = PRODUCTS.lines().chain(CUSTOMERS.lines()).skip(1);
    for text in texts.flat_map(|l| l.split(',').take(2)) {
        let chars: Vec<char> = text.to_lowercase().chars().collect();
        for w in chars.windows(3) {
            let t: String = w.iter().collect();
            if !held.contains(&t) {
                held.push(t);
            }
        }
    }
    assert!(n >= held.len() / 2, "{n} trigrams read of {}", held.len());
    let mut conn = t.app.store.conn().await.unwrap();
    for index in [Index::Products, Index::Customers] {
        for probe in [PROBE, 2] {
            let counted = trigram_counts(&mut conn, &TrigramCounts::default(), index, &held, probe)
                .await
                .unwrap();
            for (n, t) in counted {
                let known = read.known(index, &t, probe);
                if n == 0 {
                    assert_eq!(known, None, "{index:?} {t}: held by no row, to be counted");
                } else {
                    assert_eq!(known, Some(n), "{index:?} {t} up to {probe}");
                }
            }
        }
    }
    assert_eq!(read.known(Index::Products, "mou", PROBE), Some(7));
    assert_eq!(read.known(Index::Customers, "lov", PROBE), Some(1));
    drop(conn);
    for text in ["mouse", "ms-20", "wireless mouse", "ouse pa", "pad"] {
        let q = SearchQuery::parse(text).unwrap();
        assert_eq!(via_index(&t, &q).await, by_scan(&t, &q).await, "{text}");
    }
    assert_eq!(found(&t, "keybaord").await.did_you_mean[0].sku, "KB-100");
    let customers = suggest(&t.app, Suggest::Customer, "lovelace").await;
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].1, "C-1");
}

/// The running service reads the counts once started, with the real start-up path.
#[tokio::test]
async fn the_service_reads_the_trigram_counts_once_started() {
    use backorder_bot::app::Clock;
    use backorder_bot::startup::Application;
    use store::search::{Index, PROBE};
    let dir = tempfile::tempdir().unwrap();
    let built = Application::build(
        common::settings(&dir, &[]),
        Clock::fixed(common::test_now()),
    )
    .await
    .unwrap();
    let app = built.app.clone();
    let mut conn = app.store.conn().await.unwrap();
    let product = store::search::all_products(&mut conn).await.unwrap()[0].clone();
    drop(conn);
    let trigram: String = product.name.to_lowercase().chars().take(3).collect();
    let counts = app.store.trigram_counts();
    assert_eq!(counts.known(Index::Products, &trigram, PROBE), None);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(built.run_until_stopped(false, rx));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while counts.known(Index::Products, &trigram, PROBE).is_none() {
        assert!(std::time::Instant::now() < deadline, "{trigram} never read");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

/// A search matching more products than it shows says so; one whose words the index cannot
/// narrow (only common trigrams and a word of two characters) still answers, from the first
/// products holding them.
#[tokio::test]
async fn a_search_matching_more_than_it_shows_says_so() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    let mut csv = String::from("sku,name,unit_price,on_hand,supplier\n");
    for i in 1..=3000 {
        csv.push_str(&format!("LMP-{i:04},Desk lamp {i},10.00,1,ACME\n"));
    }
    t.import("products", &csv).await.unwrap();
    let r = found(&t, "desk lamp").await;
    assert_eq!(r.hits.len(), search::RESULTS);
    assert!(r.more);
    let reply = backorder_bot::commands::render::search("desk lamp", &r).to_text();
    assert!(reply.contains("add a word"), "{reply}");
    // "7" narrows nothing in the index: matches come from the first products holding the rest.
    let r = found(&t, "lamp 7").await;
    assert!(!r.hits.is_empty());
    assert!(r
        .hits
        .iter()
        .all(|h| h.product.name.contains('7') && h.product.name.contains("lamp")));
    // Few enough to show them all: no "more".
    let r = found(&t, "lamp 2999").await;
    assert_eq!(skus(&r), ["LMP-2999"]);
    assert!(!r.more);
}

#[tokio::test]
async fn percent_underscore_and_backslash_in_a_word_match_only_themselves() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import(
        "products",
        "sku,name,unit_price,on_hand,supplier\n\
         TS-1,Tee 100% cotton,9.00,1,ACME\n\
         TS-2,Tee 1000 cotton,9.00,1,ACME\n\
         BX-1,Promo_box large,9.00,1,ACME\n\
         BX-2,Promo-box large,9.00,1,ACME\n\
         PT-1,Path a\\b fitting,9.00,1,ACME\n\
         PT-2,Path ab fitting,9.00,1,ACME\n",
    )
    .await
    .unwrap();
    t.import(
        "customers",
        "id,name,tier,channel\nK_1,Shop_one,standard,none\nK-1,Shop-one,standard,none\n",
    )
    .await
    .unwrap();
    // Each query's words are checked on the rows (a two-character word always is).
    for (query, want) in [
        ("0% cotton", vec!["TS-1"]),
        ("o_b large", vec!["BX-1"]),
        ("a\\b fitting", vec!["PT-1"]),
        ("cotton", vec!["TS-1", "TS-2"]),
    ] {
        let r = found(&t, query).await;
        let mut got = skus(&r);
        got.sort();
        assert_eq!(got, want, "{query}");
        let q = SearchQuery::parse(query).unwrap();
        assert_eq!(via_index(&t, &q).await, by_scan(&t, &q).await, "{query}");
    }
    let customers = search::suggest_customers(&t.app, "p_one").await.unwrap();
    let ids: Vec<&str> = customers.iter().map(|c| c.external_id.as_str()).collect();
    assert_eq!(ids, ["K_1"]);
}
