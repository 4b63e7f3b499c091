//! The command layer Discord and the console share: parse an [`Invocation`] against the
//! [`spec::COMMANDS`] table, run one use case, and describe the answer as a [`Reply`].
//! Adapters only translate their input into an `Invocation` and render the `Reply`.

pub mod render;
pub mod reply;
pub mod spec;

pub use reply::{Field, Paging, Reply, Severity};
pub use spec::{CommandSpec, OptionKind, OptionSpec, Suggest, COMMANDS};

use crate::app::{self, Actor, App, AppError};
use crate::domain::date::parse_date;
use crate::store;
use chrono::NaiveDate;
use std::collections::HashMap;

/// A command as typed: name, optional subcommand, `name:value` options (values as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Top-level command (`stock`).
    pub command: String,
    /// Subcommand (`cancel`).
    pub sub: Option<String>,
    /// Options in the order given.
    pub options: Vec<(String, String)>,
}

impl Invocation {
    /// Builds an invocation.
    pub fn new(command: &str, sub: Option<&str>, options: &[(&str, &str)]) -> Self {
        Self {
            command: command.to_string(),
            sub: sub.map(str::to_string),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Parses a console line: `/eta po:PO-1 date:2026-12-10 reason:"carrier delay"`.
    pub fn parse_line(line: &str) -> Result<Self, AppError> {
        let tokens = tokenize(line)?;
        let mut iter = tokens.into_iter();
        let first = iter.next().ok_or_else(|| {
            AppError::invalid(
                "command",
                "type a command, e.g. /stock sku:ABC-1 (or /help)",
            )
        })?;
        let command = first.trim_start_matches('/').to_ascii_lowercase();
        let mut rest: Vec<String> = iter.collect();
        let mut sub = None;
        let subs = spec::subcommands(&command);
        if !subs.is_empty() {
            if rest.first().is_some_and(|t| !t.contains(':')) {
                sub = Some(rest.remove(0).to_ascii_lowercase());
            } else {
                // `/backorder id:5` is `/backorder show id:5`.
                sub = Some("show".to_string());
            }
        }
        let mut options = Vec::new();
        for t in rest {
            match t.split_once(':') {
                Some((k, v)) if !k.is_empty() => options.push((k.to_ascii_lowercase(), v.to_string())),
                _ => {
                    return Err(AppError::invalid(
                        "input",
                        format!("expected name:value, got \"{t}\" (quote values with spaces: reason:\"carrier delay\")"),
                    ))
                }
            }
        }
        Ok(Self {
            command,
            sub,
            options,
        })
    }

    /// The console spelling (for paging and logs).
    pub fn to_line(&self) -> String {
        let mut out = format!("/{}", self.command);
        if let Some(s) = &self.sub {
            out.push(' ');
            out.push_str(s);
        }
        for (k, v) in &self.options {
            if v.contains(char::is_whitespace) || v.is_empty() {
                out.push_str(&format!(" {k}:\"{}\"", v.replace('"', "'")));
            } else {
                out.push_str(&format!(" {k}:{v}"));
            }
        }
        out
    }

    /// The same invocation with `page:` set.
    pub fn with_page(&self, page: u32) -> Self {
        let mut next = self.clone();
        next.options.retain(|(k, _)| k != "page");
        next.options.push(("page".to_string(), page.to_string()));
        next
    }
}

fn tokenize(line: &str) -> Result<Vec<String>, AppError> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.trim().chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(AppError::invalid("input", "a quote is not closed"));
    }
    if any || !cur.is_empty() {
        tokens.push(cur);
    }
    Ok(tokens)
}

/// Options checked against a command's spec.
struct Args {
    values: HashMap<&'static str, String>,
}

impl Args {
    fn parse(spec: &CommandSpec, inv: &Invocation) -> Result<Self, AppError> {
        let mut values = HashMap::new();
        for (name, value) in &inv.options {
            let Some(o) = spec.options.iter().find(|o| o.name == name.as_str()) else {
                let known: Vec<String> = spec
                    .options
                    .iter()
                    .map(|o| format!("{}:", o.name))
                    .collect();
                return Err(AppError::invalid(
                    name.clone(),
                    format!(
                        "unknown option for {}; it takes {}",
                        usage_name(spec),
                        if known.is_empty() {
                            "no options".to_string()
                        } else {
                            known.join(" ")
                        }
                    ),
                ));
            };
            if values.contains_key(o.name) {
                return Err(AppError::invalid(o.name, "is given twice"));
            }
            let v = value.trim();
            match o.kind {
                OptionKind::Integer if v.parse::<i64>().is_err() => {
                    return Err(AppError::invalid(
                        o.name,
                        format!("\"{v}\" is not a whole number"),
                    ))
                }
                OptionKind::Boolean
                    if !matches!(
                        v.to_ascii_lowercase().as_str(),
                        "true" | "false" | "yes" | "no"
                    ) =>
                {
                    return Err(AppError::invalid(
                        o.name,
                        format!("\"{v}\" is not true or false"),
                    ))
                }
                OptionKind::Date => {
                    parse_date(v).map_err(|e| AppError::invalid(o.name, e))?;
                }
                _ => {}
            }
            if !o.choices.is_empty() && !o.choices.contains(&v.to_ascii_lowercase().as_str()) {
                return Err(AppError::invalid(
                    o.name,
                    format!("\"{v}\" is not one of {}", o.choices.join(", ")),
                ));
            }
            values.insert(o.name, v.to_string());
        }
        if let Some(missing) = spec
            .options
            .iter()
            .find(|o| o.required && !values.contains_key(o.name))
        {
            return Err(AppError::invalid(
                missing.name,
                format!("is required: {}", usage(spec)),
            ));
        }
        Ok(Self { values })
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    fn req(&self, name: &str) -> &str {
        self.text(name).unwrap_or_default()
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(|v| v.parse().ok())
    }

    fn flag(&self, name: &str) -> bool {
        self.text(name)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes"))
    }

    fn date(&self, name: &str) -> Option<NaiveDate> {
        self.text(name).and_then(|v| parse_date(v).ok())
    }

    fn page(&self) -> Result<u32, AppError> {
        match self.int("page") {
            None => Ok(1),
            Some(p) if (1..=100_000).contains(&p) => Ok(p as u32),
            Some(p) => Err(AppError::invalid(
                "page",
                format!("{p} is not a page number"),
            )),
        }
    }
}

fn usage_name(spec: &CommandSpec) -> String {
    match spec.sub {
        Some(s) => format!("/{} {s}", spec.name),
        None => format!("/{}", spec.name),
    }
}

/// `/eta po: date: [sku:] …`
pub fn usage(spec: &CommandSpec) -> String {
    let mut out = usage_name(spec);
    for o in spec.options {
        if o.required {
            out.push_str(&format!(" {}:", o.name));
        } else {
            out.push_str(&format!(" [{}:]", o.name));
        }
    }
    out
}

/// How a command ended, for exit codes and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered.
    Ok,
    /// The input was wrong or the rules refused it (exit 2).
    UserError,
    /// Our fault (exit 1).
    Internal,
}

/// Runs a command for an actor and always returns a reply; internal errors are logged with a
/// reference id and the user sees only that id.
pub async fn run(app: &App, actor: &Actor, inv: &Invocation) -> (Reply, Outcome) {
    match execute(app, actor, inv).await {
        Ok(reply) => (reply.within_limits(), Outcome::Ok),
        Err(AppError::Unexpected(e)) => {
            let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
            tracing::error!(reference, command = %inv.command, error = ?e, "command failed");
            (
                Reply::error(format!("Something went wrong on our side (reference {reference}). Nothing was changed; please try again or tell the team.")),
                Outcome::Internal,
            )
        }
        Err(e) => (
            Reply::error(e.to_string()).within_limits(),
            Outcome::UserError,
        ),
    }
}

async fn execute(app: &App, actor: &Actor, inv: &Invocation) -> Result<Reply, AppError> {
    let spec = spec::find(&inv.command, inv.sub.as_deref()).ok_or_else(|| {
        if spec::subcommands(&inv.command).is_empty() {
            AppError::invalid(
                "command",
                format!("unknown command /{}; type /help for the list", inv.command),
            )
        } else {
            let subs: Vec<&str> = spec::subcommands(&inv.command)
                .iter()
                .filter_map(|c| c.sub)
                .collect();
            AppError::invalid(
                "command",
                format!(
                    "/{} has no subcommand \"{}\"; it has {}",
                    inv.command,
                    inv.sub.as_deref().unwrap_or(""),
                    subs.join(", ")
                ),
            )
        }
    })?;
    let args = Args::parse(spec, inv)?;
    if spec.mutating && !actor.may_change {
        let mut conn = app.store.conn().await?;
        store::audit::record(
            &mut conn,
            &actor.name,
            &usage_name(spec),
            &inv.to_line(),
            "no ops role",
            "refused",
            app.clock.now(),
        )
        .await?;
        return Err(AppError::Forbidden(format!(
            "{} changes data and needs the ops role; ask someone with it",
            usage_name(spec)
        )));
    }
    let currency = &app.settings.shop.currency;
    let reply = match (spec.name, spec.sub) {
        ("help", _) => render::help(),
        ("stock", _) => render::stock(
            &app::stock::query_stock(app, args.req("sku")).await?,
            currency,
        ),
        ("search", _) => render::search(
            args.req("query"),
            &app::stock::search(app, args.req("query")).await?,
        ),
        ("backorders", _) => {
            let page = args.page()?;
            let result = app::backorders::list(
                app,
                args.text("sku"),
                args.text("customer"),
                args.text("status"),
                page,
            )
            .await?;
            render::backorders(&result, inv, app.clock.now())
        }
        ("backorder", Some("show")) => render::backorder(
            &app::backorders::show(app, backorder_id(&args)?).await?,
            currency,
        ),
        ("backorder", Some("prioritize")) => {
            let r = app::backorders::prioritize(
                app,
                actor,
                backorder_id(&args)?,
                args.req("position"),
                args.text("reason").unwrap_or(""),
            )
            .await?;
            render::changed("Backorder moved", &r)
        }
        ("backorder", Some("cancel")) => {
            let r = app::backorders::cancel(app, actor, backorder_id(&args)?, args.req("reason"))
                .await?;
            render::changed("Backorder cancelled", &r)
        }
        ("backorder", Some("fulfil")) => {
            let r = app::backorders::fulfil(app, actor, backorder_id(&args)?).await?;
            render::changed("Backorder fulfilled", &r)
        }
        ("po", _) => render::po(&app::purchasing::show_po(app, args.req("id")).await?),
        ("adjust", _) => {
            let delta = args.int("delta").unwrap_or_default();
            render::adjusted(
                &app::stock::adjust(app, actor, args.req("sku"), delta, args.req("reason")).await?,
            )
        }
        ("eta", _) => {
            let date = args
                .date("date")
                .ok_or_else(|| AppError::invalid("date", "is required"))?;
            let r = app::purchasing::set_eta(
                app,
                actor,
                args.req("po"),
                date,
                args.text("sku"),
                args.req("reason"),
                args.flag("preview"),
            )
            .await?;
            render::eta(&r)
        }
        ("receive", _) => {
            let r = app::purchasing::receive(
                app,
                actor,
                args.req("po"),
                args.text("sku"),
                args.int("qty"),
            )
            .await?;
            render::received(&r)
        }
        _ => {
            return Err(AppError::invalid(
                "command",
                format!("/{} is not available here", spec.name),
            ))
        }
    };
    Ok(reply)
}

fn backorder_id(args: &Args) -> Result<i64, AppError> {
    match args.int("id") {
        Some(id) if id > 0 => Ok(id),
        _ => Err(AppError::invalid(
            "id",
            "must be a backorder number like 42",
        )),
    }
}

/// Autocomplete suggestions: (label, value), at most 25, best first.
pub async fn suggest(app: &App, kind: Suggest, partial: &str) -> Vec<(String, String)> {
    let result = suggest_inner(app, kind, partial.trim()).await;
    result.unwrap_or_else(|e| {
        tracing::warn!(error = ?e, "autocomplete failed");
        Vec::new()
    })
}

async fn suggest_inner(
    app: &App,
    kind: Suggest,
    partial: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut conn = app.store.conn().await?;
    let out = match kind {
        Suggest::Sku => {
            let key = partial.to_ascii_uppercase();
            let mut hits = store::products::skus_with_prefix(&mut conn, &key, 25).await?;
            if hits.len() < 25 && !partial.is_empty() {
                let words = vec![partial.to_string()];
                for h in store::products::by_name_words(&mut conn, &words, 25).await? {
                    if hits.len() < 25 && !hits.contains(&h) {
                        hits.push(h);
                    }
                }
            }
            hits.into_iter()
                .map(|(sku, name)| (reply::truncate(&format!("{sku} — {name}"), 100), sku))
                .collect()
        }
        Suggest::Po => store::purchasing::po_numbers_with_prefix(&mut conn, partial, 25)
            .await?
            .into_iter()
            .map(|p| (p.clone(), p))
            .collect(),
        Suggest::Backorder => store::backorders::ids_with_prefix(&mut conn, partial, 25)
            .await?
            .into_iter()
            .map(|(id, sku, qty)| (format!("#{id} — {qty} × {sku}"), id.to_string()))
            .collect(),
        Suggest::Customer => store::customers::with_prefix(&mut conn, partial, 25)
            .await?
            .into_iter()
            .map(|c| {
                (
                    format!(
                        "{} — {}",
                        c.external_id,
                        crate::domain::contact::mask_name(&c.name)
                    ),
                    c.external_id,
                )
            })
            .collect(),
    };
    Ok(out)
}
