//! Suppliers.

use super::Conn;
use crate::domain::SupplierId;
use crate::store::run;

/// A supplier as stored.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct SupplierRow {
    /// Row id.
    pub id: SupplierId,
    /// Shop's code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Default lead time.
    pub lead_time_days: i64,
}

/// Every supplier's id by its code.
pub async fn ids_by_code(
    conn: &mut Conn,
) -> anyhow::Result<std::collections::HashMap<String, SupplierId>> {
    let rows: Vec<(String, SupplierId)> = run!(
        conn,
        sqlx::query_as("SELECT code, id FROM suppliers"),
        fetch_all
    )?;
    Ok(rows.into_iter().collect())
}

/// Looks a supplier up by code.
pub async fn by_code(conn: &mut Conn, code: &str) -> anyhow::Result<Option<SupplierRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT id, code, name, email, phone, lead_time_days FROM suppliers WHERE code = $1",
        )
        .bind(code),
        fetch_optional
    )?)
}

/// Looks a supplier up by code or name (case-insensitive).
pub async fn by_code_or_name(conn: &mut Conn, key: &str) -> anyhow::Result<Option<SupplierRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT id, code, name, email, phone, lead_time_days FROM suppliers
         WHERE UPPER(code) = UPPER($1) OR UPPER(name) = UPPER($1) ORDER BY code <> $1 LIMIT 1",
        )
        .bind(key),
        fetch_optional
    )?)
}

/// Inserts or updates by code; returns whether anything changed.
pub async fn upsert(conn: &mut Conn, s: &SupplierRow) -> anyhow::Result<bool> {
    let done = run!(conn, sqlx::query(
        "INSERT INTO suppliers (code, name, email, phone, lead_time_days) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, email = excluded.email,
           phone = excluded.phone, lead_time_days = excluded.lead_time_days
         WHERE suppliers.name IS DISTINCT FROM excluded.name OR suppliers.email IS DISTINCT FROM excluded.email
           OR suppliers.phone IS DISTINCT FROM excluded.phone OR suppliers.lead_time_days IS DISTINCT FROM excluded.lead_time_days",
    )
    .bind(&s.code)
    .bind(&s.name)
    .bind(&s.email)
    .bind(&s.phone)
    .bind(s.lead_time_days), execute)?;
    Ok(done > 0)
}
