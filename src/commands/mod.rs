//! The command layer Discord and the console share: look an [`Invocation`] up in the
//! [`COMMANDS`] table, check its options ([`Args`]), run its handler (one use case), and describe
//! the answer as a [`Reply`]. Adapters only translate their input into an `Invocation` and render
//! the `Reply`.
//!
//! One file per command: `stock.rs` holds `SPEC` (name, options, description, whether it changes
//! data or defers) and `run`, its handler; a file with subcommands holds one pair per subcommand
//! (`backorder.rs`: `SHOW`/`show`, `CANCEL`/`cancel`, …). Adding a command is one file plus one
//! line in [`COMMANDS`]:
//!
//! ```text
//! // src/commands/restock.rs
//! use super::spec::{CommandSpec, SKU};
//! use super::{Args, Ctx, Reply, Severity};
//! use crate::app::AppError;
//!
//! pub const SPEC: CommandSpec = CommandSpec {
//!     name: "restock", sub: None, description: "…", options: &[SKU],
//!     mutating: false, // true: needs the ops role (checked and audited before `run`)
//!     defer: false,    // true: Discord shows "thinking…" first (anything that may take > 1 s)
//! };
//!
//! pub async fn run(cx: &Ctx<'_>, args: &Args) -> Result<Reply, AppError> {
//!     let sku = args.req("sku")?; // options were checked against SPEC already
//!     Ok(Reply::new(format!("{sku} for {}", cx.actor.name), Severity::Info))
//! }
//!
//! // here, in mod.rs: `pub mod restock;` and in COMMANDS: `command!(restock::SPEC, restock::run),`
//! ```

pub mod args;
pub mod render;
pub mod reply;
pub mod spec;

pub mod adjust;
pub mod alerts;
pub mod approvals;
pub mod approve;
pub mod backorder;
pub mod backorders;
pub mod chart;
pub mod customer;
pub mod eta;
pub mod forecast;
pub mod help;
pub mod lowstock;
pub mod notifications;
pub mod po;
pub mod pos;
pub mod receive;
pub mod report;
pub mod search;
pub mod stock;
pub mod withhold;

pub use args::{Args, Ctx};
pub use reply::{Attachment, Field, Paging, Reply, Severity};
pub use spec::{CommandSpec, OptionKind, OptionSpec, Suggest};

use crate::app::{self, Actor, App, AppError};
use std::future::Future;
use std::pin::Pin;

/// The future a handler returns, boxed so handlers of different commands fit in one table.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A command's handler, as stored in the table.
pub type Handler = for<'a> fn(&'a Ctx<'a>, &'a Args) -> BoxFuture<'a, Result<Reply, AppError>>;

/// A command (or subcommand): its spec and its handler.
#[derive(Clone, Copy)]
pub struct Command {
    /// Name, options, description, flags.
    pub spec: &'static CommandSpec,
    /// Runs it.
    pub run: Handler,
}

/// `command!(stock::SPEC, stock::run)`: a table entry from a command file's exports.
macro_rules! command {
    ($spec:path, $run:path) => {
        Command {
            spec: &$spec,
            run: |cx, args| Box::pin($run(cx, args)),
        }
    };
}

/// Every command, in help order (a command's subcommands together, in this order).
pub static COMMANDS: &[Command] = &[
    command!(stock::SPEC, stock::run),
    command!(search::SPEC, search::run),
    command!(backorders::SPEC, backorders::run),
    command!(backorder::SHOW, backorder::show),
    command!(backorder::PRIORITIZE, backorder::prioritize),
    command!(backorder::CANCEL, backorder::cancel),
    command!(backorder::FULFIL, backorder::fulfil),
    command!(po::SPEC, po::run),
    command!(pos::SPEC, pos::run),
    command!(customer::SPEC, customer::run),
    command!(adjust::SPEC, adjust::run),
    command!(eta::SPEC, eta::run),
    command!(receive::SPEC, receive::run),
    command!(lowstock::SPEC, lowstock::run),
    command!(report::SPEC, report::run),
    command!(forecast::SPEC, forecast::run),
    command!(alerts::LIST, alerts::list),
    command!(alerts::RUN, alerts::run),
    command!(alerts::SNOOZE, alerts::snooze),
    command!(alerts::UNSNOOZE, alerts::unsnooze),
    command!(notifications::SPEC, notifications::run),
    command!(approvals::SPEC, approvals::run),
    command!(approve::SPEC, approve::run),
    command!(withhold::SPEC, withhold::run),
    command!(help::SPEC, help::run),
];

/// Every spec, in table order.
pub fn specs() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().map(|c| c.spec)
}

/// Finds a command by name and subcommand.
pub fn find(name: &str, sub: Option<&str>) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.spec.name == name && c.spec.sub == sub)
}

/// The subcommands of a top-level name (empty for plain commands).
pub fn subcommands(name: &str) -> Vec<&'static CommandSpec> {
    specs()
        .filter(|c| c.name == name && c.sub.is_some())
        .collect()
}

/// A command as typed: name, optional subcommand, `name:value` options (values as text).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

    /// Parses a console line. The leading `/` is optional; values go in the order of the
    /// command's options ([`positional_order`]: required ones first, those named earlier on the
    /// line skipped) or as `name:value`, before or after positional ones:
    /// `/eta PO-1001 2027-02-17 carrier delay sku:TENT-2P`. The command's last text option
    /// ([`rest_option`]) takes the rest of the line: `/search rain jacket`. An id may be written
    /// as lists print it: `/backorder #2`.
    pub fn parse_line(line: &str) -> Result<Self, AppError> {
        let tokens = tokenize(line)?;
        let mut iter = tokens.into_iter();
        let first = iter.next().ok_or_else(|| {
            AppError::invalid("command", "type a command, e.g. /stock TENT-2P (or /help)")
        })?;
        let command = first.trim_start_matches('/').to_ascii_lowercase();
        let mut rest: Vec<String> = iter.collect();
        let mut sub = None;
        let subs = subcommands(&command);
        if !subs.is_empty() {
            let named_sub = rest.first().filter(|t| {
                let t = t.to_ascii_lowercase();
                subs.iter().any(|c| c.sub == Some(t.as_str()))
                    || !(t.contains(':') || t.trim_start_matches('#').parse::<i64>().is_ok())
            });
            if let Some(t) = named_sub {
                sub = Some(t.to_ascii_lowercase());
                rest.remove(0);
            } else {
                // `/backorder 5`, `/backorder #5` and `/backorder id:5` are `/backorder show id:5`.
                sub = Some("show".to_string());
            }
        }
        let spec = find(&command, sub.as_deref()).map(|c| c.spec);
        let rest_option = spec.and_then(rest_option);
        let mut options: Vec<(String, String)> = Vec::new();
        // Options filled by position (the others in `options` were named).
        let mut by_position: Vec<&'static str> = Vec::new();
        // The entry of `options` that words may still join: the rest option, just given.
        let mut open: Option<usize> = None;
        for t in rest {
            match t.split_once(':') {
                Some((k, v)) if is_option_name(spec, k) || looks_named(k, v) => {
                    let k = k.to_ascii_lowercase();
                    if let Some(name) = by_position.iter().find(|n| **n == k) {
                        let given = options
                            .iter()
                            .find(|(n, _)| n == name)
                            .map_or("", |(_, v)| v.as_str());
                        return Err(AppError::invalid(
                            k.clone(),
                            format!(
                                "is given twice: \"{given}\" by position, then {k}:{v}; give it once{}",
                                spec.map(|s| format!(" ({})", usage(s))).unwrap_or_default()
                            ),
                        ));
                    }
                    open = rest_option.filter(|o| o.name == k).map(|_| options.len());
                    options.push((k, v.to_string()));
                }
                _ => {
                    let Some(spec) = spec else {
                        // An unknown command keeps no positional values: `execute` names it.
                        continue;
                    };
                    let free = positional_order(spec)
                        .into_iter()
                        .find(|o| !options.iter().any(|(k, _)| k == o.name));
                    let joins = open.filter(|i| {
                        // A named rest option takes the words after it only when no option is
                        // left for them: `/eta reason:late PO-1001 2027-02-17` stays as typed.
                        free.is_none() || by_position.contains(&options[*i].0.as_str())
                    });
                    if let Some(i) = joins {
                        let value = &mut options[i].1;
                        value.push(' ');
                        value.push_str(&t);
                        continue;
                    }
                    let Some(o) = free else {
                        return Err(AppError::invalid(
                            "input",
                            format!(
                                "too many values: \"{t}\" has no option left ({}); quote values with spaces: \"carrier delay\"",
                                usage(spec)
                            ),
                        ));
                    };
                    open = rest_option
                        .filter(|r| r.name == o.name)
                        .map(|_| options.len());
                    by_position.push(o.name);
                    options.push((o.name.to_string(), t));
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

    /// The same invocation with `page:` set (and no page key).
    pub fn with_page(&self, page: u32) -> Self {
        let mut next = self.clone();
        next.options
            .retain(|(k, _)| !matches!(k.as_str(), "page" | "after" | "before"));
        next.options.push(("page".to_string(), page.to_string()));
        next
    }

    /// The same invocation starting after (`after:`) or ending before (`before:`) a row's key,
    /// without `page:` (a paging button carries the page number beside it).
    pub fn with_key(&self, option: &str, key: &str) -> Self {
        let mut next = self.clone();
        next.options
            .retain(|(k, _)| !matches!(k.as_str(), "page" | "after" | "before"));
        next.options.push((option.to_string(), key.to_string()));
        next
    }
}

/// `colour:red` is meant as an option (and refused as unknown, naming it), while
/// `"note: found damaged"` is a value.
pub(crate) fn looks_named(k: &str, v: &str) -> bool {
    !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        && !v.starts_with(char::is_whitespace)
}

/// The option that takes the rest of a console line: the command's last free-text option (not
/// a SKU, PO or customer id, not a choice) when it is required or the last option: a reason, a
/// search query, a command name for `/help`. After it, other options can only be named.
pub fn rest_option(spec: &CommandSpec) -> Option<&'static OptionSpec> {
    let order = positional_order(spec);
    let last = order.last().map(|o| o.name);
    order.into_iter().rev().find(|o| {
        o.kind == OptionKind::Text
            && o.choices.is_empty()
            && matches!(o.suggest, None | Some(Suggest::Command))
            && (o.required || Some(o.name) == last)
    })
}

pub(crate) fn is_option_name(spec: Option<&CommandSpec>, name: &str) -> bool {
    match spec {
        Some(spec) => spec
            .options
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(name)),
        // Unknown command: keep `name:value` as typed so the error can name it.
        None => !name.is_empty(),
    }
}

/// The order positional values fill a command's options in: required ones first, then the
/// optional ones, each group in spec order (the order Discord shows them in, too).
pub fn positional_order(spec: &CommandSpec) -> Vec<&'static OptionSpec> {
    let mut opts: Vec<&'static OptionSpec> = spec.options.iter().filter(|o| !o.hidden).collect();
    opts.sort_by_key(|o| !o.required);
    opts
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

pub(crate) fn usage_name(spec: &CommandSpec) -> String {
    match spec.sub {
        Some(s) => format!("/{} {s}", spec.name),
        None => format!("/{}", spec.name),
    }
}

/// `/eta po: date: [sku:] …`
pub fn usage(spec: &CommandSpec) -> String {
    let mut out = usage_name(spec);
    for o in positional_order(spec) {
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

impl Outcome {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::UserError => "user_error",
            Outcome::Internal => "internal",
        }
    }
}

/// Runs a command for an actor and always returns a reply; internal errors are logged with a
/// reference id and the user sees only that id. Each run is counted and timed in `app.metrics`.
pub async fn run(app: &App, actor: &Actor, inv: &Invocation) -> (Reply, Outcome) {
    let started = std::time::Instant::now();
    let (reply, outcome) = answer(app, actor, inv).await;
    app.metrics
        .command(&metrics_name(inv), outcome.as_str(), started.elapsed());
    (reply, outcome)
}

/// The command's name in the table (`backorder cancel`, a group named alone `alerts`), or
/// `unknown`: never text as typed.
fn metrics_name(inv: &Invocation) -> String {
    if let Some(c) = find(&inv.command, inv.sub.as_deref()) {
        return usage_name(c.spec).trim_start_matches('/').to_string();
    }
    specs()
        .find(|s| s.name == inv.command)
        .map_or("unknown", |s| s.name)
        .to_string()
}

async fn answer(app: &App, actor: &Actor, inv: &Invocation) -> (Reply, Outcome) {
    match execute(app, actor, inv).await {
        Ok(reply) => (reply.within_limits(), Outcome::Ok),
        Err(AppError::Unexpected(e)) => {
            let reference = crate::app::report_unexpected(&e, &format!("command /{}", inv.command));
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
    let implied_show = inv.sub.as_deref() == Some("show");
    if implied_show && inv.options.is_empty() && find(&inv.command, Some("show")).is_none() {
        // A group named alone (`/alerts`): what it can do, not a subcommand it lacks.
        let subs = subcommands(&inv.command);
        if !subs.is_empty() {
            return render::help_for(&inv.command, app.clock.now().date_naive());
        }
    }
    let command = find(&inv.command, inv.sub.as_deref()).ok_or_else(|| {
        let subs = subcommands(&inv.command);
        if subs.is_empty() {
            AppError::invalid(
                "command",
                format!("unknown command /{}; type /help for the list", inv.command),
            )
        } else {
            let subs: Vec<&str> = subs.iter().filter_map(|c| c.sub).collect();
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
    let spec = command.spec;
    let args = Args::parse(spec, inv)?;
    app::authorize(app, actor, spec.mutating, &usage_name(spec), &inv.to_line()).await?;
    let cx = Ctx { app, actor, inv };
    (command.run)(&cx, &args).await
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
    if kind == Suggest::Command {
        let partial = partial.trim_start_matches('/').to_ascii_lowercase();
        // `backorder s`: the second word is one of the command's subcommands.
        if let Some((top, sub)) = partial.split_once(char::is_whitespace) {
            let sub = sub.trim_start();
            return Ok(subcommands(top)
                .iter()
                .filter_map(|c| c.sub)
                .filter(|s| s.starts_with(sub))
                .map(|s| (format!("/{top} {s}"), format!("{top} {s}")))
                .collect());
        }
        let mut names: Vec<&str> = specs().map(|c| c.name).collect();
        names.dedup();
        return Ok(names
            .into_iter()
            .filter(|n| n.starts_with(&partial))
            .map(|n| (format!("/{n}"), n.to_string()))
            .collect());
    }
    let label = |s: String| reply::truncate(&s, 100);
    let out = match kind {
        Suggest::Sku => app::search::suggest_products(app, partial)
            .await?
            .into_iter()
            .map(|p| (label(format!("{} — {}", p.sku, p.name)), p.sku))
            .collect(),
        Suggest::Po => app::search::suggest_pos(app, partial)
            .await?
            .into_iter()
            .map(|(po, sku)| match sku {
                Some(sku) => (label(format!("{po} — brings {sku}")), po),
                None => (po.clone(), po),
            })
            .collect(),
        Suggest::Command => Vec::new(),
        Suggest::Backorder | Suggest::ActiveBackorder | Suggest::AllocatedBackorder => {
            let found = match kind {
                Suggest::Backorder => app::search::suggest_backorders(app, partial).await?,
                Suggest::AllocatedBackorder => {
                    app::search::suggest_allocated_backorders(app, partial).await?
                }
                _ => app::search::suggest_active_backorders(app, partial).await?,
            };
            found
                .into_iter()
                .map(|(id, sku, qty)| (label(format!("#{id} — {qty} × {sku}")), id.to_string()))
                .collect()
        }
        Suggest::Customer => app::search::suggest_customers(app, partial)
            .await?
            .into_iter()
            .map(|c| {
                (
                    label(format!(
                        "{} — {}",
                        c.external_id,
                        crate::domain::contact::mask_name(&c.name)
                    )),
                    c.external_id,
                )
            })
            .collect(),
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_is_a_distinct_command_or_subcommand() {
        for (i, a) in COMMANDS.iter().enumerate() {
            for b in &COMMANDS[i + 1..] {
                assert!(
                    (a.spec.name, a.spec.sub) != (b.spec.name, b.spec.sub),
                    "{} twice",
                    usage_name(a.spec)
                );
            }
            // A name is either a plain command or a group of subcommands, never both.
            assert!(
                a.spec.sub.is_some() || subcommands(a.spec.name).is_empty(),
                "/{} is both",
                a.spec.name
            );
        }
    }

    #[test]
    fn subcommands_of_a_name_sit_together_in_the_table() {
        let names: Vec<&str> = specs().map(|s| s.name).collect();
        for name in &names {
            let first = names.iter().position(|n| n == name).unwrap();
            let last = names.iter().rposition(|n| n == name).unwrap();
            assert!(names[first..=last].iter().all(|n| n == name), "{name}");
        }
    }

    #[test]
    fn help_lists_every_command_in_the_table() {
        let help = render::help();
        assert_eq!(help.lines.len(), COMMANDS.len());
        for (line, c) in help.lines.iter().zip(COMMANDS) {
            assert!(line.starts_with(&usage(c.spec)), "{line}");
        }
    }

    fn parsed(line: &str) -> (String, Option<String>, Vec<(String, String)>) {
        let inv = Invocation::parse_line(line).unwrap();
        (inv.command, inv.sub, inv.options)
    }

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn positional_values_fill_the_options_in_order_and_the_slash_is_optional() {
        assert_eq!(
            parsed("/stock KB-101"),
            ("stock".into(), None, opts(&[("sku", "KB-101")]))
        );
        assert_eq!(parsed("stock KB-101"), parsed("/stock sku:KB-101"));
        // Required options first: po, date, reason, then sku and preview.
        assert_eq!(
            parsed("/eta PO-1001 2027-02-17 \"carrier delay\"").2,
            opts(&[
                ("po", "PO-1001"),
                ("date", "2027-02-17"),
                ("reason", "carrier delay")
            ])
        );
    }

    #[test]
    fn named_options_may_follow_or_precede_positional_values() {
        assert_eq!(
            parsed("/eta PO-1001 2027-02-17 \"carrier delay\" sku:TENT-2P preview:true").2,
            opts(&[
                ("po", "PO-1001"),
                ("date", "2027-02-17"),
                ("reason", "carrier delay"),
                ("sku", "TENT-2P"),
                ("preview", "true"),
            ])
        );
        // A named option is skipped by the positional ones.
        assert_eq!(
            parsed("/eta date:2027-02-17 PO-1001 late").2,
            opts(&[
                ("date", "2027-02-17"),
                ("po", "PO-1001"),
                ("reason", "late")
            ])
        );
        // A colon in a value that is not an option name keeps it positional.
        assert_eq!(
            parsed("/adjust TENT-2P -1 \"note: found damaged\"").2,
            opts(&[
                ("sku", "TENT-2P"),
                ("delta", "-1"),
                ("reason", "note: found damaged")
            ])
        );
    }

    #[test]
    fn subcommands_take_positional_values_too() {
        assert_eq!(
            parsed("/backorder 5"),
            (
                "backorder".into(),
                Some("show".into()),
                opts(&[("id", "5")])
            )
        );
        assert_eq!(
            parsed("backorder cancel 5 \"customer asked\""),
            (
                "backorder".into(),
                Some("cancel".into()),
                opts(&[("id", "5"), ("reason", "customer asked")])
            )
        );
        let e = Invocation::parse_line("/stock KB-101 KB-102").unwrap_err();
        assert!(e.to_string().contains("too many values"), "{e}");
        // A command name for /help may be two words, unquoted.
        assert_eq!(
            parsed("/help backorder show"),
            ("help".into(), None, opts(&[("command", "backorder show")]))
        );
        // Named, too: the words after it belong to it.
        assert_eq!(
            parsed("/help command:backorder show"),
            ("help".into(), None, opts(&[("command", "backorder show")]))
        );
        assert_eq!(
            parsed("help command:/alerts   snooze"),
            ("help".into(), None, opts(&[("command", "/alerts snooze")]))
        );
    }

    #[test]
    fn the_last_text_option_takes_the_rest_of_the_line() {
        assert_eq!(
            parsed("/search rain jacket").2,
            opts(&[("query", "rain jacket")])
        );
        assert_eq!(parsed("/search mouse ms").2, opts(&[("query", "mouse ms")]));
        assert_eq!(
            parsed("/search query:rain jacket").2,
            opts(&[("query", "rain jacket")])
        );
        assert_eq!(
            parsed("/backorder cancel 4 customer changed mind"),
            (
                "backorder".into(),
                Some("cancel".into()),
                opts(&[("id", "4"), ("reason", "customer changed mind")])
            )
        );
        // Options after it are named; a named reason does not swallow the values still owed.
        assert_eq!(
            parsed("/eta PO-1001 2027-02-17 carrier delay sku:TENT-2P").2,
            opts(&[
                ("po", "PO-1001"),
                ("date", "2027-02-17"),
                ("reason", "carrier delay"),
                ("sku", "TENT-2P"),
            ])
        );
        assert_eq!(
            parsed("/eta reason:late PO-1001 2027-02-17").2,
            opts(&[
                ("reason", "late"),
                ("po", "PO-1001"),
                ("date", "2027-02-17")
            ])
        );
        // An identifier is not prose: two SKUs are still too many values.
        assert!(Invocation::parse_line("/stock KB-101 KB-102").is_err());
        assert_eq!(
            rest_option(&pos::SPEC),
            None,
            "a supplier is followed by other options"
        );
    }

    #[test]
    fn an_id_may_be_written_as_lists_print_it() {
        assert_eq!(
            parsed("/backorder #2"),
            (
                "backorder".into(),
                Some("show".into()),
                opts(&[("id", "#2")])
            )
        );
        assert_eq!(
            parsed("/backorder cancel #4 changed mind").2,
            opts(&[("id", "#4"), ("reason", "changed mind")])
        );
    }

    #[test]
    fn a_named_option_already_given_by_position_is_refused_naming_it() {
        let e = Invocation::parse_line("/eta PO-1002 2027-01-10 reason:late date:2027-01-11")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "date: is given twice: \"2027-01-10\" by position, then date:2027-01-11; give it \
             once (/eta po: date: reason: [sku:] [preview:])"
        );
    }

    #[test]
    fn a_bare_subcommand_group_means_show() {
        let inv = Invocation::parse_line("/backorder id:5").unwrap();
        assert_eq!(inv.sub.as_deref(), Some("show"));
        assert!(find(&inv.command, inv.sub.as_deref()).is_some());
    }
}
