//! The only place with SQL: sqlx on SQLite (WAL, foreign keys, busy timeout).
//!
//! Functions are named for what they do and take a `&mut SqliteConnection`, so a use case can run
//! several of them inside one transaction. Reads that a write depends on happen after
//! [`Store::begin_write`] (`BEGIN IMMEDIATE`), so two processes never interleave a read-then-write.

pub mod alerts;
pub mod audit;
pub mod backorders;
pub mod bulk;

pub mod customers;
pub mod idempotency;
pub mod import;
pub mod notify;
pub mod orders;
pub mod outbox;
pub mod posts;
pub mod products;
pub mod purchasing;
pub mod stock;
pub mod suppliers;

use crate::config::DatabaseSettings;
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;

pub use sqlx::SqliteConnection as Conn;

/// A write transaction.
pub type Tx = Transaction<'static, Sqlite>;

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating the file and its folder if needed) and migrates the database.
    #[tracing::instrument(skip_all, fields(path = %settings.path.display()), err)]
    pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(1)
            // A local file cannot drop a connection the way a network can: skip the ping round trip.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open database {}", settings.path.display()))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Runs the forward-only migrations in `migrations/`.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .context("database migration failed")
    }

    /// The pool, for reads that need no transaction.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A connection for a few reads in a row.
    pub async fn conn(&self) -> anyhow::Result<sqlx::pool::PoolConnection<Sqlite>> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a write transaction that holds the write lock from its first statement.
    pub async fn begin_write(&self) -> anyhow::Result<Tx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Checkpoints the WAL into the database file and closes the pool, so that the `.db` file
    /// alone holds everything once the process ends (one-shot commands copy cleanly).
    pub async fn close(&self) {
        // TRUNCATE waits (busy timeout) for readers of other processes; if they keep the WAL
        // busy, the next closer checkpoints instead: nothing is lost either way.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::debug!(error = %e, "WAL checkpoint skipped");
        }
        self.pool.close().await;
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
        // SQLite-only: PostgreSQL backs up with pg_dump instead.
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await
            .with_context(|| format!("cannot write backup {}", target.display()))?;
        Ok(())
    }
}

/// Starts a write transaction on a connection the caller already holds (one that has staged
/// rows in temporary tables, see [`import`]).
pub async fn begin_write_on(conn: &mut Conn) -> anyhow::Result<Transaction<'_, Sqlite>> {
    use sqlx::Connection;
    Ok(conn.begin_with("BEGIN IMMEDIATE").await?)
}

/// Stored form of a timestamp.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Reads a stored timestamp (tolerating fractional seconds or offsets).
pub fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Reads a stored date.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}
