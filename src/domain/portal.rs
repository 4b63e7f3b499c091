//! The customer's own page (`/b/<token>`): link tokens, form tokens, the choices a customer has,
//! and the per-address request limit. Pure: the random bytes and the clock come from outside.

use super::ParseError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Random bytes in a link token: 128 bits.
pub const TOKEN_BYTES: usize = 16;

/// Characters of a token as it appears in a link (base64url, no padding).
pub const TOKEN_CHARS: usize = 22;

/// A link token as found in a URL. It is a bearer secret: whoever has it sees the page.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(…)")
    }
}

impl LinkToken {
    /// The token of 16 random bytes.
    pub fn from_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a token from a path segment: exactly 22 base64url characters that decode to 16
    /// bytes. Anything else is not a token (and gets the same answer as an unknown one).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() != TOKEN_CHARS {
            return Err(ParseError::new("not a link token"));
        }
        match URL_SAFE_NO_PAD.decode(raw) {
            // Re-encoding must give the same text: the last character carries 4 unused bits,
            // and a token differing only there is another spelling we do not accept.
            Ok(b) if b.len() == TOKEN_BYTES && URL_SAFE_NO_PAD.encode(&b) == raw => {
                Ok(Self(raw.to_string()))
            }
            _ => Err(ParseError::new("not a link token")),
        }
    }

    /// The token as it goes in a link.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database keeps: the SHA-256 of the token, in hex.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }

    /// The form token for a form carrying `nonce`: HMAC-SHA256 keyed with the link token. Only
    /// someone holding the link can make one, so another site cannot post for the customer.
    pub fn csrf(&self, nonce: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(nonce).finalize().into_bytes())
    }

    /// Whether `given` is the form token for `nonce` (compared in constant time).
    pub fn csrf_matches(&self, nonce: &str, given: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(given) {
            Ok(bytes) => self.mac(nonce).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, nonce: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.as_bytes()).expect("HMAC takes any key length");
        mac.update(b"portal-form:");
        mac.update(nonce.as_bytes());
        mac
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A form's one-time value: 16 random bytes, base64url. A replayed form carries the same one.
pub fn nonce_from_bytes(bytes: [u8; TOKEN_BYTES]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks a nonce sent back by a form: what [`nonce_from_bytes`] makes.
pub fn parse_nonce(raw: &str) -> Result<&str, ParseError> {
    LinkToken::parse(raw)
        .map(|_| raw)
        .map_err(|_| ParseError::new("not a form value"))
}

/// Why a customer cancels, from the short list the page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    TooLong,
    FoundElsewhere,
    NoLongerNeeded,
    Other,
}

impl CancelReason {
    /// The list, in the order the page shows it.
    pub const ALL: [CancelReason; 4] = [
        CancelReason::TooLong,
        CancelReason::FoundElsewhere,
        CancelReason::NoLongerNeeded,
        CancelReason::Other,
    ];

    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::TooLong => "too_long",
            CancelReason::FoundElsewhere => "found_elsewhere",
            CancelReason::NoLongerNeeded => "no_longer_needed",
            CancelReason::Other => "other",
        }
    }

    /// What the customer reads, and the reason recorded.
    pub fn label(self) -> &'static str {
        match self {
            CancelReason::TooLong => "The wait is too long",
            CancelReason::FoundElsewhere => "I found it elsewhere",
            CancelReason::NoLongerNeeded => "I no longer need it",
            CancelReason::Other => "Another reason",
        }
    }

    /// Reads a form value.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| ParseError::new("choose a reason from the list"))
    }
}

/// What a customer chose for one backorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Take this in-stock product (its SKU) instead.
    Switch(String),
    /// Cancel, for this reason.
    Cancel(CancelReason),
    /// Keep waiting.
    KeepWaiting,
}

impl Choice {
    /// The stored spelling of the action.
    pub fn action(&self) -> &'static str {
        match self {
            Choice::Switch(_) => "switch",
            Choice::Cancel(_) => "cancel",
            Choice::KeepWaiting => "keep_waiting",
        }
    }
}

/// Requests to `/b/` per client address: a fixed one-minute window per address.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    windows: HashMap<IpAddr, (Instant, u32)>,
}

/// The window of [`RateLimit`].
pub const WINDOW: Duration = Duration::from_secs(60);

/// Addresses remembered before expired windows are swept.
const SWEEP_AT: usize = 10_000;

impl RateLimit {
    /// A limit of `per_minute` requests per address.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: HashMap::new(),
        }
    }

    /// Counts a request from `addr` at `now`: `Ok` when it is within the limit, else how long
    /// until the address may ask again.
    pub fn admit(&mut self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.windows.len() >= SWEEP_AT {
            self.windows
                .retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = self.windows.entry(addr).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err(WINDOW.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_token_is_22_characters_and_parses_back() {
        let t = LinkToken::from_bytes([7; TOKEN_BYTES]);
        assert_eq!(t.as_str().len(), TOKEN_CHARS);
        assert_eq!(LinkToken::parse(t.as_str()).unwrap(), t);
        assert_eq!(t.hash().len(), 64);
        assert_ne!(t.hash(), LinkToken::from_bytes([8; TOKEN_BYTES]).hash());
        assert!(!format!("{t:?}").contains(t.as_str()));
    }

    #[test]
    fn anything_else_is_not_a_token() {
        let t = LinkToken::from_bytes([200; TOKEN_BYTES]);
        for bad in [
            "",
            "short",
            &format!("{}A", t.as_str()),
            "../../etc/passwd%2F%2F%2F",
            "<script>alert(1)</scrip",
            "AAAAAAAAAAAAAAAAAAAAA=",
        ] {
            assert!(LinkToken::parse(bad).is_err(), "{bad}");
        }
        // The last character's unused bits set: another spelling of the same bytes.
        let mut other = t.as_str().to_string();
        let last = other.pop().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let i = alphabet.find(last).unwrap();
        other.push(alphabet.as_bytes()[i ^ 1] as char);
        assert!(LinkToken::parse(&other).is_err(), "{other}");
    }

    #[test]
    fn the_form_token_belongs_to_its_link_and_nonce() {
        let t = LinkToken::from_bytes([1; TOKEN_BYTES]);
        let u = LinkToken::from_bytes([2; TOKEN_BYTES]);
        let csrf = t.csrf("n1");
        assert!(t.csrf_matches("n1", &csrf));
        assert!(!t.csrf_matches("n2", &csrf));
        assert!(!u.csrf_matches("n1", &csrf));
        assert!(!t.csrf_matches("n1", ""));
        assert!(!t.csrf_matches("n1", "not base64 !"));
    }

    #[test]
    fn cancel_reasons_round_trip() {
        for r in CancelReason::ALL {
            assert_eq!(CancelReason::parse(r.as_str()), Ok(r));
        }
        assert!(CancelReason::parse("TOO_LONG").is_err());
    }

    #[test]
    fn the_limit_counts_per_address_and_resets_after_a_minute() {
        let mut limit = RateLimit::new(3);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limit.admit(a, t0).is_ok());
        }
        let wait = limit.admit(a, t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        assert!(limit.admit(b, t0).is_ok());
        assert!(limit.admit(a, t0 + WINDOW).is_ok());
    }

    proptest! {
        #[test]
        fn no_window_admits_more_than_the_limit(per in 1u32..10, steps in proptest::collection::vec(0u64..30, 1..200)) {
            let mut limit = RateLimit::new(per);
            let a: IpAddr = "10.0.0.1".parse().unwrap();
            let t0 = Instant::now();
            let mut at = 0u64;
            let mut admitted: Vec<u64> = Vec::new();
            for s in steps {
                at += s;
                if limit.admit(a, t0 + Duration::from_secs(at)).is_ok() {
                    admitted.push(at);
                }
            }
            // Fixed windows: within any window start..start+60 at most `per` are admitted.
            for (i, start) in admitted.iter().enumerate() {
                let within = admitted[i..].iter().take_while(|t| **t < start + 60).count();
                prop_assert!(within <= 2 * per as usize);
            }
        }
    }
}
