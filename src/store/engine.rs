//! The two engines behind one store API: a [`Conn`] is a connection to SQLite or to PostgreSQL,
//! and [`run!`] runs one statement, written once, on whichever it is.
//!
//! Store functions take `&mut Conn` as before. A statement whose SQL the two dialects agree on
//! (most: `$n` parameters, `ON CONFLICT`, `RETURNING`) is written once:
//!
//! ```ignore
//! let n: i64 = run!(conn, sqlx::query_scalar("SELECT COUNT(*) FROM products"), fetch_one)?;
//! ```
//!
//! The query expression is expanded once per engine, so its binds and its row type must be
//! encodable and decodable on both (the store's types in [`super::types`] are). Where the
//! dialects differ, the function matches on [`Conn::engine`] in the one place that concern
//! lives (docs/postgresql.md lists them).

use sqlx::pool::PoolConnection;
use sqlx::{Database, PgConnection, Postgres, Sqlite, SqliteConnection, TransactionManager};

/// A connection to either engine; use `&mut Conn` wherever the store wants a connection.
#[derive(Debug)]
pub enum Conn {
    /// From the store's SQLite pool.
    Sqlite(PoolConnection<Sqlite>),
    /// A SQLite connection of its own (the readers' pool, a test's in-memory database).
    SqliteOwned(SqliteConnection),
    /// From the store's PostgreSQL pool.
    Postgres(PoolConnection<Postgres>),
}

/// The engine a [`Conn`] is on, with its connection.
pub enum Engine<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Conn {
    /// The connection, by engine.
    pub fn engine(&mut self) -> Engine<'_> {
        match self {
            Conn::Sqlite(c) => Engine::Sqlite(c),
            Conn::SqliteOwned(c) => Engine::Sqlite(c),
            Conn::Postgres(c) => Engine::Postgres(c),
        }
    }

    /// The SQLite connection, for tests and tools that run SQLite's own statements.
    ///
    /// # Panics
    /// On PostgreSQL.
    pub fn as_sqlite(&mut self) -> &mut SqliteConnection {
        match self.engine() {
            Engine::Sqlite(c) => c,
            Engine::Postgres(_) => panic!("as_sqlite on a PostgreSQL connection"),
        }
    }

    /// Whether this is a PostgreSQL connection.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    /// Whether a transaction is open on it.
    pub fn is_in_transaction(&self) -> bool {
        match self {
            Conn::Sqlite(c) => depth::<Sqlite>(c) > 0,
            Conn::SqliteOwned(c) => depth::<Sqlite>(c) > 0,
            Conn::Postgres(c) => depth::<Postgres>(c) > 0,
        }
    }
}

fn depth<DB: Database>(c: &DB::Connection) -> usize {
    <DB::TransactionManager as TransactionManager>::get_transaction_depth(c)
}

impl From<SqliteConnection> for Conn {
    fn from(c: SqliteConnection) -> Self {
        Conn::SqliteOwned(c)
    }
}

/// Runs one statement on `conn` (a `&mut Conn`, or anything that derefs to one), whichever
/// engine it is on. `execute` gives the number of rows affected; `fetch_one`, `fetch_optional`
/// and `fetch_all` give what sqlx's do. Evaluates to a `Result<_, sqlx::Error>` (awaited).
/// A fourth argument `|rows| expr` (a `Result<_, sqlx::Error>`) reads untyped rows in the
/// engine's own row type, e.g. `|row| row.try_get::<i64, _>(0)`.
macro_rules! run {
    ($conn:expr, $query:expr, execute) => {
        match $crate::store::Conn::engine(&mut *$conn) {
            $crate::store::Engine::Sqlite(c) => {
                $query.execute(&mut *c).await.map(|r| r.rows_affected())
            }
            $crate::store::Engine::Postgres(c) => {
                $query.execute(&mut *c).await.map(|r| r.rows_affected())
            }
        }
    };
    ($conn:expr, $query:expr, $fetch:ident, |$rows:ident| $map:expr) => {
        match $crate::store::Conn::engine(&mut *$conn) {
            $crate::store::Engine::Sqlite(c) => $query.$fetch(&mut *c).await.and_then(|$rows| $map),
            $crate::store::Engine::Postgres(c) => {
                $query.$fetch(&mut *c).await.and_then(|$rows| $map)
            }
        }
    };
    ($conn:expr, $query:expr, $fetch:ident) => {
        match $crate::store::Conn::engine(&mut *$conn) {
            $crate::store::Engine::Sqlite(c) => $query.$fetch(&mut *c).await,
            $crate::store::Engine::Postgres(c) => $query.$fetch(&mut *c).await,
        }
    };
}
pub(crate) use run;

/// SQL that differs between the engines, chosen by the connection: `dialect!(conn, sqlite:
/// "…", postgres: "…")`. For a fragment that is spelled two ways inside a statement otherwise
/// shared.
#[allow(unused_macros)]
macro_rules! dialect {
    ($conn:expr, sqlite: $sqlite:expr, postgres: $postgres:expr $(,)?) => {
        if $crate::store::Conn::is_postgres(&*$conn) {
            $postgres
        } else {
            $sqlite
        }
    };
}
#[allow(unused_imports)]
pub(crate) use dialect;

/// Rows of `table` bound as `$n`, one JSON array of objects keyed by column name (timestamps
/// and dates as [`super::ts`] and [`super::day`] write them), as a FROM item whose `columns` read by name with
/// the table's types: SQLite reads each with `->>` from `json_each`, PostgreSQL types them by
/// the table's row type (`jsonb_populate_recordset`). Give it an alias: `FROM {rows} AS r`.
pub fn table_rows(conn: &Conn, n: usize, table: &str, columns: &[&str]) -> String {
    if conn.is_postgres() {
        format!("jsonb_populate_recordset(NULL::{table}, ${n}::jsonb)")
    } else {
        let read: Vec<String> = columns
            .iter()
            .map(|c| format!("value ->> '{c}' AS {c}"))
            .collect();
        format!("(SELECT {} FROM json_each(${n}))", read.join(", "))
    }
}

/// A connection the store hands out ([`super::Store::conn`]); use it wherever a `&mut Conn`
/// is wanted. Dropping it hands the connection back.
#[derive(Debug)]
pub struct Pooled(pub(super) Conn);

impl std::ops::Deref for Pooled {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.0
    }
}

#[derive(Debug)]
enum Held<'c> {
    Owned(Pooled),
    Borrowed(&'c mut Conn),
}

/// A transaction; use it wherever a `&mut Conn` is wanted. Dropping it rolls back. One from
/// [`super::Store::begin_write`] holds the write turn until it ends (on SQLite this process's
/// turn before SQLite's write lock; on PostgreSQL a transaction-scoped advisory lock every
/// replica's writers share, so writes are serialized as SQLite serializes them).
#[derive(Debug)]
pub struct Tx<'c> {
    conn: Held<'c>,
    open: bool,
    /// Held until the transaction ends (declared after it, so dropped after its rollback).
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// How a transaction starts.
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    /// Writes: SQLite `BEGIN IMMEDIATE` (the write lock from the first statement); PostgreSQL
    /// `BEGIN` then the shared writers' advisory lock.
    Write,
    /// Reads that must see one moment: SQLite `BEGIN` (a read snapshot from the first read);
    /// PostgreSQL `REPEATABLE READ READ ONLY`.
    Snapshot,
}

/// The advisory lock key every writer takes on PostgreSQL ("bo-bot" in ASCII, as a number).
pub const WRITER_LOCK: i64 = 0x626f_2d62_6f74;

impl<'c> Tx<'c> {
    async fn start(
        mut conn: Held<'c>,
        begin: Begin,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> anyhow::Result<Tx<'c>> {
        let c: &mut Conn = match &mut conn {
            Held::Owned(p) => p,
            Held::Borrowed(c) => c,
        };
        match (c.engine(), begin) {
            (Engine::Sqlite(c), Begin::Write) => {
                <Sqlite as Database>::TransactionManager::begin(c, Some("BEGIN IMMEDIATE".into()))
                    .await?
            }
            (Engine::Sqlite(c), Begin::Snapshot) => {
                <Sqlite as Database>::TransactionManager::begin(c, None).await?
            }
            (Engine::Postgres(c), Begin::Write) => {
                <Postgres as Database>::TransactionManager::begin(c, None).await?;
                let mut tx = Tx {
                    conn,
                    open: true,
                    _turn: turn,
                };
                if let Engine::Postgres(c) = tx.engine() {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(WRITER_LOCK)
                        .execute(&mut *c)
                        .await?;
                }
                return Ok(tx);
            }
            (Engine::Postgres(c), Begin::Snapshot) => {
                <Postgres as Database>::TransactionManager::begin(
                    c,
                    Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".into()),
                )
                .await?
            }
        }
        Ok(Tx {
            conn,
            open: true,
            _turn: turn,
        })
    }

    pub(super) async fn owned(
        conn: Pooled,
        begin: Begin,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> anyhow::Result<Tx<'static>> {
        Tx::start(Held::Owned(conn), begin, turn).await
    }

    /// Makes the transaction's writes permanent.
    pub async fn commit(mut self) -> anyhow::Result<()> {
        use anyhow::Context;
        match self.engine() {
            Engine::Sqlite(c) => <Sqlite as Database>::TransactionManager::commit(c).await,
            Engine::Postgres(c) => <Postgres as Database>::TransactionManager::commit(c).await,
        }
        .context("cannot commit")?;
        self.open = false;
        Ok(())
    }

    /// Undoes the transaction's writes.
    pub async fn rollback(mut self) -> anyhow::Result<()> {
        use anyhow::Context;
        match self.engine() {
            Engine::Sqlite(c) => <Sqlite as Database>::TransactionManager::rollback(c).await,
            Engine::Postgres(c) => <Postgres as Database>::TransactionManager::rollback(c).await,
        }
        .context("cannot roll back")?;
        self.open = false;
        Ok(())
    }
}

/// Starts a transaction on a connection the caller already holds (one that has staged rows in
/// temporary tables, see [`super::import`], or a reader that wants one snapshot).
pub async fn begin_on(conn: &mut Conn, begin: Begin) -> anyhow::Result<Tx<'_>> {
    Tx::start(Held::Borrowed(conn), begin, None).await
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            match self.engine() {
                Engine::Sqlite(c) => <Sqlite as Database>::TransactionManager::start_rollback(c),
                Engine::Postgres(c) => {
                    <Postgres as Database>::TransactionManager::start_rollback(c)
                }
            }
        }
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match &self.conn {
            Held::Owned(p) => p,
            Held::Borrowed(c) => c,
        }
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        match &mut self.conn {
            Held::Owned(p) => p,
            Held::Borrowed(c) => c,
        }
    }
}

/// SQL for the text of JSON member `key` of the JSON text in `column` (a plain key: letters,
/// digits, `_`): SQLite `json_extract(column, '$.key')`, PostgreSQL `(column::jsonb ->> 'key')`.
pub fn json_member(conn: &Conn, column: &str, key: &str) -> String {
    if conn.is_postgres() {
        format!("({column}::jsonb ->> '{key}')")
    } else {
        format!("json_extract({column}, '$.{key}')")
    }
}

/// The SQL dialect a statement's text is built in: from a connection ([`Dialect::of`]), or
/// named where the text is built once per engine and kept (`alerts::evaluation_sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of `conn`'s engine.
    pub fn of(conn: &Conn) -> Self {
        if conn.is_postgres() {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// SQL for the date `days` (an integer expression) after the time or date `at` (UTC):
    /// SQLite `date(at, '+N days')`, PostgreSQL `date` arithmetic (sessions run in UTC).
    pub fn date_plus_days(self, at: &str, days: &str) -> String {
        match self {
            Dialect::Postgres => format!("(CAST({at} AS date) + CAST({days} AS integer))"),
            Dialect::Sqlite => format!("date({at}, '+' || ({days}) || ' days')"),
        }
    }

    /// SQL for the time `days` (an integer expression) before the time `at`, as the store keeps
    /// times: SQLite RFC 3339 text, PostgreSQL `timestamptz`.
    pub fn time_minus_days(self, at: &str, days: &str) -> String {
        match self {
            Dialect::Postgres => {
                format!("(CAST({at} AS timestamptz) - CAST({days} AS integer) * INTERVAL '1 day')")
            }
            Dialect::Sqlite => {
                format!("strftime('%Y-%m-%dT%H:%M:%SZ', {at}, '-' || ({days}) || ' days')")
            }
        }
    }
}

/// When the open transaction wrote more than `many` rows of `table` (ids above `mark`): on
/// PostgreSQL the planner is told of them (`ANALYZE`, which counts the transaction's own rows),
/// since statistics from before would call them few and pick nested loops that take seconds at
/// 100,000 rows. SQLite's planner needs nothing, so it asks nothing.
pub async fn refresh_planner_statistics(
    conn: &mut Conn,
    table: &str,
    mark: i64,
    many: i64,
) -> anyhow::Result<()> {
    if let Engine::Postgres(c) = conn.engine() {
        let written: i64 = sqlx::query_scalar(&format!(
            "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) - $1 FROM {table}"
        ))
        .bind(mark)
        .fetch_one(&mut *c)
        .await?;
        if written > many {
            sqlx::query(&format!("ANALYZE {table}")).execute(c).await?;
        }
    }
    Ok(())
}

/// After rows went into `table` with explicit ids: on PostgreSQL its identity continues past
/// the largest id (SQLite's INTEGER PRIMARY KEY does so by itself).
pub async fn continue_ids(conn: &mut Conn, table: &str) -> anyhow::Result<()> {
    if let Engine::Postgres(c) = conn.engine() {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                    GREATEST((SELECT MAX(id) FROM {table}), 1))"
        ))
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The SQLite connection under `conn`, for a statement not yet written for PostgreSQL; on
/// PostgreSQL an error naming `what`. (The port's to-do list: `grep -rn sqlite_only src`.)
pub fn sqlite_only<'a>(conn: &'a mut Conn, what: &str) -> anyhow::Result<&'a mut SqliteConnection> {
    match conn.engine() {
        Engine::Sqlite(c) => Ok(c),
        Engine::Postgres(_) => anyhow::bail!("{what} does not run on PostgreSQL yet"),
    }
}
