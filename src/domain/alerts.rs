//! Low-stock alerts: projected stock, severity, suggestions, and the per-(rule, SKU) state
//! machine that decides what a run posts (first fire, escalation, repeat, resolve, snooze).

use super::forecast::Method;
use super::markup::data;
use super::ProductId;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

/// How bad a SKU's stock is, lowest first (so `Ord` ranks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Runs out before the next inbound arrives, at the recent sales rate.
    AtRisk,
    /// Projected stock at or below the reorder point.
    Low,
    /// Projected stock below safety stock.
    Critical,
    /// Nothing available and customers or demand waiting.
    Out,
}

impl Severity {
    /// Most severe first.
    pub const ALL: [Severity; 4] = [
        Severity::Out,
        Severity::Critical,
        Severity::Low,
        Severity::AtRisk,
    ];

    /// Word for chat.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Out => "OUT",
            Severity::Critical => "CRITICAL",
            Severity::Low => "LOW",
            Severity::AtRisk => "AT RISK",
        }
    }

    /// Stored and JSON form: `out|critical|low|at_risk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Out => "out",
            Severity::Critical => "critical",
            Severity::Low => "low",
            Severity::AtRisk => "at_risk",
        }
    }

    /// Reads the stored or configured form (`at-risk` and any case accepted).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "out" => Ok(Severity::Out),
            "critical" => Ok(Severity::Critical),
            "low" => Ok(Severity::Low),
            "at_risk" => Ok(Severity::AtRisk),
            _ => Err(format!(
                "\"{raw}\" is not a severity (out, critical, low or at_risk)"
            )),
        }
    }

    fn marker(self) -> &'static str {
        match self {
            Severity::Out => "⛔",
            Severity::Critical => "🔴",
            Severity::Low => "🟠",
            Severity::AtRisk => "🟡",
        }
    }
}

/// Where an alert run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Done,
    Failed,
    /// Taken for dead: it ran longer than a run can.
    Abandoned,
}

impl RunStatus {
    /// Every status.
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Running,
        RunStatus::Done,
        RunStatus::Failed,
        RunStatus::Abandoned,
    ];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Abandoned => "abandoned",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which SKUs a rule looks at; empty lists mean all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Product categories.
    pub categories: Vec<String>,
    /// Supplier codes.
    pub suppliers: Vec<String>,
    /// SKU prefix (case-insensitive).
    pub sku_prefix: Option<String>,
}

/// One configured alert rule, parsed and known good.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// Unique name.
    pub name: String,
    /// When it runs.
    pub schedule: crate::domain::schedule::CronSchedule,
    /// The wall clock of `schedule`.
    pub timezone: chrono_tz::Tz,
    /// Discord channel of its posts.
    pub channel_id: u64,
    /// SKUs in scope.
    pub scope: Scope,
    /// Lowest severity that fires.
    pub min_severity: Severity,
    /// A still-firing SKU is posted again after this.
    pub repeat_interval: Duration,
    /// Resolve only above reorder point × (1 + margin).
    pub resolve_margin: f64,
}

/// Parses a margin written `10%` or `0.1`.
pub fn parse_margin(raw: &str) -> Result<f64, String> {
    let s = raw.trim();
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => s.parse::<f64>(),
    }
    .map_err(|_| format!("\"{raw}\" is not a margin like 10%"))?;
    if !(0.0..=10.0).contains(&v) || !v.is_finite() {
        return Err(format!("\"{raw}\" must be between 0% and 1000%"));
    }
    Ok(v)
}

/// The daily sales rate used for AT_RISK and days of cover of a SKU without a stored forecast
/// ([`RateSource::SalesMean`]): a trailing average of the ledger's sales over the last
/// `window_days` UTC days, today included (the store sums them from its per-day totals). A SKU
/// with a stored forecast uses the forecast's units per day instead. The store's AT_RISK
/// prefilter (`store::alerts::evaluation_sql`) mirrors both: rate = units / days and no rate
/// without sales here, the stored rate there, so a change to either changes that filter too
/// (`tests/alert_aggregates.rs` compares the evaluation with a brute-force one and catches a
/// mismatch).
pub fn daily_sales_rate(units_sold: i64, window_days: i64) -> f64 {
    if window_days <= 0 || units_sold <= 0 {
        0.0
    } else {
        units_sold as f64 / window_days as f64
    }
}

/// Days of sales history behind [`daily_sales_rate`] (whole UTC days, today included).
pub const SALES_WINDOW_DAYS: i64 = 28;

/// The figures of one SKU an evaluation needs, as read from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuFigures {
    /// Product id.
    pub product_id: ProductId,
    /// As the shop spells it.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Supplier code, if any.
    pub supplier: Option<String>,
    /// Units on hand.
    pub on_hand: i64,
    /// Units allocated.
    pub allocated: i64,
    /// Open backorders.
    pub open_backorders: i64,
    /// Units owed to open backorders.
    pub backorder_units: i64,
    /// Inbound units whose ETA falls within the lead time.
    pub inbound_within_lead: i64,
    /// All inbound units.
    pub inbound_total: i64,
    /// Earliest inbound ETA.
    pub next_eta: Option<NaiveDate>,
    /// Reorder point.
    pub reorder_point: i64,
    /// Safety stock.
    pub safety_stock: i64,
    /// Reorder quantity.
    pub reorder_qty: i64,
    /// Supplier (or product) lead time in days.
    pub lead_time_days: i64,
    /// Units per day expected: the stored forecast's, or the recent average (see
    /// [`daily_sales_rate`]), as `rate_source` says.
    pub daily_sales: f64,
    pub rate_source: RateSource,
}

/// Where a SKU's daily rate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    /// The stored forecast (`forecast --refresh`, the nightly job) and its method.
    Forecast(Method),
    /// The [`SALES_WINDOW_DAYS`]-day mean of the ledger's sales: no stored forecast.
    SalesMean,
}

impl RateSource {
    /// As an alert line says it: `forecast: croston`, `28-day mean`.
    pub fn label(self) -> String {
        match self {
            RateSource::Forecast(m) => format!("forecast: {m}"),
            RateSource::SalesMean => format!("{SALES_WINDOW_DAYS}-day mean"),
        }
    }

    /// JSON and CSV form: the method (`ses|croston|sba`) or `mean_28d`.
    pub fn as_str(self) -> &'static str {
        match self {
            RateSource::Forecast(m) => m.as_str(),
            RateSource::SalesMean => "mean_28d",
        }
    }
}

impl SkuFigures {
    /// On hand − allocated: see [`super::stock::available`].
    pub fn available(&self) -> i64 {
        super::stock::available(self.on_hand, self.allocated)
    }

    /// On hand − allocated − open backorder units + inbound within the lead time.
    pub fn projected(&self) -> i64 {
        self.available() - self.backorder_units + self.inbound_within_lead
    }

    /// Days the free stock (available − backorder units) lasts at the sales rate: 0 when none is
    /// left, `None` with stock but no sales.
    pub fn days_of_cover(&self) -> Option<f64> {
        let free =
            super::stock::free_to_promise(self.on_hand, self.allocated, self.backorder_units);
        if free == 0 {
            Some(0.0)
        } else {
            (self.daily_sales > 0.0).then(|| free as f64 / self.daily_sales)
        }
    }

    /// Units to order to get back up to reorder point + reorder quantity. With a forecast, the
    /// reorder point counts as at least the demand it forecasts over the lead time, so a SKU
    /// selling faster than its reorder point was set for is ordered enough to last until the
    /// order can arrive.
    pub fn suggested_order(&self) -> i64 {
        let point = match self.rate_source {
            RateSource::Forecast(_) => self
                .reorder_point
                .max((self.daily_sales * self.lead_time_days as f64).ceil() as i64),
            RateSource::SalesMean => self.reorder_point,
        };
        (point + self.reorder_qty - self.projected()).max(0)
    }

    /// The severity, if any, at `today`.
    pub fn severity(&self, today: NaiveDate) -> Option<Severity> {
        let projected = self.projected();
        if self.available() <= 0 && (self.open_backorders > 0 || self.daily_sales > 0.0) {
            return Some(Severity::Out);
        }
        if projected < self.safety_stock {
            return Some(Severity::Critical);
        }
        if projected <= self.reorder_point {
            return Some(Severity::Low);
        }
        let cover = self.days_of_cover()?;
        // Without inbound the earliest replenishment is one lead time away.
        let horizon = match self.next_eta {
            Some(eta) => (eta - today).num_days().max(0),
            None => self.lead_time_days,
        };
        (cover < horizon as f64).then_some(Severity::AtRisk)
    }

    /// Whether stock has recovered far enough above the reorder point to resolve.
    pub fn recovered(&self, resolve_margin: f64) -> bool {
        self.projected() as f64 > self.reorder_point as f64 * (1.0 + resolve_margin)
    }
}

/// What a rule evaluation found for one SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The figures.
    pub figures: SkuFigures,
    /// Severity now (`None`: not firing, listed only because it may resolve).
    pub severity: Option<Severity>,
}

/// Stored state of one (rule, SKU) alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertState {
    /// Current severity.
    pub severity: Severity,
    /// Firing since.
    pub since: DateTime<Utc>,
    /// When it was last posted (`None`: never, e.g. snoozed from the start).
    pub last_notified: Option<DateTime<Utc>>,
    /// Severity last posted.
    pub notified_severity: Option<Severity>,
}

/// Why a SKU appears in a run's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Started firing (or first post after a snooze).
    New,
    /// Got worse than what was last posted.
    Escalated,
    /// Still firing and `repeat_interval` has passed.
    Repeat,
    /// Cleared with margin.
    Resolved,
}

impl Change {
    fn label(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Escalated => "worse",
            Change::Repeat => "still",
            Change::Resolved => "resolved",
        }
    }
}

/// The outcome of one SKU in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What to post, if anything.
    pub post: Option<Change>,
    /// The state to keep (`None`: delete it).
    pub state: Option<AlertState>,
}

/// Alert semantics per (rule, SKU). `firing` is the severity if it meets the rule's minimum.
pub fn step(
    prev: Option<&AlertState>,
    firing: Option<Severity>,
    recovered: bool,
    snoozed: bool,
    now: DateTime<Utc>,
    repeat_interval: Duration,
) -> Step {
    match (prev, firing) {
        (None, None) => Step {
            post: None,
            state: None,
        },
        (None, Some(sev)) => {
            let post = (!snoozed).then_some(Change::New);
            Step {
                post,
                state: Some(AlertState {
                    severity: sev,
                    since: now,
                    last_notified: post.map(|_| now),
                    notified_severity: post.map(|_| sev),
                }),
            }
        }
        (Some(p), Some(sev)) => {
            let mut state = AlertState {
                severity: sev,
                ..p.clone()
            };
            let post = if snoozed {
                None
            } else {
                match (p.notified_severity, p.last_notified) {
                    (None, _) | (_, None) => Some(Change::New),
                    (Some(n), _) if sev > n => Some(Change::Escalated),
                    (_, Some(at)) if now - at >= repeat_interval => Some(Change::Repeat),
                    _ => None,
                }
            };
            if post.is_some() {
                state.last_notified = Some(now);
                state.notified_severity = Some(sev);
            }
            Step {
                post,
                state: Some(state),
            }
        }
        (Some(p), None) if recovered => Step {
            // Only a resolve of something people saw is worth a line.
            post: (p.last_notified.is_some() && !snoozed).then_some(Change::Resolved),
            state: None,
        },
        // Below the minimum but not clear of the reorder point by the margin: stay quiet, keep it.
        (Some(p), None) => Step {
            post: None,
            state: Some(p.clone()),
        },
    }
}

/// One line of a run's message.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLine {
    /// Why it is posted.
    pub change: Change,
    /// Severity (the last firing one for a resolve).
    pub severity: Severity,
    /// Figures.
    pub figures: SkuFigures,
}

impl AlertLine {
    /// `⛔ OUT TENT-2P Tent 2P — avail 0 · inbound 20 (ETA 2026-12-01) · 3 BO · cover 0.0d · 28-day mean · suggested order 40 [new]`
    pub fn text(&self) -> String {
        let f = &self.figures;
        if self.change == Change::Resolved {
            return format!(
                "✅ resolved {} {} — projected {} (reorder point {})",
                f.sku,
                data(&f.name),
                f.projected(),
                f.reorder_point
            );
        }
        let eta = f
            .next_eta
            .map(|d| format!(" (ETA {d})"))
            .unwrap_or_default();
        let cover = f
            .days_of_cover()
            .map(|d| format!("{d:.1}d"))
            .unwrap_or_else(|| "n/a".into());
        format!(
            "{} {} {} {} — avail {} · inbound {}{} · {} BO · cover {} · {} · suggested order {} [{}]",
            self.severity.marker(),
            self.severity.label(),
            f.sku,
            data(&f.name),
            f.available(),
            f.inbound_total,
            eta,
            f.open_backorders,
            cover,
            f.rate_source.label(),
            f.suggested_order(),
            self.change.label()
        )
    }
}

/// Sorts lines most severe first, resolves last, then by SKU.
pub fn sort_lines(lines: &mut [AlertLine]) {
    lines.sort_by(|a, b| {
        let rank = |l: &AlertLine| {
            if l.change == Change::Resolved {
                0
            } else {
                1 + l.severity as u8
            }
        };
        rank(b)
            .cmp(&rank(a))
            .then_with(|| a.figures.sku.cmp(&b.figures.sku))
    });
}

/// Suggested quantities grouped per supplier: a draft purchase order each.
pub fn draft_orders(lines: &[AlertLine]) -> BTreeMap<String, Vec<(String, i64)>> {
    let mut out: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.change != Change::Resolved) {
        let qty = l.figures.suggested_order();
        if qty > 0 {
            let supplier = l
                .figures
                .supplier
                .clone()
                .unwrap_or_else(|| "(no supplier)".into());
            out.entry(supplier)
                .or_default()
                .push((l.figures.sku.clone(), qty));
        }
    }
    out
}

/// Discord's limit on a message's `content`.
pub const CONTENT_LIMIT: usize = 2000;

/// A message ready to post: text within Discord's limit and, when lines did not fit, the full
/// list as a CSV attachment.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertMessage {
    /// The message text (at most [`CONTENT_LIMIT`] characters).
    pub content: String,
    /// `(file name, CSV)` when some lines are only in the attachment.
    pub attachment: Option<(String, String)>,
}

/// Builds one message for a run: summary (counts per severity), the lines most severe first,
/// and, beyond the limit, "… and N more" plus the whole list as CSV.
pub fn build_message(rule: &str, lines: &[AlertLine], limit: usize) -> AlertMessage {
    let mut counts = BTreeMap::new();
    let mut resolved = 0;
    for l in lines {
        if l.change == Change::Resolved {
            resolved += 1;
        } else {
            *counts.entry(l.severity).or_insert(0usize) += 1;
        }
    }
    let mut summary: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| counts.get(s).map(|n| format!("{n} {}", s.label())))
        .collect();
    if resolved > 0 {
        summary.push(format!("{resolved} resolved"));
    }
    let header = format!("**Low stock: {rule}** — {}", summary.join(", "));
    let mut sorted = lines.to_vec();
    sort_lines(&mut sorted);
    let drafts = draft_orders(&sorted);
    let draft_text = if drafts.is_empty() {
        String::new()
    } else {
        let mut t = String::from("\nDraft POs: ");
        let parts: Vec<String> = drafts
            .iter()
            .map(|(sup, items)| {
                let units: i64 = items.iter().map(|(_, q)| q).sum();
                format!("{} {} SKUs / {units} units", data(sup), items.len())
            })
            .collect();
        t.push_str(&parts.join("; "));
        t
    };
    let mut content = header;
    let mut shown = 0;
    // Room for the "… and N more" line and the draft summary, whatever N is.
    let reserve = 40 + draft_text.chars().count().min(limit / 4);
    let mut used = content.chars().count();
    for l in &sorted {
        let line = l.text();
        let n = line.chars().count() + 1;
        if used + n + reserve > limit {
            break;
        }
        content.push('\n');
        content.push_str(&line);
        used += n;
        shown += 1;
    }
    let more = sorted.len() - shown;
    let attachment = if more > 0 {
        content.push_str(&format!("\n… and {more} more (full list attached)"));
        Some((format!("lowstock-{}.csv", slug(rule)), to_csv(&sorted)))
    } else {
        None
    };
    let room = limit.saturating_sub(content.chars().count());
    if !draft_text.is_empty() && room > 0 {
        let d: String = draft_text.chars().take(room).collect();
        content.push_str(&d);
    }
    AlertMessage {
        content,
        attachment,
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Every line as CSV ([`csv_file::write`]), including the draft PO quantities: names and codes
/// are text cells, figures are numbers.
pub fn to_csv(lines: &[AlertLine]) -> String {
    use super::csv_file::{self, Cell};
    const HEADER: [&str; 13] = [
        "change",
        "severity",
        "sku",
        "name",
        "supplier",
        "available",
        "projected",
        "inbound",
        "next_eta",
        "open_backorders",
        "days_of_cover",
        "suggested_order",
        "daily_sales_source",
    ];
    csv_file::write(
        &HEADER,
        lines.iter().map(|l| {
            let f = &l.figures;
            vec![
                Cell::text(l.change.label()),
                Cell::text(l.severity.as_str()),
                Cell::text(f.sku.as_str()),
                Cell::text(f.name.as_str()),
                Cell::text(f.supplier.as_deref().unwrap_or("")),
                Cell::int(f.available()),
                Cell::int(f.projected()),
                Cell::int(f.inbound_total),
                f.next_eta
                    .map_or_else(Cell::empty, |d| Cell::text(d.to_string())),
                Cell::int(f.open_backorders),
                f.days_of_cover()
                    .map_or_else(Cell::empty, |d| Cell::decimal(d, 1)),
                Cell::int(if l.change == Change::Resolved {
                    0
                } else {
                    f.suggested_order()
                }),
                Cell::text(f.rate_source.as_str()),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub(crate) fn figures(sku: &str, on_hand: i64) -> SkuFigures {
        SkuFigures {
            product_id: ProductId(1),
            sku: sku.into(),
            name: format!("Product {sku}"),
            supplier: Some("ACME".into()),
            on_hand,
            allocated: 0,
            open_backorders: 0,
            backorder_units: 0,
            inbound_within_lead: 0,
            inbound_total: 0,
            next_eta: None,
            reorder_point: 10,
            safety_stock: 3,
            reorder_qty: 20,
            lead_time_days: 14,
            daily_sales: 0.0,
            rate_source: RateSource::SalesMean,
        }
    }

    const TODAY: &str = "2026-11-26";

    #[test]
    fn projected_stock_counts_allocations_backorders_and_inbound_within_lead_time() {
        let mut f = figures("A", 12);
        f.allocated = 2;
        f.backorder_units = 4;
        f.inbound_within_lead = 5;
        f.inbound_total = 30;
        assert_eq!(f.available(), 10);
        assert_eq!(f.projected(), 11);
        assert_eq!(f.suggested_order(), 19);
    }

    #[test]
    fn severities_rank_out_critical_low_at_risk() {
        let today = day(TODAY);
        let mut f = figures("A", 0);
        assert_eq!(f.severity(today), Some(Severity::Critical));
        f.open_backorders = 1;
        f.backorder_units = 1;
        assert_eq!(f.severity(today), Some(Severity::Out));
        let f = figures("B", 2);
        assert_eq!(f.severity(today), Some(Severity::Critical));
        let f = figures("C", 10);
        assert_eq!(f.severity(today), Some(Severity::Low));
        let mut f = figures("D", 40);
        assert_eq!(f.severity(today), None);
        f.daily_sales = 4.0; // 10 days of cover, next inbound in 14 days (lead time)
        assert_eq!(f.severity(today), Some(Severity::AtRisk));
        f.next_eta = Some(day("2026-12-01"));
        assert_eq!(f.severity(today), None);
        assert_eq!(f.days_of_cover(), Some(10.0));
        assert!(Severity::Out > Severity::Critical && Severity::Low > Severity::AtRisk);
    }

    #[test]
    fn a_forecast_rate_sets_cover_and_the_lead_time_demand_floors_the_order_target() {
        let mut f = figures("A", 30);
        f.daily_sales = 2.5;
        assert_eq!(f.days_of_cover(), Some(12.0));
        // Without a forecast: reorder point 10 + reorder qty 20 − projected 30.
        assert_eq!(f.suggested_order(), 0);
        f.rate_source = RateSource::Forecast(Method::Sba);
        // With one: the reorder point counts as at least 2.5 × 14 = 35 → 35 + 20 − 30.
        assert_eq!(f.suggested_order(), 25);
        let line = AlertLine {
            change: Change::New,
            severity: Severity::AtRisk,
            figures: f,
        };
        assert!(
            line.text()
                .ends_with("cover 12.0d · forecast: sba · suggested order 25 [new]"),
            "{}",
            line.text()
        );
        assert_eq!(RateSource::SalesMean.label(), "28-day mean");
        assert!(to_csv(&[line]).lines().nth(1).unwrap().ends_with(",25,sba"));
    }

    #[test]
    fn sales_rate_is_a_trailing_average() {
        assert_eq!(daily_sales_rate(56, 28), 2.0);
        assert_eq!(daily_sales_rate(0, 28), 0.0);
        assert_eq!(daily_sales_rate(5, 0), 0.0);
    }

    fn t(day: i64) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 1, 7, 0, 0).unwrap()
            + Duration::days(day)
    }

    /// Runs a sequence of daily evaluations of one SKU; returns what each day posted.
    fn simulate(days: &[(i64, bool)], min: Severity) -> Vec<Option<Change>> {
        let mut state: Option<AlertState> = None;
        let mut out = vec![];
        for (i, (on_hand, snoozed)) in days.iter().enumerate() {
            let f = figures("A", *on_hand);
            let firing = f.severity(day(TODAY)).filter(|s| *s >= min);
            let s = step(
                state.as_ref(),
                firing,
                f.recovered(0.1),
                *snoozed,
                t(i as i64),
                Duration::hours(24 * 3),
            );
            state = s.state;
            out.push(s.post);
        }
        out
    }

    #[test]
    fn first_fire_then_quiet_then_repeat_after_the_interval() {
        let got = simulate(
            &[(9, false), (9, false), (8, false), (9, false), (9, false)],
            Severity::Low,
        );
        assert_eq!(
            got,
            vec![Some(Change::New), None, None, Some(Change::Repeat), None]
        );
    }

    #[test]
    fn escalation_posts_at_once_and_de_escalation_does_not() {
        let got = simulate(
            &[(9, false), (2, false), (9, false), (2, false)],
            Severity::Low,
        );
        assert_eq!(
            got,
            vec![Some(Change::New), Some(Change::Escalated), None, None]
        );
    }

    #[test]
    fn hysteresis_resolves_only_above_the_margin() {
        // Reorder point 10, margin 10%: 11 is not enough, 12 is.
        let got = simulate(
            &[
                (9, false),
                (11, false),
                (10, false),
                (11, false),
                (12, false),
                (13, false),
            ],
            Severity::Low,
        );
        assert_eq!(
            got,
            vec![
                Some(Change::New),
                None,
                None,
                None,
                Some(Change::Resolved),
                None
            ]
        );
    }

    #[test]
    fn snoozed_skus_stay_quiet_and_post_when_the_snooze_ends() {
        let got = simulate(
            &[(9, true), (9, true), (9, false), (9, false), (20, true)],
            Severity::Low,
        );
        assert_eq!(got, vec![None, None, Some(Change::New), None, None]);
    }

    #[test]
    fn below_the_minimum_severity_nothing_posts() {
        let got = simulate(&[(9, false), (2, false), (20, false)], Severity::Critical);
        assert_eq!(got, vec![None, Some(Change::New), Some(Change::Resolved)]);
    }

    fn line(i: usize, sev: Severity) -> AlertLine {
        AlertLine {
            change: Change::New,
            severity: sev,
            figures: figures(&format!("SKU-{i:05}"), 1),
        }
    }

    #[test]
    fn thousands_of_lines_fit_the_limit_with_the_rest_attached() {
        let lines: Vec<AlertLine> = (0..5000).map(|i| line(i, Severity::ALL[i % 4])).collect();
        let m = build_message("nightly", &lines, CONTENT_LIMIT);
        assert!(m.content.chars().count() <= CONTENT_LIMIT);
        assert!(
            m.content.starts_with(
                "**Low stock: nightly** — 1250 OUT, 1250 CRITICAL, 1250 LOW, 1250 AT RISK"
            ),
            "{}",
            m.content
        );
        let shown = m.content.lines().filter(|l| l.contains("SKU-")).count();
        assert!(shown > 5, "{shown}");
        assert!(m.content.contains(&format!("… and {} more", 5000 - shown)));
        // Most severe first.
        let first = m.content.lines().nth(1).unwrap();
        assert!(first.contains("OUT"), "{first}");
        let (name, csv) = m.attachment.unwrap();
        assert_eq!(name, "lowstock-nightly.csv");
        assert_eq!(csv.lines().count(), 5001);
    }

    #[test]
    fn a_short_list_has_no_attachment() {
        let lines = vec![line(1, Severity::Low), line(2, Severity::Out)];
        let m = build_message("r", &lines, CONTENT_LIMIT);
        assert!(m.attachment.is_none());
        assert!(
            m.content.contains("Draft POs: ACME 2 SKUs"),
            "{}",
            m.content
        );
        let order: Vec<&str> = m.content.lines().skip(1).take(2).collect();
        assert!(order[0].contains("SKU-00002") && order[1].contains("SKU-00001"));
    }

    proptest! {
        #[test]
        fn messages_never_exceed_the_limit(n in 0usize..600, name_len in 0usize..300) {
            let lines: Vec<AlertLine> = (0..n).map(|i| {
                let mut l = line(i, Severity::ALL[i % 4]);
                l.figures.name = "x".repeat(name_len);
                l.figures.supplier = Some(format!("SUP{}", i % 37));
                l
            }).collect();
            let m = build_message("rule", &lines, CONTENT_LIMIT);
            prop_assert!(m.content.chars().count() <= CONTENT_LIMIT);
            if let Some((_, csv)) = &m.attachment {
                prop_assert_eq!(csv.lines().count(), n + 1);
            }
        }

        #[test]
        fn a_firing_sku_is_never_posted_twice_within_the_interval(
            stock in proptest::collection::vec(0i64..30, 1..40)
        ) {
            let mut state: Option<AlertState> = None;
            let mut last_post: Option<(i64, Severity)> = None;
            for (i, s) in stock.iter().enumerate() {
                let f = figures("A", *s);
                let firing = f.severity(day(TODAY));
                let st = step(state.as_ref(), firing, f.recovered(0.1), false, t(i as i64), Duration::days(3));
                if let (Some(c), Some((at, sev))) = (st.post, last_post) {
                    if c != Change::Resolved && c != Change::New {
                        prop_assert!(i as i64 - at >= 3 || firing.unwrap() > sev);
                    }
                }
                if let Some(c) = st.post {
                    last_post = (c != Change::Resolved).then(|| (i as i64, firing.unwrap()));
                }
                state = st.state;
            }
        }
    }
}
