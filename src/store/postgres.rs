//! PostgreSQL: connecting, migrating (`migrations/postgres/`) and the scratch databases of tests
//! and benchmarks. The store serves from PostgreSQL when `database.url` names it
//! (docs/postgresql.md).

use crate::config::PostgresUrl;
use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;

/// Connection options from a url, with errors that show the url without its password.
pub fn options(url: &PostgresUrl) -> anyhow::Result<PgConnectOptions> {
    // Sessions in UTC: a `timestamptz` turns into the UTC date, as SQLite's date() gives it.
    PgConnectOptions::from_str(url.expose())
        .map(|o| o.options([("timezone", "UTC")]))
        .map_err(|_| anyhow::anyhow!("{url} is not a url PostgreSQL connections accept"))
}

/// A small pool on `url`.
pub async fn connect(url: &PostgresUrl, max_connections: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options(url)?)
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

/// Runs the forward-only migrations in `migrations/postgres/`.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations/postgres")
        .run(pool)
        .await
        .context("PostgreSQL migration failed")
}

/// The base tables of the `public` schema but sqlx's bookkeeping, by name.
pub async fn tables(conn: &mut sqlx::PgConnection) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar::<Postgres, String>(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .fetch_all(conn)
    .await?)
}

/// The primary key's columns of a table, in key order.
pub async fn primary_key(pg: &mut sqlx::PgConnection, table: &str) -> anyhow::Result<Vec<String>> {
    let key: Vec<String> = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = ('public.' || quote_ident($1))::regclass AND i.indisprimary
         ORDER BY array_position(i.indkey::int2[], a.attnum)",
    )
    .bind(table)
    .fetch_all(pg)
    .await?;
    if key.is_empty() {
        anyhow::bail!("table {table} has no primary key in PostgreSQL");
    }
    Ok(key)
}

/// Creates the empty database `name` on the server of `admin` (a url of a database there, whose
/// user may create databases; an earlier one of that name is dropped) and returns its url: the
/// scratch databases of `bench replicas`.
pub async fn create_scratch(admin: &str, name: &str) -> anyhow::Result<(String, String)> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .context("the admin url does not accept connections")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await?;
    let base = admin
        .rsplit_once('/')
        .context("the admin url names no database")?
        .0;
    Ok((name.to_string(), format!("{base}/{name}")))
}

/// Drops a database [`create_scratch`] made, closing its connections.
pub async fn drop_scratch(admin: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
