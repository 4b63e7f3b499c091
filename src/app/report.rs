//! `/report [days:]`: what backorders cost the shop and how the process is doing, over a window.

use super::{App, AppResult};
use crate::domain::notify::MessageStatus;
use crate::domain::report::{
    open_per_day, supplier_delivery, FulfilTimes, LineRates, MessageCounts, OpenBackorders,
    Receipts, ReportDays, SupplierDelivery, Tally,
};
use crate::domain::{Money, ProductId};
use crate::store::report::{self as queries, Span};
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// SKUs in the top list.
pub const TOP_SKUS: i64 = 5;

/// A SKU among the most backordered of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackorderedSku {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    /// Backorders created in the window, their units and value.
    pub tally: Tally,
}

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct BackorderReport {
    pub days: ReportDays,
    /// The window: `days` × 24 hours up to `to`, which is now.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Open now (not windowed).
    pub open: OpenBackorders,
    pub lines: LineRates,
    pub fulfil: FulfilTimes,
    /// Backorders cancelled in the window.
    pub lost: Tally,
    pub messages: MessageCounts,
    pub top_skus: Vec<BackorderedSku>,
    pub suppliers: Vec<SupplierDelivery>,
    /// Open backorders at the end of each UTC day of the window, the last one (today) as of now:
    /// `days` points.
    pub open_over_time: Vec<(NaiveDate, i64)>,
}

/// Reads the report for the last `days` days, as of now, in one read transaction.
pub async fn report(app: &App, days: ReportDays) -> AppResult<BackorderReport> {
    let to = app.clock.now();
    let from = to - Duration::days(i64::from(days.get()));
    let span = Span { from, to };
    let mut reader = app.store.reader().await?;
    let mut tx = crate::store::begin_on(&mut reader, crate::store::Begin::Snapshot).await?;
    let ages = queries::open_backorders_by_age(&mut tx, to).await?;
    let (lines, backordered) = queries::order_lines_in(&mut tx, span).await?;
    let hours = queries::hours_to_allocation(&mut tx, span).await?;
    let (lost_count, lost_units, lost_value) = queries::cancelled_in(&mut tx, span).await?;
    let inquiries = queries::inquiries_in(&mut tx, span).await?;
    let by_status: Vec<(MessageStatus, i64)> = queries::messages_by_status(&mut tx, span).await?;
    let top = queries::top_backordered_skus(&mut tx, span, TOP_SKUS).await?;
    let receipts = queries::receipts_in(&mut tx, span).await?;
    // The series' days: the `days` UTC days ending today.
    let last = to.date_naive();
    let first = last - Duration::days(i64::from(days.get()) - 1);
    let series_from = first
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let events = queries::open_events(
        &mut tx,
        Span {
            from: series_from,
            to,
        },
    )
    .await?;
    tx.commit().await?;
    let receipts: Vec<Receipts> = receipts
        .into_iter()
        .map(|r| Receipts {
            supplier: r.supplier,
            first_eta: r.first_eta,
            received: r.received,
            lines: r.lines,
        })
        .collect();
    Ok(BackorderReport {
        days,
        from,
        to,
        open: OpenBackorders::from_ages(ages.into_iter().map(|a| {
            (
                a.age_days,
                Tally {
                    count: a.count,
                    units: a.units,
                    value: Money(a.value_minor),
                },
            )
        })),
        lines: LineRates::new(lines, backordered),
        fulfil: FulfilTimes::from_hours(&hours),
        lost: Tally {
            count: lost_count,
            units: lost_units,
            value: Money(lost_value),
        },
        messages: MessageCounts::new(inquiries, &by_status),
        top_skus: top
            .into_iter()
            .map(|s| BackorderedSku {
                product_id: s.product_id,
                sku: s.sku,
                name: s.name,
                tally: Tally {
                    count: s.backorders,
                    units: s.units,
                    value: Money(s.value_minor),
                },
            })
            .collect(),
        suppliers: supplier_delivery(&receipts),
        open_over_time: open_per_day(
            first,
            last,
            events.open_before,
            &events.opened,
            &events.closed,
        ),
    })
}
