//! Use-case results → [`Reply`]. Customer names are shortened and contacts never shown. Every
//! value that came from outside (names, identifiers, reasons, notes) enters the reply through
//! [`data`], after any shortening.

use super::reply::{data, plural, Paging, Reply, Severity};
use super::spec::{CommandSpec, OptionKind, OptionSpec, Suggest};
use super::{usage, Invocation};
use crate::app::backorders::{BackorderDetail, BackorderPage, Changed, Sort};
use crate::app::customers::CustomerView;
use crate::app::page::Paged;
use crate::app::promise::Settled;
use crate::app::purchasing::{EtaSet, PoPage, PoView, Received};
use crate::app::stock::{Adjusted, StockReport};
use crate::app::AppError;
use crate::domain::contact::{mask_email, mask_name, mask_phone};
use crate::domain::promise::{Eta, EtaKind};
use crate::domain::{BackorderStatus, Money, PoStatus, StockStatus};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// `/help`
pub fn help() -> Reply {
    let mut r = Reply::new("Commands", Severity::Info);
    for c in super::specs() {
        let lock = if c.mutating { " (ops role)" } else { "" };
        r.lines
            .push(format!("{} — {}{lock}", usage(c), c.description));
    }
    r.footer = Some(HOW_TO_TYPE.to_string());
    r
}

const HOW_TO_TYPE: &str =
    "Values go in order (/stock TENT-2P) or as name:value, which may follow them; \
     quote values with spaces: \"carrier delay\". /help stock shows one command.";

/// A reason that fits the command, for examples.
fn example_reason(spec: &CommandSpec) -> &'static str {
    match (spec.name, spec.sub) {
        ("adjust", _) => "\"stock count\"",
        ("backorder", Some("cancel")) => "\"customer changed mind\"",
        ("backorder", Some("prioritize")) => "\"VIP customer\"",
        _ => "\"carrier delay\"",
    }
}

/// A plausible value for an option, for examples (the demo shop's names; dates two weeks from
/// `today`, so an example never names a day that has passed).
fn example_value(spec: &CommandSpec, o: &OptionSpec, today: NaiveDate) -> String {
    if let Some(c) = o.choices.first() {
        return (*c).to_string();
    }
    match (o.suggest, o.kind) {
        (Some(Suggest::Sku), _) => "TENT-2P".to_string(),
        (Some(Suggest::Po), _) => "PO-1001".to_string(),
        (Some(Suggest::Customer), _) => "C-1001".to_string(),
        (Some(Suggest::Command), _) => "stock".to_string(),
        (Some(Suggest::Backorder | Suggest::ActiveBackorder | Suggest::AllocatedBackorder), _) => {
            "1".to_string()
        }
        (None, OptionKind::Date) => (today + chrono::Days::new(14)).to_string(),
        (None, OptionKind::Boolean) => "true".to_string(),
        (None, OptionKind::Integer) => o.min_value.unwrap_or(1).max(1).to_string(),
        (None, OptionKind::Text) if o.name == "reason" => example_reason(spec).to_string(),
        (None, OptionKind::Text) => "…".to_string(),
    }
}

/// An example line: the required options in order, or the first optional one by name.
pub fn example(spec: &CommandSpec, today: NaiveDate) -> String {
    let mut out = super::usage_name(spec);
    let order = super::positional_order(spec);
    let required: Vec<_> = order.iter().filter(|o| o.required).collect();
    for o in &required {
        out.push(' ');
        out.push_str(&example_value(spec, o, today));
    }
    if required.is_empty() {
        if let Some(o) = order.first() {
            out.push_str(&format!(" {}:{}", o.name, example_value(spec, o, today)));
        }
    }
    out
}

/// `/help command:`: one command (each subcommand of a group) with options, choices, limits and
/// an example (dates in it relative to `today`).
pub fn help_for(name: &str, today: NaiveDate) -> Result<Reply, AppError> {
    let name = name.trim().trim_start_matches('/').to_ascii_lowercase();
    let mut parts = name.split_whitespace();
    let top = parts.next().unwrap_or_default().to_string();
    let sub = parts.next();
    let specs: Vec<&CommandSpec> = super::specs()
        .filter(|c| c.name == top && (sub.is_none() || c.sub == sub))
        .collect();
    if specs.is_empty() {
        return Err(AppError::invalid(
            "command",
            format!("unknown command /{name}; type /help for the list"),
        ));
    }
    let mut r = Reply::new(format!("/{name}"), Severity::Info);
    for spec in specs {
        let mut text = vec![spec.description.to_string()];
        if spec.mutating {
            text.push("Changes data: needs the ops role in Discord.".to_string());
        }
        for o in super::positional_order(spec) {
            let mut line = format!(
                "{}{} — {} ({}",
                o.name,
                if o.required { "" } else { " (optional)" },
                o.description,
                match o.kind {
                    OptionKind::Text => "text",
                    OptionKind::Integer => "whole number",
                    OptionKind::Boolean => "true or false",
                    OptionKind::Date => "YYYY-MM-DD",
                }
            );
            match (o.min_value, o.max_value) {
                (Some(min), Some(max)) => line.push_str(&format!(", {min}–{max}")),
                (Some(min), None) => line.push_str(&format!(", at least {min}")),
                (None, Some(max)) => line.push_str(&format!(", at most {max}")),
                (None, None) => {}
            }
            line.push(')');
            if !o.choices.is_empty() {
                line.push_str(&format!(": {}", o.choices.join(" | ")));
            }
            text.push(format!("  {line}"));
        }
        text.push(format!("Example: {}", example(spec, today)));
        r = r.field(usage(spec), text.join("\n"), false);
    }
    r.footer = Some(HOW_TO_TYPE.to_string());
    Ok(r)
}

fn eta_of(date: Option<NaiveDate>, kind: EtaKind) -> String {
    Eta { date, kind }.describe()
}

/// A backorder's ETA, or `None` once it is closed (fulfilled or cancelled): nothing is due then.
fn eta_while_active(
    status: BackorderStatus,
    date: Option<NaiveDate>,
    kind: EtaKind,
) -> Option<String> {
    status.is_active().then(|| eta_of(date, kind))
}

/// `2026-11-26T09:30:00Z`
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `/stock`
pub fn stock(s: &StockReport, currency: &str) -> Reply {
    let p = &s.position;
    let status = p.status();
    let severity = match status {
        StockStatus::Ok => Severity::Info,
        _ => Severity::Warning,
    };
    let mut r = Reply::new(
        format!("{} — {}", s.product.sku, data(&s.product.name)),
        severity,
    )
    .describe(format!("Status: **{}**", status.as_str()))
    .field("On hand", p.on_hand.to_string(), true)
    .field("Allocated", p.allocated.to_string(), true)
    .field("Available", p.available().to_string(), true)
    .field(
        "Open backorders",
        format!(
            "{} ({})",
            p.open_backorders,
            plural(p.backordered_units, "unit", "units")
        ),
        true,
    )
    .field("Reorder point", p.reorder_point.to_string(), true)
    .field("Safety stock", p.safety_stock.to_string(), true);
    let inbound = if p.inbound.is_empty() {
        "none".to_string()
    } else {
        p.inbound
            .iter()
            .take(10)
            .map(|l| {
                format!(
                    "{}: {} due {}",
                    data(&l.po_number),
                    l.qty,
                    l.eta.map_or("no ETA".to_string(), |d| d.to_string())
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    r = r.field(
        format!("Inbound ({})", plural(p.inbound_units(), "unit", "units")),
        inbound,
        false,
    );
    if !s.substitutes.is_empty() || !s.same_category.is_empty() {
        let alt: Vec<String> = s
            .substitutes
            .iter()
            .map(|a| {
                format!(
                    "{} — {} ({} available, substitute)",
                    a.sku,
                    data(&a.name),
                    a.available
                )
            })
            .chain(s.same_category.iter().map(|a| {
                format!(
                    "{} — {} ({} available, same category)",
                    a.sku,
                    data(&a.name),
                    a.available
                )
            }))
            .collect();
        r = r.field("In stock instead", alt.join("\n"), false);
    }
    r.footer = Some(format!(
        "Category {} · {} · supplier {}",
        if s.product.category.is_empty() {
            "—".to_string()
        } else {
            data(&s.product.category)
        },
        Money(s.product.unit_price_minor).format(currency),
        s.product
            .supplier_code
            .as_deref()
            .map_or("—".to_string(), data)
    ));
    r
}

/// `/search`: matches best first (in stock marked), or the closest products as "did you mean".
pub fn search(query: &str, result: &crate::app::search::SearchResult) -> Reply {
    let mut r = Reply::new(
        format!("Products matching \"{}\"", data(query)),
        Severity::Info,
    );
    let line = |p: &crate::domain::search::ProductHit| {
        let stock = if p.available > 0 {
            format!("{} available", p.available)
        } else {
            "out of stock".to_string()
        };
        format!("{} — {} ({stock})", p.sku, data(&p.name))
    };
    if result.hits.is_empty() {
        if result.did_you_mean.is_empty() {
            r.description = Some("No product matches.".to_string());
        } else {
            r.description = Some("No product matches. Did you mean:".to_string());
            r.lines = result.did_you_mean.iter().map(line).collect();
        }
    } else {
        r.lines = result.hits.iter().map(|h| line(&h.product)).collect();
        if result.more {
            r.description = Some(format!(
                "The best {} of more: add a word or more of the SKU to narrow it.",
                result.hits.len()
            ));
        }
    }
    r
}

fn age(ordered_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let days = (now - ordered_at).num_days().max(0);
    format!("{days}d")
}

/// `/backorders`
pub fn backorders(page: &BackorderPage, inv: &Invocation, now: DateTime<Utc>) -> Reply {
    let list = &page.list;
    let queue = page.sku.is_some() && list.rows.iter().any(|b| b.place.is_some());
    let title = match &page.sku {
        Some(sku) if queue => format!("Queue of {sku} ({} open)", list.nav.total),
        Some(sku) => format!("Backorders of {sku} ({})", list.nav.total),
        None => format!("Backorders ({})", list.nav.total),
    };
    let r = Reply::new(title, Severity::Info).describe(format!(
        "Order: {}{}",
        page.sort.describe(),
        if page.sort == Sort::Priority {
            " · sort:age, sort:eta or sort:value to change"
        } else {
            ""
        }
    ));
    listed(r, list, inv, |l| {
        let b = &l.row;
        let place = l.place.map_or(String::new(), |p| format!("{p}. "));
        let status = if b.status == BackorderStatus::Open {
            String::new()
        } else {
            format!(" — {}", b.status)
        };
        let eta = eta_while_active(b.status, b.promised_eta, b.eta_kind)
            .map_or(String::new(), |e| format!(" — ETA {e}"));
        format!(
            "{place}#{} {} × {} — {} ({}, {}) — score {:.1}{eta} — age {}{status}",
            b.id,
            b.qty,
            b.sku,
            data(&mask_name(&b.customer_name)),
            data(&b.customer_external_id),
            b.tier,
            l.score,
            age(b.ordered_at, now),
        )
    })
}

/// A list reply: a line a row ("None match." when there are none), and its paging.
pub(crate) fn listed<T>(
    mut r: Reply,
    page: &Paged<T>,
    inv: &Invocation,
    line: impl Fn(&T) -> String,
) -> Reply {
    if page.rows.is_empty() {
        r.description = Some("None match.".to_string());
    }
    r.lines = page.rows.iter().map(line).collect();
    r.paging = paging(page, inv);
    r
}

/// Paging of a list reply with more than one page.
fn paging<T>(page: &Paged<T>, inv: &Invocation) -> Option<Paging> {
    let nav = &page.nav;
    (nav.pages > 1 || nav.prev.is_some() || nav.next.is_some()).then(|| Paging {
        page: nav.page,
        pages: nav.pages,
        invocation: inv.with_page(nav.page),
        prev_key: nav.prev.clone(),
        next_key: nav.next.clone(),
    })
}

/// `/pos`
pub fn pos(page: &PoPage, inv: &Invocation) -> Reply {
    let late = page.rows.iter().filter(|p| p.late).count();
    let r = Reply::new(
        format!("Purchase orders ({})", page.nav.total),
        if late > 0 {
            Severity::Warning
        } else {
            Severity::Info
        },
    )
    .describe("Next ETA first; **LATE** = an ETA has passed and the line is not received.");
    listed(r, page, inv, |p| {
        let supplier = match (&p.supplier_code, &p.supplier_name) {
            (Some(code), Some(name)) => format!("{} ({})", data(name), data(code)),
            _ => "no supplier".to_string(),
        };
        format!(
            "{}{} — {supplier} — {}, {} to come — next ETA {}{}",
            if p.late { "**LATE** " } else { "" },
            data(&p.po_number),
            plural(p.lines, "line", "lines"),
            plural(p.units_open, "unit", "units"),
            p.next_eta.map_or("none".to_string(), |d| d.to_string()),
            if p.status == PoStatus::Open {
                String::new()
            } else {
                format!(" — {}", p.status.words())
            }
        )
    })
}

/// `/customer id:`: contacts masked.
pub fn customer(v: &CustomerView, currency: &str, inv: &Invocation) -> Reply {
    let c = &v.customer;
    let opt_outs: Vec<&str> = [(c.sms_opt_out, "SMS"), (c.email_opt_out, "e-mail")]
        .iter()
        .filter(|(out, _)| *out)
        .map(|(_, what)| *what)
        .collect();
    let mut r = Reply::new(
        format!(
            "Customer {} — {}",
            data(&c.external_id),
            data(&mask_name(&c.name))
        ),
        Severity::Info,
    )
    .field("Tier", c.tier.to_string(), true)
    .field("Channel", c.channel.to_string(), true)
    .field(
        "Opted out of",
        if opt_outs.is_empty() {
            "nothing".to_string()
        } else {
            opt_outs.join(", ")
        },
        true,
    )
    .field(
        "Phone",
        c.phone
            .as_deref()
            .map_or("—".to_string(), |p| data(&mask_phone(p))),
        true,
    )
    .field(
        "E-mail",
        c.email
            .as_deref()
            .map_or("—".to_string(), |e| data(&mask_email(e))),
        true,
    )
    .field("Time zone", data(&c.timezone), true);
    let open = if v.open.rows.is_empty() {
        "none".to_string()
    } else {
        v.open
            .rows
            .iter()
            .map(|o| {
                let b = &o.row;
                format!(
                    "#{} {} × {} ({}) — ETA {} — {}",
                    b.id,
                    b.qty,
                    b.sku,
                    Money(b.unit_price_minor).times(b.qty).format(currency),
                    eta_of(b.promised_eta, b.eta_kind),
                    o.place
                        .map_or("no queue place".to_string(), |(p, n)| format!(
                            "place {p} of {n}"
                        ))
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    r = r.field(
        format!("Open backorders ({})", v.open.nav.total),
        open,
        false,
    );
    if v.ready_total > 0 {
        let mut ready: Vec<String> = v
            .ready
            .iter()
            .map(|b| {
                format!(
                    "#{} {} × {} ({}) — stock set aside, ready to ship",
                    b.id,
                    b.qty,
                    b.sku,
                    Money(b.unit_price_minor).times(b.qty).format(currency),
                )
            })
            .collect();
        let more = v.ready_total - ready.len() as i64;
        if more > 0 {
            ready.push(format!("… and {more} more (/backorders status:allocated)"));
        }
        r = r.field(
            format!("Ready to ship ({})", v.ready_total),
            ready.join("\n"),
            false,
        );
    }
    r.paging = paging(&v.open, inv);
    r
}

/// `/backorder id:`
pub fn backorder(d: &BackorderDetail, currency: &str) -> Reply {
    let b = &d.row;
    let mut r = Reply::new(
        format!("Backorder #{} — {} × {}", b.id, b.qty, b.sku),
        Severity::Info,
    )
    .field(
        "Status",
        format!("{} ({} of {} allocated)", b.status, b.qty_allocated, b.qty),
        true,
    );
    if let Some(eta) = eta_while_active(b.status, b.promised_eta, b.eta_kind) {
        r = r.field("ETA", eta, true);
    }
    r = r
        .field(
            "Customer",
            format!(
                "{} ({}, {})",
                data(&mask_name(&b.customer_name)),
                data(&b.customer_external_id),
                b.tier
            ),
            true,
        )
        .field(
            "Order",
            format!("{} · {}", data(&b.order_number), timestamp(b.ordered_at)),
            true,
        )
        .field(
            "Value",
            Money(b.unit_price_minor).times(b.qty).format(currency),
            true,
        )
        .field(
            "Priority",
            format!(
                "{:.1} points = tier {:.1} + value {:.1} + age points {:.1} + manual {:.1}",
                d.score.total(),
                d.score.tier,
                d.score.value,
                d.score.age,
                d.score.manual
            ),
            false,
        );
    if let Some((rank, of)) = d.rank {
        r = r.field("Queue place", format!("{rank} of {of} for {}", b.sku), true);
    }
    if let Some(reason) = &b.close_reason {
        r = r.field("Closed", data(reason), true);
    }
    let history: Vec<String> = d
        .history
        .iter()
        .rev()
        .take(8)
        .map(|h| {
            format!(
                "{}: {} → {} ({}, by {}{})",
                timestamp(h.created_at),
                h.old_eta.map_or("none".to_string(), |d| d.to_string()),
                h.new_eta.map_or("unknown".to_string(), |d| d.to_string()),
                h.cause,
                data(&h.actor),
                if h.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", data(&h.reason))
                }
            )
        })
        .collect();
    if !history.is_empty() {
        // A field of its own, so the heading sits right above its entries everywhere.
        r = r.field("ETA history (newest first)", history.join("\n"), false);
    }
    r
}

fn settled_lines(r: &mut Reply, s: &Settled) {
    if !s.allocated.is_empty() {
        r.fields.push(super::Field {
            name: "Ready to ship".to_string(),
            value: s
                .allocated
                .iter()
                .map(|id| format!("#{id}"))
                .collect::<Vec<_>>()
                .join(", "),
            inline: false,
        });
    }
    if !s.moved.is_empty() {
        r.fields.push(super::Field {
            name: "New ETAs".to_string(),
            value: format!(
                "{} backorder(s), {} customer(s)",
                s.moved.len(),
                s.customers()
            ),
            inline: false,
        });
        r.lines.extend(s.moved.iter().take(10).map(|m| {
            format!(
                "#{} {} — {}: {} → {}",
                m.backorder_id,
                m.sku,
                data(&mask_name(&m.customer_name)),
                m.old.describe(),
                m.new.describe()
            )
        }));
        if s.moved.len() > 10 {
            r.lines.push(format!("… and {} more", s.moved.len() - 10));
        }
    }
}

/// A change to one backorder.
pub fn changed(title: &str, c: &Changed) -> Reply {
    let mut r = Reply::new(format!("{title}: #{}", c.row.id), Severity::Success).field(
        "Status",
        c.row.status.to_string(),
        true,
    );
    if let Some(eta) = eta_while_active(c.row.status, c.row.promised_eta, c.row.eta_kind) {
        r = r.field("ETA", eta, true);
    }
    settled_lines(&mut r, &c.settled);
    r
}

/// `/po id:`
pub fn po(v: &PoView) -> Reply {
    let mut r = Reply::new(
        format!("Purchase order {}", data(&v.po.po_number)),
        Severity::Info,
    )
    .field(
        "Supplier",
        v.po.supplier_name.as_deref().map_or("—".to_string(), data),
        true,
    )
    .field("Status", v.po.status.words(), true);
    r.lines = v
        .lines
        .iter()
        .map(|l| {
            format!(
                "{}: {} ordered, {} received — ETA {} — {}",
                l.sku,
                l.qty_ordered,
                l.qty_received,
                l.eta.map_or("none".to_string(), |d| d.to_string()),
                l.status.words()
            )
        })
        .collect();
    r
}

/// `/adjust`
pub fn adjusted(a: &Adjusted) -> Reply {
    let mut r = Reply::new(format!("Stock adjusted: {}", a.sku), Severity::Success)
        .field("On hand", a.position.on_hand.to_string(), true)
        .field("Allocated", a.position.allocated.to_string(), true)
        .field("Available", a.position.available().to_string(), true);
    settled_lines(&mut r, &a.settled);
    r
}

/// `/eta`
pub fn eta(e: &EtaSet) -> Reply {
    let title = if e.preview {
        format!("Preview — ETA of {} (nothing changed)", data(&e.po_number))
    } else {
        format!("ETA set: {}", data(&e.po_number))
    };
    let mut r = Reply::new(
        title,
        if e.preview {
            Severity::Info
        } else {
            Severity::Success
        },
    )
    .describe(format!(
        "{} line(s) moved; {} backorder(s) of {} customer(s) {} a new ETA.",
        e.lines_changed,
        e.settled.moved.len(),
        e.settled.customers(),
        if e.preview { "would get" } else { "get" }
    ));
    settled_lines(&mut r, &e.settled);
    r
}

/// `/receive`
pub fn received(x: &Received) -> Reply {
    let mut r = Reply::new(
        format!("Received on {}", data(&x.po_number)),
        Severity::Success,
    )
    .field(
        "Lines",
        x.lines
            .iter()
            .map(|(s, q)| format!("{s}: {q}"))
            .collect::<Vec<_>>()
            .join("\n"),
        false,
    );
    r = r.field(
        "Allocated to backorders",
        format!("{} unit(s)", x.settled.units_allocated),
        true,
    );
    settled_lines(&mut r, &x.settled);
    r
}
