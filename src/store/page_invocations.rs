//! Invocations of paged replies too long for a Discord button's custom id, by key: any process
//! on the database answers a `pk|` click, after restarts too. The text is opaque here (the
//! Discord adapter writes and reads it).

use super::{ts, Conn};
use crate::store::run;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The key of `invocation`, kept (or shown again) at `now`: the same text always gets the key
/// it got first, while that row is kept. Needs a write transaction.
pub async fn key_for(conn: &mut Conn, invocation: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let hash: String = Sha256::digest(invocation.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(run!(
        conn,
        sqlx::query_scalar(
            "INSERT INTO page_invocations (hash, invocation, shown_at) VALUES ($1, $2, $3)
             ON CONFLICT (hash) DO UPDATE SET shown_at = excluded.shown_at
             RETURNING id",
        )
        .bind(hash)
        .bind(invocation)
        .bind(ts(now)),
        fetch_one
    )?)
}

/// The invocation kept under `key`, unless it was last shown before `shown_since`.
pub async fn get(
    conn: &mut Conn,
    key: i64,
    shown_since: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    Ok(run!(
        conn,
        sqlx::query_scalar(
            "SELECT invocation FROM page_invocations WHERE id = $1 AND shown_at >= $2",
        )
        .bind(key)
        .bind(ts(shown_since)),
        fetch_optional
    )?)
}

/// Forgets the invocations last shown before `before`; how many.
pub async fn prune(conn: &mut Conn, before: DateTime<Utc>) -> anyhow::Result<u64> {
    Ok(run!(
        conn,
        sqlx::query("DELETE FROM page_invocations WHERE shown_at < $1").bind(ts(before)),
        execute
    )?)
}
