//! The commands, their options and descriptions: one table both chat surfaces read.

/// An option's value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Free text.
    Text,
    /// A whole number (may be negative where the command allows).
    Integer,
    /// `true` / `false`.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
}

/// What an option's autocomplete suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suggest {
    /// SKUs.
    Sku,
    /// Open purchase orders.
    Po,
    /// Open backorders.
    Backorder,
    /// Customers.
    Customer,
}

/// One option of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Name as typed (`sku`).
    pub name: &'static str,
    /// Help text.
    pub description: &'static str,
    /// Value type.
    pub kind: OptionKind,
    /// Must be given.
    pub required: bool,
    /// Fixed choices, if any.
    pub choices: &'static [&'static str],
    /// Autocomplete source, if any.
    pub suggest: Option<Suggest>,
}

/// One command (or subcommand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Top-level name (`backorder`).
    pub name: &'static str,
    /// Subcommand (`cancel`), if any.
    pub sub: Option<&'static str>,
    /// Help text (Discord description).
    pub description: &'static str,
    /// Options.
    pub options: &'static [OptionSpec],
    /// Changes data: needs the ops role in Discord.
    pub mutating: bool,
}

const fn opt(
    name: &'static str,
    description: &'static str,
    kind: OptionKind,
    required: bool,
) -> OptionSpec {
    OptionSpec {
        name,
        description,
        kind,
        required,
        choices: &[],
        suggest: None,
    }
}

const fn suggest(mut o: OptionSpec, s: Suggest) -> OptionSpec {
    o.suggest = Some(s);
    o
}

const SKU: OptionSpec = suggest(
    opt("sku", "Product SKU", OptionKind::Text, true),
    Suggest::Sku,
);
const SKU_OPT: OptionSpec = suggest(
    opt("sku", "Product SKU", OptionKind::Text, false),
    Suggest::Sku,
);
const PO: OptionSpec = suggest(
    opt("po", "Purchase order number", OptionKind::Text, true),
    Suggest::Po,
);
const BACKORDER_ID: OptionSpec = suggest(
    opt("id", "Backorder id", OptionKind::Integer, true),
    Suggest::Backorder,
);
const PAGE: OptionSpec = opt("page", "Page number", OptionKind::Integer, false);
const REASON: OptionSpec = opt(
    "reason",
    "Why (kept in the audit log)",
    OptionKind::Text,
    true,
);

/// Every command, in help order.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "stock",
        sub: None,
        description:
            "Stock position of a SKU: on hand, allocated, inbound, backorders, alternatives",
        options: &[SKU],
        mutating: false,
    },
    CommandSpec {
        name: "search",
        sub: None,
        description: "Find products by SKU prefix or name words",
        options: &[opt(
            "query",
            "SKU prefix or words of the name",
            OptionKind::Text,
            true,
        )],
        mutating: false,
    },
    CommandSpec {
        name: "backorders",
        sub: None,
        description: "List backorders by SKU, customer or status",
        options: &[
            SKU_OPT,
            suggest(
                opt("customer", "Customer id", OptionKind::Text, false),
                Suggest::Customer,
            ),
            OptionSpec {
                name: "status",
                description: "Backorder status",
                kind: OptionKind::Text,
                required: false,
                choices: &["open", "allocated", "fulfilled", "cancelled", "all"],
                suggest: None,
            },
            PAGE,
        ],
        mutating: false,
    },
    CommandSpec {
        name: "backorder",
        sub: Some("show"),
        description: "One backorder in full, with its priority broken down",
        options: &[BACKORDER_ID],
        mutating: false,
    },
    CommandSpec {
        name: "backorder",
        sub: Some("prioritize"),
        description: "Move a backorder in its SKU's queue",
        options: &[
            BACKORDER_ID,
            OptionSpec {
                name: "position",
                description: "Where to move it",
                kind: OptionKind::Text,
                required: true,
                choices: &["top", "up", "down", "reset"],
                suggest: None,
            },
            opt(
                "reason",
                "Why (kept in the audit log)",
                OptionKind::Text,
                false,
            ),
        ],
        mutating: true,
    },
    CommandSpec {
        name: "backorder",
        sub: Some("cancel"),
        description: "Cancel a backorder (records a lost sale, releases its stock)",
        options: &[BACKORDER_ID, REASON],
        mutating: true,
    },
    CommandSpec {
        name: "backorder",
        sub: Some("fulfil"),
        description: "Mark an allocated backorder shipped",
        options: &[BACKORDER_ID],
        mutating: true,
    },
    CommandSpec {
        name: "po",
        sub: None,
        description: "A purchase order with its lines",
        options: &[suggest(
            opt("id", "Purchase order number", OptionKind::Text, true),
            Suggest::Po,
        )],
        mutating: false,
    },
    CommandSpec {
        name: "adjust",
        sub: None,
        description: "Correct on-hand stock (written to the ledger)",
        options: &[
            SKU,
            opt(
                "delta",
                "Units to add (negative to remove)",
                OptionKind::Integer,
                true,
            ),
            REASON,
        ],
        mutating: true,
    },
    CommandSpec {
        name: "eta",
        sub: None,
        description: "Set a purchase order's (or one line's) ETA and re-promise backorders",
        options: &[
            PO,
            opt("date", "New ETA, YYYY-MM-DD", OptionKind::Date, true),
            SKU_OPT,
            REASON,
            opt(
                "preview",
                "Show the effect without changing anything",
                OptionKind::Boolean,
                false,
            ),
        ],
        mutating: true,
    },
    CommandSpec {
        name: "receive",
        sub: None,
        description: "Receive stock on a purchase order and allocate it to backorders",
        options: &[
            PO,
            SKU_OPT,
            opt(
                "qty",
                "Units received (default: all remaining)",
                OptionKind::Integer,
                false,
            ),
        ],
        mutating: true,
    },
    CommandSpec {
        name: "help",
        sub: None,
        description: "List the commands and their options",
        options: &[],
        mutating: false,
    },
];

/// Finds a command by name and subcommand.
pub fn find(name: &str, sub: Option<&str>) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name && c.sub == sub)
}

/// The subcommands of a top-level name (empty for plain commands).
pub fn subcommands(name: &str) -> Vec<&'static CommandSpec> {
    COMMANDS
        .iter()
        .filter(|c| c.name == name && c.sub.is_some())
        .collect()
}
