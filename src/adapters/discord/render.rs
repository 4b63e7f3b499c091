//! A [`Reply`] as a Discord embed, plus the Prev/Next buttons of paged replies, and what every
//! request the bot sends may ping ([`allowed_mentions`]).
//!
//! Button custom ids carry everything a click needs, so paging survives restarts:
//! `pg|<asker user id>|<target page>|<invocation line>`; the line of a keyset list holds the key
//! of the row to continue from (`/backorders after:r…​.i….i…`). When the line is too long for
//! Discord's 100-character limit (or does not survive a round trip through
//! [`Invocation::parse_line`]), the invocation is kept in memory instead and the id is
//! `pk|<asker>|<page>|<key>` ([`PageStore`]).

use crate::commands::reply::{limits, truncate};
use crate::commands::{Invocation, Reply, Severity};
use crate::domain::markup;
use poise::serenity_prelude as serenity;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Discord's limit on a component's custom id.
pub const CUSTOM_ID_MAX: usize = 100;
/// Invocations kept for long custom ids; the oldest are forgotten first.
const STORE_CAPACITY: usize = 2048;

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

/// Invocations too long to fit a custom id, by key.
#[derive(Default)]
pub struct PageStore {
    inner: Mutex<StoreInner>,
}

#[derive(Default)]
struct StoreInner {
    next: u64,
    by_key: HashMap<u64, Invocation>,
    order: VecDeque<u64>,
}

impl PageStore {
    /// Keeps an invocation and returns its key.
    pub fn put(&self, inv: &Invocation) -> u64 {
        let mut s = self.inner.lock().expect("page store lock");
        if let Some((k, _)) = s.by_key.iter().find(|(_, v)| *v == inv) {
            return *k;
        }
        s.next += 1;
        let key = s.next;
        s.by_key.insert(key, inv.clone());
        s.order.push_back(key);
        while s.order.len() > STORE_CAPACITY {
            if let Some(old) = s.order.pop_front() {
                s.by_key.remove(&old);
            }
        }
        key
    }

    /// The invocation kept under `key`, if still known.
    pub fn get(&self, key: u64) -> Option<Invocation> {
        self.inner
            .lock()
            .expect("page store lock")
            .by_key
            .get(&key)
            .cloned()
    }
}

/// A decoded paging button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageClick {
    /// Who may press it (the original asker).
    pub asker: u64,
    /// Page to show.
    pub page: u32,
    /// The invocation to re-run, or `None` when it was kept in memory and is gone.
    pub invocation: Option<Invocation>,
}

/// Custom id of a button showing `page` of `inv`, pressable by `asker`.
pub fn page_custom_id(store: &PageStore, asker: u64, page: u32, inv: &Invocation) -> String {
    let line = inv.to_line();
    let inline = format!("pg|{asker}|{page}|{line}");
    let round_trips = Invocation::parse_line(&line).is_ok_and(|back| back == *inv);
    if inline.len() <= CUSTOM_ID_MAX && round_trips {
        inline
    } else {
        format!("pk|{asker}|{page}|{}", store.put(inv))
    }
}

/// Decodes a paging button id; `None` for ids that are not ours.
pub fn parse_custom_id(store: &PageStore, id: &str) -> Option<PageClick> {
    let mut parts = id.splitn(4, '|');
    let kind = parts.next()?;
    let asker = parts.next()?.parse().ok()?;
    let page = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let invocation = match kind {
        "pg" => Some(Invocation::parse_line(rest).ok()?),
        "pk" => store.get(rest.parse().ok()?),
        _ => return None,
    };
    Some(PageClick {
        asker,
        page,
        invocation,
    })
}

/// Prev/Next buttons for a paged reply (none for single-page replies). A list that pages by
/// keyset gives the keys of its first and last rows: Next re-runs it `after:` the last, Prev
/// `before:` the first, so any page costs what the first does; the page number travels beside.
pub fn components(store: &PageStore, asker: u64, reply: &Reply) -> Vec<serenity::CreateActionRow> {
    let Some(p) = reply
        .paging
        .as_ref()
        .filter(|p| p.pages > 1 || p.prev_key.is_some() || p.next_key.is_some())
    else {
        return Vec::new();
    };
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
    let target = |page: u32, key: Option<(&str, &String)>| match key {
        Some((option, k)) => p.invocation.with_key(option, k),
        None => p.invocation.with_page(page),
    };
    let prev_inv = target(prev, p.prev_key.as_ref().map(|k| ("before", k)));
    let next_inv = target(next, p.next_key.as_ref().map(|k| ("after", k)));
    let prev_id = page_custom_id(store, asker, prev, &prev_inv);
    let next_id = page_custom_id(store, asker, next, &next_inv);
    vec![serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(prev_id)
            .label("◀ Prev")
            .style(serenity::ButtonStyle::Secondary)
            .disabled(!prev_ok),
        serenity::CreateButton::new(next_id)
            .label("Next ▶")
            .style(serenity::ButtonStyle::Secondary)
            .disabled(!next_ok),
    ])]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Paging;

    #[test]
    fn short_invocations_travel_in_the_id() {
        let store = PageStore::default();
        let inv = Invocation::new("backorders", None, &[("sku", "TENT-2P"), ("page", "2")]);
        let id = page_custom_id(&store, 42, 2, &inv);
        assert_eq!(id, "pg|42|2|/backorders sku:TENT-2P page:2");
        let click = parse_custom_id(&store, &id).unwrap();
        assert_eq!(click.asker, 42);
        assert_eq!(click.page, 2);
        assert_eq!(click.invocation, Some(inv));
    }

    #[test]
    fn long_invocations_are_kept_in_memory() {
        let store = PageStore::default();
        let long = "x".repeat(120);
        let inv = Invocation::new("backorders", None, &[("customer", &long), ("page", "3")]);
        let id = page_custom_id(&store, 1_100_000_000_000_000_003, 3, &inv);
        assert!(id.len() <= CUSTOM_ID_MAX, "{id}");
        assert!(id.starts_with("pk|"));
        assert_eq!(
            parse_custom_id(&store, &id).unwrap().invocation,
            Some(inv.clone())
        );
        // A fresh process does not know the key: the click decodes, the invocation is gone.
        let other = PageStore::default();
        assert_eq!(parse_custom_id(&other, &id).unwrap().invocation, None);
        // Values that do not survive the console spelling also go to the store.
        let quoted = Invocation::new("backorders", None, &[("customer", "O'Brien")]);
        assert!(page_custom_id(&store, 1, 1, &quoted).starts_with("pk|"));
    }

    #[test]
    fn foreign_ids_are_ignored() {
        let store = PageStore::default();
        assert_eq!(parse_custom_id(&store, "something-else"), None);
        assert_eq!(parse_custom_id(&store, "pg|x|1|/help"), None);
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
        let store = PageStore::default();
        let rows = serde_json::to_value(components(&store, 9, &r)).unwrap();
        let buttons = &rows[0]["components"];
        assert_eq!(buttons[0]["disabled"], true);
        assert_eq!(buttons[1]["disabled"], false);
        assert_eq!(buttons[1]["custom_id"], "pg|9|2|/backorders page:2");
    }
}
