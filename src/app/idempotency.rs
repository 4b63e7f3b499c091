//! At most once per `Idempotency-Key`: the key is claimed, and the response stored, in the same
//! write transaction as the work it guards. A crash before the commit leaves neither the work nor
//! the key, so a retry runs the work once; a crash after it leaves both, so a retry gets the first
//! response. Concurrent requests with one key queue on the write lock (`BEGIN IMMEDIATE`): the
//! first does the work, the others find its stored response.

use super::{App, AppError, AppResult};
use crate::domain::IdempotencyKey;
use crate::store::{self, idempotency::StoredResponse, Conn};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;

/// A request that changes data, as far as idempotency cares.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The client's key, if it sent one.
    pub key: Option<&'a IdempotencyKey>,
    /// `POST`, `PATCH`…
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The body in a canonical form (the same request always gives the same bytes).
    pub body: &'a [u8],
}

impl Request<'_> {
    /// SHA-256 (hex) of method, path and body: what a reused key must match.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.method.as_bytes());
        h.update(b"\n");
        h.update(self.path.as_bytes());
        h.update(b"\n");
        h.update(self.body);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A response: status and JSON text; `replayed` when it is the stored first response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// The stored response of an earlier request with the same key.
    pub replayed: bool,
}

/// The write transaction an idempotent change runs in, handed to its work. Above `app` it is
/// opaque: the work passes it on to a use case (`place_order_in`, `save_po_in`, `adjust_in`),
/// which alone reaches the connection.
pub struct Unit<'c>(pub(crate) &'c mut Conn);

/// The work a request does inside the write transaction: its status and JSON body.
pub type Work<'c> = Pin<Box<dyn Future<Output = AppResult<(u16, String)>> + Send + 'c>>;

/// Runs `work` in a write transaction unless the request's key already has a response, which
/// is returned instead. A key used for a different request is refused (`Idempotency-Key`).
/// Failed work stores nothing: the key stays free for a corrected retry.
pub async fn once<F>(app: &App, req: Request<'_>, work: F) -> AppResult<Response>
where
    F: for<'c> FnOnce(Unit<'c>) -> Work<'c>,
{
    let hash = req.hash();
    if let Some(key) = req.key {
        // Replays need no write lock.
        let mut conn = app.store.conn().await?;
        if let Some(stored) = store::idempotency::get(&mut conn, key.as_str()).await? {
            return replay(stored, &req, &hash);
        }
    }
    let mut tx = app.store.begin_write().await?;
    if let Some(key) = req.key {
        // Another request with this key may have committed while we waited for the lock.
        if let Some(stored) = store::idempotency::get(&mut tx, key.as_str()).await? {
            return replay(stored, &req, &hash);
        }
    }
    let (status, body) = work(Unit(&mut tx)).await?;
    if let Some(key) = req.key {
        let stored = StoredResponse {
            method: req.method.to_string(),
            path: req.path.to_string(),
            request_hash: hash,
            status_code: i64::from(status),
            body: body.clone(),
        };
        store::idempotency::put(&mut tx, key.as_str(), &stored, app.clock.now()).await?;
    }
    tx.commit().await?;
    Ok(Response {
        status,
        body,
        replayed: false,
    })
}

fn replay(stored: StoredResponse, req: &Request<'_>, hash: &str) -> AppResult<Response> {
    let same_target = stored.method == req.method && stored.path == req.path;
    // Keys stored before hashes were kept match on method and path alone.
    let same_request =
        same_target && (stored.request_hash.is_empty() || stored.request_hash == hash);
    if !same_request {
        let what = if same_target {
            "with a different body".to_string()
        } else {
            format!("for {} {}", stored.method, stored.path)
        };
        return Err(AppError::invalid(
            "Idempotency-Key",
            format!("was already used {what}; send a new key with a new request"),
        ));
    }
    Ok(Response {
        status: u16::try_from(stored.status_code).unwrap_or(200),
        body: stored.body,
        replayed: true,
    })
}
