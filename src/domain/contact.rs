//! Customer contact details and how they are masked in chat and logs.

use super::ParseError;
use std::fmt;

/// A phone number in E.164 form (`+` and 8–15 digits).
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts `+4915112345678`; spaces, dashes and brackets are dropped first.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or_else(|| {
            ParseError::new(
                "a phone number must be in E.164 form, starting with + and the country code",
            )
        })?;
        if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new(
                "a phone number must be + followed by 8 to 15 digits",
            ));
        }
        if digits.starts_with('0') {
            return Err(ParseError::new("a country code cannot start with 0"));
        }
        Ok(Self(compact))
    }

    /// The full number, for the SMS adapter only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `+49•••••••78`: enough to recognise, not enough to dial.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// An e-mail address (one `@`, a dotted domain, no spaces).
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts `name@example.com`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let bad = || ParseError::new(format!("\"{}\" is not an e-mail address", mask_email(s)));
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || s.chars().any(char::is_whitespace)
            || s.len() > 254
        {
            return Err(bad());
        }
        Ok(Self(s.to_string()))
    }

    /// The full address, for the e-mail adapter only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `j•••@example.com`.
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

/// Masks a phone number, keeping the first three and last two characters.
pub fn mask_phone(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 5 {
        return "•".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(chars.len() - 5))
}

/// Masks an e-mail address, keeping the first letter and the domain.
pub fn mask_email(raw: &str) -> String {
    match raw.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_string(),
    }
}

/// The first word of a name, as a message or the customer's page greets them.
pub fn first_name(name: &str) -> String {
    name.split_whitespace().next().unwrap_or("").to_string()
}

/// Masks a person's name for chat: `Jane Doe` → `Jane D.`.
pub fn mask_name(name: &str) -> String {
    let mut parts = name.split_whitespace();
    match (parts.next(), parts.last()) {
        (Some(first), Some(last)) => {
            format!("{first} {}.", last.chars().next().unwrap_or('?'))
        }
        (Some(first), None) => first.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_accepts_e164_and_strips_separators() {
        let p = PhoneNumber::parse("+49 151-1234 5678").unwrap();
        assert_eq!(p.expose(), "+4915112345678");
        assert_eq!(p.masked(), "+49•••••••••78");
    }

    #[test]
    fn phone_rejects_local_form_and_letters() {
        assert!(PhoneNumber::parse("0151 1234567").is_err());
        assert!(PhoneNumber::parse("+49abc12345").is_err());
        assert!(PhoneNumber::parse("+123").is_err());
    }

    #[test]
    fn email_parses_and_masks() {
        let e = EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(e.masked(), "j•••@example.com");
        assert!(EmailAddress::parse("jane@localhost").is_err());
        assert!(EmailAddress::parse("not an email").is_err());
    }

    #[test]
    fn debug_never_prints_the_full_contact() {
        let p = PhoneNumber::parse("+15551234567").unwrap();
        assert!(!format!("{p:?}").contains("5551234567"));
    }

    #[test]
    fn names_are_shortened() {
        assert_eq!(mask_name("Jane Q Doe"), "Jane D.");
        assert_eq!(mask_name("Cher"), "Cher");
    }
}
