//! Stored responses of the ingest API, by `Idempotency-Key`.

use super::{ts, Conn};
use chrono::{DateTime, Utc};

/// The stored response for a key: (method, path, status, body).
pub async fn get(
    conn: &mut Conn,
    key: &str,
) -> anyhow::Result<Option<(String, String, i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT method, path, status_code, body FROM idempotency_keys WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// Stores the first response for a key.
pub async fn put(
    conn: &mut Conn,
    key: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (key, method, path, status_code, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(method)
    .bind(path)
    .bind(i64::from(status))
    .bind(body)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}
