//! Keyset paging over one table: a page is the rows after (or before) the key of a row already
//! shown, read from an index in the list's order, so a deep page costs what page 1 costs.
//!
//! A list's order is its key columns ([`KeyColumn`]); the last one is unique (an id or PO
//! number). "After key k" is written as `c1 >= k1 AND (c1 > k1 OR (c1 = k1 AND (c2 > k2 OR …)))`
//! (with `<` for descending columns): the leading range on the first column is what lets the
//! database seek in the index (portable SQL; row-value comparisons cannot mix directions).

use super::Conn;
use crate::domain::page::{KeyPart, PageKey, Seek};
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
}

/// Ascending key column of kind `kind`.
pub const fn asc(expr: &'static str, kind: char) -> KeyColumn {
    KeyColumn {
        expr,
        desc: false,
        kind,
    }
}

/// Descending key column of kind `kind`.
pub const fn desc(expr: &'static str, kind: char) -> KeyColumn {
    KeyColumn {
        expr,
        desc: true,
        kind,
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
}

/// `after` (or before, with `!after`) the key `$n…`: see the module comment.
fn seek_condition(order: &[KeyColumn], after: bool, first: usize) -> String {
    let op = |c: &KeyColumn| if c.desc == after { "<" } else { ">" };
    let p = |i: usize| format!("${}", first + i);
    let mut nested = String::new();
    for (i, c) in order.iter().enumerate().rev() {
        nested = if nested.is_empty() {
            format!("{} {} {}", c.expr, op(c), p(i))
        } else {
            format!(
                "{e} {o} {v} OR ({e} = {v} AND ({nested}))",
                e = c.expr,
                o = op(c),
                v = p(i)
            )
        };
    }
    let c = &order[0];
    format!("{} {}= {} AND ({nested})", c.expr, op(c), p(0))
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

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    parts: &'q [KeyPart],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
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
pub fn page_sql(src: &Source<'_>, seek: &Seek, limit: i64) -> (String, Vec<KeyPart>) {
    let mut filter = src.filter.clone();
    let mut binds = src.binds.clone();
    let reverse = matches!(seek, Seek::Before(_));
    match seek {
        Seek::After(k) | Seek::Before(k) => {
            filter.push(format!(
                "({})",
                seek_condition(src.order, !reverse, binds.len() + 1)
            ));
            binds.extend(k.0.iter().cloned());
        }
        Seek::First | Seek::Skip(_) => {}
    }
    let keys: Vec<&str> = src.order.iter().map(|c| c.expr).collect();
    let offset = match seek {
        Seek::Skip(n) => format!(" OFFSET {}", n.max(&0)),
        _ => String::new(),
    };
    (
        format!(
            "SELECT {}, {} FROM {}{} ORDER BY {} LIMIT {}{offset}",
            src.id,
            keys.join(", "),
            src.from,
            where_sql(&filter),
            order_by(src.order, reverse),
            limit + 1
        ),
        binds,
    )
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
    let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get(0)?;
        let mut key = Vec::with_capacity(src.order.len());
        for (i, c) in src.order.iter().enumerate() {
            key.push(match c.kind {
                'i' => KeyPart::Int(row.try_get(i + 1)?),
                'r' => KeyPart::Real(row.try_get(i + 1)?),
                _ => KeyPart::Text(row.try_get(i + 1)?),
            });
        }
        out.push((id, PageKey(key)));
    }
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

/// Rows matching the source's filter.
pub async fn count(conn: &mut Conn, src: &Source<'_>) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {}{}",
        src.from,
        where_sql(&src.filter)
    );
    let row = bind_all(sqlx::query(&sql), &src.binds)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get(0)?)
}

/// `EXPLAIN QUERY PLAN` of a page (its detail lines), to check that an order reads an index.
pub async fn explain(
    conn: &mut Conn,
    src: &Source<'_>,
    seek: &Seek,
) -> anyhow::Result<Vec<String>> {
    let (sql, binds) = page_sql(src, seek, 10);
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
    fn after_a_key_leads_with_a_range_on_the_first_column() {
        let order = [
            desc("b.sort_key", 'r'),
            asc("b.ordered_epoch", 'i'),
            asc("b.id", 'i'),
        ];
        assert_eq!(
            seek_condition(&order, true, 3),
            "b.sort_key <= $3 AND (b.sort_key < $3 OR (b.sort_key = $3 AND (b.ordered_epoch > $4 OR (b.ordered_epoch = $4 AND (b.id > $5)))))"
        );
        assert_eq!(
            seek_condition(&order[1..], false, 1),
            "b.ordered_epoch <= $1 AND (b.ordered_epoch < $1 OR (b.ordered_epoch = $1 AND (b.id < $2)))"
        );
        assert_eq!(
            order_by(&order, true),
            "b.sort_key, b.ordered_epoch DESC, b.id DESC"
        );
    }
}
