//! Purchase orders: the status of a line from its quantities, and of a PO from its lines.

use super::ParseError;
use std::fmt;

/// Where a purchase-order line (or a whole purchase order) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoStatus {
    /// Nothing received yet.
    Open,
    /// Some units received, more expected.
    PartiallyReceived,
    /// Everything ordered has arrived.
    Received,
    /// No more units expected.
    Cancelled,
}

impl PoStatus {
    /// Every status.
    pub const ALL: [PoStatus; 4] = [
        PoStatus::Open,
        PoStatus::PartiallyReceived,
        PoStatus::Received,
        PoStatus::Cancelled,
    ];

    /// What `/pos status:` offers: every status, then `all`.
    pub const FILTER_CHOICES: [&'static str; 5] = [
        PoStatus::Open.as_str(),
        PoStatus::PartiallyReceived.as_str(),
        PoStatus::Received.as_str(),
        PoStatus::Cancelled.as_str(),
        "all",
    ];

    /// Parses a status name (any case).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "\"{s}\" is not a status (open, partially_received, received or cancelled)"
                ))
            })
    }

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            PoStatus::Open => "open",
            PoStatus::PartiallyReceived => "partially_received",
            PoStatus::Received => "received",
            PoStatus::Cancelled => "cancelled",
        }
    }

    /// The status of a line: the one rule, used on receipt, on import and by the ingest API.
    pub fn of_line(qty_ordered: i64, qty_received: i64, cancelled: bool) -> Self {
        if cancelled {
            PoStatus::Cancelled
        } else if qty_received >= qty_ordered {
            PoStatus::Received
        } else if qty_received > 0 {
            PoStatus::PartiallyReceived
        } else {
            PoStatus::Open
        }
    }

    /// The status of a purchase order from its lines' (status, units received): cancelled when
    /// every line is (or there are none), received when no line expects more, partially received
    /// once anything arrived, else open.
    pub fn of_po(lines: impl IntoIterator<Item = (PoStatus, i64)>) -> Self {
        let (mut live, mut expecting, mut any_received) = (false, false, false);
        for (status, received) in lines {
            live |= status != PoStatus::Cancelled;
            expecting |= status.expects_more();
            any_received |= received > 0;
        }
        if !live {
            PoStatus::Cancelled
        } else if !expecting {
            PoStatus::Received
        } else if any_received {
            PoStatus::PartiallyReceived
        } else {
            PoStatus::Open
        }
    }

    /// The status as people say it: `partly received`.
    pub const fn words(self) -> &'static str {
        match self {
            PoStatus::Open => "open",
            PoStatus::PartiallyReceived => "partly received",
            PoStatus::Received => "received",
            PoStatus::Cancelled => "cancelled",
        }
    }

    /// Whether units are still to arrive.
    pub fn expects_more(self) -> bool {
        matches!(self, PoStatus::Open | PoStatus::PartiallyReceived)
    }

    /// Units still to arrive on a line in this status.
    pub fn remaining(self, qty_ordered: i64, qty_received: i64) -> i64 {
        if self == PoStatus::Cancelled {
            0
        } else {
            (qty_ordered - qty_received).max(0)
        }
    }
}

impl fmt::Display for PoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::PoStatus::*;
    use super::*;

    #[test]
    fn a_line_status_follows_its_quantities() {
        assert_eq!(PoStatus::of_line(10, 0, false), Open);
        assert_eq!(PoStatus::of_line(10, 4, false), PartiallyReceived);
        assert_eq!(PoStatus::of_line(10, 10, false), Received);
        assert_eq!(PoStatus::of_line(10, 12, false), Received);
        assert_eq!(PoStatus::of_line(10, 4, true), Cancelled);
    }

    #[test]
    fn a_po_status_follows_its_lines() {
        assert_eq!(PoStatus::of_po([]), Cancelled);
        assert_eq!(PoStatus::of_po([(Cancelled, 0), (Cancelled, 3)]), Cancelled);
        assert_eq!(PoStatus::of_po([(Open, 0), (Cancelled, 0)]), Open);
        assert_eq!(
            PoStatus::of_po([(Open, 0), (Received, 5)]),
            PartiallyReceived
        );
        assert_eq!(PoStatus::of_po([(PartiallyReceived, 2)]), PartiallyReceived);
        // A cancelled line that had received units still counts as "something arrived".
        assert_eq!(
            PoStatus::of_po([(Open, 0), (Cancelled, 1)]),
            PartiallyReceived
        );
        assert_eq!(PoStatus::of_po([(Received, 5), (Cancelled, 0)]), Received);
    }

    #[test]
    fn cancelled_lines_expect_nothing() {
        assert_eq!(Cancelled.remaining(10, 2), 0);
        assert_eq!(PartiallyReceived.remaining(10, 2), 8);
        assert_eq!(Received.remaining(10, 12), 0);
    }
}
