//! Stored responses of the ingest API, by `Idempotency-Key`.

use super::{ts, Conn};
use crate::store::run;
use chrono::{DateTime, Utc};

/// A key's stored request and first response.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredResponse {
    /// Method of the first request.
    pub method: String,
    /// Path of the first request.
    pub path: String,
    /// SHA-256 (hex) of the first request; empty for keys stored before hashes were kept.
    pub request_hash: String,
    /// HTTP status of the first response.
    pub status_code: i64,
    /// JSON body of the first response.
    pub body: String,
}

/// The stored response for a key.
pub async fn get(conn: &mut Conn, key: &str) -> anyhow::Result<Option<StoredResponse>> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT method, path, request_hash, status_code, body FROM idempotency_keys WHERE key = $1",
    )
    .bind(key), fetch_optional)?)
}

/// Claims a key with its response, inside the transaction that did the work: both commit or
/// neither does. Fails if the key is taken (the caller holds the write lock and looked first).
pub async fn put(
    conn: &mut Conn,
    key: &str,
    stored: &StoredResponse,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(conn, sqlx::query(
        "INSERT INTO idempotency_keys (key, method, path, request_hash, status_code, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key)
    .bind(&stored.method)
    .bind(&stored.path)
    .bind(&stored.request_hash)
    .bind(stored.status_code)
    .bind(&stored.body)
    .bind(ts(at)), execute)?;
    Ok(())
}
