//! Keyset paging over one table: a page is the rows after (or before) the key of a row already
//! shown, read from an index in the list's order, so a deep page costs what page 1 costs.
//!
//! A list's order is its key columns ([`KeyColumn`]); the last one is unique (an id or PO
//! number). "After key k" is one index seek per key column ([`page_sql`]), in portable SQL
//! (row-value comparisons cannot mix directions).

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
pub(super) fn bind_all<'q>(
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
            return (
                format!(
                    "SELECT {}, {} FROM {}{} ORDER BY {} LIMIT {}{offset}",
                    src.id,
                    keys.join(", "),
                    src.from,
                    where_sql(&src.filter),
                    order_by(src.order, false),
                    limit + 1
                ),
                binds,
            );
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
            let mut filter = src.filter.clone();
            for (j, c) in src.order[..i].iter().enumerate() {
                filter.push(format!("{} = ${}", c.expr, base + 1 + j));
            }
            let c = &src.order[i];
            let op = if c.desc != reverse { "<" } else { ">" };
            filter.push(format!("{} {op} ${}", c.expr, base + 1 + i));
            format!(
                "SELECT * FROM (SELECT {} FROM {}{} ORDER BY {} LIMIT {})",
                columns.join(", "),
                src.from,
                where_sql(&filter),
                // The columns held equal are left out: with them, SQLite does not see that
                // the index already gives this order and sorts every matching row.
                order_by(&src.order[i..], reverse),
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
                "{select} AND b.sort_key = $2 AND b.ordered_epoch = $3 AND b.id > $4 ORDER BY b.id LIMIT 11) \
                 UNION ALL {select} AND b.sort_key = $2 AND b.ordered_epoch > $3 ORDER BY b.ordered_epoch, b.id LIMIT 11) \
                 UNION ALL {select} AND b.sort_key < $2 ORDER BY b.sort_key DESC, b.ordered_epoch, b.id LIMIT 11) \
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
