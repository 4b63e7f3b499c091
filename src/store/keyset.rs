//! Keyset paging over one table: a page is the rows after (or before) the key of a row already
//! shown, read from an index in the list's order, so a deep page costs what page 1 costs.
//!
//! A list's order is its key columns ([`KeyColumn`]); the last one is unique (an id or PO
//! number). "After key k" is one index seek per key column ([`page_sql`]), in portable SQL
//! (row-value comparisons cannot mix directions): the same statements run on SQLite and
//! PostgreSQL, a date column read as each engine stores dates ([`asc_day`]).

use super::{Conn, Engine, RowId, StoredDay};
use crate::domain::page::{KeyPart, PageKey, Seek};
use crate::store::run;
use sqlx::Row;

/// One column (or expression) of a list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyColumn {
    /// SQL expression, written as the index that serves it writes it.
    pub expr: &'static str,
    /// Largest first.
    pub desc: bool,
    /// `i`, `r` or `t`: how the value is read and carried.
    pub kind: char,
    /// A date (kind `t`): carried as `YYYY-MM-DD`, read as the engine stores dates (text on
    /// SQLite, `date` on PostgreSQL) and compared with `date($n)`, which both read from text
    /// (SQLite's date function, PostgreSQL's function-style cast).
    pub day: bool,
}

/// Ascending key column of kind `kind`.
pub const fn asc(expr: &'static str, kind: char) -> KeyColumn {
    KeyColumn {
        expr,
        desc: false,
        kind,
        day: false,
    }
}

/// Descending key column of kind `kind`.
pub const fn desc(expr: &'static str, kind: char) -> KeyColumn {
    KeyColumn {
        expr,
        desc: true,
        kind,
        day: false,
    }
}

/// Ascending key column holding a date ([`KeyColumn::day`]).
pub const fn asc_day(expr: &'static str) -> KeyColumn {
    KeyColumn {
        expr,
        desc: false,
        kind: 't',
        day: true,
    }
}

impl KeyColumn {
    /// The key part bound as `$n`, as this column compares with it.
    fn param(&self, n: usize) -> String {
        if self.day {
            format!("date(${n})")
        } else {
            format!("${n}")
        }
    }
}

/// What to page over: `SELECT <id> FROM <from> WHERE <filter>`; the filter's values are bound
/// as `$1…$n` in order.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// Table (with alias).
    pub from: &'a str,
    /// Row id expression.
    pub id: &'a str,
    /// Conditions joined by AND (may be empty).
    pub filter: Vec<String>,
    /// Values of the filter's `$n` placeholders.
    pub binds: Vec<KeyPart>,
    /// The order.
    pub order: &'a [KeyColumn],
}

/// One page of ids with their keys, in list order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Keyed {
    /// (row id, key), in list order.
    pub rows: Vec<(i64, PageKey)>,
    /// There is a row after the last one.
    pub more_after: bool,
    /// There is a row before the first one.
    pub more_before: bool,
}

impl Keyed {
    /// The key of the first row (what Prev seeks before).
    pub fn first_key(&self) -> Option<&PageKey> {
        self.rows.first().map(|(_, k)| k)
    }

    /// The key of the last row (what Next seeks after).
    pub fn last_key(&self) -> Option<&PageKey> {
        self.rows.last().map(|(_, k)| k)
    }

    /// The ids, in list order.
    pub fn ids(&self) -> Vec<i64> {
        self.rows.iter().map(|(id, _)| *id).collect()
    }

    /// The ids as their own type, in list order.
    pub fn row_ids<T: RowId>(&self) -> Vec<T> {
        self.rows.iter().map(|(id, _)| T::from_raw(*id)).collect()
    }
}

/// `ORDER BY` of the order, or of its reverse.
fn order_by(order: &[KeyColumn], reverse: bool) -> String {
    order
        .iter()
        .map(|c| {
            let desc = c.desc != reverse;
            format!("{}{}", c.expr, if desc { " DESC" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn where_sql(filter: &[String]) -> String {
    if filter.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filter.join(" AND "))
    }
}

/// `q` with `parts` bound in order.
pub(super) fn bind_all<'q, DB: sqlx::Database>(
    mut q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    parts: &'q [KeyPart],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for v in parts {
        q = match v {
            KeyPart::Int(n) => q.bind(*n),
            KeyPart::Real(x) => q.bind(*x),
            KeyPart::Text(s) => q.bind(s.as_str()),
        };
    }
    q
}

/// The SQL of one page (for `EXPLAIN QUERY PLAN` and the benchmark) and its bound values.
///
/// From a key, the page is the union of one index seek per key column, most specific first:
/// rows equal to the key on the columns before column i and past it on column i, each at most
/// a page. Every branch is an equality prefix plus a range in the index, so the cost does not
/// depend on how many rows share the leading values (40 ETA dates among 200,000 backorders):
/// a single `c1 >= k1 AND (…)` seek would walk all the rows tied with the key on `c1`.
pub fn page_sql(src: &Source<'_>, seek: &Seek, limit: i64) -> (String, Vec<KeyPart>) {
    let mut binds = src.binds.clone();
    let keys: Vec<&str> = src.order.iter().map(|c| c.expr).collect();
    let (key, reverse) = match seek {
        Seek::After(k) => (k, false),
        Seek::Before(k) => (k, true),
        Seek::First | Seek::Skip(_) => {
            let offset = match seek {
                Seek::Skip(n) => format!(" OFFSET {}", (*n).max(0)),
                _ => String::new(),
            };
            let order = order_by(src.order, false);
            let tail = format!("LIMIT {}{offset}", limit + 1);
            return (keys_sql(src, &src.filter, &order, &tail), binds);
        }
    };
    let base = binds.len();
    binds.extend(key.0.iter().cloned());
    let columns: Vec<String> = std::iter::once(format!("{} AS row_id", src.id))
        .chain(keys.iter().enumerate().map(|(i, e)| format!("{e} AS k{i}")))
        .collect();
    let branches: Vec<String> = (0..src.order.len())
        .rev()
        .map(|i| {
            let (filter, order) = branch(src, i, reverse, base);
            format!(
                "SELECT * FROM (SELECT {} FROM {}{} ORDER BY {order} LIMIT {}) AS branch{i}",
                columns.join(", "),
                src.from,
                where_sql(&filter),
                limit + 1
            )
        })
        .collect();
    let outer: Vec<String> = src
        .order
        .iter()
        .enumerate()
        .map(|(i, c)| format!("k{i}{}", if c.desc != reverse { " DESC" } else { "" }))
        .collect();
    (
        format!(
            "{} ORDER BY {} LIMIT {}",
            branches.join(" UNION ALL "),
            outer.join(", "),
            limit + 1
        ),
        binds,
    )
}

/// `SELECT <id>, <key columns> FROM <table> WHERE <filter> ORDER BY <order> <tail>`: the ids
/// and keys of a list's rows, read as the index gives them.
fn keys_sql(src: &Source<'_>, filter: &[String], order: &str, tail: &str) -> String {
    let keys: Vec<&str> = src.order.iter().map(|c| c.expr).collect();
    format!(
        "SELECT {}, {} FROM {}{} ORDER BY {order} {tail}",
        src.id,
        keys.join(", "),
        src.from,
        where_sql(filter)
    )
}

/// Branch `i` of the rows past a key (after it, or before it when `reverse`) whose parts are
/// bound from `$base + 1`: the rows equal to the key on the columns before column i and past
/// it on column i. Its conditions, and its order as the index gives it.
///
/// The branches are consecutive stretches of the list: every row of branch i comes before
/// every row of branch i − 1 (it differs from the key on a later column).
fn branch(src: &Source<'_>, i: usize, reverse: bool, base: usize) -> (Vec<String>, String) {
    let mut filter = src.filter.clone();
    for (j, c) in src.order[..i].iter().enumerate() {
        filter.push(format!("{} = {}", c.expr, c.param(base + 1 + j)));
    }
    let c = &src.order[i];
    let op = if c.desc != reverse { "<" } else { ">" };
    filter.push(format!("{} {op} {}", c.expr, c.param(base + 1 + i)));
    // The columns held equal are left out: with them, SQLite does not see that the index
    // already gives this order and sorts every matching row.
    (filter, order_by(&src.order[i..], reverse))
}

/// At most `limit` rows after `key` once `skip` rows after it are passed, walking the branches
/// ([`branch`]) in list order: each statement is an index range read in its own order, where
/// one `UNION ALL … ORDER BY … OFFSET` would sort every branch's `skip` rows first.
async fn rows_after(
    conn: &mut Conn,
    src: &Source<'_>,
    key: &PageKey,
    mut skip: i64,
    limit: i64,
) -> anyhow::Result<Vec<(i64, PageKey)>> {
    let mut binds = src.binds.clone();
    let base = binds.len();
    binds.extend(key.0.iter().cloned());
    let mut out = Vec::new();
    // LIMIT and OFFSET are bound, so each branch is one prepared statement whatever the skip.
    let (limit_at, offset_at) = (binds.len() + 1, binds.len() + 2);
    binds.extend([KeyPart::Int(0), KeyPart::Int(0)]);
    for i in (0..src.order.len()).rev() {
        let want = limit - out.len() as i64;
        if want <= 0 {
            break;
        }
        let (filter, order) = branch(src, i, false, base);
        let sql = keys_sql(
            src,
            &filter,
            &order,
            &format!("LIMIT ${limit_at} OFFSET ${offset_at}"),
        );
        binds[limit_at - 1] = KeyPart::Int(want);
        binds[offset_at - 1] = KeyPart::Int(skip.max(0));
        let rows = keyed_rows(conn, src, &sql, &binds).await?;
        if rows.is_empty() && skip > 0 {
            // The whole branch was skipped: how many rows that was.
            let sql = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {}{} LIMIT ${limit_at}) AS passed",
                src.from,
                where_sql(&filter)
            );
            binds[limit_at - 1] = KeyPart::Int(skip);
            let passed: i64 = run!(
                conn,
                bind_all(sqlx::query(&sql), &binds[..limit_at]),
                fetch_one,
                |row| row.try_get(0)
            )?;
            skip -= passed;
        } else {
            skip = 0;
            out.extend(rows);
        }
    }
    Ok(out)
}

/// At most `limit` rows once `skip` rows from the top are passed (LIMIT and OFFSET bound, so
/// one prepared statement serves every skip).
async fn rows_from_top(
    conn: &mut Conn,
    src: &Source<'_>,
    skip: i64,
    limit: i64,
) -> anyhow::Result<Vec<(i64, PageKey)>> {
    let mut binds = src.binds.clone();
    binds.extend([KeyPart::Int(limit), KeyPart::Int(skip.max(0))]);
    let sql = keys_sql(
        src,
        &src.filter,
        &order_by(src.order, false),
        &format!("LIMIT ${} OFFSET ${}", binds.len() - 1, binds.len()),
    );
    keyed_rows(conn, src, &sql, &binds).await
}

/// The rows of a page's statement: (row id, key).
async fn keyed_rows(
    conn: &mut Conn,
    src: &Source<'_>,
    sql: &str,
    binds: &[KeyPart],
) -> anyhow::Result<Vec<(i64, PageKey)>> {
    Ok(run!(
        conn,
        bind_all(sqlx::query(sql), binds),
        fetch_all,
        |rows| read_keyed(&rows, src)
    )?)
}

/// Row id and key of each row, in the engine's row type.
fn read_keyed<R: Row>(rows: &[R], src: &Source<'_>) -> Result<Vec<(i64, PageKey)>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> StoredDay: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get(0)?;
        let mut key = Vec::with_capacity(src.order.len());
        for (i, c) in src.order.iter().enumerate() {
            key.push(match c.kind {
                _ if c.day => {
                    let day: chrono::NaiveDate = row.try_get::<StoredDay, _>(i + 1)?.into();
                    KeyPart::Text(day.format("%Y-%m-%d").to_string())
                }
                'i' => KeyPart::Int(row.try_get(i + 1)?),
                'r' => KeyPart::Real(row.try_get(i + 1)?),
                _ => KeyPart::Text(row.try_get(i + 1)?),
            });
        }
        out.push((id, PageKey(key)));
    }
    Ok(out)
}

/// One page of at most `limit` rows from `seek`.
pub async fn page(
    conn: &mut Conn,
    src: &Source<'_>,
    seek: &Seek,
    limit: i64,
) -> anyhow::Result<Keyed> {
    anyhow::ensure!(
        match seek {
            Seek::After(k) | Seek::Before(k) => k.0.len() == src.order.len(),
            _ => true,
        },
        "page key does not fit the order"
    );
    let (sql, binds) = page_sql(src, seek, limit);
    let mut out = keyed_rows(conn, src, &sql, &binds).await?;
    let more = out.len() as i64 > limit;
    out.truncate(limit.max(0) as usize);
    let mut keyed = Keyed::default();
    match seek {
        Seek::Before(_) => {
            out.reverse();
            keyed.more_before = more;
            keyed.more_after = true;
        }
        Seek::After(_) => {
            keyed.more_after = more;
            keyed.more_before = true;
        }
        Seek::Skip(n) => {
            keyed.more_after = more;
            keyed.more_before = *n > 0;
        }
        Seek::First => keyed.more_after = more,
    }
    keyed.rows = out;
    Ok(keyed)
}

/// Rows between two landmarks unless set otherwise ([`Landmarks::set_every`]).
pub const LANDMARK_ROWS: i64 = 500;

/// Lists remembered at once; one more forgets them all.
const LANDMARK_LISTS: usize = 64;

/// Keys of every [`LANDMARK_ROWS`]-th row of the lists a typed `page:N` went deep into, so the
/// next such page starts from the landmark before row N and skips fewer than that many rows,
/// instead of skipping N rows of the index (`OFFSET`, which SQLite walks row by row).
///
/// A list's landmarks are taken and read at one value of its change counter (migration 0014:
/// rows added, removed or moved in any order of the list's table), inside one read
/// transaction, so they are never used after a change could have moved a row past one.
#[derive(Debug)]
pub struct Landmarks {
    every: std::sync::atomic::AtomicI64,
    /// By source ([`Source::identity`]): (change counter, keys of rows every·k − 1, k ≥ 1).
    lists: std::sync::Mutex<std::collections::HashMap<String, (i64, Vec<PageKey>)>>,
}

impl Default for Landmarks {
    fn default() -> Self {
        Self {
            every: std::sync::atomic::AtomicI64::new(LANDMARK_ROWS),
            lists: Default::default(),
        }
    }
}

impl Landmarks {
    /// Rows between two landmarks.
    pub fn every(&self) -> i64 {
        self.every.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the rows between two landmarks (tests use a few) and forgets those taken.
    pub fn set_every(&self, rows: i64) {
        self.every
            .store(rows.max(1), std::sync::atomic::Ordering::Relaxed);
        self.lists.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The landmarks of `list` taken at change counter `version` (none if it changed since).
    fn get(&self, list: &str, version: i64) -> Vec<PageKey> {
        let lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        match lists.get(list) {
            Some((v, keys)) if *v == version => keys.clone(),
            _ => Vec::new(),
        }
    }

    fn put(&self, list: String, version: i64, keys: Vec<PageKey>) {
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        if lists.len() >= LANDMARK_LISTS && !lists.contains_key(&list) {
            lists.clear();
        }
        match lists.get(&list) {
            // Another request took more of them at the same counter: keep those.
            Some((v, known)) if *v == version && known.len() >= keys.len() => {}
            _ => {
                lists.insert(list, (version, keys));
            }
        }
    }
}

impl Source<'_> {
    /// What tells two sources' lists apart: table, filter, values and order.
    fn identity(&self) -> String {
        format!(
            "{}|{}|{:?}|{}",
            self.from,
            self.filter.join(" AND "),
            self.binds,
            order_by(self.order, false)
        )
    }
}

/// [`page`], a typed page (`Seek::Skip`) started from the list's landmarks ([`skip_page`]);
/// `changes_sql` reads the list's change counter (migration 0014).
pub async fn page_from_landmarks(
    conn: &mut Conn,
    marks: &Landmarks,
    src: &Source<'_>,
    changes_sql: &str,
    seek: &Seek,
    limit: i64,
) -> anyhow::Result<Keyed> {
    match seek {
        Seek::Skip(n) => skip_page(conn, marks, src, changes_sql, *n, limit).await,
        _ => page(conn, src, seek, limit).await,
    }
}

/// The page `skip` rows from the top (`page:N` typed), started from the nearest landmark
/// before it ([`Landmarks`]). The landmarks missing up to there are taken on the way, each a
/// seek from the one before.
async fn skip_page(
    conn: &mut Conn,
    marks: &Landmarks,
    src: &Source<'_>,
    changes_sql: &str,
    skip: i64,
    limit: i64,
) -> anyhow::Result<Keyed> {
    let every = marks.every();
    let keyed = |mut rows: Vec<(i64, PageKey)>| {
        let more_after = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        Keyed {
            rows,
            more_after,
            more_before: skip > 0,
        }
    };
    if skip < every {
        return Ok(keyed(rows_from_top(conn, src, skip, limit + 1).await?));
    }
    // One snapshot for the counter, the landmarks and the page.
    let mut tx = super::begin_on(conn, super::Begin::Snapshot).await?;
    let version: i64 = run!(tx, sqlx::query_scalar(changes_sql), fetch_one)?;
    let list = src.identity();
    let mut keys = marks.get(&list, version);
    let wanted = skip / every;
    let known = keys.len();
    while (keys.len() as i64) < wanted {
        // Landmark k is row every·k − 1: every − 1 rows past the one before (or the top).
        let next = match keys.last() {
            Some(k) => rows_after(&mut tx, src, k, every - 1, 1).await?,
            None => rows_from_top(&mut tx, src, every - 1, 1).await?,
        };
        match next.into_iter().next() {
            Some((_, key)) => keys.push(key),
            None => break,
        }
    }
    let near = (keys.len() as i64).min(wanted);
    let rows = match near {
        0 => rows_from_top(&mut tx, src, skip, limit + 1).await?,
        k => {
            rows_after(
                &mut tx,
                src,
                &keys[k as usize - 1],
                skip - k * every,
                limit + 1,
            )
            .await?
        }
    };
    tx.commit().await?;
    if keys.len() > known {
        marks.put(list, version, keys);
    }
    Ok(keyed(rows))
}

/// Rows matching the source's filter.
pub async fn count(conn: &mut Conn, src: &Source<'_>) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {}{}",
        src.from,
        where_sql(&src.filter)
    );
    Ok(run!(
        conn,
        bind_all(sqlx::query(&sql), &src.binds),
        fetch_one,
        |row| row.try_get(0)
    )?)
}

/// `EXPLAIN QUERY PLAN` of a page (its detail lines), to check that an order reads an index.
pub async fn explain(
    conn: &mut Conn,
    src: &Source<'_>,
    seek: &Seek,
) -> anyhow::Result<Vec<String>> {
    let (sql, binds) = page_sql(src, seek, 10);
    let Engine::Sqlite(conn) = conn.engine() else {
        anyhow::bail!("EXPLAIN QUERY PLAN is SQLite's");
    };
    let rows = bind_all(sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}")), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(3)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_key_is_one_index_seek_per_key_column() {
        let order = [
            desc("b.sort_key", 'r'),
            asc("b.ordered_epoch", 'i'),
            asc("b.id", 'i'),
        ];
        let src = Source {
            from: "backorders b",
            id: "b.id",
            filter: vec!["b.status = $1".into()],
            binds: vec![KeyPart::Text("open".into())],
            order: &order,
        };
        let key = PageKey(vec![KeyPart::Real(-5.0), KeyPart::Int(7), KeyPart::Int(9)]);
        let (sql, binds) = page_sql(&src, &Seek::After(key.clone()), 10);
        assert_eq!(binds.len(), 4);
        let select = "SELECT * FROM (SELECT b.id AS row_id, b.sort_key AS k0, b.ordered_epoch AS k1, b.id AS k2 FROM backorders b WHERE b.status = $1";
        assert_eq!(
            sql,
            format!(
                "{select} AND b.sort_key = $2 AND b.ordered_epoch = $3 AND b.id > $4 ORDER BY b.id LIMIT 11) AS branch2 \
                 UNION ALL {select} AND b.sort_key = $2 AND b.ordered_epoch > $3 ORDER BY b.ordered_epoch, b.id LIMIT 11) AS branch1 \
                 UNION ALL {select} AND b.sort_key < $2 ORDER BY b.sort_key DESC, b.ordered_epoch, b.id LIMIT 11) AS branch0 \
                 ORDER BY k0 DESC, k1, k2 LIMIT 11"
            )
        );
        let (before, _) = page_sql(&src, &Seek::Before(key), 10);
        assert!(
            before.contains(
                "AND b.sort_key > $2 ORDER BY b.sort_key, b.ordered_epoch DESC, b.id DESC"
            ),
            "{before}"
        );
        assert!(
            before.ends_with("ORDER BY k0, k1 DESC, k2 DESC LIMIT 11"),
            "{before}"
        );
        assert_eq!(
            order_by(&order, true),
            "b.sort_key, b.ordered_epoch DESC, b.id DESC"
        );
    }
}
