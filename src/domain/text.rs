//! Free text people type (reasons): invisible and control characters are stripped, not refused,
//! so a pasted reason still goes through but cannot hide or reorder what the audit log shows.

use super::ident::is_hidden;
use super::ParseError;

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
    let s = clean(raw);
    let s = s.trim();
    if s.is_empty() {
        Err(ParseError::new("cannot be empty"))
    } else if s.chars().count() > MAX_REASON_CHARS {
        Err(ParseError::new(format!(
            "is longer than {MAX_REASON_CHARS} characters"
        )))
    } else {
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
