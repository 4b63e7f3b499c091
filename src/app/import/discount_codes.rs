//! Discount codes: the incentives pool, added by code. A code already issued keeps what the
//! customer was told: a row changing its kind or value is refused.

use super::{ImportReport, Problems, Row};
use crate::app::AppResult;
use crate::domain::incentive::{CodeKind, CodeValue, DiscountCode};
use crate::store::{self, incentives::CodeIn, Conn};
use std::collections::HashMap;

/// Checks every row: the code, its kind (default `discount`) and value; a code twice in one file
/// (in any case) is refused at its second line.
pub(super) fn parse(rows: &[Row], p: &mut Problems) -> Vec<CodeIn> {
    let mut out = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let code = p.required(row, "code", DiscountCode::parse);
        let kind = match row.get("kind") {
            None => Some(CodeKind::Discount),
            Some(_) => p.cell(row, "kind", CodeKind::parse),
        };
        let value = kind.and_then(|k| match CodeValue::parse(k, row.get("value")) {
            Ok(v) => Some(v),
            Err(e) => {
                p.add(row.line, "value", e);
                None
            }
        });
        let Some(code) = code else { continue };
        if let Some(first) = seen.get(&code.as_str().to_ascii_uppercase()) {
            p.add(
                row.line,
                "code",
                format!("\"{code}\" is already on line {first}"),
            );
            continue;
        }
        seen.insert(code.as_str().to_ascii_uppercase(), row.line);
        if let Some(value) = value {
            out.push(CodeIn {
                line: row.line,
                code: code.as_str().to_string(),
                kind: value.kind(),
                percent: value.percent(),
            });
        }
    }
    out
}

pub(super) async fn stage(conn: &mut Conn, rows: &[CodeIn]) -> AppResult<()> {
    store::incentives::stage_codes(conn, rows).await?;
    Ok(())
}

/// Adds and updates codes; a refill lets the next time the pool runs dry warn again.
pub(super) async fn apply(
    conn: &mut Conn,
    report: &mut ImportReport,
    p: &mut Problems,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    for c in store::incentives::issued_conflicts(conn).await? {
        p.add(
            c.line as usize,
            "value",
            format!(
                "\"{}\" was already issued to backorder #{} with another kind or value; what the customer was told cannot change",
                c.code, c.backorder_id
            ),
        );
    }
    report.changed = store::incentives::apply_codes(conn, now).await?;
    report.unchanged = report.rows - report.changed;
    if store::incentives::pool_counts(conn).await?.0 > 0 {
        store::incentives::clear_dry(conn).await?;
    }
    Ok(())
}
