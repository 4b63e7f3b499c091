//! Search candidates from the trigram indexes (`products_fts`, `customers_fts`) and the
//! ordered id indexes. The store finds candidates; `domain::search` decides what matches and
//! in which order.

use super::Conn;
use crate::domain::search::SearchQuery;

/// A product as search shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductHit {
    /// Row id.
    pub id: i64,
    /// Shop's spelling.
    pub sku: String,
    /// Name.
    pub name: String,
    /// On hand less allocated.
    pub available: i64,
}

const HIT: &str = "SELECT p.id, p.sku, p.name, COALESCE(sp.on_hand - sp.allocated, 0) AS available
    FROM products p LEFT JOIN stock_positions sp ON sp.product_id = p.id";

/// `inner` (a statement selecting `id, sku, name, available`, in order) as one row holding a
/// JSON array of its rows: the driver hands each row from its SQLite thread to the caller
/// separately, which costs more than the search's reads when hundreds of candidates come
/// back. (SQLite `json_group_array`; PostgreSQL would use `json_agg`.)
fn packed(inner: &str) -> String {
    format!("SELECT json_group_array(json_array(id, sku, name, available)) FROM ({inner})")
}

/// Decodes the row of a [`packed`] statement.
fn unpack(json: &str) -> anyhow::Result<Vec<ProductHit>> {
    let rows: Vec<(i64, String, String, i64)> = serde_json::from_str(json)?;
    Ok(rows
        .into_iter()
        .map(|(id, sku, name, available)| ProductHit {
            id,
            sku,
            name,
            available,
        })
        .collect())
}

/// The exclusive upper bound of keys starting with `prefix`, for index range scans.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// An FTS5 query for rows holding every trigram of every word. The index keeps no positions
/// (`detail = 'none'`: half the size, and a bulk import's write lock is held for less time), so
/// a row may hold the trigrams without the word; `domain::search::rank` checks the words
/// themselves. SQLite-only syntax.
fn fts_all(words: &[&str]) -> String {
    let mut trigrams: Vec<String> = Vec::new();
    for w in words {
        let chars: Vec<char> = w.to_lowercase().chars().collect();
        for t in chars.windows(3) {
            let t: String = t.iter().collect();
            if !trigrams.contains(&t) {
                trigrams.push(t);
            }
        }
    }
    trigrams
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Products counted per trigram when looking for the rarest (a bounded read of its entries).
const PROBE: i64 = 5_000;

/// The trigrams of a word, lower-cased.
fn word_trigrams(w: &str) -> Vec<String> {
    let chars: Vec<char> = w.to_lowercase().chars().collect();
    chars.windows(3).map(|t| t.iter().collect()).collect()
}

/// An FTS5 query for rows holding every one of `trigrams`. SQLite-only syntax.
fn fts_terms(trigrams: &[&str]) -> String {
    trigrams
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// How many products hold each of `trigrams`, counted up to `probe`: one statement (each count
/// is a bounded read of the index; the round trips would cost more than the reads).
/// Trigrams whose bounded count reached its probe (held by at least that many products),
/// remembered so the next search does not read thousands of index entries to learn it again
/// ("pro" in a shop where every name says "product"). Products are never deleted, so a trigram
/// stays common; the set only steers which trigrams the index is asked for, never what matches
/// (every word is checked on the rows), so a stale entry costs time, not correctness.
#[derive(Debug, Default)]
pub struct CommonTrigrams(std::sync::Mutex<std::collections::HashSet<(String, i64)>>);

impl CommonTrigrams {
    /// Most remembered; beyond this the set starts over.
    const MAX: usize = 100_000;

    /// Remembers that `trigram` reached the probe `probe`.
    pub fn remember(&self, trigram: &str, probe: i64) {
        let mut set = self.lock();
        if set.len() >= Self::MAX {
            set.clear();
        }
        set.insert((trigram.to_string(), probe));
    }

    /// Remembers `trigram` as common at every probe the search uses (a warm-up, or a test of
    /// what a stale entry does).
    pub fn remember_everywhere(&self, trigram: &str) {
        for probe in [PROBE, PROBE / 10] {
            self.remember(trigram, probe);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<(String, i64)>> {
        // A panic while holding the lock leaves a valid set: keep using it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn trigram_counts(
    conn: &mut Conn,
    common: &CommonTrigrams,
    trigrams: &[String],
    probe: i64,
) -> anyhow::Result<Vec<(i64, String)>> {
    let (known, unknown): (Vec<&String>, Vec<&String>) = {
        let set = common.lock();
        trigrams
            .iter()
            .partition(|t| set.contains(&((*t).clone(), probe)))
    };
    let mut out: Vec<(i64, String)> = known.into_iter().map(|t| (probe, t.clone())).collect();
    if !unknown.is_empty() {
        let queries: Vec<String> = unknown.iter().map(|t| fts_terms(&[t])).collect();
        let counts: Vec<i64> = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM (SELECT rowid FROM products_fts
                     WHERE products_fts MATCH j.value LIMIT $2))
             FROM json_each($1) j ORDER BY j.key",
        )
        .bind(serde_json::to_string(&queries)?)
        .bind(probe)
        .fetch_all(conn)
        .await?;
        for (n, t) in counts.into_iter().zip(unknown) {
            if n >= probe {
                common.remember(t, probe);
            }
            out.push((n, t.clone()));
        }
    }
    // In the order asked.
    out.sort_by_key(|(_, t)| trigrams.iter().position(|x| x == t));
    Ok(out)
}

/// Products that may match `q`: up to `cap` whose SKU starts with the query (in key order),
/// and up to `cap` whose SKU or name holds every word (in id order), unless the SKU prefix
/// alone gave `enough` (the caller shows that many at most). The caller ranks them.
pub async fn product_candidates(
    conn: &mut Conn,
    common: &CommonTrigrams,
    q: &SearchQuery,
    cap: i64,
    enough: usize,
) -> anyhow::Result<Vec<ProductHit>> {
    let mut out: Vec<ProductHit> = Vec::new();
    if let Some(key) = &q.sku_key {
        let json: String = sqlx::query_scalar(&packed(&format!(
            "{HIT} WHERE p.sku_key >= $1 AND p.sku_key < $2 ORDER BY p.sku_key LIMIT $3"
        )))
        .bind(key)
        .bind(prefix_end(key))
        .bind(cap)
        .fetch_one(&mut *conn)
        .await?;
        out = unpack(&json)?;
    }
    let long: Vec<&str> = q.long_terms().collect();
    // SKU-prefix matches outrank every match by words: when there are `enough` of them (and
    // fewer than the cap, so none was left out), the words cannot change the first `enough`.
    if long.is_empty() || (out.len() >= enough && (out.len() as i64) < cap) {
        return Ok(out);
    }
    // The index is asked for the rarest trigrams only; every word is then checked on the
    // rows it gives (`instr`, `lower` folds ASCII only: a word with other letters keeps all
    // its trigrams in the index query instead). Intersecting trigrams that most products hold
    // ("pro", "uct" in a shop where every name says "product") costs tens of milliseconds
    // at a million products; one rare trigram narrows as much.
    let mut trigrams: Vec<String> = Vec::new();
    let mut unchecked: Vec<&str> = Vec::new();
    for w in &long {
        if w.is_ascii() {
            for t in word_trigrams(w) {
                if !trigrams.contains(&t) {
                    trigrams.push(t);
                }
            }
        } else {
            unchecked.push(w);
        }
    }
    let mut counted = trigram_counts(conn, common, &trigrams, PROBE).await?;
    counted.sort();
    let mut terms: Vec<String> = match counted.first() {
        // Rarer than the probe: the two rarest narrow enough.
        Some((n, _)) if *n < PROBE => counted.iter().take(2).map(|(_, t)| t.clone()).collect(),
        // Every trigram is common: all of them (the matches are many, the first come soon).
        _ => counted.into_iter().map(|(_, t)| t).collect(),
    };
    for w in &unchecked {
        terms.extend(word_trigrams(w));
    }
    let mut sql = String::from(
        "SELECT p.id AS id, p.sku AS sku, p.name AS name,
            COALESCE(sp.on_hand - sp.allocated, 0) AS available
         FROM products_fts f JOIN products p ON p.id = f.rowid
         LEFT JOIN stock_positions sp ON sp.product_id = p.id
         WHERE f.products_fts MATCH $1",
    );
    let checked: Vec<&str> = long
        .iter()
        .copied()
        .filter(|w| w.is_ascii())
        .chain(q.short_terms())
        .collect();
    for i in 0..checked.len() {
        let n = i + 3;
        sql.push_str(&format!(
            " AND (instr(lower(p.sku), ${n}) > 0 OR instr(lower(p.name), ${n}) > 0)"
        ));
    }
    // In rowid order, which the index gives as it is: the first `cap` end the read.
    sql.push_str(" ORDER BY f.rowid LIMIT $2");
    let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
    let sql = packed(&sql);
    let mut query = sqlx::query_scalar(&sql).bind(fts_terms(&terms)).bind(cap);
    for s in &checked {
        query = query.bind(*s);
    }
    let json: String = query.fetch_one(&mut *conn).await?;
    let found = unpack(&json)?;
    for hit in found {
        if !out.iter().any(|h| h.id == hit.id) {
            out.push(hit);
        }
    }
    Ok(out)
}

/// Products that share trigrams with a query that matched nothing, for "did you mean": the
/// rarest of `trigrams` first (and of the trigrams that start with one of `prefixes`), up to
/// `cap` products.
pub async fn near_candidates(
    conn: &mut Conn,
    common: &CommonTrigrams,
    trigrams: &[String],
    prefixes: &[String],
    cap: i64,
) -> anyhow::Result<Vec<ProductHit>> {
    // Counted by bounded reads of the index, not `products_fts_vocab` (which reads every entry
    // of a trigram: a million for "pro" in the synthetic shop). A prefix is widened by the
    // letters, digits, space and `-` (not other characters), counted up to a tenth as far.
    let mut seeds: Vec<(i64, String)> = trigram_counts(conn, common, trigrams, PROBE)
        .await?
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .collect();
    let mut widened: Vec<String> = Vec::new();
    for p in prefixes {
        for c in "abcdefghijklmnopqrstuvwxyz0123456789 -".chars() {
            let t = format!("{p}{c}");
            if !trigrams.contains(&t) && !widened.contains(&t) {
                widened.push(t);
            }
        }
    }
    for (n, t) in trigram_counts(conn, common, &widened, PROBE / 10).await? {
        if n > 0 {
            seeds.push((if n == PROBE / 10 { PROBE } else { n }, t));
        }
    }
    seeds.sort();
    // Each seed's first rowids, all in one statement (a round trip per seed would cost more
    // than the reads); taken in seed order as if each were asked for what is still missing.
    let queries: Vec<String> = seeds.iter().map(|(_, t)| fts_terms(&[t])).collect();
    let lists: Vec<String> = if queries.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(
            "SELECT (SELECT json_group_array(rowid) FROM (SELECT rowid FROM products_fts
                     WHERE products_fts MATCH j.value ORDER BY rowid LIMIT $2))
             FROM json_each($1) j ORDER BY j.key",
        )
        .bind(serde_json::to_string(&queries)?)
        .bind(cap)
        .fetch_all(&mut *conn)
        .await?
    };
    let mut ids: Vec<i64> = Vec::new();
    for list in lists {
        if ids.len() as i64 >= cap {
            break;
        }
        let found: Vec<i64> = serde_json::from_str(&list)?;
        let wanted = (cap - ids.len() as i64) as usize;
        for id in found.into_iter().take(wanted) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    by_ids(conn, &ids).await
}

/// Products by id (one bound JSON array; `= ANY($1)` on PostgreSQL).
async fn by_ids(conn: &mut Conn, ids: &[i64]) -> anyhow::Result<Vec<ProductHit>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let json: String = sqlx::query_scalar(&packed(&format!(
        "{HIT} WHERE p.id IN (SELECT value FROM json_each($1)) ORDER BY p.id"
    )))
    .bind(serde_json::to_string(ids)?)
    .fetch_one(conn)
    .await?;
    unpack(&json)
}

/// Every product, for checks against a brute-force scan (tests and small shops).
pub async fn all_products(conn: &mut Conn) -> anyhow::Result<Vec<ProductHit>> {
    Ok(sqlx::query_as(&format!("{HIT} ORDER BY p.id"))
        .fetch_all(conn)
        .await?)
}

/// A customer as autocomplete shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerHit {
    /// Row id.
    pub id: i64,
    /// The shop's customer id.
    pub external_id: String,
    /// Name (mask before showing).
    pub name: String,
}

/// Customers whose id starts with `text` (case-insensitive, in id order), then customers whose
/// id or name holds every word of three or more characters; at most `limit`.
pub async fn customers(
    conn: &mut Conn,
    text: &str,
    limit: i64,
) -> anyhow::Result<Vec<CustomerHit>> {
    let key = text.trim().to_uppercase();
    let mut out: Vec<CustomerHit> = sqlx::query_as(
        "SELECT id, external_id, name FROM customers
         WHERE UPPER(external_id) >= $1 AND UPPER(external_id) < $2
         ORDER BY UPPER(external_id) LIMIT $3",
    )
    .bind(&key)
    .bind(prefix_end(&key))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let words: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.chars().count() >= crate::domain::search::MIN_TERM)
        .map(str::to_lowercase)
        .collect();
    if (out.len() as i64) < limit && !words.is_empty() {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        // In rowid order, which the index gives as it is: the first `limit` end the read.
        let found: Vec<CustomerHit> = sqlx::query_as(
            "SELECT c.id, c.external_id, c.name FROM customers_fts f
             JOIN customers c ON c.id = f.rowid
             WHERE f.customers_fts MATCH $1
             ORDER BY f.rowid LIMIT $2",
        )
        .bind(fts_all(&words))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        for c in found {
            // The index finds rows with every trigram; keep those with every word.
            let (id, name) = (c.external_id.to_lowercase(), c.name.to_lowercase());
            if (out.len() as i64) < limit
                && words.iter().all(|w| id.contains(w) || name.contains(w))
                && !out.iter().any(|o| o.id == c.id)
            {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Open purchase orders whose number starts with `text` (case-insensitive), in number order.
pub async fn po_numbers(conn: &mut Conn, text: &str, limit: i64) -> anyhow::Result<Vec<String>> {
    let key = text.trim().to_uppercase();
    Ok(sqlx::query_scalar(
        "SELECT po_number FROM purchase_orders
         WHERE UPPER(po_number) >= $1 AND UPPER(po_number) < $2
           AND status IN ('open', 'partially_received')
         ORDER BY UPPER(po_number) LIMIT $3",
    )
    .bind(&key)
    .bind(prefix_end(&key))
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Open purchase orders bringing any of `product_ids`, with the SKU they bring.
pub async fn pos_of_products(
    conn: &mut Conn,
    product_ids: &[i64],
    limit: i64,
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT po.po_number, p.sku FROM json_each($1) j
         JOIN po_lines l ON l.product_id = j.value AND l.status IN ('open', 'partially_received')
         JOIN purchase_orders po ON po.id = l.po_id
         JOIN products p ON p.id = l.product_id
         ORDER BY j.key, po.po_number LIMIT $2",
    )
    .bind(serde_json::to_string(product_ids)?)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// An open backorder as autocomplete shows it: id, SKU, units.
pub type BackorderHit = (i64, String, i64);

/// Open backorders whose id starts with the digits `prefix`: the id itself, then ids one,
/// two, … digits longer, each an index range (never a scan of every id). Without a prefix,
/// the lowest ids.
pub async fn backorder_ids(
    conn: &mut Conn,
    prefix: Option<u64>,
    limit: i64,
) -> anyhow::Result<Vec<BackorderHit>> {
    let Some(prefix) = prefix else {
        return Ok(sqlx::query_as(
            "SELECT b.id, p.sku, b.qty FROM backorders b JOIN products p ON p.id = b.product_id
             WHERE b.status = 'open' ORDER BY b.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(conn)
        .await?);
    };
    let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM backorders")
        .fetch_one(&mut *conn)
        .await?;
    let mut out = Vec::new();
    let (mut lo, mut width) = (prefix as i128, 1i128);
    while lo <= i128::from(max) && (out.len() as i64) < limit {
        let hi = lo + width - 1;
        let found: Vec<BackorderHit> = sqlx::query_as(
            // The status as an expression: compared plainly, it leads SQLite to walk a
            // status-first index over every open backorder instead of this id range.
            "SELECT b.id, p.sku, b.qty FROM backorders b JOIN products p ON p.id = b.product_id
             WHERE b.id BETWEEN $1 AND $2 AND b.status || '' = 'open' ORDER BY b.id LIMIT $3",
        )
        .bind(lo as i64)
        .bind(hi.min(i128::from(i64::MAX)) as i64)
        .bind(limit - out.len() as i64)
        .fetch_all(&mut *conn)
        .await?;
        out.extend(found);
        if lo == 0 {
            break;
        }
        lo *= 10;
        width *= 10;
    }
    Ok(out)
}

/// Open backorders of any of `product_ids` (in that order), then of any of `customer_ids`.
pub async fn backorders_of(
    conn: &mut Conn,
    product_ids: &[i64],
    customer_ids: &[i64],
    limit: i64,
) -> anyhow::Result<Vec<BackorderHit>> {
    let mut out: Vec<BackorderHit> = Vec::new();
    for (column, ids) in [("product_id", product_ids), ("customer_id", customer_ids)] {
        for id in ids {
            if out.len() as i64 >= limit {
                return Ok(out);
            }
            let found: Vec<BackorderHit> = sqlx::query_as(&format!(
                "SELECT b.id, p.sku, b.qty FROM backorders b JOIN products p ON p.id = b.product_id
                 WHERE b.{column} = $1 AND b.status = 'open'
                 ORDER BY b.sort_key DESC, b.ordered_epoch, b.id LIMIT $2"
            ))
            .bind(id)
            .bind(limit - out.len() as i64)
            .fetch_all(&mut *conn)
            .await?;
            for f in found {
                if !out.iter().any(|o| o.0 == f.0) {
                    out.push(f);
                }
            }
        }
    }
    Ok(out)
}
