//! `backorder-bot copy-to postgres://…`: a SQLite database copied into an empty PostgreSQL one.
//!
//! One PostgreSQL transaction: migrate, check that the target is empty, load every table with
//! `COPY … FROM STDIN` in foreign-key order (the aggregate triggers off, since the aggregate
//! tables are copied as they are), move each identity past the largest id copied, compare the
//! row counts per table with the source's, commit. The source is read in one SQLite read
//! transaction, so the copy is of one moment even while the service writes. Values are converted
//! by the target column's type: RFC 3339 text to `timestamptz`, `YYYY-MM-DD` to `date`, 0/1 to
//! `boolean`; a value that does not convert stops the copy naming its table, row and column.

use super::postgres;
use crate::config::PostgresUrl;
use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Connection, Row, SqliteConnection, TypeInfo, ValueRef};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Ordinary SQLite tables with no PostgreSQL counterpart, and why.
pub const SQLITE_ONLY_TABLES: &[(&str, &str)] = &[(
    "search_sync",
    "defers FTS5 indexing during imports; pg_trgm indexes need no deferral",
)];

/// Tables the PostgreSQL migrations fill with a default row, which the copy replaces with the
/// source's rows (an otherwise empty target still holds them).
const SEEDED_BY_MIGRATIONS: &[&str] = &["priority_weights"];

/// Bytes of COPY data sent at a time.
const CHUNK: usize = 1 << 20;

/// Rows copied into one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: String,
    pub rows: u64,
}

/// Copies the SQLite database of `source` into the empty PostgreSQL database at `target`.
#[tracing::instrument(skip_all, err)]
pub async fn copy_to(
    source: &mut SqliteConnection,
    target: &PostgresUrl,
) -> anyhow::Result<Vec<Copied>> {
    let pool = postgres::connect(target, 1).await?;
    postgres::migrate(&pool).await?;
    let mut pg = pool.acquire().await?;
    let mut tx = pg.begin().await?;
    let mut read = source.begin().await?;
    let copied = copy_tables(&mut read, &mut tx).await?;
    read.commit().await?;
    tx.commit()
        .await
        .with_context(|| format!("cannot commit the copy into {target}"))?;
    drop(pg);
    pool.close().await;
    Ok(copied)
}

async fn copy_tables(
    source: &mut SqliteConnection,
    pg: &mut PgConnection,
) -> anyhow::Result<Vec<Copied>> {
    let targets = postgres::tables(&mut *pg).await?;
    let sources = sqlite_tables(&mut *source).await?;
    for t in &sources {
        if !targets.contains(t) {
            bail!("SQLite table {t} has no PostgreSQL counterpart: the two schemas differ (migrations/postgres/)");
        }
    }
    for t in &targets {
        if !sources.contains(t) {
            bail!("PostgreSQL table {t} has no SQLite counterpart: the two schemas differ (migrations/postgres/)");
        }
        let any: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM \"{t}\")"))
            .fetch_one(&mut *pg)
            .await?;
        if any && !SEEDED_BY_MIGRATIONS.contains(&t.as_str()) {
            bail!("the PostgreSQL database is not empty: table {t} has rows; copy-to fills an empty database only");
        }
    }
    for t in SEEDED_BY_MIGRATIONS {
        sqlx::query(&format!("DELETE FROM \"{t}\""))
            .execute(&mut *pg)
            .await?;
    }
    let order = foreign_key_order(&mut *pg, &targets).await?;
    for t in &order {
        // The aggregates are copied as they are: their triggers would count every row twice.
        // (`USER`: foreign-key checks stay on.)
        sqlx::query(&format!("ALTER TABLE \"{t}\" DISABLE TRIGGER USER"))
            .execute(&mut *pg)
            .await?;
    }
    let mut copied = Vec::new();
    for t in &order {
        let rows = copy_table(&mut *source, &mut *pg, t).await?;
        copied.push(Copied {
            table: t.clone(),
            rows,
        });
    }
    for t in &order {
        sqlx::query(&format!("ALTER TABLE \"{t}\" ENABLE TRIGGER USER"))
            .execute(&mut *pg)
            .await?;
    }
    reset_identities(&mut *pg).await?;
    for c in &copied {
        let source_rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{}\"", c.table))
            .fetch_one(&mut *source)
            .await?;
        let target_rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{}\"", c.table))
            .fetch_one(&mut *pg)
            .await?;
        if source_rows != target_rows || target_rows as u64 != c.rows {
            bail!(
                "table {}: SQLite has {source_rows} rows, PostgreSQL {target_rows} after copying {}; nothing was committed",
                c.table,
                c.rows
            );
        }
    }
    copied.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(copied)
}

/// The ordinary SQLite tables that have a PostgreSQL counterpart.
pub async fn sqlite_tables(conn: &mut SqliteConnection) -> anyhow::Result<Vec<String>> {
    let all: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
    )
    .fetch_all(conn)
    .await?;
    Ok(all
        .into_iter()
        .filter(|t| !SQLITE_ONLY_TABLES.iter().any(|(only, _)| only == t))
        .collect())
}

/// Tables ordered so that each comes after the tables its foreign keys point to.
async fn foreign_key_order(
    pg: &mut PgConnection,
    tables: &[String],
) -> anyhow::Result<Vec<String>> {
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace",
    )
    .fetch_all(pg)
    .await?;
    let mut needs: BTreeMap<&str, BTreeSet<&str>> = tables
        .iter()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for (from, to) in &edges {
        if from != to {
            if let Some(n) = needs.get_mut(from.as_str()) {
                n.insert(to.as_str());
            }
        }
    }
    let mut order: Vec<String> = Vec::new();
    while !needs.is_empty() {
        let ready: Vec<&str> = needs
            .iter()
            .filter(|(_, n)| n.iter().all(|d| order.iter().any(|o| o == d)))
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            bail!(
                "the PostgreSQL foreign keys form a cycle among {:?}",
                needs.keys()
            );
        }
        for t in ready {
            needs.remove(t);
            order.push(t.to_string());
        }
    }
    Ok(order)
}

/// A target column: its name and how a SQLite value becomes COPY text for it.
struct Target {
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Integer,
    Boolean,
    Float,
    Timestamp,
    Date,
    Text,
    Bytes,
}

async fn copy_table(
    source: &mut SqliteConnection,
    pg: &mut PgConnection,
    table: &str,
) -> anyhow::Result<u64> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *pg)
    .await?;
    let targets = columns
        .into_iter()
        .map(|(name, data_type)| {
            let kind = match data_type.as_str() {
                "bigint" | "integer" | "smallint" => Kind::Integer,
                "boolean" => Kind::Boolean,
                "double precision" | "real" => Kind::Float,
                "timestamp with time zone" => Kind::Timestamp,
                "date" => Kind::Date,
                "text" | "USER-DEFINED" => Kind::Text,
                "bytea" => Kind::Bytes,
                other => bail!("table {table}, column {name}: copy-to does not convert to {other}"),
            };
            Ok(Target { name, kind })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let key = postgres::primary_key(&mut *pg, table).await?;
    let list = targets
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let order = key
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("SELECT {list} FROM \"{table}\" ORDER BY {order}");
    let mut copy = pg
        .copy_in_raw(&format!("COPY \"{table}\" ({list}) FROM STDIN"))
        .await
        .with_context(|| format!("cannot start copying table {table}"))?;
    let mut buffer = String::with_capacity(CHUNK + 4096);
    let mut n: u64 = 0;
    let mut rows = sqlx::query(&select).fetch(&mut *source);
    loop {
        let row = match rows.try_next().await {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                drop(rows);
                let _ = copy.abort("source read failed").await;
                return Err(e).with_context(|| format!("cannot read table {table} from SQLite"));
            }
        };
        n += 1;
        if let Err(e) = copy_row(&row, &targets, &mut buffer) {
            drop(rows);
            let _ = copy.abort("a value did not convert").await;
            bail!(
                "table {table}, row {n} ({}): {e:#}",
                describe_key(&row, &key)
            );
        }
        if buffer.len() >= CHUNK {
            if let Err(e) = copy.send(buffer.as_bytes()).await {
                drop(rows);
                return Err(copy_error(table, e));
            }
            buffer.clear();
        }
    }
    drop(rows);
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes())
            .await
            .map_err(|e| copy_error(table, e))?;
    }
    let loaded = copy.finish().await.map_err(|e| copy_error(table, e))?;
    if loaded != n {
        bail!("table {table}: read {n} rows from SQLite but PostgreSQL loaded {loaded}");
    }
    Ok(n)
}

/// A COPY error, with the line (= the row, in key order) PostgreSQL names.
fn copy_error(table: &str, e: sqlx::Error) -> anyhow::Error {
    let at = e
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        .and_then(|d| d.r#where())
        .map(|w| {
            format!(
                " (at {}, a line being a row in key order)",
                w.replace('\n', "; ")
            )
        })
        .unwrap_or_default();
    anyhow::anyhow!("table {table}: PostgreSQL refused the copy{at}: {e}")
}

/// `id = 7`, `product_id = 3, day = 2026-01-05`: which row, by its key.
fn describe_key(row: &SqliteRow, key: &[String]) -> String {
    key.iter()
        .map(|k| {
            let value = match read(row, k) {
                Ok(Value::Int(i)) => i.to_string(),
                Ok(Value::Text(s)) => format!("{s:?}"),
                _ => "?".to_string(),
            };
            format!("{k} = {value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

fn read(row: &SqliteRow, column: &str) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(column)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    Ok(match raw.type_info().name() {
        "INTEGER" => Value::Int(row.try_get(column)?),
        "REAL" => Value::Real(row.try_get(column)?),
        "BLOB" => Value::Blob(row.try_get(column)?),
        _ => Value::Text(row.try_get(column)?),
    })
}

/// Appends one row in COPY's text format.
fn copy_row(row: &SqliteRow, targets: &[Target], out: &mut String) -> anyhow::Result<()> {
    for (i, (target, column)) in targets.iter().zip(row.columns()).enumerate() {
        if i > 0 {
            out.push('\t');
        }
        let value = read(row, column.name())
            .with_context(|| format!("column {}: cannot read", target.name))?;
        convert(value, target.kind, out).with_context(|| format!("column {}", target.name))?;
    }
    out.push('\n');
    Ok(())
}

fn convert(value: Value, kind: Kind, out: &mut String) -> anyhow::Result<()> {
    match (kind, value) {
        (_, Value::Null) => out.push_str("\\N"),
        (Kind::Integer, Value::Int(i)) => write!(out, "{i}")?,
        (Kind::Boolean, Value::Int(0)) => out.push('f'),
        (Kind::Boolean, Value::Int(1)) => out.push('t'),
        (Kind::Float, Value::Int(i)) => write!(out, "{i}")?,
        (Kind::Float, Value::Real(f)) if f.is_nan() => out.push_str("NaN"),
        (Kind::Float, Value::Real(f)) if f.is_infinite() => {
            out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        (Kind::Float, Value::Real(f)) => write!(out, "{f}")?,
        (Kind::Timestamp, Value::Text(s)) => {
            let at = timestamp(&s).with_context(|| format!("{s:?} is not an RFC 3339 UTC time"))?;
            out.push_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
        (Kind::Date, Value::Text(s)) => {
            let day = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .with_context(|| format!("{s:?} is not a YYYY-MM-DD date"))?;
            write!(out, "{day}")?;
        }
        (Kind::Text, Value::Text(s)) => escape(&s, out)?,
        (Kind::Text, Value::Int(i)) => write!(out, "{i}")?,
        (Kind::Text, Value::Real(f)) => write!(out, "{f}")?,
        (Kind::Bytes, Value::Blob(b)) => hex(&b, out),
        (Kind::Bytes, Value::Text(s)) => hex(s.as_bytes(), out),
        (kind, value) => bail!(
            "holds {} where PostgreSQL wants {}",
            match value {
                Value::Null => "NULL",
                Value::Int(_) => "an integer",
                Value::Real(_) => "a real number",
                Value::Text(_) => "text",
                Value::Blob(_) => "a blob",
            },
            match kind {
                Kind::Integer => "an integer",
                Kind::Boolean => "0 or 1 (a boolean)",
                Kind::Float => "a number",
                Kind::Timestamp => "a timestamp",
                Kind::Date => "a date",
                Kind::Text => "text",
                Kind::Bytes => "bytes",
            }
        ),
    }
    Ok(())
}

/// RFC 3339 as the store writes it; `YYYY-MM-DD HH:MM:SS` (SQLite's own `datetime()`) as UTC.
fn timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// COPY text format: backslash, tab, newline and carriage return escaped; NUL is not text.
pub(super) fn escape(s: &str, out: &mut String) -> anyhow::Result<()> {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => bail!("holds a NUL character, which PostgreSQL text cannot"),
            c => out.push(c),
        }
    }
    Ok(())
}

/// bytea's hex input, its backslash escaped for COPY.
fn hex(bytes: &[u8], out: &mut String) {
    out.push_str("\\\\x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// Moves each identity past the largest id copied, so the next insert does not collide.
async fn reset_identities(pg: &mut PgConnection) -> anyhow::Result<()> {
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND is_identity = 'YES'",
    )
    .fetch_all(&mut *pg)
    .await?;
    for (table, column) in identities {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),
                 COALESCE(MAX(\"{column}\"), 0) + 1, false) FROM \"{table}\""
        ))
        .execute(&mut *pg)
        .await
        .with_context(|| format!("cannot move the identity of {table}.{column}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(value: Value, kind: Kind) -> anyhow::Result<String> {
        let mut out = String::new();
        convert(value, kind, &mut out).map(|()| out)
    }

    #[test]
    fn outside_text_is_escaped_for_copy() {
        let s = "Zoë \"quoted\"\tand\\back\r\nnew line ☃";
        assert_eq!(
            converted(Value::Text(s.into()), Kind::Text).unwrap(),
            "Zoë \"quoted\"\\tand\\\\back\\r\\nnew line ☃"
        );
        assert!(converted(Value::Text("a\0b".into()), Kind::Text).is_err());
    }

    #[test]
    fn values_convert_by_the_target_type() {
        assert_eq!(
            converted(Value::Text("2026-03-01T10:00:00Z".into()), Kind::Timestamp).unwrap(),
            "2026-03-01T10:00:00Z"
        );
        assert_eq!(
            converted(Value::Text("2026-03-01 10:00:00".into()), Kind::Timestamp).unwrap(),
            "2026-03-01T10:00:00Z"
        );
        assert_eq!(
            converted(Value::Text("2026-03-01".into()), Kind::Date).unwrap(),
            "2026-03-01"
        );
        assert_eq!(converted(Value::Int(1), Kind::Boolean).unwrap(), "t");
        assert_eq!(converted(Value::Null, Kind::Date).unwrap(), "\\N");
        assert_eq!(converted(Value::Real(0.1), Kind::Float).unwrap(), "0.1");
        assert_eq!(
            converted(Value::Blob(vec![0, 255]), Kind::Bytes).unwrap(),
            "\\\\x00ff"
        );
        let e = converted(Value::Text("next week".into()), Kind::Date).unwrap_err();
        assert!(
            format!("{e:#}").contains("\"next week\" is not a YYYY-MM-DD date"),
            "{e:#}"
        );
        assert!(converted(Value::Int(2), Kind::Boolean).is_err());
        assert!(converted(Value::Text("7".into()), Kind::Integer).is_err());
    }
}
