//! The discount-code pool: importing codes, issuing one to a backorder, recording the message that
//! told it, and the one warning when the pool runs dry.

use super::types::sql_word;
use super::{id_json, ts, Conn};
use crate::domain::ids::DiscountCodeId;
use crate::domain::incentive::CodeKind;
use crate::domain::{BackorderId, CustomerId, MessageId};
use crate::store::{dialect, run};
use chrono::{DateTime, NaiveDate, Utc};

/// A checked row of a codes file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeIn {
    /// Line in the file.
    pub line: usize,
    pub code: String,
    pub kind: CodeKind,
    /// Percent off (discount codes).
    pub percent: Option<i64>,
}

/// Stages checked code rows on this connection (no write lock needed).
pub async fn stage_codes(conn: &mut Conn, rows: &[CodeIn]) -> anyhow::Result<()> {
    let lines: Vec<i64> = rows.iter().map(|r| r.line as i64).collect();
    super::import::stage_rows(
        conn,
        "import_discount_codes",
        &["line INTEGER", "code TEXT", "kind TEXT", "percent INTEGER"],
        rows.iter().zip(&lines).map(|(r, line)| {
            vec![
                super::import::Value::Int(Some(*line)),
                super::import::Value::Text(Some(&r.code)),
                super::import::Value::Text(Some(r.kind.as_str())),
                super::import::Value::Int(r.percent),
            ]
        }),
    )
    .await
}

/// A staged code that would change one already issued: its line, code and backorder.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IssuedConflict {
    pub line: i64,
    pub code: String,
    pub backorder_id: BackorderId,
}

/// Staged codes whose kind or value differs from a stored code already issued (what the customer
/// was told cannot change). Run inside the write transaction.
pub async fn issued_conflicts(conn: &mut Conn) -> anyhow::Result<Vec<IssuedConflict>> {
    let sql = format!(
        "SELECT s.line, s.code, d.backorder_id FROM import_discount_codes s
         JOIN discount_codes d ON d.code = {}
         WHERE d.backorder_id IS NOT NULL AND (d.kind IS DISTINCT FROM s.kind OR d.percent IS DISTINCT FROM s.percent)
         ORDER BY s.line",
        staged_code(conn)
    );
    Ok(run!(conn, sqlx::query_as(&sql), fetch_all)?)
}

/// The staged code `s.code` compared with a stored one without regard to case: the stored
/// column is `COLLATE NOCASE` on SQLite (its collation wins in `d.code = s.code`) and `citext`
/// on PostgreSQL, where `citext = text` would compare as text (case-sensitive), so the staged
/// text is cast to `citext` there.
fn staged_code(conn: &Conn) -> &'static str {
    dialect!(conn, sqlite: "s.code", postgres: "CAST(s.code AS citext)")
}

/// Adds the staged codes to the pool and updates the kind or value of codes not issued yet;
/// returns how many rows added or changed a code. Codes match without regard to ASCII case.
pub async fn apply_codes(conn: &mut Conn, at: DateTime<Utc>) -> anyhow::Result<usize> {
    let sql = format!(
        "SELECT COUNT(*) FROM import_discount_codes s LEFT JOIN discount_codes d ON d.code = {}
         WHERE d.id IS NULL OR d.kind IS DISTINCT FROM s.kind OR d.percent IS DISTINCT FROM s.percent",
        staged_code(conn)
    );
    let changed: i64 = run!(conn, sqlx::query_scalar(&sql), fetch_one)?;
    run!(conn, sqlx::query(
        "INSERT INTO discount_codes (code, kind, percent, imported_at)
         SELECT code, kind, percent, $1 FROM import_discount_codes WHERE true ORDER BY line
         ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, percent = excluded.percent
         WHERE discount_codes.backorder_id IS NULL
           AND (discount_codes.kind IS DISTINCT FROM excluded.kind OR discount_codes.percent IS DISTINCT FROM excluded.percent)",
    )
    .bind(ts(at)), execute)?;
    Ok(changed as usize)
}

/// Codes in the pool: (free, issued).
pub async fn pool_counts(conn: &mut Conn) -> anyhow::Result<(i64, i64)> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE backorder_id IS NULL), COUNT(*) FILTER (WHERE backorder_id IS NOT NULL)
         FROM discount_codes",
    ), fetch_one)?)
}

/// A code as a message or a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CodeRow {
    pub id: DiscountCodeId,
    pub code: String,
    pub kind: CodeKind,
    pub percent: Option<i64>,
}

/// What the incentive rule reads of a backorder, with the code it holds (if any).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Facts {
    pub backorder_id: BackorderId,
    /// When the customer ordered: the wait starts there.
    #[sqlx(try_from = "super::StoredTs")]
    pub ordered_at: DateTime<Utc>,
    /// The promise now.
    #[sqlx(try_from = "super::StoredOptDay")]
    pub promised_eta: Option<NaiveDate>,
    /// Whether some ETA change of it names a date; then `first_old` and `first_new` are that of
    /// the earliest such change.
    pub dated_change: bool,
    #[sqlx(try_from = "super::StoredOptDay")]
    pub first_old: Option<NaiveDate>,
    #[sqlx(try_from = "super::StoredOptDay")]
    pub first_new: Option<NaiveDate>,
    /// The code issued to it.
    pub code_id: Option<DiscountCodeId>,
    pub code: Option<String>,
    pub kind: Option<CodeKind>,
    pub percent: Option<i64>,
    /// A message carrying its code reached the provider (and was not reported undelivered).
    pub told: bool,
}

/// The facts of several backorders.
pub async fn facts(conn: &mut Conn, ids: &[BackorderId]) -> anyhow::Result<Vec<Facts>> {
    Ok(run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT b.id AS backorder_id, o.ordered_at, b.promised_eta,
                h.id IS NOT NULL AS dated_change, h.old_eta AS first_old, h.new_eta AS first_new,
                d.id AS code_id, d.code, d.kind, d.percent,
                d.message_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m
                    WHERE m.id = d.message_id AND m.status IN ",
            sql_word!(message failed),
            ") AS told
         FROM json_each($1) j JOIN backorders b ON b.id = j.value
         JOIN order_lines l ON l.id = b.order_line_id JOIN orders o ON o.id = l.order_id
         LEFT JOIN eta_history h ON h.id = (
             SELECT x.id FROM eta_history x
             WHERE x.backorder_id = b.id AND (x.old_eta IS NOT NULL OR x.new_eta IS NOT NULL)
             ORDER BY x.id LIMIT 1)
         LEFT JOIN discount_codes d ON d.backorder_id = b.id"
        ))
        .bind(id_json(ids)),
        fetch_all
    )?)
}

/// The code issued to a backorder, if any.
pub async fn code_of_backorder(
    conn: &mut Conn,
    backorder_id: BackorderId,
) -> anyhow::Result<Option<CodeRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT id, code, kind, percent FROM discount_codes WHERE backorder_id = $1",
        )
        .bind(backorder_id),
        fetch_optional
    )?)
}

/// Issues the first free code to a backorder that holds none; `None` when the pool has no free
/// code. Run it in a write transaction (`BEGIN IMMEDIATE`) after [`code_of_backorder`] found
/// none: then no other writer can take the same code or give the backorder a second one.
pub async fn take_free(
    conn: &mut Conn,
    backorder_id: BackorderId,
    at: DateTime<Utc>,
) -> anyhow::Result<Option<CodeRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "UPDATE discount_codes SET backorder_id = $1, issued_at = $2
         WHERE id = (SELECT id FROM discount_codes WHERE backorder_id IS NULL ORDER BY id LIMIT 1)
         RETURNING id, code, kind, percent",
        )
        .bind(backorder_id)
        .bind(ts(at)),
        fetch_optional
    )?)
}

/// Records that the pool ran dry; `true` only for the first time since it was last refilled
/// (then the caller warns).
pub async fn mark_dry(conn: &mut Conn, at: DateTime<Utc>) -> anyhow::Result<bool> {
    Ok(run!(
        conn,
        sqlx::query(
            "INSERT INTO discount_pool (id, dry_warned_at) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET dry_warned_at = excluded.dry_warned_at
         WHERE discount_pool.dry_warned_at IS NULL",
        )
        .bind(ts(at)),
        execute
    )? > 0)
}

/// Forgets the dry warning (the pool was refilled): the next time it runs dry warns again.
pub async fn clear_dry(conn: &mut Conn) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("UPDATE discount_pool SET dry_warned_at = NULL"),
        execute
    )?;
    Ok(())
}

/// Records the message that carried codes to the customer, for the codes not told before (or
/// told by a message the provider later reported undelivered).
pub async fn mark_told(
    conn: &mut Conn,
    codes: &[DiscountCodeId],
    message_id: MessageId,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(concat!(
            "UPDATE discount_codes SET message_id = $1, told_at = $2
         WHERE id IN (SELECT value FROM json_each($3))
           AND (message_id IS NULL OR message_id IN (SELECT id FROM messages WHERE status IN ",
            sql_word!(message failed),
            "))"
        ))
        .bind(message_id)
        .bind(ts(at))
        .bind(id_json(codes)),
        execute
    )?;
    Ok(())
}

/// A code issued to a backorder, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IssuedRow {
    pub backorder_id: BackorderId,
    pub sku: String,
    pub code: String,
    pub kind: CodeKind,
    pub percent: Option<i64>,
    #[sqlx(try_from = "super::StoredTs")]
    pub issued_at: DateTime<Utc>,
    /// The first message carrying it that reached the provider.
    pub message_id: Option<MessageId>,
    #[sqlx(try_from = "super::StoredOptTs")]
    pub told_at: Option<DateTime<Utc>>,
}

const ISSUED: &str = "SELECT d.backorder_id, p.sku, d.code, d.kind, d.percent, d.issued_at,
        d.message_id, d.told_at
     FROM discount_codes d JOIN backorders b ON b.id = d.backorder_id
     JOIN products p ON p.id = b.product_id";

/// The codes issued to a customer's backorders, newest first.
pub async fn issued_to_customer(
    conn: &mut Conn,
    customer_id: CustomerId,
) -> anyhow::Result<Vec<IssuedRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "{ISSUED} WHERE b.customer_id = $1 ORDER BY d.issued_at DESC, d.id DESC"
        ))
        .bind(customer_id),
        fetch_all
    )?)
}
