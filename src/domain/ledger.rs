//! The stock ledger: why on-hand moved.

use std::fmt;

/// Why a stock movement happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    /// Units arrived on a purchase order.
    Receipt,
    /// Units left with an order.
    Sale,
    /// A count or a correction.
    Adjustment,
    /// A customer sent units back.
    Return,
}

impl MovementKind {
    /// Every kind.
    pub const ALL: [MovementKind; 4] = [
        MovementKind::Receipt,
        MovementKind::Sale,
        MovementKind::Adjustment,
        MovementKind::Return,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::Sale => "sale",
            MovementKind::Adjustment => "adjustment",
            MovementKind::Return => "return",
        }
    }
}

impl fmt::Display for MovementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
