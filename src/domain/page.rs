//! Keyset paging: a list row's key (the values of the columns its order sorts by) and its short
//! text form, which paging buttons carry (Discord's custom ids hold 100 characters).
//!
//! The text form is the parts joined by `.`, each a type letter and a value: `i` a whole number
//! in base 36, `r` a float's IEEE bits in base 36 (exact, so a stored REAL compares equal), `t`
//! text as unpadded URL-safe base64. Only letters, digits, `-`, `_` and `.` appear, so a key
//! survives the console spelling of a command (`after:r8…​.i1b2.i3f`) unquoted.

use base64::Engine;

/// One value of a row's key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPart {
    Int(i64),
    Real(f64),
    Text(String),
}

/// The key of a list row in its order.
#[derive(Debug, Clone, PartialEq)]
pub struct PageKey(pub Vec<KeyPart>);

/// A key that is not one of ours (typed by hand, or from another version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a page key")]
pub struct BadKey;

/// Longest key text accepted.
pub const MAX_LEN: usize = 200;

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

fn unbase36(s: &str) -> Result<u64, BadKey> {
    if s.is_empty() {
        return Err(BadKey);
    }
    u64::from_str_radix(s, 36).map_err(|_| BadKey)
}

impl PageKey {
    /// The text form.
    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                KeyPart::Int(n) if *n < 0 => format!("i-{}", base36(n.unsigned_abs())),
                KeyPart::Int(n) => format!("i{}", base36(*n as u64)),
                KeyPart::Real(x) => format!("r{}", base36(x.to_bits())),
                KeyPart::Text(s) => format!(
                    "t{}",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
                ),
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Reads the text form.
    pub fn parse(raw: &str) -> Result<Self, BadKey> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_LEN {
            return Err(BadKey);
        }
        raw.split('.')
            .map(|part| {
                let (kind, value) = part.split_at_checked(1).ok_or(BadKey)?;
                match kind {
                    "i" => match value.strip_prefix('-') {
                        Some(v) => {
                            let n = unbase36(v)?;
                            if n > i64::MAX as u64 + 1 {
                                return Err(BadKey);
                            }
                            Ok(KeyPart::Int((n as i128).wrapping_neg() as i64))
                        }
                        None => Ok(KeyPart::Int(
                            i64::try_from(unbase36(value)?).map_err(|_| BadKey)?,
                        )),
                    },
                    "r" => Ok(KeyPart::Real(f64::from_bits(unbase36(value)?))),
                    "t" => {
                        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(value)
                            .map_err(|_| BadKey)?;
                        Ok(KeyPart::Text(String::from_utf8(bytes).map_err(|_| BadKey)?))
                    }
                    _ => Err(BadKey),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(PageKey)
    }

    /// The key has these kinds of parts, in this order (`i`, `r`, `t`).
    pub fn has_shape(&self, shape: &str) -> bool {
        self.0.len() == shape.len()
            && self.0.iter().zip(shape.chars()).all(|(p, k)| {
                matches!(
                    (p, k),
                    (KeyPart::Int(_), 'i') | (KeyPart::Real(_), 'r') | (KeyPart::Text(_), 't')
                )
            })
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Seek {
    /// From the top (page 1).
    #[default]
    First,
    /// Skip this many rows from the top (`page:N` typed by hand).
    Skip(i64),
    /// The rows right after this key (Next).
    After(PageKey),
    /// The rows right before this key (Prev).
    Before(PageKey),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_exactly_and_stay_short() {
        let k = PageKey(vec![
            KeyPart::Real(-40_551.871_234_567_891),
            KeyPart::Int(1_764_000_000),
            KeyPart::Int(123_456),
            KeyPart::Int(-5),
            KeyPart::Text("PO-SYN-12345 é|x".into()),
        ]);
        let text = k.encode();
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{text}"
        );
        assert_eq!(PageKey::parse(&text), Ok(k));
        let priority = PageKey(vec![
            KeyPart::Real(-40_551.871_234_567_891),
            KeyPart::Int(1_764_000_000),
            KeyPart::Int(999_999),
        ]);
        assert!(priority.encode().len() <= 30, "{}", priority.encode());
        assert!(priority.has_shape("rii"));
        assert!(!priority.has_shape("rit"));
        let extremes = PageKey(vec![KeyPart::Int(i64::MIN), KeyPart::Int(i64::MAX)]);
        assert_eq!(PageKey::parse(&extremes.encode()), Ok(extremes));
    }

    #[test]
    fn foreign_text_is_not_a_key() {
        for bad in [
            "",
            "x1",
            "i",
            "i!",
            "r",
            "tA=",
            "i1..i2",
            &"i1.".repeat(100),
        ] {
            assert_eq!(PageKey::parse(bad), Err(BadKey), "{bad}");
        }
    }
}
