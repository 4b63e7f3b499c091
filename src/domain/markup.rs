//! How outside text is shown: the one rule for names, SMS replies, reasons and notes that come
//! from the storefront, customers' phones or suppliers' files.
//!
//! Replies, alert lines and channel posts are written in a small markup that Discord shows as
//! Markdown: `**bold**`, a backslash before punctuation for the character itself, and a zero-width
//! space (U+200B) that breaks what Discord would otherwise make a mention or a link. Outside text
//! enters that markup only through [`data`], which escapes it so Discord shows it as typed and
//! never as a mention, link, heading, spoiler or code block. The console and other plain-text
//! surfaces read the markup back with [`to_console`]: escapes and breaks removed, so the text reads
//! as typed, and any control or bidi character shown as a visible escape (`\u{1b}`), never raw.

use super::ident::is_hidden;

/// What [`data`] puts after `@`, `<` and the `:` of `://`, so Discord neither pings, links nor
/// embeds. Invisible in Discord; removed by [`to_console`].
pub const BREAK: char = '\u{200B}';

/// Characters Discord reads as Markdown wherever they stand.
const INLINE: &[char] = &['\\', '*', '_', '~', '`', '|', '[', ']'];
/// Characters Discord reads as Markdown at the start of a line (headings, quotes, lists).
const LINE_START: &[char] = &['#', '>', '-', '+', '*'];

/// Outside text → markup: Markdown characters escaped, mentions and links broken, control and
/// bidi characters as visible escapes. Shorten the raw text first, then call this, so a cut never
/// splits an escape.
pub fn data(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    let chars: Vec<char> = raw.chars().collect();
    // Until the first visible character, the text may be read as the start of a line.
    let mut line_start = true;
    let mut leading_digits = false;
    for (i, &c) in chars.iter().enumerate() {
        if is_hidden(c) {
            // The visible escape is itself markup text: its backslash is escaped.
            out.push('\\');
            out.push_str(&visible_char(c));
            continue;
        }
        if line_start && c.is_whitespace() {
            out.push(c);
            continue;
        }
        if line_start && LINE_START.contains(&c) {
            out.push('\\');
            out.push(c);
            line_start = false;
            continue;
        }
        if line_start && c.is_ascii_digit() {
            // `1. ` starts an ordered list: its `.` is escaped below.
            leading_digits = true;
            out.push(c);
            continue;
        }
        line_start = false;
        if leading_digits && c == '.' {
            out.push_str("\\.");
            leading_digits = false;
            continue;
        }
        leading_digits = false;
        if INLINE.contains(&c) || (c == '(' && i > 0 && chars[i - 1] == ']') {
            out.push('\\');
            out.push(c);
        } else if c == '@'
            || c == '<'
            || (c == ':' && chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/'))
        {
            // `@everyone`, `<@…>`, `<#…>`, `<t:…>`, `https://…`: broken right after the sign.
            out.push(c);
            out.push(BREAK);
        } else {
            out.push(c);
        }
    }
    out
}

/// Raw text → text with every control and bidi character as a visible escape: for plain-text
/// surfaces that show no Markdown (autocomplete choices, logs of names).
pub fn visible(raw: &str) -> String {
    if !raw.chars().any(is_hidden) {
        return raw.to_string();
    }
    raw.chars()
        .map(|c| {
            if is_hidden(c) {
                visible_char(c)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `\n`, `\t`, `\r`, or `\u{1b}` for any other hidden character.
fn visible_char(c: char) -> String {
    match c {
        '\n' => "\\n".to_string(),
        '\r' => "\\r".to_string(),
        '\t' => "\\t".to_string(),
        _ => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

/// A piece of markup: text as it reads, or a `**` marker.
#[derive(Debug, PartialEq)]
enum Token {
    Text(String),
    Bold,
}

fn tokens(markup: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = markup.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => {
                text.push(chars.next().unwrap_or('\\'));
            }
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if !text.is_empty() {
                    out.push(Token::Text(std::mem::take(&mut text)));
                }
                out.push(Token::Bold);
            }
            // Code spans are the markup's own (outside text has its backticks escaped).
            '`' => {}
            // A channel mention `<#123>` (outside text never makes one: `data` breaks it).
            '<' if chars.peek() == Some(&'#') => {
                let rest: String = chars
                    .clone()
                    .skip(1)
                    .take_while(|d| d.is_ascii_digit())
                    .collect();
                let mut after = chars.clone().skip(1 + rest.len());
                if !rest.is_empty() && after.next() == Some('>') {
                    text.push_str("channel ");
                    text.push_str(&rest);
                    for _ in 0..rest.len() + 2 {
                        chars.next();
                    }
                } else {
                    text.push(c);
                }
            }
            BREAK => {}
            // Line breaks are the markup's own (rows, field lines); data never carries them raw.
            '\n' => text.push('\n'),
            c if is_hidden(c) => text.push_str(&visible_char(c)),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        out.push(Token::Text(text));
    }
    out
}

/// Markup → text for a terminal or a plain-text surface: escapes and breaks removed (outside
/// text reads as typed), code backticks dropped, a channel mention `<#123>` as `channel 123`,
/// `**bold**` wrapped in `bold` (`(on, off)` terminal codes) or dropped,
/// an unpaired `**` dropped too, and any control or bidi character left shown as an escape.
pub fn to_console(markup: &str, bold: Option<(&str, &str)>) -> String {
    let tokens = tokens(markup);
    let markers = tokens.iter().filter(|t| **t == Token::Bold).count();
    let mut seen = 0;
    let mut inside = false;
    let mut out = String::with_capacity(markup.len());
    for t in tokens {
        match t {
            Token::Text(s) => out.push_str(&s),
            Token::Bold => {
                seen += 1;
                // The last marker of an odd count opens nothing: dropped.
                if markers % 2 == 1 && seen == markers {
                    continue;
                }
                if let Some((on, off)) = bold {
                    out.push_str(if inside { off } else { on });
                }
                inside = !inside;
            }
        }
    }
    out
}

/// Markup → text for Discord surfaces that show no Markdown (embed footers, button labels):
/// escapes removed so the text reads as typed, `**` dropped, breaks kept (harmless there, and
/// nothing reads as a mention).
pub fn to_discord_plain(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    for t in tokens_keeping_breaks(markup) {
        if let Token::Text(s) = t {
            out.push_str(&s);
        }
    }
    out
}

fn tokens_keeping_breaks(markup: &str) -> Vec<Token> {
    // Protect the breaks through `tokens` by splitting on them.
    let mut out = Vec::new();
    for (i, part) in markup.split(BREAK).enumerate() {
        if i > 0 {
            out.push(Token::Text(BREAK.to_string()));
        }
        out.extend(tokens(part));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain(m: &str) -> String {
        to_console(m, None)
    }

    #[test]
    fn real_names_read_as_typed() {
        let name = "O'Brien & Sons — Café 東京 🙂";
        assert_eq!(data(name), name);
        assert_eq!(plain(&data(name)), name);
    }

    #[test]
    fn mentions_and_links_are_broken() {
        let m = data("@here Mouse <@222> **FREE** [claim](https://evil.example)");
        for bad in ["@here", "<@", "**", "](", "https://"] {
            assert!(!m.contains(bad), "{bad} in {m}");
        }
        assert_eq!(
            plain(&m),
            "@here Mouse <@222> **FREE** [claim](https://evil.example)"
        );
    }

    #[test]
    fn line_starts_are_escaped() {
        assert_eq!(data("# Big"), "\\# Big");
        assert_eq!(data("> quote"), "\\> quote");
        assert_eq!(data("- item"), "\\- item");
        assert_eq!(data("12. item"), "12\\. item");
        assert_eq!(data("Wi-Fi 2.4"), "Wi-Fi 2.4");
        assert_eq!(plain(&data("12. item")), "12. item");
    }

    #[test]
    fn control_and_bidi_characters_become_visible_escapes() {
        let m = data("a\u{1b}[31mb\u{1b}]0;pwned\u{7}c\u{202E}d");
        assert!(!m.contains('\u{1b}'));
        let shown = plain(&m);
        assert_eq!(shown, "a\\u{1b}[31mb\\u{1b}]0;pwned\\u{7}c\\u{202e}d");
        assert_eq!(visible("x\u{1b}y\u{2066}"), "x\\u{1b}y\\u{2066}");
        // Controls that reach the console some other way are escaped there too.
        assert_eq!(plain("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
    }

    #[test]
    fn bold_markers_pair_and_an_unpaired_one_is_dropped() {
        assert_eq!(to_console("a ** b", None), "a  b");
        assert_eq!(to_console("a **b** c **d", Some(("<", ">"))), "a <b> c d");
        assert_eq!(
            to_console(&format!("**{}**", data("*x*")), Some(("<", ">"))),
            "<*x*>"
        );
    }

    #[test]
    fn the_console_shows_no_code_marks_or_channel_mentions() {
        let m = format!(
            "**nightly** `0 8 * * *` → <#123456789012345678>, {}",
            data("`x` <#1>")
        );
        assert_eq!(
            plain(&m),
            "nightly 0 8 * * * → channel 123456789012345678, `x` <#1>"
        );
        assert_eq!(plain("a <#12 b <#> c <"), "a <#12 b <#> c <");
    }

    #[test]
    fn plain_discord_surfaces_keep_the_breaks() {
        let m = data("@everyone [x](y)");
        assert_eq!(to_discord_plain(&m), "@\u{200B}everyone [x](y)");
    }

    /// Whether Discord would read an active mention or link in `m`: `@everyone`/`@here`,
    /// `<@`, `<#`, `<@&`, a masked link `](` not escaped, or a URL scheme.
    pub(crate) fn active(m: &str) -> Option<&'static str> {
        [
            "@everyone",
            "@here",
            "<@",
            "<#",
            "<@&",
            "<:",
            "<t:",
            "http://",
            "https://",
        ]
        .into_iter()
        .find(|p| m.contains(p))
        .or_else(|| {
            // `](` preceded by an unescaped `]`.
            let chars: Vec<char> = m.chars().collect();
            (1..chars.len())
                .find(|&i| {
                    chars[i] == '(' && chars[i - 1] == ']' && {
                        let slashes = chars[..i - 1]
                            .iter()
                            .rev()
                            .take_while(|c| **c == '\\')
                            .count();
                        slashes % 2 == 0
                    }
                })
                .map(|_| "](")
        })
    }

    fn hostile() -> impl Strategy<Value = String> {
        let atoms = prop_oneof![
            Just("@".to_string()),
            Just("<".to_string()),
            Just(">".to_string()),
            Just("everyone".to_string()),
            Just("here".to_string()),
            Just("http".to_string()),
            Just("https".to_string()),
            Just("://".to_string()),
            Just("&".to_string()),
            Just("!".to_string()),
            Just(" ".to_string()),
            "[@<>*_~`|\\[\\]()#\\-:/\\\\.!&a-z0-9 ]",
            "[0-9]{1,18}",
            "\\PC",
        ];
        proptest::collection::vec(atoms, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn discord_never_sees_an_active_mention_or_link_and_the_console_reads_it_back(
            s in hostile(),
            prefix in prop_oneof![Just(""), Just("x "), Just("**"), Just("#1 ")],
        ) {
            let m = data(&s);
            // Also with markup around it, as replies put it.
            let framed = format!("{prefix}{m} — {m}**");
            prop_assert!(active(&framed).is_none(), "{:?} → {:?}: {:?}", s, framed, active(&framed));
            prop_assert!(active(&m).is_none(), "{:?} → {:?}", s, m);
            if !s.chars().any(is_hidden) {
                prop_assert_eq!(plain(&m), s.clone());
                prop_assert_eq!(to_console(&format!("**{m}**"), None), s);
            } else {
                prop_assert!(!plain(&m).chars().any(is_hidden));
            }
        }
    }
}
