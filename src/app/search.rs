//! `/search` and autocomplete: candidates from the trigram index, ranked by `domain::search`.

use super::{field, App, AppResult};
use crate::domain::search::{self, MatchRank, ProductHit, SearchQuery};
use crate::domain::{CustomerId, ProductId};
use crate::store::search::{BackorderHit, CustomerHit, TrigramCounts};
use crate::store::{self, Conn};

/// Candidates read per source (SKU prefix, words). A query matching more than this ranks the
/// first ones found (by SKU key, by id): narrow it to see the others.
pub const CANDIDATES: i64 = 100;

/// Products "did you mean" scores (the rarest shared trigrams first).
pub const NEAR_CANDIDATES: i64 = 100;

/// Results `/search` shows.
pub const RESULTS: usize = 10;

/// Suggestions autocomplete offers (Discord's limit).
pub const SUGGESTIONS: usize = 25;

/// A product found, with how it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The product.
    pub product: ProductHit,
    /// How well.
    pub rank: MatchRank,
}

/// The answer to `/search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// Matches, best first.
    pub hits: Vec<SearchHit>,
    /// When nothing matched: the closest products, closest first.
    pub did_you_mean: Vec<ProductHit>,
    /// More products matched than `hits` shows.
    pub more: bool,
}

/// Reads how many products and customers hold each trigram, in one pass over each search index
/// (what a long-running process does once it has started; see
/// [`store::search::read_trigram_counts`]). Returns how many trigrams were read.
pub async fn read_trigram_counts(app: &App) -> anyhow::Result<usize> {
    let mut conn = app.store.reader().await?;
    store::search::read_trigram_counts(&mut conn, app.store.trigram_counts()).await
}

/// `/search query:` — the best [`RESULTS`] matches, or "did you mean" when there are none.
pub async fn products(app: &App, raw: &str) -> AppResult<SearchResult> {
    let q = field("query", SearchQuery::parse(raw))?;
    let mut conn = app.store.reader().await?;
    let counts = app.store.trigram_counts();
    // One more than shown, to know whether there are more.
    let mut hits = ranked(&mut conn, counts, &q, RESULTS + 1, CANDIDATES).await?;
    let more = hits.len() > RESULTS;
    hits.truncate(RESULTS);
    let did_you_mean = if hits.is_empty() {
        near(&mut conn, counts, &q, 5).await?
    } else {
        Vec::new()
    };
    Ok(SearchResult {
        hits,
        did_you_mean,
        more,
    })
}

/// The matches of `q`, best first, at most `limit`, ranking at most `cap` candidates per source.
pub async fn ranked(
    conn: &mut Conn,
    counts: &TrigramCounts,
    q: &SearchQuery,
    limit: usize,
    cap: i64,
) -> anyhow::Result<Vec<SearchHit>> {
    let mut hits: Vec<SearchHit> = store::search::product_candidates(conn, counts, q, cap, limit)
        .await?
        .into_iter()
        .filter_map(|product| {
            search::rank(q, &product.sku, &product.name).map(|rank| SearchHit { product, rank })
        })
        .collect();
    hits.sort_by(|a, b| {
        search::order(
            (a.rank, a.product.available > 0, &a.product.sku),
            (b.rank, b.product.available > 0, &b.product.sku),
        )
    });
    hits.truncate(limit);
    Ok(hits)
}

/// Products closest to a query that matched nothing: at least [`search::SUGGEST_AT`] similar,
/// closest first, at most `limit`.
pub async fn near(
    conn: &mut Conn,
    counts: &TrigramCounts,
    q: &SearchQuery,
    limit: usize,
) -> anyhow::Result<Vec<ProductHit>> {
    let (trigrams, prefixes) = search::typo_seeds(q);
    let mut scorer = search::Similarity::new(q);
    let mut scored: Vec<(f64, ProductHit)> =
        store::search::near_candidates(conn, counts, &trigrams, &prefixes, NEAR_CANDIDATES)
            .await?
            .into_iter()
            .map(|p| (scorer.of(&p.sku, &p.name), p))
            .filter(|(s, _)| *s >= search::SUGGEST_AT)
            .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0).then_with(|| {
            a.1.sku
                .to_ascii_uppercase()
                .cmp(&b.1.sku.to_ascii_uppercase())
        })
    });
    Ok(scored.into_iter().take(limit).map(|(_, p)| p).collect())
}

/// Autocomplete for SKUs: the search's matches (SKU prefix first, then names).
pub async fn suggest_products(app: &App, partial: &str) -> anyhow::Result<Vec<ProductHit>> {
    let mut conn = app.store.reader().await?;
    products_matching(&mut conn, app.store.trigram_counts(), partial, SUGGESTIONS).await
}

async fn products_matching(
    conn: &mut Conn,
    counts: &TrigramCounts,
    partial: &str,
    limit: usize,
) -> anyhow::Result<Vec<ProductHit>> {
    let Ok(q) = SearchQuery::parse(partial) else {
        // Nothing typed yet: the first SKUs.
        return store::search::product_candidates(
            conn,
            counts,
            &SearchQuery {
                text: String::new(),
                sku_key: Some(String::new()),
                terms: Vec::new(),
            },
            limit as i64,
            limit,
        )
        .await;
    };
    Ok(ranked(conn, counts, &q, limit, CANDIDATES)
        .await?
        .into_iter()
        .map(|h| h.product)
        .collect())
}

/// The ids of the first products matching `text`, best first (what POs and backorders are
/// offered by).
async fn matching_product_ids(
    app: &App,
    conn: &mut Conn,
    text: &str,
) -> anyhow::Result<Vec<ProductId>> {
    Ok(
        products_matching(conn, app.store.trigram_counts(), text, SUGGESTIONS)
            .await?
            .iter()
            .map(|p| p.id)
            .collect(),
    )
}

/// Autocomplete for customers: by id prefix, then by words of the id or name.
pub async fn suggest_customers(app: &App, partial: &str) -> anyhow::Result<Vec<CustomerHit>> {
    let mut conn = app.store.reader().await?;
    store::search::customers(
        &mut conn,
        app.store.trigram_counts(),
        partial,
        SUGGESTIONS as i64,
    )
    .await
}

/// Autocomplete for open purchase orders: by number prefix, then those bringing products whose
/// SKU or name matches (`mouse` offers the POs of MS-200 and MS-201). Pairs of (PO, SKU it
/// brings, when found by product).
pub async fn suggest_pos(
    app: &App,
    partial: &str,
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut conn = app.store.reader().await?;
    let mut out: Vec<(String, Option<String>)> =
        store::search::po_numbers(&mut conn, partial, SUGGESTIONS as i64)
            .await?
            .into_iter()
            .map(|po| (po, None))
            .collect();
    if out.len() < SUGGESTIONS && !partial.trim().is_empty() {
        let ids = matching_product_ids(app, &mut conn, partial).await?;
        for (po, sku) in store::search::pos_of_products(&mut conn, &ids, SUGGESTIONS as i64).await?
        {
            if out.len() < SUGGESTIONS && !out.iter().any(|(p, _)| *p == po) {
                out.push((po, Some(sku)));
            }
        }
    }
    Ok(out)
}

/// Autocomplete for allocated backorders (what `/backorder fulfil` takes): by id prefix, SKU,
/// product name, or customer id or name, lowest id first.
pub async fn suggest_allocated_backorders(
    app: &App,
    partial: &str,
) -> anyhow::Result<Vec<BackorderHit>> {
    let mut conn = app.store.reader().await?;
    let text = partial.trim().trim_start_matches('#');
    store::search::allocated_backorders(&mut conn, text, SUGGESTIONS as i64).await
}

/// Autocomplete for backorders that can be cancelled: open ones as [`suggest_backorders`] finds
/// them, then allocated ones.
pub async fn suggest_active_backorders(
    app: &App,
    partial: &str,
) -> anyhow::Result<Vec<BackorderHit>> {
    let mut out = suggest_backorders(app, partial).await?;
    let allocated = suggest_allocated_backorders(app, partial).await?;
    store::search::take(&mut out, allocated, SUGGESTIONS as i64);
    Ok(out)
}

/// Autocomplete for open backorders: by id prefix, then those of products matching the text
/// (in service order), then those of customers matching it.
pub async fn suggest_backorders(app: &App, partial: &str) -> anyhow::Result<Vec<BackorderHit>> {
    let mut conn = app.store.reader().await?;
    let text = partial.trim().trim_start_matches('#');
    let mut out = match text.parse::<u64>() {
        Ok(n) => store::search::backorder_ids(&mut conn, Some(n), SUGGESTIONS as i64).await?,
        Err(_) if text.is_empty() => {
            store::search::backorder_ids(&mut conn, None, SUGGESTIONS as i64).await?
        }
        Err(_) => Vec::new(),
    };
    if out.len() < SUGGESTIONS && !text.is_empty() && text.parse::<u64>().is_err() {
        // Those of the products first, then those of the customers; the customers matching
        // the text come in the same statement as the products' backorders.
        let products = matching_product_ids(app, &mut conn, text).await?;
        let room = (SUGGESTIONS - out.len()) as i64;
        let (of_products, customers) = store::search::backorders_and_customers(
            &mut conn,
            app.store.trigram_counts(),
            &products,
            room,
            text,
            5,
        )
        .await?;
        let most = SUGGESTIONS as i64;
        store::search::take(&mut out, of_products, most);
        if out.len() < SUGGESTIONS && !customers.is_empty() {
            let customers: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
            let room = (SUGGESTIONS - out.len()) as i64;
            let found = store::search::backorders_of_customers(&mut conn, &customers, room).await?;
            store::search::take(&mut out, found, most);
        }
    }
    out.truncate(SUGGESTIONS);
    Ok(out)
}
