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
    /// Backorders that can still be cancelled: open or allocated.
    ActiveBackorder,
    /// Allocated backorders: stock set aside, waiting to be shipped.
    AllocatedBackorder,
    /// Customers.
    Customer,
    /// Command names (`/help command:`).
    Command,
}

impl Suggest {
    /// Whether it suggests backorders (whose ids may be written `#4`, as lists print them).
    pub fn is_backorder(self) -> bool {
        matches!(
            self,
            Suggest::Backorder | Suggest::ActiveBackorder | Suggest::AllocatedBackorder
        )
    }
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
    /// Smallest value an integer option takes (Discord's `min_value`).
    pub min_value: Option<i64>,
    /// Largest value an integer option takes (Discord's `max_value`).
    pub max_value: Option<i64>,
    /// Most characters a text or date option takes (Discord's `max_length`).
    pub max_length: Option<u16>,
    /// Set by the program, not offered to people: not registered with Discord, not in help,
    /// completion or positional values (the keys paging buttons carry).
    pub hidden: bool,
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

/// Characters a text option takes unless it says otherwise (SKUs, PO numbers, customer ids…).
pub const TEXT_MAX_LENGTH: u16 = 100;

/// An option without choices or autocomplete; text takes at most [`TEXT_MAX_LENGTH`] characters,
/// a date 10 (`YYYY-MM-DD`).
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
        min_value: None,
        max_value: None,
        max_length: match kind {
            OptionKind::Text => Some(TEXT_MAX_LENGTH),
            OptionKind::Date => Some(10),
            OptionKind::Integer | OptionKind::Boolean => None,
        },
        hidden: false,
    }
}

/// The integer option restricted to `min..=max` (Discord refuses other values before they reach
/// the bot; the console checks the same).
pub const fn range(mut o: OptionSpec, min: Option<i64>, max: Option<i64>) -> OptionSpec {
    o.min_value = min;
    o.max_value = max;
    o
}

/// The integer option restricted to at least `min`.
pub const fn at_least(o: OptionSpec, min: i64) -> OptionSpec {
    range(o, Some(min), None)
}

/// The text option taking at most `n` characters.
pub const fn max_length(mut o: OptionSpec, n: u16) -> OptionSpec {
    o.max_length = Some(n);
    o
}

/// A limit the domain states in characters, as an option's `max_length` (refused at compile time
/// if it does not fit).
const fn chars(n: usize) -> u16 {
    assert!(n <= u16::MAX as usize);
    n as u16
}

/// The option with autocomplete from `s`.
pub const fn suggest(mut o: OptionSpec, s: Suggest) -> OptionSpec {
    o.suggest = Some(s);
    o
}

/// `sku:`, autocompleted, as long as a SKU may be.
const fn sku(required: bool) -> OptionSpec {
    max_length(
        suggest(
            opt("sku", "Product SKU", OptionKind::Text, required),
            Suggest::Sku,
        ),
        chars(crate::domain::Sku::MAX_LEN),
    )
}
/// `sku:` (required).
pub const SKU: OptionSpec = sku(true);
/// `sku:` (optional).
pub const SKU_OPT: OptionSpec = sku(false);
/// `po:` (required, autocompleted; as long as a PO number may be).
pub const PO: OptionSpec = max_length(
    suggest(
        opt("po", "Purchase order number", OptionKind::Text, true),
        Suggest::Po,
    ),
    chars(crate::domain::ident::MAX_LEN),
);
/// `id:` of a backorder (required, autocompleted).
pub const BACKORDER_ID: OptionSpec = suggest(
    at_least(opt("id", "Backorder id", OptionKind::Integer, true), 1),
    Suggest::Backorder,
);
/// `id:` of a backorder that can be cancelled (open or allocated; autocompleted).
pub const ACTIVE_BACKORDER_ID: OptionSpec = suggest(
    at_least(opt("id", "Backorder id", OptionKind::Integer, true), 1),
    Suggest::ActiveBackorder,
);
/// `id:` of an allocated backorder (autocompleted).
pub const ALLOCATED_BACKORDER_ID: OptionSpec = suggest(
    at_least(opt("id", "Backorder id", OptionKind::Integer, true), 1),
    Suggest::AllocatedBackorder,
);
/// `page:` of a list reply.
pub const PAGE: OptionSpec = range(
    opt("page", "Page number", OptionKind::Integer, false),
    Some(1),
    Some(100_000),
);
/// `after:` of a list reply: the key of the row the page starts after (the Next button's).
pub const AFTER: OptionSpec = hidden(max_length(
    opt(
        "after",
        "Key of the row the page starts after",
        OptionKind::Text,
        false,
    ),
    chars(crate::domain::page::MAX_LEN),
));
/// `before:` of a list reply: the key of the row the page ends before (the Prev button's).
pub const BEFORE: OptionSpec = hidden(max_length(
    opt(
        "before",
        "Key of the row the page ends before",
        OptionKind::Text,
        false,
    ),
    chars(crate::domain::page::MAX_LEN),
));

/// The options of a list command: its own, then [`PAGE`], [`AFTER`] and [`BEFORE`], which
/// `Args::paging` reads.
macro_rules! list_options {
    ($($option:expr),* $(,)?) => {
        &[
            $($option,)*
            $crate::commands::spec::PAGE,
            $crate::commands::spec::AFTER,
            $crate::commands::spec::BEFORE,
        ]
    };
}
pub(crate) use list_options;

/// The option, set by the program only ([`OptionSpec::hidden`]).
pub const fn hidden(mut o: OptionSpec) -> OptionSpec {
    o.hidden = true;
    o
}

/// `reason:` (required; kept in the audit log).
pub const REASON: OptionSpec = max_length(
    opt(
        "reason",
        "Why (kept in the audit log)",
        OptionKind::Text,
        true,
    ),
    REASON_MAX_LENGTH,
);

/// Characters a reason takes: the domain's limit, so chat, console and API agree.
pub const REASON_MAX_LENGTH: u16 = chars(crate::domain::text::MAX_REASON_CHARS);

/// The option restricted to fixed `choices` (Discord shows them as a list).
pub const fn choices(mut o: OptionSpec, choices: &'static [&'static str]) -> OptionSpec {
    o.choices = choices;
    o
}
