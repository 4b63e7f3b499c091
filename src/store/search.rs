//! Search candidates from the trigram indexes (`products_fts`, `customers_fts` on SQLite; the
//! pg_trgm indexes `products_search`, `customers_search` on PostgreSQL) and the ordered id
//! indexes. The store finds candidates; `domain::search` decides what matches and in which
//! order.
//!
//! What the engines spell differently is in one place, [`Dialect`]: how rows holding a
//! trigram or a word are found, how rows are packed into one JSON value, and how a JSON list
//! bound as one value is walked. The trigram bookkeeping ([`TrigramCounts`], which steers
//! SQLite's FTS5 index towards its rarest trigrams) is SQLite's: on PostgreSQL every word is
//! an `ILIKE` the planner serves from the pg_trgm index with its own statistics, and only
//! "did you mean" counts trigrams (to try the rarest first, as on SQLite).

use super::purchasing::EXPECTING_UNITS;
use super::types::sql_word;
use super::{id_json, Conn};
use crate::domain::page::KeyPart;
use crate::domain::search::SearchQuery;
use crate::domain::{BackorderId, CustomerId, ProductId};
use crate::store::run;
use sqlx::Row;

pub use crate::domain::search::ProductHit;

/// Search's SQL as each engine spells it, chosen once per call ([`Dialect::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// FTS5 trigram tables, `json_each`, `json_group_array`.
    Sqlite,
    /// `ILIKE` over the pg_trgm GIN indexes, `json_array_elements_text`, `json_agg`.
    Postgres,
}

impl Dialect {
    fn of(conn: &Conn) -> Self {
        if conn.is_postgres() {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// A JSON array of the values of `columns` (a row of a packed list).
    fn array(self, columns: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_array({columns})"),
            Dialect::Postgres => format!("json_build_array({columns})"),
        }
    }

    /// A JSON array of `element` over the rows of `inner`, in their order, as text (`[]` for
    /// none): one row, so the driver hands one value over instead of each row.
    fn pack(self, element: &str, inner: &str) -> String {
        match self {
            Dialect::Sqlite => format!("SELECT json_group_array({element}) FROM ({inner})"),
            Dialect::Postgres => format!(
                "SELECT CAST(COALESCE(json_agg({element}), '[]') AS text) FROM ({inner}) AS packed"
            ),
        }
    }

    /// `element`, a column holding JSON text, as JSON (not as a string) inside [`Dialect::pack`].
    fn json(self, text: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json({text})"),
            Dialect::Postgres => format!("CAST({text} AS json)"),
        }
    }

    /// The strings of the JSON array bound as `$param`, as rows `j(value, key)`, `key` their
    /// position (for `ORDER BY j.key`). (Lists of ids are `json_each` on both engines:
    /// PostgreSQL's migration 0003 reads them so.)
    fn each_text(self, param: usize) -> String {
        match self {
            Dialect::Sqlite => format!("json_each(${param}) j"),
            Dialect::Postgres => format!(
                "json_array_elements_text(CAST(${param} AS json)) WITH ORDINALITY AS j(value, key)"
            ),
        }
    }

    /// What [`Dialect::holding`] is given for rows holding `trigram`: an FTS5 query, or an
    /// `ILIKE` pattern.
    fn trigram_query(self, trigram: &str) -> String {
        match self {
            Dialect::Sqlite => fts_terms(&[trigram]),
            Dialect::Postgres => format!("%{}%", like_escaped(trigram)),
        }
    }

    /// The ids of the rows of `index` holding the trigram of `query` (an expression giving
    /// a [`Dialect::trigram_query`]), in id order, at most `limit` (an expression).
    fn holding(self, index: Index, query: &str, limit: &str) -> String {
        let (table, a, b) = index.columns();
        match self {
            Dialect::Sqlite => {
                let fts = index.fts_table();
                format!(
                    "SELECT rowid FROM {fts} WHERE {fts} MATCH {query} ORDER BY rowid LIMIT {limit}"
                )
            }
            Dialect::Postgres => format!(
                "SELECT id FROM {table}
                 WHERE {a} ILIKE {query} ESCAPE '\\' OR {b} ILIKE {query} ESCAPE '\\'
                 ORDER BY id LIMIT {limit}"
            ),
        }
    }

    /// `text` holds `part` (both expressions; no pattern characters).
    fn contains(self, text: &str, part: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({text}, {part}) > 0"),
            Dialect::Postgres => format!("strpos({text}, {part}) > 0"),
        }
    }

    /// `SELECT select` from the rows of `index` (as `rows`, with `join`ed tables) holding
    /// each of the `checks` words bound from `$first + 2` on (as [`like_escaped`]) in one of
    /// its two columns, in id order, at most `$first + 1`.
    ///
    /// SQLite asks its FTS5 index for the trigrams bound as `$first` ([`index_terms`]) and
    /// reads at most [`BUDGET`] of its entries: words too short for the index, or trigrams
    /// that many rows hold, could otherwise send the read through most of the table looking
    /// for rows that pass the word checks. PostgreSQL leaves `$first` unread: each word is an
    /// `ILIKE` the pg_trgm index serves (a word of one or two characters only filters), and
    /// its planner knows from its statistics which to read the index for.
    fn checked_rows(
        self,
        select: &str,
        index: Index,
        join: &str,
        first: usize,
        checks: usize,
    ) -> String {
        let (table, a, b) = index.columns();
        let alias = index.alias();
        let (terms, limit) = (first, first + 1);
        let mut sql = match self {
            Dialect::Sqlite => {
                let fts = index.fts_table();
                format!(
                    "SELECT {select}
                     FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ${terms} ORDER BY rowid
                           LIMIT {BUDGET}) f
                     JOIN {table} {alias} ON {alias}.id = f.rowid {join}
                     WHERE true"
                )
            }
            Dialect::Postgres => format!("SELECT {select} FROM {table} {alias} {join} WHERE true"),
        };
        let like = match self {
            // `LIKE` folds ASCII case as SQL `lower` does, without making a lowered copy of
            // each column for each word.
            Dialect::Sqlite => "LIKE",
            // `ILIKE` folds case as the database's locale does, and pg_trgm's index serves it.
            Dialect::Postgres => "ILIKE",
        };
        // The words are bound [`like_escaped`], most likely to fail first. The pattern is an
        // expression, not the bound value itself: SQLite prepares a statement again whenever
        // a value bound as a whole `LIKE` pattern changes (in case an index could serve it),
        // which costs more than the checks save.
        for n in first + 2..first + 2 + checks {
            sql.push_str(&format!(
                " AND ({alias}.{a} {like} ('%' || ${n} || '%') ESCAPE '\\'
                      OR {alias}.{b} {like} ('%' || ${n} || '%') ESCAPE '\\')"
            ));
        }
        match self {
            // In rowid order, which the index gives as it is, and the join keeps (the
            // subquery, which cannot be searched by key, is the outer loop): the first
            // `limit` end the read. Written as an `ORDER BY f.rowid`, SQLite would sort every
            // row the budget allows before taking them.
            Dialect::Sqlite => sql.push_str(&format!(" LIMIT ${limit}")),
            Dialect::Postgres => sql.push_str(&format!(" ORDER BY {alias}.id LIMIT ${limit}")),
        }
        sql
    }
}

const HIT: &str = concat!(
    "SELECT p.id, p.sku, p.name, ",
    super::stock::available_sql!(),
    " AS available FROM products p LEFT JOIN stock_positions sp ON sp.product_id = p.id"
);

/// `inner` (a statement selecting `id, sku, name, available`, in order) as one row holding a
/// JSON array of its rows: the driver hands each row from its SQLite thread to the caller
/// separately, which costs more than the search's reads when hundreds of candidates come
/// back.
fn packed(d: Dialect, inner: &str) -> String {
    d.pack(&d.array("id, sku, name, available"), inner)
}

/// A product as [`HIT`] selects it.
type HitRow = (i64, String, String, i64);

fn hit((id, sku, name, available): HitRow) -> ProductHit {
    ProductHit {
        id: ProductId(id),
        sku,
        name,
        available,
    }
}

/// Decodes the row of a [`packed`] statement.
fn unpack(json: &str) -> anyhow::Result<Vec<ProductHit>> {
    let rows: Vec<HitRow> = serde_json::from_str(json)?;
    Ok(rows.into_iter().map(hit).collect())
}

/// The exclusive upper bound of keys starting with `prefix`, for index range scans.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Products counted per trigram when looking for the rarest (a bounded read of its entries).
pub const PROBE: i64 = 20_000;

/// Products counted per trigram when "did you mean" widens a word's start (dozens of trigrams).
const WIDEN_PROBE: i64 = 500;

/// About how many index entries cost as much as one row looked up and checked.
const ENTRIES_PER_ROW: i64 = 64;

/// Most index entries one product search reads. A search whose words the index narrows
/// less than this (the usual case: a rare trigram) sees every match; one that the index
/// cannot narrow (only trigrams most products hold, or words of one or two characters) ranks
/// the matches among the first this many products holding its trigrams.
pub const BUDGET: i64 = 500;

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

/// Bounded counts of trigrams (how many rows of an index hold each, counted up to a probe),
/// remembered per store so the next search does not read the index to learn them again ("pro"
/// in a shop where every name says "product" is held by a million). They only steer which
/// trigrams the index is asked for, never what matches (every word is checked on the rows), so
/// a count gone stale since costs time, not correctness.
///
/// A long-running process also reads, when it starts, how many rows held each trigram then
/// ([`read_trigram_counts`]): the first searches after a start, and those with trigrams not
/// met before, then need no bounded read of their own.
#[derive(Debug, Default)]
pub struct TrigramCounts {
    probed: std::sync::Mutex<CountMap>,
    /// Rows holding each trigram, per index (as [`Index::slot`]), from the vocabularies.
    read: std::sync::RwLock<[std::collections::HashMap<String, i64>; 2]>,
}

/// Bounded count of (index, trigram, probe), and when it was read.
type CountMap = std::collections::HashMap<(Index, String, i64), (i64, std::time::Instant)>;

/// A trigram index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// `products_fts`: SKUs and names.
    Products,
    /// `customers_fts`: ids and names.
    Customers,
}

impl Index {
    /// SQLite's FTS5 table.
    fn fts_table(self) -> &'static str {
        match self {
            Index::Products => "products_fts",
            Index::Customers => "customers_fts",
        }
    }

    /// The table and the two columns the index holds.
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Index::Products => ("products", "sku", "name"),
            Index::Customers => ("customers", "external_id", "name"),
        }
    }

    /// The table's alias in the statements that join it.
    fn alias(self) -> &'static str {
        match self {
            Index::Products => "p",
            Index::Customers => "c",
        }
    }

    fn slot(self) -> usize {
        match self {
            Index::Products => 0,
            Index::Customers => 1,
        }
    }
}

impl TrigramCounts {
    /// Most remembered; beyond this the memory starts over.
    const MAX: usize = 100_000;

    /// Most trigrams read per index from its vocabulary (the others are counted when met).
    pub const READ_MAX: usize = 200_000;

    /// How long a count of zero is trusted: a trigram no row holds may be held by the next
    /// product added, and "did you mean" starts only from trigrams some row holds.
    const ZERO_FOR: std::time::Duration = std::time::Duration::from_secs(10);

    /// Remembers that `count` rows of `index` hold `trigram`, counted up to `probe`.
    pub fn remember(&self, index: Index, trigram: &str, probe: i64, count: i64) {
        let mut map = self.lock();
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(
            (index, trigram.to_string(), probe),
            (count, std::time::Instant::now()),
        );
    }

    /// Remembers `trigram` as held by as many rows as any probe counts, in every index (a
    /// warm-up, or a test of what a stale count does).
    pub fn remember_everywhere(&self, trigram: &str) {
        for index in [Index::Products, Index::Customers] {
            for probe in [PROBE, WIDEN_PROBE] {
                self.remember(index, trigram, probe, probe);
            }
        }
    }

    /// The count of `trigram` in `index` up to `probe`: as last counted, else as read from the
    /// vocabulary (a trigram missing from it was held by no row then: counted again, as a
    /// count of zero is trusted only for a while).
    pub fn known(&self, index: Index, trigram: &str, probe: i64) -> Option<i64> {
        match self.lock().get(&(index, trigram.to_string(), probe)) {
            Some((0, at)) if at.elapsed() > Self::ZERO_FOR => return None,
            Some((n, _)) => return Some(*n),
            None => {}
        }
        let read = self.read.read().unwrap_or_else(|e| e.into_inner());
        read[index.slot()].get(trigram).map(|n| (*n).min(probe))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CountMap> {
        // A panic while holding the lock leaves a valid map: keep using it.
        self.probed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How many rows of `index` hold each of `trigrams`, counted up to `probe` (remembered, or
/// read in one statement: each count is a bounded read of the index, and the round trips
/// would cost more than the reads). In the order asked.
pub async fn trigram_counts(
    conn: &mut Conn,
    counts: &TrigramCounts,
    index: Index,
    trigrams: &[String],
    probe: i64,
) -> anyhow::Result<Vec<(i64, String)>> {
    let mut out: Vec<(i64, String)> = Vec::with_capacity(trigrams.len());
    let mut unknown: Vec<&String> = Vec::new();
    for t in trigrams {
        match counts.known(index, t, probe) {
            Some(n) => out.push((n, t.clone())),
            None => unknown.push(t),
        }
    }
    if !unknown.is_empty() {
        let d = Dialect::of(conn);
        let queries: Vec<String> = unknown.iter().map(|t| d.trigram_query(t)).collect();
        let found: Vec<i64> = run!(
            conn,
            sqlx::query_scalar(&format!(
                "SELECT (SELECT COUNT(*) FROM ({}) AS held) FROM {} ORDER BY j.key",
                d.holding(index, "j.value", "$2"),
                d.each_text(1)
            ))
            .bind(serde_json::to_string(&queries)?)
            .bind(probe),
            fetch_all
        )?;
        for (n, t) in found.into_iter().zip(unknown) {
            counts.remember(index, t, probe, n);
            out.push((n, t.clone()));
        }
    }
    out.sort_by_key(|(_, t)| trigrams.iter().position(|x| x == t));
    Ok(out)
}

/// Reads how many rows hold each trigram of both indexes from their vocabularies (one pass over
/// each index) into `counts`, replacing what was read before;
/// at most [`TrigramCounts::READ_MAX`] trigrams per index. Returns how many were read.
/// SQLite's `fts5vocab`; none on PostgreSQL, whose planner keeps its own statistics of the
/// pg_trgm indexes (and whose searches need no counts but "did you mean"'s, counted as met).
pub async fn read_trigram_counts(conn: &mut Conn, counts: &TrigramCounts) -> anyhow::Result<usize> {
    if Dialect::of(conn) == Dialect::Postgres {
        return Ok(0);
    }
    let mut total = 0;
    for index in [Index::Products, Index::Customers] {
        // Packed in one row: the driver hands each row over separately.
        let json: String = run!(
            conn,
            sqlx::query_scalar(&format!(
                "SELECT json_group_array(json_array(term, doc))
             FROM (SELECT term, doc FROM {}_vocab LIMIT $1)",
                index.fts_table()
            ))
            .bind(TrigramCounts::READ_MAX as i64),
            fetch_one
        )?;
        let map: std::collections::HashMap<String, i64> =
            serde_json::from_str::<Vec<(String, i64)>>(&json)?
                .into_iter()
                .collect();
        total += map.len();
        counts.read.write().unwrap_or_else(|e| e.into_inner())[index.slot()] = map;
    }
    Ok(total)
}

/// The trigrams to ask `index` for, for rows holding every one of `words`. Of the ASCII words
/// (checked on the rows with `LIKE`, which folds ASCII case only): the rarest of their
/// trigrams, and the next rarest that does not overlap it (or, when all overlap it, the fewest
/// that hold every character of its word with it), leaving out those whose lists are too long
/// to pay for themselves. Intersecting trigrams that most rows hold ("pro", "uct" in a shop
/// where every name says "product") costs milliseconds at a million rows; the rarest narrow as
/// much, and when even they are common the matches are many and the first come soon. Of the
/// other words: every trigram.
async fn index_terms(
    conn: &mut Conn,
    counts: &TrigramCounts,
    index: Index,
    words: &[&str],
) -> anyhow::Result<Vec<String>> {
    let (ascii, other): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| w.is_ascii());
    // Each trigram with where it starts: (word, character).
    let mut trigrams: Vec<String> = Vec::new();
    let mut at: Vec<(usize, usize)> = Vec::new();
    for (w, word) in ascii.iter().enumerate() {
        for (i, t) in word_trigrams(word).into_iter().enumerate() {
            if !trigrams.contains(&t) {
                trigrams.push(t);
                at.push((w, i));
            }
        }
    }
    let mut counted: Vec<(i64, (usize, usize), String)> =
        trigram_counts(conn, counts, index, &trigrams, PROBE)
            .await?
            .into_iter()
            .zip(at)
            .map(|((n, t), place)| (n, place, t))
            .collect();
    counted.sort();
    let mut terms: Vec<String> = Vec::new();
    if let Some((first, place, t)) = counted.first().cloned() {
        terms.push(t);
        // The next rarest narrows the rows to look up, at the cost of the index walking its
        // list to keep up with the first: worth it unless that list is far longer than the
        // rows it saves looking up (a common trigram beside a rare one only slows the read).
        // (A count that reached the probe says nothing of how long the list is.)
        let worth =
            |n: i64| first >= PROBE || (n < PROBE && n <= ENTRIES_PER_ROW * first.min(BUDGET));
        // Of those, one that does not overlap the first: "123" and "234" of "123456" are
        // mostly held together ("1234"), "123" and "456" narrow each other far more.
        let apart = |(w, i): (usize, usize)| w != place.0 || i.abs_diff(place.1) >= 3;
        // When every one overlaps it, enough of them to hold every character of its word:
        // "432" and "210" of "43210" leave little but "43210", and each list more costs the
        // index a walk of it ("321" would add nothing); "550" and "000" of "55000".
        let rest = || counted[1..].iter().filter(|(n, _, _)| worth(*n));
        match rest().find(|(_, p, _)| apart(*p)) {
            Some((_, _, t)) => terms.push(t.clone()),
            None => {
                let len = ascii[place.0].chars().count();
                let others: Vec<(i64, usize, &String)> = rest()
                    .filter(|(_, p, _)| p.0 == place.0)
                    .map(|(n, p, t)| (*n, p.1, t))
                    .collect();
                terms.extend(covering(len, place.1, &others).into_iter().cloned());
            }
        }
    }
    for w in &other {
        terms.extend(word_trigrams(w));
    }
    Ok(terms)
}

/// `word` for `LIKE '%' || word || '%' ESCAPE '\'`: `%`, `_` and `\` match only themselves.
fn like_escaped(word: &str) -> String {
    let mut p = String::with_capacity(word.len() + 2);
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p
}

/// `words` in the order the rows should check them, least often held first, so most rows fail
/// at the first check: long words by the count of their rarest trigram (as remembered by
/// [`index_terms`]), a word of two characters before the words most rows hold, a word of one
/// character with them.
fn checking_order<'w>(counts: &TrigramCounts, index: Index, words: &[&'w str]) -> Vec<&'w str> {
    let mut ranked: Vec<(i64, &str)> = words
        .iter()
        .map(|w| {
            let rarest = match w.chars().count() {
                0 | 1 => PROBE,
                2 => PROBE - 1,
                _ => word_trigrams(w)
                    .iter()
                    .map(|t| counts.known(index, t, PROBE).unwrap_or(PROBE))
                    .min()
                    .unwrap_or(PROBE),
            };
            (rarest, *w)
        })
        .collect();
    ranked.sort_by_key(|(n, _)| *n);
    ranked.into_iter().map(|(_, w)| w).collect()
}

/// Of the trigrams (count, start) of a word of `len` characters overlapping the one starting
/// at `first`, the fewest that hold every character of the word with it: each time the one
/// holding most characters not yet held, the rarer of equals.
fn covering<'t>(len: usize, first: usize, others: &[(i64, usize, &'t String)]) -> Vec<&'t String> {
    let mut held = vec![false; len];
    let new = |i: usize, held: &[bool]| {
        held[i.min(len)..(i + 3).min(len)]
            .iter()
            .filter(|h| !**h)
            .count()
    };
    let hold = |i: usize, held: &mut [bool]| {
        held[i.min(len)..(i + 3).min(len)]
            .iter_mut()
            .for_each(|h| *h = true)
    };
    hold(first, &mut held);
    let mut out = Vec::new();
    while let Some((_, i, t)) = others
        .iter()
        .filter(|(_, i, _)| new(*i, &held) > 0)
        .max_by_key(|(n, i, _)| (new(*i, &held), std::cmp::Reverse(*n)))
    {
        hold(*i, &mut held);
        out.push(*t);
    }
    out
}

/// What the rows of an index are asked for, bound before the words checked on them
/// ([`Dialect::checked_rows`]), and which words are checked: on SQLite the rarest trigrams
/// ([`index_terms`]) as an FTS5 query, with the ASCII words and `short` checked on the rows
/// (`LIKE` folds ASCII case only; the other words are held by the rows the trigrams find);
/// on PostgreSQL nothing, with every word checked (`ILIKE`).
async fn words_lookup<'w>(
    conn: &mut Conn,
    counts: &TrigramCounts,
    index: Index,
    long: &[&'w str],
    short: &[&'w str],
) -> anyhow::Result<(KeyPart, Vec<&'w str>)> {
    let (terms, checked): (String, Vec<&str>) = match Dialect::of(conn) {
        Dialect::Sqlite => {
            let terms = index_terms(conn, counts, index, long).await?;
            let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
            let ascii = long.iter().copied().filter(|w| w.is_ascii());
            (
                fts_terms(&terms),
                ascii.chain(short.iter().copied()).collect(),
            )
        }
        Dialect::Postgres => (String::new(), long.iter().chain(short).copied().collect()),
    };
    Ok((
        KeyPart::Text(terms),
        checking_order(counts, index, &checked),
    ))
}

/// The statement of the search by words for `q` (its rows packed as one JSON array) and the
/// values it binds, in order; `None` when `q` has no word the index can look up. The words
/// are looked up as [`words_lookup`] says.
pub async fn word_statement(
    conn: &mut Conn,
    counts: &TrigramCounts,
    q: &SearchQuery,
    cap: i64,
) -> anyhow::Result<Option<(String, Vec<KeyPart>)>> {
    let long: Vec<&str> = q.long_terms().collect();
    if long.is_empty() {
        return Ok(None);
    }
    let short: Vec<&str> = q.short_terms().collect();
    let (terms, checked) = words_lookup(conn, counts, Index::Products, &long, &short).await?;
    let d = Dialect::of(conn);
    let sql = d.checked_rows(
        concat!(
            "p.id AS id, p.sku AS sku, p.name AS name, ",
            super::stock::available_sql!(),
            " AS available"
        ),
        Index::Products,
        "LEFT JOIN stock_positions sp ON sp.product_id = p.id",
        1,
        checked.len(),
    );
    let mut values = vec![terms, KeyPart::Int(cap)];
    values.extend(checked.iter().map(|w| KeyPart::Text(like_escaped(w))));
    Ok(Some((packed(d, &sql), values)))
}

/// Products that may match `q`: up to `cap` whose SKU starts with the query (in key order),
/// and up to `cap` whose SKU or name holds every word (in id order), unless the SKU prefix
/// alone gave `enough` (the caller shows that many at most). The caller ranks them.
pub async fn product_candidates(
    conn: &mut Conn,
    counts: &TrigramCounts,
    q: &SearchQuery,
    cap: i64,
    enough: usize,
) -> anyhow::Result<Vec<ProductHit>> {
    let mut out: Vec<ProductHit> = Vec::new();
    if let Some(key) = &q.sku_key {
        let sql = packed(
            Dialect::of(conn),
            &format!("{HIT} WHERE p.sku_key >= $1 AND p.sku_key < $2 ORDER BY p.sku_key LIMIT $3"),
        );
        let json: String = run!(
            conn,
            sqlx::query_scalar(&sql)
                .bind(key)
                .bind(prefix_end(key))
                .bind(cap),
            fetch_one
        )?;
        out = unpack(&json)?;
    }
    // SKU-prefix matches outrank every match by words: when there are `enough` of them, the
    // words cannot change the first `enough`.
    if out.len() >= enough {
        return Ok(out);
    }
    let Some((sql, values)) = word_statement(conn, counts, q, cap).await? else {
        return Ok(out);
    };
    let json: String = run!(
        conn,
        super::keyset::bind_all(sqlx::query(&sql), &values),
        fetch_one,
        |row| row.try_get(0)
    )?;
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
    counts: &TrigramCounts,
    trigrams: &[String],
    prefixes: &[String],
    cap: i64,
) -> anyhow::Result<Vec<ProductHit>> {
    // Counted by bounded reads of the index, not `products_fts_vocab` (which reads every entry
    // of a trigram: a million for "pro" in the synthetic shop). A prefix is widened by the
    // letters, digits, space and `-` (not other characters), counted up to WIDEN_PROBE.
    let mut seeds: Vec<(i64, String)> =
        trigram_counts(conn, counts, Index::Products, trigrams, PROBE)
            .await?
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .collect();
    // Widening is for words too short to keep a trigram through a typo; when the trigrams
    // themselves already lead to enough products it is not needed.
    let found: i64 = seeds.iter().map(|(n, _)| n).sum();
    let mut widened: Vec<String> = Vec::new();
    for p in prefixes.iter().filter(|_| found < cap) {
        for c in "abcdefghijklmnopqrstuvwxyz0123456789 -".chars() {
            let t = format!("{p}{c}");
            if !trigrams.contains(&t) && !widened.contains(&t) {
                widened.push(t);
            }
        }
    }
    for (n, t) in trigram_counts(conn, counts, Index::Products, &widened, WIDEN_PROBE).await? {
        if n > 0 {
            seeds.push((if n == WIDEN_PROBE { PROBE } else { n }, t));
        }
    }
    seeds.sort();
    // Each seed's first rowids, in seed order, as if each were asked for what is still
    // missing: several seeds per statement (a round trip per seed would cost more than the
    // reads), only as many as their counts say can fill the cap, and more only if rows held
    // by several seeds left it short.
    let mut hits: Vec<ProductHit> = Vec::new();
    let mut rest = &seeds[..];
    while (hits.len() as i64) < cap && !rest.is_empty() {
        let mut reach = cap - hits.len() as i64;
        let take = rest
            .iter()
            .take_while(|(n, _)| {
                let more = reach > 0;
                reach -= (*n).min(cap);
                more
            })
            .count();
        let (batch, after) = rest.split_at(take);
        rest = after;
        let d = Dialect::of(conn);
        let queries: Vec<String> = batch.iter().map(|(_, t)| d.trigram_query(t)).collect();
        // Each seed's products come with its rowids: no second statement to read them by id.
        let seed_hits = packed(
            d,
            &format!(
                "{HIT} WHERE p.id IN ({}) ORDER BY p.id",
                d.holding(Index::Products, "j.value", "$2")
            ),
        );
        let lists: Vec<String> = run!(
            conn,
            sqlx::query_scalar(&format!(
                "SELECT ({seed_hits}) FROM {} ORDER BY j.key",
                d.each_text(1)
            ))
            .bind(serde_json::to_string(&queries)?)
            .bind(cap),
            fetch_all
        )?;
        for list in lists {
            if hits.len() as i64 >= cap {
                break;
            }
            let wanted = (cap - hits.len() as i64) as usize;
            for hit in unpack(&list)?.into_iter().take(wanted) {
                if !hits.iter().any(|h| h.id == hit.id) {
                    hits.push(hit);
                }
            }
        }
    }
    Ok(hits)
}

/// Every product, for checks against a brute-force scan (tests and small shops).
pub async fn all_products(conn: &mut Conn) -> anyhow::Result<Vec<ProductHit>> {
    let rows: Vec<HitRow> = run!(
        conn,
        sqlx::query_as(&format!("{HIT} ORDER BY p.id")),
        fetch_all
    )?;
    Ok(rows.into_iter().map(hit).collect())
}

/// A customer as autocomplete shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerHit {
    /// Row id.
    pub id: CustomerId,
    /// The shop's customer id.
    pub external_id: String,
    /// Name (mask before showing).
    pub name: String,
}

/// Customers whose id starts with `text` (case-insensitive, in id order), then customers whose
/// id or name holds every word of three or more characters; at most `limit`. One statement.
pub async fn customers(
    conn: &mut Conn,
    counts: &TrigramCounts,
    text: &str,
    limit: i64,
) -> anyhow::Result<Vec<CustomerHit>> {
    let lookup = CustomerLookup::new(conn, counts, text, limit, 1).await?;
    let sql = format!("WITH {} SELECT {}", lookup.with, lookup.columns);
    let found = run!(
        conn,
        super::keyset::bind_all(sqlx::query(&sql), &lookup.values),
        fetch_one,
        |row| Ok((row.try_get(0)?, row.try_get(1)?))
    )?;
    lookup.hits(found)
}

/// The customer lookup of [`customers`] as parts of a statement binding from `$first` on.
struct CustomerLookup {
    /// `by_id AS (…)`, for the statement's `WITH`.
    with: String,
    /// Two columns: the customers by id prefix, and by words (or NULL), each as JSON.
    columns: String,
    /// What to bind from `$first` on.
    values: Vec<KeyPart>,
    /// Words with other letters than ASCII, checked on the rows found (SQLite's `LIKE` folds
    /// ASCII only).
    other: Vec<String>,
    limit: i64,
}

impl CustomerLookup {
    async fn new(
        conn: &mut Conn,
        counts: &TrigramCounts,
        text: &str,
        limit: i64,
        first: usize,
    ) -> anyhow::Result<Self> {
        let key = text.trim().to_uppercase();
        let words: Vec<String> = text
            .split_whitespace()
            .filter(|w| w.chars().count() >= crate::domain::search::MIN_TERM)
            .map(str::to_lowercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let other = words
            .iter()
            .filter(|w| !w.is_ascii())
            .map(|w| w.to_string());
        let d = Dialect::of(conn);
        let pack = |inner: &str| format!("({})", d.pack(&d.array("id, external_id, name"), inner));
        // From `$first`: the id prefix's range (two), the FTS query, the limit, the words.
        let (from, to, terms, most) = (first, first + 1, first + 2, first + 3);
        let with = format!(
            "by_id AS (SELECT id, external_id, name FROM customers
                       WHERE UPPER(external_id) >= ${from} AND UPPER(external_id) < ${to}
                       ORDER BY UPPER(external_id) LIMIT ${most})"
        );
        let mut values = vec![KeyPart::Text(key.clone()), KeyPart::Text(prefix_end(&key))];
        // The words are looked up only when the id prefix leaves room (`CASE` runs one
        // branch only).
        let (by_words, checked) = if words.is_empty() {
            values.push(KeyPart::Text(String::new()));
            ("NULL".to_string(), Vec::new())
        } else {
            // As for products ([`words_lookup`]).
            let (found, checked) =
                words_lookup(conn, counts, Index::Customers, &words, &[]).await?;
            values.push(found);
            let sql = format!(
                "CASE WHEN (SELECT COUNT(*) FROM by_id) < ${most} THEN {} END",
                pack(&d.checked_rows(
                    "c.id, c.external_id, c.name",
                    Index::Customers,
                    "",
                    terms,
                    checked.len(),
                ))
            );
            (sql, checked)
        };
        values.push(KeyPart::Int(limit));
        values.extend(checked.iter().map(|w| KeyPart::Text(like_escaped(w))));
        Ok(Self {
            with,
            columns: format!(
                "{}, {by_words}",
                pack("SELECT id, external_id, name FROM by_id")
            ),
            values,
            other: other.collect(),
            limit,
        })
    }

    /// The customers found, from the statement's two columns ([`CustomerLookup::columns`]).
    fn hits(
        &self,
        (by_id, by_words): (String, Option<String>),
    ) -> anyhow::Result<Vec<CustomerHit>> {
        let hits = |json: &str| -> anyhow::Result<Vec<CustomerHit>> {
            Ok(serde_json::from_str::<Vec<(i64, String, String)>>(json)?
                .into_iter()
                .map(|(id, external_id, name)| CustomerHit {
                    id: CustomerId(id),
                    external_id,
                    name,
                })
                .collect())
        };
        let mut out = hits(&by_id)?;
        for c in hits(by_words.as_deref().unwrap_or("[]"))? {
            let (id, name) = (c.external_id.to_lowercase(), c.name.to_lowercase());
            if (out.len() as i64) < self.limit
                && self
                    .other
                    .iter()
                    .all(|w| id.contains(w) || name.contains(w))
                && !out.iter().any(|o| o.id == c.id)
            {
                out.push(c);
            }
        }
        Ok(out)
    }
}

/// Open purchase orders whose number starts with `text` (case-insensitive), in number order.
pub async fn po_numbers(conn: &mut Conn, text: &str, limit: i64) -> anyhow::Result<Vec<String>> {
    let key = text.trim().to_uppercase();
    Ok(run!(
        conn,
        sqlx::query_scalar(&format!(
            "SELECT po_number FROM purchase_orders
         WHERE UPPER(po_number) >= $1 AND UPPER(po_number) < $2
           AND status IN {EXPECTING_UNITS}
         ORDER BY UPPER(po_number) LIMIT $3",
        ))
        .bind(&key)
        .bind(prefix_end(&key))
        .bind(limit),
        fetch_all
    )?)
}

/// Open purchase orders bringing any of `product_ids`, with the SKU they bring.
pub async fn pos_of_products(
    conn: &mut Conn,
    product_ids: &[ProductId],
    limit: i64,
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "SELECT po.po_number, p.sku FROM json_each($1) j
         JOIN po_lines l ON l.product_id = j.value AND l.status IN {EXPECTING_UNITS}
         JOIN purchase_orders po ON po.id = l.po_id
         JOIN products p ON p.id = l.product_id
         ORDER BY j.key, po.po_number LIMIT $2",
        ))
        .bind(id_json(product_ids))
        .bind(limit),
        fetch_all
    )?)
}

/// An open backorder as autocomplete shows it: id, SKU, units.
pub type BackorderHit = (BackorderId, String, i64);

/// A [`BackorderHit`] as a JSON list holds it.
type RawHit = (i64, String, i64);

fn hit_of((id, sku, qty): RawHit) -> BackorderHit {
    (BackorderId(id), sku, qty)
}

/// A JSON array of [`RawHit`]s, as backorder hits.
fn hits_of(json: &str) -> anyhow::Result<Vec<BackorderHit>> {
    let raw: Vec<RawHit> = serde_json::from_str(json)?;
    Ok(raw.into_iter().map(hit_of).collect())
}

/// Open backorders whose id starts with the digits `prefix`: the id itself, then ids one,
/// two, … digits longer, each an index range (never a scan of every id). Without a prefix,
/// the lowest ids.
pub async fn backorder_ids(
    conn: &mut Conn,
    prefix: Option<u64>,
    limit: i64,
) -> anyhow::Result<Vec<BackorderHit>> {
    let Some(prefix) = prefix else {
        return Ok(run!(
            conn,
            sqlx::query_as(concat!(
                "SELECT b.id, p.sku, b.qty FROM backorders b JOIN products p ON p.id = b.product_id
             WHERE b.status = ",
                sql_word!(backorder open),
                " ORDER BY b.id LIMIT $1"
            ))
            .bind(limit),
            fetch_all
        )?);
    };
    let max: i64 = run!(
        conn,
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM backorders"),
        fetch_one
    )?;
    let mut out = Vec::new();
    let (mut lo, mut width) = (prefix as i128, 1i128);
    while lo <= i128::from(max) && (out.len() as i64) < limit {
        let hi = lo + width - 1;
        let found: Vec<BackorderHit> = run!(
            conn,
            sqlx::query_as(
                // The status as an expression: compared plainly, it leads SQLite to walk a
                // status-first index over every open backorder instead of this id range.
                concat!(
                "SELECT b.id, p.sku, b.qty FROM backorders b JOIN products p ON p.id = b.product_id
             WHERE b.id BETWEEN $1 AND $2 AND b.status || '' = ",
                sql_word!(backorder open),
                " ORDER BY b.id LIMIT $3"
            ),
            )
            .bind(lo as i64)
            .bind(hi.min(i128::from(i64::MAX)) as i64)
            .bind(limit - out.len() as i64),
            fetch_all
        )?;
        out.extend(found);
        if lo == 0 {
            break;
        }
        lo *= 10;
        width *= 10;
    }
    Ok(out)
}

/// Open backorders of any of `customer_ids` (in that order), each one's in service order: each
/// customer's first `limit` are read (an index range), packed as JSON, so a customer with
/// thousands open costs no more.
pub async fn backorders_of_customers(
    conn: &mut Conn,
    customer_ids: &[CustomerId],
    limit: i64,
) -> anyhow::Result<Vec<BackorderHit>> {
    let sql = lists_of(Dialect::of(conn), "customer_id");
    let lists: Vec<String> = run!(
        conn,
        sqlx::query_scalar(&sql)
            .bind(id_json(customer_ids))
            .bind(limit),
        fetch_all
    )?;
    let mut out: Vec<BackorderHit> = Vec::new();
    for list in lists {
        take(&mut out, hits_of(&list)?, limit);
    }
    Ok(out)
}

/// Open backorders of any of `product_ids` (in that order, each one's in service order, as
/// [`backorders_of_customers`] reads them) and the customers matching `text` (as
/// [`customers`], at most `customers_limit`), in one statement: what backorder autocomplete
/// needs before it knows whether the products leave room for customers.
pub async fn backorders_and_customers(
    conn: &mut Conn,
    counts: &TrigramCounts,
    product_ids: &[ProductId],
    limit: i64,
    text: &str,
    customers_limit: i64,
) -> anyhow::Result<(Vec<BackorderHit>, Vec<CustomerHit>)> {
    let lookup = CustomerLookup::new(conn, counts, text, customers_limit, 3).await?;
    let d = Dialect::of(conn);
    let sql = format!(
        "WITH {} SELECT ({}), {}",
        lookup.with,
        d.pack(&d.json("list"), &lists_of(d, "product_id")),
        lookup.columns
    );
    let mut values = vec![KeyPart::Text(id_json(product_ids)), KeyPart::Int(limit)];
    values.extend(lookup.values.iter().cloned());
    let (lists, by_id, by_words): (String, String, Option<String>) = run!(
        conn,
        super::keyset::bind_all(sqlx::query(&sql), &values),
        fetch_one,
        |row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
    )?;
    let lists: Vec<Vec<RawHit>> = serde_json::from_str(&lists)?;
    let mut out = Vec::new();
    for list in lists {
        take(&mut out, list.into_iter().map(hit_of).collect(), limit);
    }
    Ok((out, lookup.hits((by_id, by_words))?))
}

/// Allocated backorders whose id starts with `text`, or whose SKU, product name, customer id or
/// customer name holds it (any case), lowest id first. Few backorders wait allocated at a time,
/// so reading them all through the status index is cheap.
pub async fn allocated_backorders(
    conn: &mut Conn,
    text: &str,
    limit: i64,
) -> anyhow::Result<Vec<BackorderHit>> {
    let d = Dialect::of(conn);
    let holds = |column: &str| d.contains(&format!("lower({column})"), "lower($1)");
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "SELECT b.id, p.sku, b.qty FROM backorders b
         JOIN products p ON p.id = b.product_id
         JOIN customers c ON c.id = b.customer_id
         WHERE b.status = {allocated}
           AND ($1 = '' OR substr(CAST(b.id AS TEXT), 1, length($1)) = $1
                OR {} OR {} OR {} OR {})
         ORDER BY b.id LIMIT $2",
            holds("p.sku"),
            holds("p.name"),
            holds("c.external_id"),
            holds("c.name"),
            allocated = sql_word!(backorder allocated),
        ))
        .bind(text)
        .bind(limit),
        fetch_all
    )?)
}

/// Rows (`list`), one per id of `$1` in its order: the JSON of that id's first `$2` open
/// backorders by `column`, in service order.
fn lists_of(d: Dialect, column: &str) -> String {
    let first = format!(
        "SELECT b.id, p.sku, b.qty FROM backorders b JOIN products p ON p.id = b.product_id
         WHERE b.{column} = j.value AND b.status = {open}
         ORDER BY b.sort_key DESC, b.ordered_epoch, b.id LIMIT $2",
        open = sql_word!(backorder open)
    );
    format!(
        "SELECT ({}) AS list FROM json_each($1) j ORDER BY j.key",
        d.pack(&d.array("id, sku, qty"), &first)
    )
}

/// Adds to `out` those of `found` not in it yet, up to `limit` in all.
pub fn take(out: &mut Vec<BackorderHit>, found: Vec<BackorderHit>, limit: i64) {
    for f in found {
        if out.len() as i64 >= limit {
            return;
        }
        if !out.iter().any(|o| o.0 == f.0) {
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_trigrams_asked_for_are_the_fewest_holding_the_whole_word() {
        let t = |s: &str| s.to_string();
        let (t321, t210, t432) = (t("321"), t("210"), t("432"));
        // "43210" from its rarest "432": "210" holds both characters left, "321" only one.
        let others = [(4000, 1, &t321), (4000, 2, &t210)];
        assert_eq!(covering(5, 0, &others), [&t210]);
        // From the middle one: both ends are needed.
        let others = [(4000, 0, &t432), (4000, 2, &t210)];
        let mut both = covering(5, 1, &others);
        both.sort();
        assert_eq!(both, [&t210, &t432]);
        // "55000" from "550": "000" holds what is left, however many rows hold it.
        let (t500, t000) = (t("500"), t("000"));
        let others = [(4000, 1, &t500), (12_700, 2, &t000)];
        assert_eq!(covering(5, 0, &others), [&t000]);
        // "1234": from "123", only "234" adds a character; of equals, the rarer.
        let (t234, t12x) = (t("234"), t("23x"));
        let others = [(900, 1, &t234), (100, 1, &t12x)];
        assert_eq!(covering(4, 0, &others), [&t12x]);
        assert!(covering(3, 0, &[]).is_empty());
    }
}
