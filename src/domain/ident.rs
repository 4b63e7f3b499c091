//! Identifiers typed by people or sent by other systems: order and PO numbers, customer ids,
//! idempotency keys. One rule for all of them: trimmed, not empty, at most 64 characters, and
//! nothing invisible (control characters, bidi overrides, a byte-order mark) that would make two
//! identifiers look alike or make a log line read backwards.

use super::ParseError;
use std::fmt;

/// Longest order number, PO number or customer id accepted.
pub const MAX_LEN: usize = 64;

/// Whether a character is invisible or steers how text is displayed: C0/C1 controls (NUL, ESC,
/// newlines…), the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the
/// implicit marks (U+200E/U+200F, U+061C), zero-width characters (U+200B–U+200D) and the BOM.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// Refuses a value with a hidden character, naming it by code point (printing it would hide it
/// again).
pub fn refuse_hidden(s: &str) -> Result<(), ParseError> {
    match s.chars().find(|c| is_hidden(*c)) {
        Some(c) => Err(ParseError::new(format!(
            "contains an invisible or control character (U+{:04X}); retype it without it",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// The shared identifier rule: trimmed, 1–64 characters, no hidden characters.
pub fn identifier(raw: &str) -> Result<String, ParseError> {
    refuse_hidden(raw)?;
    let s = raw.trim();
    if s.is_empty() {
        return Err(ParseError::new("cannot be empty"));
    }
    if s.chars().count() > MAX_LEN {
        return Err(ParseError::new(format!(
            "is longer than {MAX_LEN} characters"
        )));
    }
    Ok(s.to_string())
}

macro_rules! identifier_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses with the shared identifier rule.
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                identifier(raw).map(Self)
            }

            /// As given (trimmed).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier_type!(
    /// A shop order number (`SO-5001`, `WEB-1`).
    OrderNumber
);
identifier_type!(
    /// A purchase-order number (`PO-1001`).
    PoNumber
);
identifier_type!(
    /// The shop's id of a customer (`C-1005`).
    CustomerRef
);

/// The client's `Idempotency-Key`: 1–200 visible ASCII characters (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key accepted.
    pub const MAX_LEN: usize = 200;

    /// Parses a header value.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ParseError::new("cannot be empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(ParseError::new(format!(
                "is longer than {} characters",
                Self::MAX_LEN
            )));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::new(
                "may hold only visible ASCII characters (a UUID is a good key)",
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_trimmed_and_bounded() {
        assert_eq!(OrderNumber::parse(" SO-1 ").unwrap().as_str(), "SO-1");
        assert_eq!(PoNumber::parse("").unwrap_err().0, "cannot be empty");
        assert!(PoNumber::parse(&"P".repeat(64)).is_ok());
        assert!(PoNumber::parse(&"P".repeat(65)).is_err());
        assert!(OrderNumber::parse("Bestellung-ä").is_ok());
    }

    #[test]
    fn identifiers_refuse_invisible_characters_naming_the_code_point() {
        for bad in [
            "SO-1\u{0}",
            "SO-\u{202E}1",
            "\u{FEFF}SO-1",
            "SO\u{2066}-1",
            "SO-1\n2",
            "SO\u{200B}1",
        ] {
            let e = OrderNumber::parse(bad).unwrap_err();
            assert!(e.0.contains("U+"), "{bad:?}: {e}");
        }
        assert!(OrderNumber::parse("SO-\u{202E}1")
            .unwrap_err()
            .0
            .contains("U+202E"));
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_200() {
        assert!(IdempotencyKey::parse("0b8f6f2e-4c8e-4a57-9a0e-3f1d7c2b9a10").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(201)).is_err());
    }
}
