//! The connections for the reads people wait on ([`super::Store::reader`]).
//!
//! The driver's pool tests every connection handed back to it: it sends a ping to the
//! connection's thread and waits for the answer before the next request may have it. For a
//! read of a millisecond that is one more round trip between threads per request, a cost that
//! shows at p99 under load (docs/performance.md). These connections go back to the idle list
//! as they are dropped. Nothing is left behind by a request dropped half-way: the driver runs each
//! connection's commands in order on its thread, and a connection dropped inside a transaction
//! (a request cancelled before its transaction ended) is closed instead of handed back, so no
//! later request can find it in an old snapshot, or broken by a rollback that failed (the
//! driver then stops the connection's thread).

use super::Conn;
use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for a free connection before it fails (the driver pool's default).
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Up to a fixed number of connections, opened when first needed, handed out first come,
/// first served, the most recently used first (its pages and prepared statements are warm).
#[derive(Debug)]
pub struct Readers {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Arc<Semaphore>,
}

/// A connection of [`Readers`] (on PostgreSQL, of the store's pool); use it wherever a
/// `&mut Conn` is wanted. Dropping it hands it back.
#[derive(Debug)]
pub struct Reader {
    conn: Option<Conn>,
    /// The pool it goes back to, and its place there (none: a pooled PostgreSQL connection).
    home: Option<(Arc<Readers>, OwnedSemaphorePermit)>,
}

impl Reader {
    /// A connection of the store's pool (PostgreSQL, whose pool needs no detour).
    pub(super) fn pooled(conn: super::engine::Pooled) -> Self {
        Reader {
            conn: Some(conn.0),
            home: None,
        }
    }
}

impl Readers {
    /// At most `size` connections opened with `options`.
    pub fn new(options: SqliteConnectOptions, size: u32) -> Arc<Self> {
        Arc::new(Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1) as usize)),
        })
    }

    /// A free connection: an idle one, or a new one while fewer than the size are open; else
    /// the first to be handed back to the longest waiting request.
    pub async fn acquire(self: &Arc<Self>) -> anyhow::Result<Reader> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .context("no database connection for reads came free in 30 s")?
            .context("the store is closed")?;
        let idle = self.lock().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self
                .options
                .connect()
                .await
                .context("cannot open a database connection for reads")?,
        };
        Ok(Reader {
            conn: Some(Conn::SqliteOwned(conn)),
            home: Some((self.clone(), permit)),
        })
    }

    /// Refuses new requests and closes the idle connections (those in use close when dropped).
    pub async fn close(&self) {
        self.permits.close();
        let idle: Vec<SqliteConnection> = std::mem::take(&mut *self.lock());
        for conn in idle {
            let _ = conn.close().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        // A panic while holding the lock leaves a valid list: keep using it.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // Handed back before the permit is released (fields drop after this), so the next
        // request finds it; inside a transaction or after `close`, dropped (its thread rolls
        // back and closes it).
        if let (Some(Conn::SqliteOwned(conn)), Some((readers, _))) = (self.conn.take(), &self.home)
        {
            if !readers.permits.is_closed() && !conn.is_in_transaction() {
                readers.lock().push(conn);
            }
        }
    }
}

impl std::ops::Deref for Reader {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a reader holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a reader holds its connection until dropped")
    }
}
