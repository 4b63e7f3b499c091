//! The structured reply every command returns; the console renders it as text, Discord as an
//! embed with buttons.
//!
//! Its strings are markup (`crate::domain::markup`): `**bold**`, and outside text (names, SMS
//! replies, reasons, notes) only ever as [`data`]`(raw)`, so Discord shows it as typed and never
//! as a mention or link, and the console shows it as typed with control characters escaped.

use super::Invocation;
pub use crate::domain::markup::data;
pub use crate::domain::text::plural;

/// How a reply should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Plain information.
    Info,
    /// Something changed as asked.
    Success,
    /// Needs attention (low stock, refused change).
    Warning,
    /// The command failed.
    Error,
}

/// A name/value pair (an embed field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Label.
    pub name: String,
    /// Value.
    pub value: String,
    /// Shown side by side with its neighbours.
    pub inline: bool,
}

/// Where a list reply is, and how to fetch its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page shown.
    pub page: u32,
    /// Number of pages.
    pub pages: u32,
    /// The command that produced it (re-run with another `page:`, or a key, to move).
    pub invocation: Invocation,
    /// Key of the first row, when there are rows before it (Prev re-runs with `before:`).
    pub prev_key: Option<String>,
    /// Key of the last row, when there are rows after it (Next re-runs with `after:`).
    pub next_key: Option<String>,
}

/// A command's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Heading.
    pub title: String,
    /// Free text under the heading.
    pub description: Option<String>,
    /// Name/value pairs.
    pub fields: Vec<Field>,
    /// List rows.
    pub lines: Vec<String>,
    /// Small print.
    pub footer: Option<String>,
    /// Look.
    pub severity: Severity,
    /// Only the person who asked sees it (Discord).
    pub ephemeral: bool,
    /// Set on list replies with more than one page.
    pub paging: Option<Paging>,
    /// A file sent with the reply (a chart): attached on Discord, written to a file by the console.
    pub attachment: Option<Attachment>,
}

/// A file a reply carries.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name without folders (`forecast-TENT-2P.png`).
    pub filename: String,
    /// Its bytes (a PNG image).
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Discord's hard limits, kept by every reply.
pub mod limits {
    /// Characters in an embed description.
    pub const DESCRIPTION: usize = 4096;
    /// Fields in an embed.
    pub const FIELDS: usize = 25;
    /// Characters in a field value.
    pub const FIELD_VALUE: usize = 1024;
    /// Characters in a field name.
    pub const FIELD_NAME: usize = 256;
    /// Characters in a title.
    pub const TITLE: usize = 256;
    /// Characters in a plain message.
    pub const MESSAGE: usize = 2000;
    /// Characters in a whole embed.
    pub const EMBED_TOTAL: usize = 6000;
}

/// Cuts text to at most `max` characters, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    // A cut right after an escaping backslash would escape the `…` instead.
    if out.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
        out.pop();
    }
    out.push('…');
    out
}

impl Reply {
    /// An empty reply with a title.
    pub fn new(title: impl Into<String>, severity: Severity) -> Self {
        Self {
            title: title.into(),
            description: None,
            fields: Vec::new(),
            lines: Vec::new(),
            footer: None,
            severity,
            ephemeral: false,
            paging: None,
            attachment: None,
        }
    }

    /// An error reply, shown only to the asker.
    pub fn error(message: impl Into<String>) -> Self {
        let mut r = Reply::new("Error", Severity::Error);
        r.description = Some(message.into());
        r.ephemeral = true;
        r
    }

    /// Adds a field.
    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
            inline,
        });
        self
    }

    /// Sets the description.
    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Trims everything to Discord's limits, so no adapter can send an oversized message.
    pub fn within_limits(mut self) -> Self {
        self.title = truncate(&self.title, limits::TITLE);
        self.fields.truncate(limits::FIELDS);
        for f in &mut self.fields {
            f.name = truncate(&f.name, limits::FIELD_NAME);
            f.value = truncate(
                if f.value.is_empty() { "—" } else { &f.value },
                limits::FIELD_VALUE,
            );
        }
        if let Some(d) = &self.description {
            self.description = Some(truncate(d, limits::DESCRIPTION));
        }
        // Lines go in the description on Discord: keep the whole embed under its total.
        let used: usize = self.title.chars().count()
            + self.description.as_deref().map_or(0, |d| d.chars().count())
            + self
                .fields
                .iter()
                .map(|f| f.name.chars().count() + f.value.chars().count())
                .sum::<usize>()
            + self.footer.as_deref().map_or(0, |f| f.chars().count());
        let mut budget = limits::EMBED_TOTAL
            .saturating_sub(used)
            .min(limits::DESCRIPTION);
        let mut kept = Vec::new();
        for l in self.lines.drain(..) {
            let n = l.chars().count() + 1;
            if n > budget {
                break;
            }
            budget -= n;
            kept.push(l);
        }
        self.lines = kept;
        self
    }

    /// Plain text (pipes, `ask`, logs), within 2,000 characters: the reply's `**bold**` markup
    /// is dropped, never shown literally.
    pub fn to_text(&self) -> String {
        self.render_text(false)
    }

    /// Text for a terminal: with `styled`, the title and bold parts in terminal bold, field
    /// names dim; without, the same as [`Self::to_text`].
    pub fn to_terminal(&self, styled: bool) -> String {
        self.render_text(styled)
    }

    fn render_text(&self, styled: bool) -> String {
        let bold = |s: &str| {
            if styled {
                format!("{BOLD}{s}{RESET}")
            } else {
                s.to_string()
            }
        };
        let inline = |s: &str| markup(s, styled);
        let mut out = String::new();
        let marker = match self.severity {
            Severity::Error => "✗ ",
            Severity::Warning => "! ",
            Severity::Success => "✓ ",
            Severity::Info => "",
        };
        out.push_str(&format!("{marker}{}\n", bold(&markup(&self.title, false))));
        if let Some(d) = &self.description {
            out.push_str(&inline(d));
            out.push('\n');
        }
        for f in &self.fields {
            let name = if styled {
                format!("{DIM}{}:{RESET}", markup(&f.name, false))
            } else {
                format!("{}:", markup(&f.name, false))
            };
            out.push_str(&format!(
                "  {name} {}\n",
                inline(&f.value).replace('\n', "\n    ")
            ));
        }
        for l in &self.lines {
            out.push_str(&format!("  {}\n", inline(l)));
        }
        if let Some(p) = &self.paging {
            out.push_str(&format!(
                "  page {}/{} — add page:N for another page\n",
                p.page, p.pages
            ));
        }
        if let Some(f) = &self.footer {
            out.push_str(&format!("  {}\n", inline(f)));
        }
        // Cut the plain text first so escape codes never count against (or split at) the limit.
        if styled {
            let plain = self.render_text(false);
            if plain.chars().count() > limits::MESSAGE {
                return plain;
            }
            return out.trim_end().to_string();
        }
        truncate(out.trim_end(), limits::MESSAGE)
    }
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Markup → terminal text: `**bold**` → terminal bold (`styled`) or nothing (an unpaired `**`
/// is dropped too), outside text read back as typed, control characters shown as escapes.
fn markup(s: &str, styled: bool) -> String {
    crate::domain::markup::to_console(s, styled.then_some((BOLD, RESET)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Reply {
        let mut r = Reply::new("KB-101 — Keyboard", Severity::Warning)
            .describe("Status: **BACKORDERED**")
            .field("On hand", "0", true);
        r.lines.push("**LATE** PO-1".to_string());
        r
    }

    #[test]
    fn plain_text_never_shows_bold_markup() {
        let text = sample().to_text();
        assert!(!text.contains("**"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains("Status: BACKORDERED"), "{text}");
        assert!(text.contains("  LATE PO-1"), "{text}");
    }

    #[test]
    fn terminal_text_shows_bold_as_a_terminal_style() {
        let text = sample().to_terminal(true);
        assert!(!text.contains("**"), "{text}");
        assert!(text.contains("Status: \x1b[1mBACKORDERED\x1b[0m"), "{text}");
        assert!(text.starts_with("! \x1b[1mKB-101"), "{text}");
        assert_eq!(sample().to_terminal(false), sample().to_text());
    }

    #[test]
    fn an_unpaired_marker_is_dropped() {
        assert_eq!(markup("a ** b", false), "a  b");
        assert_eq!(markup("a **b** c **d", true), "a \x1b[1mb\x1b[0m c d");
    }
}
