//! Customers: upserted by the shop's id, in one statement; a tier change re-ranks their open
//! backorders.

use super::{ImportReport, Problems, Row};
use crate::app::AppResult;
use crate::domain::customer::parse_timezone;
use crate::domain::{
    text, Channel, CustomerId, CustomerRef, EmailAddress, PhoneNumber, ProductId, Tier,
};
use crate::store::{self, customers::CustomerRow, Conn};

/// A checked customer row.
pub(super) type Customer = CustomerRow;

pub(super) fn parse(rows: &[Row], p: &mut Problems) -> Vec<Customer> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id = p.required(row, "id", |s| CustomerRef::parse(s).map(|r| r.to_string()));
        let name = p.required(row, "name", text::name);
        let email = p.cell(row, "email", EmailAddress::parse);
        let phone = p.cell(row, "phone", PhoneNumber::parse);
        let tier = p.cell(row, "tier", Tier::parse).unwrap_or(Tier::Standard);
        let channel = p
            .cell(row, "channel", Channel::parse)
            .unwrap_or(Channel::Email);
        let tz = p
            .cell(row, "timezone", parse_timezone)
            .unwrap_or_else(|| "UTC".to_string());
        if channel == Channel::Sms && phone.is_none() && row.get("phone").is_none() {
            p.add(row.line, "phone", "is needed when channel is sms");
        }
        if channel == Channel::Email && email.is_none() && row.get("email").is_none() {
            p.add(row.line, "email", "is needed when channel is email");
        }
        if let (Some(external_id), Some(name)) = (id, name) {
            out.push(CustomerRow {
                id: CustomerId(0),
                external_id,
                name,
                email: email.map(|e| e.expose().to_string()),
                phone: phone.map(|p| p.expose().to_string()),
                tier,
                channel,
                timezone: tz,
                sms_opt_out: false,
                email_opt_out: false,
            });
        }
    }
    out
}

pub(super) async fn stage(conn: &mut Conn, rows: &[Customer]) -> AppResult<()> {
    store::import::stage_customers(conn, rows).await?;
    Ok(())
}

/// Returns the products of open backorders whose customer changed tier.
pub(super) async fn apply(conn: &mut Conn, report: &mut ImportReport) -> AppResult<Vec<ProductId>> {
    let (changed, retiered) = store::import::apply_customers(conn).await?;
    report.changed = changed;
    report.unchanged = report.rows - changed;
    Ok(retiered)
}
