//! What a command looks like from outside: its name, options and description. Each command file
//! declares its own `SPEC`; the table in [`super::COMMANDS`] pairs it with its handler.

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
    /// The reply may take a while: Discord defers (shows "thinking…") before running it.
    pub defer: bool,
}

/// An option without choices or autocomplete.
pub const fn opt(
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

/// The option with autocomplete from `s`.
pub const fn suggest(mut o: OptionSpec, s: Suggest) -> OptionSpec {
    o.suggest = Some(s);
    o
}

/// `sku:` (required, autocompleted).
pub const SKU: OptionSpec = suggest(
    opt("sku", "Product SKU", OptionKind::Text, true),
    Suggest::Sku,
);
/// `sku:` (optional, autocompleted).
pub const SKU_OPT: OptionSpec = suggest(
    opt("sku", "Product SKU", OptionKind::Text, false),
    Suggest::Sku,
);
/// `po:` (required, autocompleted).
pub const PO: OptionSpec = suggest(
    opt("po", "Purchase order number", OptionKind::Text, true),
    Suggest::Po,
);
/// `id:` of a backorder (required, autocompleted).
pub const BACKORDER_ID: OptionSpec = suggest(
    opt("id", "Backorder id", OptionKind::Integer, true),
    Suggest::Backorder,
);
/// `page:` of a list reply.
pub const PAGE: OptionSpec = opt("page", "Page number", OptionKind::Integer, false);
/// `reason:` (required; kept in the audit log).
pub const REASON: OptionSpec = opt(
    "reason",
    "Why (kept in the audit log)",
    OptionKind::Text,
    true,
);

/// The option restricted to fixed `choices` (Discord shows them as a list).
pub const fn choices(mut o: OptionSpec, choices: &'static [&'static str]) -> OptionSpec {
    o.choices = choices;
    o
}
