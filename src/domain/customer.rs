//! Customer loyalty tiers and preferred channels.

use super::ParseError;
use std::fmt;

/// Loyalty tier; feeds backorder priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// No programme.
    Standard,
    /// Silver members.
    Silver,
    /// Gold members.
    Gold,
    /// The shop's most valued customers.
    Vip,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 4] = [Tier::Standard, Tier::Silver, Tier::Gold, Tier::Vip];

    /// Parses `standard|silver|gold|vip` (any case).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "standard" | "" => Ok(Tier::Standard),
            "silver" => Ok(Tier::Silver),
            "gold" => Ok(Tier::Gold),
            "vip" => Ok(Tier::Vip),
            other => Err(ParseError::new(format!(
                "\"{other}\" is not a tier (standard, silver, gold or vip)"
            ))),
        }
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Silver => "silver",
            Tier::Gold => "gold",
            Tier::Vip => "vip",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a customer wants to hear about their backorders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Channel {
    /// Text message.
    Sms,
    /// E-mail (the default, as in the schema).
    #[default]
    Email,
    /// Not at all.
    None,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 3] = [Channel::Sms, Channel::Email, Channel::None];

    /// Parses `sms|email|none` (any case).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "sms" => Ok(Channel::Sms),
            "email" | "" => Ok(Channel::Email),
            "none" => Ok(Channel::None),
            other => Err(ParseError::new(format!(
                "\"{other}\" is not a channel (sms, email or none)"
            ))),
        }
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::None => "none",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks the shape of an IANA time zone name such as `Europe/Berlin` or `UTC`.
pub fn parse_timezone(raw: &str) -> Result<String, ParseError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok("UTC".to_string());
    }
    let shape_ok = s == "UTC"
        || (s.contains('/')
            && s.split('/').all(|part| {
                !part.is_empty()
                    && part.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
            }));
    if shape_ok {
        Ok(s.to_string())
    } else {
        Err(ParseError::new(format!(
            "\"{s}\" is not an IANA time zone like Europe/Berlin"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_channels_parse_case_insensitively() {
        assert_eq!(Tier::parse("VIP").unwrap(), Tier::Vip);
        assert!(Tier::parse("platinum").unwrap_err().0.contains("platinum"));
        assert_eq!(Channel::parse("SMS").unwrap(), Channel::Sms);
        assert!(Channel::parse("pigeon").is_err());
    }

    #[test]
    fn timezones_are_checked_for_shape() {
        assert_eq!(parse_timezone("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert_eq!(
            parse_timezone("America/Argentina/Buenos_Aires").unwrap(),
            "America/Argentina/Buenos_Aires"
        );
        assert!(parse_timezone("berlin").is_err());
        assert!(parse_timezone("Europe/").is_err());
    }
}
