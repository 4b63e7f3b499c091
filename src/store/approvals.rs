//! Approval batches: the outbox rows one change wrote, held for ops, and the batch's decision.
//!
//! A change's rows are found by the outbox id it started from ([`outbox_mark`]): its write
//! transaction (`BEGIN IMMEDIATE`) is the only writer, so every row above the mark is its own.

use super::keyset::{self, asc, KeyColumn, Keyed, Source};
use super::types::sql_word;
use super::{id_json, ts, Conn, StoredOptDay};
use crate::domain::approval::ApprovalStatus;
use crate::domain::page::Seek;
use crate::domain::{ApprovalId, BackorderId, Channel, CustomerId, OutboxStatus, PostId};
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};

/// The highest outbox id and backorder id now: the rows a change writes after this are above
/// them.
pub async fn marks(conn: &mut Conn) -> anyhow::Result<(i64, i64)> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM outbox), (SELECT COALESCE(MAX(id), 0) FROM backorders)",
    ), fetch_one)?)
}

/// One promise a change moved, from its `eta_changed` update.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MovedRow {
    pub backorder_id: BackorderId,
    pub customer_id: CustomerId,
    pub sku: String,
    #[sqlx(try_from = "StoredOptDay")]
    pub old_eta: Option<NaiveDate>,
    #[sqlx(try_from = "StoredOptDay")]
    pub new_eta: Option<NaiveDate>,
}

/// The promises moved by the rows above `mark` (still pending), in id order; a backorder above
/// `backorder_mark` was created by the change, and its first promise moved nothing.
pub async fn moved_since(
    conn: &mut Conn,
    mark: i64,
    backorder_mark: i64,
) -> anyhow::Result<Vec<MovedRow>> {
    let member = |key| super::json_member(conn, "payload", key);
    let sql = format!(
        concat!(
            "SELECT backorder_id, customer_id, COALESCE({sku}, '') AS sku,
            {old} AS old_eta, {new} AS new_eta
         FROM outbox WHERE id > $1 AND backorder_id <= $2 AND kind = ",
            sql_word!(update eta_changed),
            " AND status = ",
            sql_word!(outbox pending),
            " ORDER BY id"
        ),
        sku = member("sku"),
        old = member("old_eta"),
        new = member("new_eta"),
    );
    Ok(run!(
        conn,
        sqlx::query_as(&sql).bind(mark).bind(backorder_mark),
        fetch_all
    )?)
}

/// The backorders whose promise the outbox rows above `$1` moved, leaving out those above `$2`
/// (created by the change: their first promise moved nothing).
macro_rules! moved_by_change {
    () => {
        concat!(
            "SELECT backorder_id FROM outbox WHERE id > $1 AND backorder_id <= $2 AND kind = ",
            sql_word!(update eta_changed)
        )
    };
}

/// Updates a change may write before the statements below first ask the planner to count them
/// ([`super::refresh_planner_statistics`]): an ETA fan-out writes one per backorder.
const MANY_UPDATES: i64 = 10_000;

/// Call before the statements below when the change may have written many updates (after `mark`).
pub async fn count_change_for_the_planner(conn: &mut Conn, mark: i64) -> anyhow::Result<()> {
    super::refresh_planner_statistics(conn, "outbox", mark, MANY_UPDATES).await
}

/// The held batches with an update about a backorder whose promise the change moved (the rows
/// above `mark`; backorders above `backorder_mark` are the change's own).
pub async fn held_batches_touched_since(
    conn: &mut Conn,
    mark: i64,
    backorder_mark: i64,
) -> anyhow::Result<Vec<ApprovalId>> {
    Ok(run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT DISTINCT approval_id FROM outbox
         WHERE status = ",
            sql_word!(outbox held),
            " AND approval_id IS NOT NULL AND backorder_id IN (",
            moved_by_change!(),
            ") ORDER BY approval_id"
        ))
        .bind(mark)
        .bind(backorder_mark),
        fetch_all
    )?)
}

/// A batch to create.
#[derive(Debug, Clone)]
pub struct NewApproval<'a> {
    pub change: &'a str,
    pub actor: &'a str,
    pub customers: i64,
    pub largest_shift_days: Option<i64>,
}

/// Creates a held batch.
pub async fn create(
    conn: &mut Conn,
    a: &NewApproval<'_>,
    at: DateTime<Utc>,
) -> anyhow::Result<ApprovalId> {
    Ok(run!(conn, sqlx::query_scalar(
        "INSERT INTO approvals (status, created_at, change, actor, customers, largest_shift_days)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(ApprovalStatus::Held)
    .bind(ts(at))
    .bind(a.change)
    .bind(a.actor)
    .bind(a.customers)
    .bind(a.largest_shift_days), fetch_one)?)
}

/// Holds in the batch every pending update of the backorders whose promise the change moved
/// (as [`held_batches_touched_since`]): this change's, and older ones not sent yet (a message
/// states the promise as it stands, so an older update sent now would tell the held date). A
/// backorder the change created keeps its first notice. Returns how many.
pub async fn hold_since(
    conn: &mut Conn,
    id: ApprovalId,
    mark: i64,
    backorder_mark: i64,
) -> anyhow::Result<u64> {
    Ok(run!(
        conn,
        sqlx::query(concat!(
            "UPDATE outbox SET status = ",
            sql_word!(outbox held),
            ", approval_id = $3
         WHERE status = ",
            sql_word!(outbox pending),
            " AND backorder_id IN (",
            moved_by_change!(),
            ")"
        ))
        .bind(mark)
        .bind(backorder_mark)
        .bind(id),
        execute
    )?)
}

/// Customers of a batch's updates by their channel.
pub async fn customers_by_channel(
    conn: &mut Conn,
    id: ApprovalId,
) -> anyhow::Result<Vec<(Channel, i64)>> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT c.channel, COUNT(DISTINCT c.id) FROM outbox o JOIN customers c ON c.id = o.customer_id
         WHERE o.approval_id = $1 GROUP BY c.channel ORDER BY c.channel",
    )
    .bind(id), fetch_all)?)
}

/// The first customer of a batch (for its sample message) and that customer's held backorders.
pub async fn sample_customer(
    conn: &mut Conn,
    id: ApprovalId,
) -> anyhow::Result<Option<(CustomerId, Vec<BackorderId>)>> {
    let first: Option<CustomerId> = run!(
        conn,
        sqlx::query_scalar(
            "SELECT customer_id FROM outbox WHERE approval_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(id),
        fetch_optional
    )?;
    let Some(customer) = first else {
        return Ok(None);
    };
    let backorders: Vec<BackorderId> =
        run!(conn, sqlx::query_scalar(
        "SELECT DISTINCT backorder_id FROM outbox WHERE approval_id = $1 AND customer_id = $2
         ORDER BY backorder_id",
    )
    .bind(id)
    .bind(customer), fetch_all)?;
    Ok(Some((customer, backorders)))
}

/// Moves a batch's still-held updates to `status` (`Pending` releases them, due at `at`;
/// `Withheld` or `Superseded` close them, saying `why`). Returns how many.
pub async fn settle_rows(
    conn: &mut Conn,
    id: ApprovalId,
    status: OutboxStatus,
    why: Option<&str>,
    at: DateTime<Utc>,
) -> anyhow::Result<u64> {
    Ok(run!(
        conn,
        sqlx::query(concat!(
            "UPDATE outbox SET status = $2, last_error = COALESCE($3, last_error),
            next_attempt_at = CASE WHEN $2 = ",
            sql_word!(outbox pending),
            " THEN $4 ELSE next_attempt_at END
         WHERE approval_id = $1 AND status = ",
            sql_word!(outbox held)
        ))
        .bind(id)
        .bind(status)
        .bind(why)
        .bind(ts(at)),
        execute
    )?)
}

/// Decides a held batch; `false` when it was no longer held (decided or superseded already).
pub async fn decide(
    conn: &mut Conn,
    id: ApprovalId,
    status: ApprovalStatus,
    by: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<bool> {
    Ok(run!(
        conn,
        sqlx::query(concat!(
            "UPDATE approvals SET status = $2, decided_by = $3, decided_at = $4
         WHERE id = $1 AND status = ",
            sql_word!(approval held)
        ))
        .bind(id)
        .bind(status)
        .bind(by)
        .bind(ts(at)),
        execute
    )? == 1)
}

/// Sets a held batch's note; `false` when it is no longer held.
pub async fn set_note(conn: &mut Conn, id: ApprovalId, note: &str) -> anyhow::Result<bool> {
    Ok(run!(
        conn,
        sqlx::query(concat!(
            "UPDATE approvals SET note = $2 WHERE id = $1 AND status = ",
            sql_word!(approval held)
        ))
        .bind(id)
        .bind(note),
        execute
    )? == 1)
}

/// Records the batch's post and the body it shows.
pub async fn set_post(
    conn: &mut Conn,
    id: ApprovalId,
    post: Option<PostId>,
    summary: &str,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("UPDATE approvals SET post_id = $2, summary = $3 WHERE id = $1")
            .bind(id)
            .bind(post)
            .bind(summary),
        execute
    )?;
    Ok(())
}

/// A batch as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRow {
    pub id: ApprovalId,
    pub status: ApprovalStatus,
    #[sqlx(try_from = "super::StoredTs")]
    pub created_at: DateTime<Utc>,
    pub change: String,
    pub actor: String,
    pub customers: i64,
    pub largest_shift_days: Option<i64>,
    pub summary: String,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub post_id: Option<PostId>,
    /// Updates still held.
    pub held: i64,
}

const COLUMNS: &str = concat!(
    "a.id, a.status, a.created_at, a.change, a.actor, a.customers, a.largest_shift_days,
     a.summary, a.note, a.decided_by, a.post_id,
     (SELECT COUNT(*) FROM outbox o WHERE o.approval_id = a.id AND o.status = ",
    sql_word!(outbox held),
    ") AS held"
);

/// One batch.
pub async fn get(conn: &mut Conn, id: ApprovalId) -> anyhow::Result<Option<ApprovalRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM approvals a WHERE a.id = $1"
        ))
        .bind(id),
        fetch_optional
    )?)
}

/// Held batches oldest first.
pub const HELD_ORDER: [KeyColumn; 1] = [asc("a.id", 'i')];

/// A page of held batches, oldest first, with their keys and the number held.
pub async fn held_page(
    conn: &mut Conn,
    seek: &Seek,
    limit: i64,
) -> anyhow::Result<(Vec<ApprovalRow>, Keyed, i64)> {
    let src = Source {
        from: "approvals a",
        id: "a.id",
        filter: vec![concat!("a.status = ", sql_word!(approval held)).to_string()],
        binds: vec![],
        order: &HELD_ORDER,
    };
    let total = keyset::count(&mut *conn, &src).await?;
    let keyed = keyset::page(&mut *conn, &src, seek, limit).await?;
    let mut rows: Vec<ApprovalRow> = run!(
        conn,
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM approvals a WHERE a.id IN (SELECT value FROM json_each($1))"
        ))
        .bind(id_json(&keyed.row_ids::<ApprovalId>())),
        fetch_all
    )?;
    rows.sort_by_key(|r| r.id);
    Ok((rows, keyed, total))
}

/// Held batches created at or before `before` that have had no reminder.
pub async fn due_reminders(
    conn: &mut Conn,
    before: DateTime<Utc>,
) -> anyhow::Result<Vec<ApprovalRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            concat!(
                "SELECT {} FROM approvals a WHERE a.status = ",
                sql_word!(approval held),
                " AND a.created_at <= $1 AND a.reminded_at IS NULL ORDER BY a.id"
            ),
            COLUMNS
        ))
        .bind(ts(before)),
        fetch_all
    )?)
}

/// Marks a batch reminded; `false` if another process did first.
pub async fn mark_reminded(
    conn: &mut Conn,
    id: ApprovalId,
    at: DateTime<Utc>,
) -> anyhow::Result<bool> {
    Ok(run!(
        conn,
        sqlx::query("UPDATE approvals SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL")
            .bind(id)
            .bind(ts(at)),
        execute
    )? == 1)
}

/// The notes of batches, by id (batches without a note left out).
pub async fn notes(
    conn: &mut Conn,
    ids: &[ApprovalId],
) -> anyhow::Result<Vec<(ApprovalId, String)>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT a.id, a.note FROM json_each($1) j JOIN approvals a ON a.id = j.value
         WHERE a.note IS NOT NULL",
        )
        .bind(id_json(ids)),
        fetch_all
    )?)
}
