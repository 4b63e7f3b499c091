//! A [`Reply`] as a Discord embed, plus the Prev/Next buttons of paged replies, and what every
//! request the bot sends may ping ([`allowed_mentions`]).
//!
//! Button custom ids carry everything a click needs, so any process answers it, after restarts
//! too: `pg|<asker user id>|<target page>|<invocation line>`; the line of a keyset list holds the
//! key of the row to continue from (`/backorders after:r…​.i….i…`). When the line is too long for
//! Discord's 100-character limit (or does not survive a round trip through
//! [`Invocation::parse_line`]), the invocation is kept in the database instead
//! ([`crate::app::page::page_keys`], in its [`stored_form`]) and the id is
//! `pk|<asker>|<page>|<key>`; the adapter ([`super::slash::components`]) does that step.

use crate::commands::reply::{limits, truncate};
use crate::commands::{Invocation, Reply, Severity};
use crate::domain::markup;
use poise::serenity_prelude as serenity;

/// Discord's limit on a component's custom id.
pub const CUSTOM_ID_MAX: usize = 100;

/// What a message, edit, interaction response or follow-up may ping: nothing, except the roles
/// the config names by id (`roles`). Outside text is escaped by `data` as well; this makes sure
/// that even a mention that got through would not notify anyone.
pub fn allowed_mentions(roles: &[u64]) -> serenity::CreateAllowedMentions {
    let none = serenity::CreateAllowedMentions::new();
    if roles.is_empty() {
        none
    } else {
        none.roles(roles.iter().map(|&r| serenity::RoleId::new(r.max(1))))
    }
}

/// Embed colour of a severity.
pub fn colour(severity: Severity) -> u32 {
    match severity {
        Severity::Info => 0x5865F2,
        Severity::Success => 0x57F287,
        Severity::Warning => 0xFEE75C,
        Severity::Error => 0xED4245,
    }
}

/// The embed's description: the reply's description, then its lines, one per row.
pub fn description(reply: &Reply) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(d) = reply.description.as_deref().filter(|d| !d.is_empty()) {
        parts.push(d);
    }
    parts.extend(reply.lines.iter().map(String::as_str));
    if parts.is_empty() {
        None
    } else {
        Some(truncate(&parts.join("\n"), limits::DESCRIPTION))
    }
}

/// The embed's footer: the reply's footer and, on paged replies, the page.
pub fn footer(reply: &Reply) -> Option<String> {
    let page = reply
        .paging
        .as_ref()
        .map(|p| format!("Page {}/{}", p.page, p.pages));
    match (reply.footer.as_deref().filter(|f| !f.is_empty()), page) {
        (Some(f), Some(p)) => Some(format!("{f} · {p}")),
        (Some(f), None) => Some(f.to_string()),
        (None, p) => p,
    }
}

/// Renders a reply as one embed (kept under Discord's 6,000-character total).
pub fn embed(reply: &Reply) -> serenity::CreateEmbed {
    let title = truncate(&reply.title, limits::TITLE);
    let footer = footer(reply).map(|f| truncate(&f, 2048));
    let mut desc = description(reply);
    let used = title.chars().count()
        + footer.as_deref().map_or(0, |f| f.chars().count())
        + reply
            .fields
            .iter()
            .map(|f| f.name.chars().count() + f.value.chars().count())
            .sum::<usize>();
    if let Some(d) = &desc {
        let room = limits::EMBED_TOTAL.saturating_sub(used);
        if d.chars().count() > room {
            desc = Some(truncate(d, room));
        }
    }
    let mut e = serenity::CreateEmbed::new()
        .title(title)
        .colour(colour(reply.severity));
    if let Some(d) = desc.filter(|d| !d.is_empty()) {
        e = e.description(d);
    }
    e = e.fields(
        reply
            .fields
            .iter()
            .take(limits::FIELDS)
            .map(|f| (f.name.clone(), f.value.clone(), f.inline)),
    );
    if let Some(f) = footer {
        // Footers show no Markdown: the markup's escapes would show as backslashes.
        e = e.footer(serenity::CreateEmbedFooter::new(markup::to_discord_plain(
            &f,
        )));
    }
    if let Some(a) = &reply.attachment {
        // The attached chart shown inside the embed rather than below it.
        e = e.image(format!("attachment://{}", a.filename));
    }
    e
}

/// The file a reply carries, as a Discord attachment (sent as multipart).
pub fn attachment(reply: &Reply) -> Option<serenity::CreateAttachment> {
    reply
        .attachment
        .as_ref()
        .map(|a| serenity::CreateAttachment::bytes(a.bytes.clone(), a.filename.clone()))
}

/// Where a paging button leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageTarget {
    /// The page it shows.
    pub page: u32,
    /// The command that shows it.
    pub invocation: Invocation,
    /// Whether it can be pressed (there is a page that way).
    pub enabled: bool,
}

/// The Prev and Next targets of a paged reply (`None` for single-page replies). A list that
/// pages by keyset gives the keys of its first and last rows: Next re-runs it `after:` the last,
/// Prev `before:` the first, so any page costs what the first does; the page number travels
/// beside.
pub fn page_targets(reply: &Reply) -> Option<[PageTarget; 2]> {
    let p = reply
        .paging
        .as_ref()
        .filter(|p| p.pages > 1 || p.prev_key.is_some() || p.next_key.is_some())?;
    let keyed = p.prev_key.is_some() || p.next_key.is_some();
    let (prev_ok, next_ok) = if keyed {
        (p.prev_key.is_some(), p.next_key.is_some())
    } else {
        (p.page > 1, p.page < p.pages)
    };
    // With two or more pages the targets differ, so the ids (unique per message) do too.
    let prev = p.page.saturating_sub(1).max(1);
    let next = if keyed {
        p.page + 1
    } else {
        (p.page + 1).min(p.pages)
    };
    let prev = if prev == next { next - 1 } else { prev };
    let target = |page: u32, key: Option<(&str, &String)>, enabled: bool| PageTarget {
        page,
        invocation: match key {
            Some((option, k)) => p.invocation.with_key(option, k),
            None => p.invocation.with_page(page),
        },
        enabled,
    };
    Some([
        target(prev, p.prev_key.as_ref().map(|k| ("before", k)), prev_ok),
        target(next, p.next_key.as_ref().map(|k| ("after", k)), next_ok),
    ])
}

/// Custom id of a button showing `page` of `inv`, pressable by `asker`, carrying the invocation
/// itself; `None` when it is too long or does not survive the console spelling: then the
/// invocation is kept in the database ([`stored_form`]) and the id carries its key
/// ([`keyed_custom_id`]).
pub fn inline_custom_id(asker: u64, page: u32, inv: &Invocation) -> Option<String> {
    let line = inv.to_line();
    let inline = format!("pg|{asker}|{page}|{line}");
    let round_trips = Invocation::parse_line(&line).is_ok_and(|back| back == *inv);
    (inline.len() <= CUSTOM_ID_MAX && round_trips).then_some(inline)
}

/// Custom id of a button showing `page` of the invocation kept under `key`.
pub fn keyed_custom_id(asker: u64, page: u32, key: i64) -> String {
    format!("pk|{asker}|{page}|{key}")
}

/// The key of a button that cannot be pressed: no invocation is kept for it (keys start at 1).
pub const NO_KEY: i64 = 0;

/// The text an invocation is kept as: JSON, which keeps every value exactly (the console
/// spelling does not).
pub fn stored_form(inv: &Invocation) -> String {
    serde_json::to_string(inv).expect("an invocation is plain strings")
}

/// An invocation read back from [`stored_form`]; `None` for text that is not one.
pub fn from_stored(text: &str) -> Option<Invocation> {
    serde_json::from_str(text).ok()
}

/// What a paging button carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carried {
    /// The invocation itself (`pg|`).
    Line(Invocation),
    /// The key it is kept under (`pk|`).
    Key(i64),
}

/// A decoded paging button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageClick {
    /// Who may press it (the original asker).
    pub asker: u64,
    /// Page to show.
    pub page: u32,
    /// The invocation to re-run, or where it is kept.
    pub carried: Carried,
}

/// Decodes a paging button id; `None` for ids that are not ours.
pub fn parse_custom_id(id: &str) -> Option<PageClick> {
    let mut parts = id.splitn(4, '|');
    let kind = parts.next()?;
    let asker = parts.next()?.parse().ok()?;
    let page = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let carried = match kind {
        "pg" => Carried::Line(Invocation::parse_line(rest).ok()?),
        "pk" => Carried::Key(rest.parse().ok()?),
        _ => return None,
    };
    Some(PageClick {
        asker,
        page,
        carried,
    })
}

/// Prev/Next buttons for `targets`, with the custom ids made for them (in the same order).
pub fn buttons(targets: &[PageTarget; 2], ids: [String; 2]) -> Vec<serenity::CreateActionRow> {
    let [prev_id, next_id] = ids;
    vec![serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(prev_id)
            .label("◀ Prev")
            .style(serenity::ButtonStyle::Secondary)
            .disabled(!targets[0].enabled),
        serenity::CreateButton::new(next_id)
            .label("Next ▶")
            .style(serenity::ButtonStyle::Secondary)
            .disabled(!targets[1].enabled),
    ])]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Paging;

    #[test]
    fn short_invocations_travel_in_the_id() {
        let inv = Invocation::new("backorders", None, &[("sku", "TENT-2P"), ("page", "2")]);
        let id = inline_custom_id(42, 2, &inv).unwrap();
        assert_eq!(id, "pg|42|2|/backorders sku:TENT-2P page:2");
        let click = parse_custom_id(&id).unwrap();
        assert_eq!(click.asker, 42);
        assert_eq!(click.page, 2);
        assert_eq!(click.carried, Carried::Line(inv));
    }

    #[test]
    fn long_invocations_are_kept_by_key() {
        let long = "x".repeat(120);
        let inv = Invocation::new("backorders", None, &[("customer", &long), ("page", "3")]);
        assert_eq!(inline_custom_id(1_100_000_000_000_000_003, 3, &inv), None);
        let id = keyed_custom_id(1_100_000_000_000_000_003, 3, i64::MAX);
        assert!(id.len() <= CUSTOM_ID_MAX, "{id}");
        let click = parse_custom_id(&id).unwrap();
        assert_eq!((click.page, click.carried), (3, Carried::Key(i64::MAX)));
        assert_eq!(from_stored(&stored_form(&inv)), Some(inv));
        // Values that do not survive the console spelling are kept too, exactly.
        let quoted = Invocation::new("backorders", None, &[("customer", "O'Brien \"x\"")]);
        assert_eq!(inline_custom_id(1, 1, &quoted), None);
        assert_eq!(from_stored(&stored_form(&quoted)), Some(quoted));
        assert_eq!(from_stored("not json"), None);
    }

    #[test]
    fn foreign_ids_are_ignored() {
        assert_eq!(parse_custom_id("something-else"), None);
        assert_eq!(parse_custom_id("pg|x|1|/help"), None);
        assert_eq!(parse_custom_id("pk|1|1|abc"), None);
    }

    #[test]
    fn embeds_join_description_and_lines_and_show_the_page() {
        let mut r = Reply::new("Backorders (7)", Severity::Info).field("a", "b", true);
        r.description = Some("Top".into());
        r.lines = vec!["one".into(), "two".into()];
        r.paging = Some(Paging {
            page: 1,
            pages: 4,
            invocation: Invocation::new("backorders", None, &[]),
            prev_key: None,
            next_key: None,
        });
        assert_eq!(description(&r).unwrap(), "Top\none\ntwo");
        assert_eq!(footer(&r).unwrap(), "Page 1/4");
        let v = serde_json::to_value(embed(&r)).unwrap();
        assert_eq!(v["title"], "Backorders (7)");
        assert_eq!(v["color"], 0x5865F2);
        assert_eq!(v["fields"][0]["name"], "a");
        let targets = page_targets(&r).unwrap();
        let ids = targets
            .clone()
            .map(|t| inline_custom_id(9, t.page, &t.invocation).unwrap());
        let rows = serde_json::to_value(buttons(&targets, ids)).unwrap();
        let buttons = &rows[0]["components"];
        assert_eq!(buttons[0]["disabled"], true);
        assert_eq!(buttons[1]["disabled"], false);
        assert_eq!(buttons[1]["custom_id"], "pg|9|2|/backorders page:2");
    }
}
