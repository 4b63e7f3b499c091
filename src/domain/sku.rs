//! Stock-keeping unit codes.

use super::ParseError;
use std::fmt;

/// A product code as the shop spells it; compared case-insensitively through [`Sku::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    /// Longest SKU accepted.
    pub const MAX_LEN: usize = 64;

    /// Accepts 1–64 characters of letters, digits and `-_./`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        super::ident::refuse_hidden(raw)?;
        let s = raw.trim();
        if s.is_empty() {
            return Err(ParseError::new("a SKU cannot be empty"));
        }
        if s.chars().count() > Self::MAX_LEN {
            // Worded as the command spec's length check words it: chat and API read alike.
            return Err(ParseError::new(format!(
                "is longer than {} characters",
                Self::MAX_LEN
            )));
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
        {
            return Err(ParseError::new(format!(
                "\"{s}\" has a character a SKU cannot have: {bad:?} (letters, digits and - _ . / only)"
            )));
        }
        Ok(Self(s.to_string()))
    }

    /// The shop's spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive lookup key (upper case).
    pub fn key(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Sku {
    /// Edits between this SKU and `other`, case aside, a swap of neighbours counting as one
    /// ([`super::search::typo_distance`], the one edit distance): ranks "did you mean" candidates.
    pub fn distance_to(&self, other: &str) -> usize {
        super::search::typo_distance(&self.key(), &other.to_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_keeps_spelling_and_keys_upper_case() {
        let sku = Sku::parse(" abc-1 ").unwrap();
        assert_eq!(sku.as_str(), "abc-1");
        assert_eq!(sku.key(), "ABC-1");
    }

    #[test]
    fn sku_rejects_empty_spaces_and_long() {
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse("AB C").unwrap_err().0.contains("' '"));
        assert!(Sku::parse(&"A".repeat(65)).is_err());
    }

    #[test]
    fn sku_refuses_invisible_characters_without_echoing_them() {
        let e = Sku::parse("HAT\u{202E}-GRN").unwrap_err();
        assert!(e.0.contains("U+202E") && !e.0.contains('\u{202E}'), "{e}");
        assert!(Sku::parse("\u{FEFF}HAT-GRN").is_err());
    }

    #[test]
    fn distance_counts_single_edits_whatever_the_case() {
        let d = |a: &str, b: &str| Sku::parse(a).unwrap().distance_to(b);
        assert_eq!(d("ABC-9", "abc-1"), 1);
        assert_eq!(d("ABC", "ABCD"), 1);
        assert_eq!(d("AB", "ABCD"), 2);
        // Two neighbours swapped are one typo (the Levenshtein distance it replaced said 2).
        assert_eq!(d("ABC-12", "abc-21"), 1);
    }
}
