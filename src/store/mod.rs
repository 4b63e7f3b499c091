//! The only place with SQL: sqlx on SQLite (WAL, foreign keys, busy timeout).
//!
//! Functions are named for what they do and take a `&mut SqliteConnection`, so a use case can run
//! several of them inside one transaction. Reads that a write depends on happen after
//! [`Store::begin_write`] (`BEGIN IMMEDIATE`), so two processes never interleave a read-then-write.

pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod backorders;
pub mod bulk;
pub mod copy_to;
pub mod customers;
pub mod demand;
mod engine;
pub mod figures;
pub mod forecasts;
pub mod idempotency;
pub mod import;
pub mod incentives;
pub mod keyset;
pub mod notify;
pub mod orders;
pub mod outbox;
pub mod page_invocations;
pub mod portal;
pub mod postgres;
pub mod posts;
pub mod products;
pub mod purchasing;
pub mod readers;
pub mod report;
pub mod search;
pub mod stock;
pub mod suppliers;
pub mod types;

use crate::config::DatabaseSettings;
use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};
use std::str::FromStr;

#[allow(unused_imports)]
pub(crate) use engine::dialect;
pub(crate) use engine::run;
pub use engine::{
    begin_on, continue_ids, json_member, refresh_planner_statistics, sqlite_only, table_rows,
    Begin, Conn, Dialect, Engine, Pooled, Tx,
};
pub use types::{
    day, id_json, parse_day, ts, RowId, StoredDay, StoredDiscordId, StoredIds, StoredOptDay,
    StoredOptTs, StoredTs,
};

/// The engine's pools.
#[derive(Clone, Debug)]
enum Backend {
    Sqlite {
        pool: SqlitePool,
        /// Connections for the reads people wait on ([`Store::reader`]), opened when first
        /// asked.
        readers: std::sync::Arc<readers::Readers>,
    },
    Postgres {
        pool: PgPool,
    },
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// How many rows hold the trigrams search has looked up, shared by the store's connections.
    trigram_counts: std::sync::Arc<search::TrigramCounts>,
    /// Keys deep into the lists typed pages reached, shared by the store's connections.
    landmarks: std::sync::Arc<keyset::Landmarks>,
    /// This process's writers take turns here, first come first served, before asking SQLite
    /// for the write lock: waiting in SQLite's busy handler instead, they poll, and a newcomer
    /// can take the lock ahead of one that has waited for seconds. The busy timeout is left
    /// for other processes.
    writer_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Bytes of the database file a [`Store::reader`] connection maps: SQLite's largest map unless
/// built otherwise (2 GiB); the rest of a larger file is read as usual.
pub const READER_MAP_BYTES: i64 = 0x7fff_0000;

impl Store {
    /// Remembered trigram counts (see [`search::TrigramCounts`]).
    pub fn trigram_counts(&self) -> &search::TrigramCounts {
        &self.trigram_counts
    }

    /// Remembered keys deep into lists (see [`keyset::Landmarks`]).
    pub fn landmarks(&self) -> &keyset::Landmarks {
        &self.landmarks
    }

    /// Opens (creating the file and its folder if needed) and migrates the database.
    #[tracing::instrument(skip_all, fields(path = %settings.path.display()), err)]
    pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        if let crate::config::Engine::Postgres(url) = &settings.engine {
            return Self::open_postgres(url, settings.max_connections).await;
        }
        if let Some(dir) = settings.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create database folder {}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&settings.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(settings.busy_timeout)
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            // Bulk loads (demo-data) legitimately run statements for seconds.
            .log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1));
        let readers = readers::Readers::new(
            options
                .clone()
                .pragma("mmap_size", READER_MAP_BYTES.to_string()),
            settings.reader_connections,
        );
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(1)
            // A local file cannot drop a connection the way a network can: skip the ping round trip.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open database {}", settings.path.display()))?;
        let store = Self::with(Backend::Sqlite { pool, readers });
        store.migrate().await?;
        Ok(store)
    }

    /// Opens and migrates a PostgreSQL database, whichever command is asking. Serving from
    /// PostgreSQL is not open to users until the whole store runs on it ([`Store::open`]
    /// refuses a `postgres://` url); the store's tests on PostgreSQL start here.
    pub async fn open_postgres(
        url: &crate::config::PostgresUrl,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        let pool = postgres::connect(url, max_connections).await?;
        let store = Self::with(Backend::Postgres { pool });
        store.migrate().await?;
        Ok(store)
    }

    fn with(backend: Backend) -> Self {
        Self {
            backend,
            trigram_counts: Default::default(),
            landmarks: Default::default(),
            writer_turn: Default::default(),
        }
    }

    /// Runs one statement of SQL text (no parameters) on either engine and returns the rows it
    /// changed: for tests and tools.
    pub async fn execute_sql(&self, sql: &str) -> anyhow::Result<u64> {
        let mut conn = self.conn().await?;
        Ok(run!(conn, sqlx::query(sql), execute)?)
    }

    /// The first column of the first row of a statement (no parameters) as an integer, on
    /// either engine: for tests and tools.
    pub async fn scalar_i64(&self, sql: &str) -> anyhow::Result<i64> {
        let mut conn = self.conn().await?;
        Ok(run!(conn, sqlx::query_scalar(sql), fetch_one)?)
    }

    /// Whether the store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// Makes the stored backorder sort keys use the configured weights (recomputing them all,
    /// in one transaction, when the weights changed since they were computed).
    pub async fn sync_priority_weights(
        &self,
        weights: &crate::domain::priority::PriorityWeights,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        if backorders::sync_priority_weights(&mut tx, weights).await? {
            tracing::info!("priority weights changed: backorder sort keys recomputed");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs the forward-only migrations (`migrations/sqlite/` or `migrations/postgres/`).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite { pool, .. } => sqlx::migrate!("./migrations/sqlite")
                .run(pool)
                .await
                .context("database migration failed"),
            Backend::Postgres { pool } => postgres::migrate(pool).await,
        }
    }

    /// The SQLite pool, for tests and tools that read the file directly.
    ///
    /// # Panics
    /// On PostgreSQL (a test that reads SQLite's file runs on SQLite only).
    pub fn pool(&self) -> &SqlitePool {
        match &self.backend {
            Backend::Sqlite { pool, .. } => pool,
            Backend::Postgres { .. } => panic!("Store::pool is SQLite's; this store is PostgreSQL"),
        }
    }

    /// A connection for a few reads in a row.
    pub async fn conn(&self) -> anyhow::Result<Pooled> {
        Ok(Pooled(match &self.backend {
            Backend::Sqlite { pool, .. } => Conn::Sqlite(pool.acquire().await?),
            Backend::Postgres { pool } => Conn::Postgres(pool.acquire().await?),
        }))
    }

    /// A connection for the reads people wait on (a command's answer, an autocomplete), from
    /// a pool of its own ([`readers`]: no round trip to the connection's thread when handed
    /// back) whose connections map the database file ([`READER_MAP_BYTES`]): their
    /// pages are read straight from the OS's cache of the file instead of copied into each
    /// connection's own cache, where each connection would miss the pages the others had
    /// read (docs/performance.md). The pool holds `database.reader_connections` (by default
    /// twice the cores: more only make requests wait in the OS's scheduler instead of the
    /// pool's queue). Its
    /// connections are opened when first asked, so a process that never answers people (an import, a
    /// scheduled alert run) maps nothing, and a whole-catalogue scan (an alert evaluation)
    /// runs on [`Store::conn`], where pages it reads once are not kept mapped. On PostgreSQL
    /// it is a connection of the store's pool.
    pub async fn reader(&self) -> anyhow::Result<readers::Reader> {
        match &self.backend {
            Backend::Sqlite { readers, .. } => readers.acquire().await,
            Backend::Postgres { .. } => Ok(readers::Reader::pooled(self.conn().await?)),
        }
    }

    /// Checks that the database answers (`/healthz`).
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        run!(conn, sqlx::query("SELECT 1"), execute).context("database ping failed")?;
        Ok(())
    }

    /// Starts a write transaction that holds the write lock from its first statement (on
    /// PostgreSQL, the writers' advisory lock: see [`Tx`]).
    pub async fn begin_write(&self) -> anyhow::Result<Tx<'static>> {
        let turn = match self.backend {
            Backend::Sqlite { .. } => Some(self.writer_turn.clone().lock_owned().await),
            Backend::Postgres { .. } => None,
        };
        Tx::owned(self.conn().await?, Begin::Write, turn).await
    }

    /// Checkpoints the WAL into the database file and closes the pool, so that the `.db` file
    /// alone holds everything once the process ends (one-shot commands copy cleanly).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { pool, readers } => {
                readers.close().await;
                // TRUNCATE waits (busy timeout) for readers of other processes; if they keep the
                // WAL busy, the next closer checkpoints instead: nothing is lost either way.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await
                {
                    tracing::debug!(error = %e, "WAL checkpoint skipped");
                }
                pool.close().await;
            }
            Backend::Postgres { pool } => pool.close().await,
        }
    }

    /// Writes a consistent copy of the live database to `target` (which must not exist yet),
    /// while other connections and processes keep reading and writing.
    pub async fn backup(&self, target: &std::path::Path) -> anyhow::Result<()> {
        if target.exists() {
            anyhow::bail!("{} already exists; choose a new file", target.display());
        }
        let path = target
            .to_str()
            .context("the backup path must be valid UTF-8")?;
        let Backend::Sqlite { pool, .. } = &self.backend else {
            anyhow::bail!("backup writes a SQLite file; back PostgreSQL up with pg_dump");
        };
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(pool)
            .await
            .with_context(|| format!("cannot write backup {}", target.display()))?;
        Ok(())
    }
}

/// Gives `conn` a page cache of `kib` KiB for a scan that reads its pages once (in the usual
/// cache they would only push out what other queries reuse); returns the usual size for
/// [`restore_cache`]. Nothing on PostgreSQL, whose buffers are the server's.
pub async fn scan_cache(conn: &mut Conn, kib: i64) -> anyhow::Result<i64> {
    let Engine::Sqlite(conn) = conn.engine() else {
        return Ok(0);
    };
    let usual: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(&format!("PRAGMA cache_size = -{kib}"))
        .execute(&mut *conn)
        .await?;
    Ok(usual)
}

/// After [`scan_cache`]: frees what the scan left (`shrink_memory`: cached and temporary pages)
/// and sets the usual size back.
pub async fn restore_cache(conn: &mut Conn, usual: i64) -> anyhow::Result<()> {
    let Engine::Sqlite(conn) = conn.engine() else {
        return Ok(());
    };
    sqlx::query("PRAGMA shrink_memory")
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("PRAGMA cache_size = {usual}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Starts a write transaction on a connection the caller already holds (one that has staged
/// rows in temporary tables, see [`import`]).
pub async fn begin_write_on(conn: &mut Conn) -> anyhow::Result<Tx<'_>> {
    begin_on(conn, Begin::Write).await
}
