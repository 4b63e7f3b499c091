//! Free text from outside the program.
//!
//! Names (products, categories, customers, suppliers) are refused when they carry a control
//! character or a bidi override: they are shown in terminals, chat and files for years, and such a
//! character would be obeyed there (`ESC[31m` colours a terminal, `ESC]0;…BEL` sets its title,
//! U+202E shows the rest backwards). Everything else a person may be called, including accents,
//! CJK, emoji, apostrophes and ampersands, is kept as typed.
//!
//! Reasons people type are different: invisible and control characters are stripped, not refused,
//! so a pasted reason still goes through but cannot hide or reorder what the audit log shows.

use super::ident::is_hidden;
use super::ParseError;

/// `n` with its noun in agreement: `1 unit`, `2 units`, `0 units`.
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Whether a character in a name would be obeyed rather than shown: C0 controls (tab, CR and LF
/// too: a name is one line), DEL, C1 controls (ESC among them, and the 8-bit CSI), and the bidi
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069). Zero-width joiners stay:
/// emoji and several scripts need them.
pub fn is_obeyed(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name from outside (product, category, customer, supplier): trimmed, not empty, and refused
/// if it holds a character a terminal or text renderer would obey ([`is_obeyed`]). The error names
/// the character by code point: printing it would obey it again.
pub fn name(raw: &str) -> Result<String, ParseError> {
    let s = optional_name(raw)?;
    if s.is_empty() {
        return Err(ParseError::new("cannot be empty"));
    }
    Ok(s)
}

/// [`name`] for a column that may be left empty (a product's category).
pub fn optional_name(raw: &str) -> Result<String, ParseError> {
    // Trimmed first: a tab or line break around a cell is layout, not part of the name.
    let s = raw.trim();
    if let Some(c) = s.chars().find(|c| is_obeyed(*c)) {
        let what = if c.is_control() {
            "a control character"
        } else {
            "a bidi override"
        };
        return Err(ParseError::new(format!(
            "contains {what} (U+{:04X}); names are shown as typed, so retype it without it",
            u32::from(c)
        )));
    }
    Ok(s.to_string())
}

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Removes hidden characters; line breaks and tabs become spaces.
pub fn clean(raw: &str) -> String {
    raw.chars()
        .filter_map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                Some(' ')
            } else if is_hidden(c) {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// A reason for a change: cleaned, trimmed, 1–500 characters.
pub fn reason(raw: &str) -> Result<String, ParseError> {
    line(raw, MAX_REASON_CHARS)
}

/// One line people type (a reason, a note): cleaned ([`clean`]), trimmed, 1–`max` characters.
pub fn line(raw: &str, max: usize) -> Result<String, ParseError> {
    let s = clean(raw);
    let s = s.trim();
    if s.is_empty() {
        Err(ParseError::new("cannot be empty"))
    } else if s.chars().count() > max {
        Err(ParseError::new(format!("is longer than {max} characters")))
    } else {
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_are_kept_as_typed() {
        for n in [
            "O'Brien & Sons — Café 東京 🙂",
            "@here Wireless Mouse <@222> **FREE** [claim](https://evil.example)",
            "``` *** ||spoiler||",
            "Zoë Ångström-Łukasiewicz",
            "محمد",
            "👩\u{200D}💻 Dev Kit",
            "=1+1",
        ] {
            assert_eq!(name(n).unwrap(), n);
        }
        assert_eq!(name(" \tMouse \r\n").unwrap(), "Mouse");
    }

    #[test]
    fn names_refuse_what_a_terminal_would_obey_and_name_it_without_printing_it() {
        for (raw, code) in [
            ("Mouse \u{1b}[31mRED", "U+001B"),
            ("\u{1b}]0;pwned\u{7}", "U+001B"),
            ("Mouse\u{7}", "U+0007"),
            ("Two\nlines", "U+000A"),
            ("Carriage\rreturn", "U+000D"),
            ("Tab\tbed", "U+0009"),
            ("Del\u{7f}", "U+007F"),
            ("C1 \u{9b}31m", "U+009B"),
            ("Mouse \u{202E}esuoM", "U+202E"),
            ("\u{2066}isolate", "U+2066"),
            ("nul\u{0}", "U+0000"),
        ] {
            let e = name(raw).unwrap_err();
            assert!(e.0.contains(code), "{raw:?}: {e}");
            assert!(!e.0.chars().any(is_obeyed), "{raw:?}: {e:?}");
        }
        assert_eq!(name("  ").unwrap_err().0, "cannot be empty");
        assert_eq!(optional_name("  ").unwrap(), "");
    }

    #[test]
    fn reasons_lose_hidden_characters_but_keep_their_words() {
        assert_eq!(
            reason(" count\u{202E}ed\u{0} on\tshelf\u{FEFF} ").unwrap(),
            "counted on shelf"
        );
        assert_eq!(reason("\u{202E}\u{0} ").unwrap_err().0, "cannot be empty");
        assert!(reason(&"x".repeat(501)).is_err());
    }
}
